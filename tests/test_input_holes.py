"""Issue 11, items 1 and 2: the red team's input findings, each class refused at every HTTP door with a
4xx in vi/en (or answered right), through the one parser of its kind."""
import datetime as dt
import json

import pytest
from django.contrib.auth.models import User
from django.test import Client

from layers.models import Feature, LayerGrant
from tests.factories import age_history, make_feature, make_parcel_layer, square

pytestmark = pytest.mark.django_db
LON, LAT = 106.7300, 10.8000
JSON_ACCEPT = {"HTTP_ACCEPT": "application/json"}


@pytest.fixture(autouse=True)
def generous_rate_limits(settings):
    settings.OPENDATA_RATE_ANON = 100_000
    settings.OPENDATA_RATE_TOKEN = 100_000


@pytest.fixture
def parcels():
    layer = make_parcel_layer(slug="parcels", is_public=True)
    for i, area in enumerate((120.5, 300.0, 85.25)):
        make_feature(layer, square(LON + i * 0.001, LAT),
                     {"ward_code": "26794", "map_sheet": 12, "parcel_no": i + 1, "land_use": "ODT", "legal_area": area,
                      "address": f"{i + 1} Võ Văn Ngân"}, refresh=i == 2)
    return layer


@pytest.fixture
def admin_client():
    client = Client()
    client.force_login(User.objects.create_superuser("holes-admin"))
    return client


def refused(response, status: int = 400) -> dict:
    """The error table's JSON, in both languages."""
    assert response.status_code == status, response.content[:300]
    body = response.json()
    assert body["description"] and body["description_vi"] and body["description"] != body["description_vi"]
    return body


def get(client, path: str):
    return client.get(path, **JSON_ACCEPT)


ITEMS = "/ogc/collections/parcels/items"
TILE = "/tiles/parcels/16/52204/30780.pbf"
MOMENT_DOORS = [ITEMS + "?as_of={}", TILE + "?as_of={}", "/api/at?lon=106.73&lat=10.8&layers=parcels&as_of={}",
                "/history/parcels/diff/?from={}", "/history/parcels/diff/?to={}", "/data/parcels.csv?as_of={}",
                "/data/parcels.gpkg?as_of={}", "/data/parcels.geojson?as_of={}"]
BAD_MOMENTS = ["2025-07-01T10:00:00%2B23:59", "2025-07-01T10:00:00-16:00", "2025-07-01T10:00:00%2B07:00:30.5",
               "2025-07-01T10:00:00%2B14:01", "0001-01-01T00:00:00%2B14:00", "9999-12-31T23:59:59-12:00",
               "20261205", "2025-07-01T10", "2025W272", "2025-183", "%202025-07-01", "2025-07-01T10:00:00%2B0700",
               "２０２５-07-01", "2025-07-01T10:00:00.1234567Z", "0999-12-31"]


@pytest.mark.parametrize("door", MOMENT_DOORS)
@pytest.mark.parametrize("moment", BAD_MOMENTS)
def test_every_door_refuses_moments_postgresql_or_the_pages_cannot_hold(client, parcels, door, moment):
    body = refused(get(client, door.format(moment)))
    assert body["parameter"] in ("as_of", "from", "to")


def test_the_editor_api_refuses_the_same_moments(parcels):
    user = User.objects.create_user("holes-planner")
    LayerGrant.objects.create(layer=parcels, user=user, can_edit=True)
    client = Client()
    client.force_login(user)
    for moment in ("2025-07-01T10:00:00%2B23:59", "20261205"):
        refused(get(client, f"/api/layers/parcels/features?bbox=106.7,10.7,106.8,10.9&as_of={moment}"))


@pytest.mark.parametrize("moment", ["2025-07-01", "2025-07-01T10:00", "2025-07-01T10:00:00Z",
                                    "2025-07-01T10:00:00.5%2B07:00", "2025-07-01T10:00:00-12:00",
                                    "2025-07-01T10:00:00%2B14:00", "1000-01-02T00:00:00Z"])
def test_plain_dates_and_rfc3339_moments_are_read(client, parcels, moment):
    assert get(client, ITEMS + "?as_of=" + moment).status_code == 200
    assert get(client, "/history/parcels/diff/?f=geojson&from=" + moment).status_code == 200


