"""Issue 11, items 1 and 2 (red-team findings): a NUL reaches no database whatever the Content-Type, an edit
comment is text or a 400, a GeoJSON `crs` other than WGS 84 is refused, and a run revert does not
overwrite edits made after the run (409)."""
import json

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test import Client
from django.urls import reverse

from ingest.models import IngestRun
from layers.editing import feature_create
from layers.errors import InvalidParameter
from layers.history import clean_comment, feature_versions
from layers.models import Feature, FeatureVersion, LayerGrant
from tests.factories import age_history, make_feature, make_parcel_layer, square

pytestmark = pytest.mark.django_db
LON, LAT = 106.7500, 10.8000
PARCEL = {"ward_code": "27088", "map_sheet": 1, "parcel_no": 1, "land_use": "ODT", "legal_area": 300.0}
POINTLESS_TYPES = ["text/plain", "Application/JSON", "application/x-json", "", "application/x-www-form-urlencoded",
                   "APPLICATION/JSON; charset=utf-8", "application/octet-stream"]


def refused(response, status: int = 400) -> dict:
    """The error table's JSON, in both languages."""
    assert response.status_code == status, response.content[:300]
    body = response.json()
    assert body["code"] and body["description"] and body["description_vi"] and body["description"] != body["description_vi"]
    return body


@pytest.fixture
def layer():
    return make_parcel_layer(slug="holes")


@pytest.fixture
def planner(layer):
    user = User.objects.create_user("holes-planner")
    LayerGrant.objects.create(layer=layer, user=user, can_edit=True)
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def parcel(layer):
    return make_feature(layer, square(LON, LAT, 0.0004), PARCEL)


def state(layer) -> list[tuple]:
    """Everything a refused write must leave alone: features, versions, history rows."""
    rows = Feature.objects.filter(layer=layer).order_by("pk").values_list("pk", "version", "properties")
    return [(pk, version, json.dumps(props, sort_keys=True)) for pk, version, props in rows] + [
        FeatureVersion.objects.filter(layer=layer).count()]


def _geometry(geom) -> dict:
    return json.loads(geom.geojson)


def _write_doors(layer, parcel) -> list[tuple[str, str, dict]]:
    """(method, path, body without comment) of every editor API write."""
    cut = {"type": "LineString", "coordinates": [[LON + 0.0002, LAT - 0.001], [LON + 0.0002, LAT + 0.001]]}
    base = f"/api/layers/{layer.slug}/features"
    return [
        ("POST", base, {"geometry": _geometry(square(LON + 0.002, LAT, 0.0002)), "properties": {**PARCEL, "parcel_no": 9}}),
        ("PUT", f"{base}/{parcel.pk}", {"version": parcel.version, "properties": {**PARCEL, "land_use": "TMD"}}),
        ("POST", f"{base}/{parcel.pk}/split", {"version": parcel.version, "line": cut}),
        ("POST", f"{base}/{parcel.pk}/revert", {"version": 1, "expected_version": parcel.version}),
    ]


@pytest.mark.parametrize("content_type", POINTLESS_TYPES)
def test_a_nul_in_a_json_comment_is_400_whatever_the_content_type(layer, parcel, planner, content_type):
    before = state(layer)
    for method, path, body in _write_doors(layer, parcel):
        raw = json.dumps({**body, "comment": "a\x00b"})  # json.dumps writes the NUL as \u0000
        assert "\\u0000" in raw
        refused(planner.generic(method, path, raw, content_type=content_type))
        refused(planner.generic(method, path, raw.replace("\\u0000", "\x00"), content_type=content_type))
    assert state(layer) == before


def test_the_text_backslash_u0000_is_no_nul_and_is_kept(layer, parcel, planner):
    """A comment quoting the six characters \\u0000 carries no NUL: the guard does not refuse it."""
    method, path, body = _write_doors(layer, parcel)[1]
    response = planner.generic(method, path, json.dumps({**body, "comment": "mã \\u0000 trong tệp"}), content_type="text/plain")
    assert response.status_code == 200, response.content[:300]
    assert feature_versions(parcel.pk)[-1]["comment"] == "mã \\u0000 trong tệp"


