"""Issue 11, item 2: every door refuses what it cannot hold with a 4xx in vi/en, through one parser per
kind of input and one table of errors; writes to read-only routes get 405, not a CSRF page."""
import json
from io import StringIO

import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command
from django.test import Client, RequestFactory

from gisportal.errors import domain_error_response
from layers.errors import ServiceUnavailable
from layers.models import Feature, LayerGrant
from layers.params import parse_moment
from tests.factories import make_feature, make_parcel_layer, square

pytestmark = pytest.mark.django_db
LON, LAT = 106.7300, 10.8000


@pytest.fixture(autouse=True)
def generous_rate_limits(settings):
    settings.OPENDATA_RATE_ANON = 100_000
    settings.OPENDATA_RATE_TOKEN = 100_000


@pytest.fixture
def parcels():
    layer = make_parcel_layer(slug="parcels", is_public=True)
    for i, area in enumerate((120.5, 300.0, 85.25)):
        make_feature(layer, square(LON + i * 0.001, LAT),
                     {"ward_code": "26794", "map_sheet": 12, "parcel_no": i + 1, "land_use": "ODT", "legal_area": area},
                     refresh=i == 2)
    return layer


def refused(response, status: int = 400) -> dict:
    """The response is the error table's JSON, in both languages."""
    assert response.status_code == status, response.content[:300]
    body = response.json()
    assert body["code"] and body["description"] and body["description_vi"]
    assert body["description"] != body["description_vi"]
    return body


def ogc_items(client, **params):
    return client.get("/ogc/collections/parcels/items", params, HTTP_ACCEPT="application/geo+json")


EPSG_9210 = "http://www.opengis.net/def/crs/EPSG/0/9210"


@pytest.mark.parametrize("params", [
    {"bbox": "1e30,1e30,2e30,2e30", "bbox-crs": EPSG_9210},
    {"bbox": "-1e30,0,1e30,1", "bbox-crs": EPSG_9210},
    {"bbox": "500000,1e12,600000,2e12", "bbox-crs": "http://www.opengis.net/def/crs/EPSG/0/3405"},
    {"bbox": "0,0,3e7,1", "bbox-crs": "http://www.opengis.net/def/crs/EPSG/0/3857"},
    {"filter": "S_INTERSECTS(geometry, POINT(1e30 1e30))", "filter-crs": EPSG_9210},
    {"filter": "S_INTERSECTS(geometry, BBOX(-1e25, 0, 1e25, 1))", "filter-crs": EPSG_9210},
    {"filter": "S_INTERSECTS(geometry, POINT(106 1e300))"},
    {"filter": "NOT " * 990 + "legal_area > 1"},
    {"filter": "(" * 500 + "legal_area > 1" + ")" * 500},
    {"filter": "NOT (" * 300 + "legal_area > 1" + ")" * 300},
    {"filter": "S_INTERSECTS(geometry, GEOMETRYCOLLECTION(" + "GEOMETRYCOLLECTION(" * 200 + "POINT(1 1)" + ")" * 201 + ")"},
    {"filter": "legal_area > 1e999"},
    {"filter": "legal_area < -1e999"},
    {"filter": "legal_area > 1e-999"},
    {"filter": "legal_area IN (1, 2, 1e999)"},
    {"filter": "legal_area BETWEEN -1e999 AND 1e999"},
    {"filter": "legal_area > " + "9" * 60},
    {"legal_area": "1e999"},
    {"legal_area": "nan"},
    {"filter": "S_INTERSECTS(geometry, BBOX(107, 11, 106, 10))"},
    {"filter": "S_INTERSECTS(geometry, BBOX(106, 11, 107, 10))"},
    {"filter": "land_use = DATE('not a date')"},
    {"filter": "land_use = DATE('2025-02-30')"},
    {"filter": "land_use = TIMESTAMP('2025-07-01')"},
    {"filter": "land_use = TIMESTAMP('2025-07-01T25:00:00Z')"},
    {"as_of": "2025-07-01T00:00:00.000000000000000000000000Z"},
    {"as_of": "2025-07-01T00:00:00+07:00" + " " * 30},
    {"as_of": "x" * 5000},
])
def test_ogc_items_refuse_what_they_cannot_hold(client, parcels, params):
    refused(ogc_items(client, **params))


