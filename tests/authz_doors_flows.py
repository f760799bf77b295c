"""The authorization matrix's doors of issue 15 that name a layer: the change feed (JSON, GeoJSONSeq, Atom) and the
PMTiles archives (a layer's, ranged, the basemap). FlatGeobuf, GeoParquet, CSW and Records are in authz_doors.py.
"""
import json

from layers.models import Layer
from tests import authz_matrix as m
from tests.authz_doors import Cell, check, get, granted_personal, seen, send


# Issue 15: the change feed follows the layer's read rules; it never names who made a change, for anyone.
# The world is settled before the cells run (tests/test_authorization_matrix.py), so its changes are in the feed.

def _feed(cell: Cell, path: str) -> bytes:
    identity = [m.HISTORIAN, m.comment_token(cell.state)]
    shows = (f"{m.name_token(cell.state)} Alpha v2", *granted_personal(cell)) if cell.sees else ()
    return get(cell, path, seen(cell), shows=shows, hides=identity)


def _feed_ids(cell: Cell, records: list[dict]) -> None:
    ids = {r["id"] for r in records}
    wanted = {cell.id(key) for key in ("in", "out", "moved", "run_in", "run_out")}
    assert wanted <= ids, f"{cell.name}: the feed lacks {wanted - ids}"
    assert all(set(r["change"]) == {"kind", "version", "time", "cursor"} for r in records), f"{cell.name}: change meta"


def door_changes_json(cell: Cell) -> None:
    data = _feed(cell, f"/data/{cell.slug}/changes?limit=100")
    if cell.sees:
        _feed_ids(cell, json.loads(data)["features"])


def door_changes_seq(cell: Cell) -> None:
    data = _feed(cell, f"/data/{cell.slug}/changes?f=geojsonseq&limit=100")
    if cell.sees:
        records = [json.loads(part) for part in data.split(b"\x1e")[1:]]
        assert records[-1]["type"] == "next_cursor", f"{cell.name}: no trailer"
        _feed_ids(cell, records[:-1])


def door_changes_atom(cell: Cell) -> None:
    identity = [m.HISTORIAN, m.comment_token(cell.state)]
    data = get(cell, f"/data/{cell.slug}/changes.atom", seen(cell), hides=identity,
               shows=[m.title_token(cell.state), f"/ogc/collections/{cell.slug}/items/{cell.id('in')}"] if cell.sees else [])
    if cell.sees:
        assert data.startswith(b"<?xml") and data.count(b"<entry>") >= 2, f"{cell.name}: {data.count(b'<entry>')} entries"


# PMTiles archives are public documents: one per public layer, none for a restricted one whoever asks (404 as a
# layer that does not exist, even with a stale file on disk), never a personal value or an editor in them.

def _archive(cell: Cell, path: str, status: int, **headers) -> bytes:
    hides = [*m.personal_tokens(cell.state), m.HISTORIAN, m.comment_token(cell.state)]
    if not cell.state.public:
        hides += [m.name_token(cell.state), m.title_token(cell.state)]
    response = send(cell.client, "GET", path, **headers)
    shows = [m.name_token(cell.state)] if cell.state.public and status == 200 else []
    data = check(cell, response, status, shows=shows, hides=hides, ghost=("GET", path, None, headers))
    if status == 200:
        decoded = json.loads(data)
        fields = {k for layer in decoded["metadata"]["vector_layers"] for k in layer["fields"]}
        assert not fields & set(m.PERSONAL_FIELDS), f"{cell.name}: personal fields in the archive: {fields}"
        assert response["Cache-Control"].startswith("public"), f"{cell.name}: {response['Cache-Control']}"
    return data


def door_pmtiles(cell: Cell) -> None:
    data = _archive(cell, f"/tiles/{cell.slug}.pmtiles", 200 if cell.state.public else 404)
    if cell.state.public:
        z, x, y = cell.world.tile
        features = json.loads(data)["tiles"][f"{z}/{x}/{y}"][cell.slug]["features"]
        names = {f["properties"].get("name") for f in features}
        assert f"{m.name_token(cell.state)} Alpha v2" in names, f"{cell.name}: the tile of the feature: {names}"


def door_pmtiles_range(cell: Cell) -> None:
    """The first 127 bytes (the header, as pmtiles.js asks first): 206 for a public layer, 404 as a ghost else."""
    path = f"/tiles/{cell.slug}.pmtiles"
    response = send(cell.client, "GET", path, HTTP_RANGE="bytes=0-126")
    status = 206 if cell.state.public else 404
    data = check(cell, response, status, ghost=("GET", path, None, {"HTTP_RANGE": "bytes=0-126"}))
    if status == 206:
        assert data[:7] == b"PMTiles" and len(data) == 127, f"{cell.name}: {data[:20]!r}"
        assert response["Content-Range"].startswith("bytes 0-126/"), f"{cell.name}: {response['Content-Range']}"


def door_pmtiles_basemap(cell: Cell) -> None:
    """The basemap archive (the four layers given a basemap role, as when it was built): public layers only."""
    Layer.objects.filter(pk__in=cell.world.layer_ids).update(basemap_role="roads")  # this cell's transaction
    data = _archive(cell, "/tiles/basemap.pmtiles", 200)
    layers = {name for tile in json.loads(data)["tiles"].values() for name in tile}
    assert (cell.slug in layers) == cell.state.public, f"{cell.name}: the basemap's layers {layers}"
