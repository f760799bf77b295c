"""The authorization matrix's doors that write: each cell checks the exact answer and that a refused write
changed nothing (a granted one changed what it should, and kept the personal values its author could not see)."""
import json

from layers.models import Feature
from tests import authz_matrix as m
from tests.authz_doors import HTML, Cell, check, send


def snapshot(cell: Cell) -> list[tuple]:
    """The layer's features exactly: ids, versions, properties, shapes."""
    rows = Feature.objects.filter(layer_id=cell.sw.layer.pk).order_by("id").values_list("id", "version", "properties", "geom")
    return [(fid, version, json.dumps(props, sort_keys=True), geom.wkt) for fid, version, props, geom in rows]


def _write(cell: Cell, method: str, path: str, body, *, ok: int, outside: bool = False, html: bool = False):
    """Sends the write and checks the answer; returns (status expected, response) and, when refused, that
    nothing changed."""
    before = snapshot(cell)
    status = m.write_status(cell.role, cell.state, ok=ok, outside=outside)
    headers = HTML if html else {}
    response = send(cell.client, method, path, body, **headers)
    check(cell, response, status, ghost=(method, path, body, headers))
    if status != ok or ok >= 400:
        assert snapshot(cell) == before, f"{cell.name}: a refused write changed the layer"
    return status == ok, response


def _personal_kept(cell: Cell, feature_id: int, before: dict) -> None:
    """A save by someone who could not see the personal values keeps them (it does not wipe them)."""
    after = Feature.objects.filter(pk=feature_id).values_list("properties", flat=True).first() or {}
    for name in m.PERSONAL_FIELDS if cell.state.personal else ():
        assert after.get(name) == before.get(name), f"{cell.name}: {name} was {before.get(name)!r}, now {after.get(name)!r}"


def _put(cell: Cell, key: str, *, geometry=None, outside: bool) -> None:
    feature = Feature.objects.get(pk=cell.id(key))
    properties = {**m.visible_props(cell.role, cell.state, feature.properties), "name": f"{m.name_token(cell.state)} PUT"}
    body = {"version": feature.version, "properties": properties, "comment": "mx put"}
    if geometry is not None:
        body["geometry"] = json.loads(geometry.geojson)
    done, _ = _write(cell, "PUT", f"/api/layers/{cell.slug}/features/{feature.pk}", body, ok=200, outside=outside)
    if done:
        after = Feature.objects.get(pk=feature.pk)
        assert after.version == feature.version + 1 and after.properties["name"].endswith("PUT"), cell.name
    _personal_kept(cell, feature.pk, feature.properties)


def door_put_inside(cell: Cell) -> None:
    _put(cell, "in", outside=False)


def door_put_outside(cell: Cell) -> None:
    _put(cell, "out", outside=True)


def door_put_move_out(cell: Cell) -> None:
    """Inside before, outside after: refused to an area-limited editor."""
    _put(cell, "in", geometry=m.spot("put_out"), outside=True)


def door_create_outside(cell: Cell) -> None:
    properties = m.visible_props(cell.role, cell.state, m.props(cell.state, 6, "Foxtrot"))
    body = {"geometry": json.loads(m.spot("create_out").geojson), "properties": properties}
    count = Feature.objects.filter(layer_id=cell.sw.layer.pk).count()
    done, _ = _write(cell, "POST", f"/api/layers/{cell.slug}/features", body, ok=201, outside=True)
    assert Feature.objects.filter(layer_id=cell.sw.layer.pk).count() == count + done, cell.name


def _revert_body(key: str, cell: Cell) -> dict:
    """Back to version 1, on the version the reverter saw (the current one): a stale revert would be 409."""
    return {"version": 1, "expected_version": Feature.objects.get(pk=cell.id(key)).version, "comment": "mx revert"}


def door_revert(cell: Cell) -> None:
    """Inside the area before and after: every editor may."""
    done, _ = _write(cell, "POST", f"/api/layers/{cell.slug}/features/{cell.id('in')}/revert", _revert_body("in", cell), ok=200)
    if done:
        assert Feature.objects.get(pk=cell.id("in")).properties["name"] == f"{m.name_token(cell.state)} Alpha", cell.name


def door_revert_stale(cell: Cell) -> None:
    """A revert made on a version that is no longer current: 409, like a stale save, and nothing changed."""
    body = {**_revert_body("in", cell), "expected_version": 1}
    _write(cell, "POST", f"/api/layers/{cell.slug}/features/{cell.id('in')}/revert", body, ok=409)


def door_revert_pull_back(cell: Cell) -> None:
    """Moved out of the area by another editor: an area-limited editor may not pull it back."""
    done, _ = _write(cell, "POST", f"/api/layers/{cell.slug}/features/{cell.id('moved')}/revert",
                     _revert_body("moved", cell), ok=200, outside=True)
    if done:
        assert Feature.objects.get(pk=cell.id("moved")).geom.equals_exact(m.spot("moved_from"), 1e-9), cell.name


def _revert_form(cell: Cell, key: str, *, outside: bool) -> None:
    body = {k: str(v) for k, v in _revert_body(key, cell).items()}
    path = f"/history/{cell.slug}/{cell.id(key)}/revert/"
    done, response = _write(cell, "POST-FORM", path, body, ok=302, outside=outside, html=True)
    if done:
        assert response["Location"] == f"http://testserver/history/{cell.slug}/{cell.id(key)}/", cell.name
        assert Feature.objects.get(pk=cell.id(key)).version == int(body["expected_version"]) + 1, cell.name


def door_revert_page(cell: Cell) -> None:
    _revert_form(cell, "in", outside=False)


def door_revert_page_pull_back(cell: Cell) -> None:
    _revert_form(cell, "moved", outside=True)


def _run_reverted(cell: Cell, done: bool) -> None:
    left = Feature.objects.filter(pk__in=[cell.id("run_in"), cell.id("run_out")]).count()
    assert left == (0 if done else 2), f"{cell.name}: {left} of the run's 2 features left"


def door_run_revert_api(cell: Cell) -> None:
    """The run added a feature outside the area: an area-limited editor may not undo it."""
    done, response = _write(cell, "POST", f"/api/layers/{cell.slug}/runs/{cell.sw.run_id}/revert", {}, ok=200, outside=True)
    if done:
        assert response.json() == {"reverted_features": 2}, cell.name
    _run_reverted(cell, done)


def door_run_revert_page(cell: Cell) -> None:
    path = f"/ingest/runs/{cell.sw.run_id}/revert/"
    done, response = _write(cell, "POST-FORM", path, {}, ok=302, outside=True, html=True)
    if done:
        assert response["Location"] == f"http://testserver/ingest/runs/{cell.sw.run_id}/", cell.name
    _run_reverted(cell, done)