@pytest.mark.parametrize("comment", [[1, 2], {"x": [1, 2]}, 5, 1.5, True, False])
def test_a_comment_that_is_not_text_is_400_on_every_write(layer, parcel, planner, comment):
    before = state(layer)
    for method, path, body in _write_doors(layer, parcel):
        answer = refused(planner.generic(method, path, json.dumps({**body, "comment": comment}), content_type="application/json"))
        assert answer["parameter"] == "comment", (method, path)
    assert state(layer) == before


def test_the_run_revert_api_takes_the_same_comment_check(layer, parcel, planner):
    _run(layer, 7701, [parcel])
    before = state(layer)
    url = reverse("api-run-revert", args=[layer.slug, 7701])
    for comment in ([1, 2], "a\x00b", "x" * 1001):
        refused(planner.post(url, json.dumps({"comment": comment}), content_type="text/plain"))
    refused(planner.post(url, json.dumps({"force": "yes"}), content_type="application/json"))
    assert state(layer) == before
    assert planner.post(url, json.dumps({"comment": "  nạp nhầm\n tệp  "}), content_type="application/json").status_code == 200
    assert FeatureVersion.objects.filter(feature_id=parcel.pk).order_by("id").last().comment == "nạp nhầm\n tệp"


def test_a_comment_with_a_nul_or_control_character_is_refused_by_the_service_too(layer):
    """The second wall: a door that hands the service a NUL (a command, a script) still gets a 400, not a 500."""
    planner = User.objects.create_user("svc-planner")
    LayerGrant.objects.create(layer=layer, user=planner, can_edit=True)
    for comment in ("a\x00b", "bell\x07", "esc\x1b[31m", "\ud800"):
        with pytest.raises(InvalidParameter):
            feature_create(layer=layer, geom=square(LON, LAT), properties=PARCEL, user=planner, comment=comment)
    assert not Feature.objects.filter(layer=layer).exists()
    assert clean_comment("dòng 1\n\tdòng 2\r\n") == "dòng 1\n\tdòng 2"
    assert clean_comment(None) == "" and clean_comment("x" * 1000) == "x" * 1000
    with pytest.raises(InvalidParameter):
        clean_comment("x" * 1001)


def test_the_history_revert_form_refuses_a_nul_comment(layer, parcel, planner):
    Feature.objects.filter(pk=parcel.pk).update(properties={**PARCEL, "land_use": "TMD"})  # version 2
    before = state(layer)
    url = reverse("feature-history-revert", args=[layer.slug, parcel.pk])
    for comment in ("a\x00b", "\x00"):
        response = planner.post(url, {"version": "1", "expected_version": "2", "comment": comment}, HTTP_ACCEPT="text/html")
        assert response.status_code == 400 and "NUL" in response.content.decode()
    assert state(layer) == before
    ok = planner.post(url, {"version": "1", "expected_version": "2", "comment": "trả lại"})
    assert ok.status_code == 302 and feature_versions(parcel.pk)[-1]["comment"] == "trả lại"