def test_the_diff_page_with_far_moments_is_a_page_or_a_400_never_a_500(client, parcels):
    assert client.get("/history/parcels/diff/?from=1000-01-02&to=9999-12-30", HTTP_ACCEPT="text/html").status_code == 200
    assert client.get("/history/parcels/diff/?from=0001-01-01&to=9999-12-31T23:59:59-12:00",
                      HTTP_ACCEPT="text/html").status_code == 400


@pytest.mark.parametrize("cql", ["address LIKE '%\\'", "address LIKE 'a\\\\\\'", "address NOT LIKE '\\'"])
def test_a_like_pattern_ending_in_its_escape_is_refused(client, parcels, cql):
    assert refused(ogc_items(client, filter=cql))["parameter"] == "filter"


def test_an_escaped_backslash_at_the_end_of_a_like_pattern_is_fine(client, parcels):
    assert ogc_items(client, filter="address LIKE '%\\\\'").json()["numberReturned"] == 0
    assert refused(ogc_items(client, **{"filter-lang": "cql2-json", "filter": json.dumps(
        {"op": "like", "args": [{"property": "address"}, "%\\"]})}))["parameter"] == "filter"


def ogc_items(client, **params):
    return client.get(ITEMS, params, HTTP_ACCEPT="application/geo+json")


@pytest.mark.parametrize("body", [
    '{"op":"=","args":[{"property":"address"},"a\\u0000b"]}',
    '{"op":"like","args":[{"property":"address"},"a\\u0000%"]}',
    '{"op":"in","args":[{"property":"address"},["x","\\u0000"]]}',
    '{"op":"=","args":[{"property":"addr\\u0000ess"},"a"]}',
    '{"op":"=","op":"<>","args":[{"property":"address"},"1 Võ Văn Ngân"]}',
    '{"op":"=","args":[{"property":"address","property":"land_use"},"ODT"]}',
])
def test_cql2_json_refuses_nul_and_repeated_keys(client, parcels, body):
    refused(ogc_items(client, **{"filter-lang": "cql2-json", "filter": body}))


def test_the_editor_api_refuses_repeated_keys_and_nul_in_json_bodies(parcels):
    user = User.objects.create_user("holes-writer")
    LayerGrant.objects.create(layer=parcels, user=user, can_edit=True)
    client = Client()
    client.force_login(user)
    geometry = json.loads(square(LON, LAT + 0.01).geojson)
    before = Feature.objects.filter(layer=parcels).count()
    text = '{"geometry": %s, "properties": {"land_use": "ODT", "land_use": "CLN"}}' % json.dumps(geometry)
    refused(client.post("/api/layers/parcels/features", text, content_type="application/json"))
    assert Feature.objects.filter(layer=parcels).count() == before


@pytest.mark.parametrize("polygon", [
    "POLYGON((106.7 10.7, 106.9 10.9, 106.9 10.7, 106.7 10.9, 106.7 10.7))",
    "POLYGON((106.5 10.5, 106.75 10.75, 107 11, 106.5 10.5))",
    "LINESTRING(106.7 10.7, 106.7 10.7)",
    "MULTIPOLYGON(((106.7 10.7, 106.8 10.7, 106.8 10.8, 106.7 10.8, 106.7 10.7)),"
    "((106.75 10.75, 106.85 10.75, 106.85 10.85, 106.75 10.85, 106.75 10.75)))",
])
@pytest.mark.parametrize("function", ["S_INTERSECTS", "S_WITHIN", "S_CONTAINS", "S_DISJOINT"])
def test_invalid_geometries_in_spatial_filters_are_refused(client, parcels, polygon, function):
    refused(ogc_items(client, filter=f"{function}(geometry, {polygon})"))


def test_invalid_geojson_geometries_in_cql2_json_are_refused(client, parcels):
    bowtie = {"type": "Polygon", "coordinates": [[[106.7, 10.7], [106.9, 10.9], [106.9, 10.7], [106.7, 10.9], [106.7, 10.7]]]}
    body = {"op": "s_intersects", "args": [{"property": "geometry"}, bowtie]}
    refused(ogc_items(client, **{"filter-lang": "cql2-json", "filter": json.dumps(body)}))


@pytest.mark.parametrize("point", ["POINT Z (106.7305 10.8005 5)", "POINT M (106.7305 10.8005 5)",
                                   "POINT ZM (106.7305 10.8005 5 6)", "POINT(106.7305 10.8005 5 6)"])
def test_points_with_z_or_m_are_read_in_two_dimensions(client, parcels, point):
    page = ogc_items(client, filter=f"S_INTERSECTS(geometry, {point})")
    assert page.status_code == 200 and page.json()["numberReturned"] == 1