def test_the_numbers_that_are_fine_still_answer(client, parcels):
    """The limits refuse nonsense, not questions: a VN-2000 box around the parcels, dates, deep-enough nesting."""
    assert ogc_items(client, bbox="600000,1190000,640000,1210000", **{"bbox-crs": EPSG_9210}).json()["numberReturned"] == 3
    assert ogc_items(client, filter="legal_area > 1e300").json()["numberReturned"] == 0
    assert ogc_items(client, filter="legal_area > 100").json()["numberReturned"] == 2
    assert ogc_items(client, filter="NOT " * 30 + "legal_area > 100").json()["numberReturned"] == 2
    assert ogc_items(client, filter="(" * 30 + "legal_area > 100" + ")" * 30).json()["numberReturned"] == 2
    assert ogc_items(client, filter="land_use <> DATE('2025-07-01')").status_code == 200
    assert ogc_items(client, filter="land_use <> TIMESTAMP('2025-07-01T08:00:00Z')").status_code == 200
    box = "S_INTERSECTS(geometry, BBOX(106.72, 10.79, 106.74, 10.81))"
    assert ogc_items(client, filter=box).json()["numberReturned"] == 3


def test_as_of_is_read_whole_or_refused_never_cut():
    at = parse_moment("2025-07-01T10:00:00.123456+00:00")  # 32 characters: the offset is kept
    assert at.utcoffset().total_seconds() == 0 and at.hour == 10
    with pytest.raises(Exception) as error:
        parse_moment("2025-07-01T10:00:00.1234567890123456789012Z")  # > 40: refused, not cut before the Z
    assert getattr(error.value, "status", None) == 400


@pytest.mark.parametrize("path", [
    "/api/at?lon=1e999&lat=10&layers=parcels", "/api/at?lon=106&lat=nan&layers=parcels",
    "/api/at?lon=²&lat=10&layers=parcels", "/api/at?lon=106&lat=10&z=²&layers=parcels",
    "/api/at?lon=106&lat=10&z=99999999999999999999999&layers=parcels",
    "/api/at?lon=106&lat=10&layers=parcels&as_of=" + "2025-07-01" + "0" * 40,
    "/tiles/parcels/14/13000/7000.pbf?as_of=2025-07-01T00:00:00.00000000000000000000000Z",
    "/history/parcels/diff/?from=" + "2" * 41,
])
def test_other_doors_refuse_bad_points_and_moments(client, parcels, path):
    refused(client.get(path, HTTP_ACCEPT="application/json"))


@pytest.fixture
def planner(parcels):
    user = User.objects.create_user("inputs-planner", password="pw-planner-123")
    LayerGrant.objects.create(layer=parcels, user=user, can_edit=True)
    client = Client()
    client.force_login(user)
    return client


@pytest.mark.parametrize("body", [
    "[" * 100_000 + "]" * 100_000,
    '{"geometry": ' + '{"a": ' * 5000 + "1" + "}" * 5000 + "}",
    '{"geometry": {"type": "Point", "coordinates": ' + "[" * 3000 + "]" * 3000 + "}}",
    '{"geometry": {"type": ["Point"], "coordinates": [106.7, 10.8]}}',
    '{"geometry": {"type": "Point", "coordinates": [1e999, 10.8]}}',
])
def test_the_editor_api_refuses_deep_or_odd_json_and_changes_nothing(parcels, planner, body):
    before = Feature.objects.filter(layer=parcels).count()
    refused(planner.post("/api/layers/parcels/features", body, content_type="application/json"))
    assert Feature.objects.filter(layer=parcels).count() == before


@pytest.mark.parametrize("bbox", ["106.8,10.7,106.7,10.8", "106.7,10.8,106.8,10.7", "1e999,0,1,1", "0,0,1", "a,b,c,d"])
def test_the_editor_api_reads_bbox_with_the_one_parser(parcels, planner, bbox):
    assert refused(planner.get("/api/layers/parcels/features", {"bbox": bbox}))["parameter"] == "bbox"


@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
@pytest.mark.parametrize("path", ["/ogc/collections", "/ogc/collections/parcels/items", "/data/parcels.geojson",
                                  "/tiles/parcels/14/13000/7000.pbf", "/tiles/parcels.json", "/api/at",
                                  "/api/search", "/data/catalog.jsonld", "/healthz"])