def test_a_multipart_field_sent_base64_is_scanned_as_django_reads_it(layer, parcel, planner):
    """The multipart guard reads the fields as the view will, not the bytes on the wire."""
    Feature.objects.filter(pk=parcel.pk).update(properties={**PARCEL, "land_use": "TMD"})
    boundary = "xYzZY"
    parts = [("version", "1"), ("expected_version", "2")]
    body = "".join(f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n' for k, v in parts)
    body += (f'--{boundary}\r\nContent-Disposition: form-data; name="comment"\r\nContent-Transfer-Encoding: base64\r\n\r\n'
             "YQBi\r\n"  # base64 of a\x00b
             f"--{boundary}--\r\n")
    before = state(layer)
    response = planner.generic("POST", reverse("feature-history-revert", args=[layer.slug, parcel.pk]), body.encode(),
                               content_type=f"Multipart/Form-Data; boundary={boundary}")
    assert response.status_code == 400
    assert state(layer) == before


def test_the_json_api_answers_a_form_or_a_broken_form_with_400(layer, parcel, planner):
    before = state(layer)
    refused(planner.post(f"/api/layers/{layer.slug}/features", {"comment": "hello"}))  # multipart: no JSON body
    refused(planner.generic("POST", f"/api/layers/{layer.slug}/features", b"--x\r\nbroken",
                            content_type="multipart/form-data; boundary="))
    assert state(layer) == before


def _data_admin(name: str = "holes-admin") -> User:
    return User.objects.create_superuser(name, password="pw-holes-admin-1")


def test_a_nul_in_an_upload_form_field_stores_no_run(layer):
    admin = Client()
    admin.force_login(_data_admin())
    upload = {"layer": layer.slug, "mode": "append", "max_rejects": "0"}
    for field in ("crs", "column_map", "key", "source_layer", "not_personal"):
        data = {**upload, field: "EPSG:9210\x00x", "file": _file()}
        response = admin.post(reverse("ingest-upload"), data, HTTP_ACCEPT="text/html")
        assert response.status_code == 400 and field in response.content.decode(), field
    assert not IngestRun.objects.exists()


def _file():
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile("p.geojson", b'{"type": "FeatureCollection", "features": []}', "application/geo+json")


# ---- GeoJSON crs --------------------------------------------------------------------------------------

def _named(name) -> dict:
    return {"type": "name", "properties": {"name": name}}


@pytest.mark.parametrize("crs", [_named("EPSG:3857"), _named("urn:ogc:def:crs:EPSG::3857"), _named("EPSG:9210"),
                                 _named("http://www.opengis.net/def/crs/EPSG/0/32648"), _named("nonsense"), _named(""),
                                 {"type": "EPSG", "properties": {"code": 3857}}, {"type": "link", "properties": {"href": "x"}},
                                 "EPSG:4326", 4326, [], {}, {"type": "name"}, {"type": "name", "properties": {"name": 4326}}])
def test_a_geometry_crs_other_than_wgs84_is_refused(layer, parcel, planner, crs):
    before = state(layer)
    # Numbers that would pass as lon/lat: only the crs member says they are not (and it must be heard).
    geometry = {**_geometry(square(LON + 0.002, LAT, 0.0002)), "crs": crs}
    body = {"geometry": geometry, "properties": {**PARCEL, "parcel_no": 9}}
    assert refused(planner.post(f"/api/layers/{layer.slug}/features", body, content_type="application/json"))["parameter"] == "geometry"
    line = {"type": "LineString", "coordinates": [[LON + 0.0002, LAT - 0.001], [LON + 0.0002, LAT + 0.001]], "crs": crs}
    refused(planner.post(f"/api/layers/{layer.slug}/features/{parcel.pk}/split", {"version": 1, "line": line},
                         content_type="application/json"))
    # A Feature-level crs names the CRS of its geometry just the same.
    feature_level = {"geometry": _geometry(square(LON + 0.002, LAT, 0.0002)), "properties": PARCEL, "crs": crs}
    assert refused(planner.post(f"/api/layers/{layer.slug}/features", feature_level, content_type="application/json"))["parameter"] == "crs"
    assert state(layer) == before


@pytest.mark.parametrize("crs", [None, _named("urn:ogc:def:crs:OGC:1.3:CRS84"), _named("EPSG:4326"),
                                 _named("urn:ogc:def:crs:EPSG::4326"), {"type": "EPSG", "properties": {"code": 4326}}])
def test_a_geometry_crs_naming_wgs84_is_read(layer, planner, crs):
    geometry = {**_geometry(square(LON + 0.002, LAT, 0.0002)), "crs": crs}
    response = planner.post(f"/api/layers/{layer.slug}/features", {"geometry": geometry, "properties": PARCEL},
                            content_type="application/json")
    assert response.status_code == 201, response.content[:300]
    assert Feature.objects.get(pk=response.json()["id"]).geom.extent == pytest.approx(square(LON + 0.002, LAT, 0.0002).extent)


# ---- run revert after later edits -----------------------------------------------------------------------

def _run(layer, run_id: int, features) -> None:
    """What an ingest run does (rows tagged with its id): changes each feature's land use; its history apart in time."""
    for feature in features:
        age_history(feature.pk, 2)
    with connection.cursor() as cursor:
        cursor.execute("SELECT set_config('gisportal.run_id', %s, true)", [str(run_id)])
        for feature in features:
            cursor.execute("UPDATE layers_feature SET properties = properties || '{\"land_use\": \"TMD\"}' WHERE id = %s",
                           [feature.pk])
        cursor.execute("SELECT set_config('gisportal.run_id', '', true)")
    for feature in features:
        age_history(feature.pk, 1)  # the run a day ago: what follows is later


def test_a_run_revert_does_not_overwrite_an_edit_made_after_the_run(layer, parcel, planner):
    other = make_feature(layer, square(LON + 0.001, LAT, 0.0004), {**PARCEL, "parcel_no": 2})
    _run(layer, 7702, [parcel, other])
    saved = planner.put(f"/api/layers/{layer.slug}/features/{parcel.pk}",
                        {"version": 2, "properties": {**PARCEL, "land_use": "SKC"}, "comment": "sửa sau lần nạp"},
                        content_type="application/json")
    assert saved.status_code == 200
    before = state(layer)
    answer = refused(planner.post(reverse("api-run-revert", args=[layer.slug, 7702])), 409)
    assert "1 " in answer["description"] and "1 " in answer["description_vi"] and "force" in answer["description"]
    assert state(layer) == before and Feature.objects.get(pk=parcel.pk).properties["land_use"] == "SKC"
    # The run page's button answers the same, on a page leading back to the run.
    run = IngestRun.objects.create(layer=layer, layer_slug=layer.slug, file_name="p.gpkg", mode="upsert", status="succeeded")
    FeatureVersion.objects.filter(run_id=7702).update(run_id=run.pk)
    page = planner.post(reverse("ingest-run-revert", args=[run.pk]), HTTP_ACCEPT="text/html")
    assert page.status_code == 409 and reverse("ingest-run", args=[run.pk]) in page.content.decode()
    # force is a data administrator's: a planner asking for it is refused, nothing changed.
    refused(planner.post(reverse("api-run-revert", args=[layer.slug, run.pk]), {"force": True}, content_type="application/json"), 403)
    assert state(layer) == before
    admin = Client()
    admin.force_login(_data_admin())
    done = admin.post(reverse("api-run-revert", args=[layer.slug, run.pk]), {"force": True}, content_type="application/json")
    assert done.status_code == 200 and done.json() == {"reverted_features": 2}
    assert [Feature.objects.get(pk=f.pk).properties["land_use"] for f in (parcel, other)] == ["ODT", "ODT"]


def test_a_run_revert_after_a_feature_revert_or_a_second_revert_is_409(layer, parcel, planner):
    _run(layer, 7703, [parcel])
    url = reverse("api-run-revert", args=[layer.slug, 7703])
    assert planner.post(url).status_code == 200  # nothing changed since: the run is undone
    before = state(layer)
    refused(planner.post(url), 409)  # undoing it again would overwrite the undo itself (and what followed)
    assert state(layer) == before


def test_a_later_run_counts_as_a_change_since(layer, parcel, planner):
    _run(layer, 7704, [parcel])
    with connection.cursor() as cursor:  # a second run changes the same parcel afterwards
        cursor.execute("SELECT set_config('gisportal.run_id', '7705', true)")
        cursor.execute("UPDATE layers_feature SET properties = properties || '{\"land_use\": \"SKC\"}' WHERE id = %s", [parcel.pk])
        cursor.execute("SELECT set_config('gisportal.run_id', '', true)")
    before = state(layer)
    refused(planner.post(reverse("api-run-revert", args=[layer.slug, 7704])), 409)
    assert state(layer) == before
    assert planner.post(reverse("api-run-revert", args=[layer.slug, 7705])).status_code == 200
    assert Feature.objects.get(pk=parcel.pk).properties["land_use"] == "TMD"