@pytest.mark.parametrize("query", [
    "bbox=106.7,10.7,106.8,10.9&bbox=106.0,10.0,106.1,10.1", "limit=5&limit=7", "as_of=2025-07-01&as_of=2025-07-02",
    "filter=legal_area>1&filter=legal_area<1", "map_sheet=12&map_sheet=13", "sortby=legal_area&sortby=-legal_area",
])
def test_ogc_items_refuse_a_parameter_given_twice(client, parcels, query):
    assert refused(get(client, ITEMS + "?" + query))["parameter"] == query.split("=")[0]


@pytest.mark.parametrize("path", [
    "/api/at?lon=106.73&lon=106.74&lat=10.8&layers=parcels",
    "/data/parcels.geojson?bbox=106.7,10.7,106.8,10.9&bbox=1,1,2,2",
    "/data/parcels.csv?crs=4326&crs=9210",
    "/api/layers/parcels/features?bbox=106.7,10.7,106.8,10.9&bbox=1,1,2,2",
    "/history/parcels/diff/?from=2025-01-01&from=2025-02-01",
    TILE + "?as_of=2025-01-01&as_of=2025-02-01",
    "/ogc/collections/parcels/items/1?crs=4326&crs=9210",
    "/search?q=a&q=b",
])
def test_every_door_refuses_a_parameter_given_twice(admin_client, parcels, path):
    refused(get(admin_client, path))


@pytest.mark.parametrize("sortby", ["legal_area FOO", "legal_area DESC NULLS", "--legal_area", "+-legal_area",
                                    "legal_area ASC DESC", "- legal_area", "legal_area,", " "])
def test_sortby_accepts_only_a_sign_or_asc_desc(client, parcels, sortby):
    assert refused(ogc_items(client, sortby=sortby))["parameter"] == "sortby"


def test_sortby_reads_both_forms(client, parcels):
    def areas(sortby):
        return [f["properties"]["legal_area"] for f in ogc_items(client, sortby=sortby).json()["features"]]
    assert areas("-legal_area") == areas("legal_area DESC") == areas("legal_area desc") == [300.0, 120.5, 85.25]
    assert areas("+legal_area") == areas("legal_area ASC") == areas("legal_area") == [85.25, 120.5, 300.0]


@pytest.mark.parametrize("cql", ["legal_area = TRUE", "legal_area <> FALSE", "legal_area IN (1, TRUE)",
                                 "legal_area BETWEEN FALSE AND 10"])
def test_a_boolean_is_no_number(client, parcels, cql):
    refused(ogc_items(client, filter=cql))


def test_a_boolean_is_no_number_in_cql2_json_or_field_equals(client, parcels):
    body = {"op": "=", "args": [{"property": "legal_area"}, True]}
    refused(ogc_items(client, **{"filter-lang": "cql2-json", "filter": json.dumps(body)}))


@pytest.mark.parametrize("path", [
    "/data/parcels.geojson?filter=legal_area>200", "/data/parcels.csv?limit=1", "/data/parcels.gpkg?unknown=1",
    "/history/parcels/diff/?f=xml", "/history/parcels/diff/?limit=5&unknown=1", "/history/parcels/diff/?form=2025-01-01",
    "/audit/?kind=x", "/audit/?format=xml", "/audit/?kinds=edit", "/ogc/collections/parcels/items/1?unknown=1",
])
def test_unknown_parameters_and_words_are_named_in_a_400(admin_client, parcels, path):
    body = refused(get(admin_client, path))
    assert body["parameter"] in path


def test_known_audit_and_diff_parameters_still_work(admin_client, parcels):
    assert admin_client.get("/audit/?kind=edit&layer=parcels&user=holes-admin").status_code == 200
    assert admin_client.get("/audit/?format=csv").status_code == 200
    assert get(admin_client, "/history/parcels/diff/?f=geojson&limit=5&lang=en").status_code == 200
    assert get(admin_client, "/data/parcels.geojson?crs=4326&properties=legal_area&api_key=").status_code == 200