def test_writes_to_read_only_routes_are_405_not_a_csrf_page(parcels, method, path):
    client = Client(enforce_csrf_checks=True)
    response = getattr(client, method)(path, "{}", content_type="application/json", HTTP_ACCEPT="application/json")
    body = refused(response, 405)
    assert body["code"] == "method-not-allowed"
    assert "GET" in response["Allow"] and method.upper() not in response["Allow"]


def test_a_write_to_a_read_only_page_is_a_405_page_in_the_visitors_language(parcels):
    client = Client(enforce_csrf_checks=True)
    response = client.post("/", HTTP_ACCEPT="text/html")
    assert response.status_code == 405 and "Phương thức POST" in response.content.decode()
    client.cookies["django_language"] = "en"
    response = client.post("/", HTTP_ACCEPT="text/html")
    assert response.status_code == 405 and "Method POST is not allowed" in response.content.decode()


def test_a_csrf_failure_on_an_api_path_is_json_in_both_languages(parcels):
    user = User.objects.create_user("csrf-less")
    LayerGrant.objects.create(layer=parcels, user=user, can_edit=True)
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    body = {"geometry": json.loads(square(LON, LAT + 0.01).geojson), "properties": {}}
    response = client.post("/api/layers/parcels/features", json.dumps(body), content_type="application/json")
    assert refused(response, 403)["code"] == "csrf-failed"


def test_pages_without_rights_answer_403_with_a_message(parcels):
    user = User.objects.create_user("no-rights", password="pw-no-rights-123")
    client = Client()
    client.force_login(user)
    for path in ("/edit/parcels/", "/ingest/"):
        response = client.get(path, HTTP_ACCEPT="text/html")
        assert response.status_code == 403
        assert "Bạn không có quyền" in response.content.decode()
        client.cookies["django_language"] = "en"
        assert "You do not have permission" in client.get(path, HTTP_ACCEPT="text/html").content.decode()
        client.cookies["django_language"] = "vi"


def test_unknown_pages_are_404_from_the_table(client):
    assert refused(client.get("/api/nothing-here"), 404)["code"] == "not-found"
    page = client.get("/no-such-page/", HTTP_ACCEPT="text/html")
    assert page.status_code == 404 and "Không tìm thấy trang." in page.content.decode()


def test_service_unavailable_carries_retry_after():
    request = RequestFactory().get("/ogc/collections")
    response = domain_error_response(request, ServiceUnavailable(retry_after=7))
    assert response.status_code == 503 and response["Retry-After"] == "7"
    assert json.loads(response.content)["code"] == "service-unavailable"


def test_management_commands_refuse_bad_arguments_without_a_traceback(parcels, tmp_path):
    sample = tmp_path / "a.geojson"
    sample.write_text('{"type": "FeatureCollection", "features": []}')
    for layer in ("../etc", "a/b", "x" * 65, "parcels;drop"):
        with pytest.raises(CommandError, match="slug"):
            call_command("ingest", str(sample), "--layer", layer, stdout=StringIO())
    with pytest.raises(CommandError, match="No such file"):
        call_command("ingest", str(tmp_path / "missing.gpkg"), "--layer", "parcels", stdout=StringIO())
    with pytest.raises(CommandError, match="No ingest run"):
        call_command("ingest_job", "987654321", stdout=StringIO())
    for bbox in ("1e30,0,1e31,1", "107,10,106,11", "nan,0,1,1", "1,2,3"):
        with pytest.raises(CommandError, match="bbox"):
            call_command("seed_tiles", "--layer", "parcels", "--zoom", "14", "--bbox", bbox, stdout=StringIO())


def test_one_tile_url_builder_for_the_map_tilejson_and_editor(client, parcels):
    from portal.map_layers import layer_entry

    map_url = layer_entry(parcels)["tile_url"]
    tilejson_url = client.get("/tiles/parcels.json").json()["tiles"][0]
    assert map_url == "/tiles/parcels/{z}/{x}/{y}.pbf"
    assert tilejson_url == "http://testserver/tiles/parcels/{z}/{x}/{y}.pbf"