@pytest.mark.parametrize("path", [
    ITEMS + "?limit=５", ITEMS + "?limit=١", ITEMS + "?limit=%201", ITEMS + "?limit=1%20", ITEMS + "?offset=+1",
    ITEMS + "?bbox=１０６.7,10.7,106.9,10.9", "/data/parcels.csv?bbox=106.7,10.7,106.9,١٠.٩",
    "/api/at?lon=１０６.75&lat=10.8&layers=parcels", "/api/at?lon=106.75&lat=10.8&z=１６&layers=parcels",
    ITEMS + "?filter=legal_area>１", ITEMS + "?crs=EPSG:٤٣٢٦", ITEMS + "?after=١",
    "/history/parcels/diff/?limit=５",
])
def test_only_ascii_digits_are_numbers(client, parcels, path):
    refused(get(client, path))


@pytest.mark.parametrize("bbox", ["106.7,10.7,5,106.9,10.9,-5", "106.7,10.7,1e300,106.9,10.9,1e301",
                                  "106.7,10.7,-1e6,106.9,10.9,0"])
def test_3d_bbox_heights_are_ordered_and_bounded(client, parcels, bbox):
    refused(get(client, ITEMS + "?bbox=" + bbox))
    refused(get(client, "/data/parcels.csv?bbox=" + bbox))


def test_a_3d_bbox_with_sensible_heights_is_read(client, parcels):
    assert ogc_items(client, bbox="106.7,10.7,-10,106.9,10.9,100").json()["numberReturned"] == 3


def test_ogc_paging_as_of_a_past_moment_never_reuses_a_cursor_from_the_present(client, parcels):
    layer = make_parcel_layer(slug="paged", is_public=True)
    features = [make_feature(layer, square(LON + i * 0.001, LAT + 0.01), {"parcel_no": i, "legal_area": 100.0 + i})
                for i in range(10)]
    ids = [feature.pk for feature in features]
    for feature in features:
        age_history(feature.pk, 3)
    for feature in features[:5]:
        feature.delete()
    make_feature(layer, square(LON, LAT + 0.02), {"parcel_no": 99, "legal_area": 1.0})
    past = (dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=1)).isoformat()
    base = "/ogc/collections/paged/items"
    present = client.get(base, {"limit": 5}, HTTP_ACCEPT="application/geo+json").json()  # remembers a cursor at 5
    assert len(present["features"]) == 5
    then = client.get(base, {"limit": 5, "offset": 5, "as_of": past}, HTTP_ACCEPT="application/geo+json").json()
    assert [f["id"] for f in then["features"]] == ids[5:]
    first = client.get(base, {"limit": 5, "as_of": past}, HTTP_ACCEPT="application/geo+json").json()
    assert [f["id"] for f in first["features"]] == ids[:5]


@pytest.mark.parametrize("value", ["１２", "١٢", "12.５"])
def test_a_write_reads_only_ascii_digits_as_numbers(parcels, value):
    user = User.objects.create_user("holes-digits")
    LayerGrant.objects.create(layer=parcels, user=user, can_edit=True)
    client = Client()
    client.force_login(user)
    before = Feature.objects.filter(layer=parcels).count()
    body = {"geometry": json.loads(square(LON, LAT + 0.01).geojson),
            "properties": {"ward_code": "26794", "map_sheet": 12, "parcel_no": 9, "land_use": "ODT", "legal_area": value}}
    refused(client.post("/api/layers/parcels/features", json.dumps(body), content_type="application/json"))
    assert Feature.objects.filter(layer=parcels).count() == before


# ---- issue 15's doors ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("query", [
    "request=GetRecords&typenames=csw:Record&outputformat=application/json",  # pycsw reports in JSON then
    "request=GetRecords&typenames=nosuch&elementsetname=full&outputformat=application/json",
    "request=GetRecordById&outputformat=application/json",
])
def test_csw_reports_asked_as_json_are_a_400_in_both_languages(client, parcels, query):
    response = client.get(f"/csw?service=CSW&version=2.0.2&{query}")
    assert response.status_code == 400, response.content[:300]
    assert b'xml:lang="vi"' in response.content and b'xml:lang="en"' in response.content
    assert b"ExceptionText" in response.content and b"NoApplicableCode" not in response.content  # pycsw's reason kept


def test_a_cursor_beyond_bigint_is_a_400_even_when_signed(client, parcels):
    """Only a cursor signed with a leaked or rotated key can carry such a position: still a 400, never a 500."""
    from layers import changes
    for position in ((2**63, 1), (1, 2**63), (2**70, 2**70)):
        token = changes.encode_cursor(parcels, changes.Position(*position))
        assert refused(get(client, f"/data/parcels/changes?since={token}"))["parameter"] == "since"