def test_a_boolean_literal_on_a_text_field_compares_as_text(client, parcels):
    """Found by the CQL2 fuzz: `land_use = TRUE` made PostgreSQL compare text with boolean (a 500)."""
    assert ogc_items(client, filter="land_use = TRUE").json()["numberReturned"] == 0
    assert ogc_items(client, filter="land_use IN (TRUE, 'ODT')").json()["numberReturned"] == 3


@pytest.mark.parametrize("path", ["/tiles/%00.json", "/audit/?layer=%00", "/api/search?q=a%00", "/ogc/collections/parcels/items?filter=land_use%3D%27%00%27",
                                  "/data/parcels.geojson?properties=%00"])
def test_a_nul_character_anywhere_is_a_400_not_a_database_error(client, parcels, path):
    client.force_login(User.objects.create_superuser("root-nul"))
    refused(client.get(path, HTTP_ACCEPT="application/json"))


@pytest.mark.parametrize("body", ['{"geometry": {"type": "Point", "coordinates": [106.7, 10.8]}, "comment": "a\\u0000b"}',
                                  '{"geometry": {"type": "Point", "coordinates": [106.7, 10.8]}, "comment": "\\ud800"}',
                                  '{"geometry": {"type": "Point", "coordinates": [106.7, NaN]}}',
                                  '{"geometry": {"type": "Point", "coordinates": [106.7, 1e400]}}'])
def test_json_that_no_database_can_hold_is_refused(parcels, planner, body):
    before = Feature.objects.filter(layer=parcels).count()
    refused(planner.post("/api/layers/parcels/features", body, content_type="application/json"))
    assert Feature.objects.filter(layer=parcels).count() == before


def _json_filter(client, document) -> object:
    text = document if isinstance(document, str) else json.dumps(document)
    return ogc_items(client, filter=text, **{"filter-lang": "cql2-json"})


@pytest.mark.parametrize("document", [
    '{"op": "not", "args": [' * 990 + '{"op": "isNull", "args": [{"property": "land_use"}]}' + "]}" * 990,
    '{"op": "and", "args": [' * 100 + "]}" * 100,
    '{"op": ">", "args": [{"property": "legal_area"}, 1e999]}',
    '{"op": ">", "args": [{"property": "legal_area"}, NaN]}',
    {"op": "=", "args": [{"property": "land_use"}, {"date": "not a date"}]},
    {"op": "=", "args": [{"property": "land_use"}, {"timestamp": "2025-07-01"}]},
    {"op": "s_intersects", "args": [{"property": "geometry"}, {"bbox": [107, 11, 106, 10]}]},
    {"op": "s_intersects", "args": [{"property": "geometry"}, {"type": "Point", "coordinates": [1e30, 1e30]}]},
    {"op": "in", "args": [{"property": "legal_area"}, [[[[1]]]]]},
    {"op": "like", "args": [{"property": "nope"}, "x"]},
    [1, 2, 3],
])
def test_cql2_json_refuses_what_cql2_text_refuses(client, parcels, document):
    assert refused(_json_filter(client, document))["parameter"] == "filter"


def test_cql2_json_answers_like_cql2_text(client, parcels):
    document = {"op": "and", "args": [
        {"op": ">", "args": [{"property": "legal_area"}, 100]},
        {"op": "s_intersects", "args": [{"property": "geometry"}, {"bbox": [106.72, 10.79, 106.74, 10.81]}]}]}
    by_json = _json_filter(client, document).json()
    by_text = ogc_items(client, filter="legal_area > 100 AND S_INTERSECTS(geometry, BBOX(106.72, 10.79, 106.74, 10.81))").json()
    assert by_json["numberReturned"] == by_text["numberReturned"] == 2
    assert {f["id"] for f in by_json["features"]} == {f["id"] for f in by_text["features"]}


@pytest.mark.parametrize("path", ["/ingest/runs/1/", "/ingest/runs/1.json"])
def test_writes_to_read_only_pages_of_ingest_are_405(parcels, path):
    client = Client(enforce_csrf_checks=True)
    client.force_login(User.objects.create_superuser("root-405"))
    assert refused(client.put(path, HTTP_ACCEPT="application/json"), 405)["code"] == "method-not-allowed"
