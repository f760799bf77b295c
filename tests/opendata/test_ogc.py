"""OGC API – Features: documents, items with bbox/CRS/CQL2/sortby/paging, and bad input as OGC exceptions."""

import pytest
from django.db import connection

from layers.vn2000 import transformer

pytestmark = pytest.mark.django_db
CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
EPSG = "http://www.opengis.net/def/crs/EPSG/0/{}"


def items(client, slug="parcels", **params):
    response = client.get(f"/ogc/collections/{slug}/items", params, HTTP_ACCEPT="application/geo+json")
    return response


def ids(response) -> set[int]:
    return {f["id"] for f in response.json()["features"]}


def sql_ids(where: str, params=()) -> set[int]:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT id FROM layers_feature f WHERE layer_id = (SELECT id FROM layers_layer WHERE slug='parcels') AND {where}", params)
        return {row[0] for row in cursor.fetchall()}


def test_landing_conformance_api_and_collections(client, parcels, secret):
    landing = client.get("/ogc/", HTTP_ACCEPT="application/json").json()
    rels = {link["rel"] for link in landing["links"]}
    assert {"self", "service-desc", "service-doc", "conformance", "data"} <= rels
    conf = client.get("/ogc/conformance").json()["conformsTo"]
    assert "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs" in conf
    assert "http://www.opengis.net/spec/cql2/1.0/conf/cql2-text" in conf
    api = client.get("/ogc/api")
    assert api["Content-Type"].startswith("application/vnd.oai.openapi+json")
    assert "/collections/{collectionId}/items" in api.json()["paths"]
    cols = client.get("/ogc/collections").json()["collections"]
    assert [c["id"] for c in cols] == ["parcels"]  # the restricted layer is not listed
    parcels_doc = cols[0]
    assert parcels_doc["storageCrs"] == CRS84
    assert {CRS84, EPSG.format(4326), EPSG.format(9210), EPSG.format(3405)} <= set(parcels_doc["crs"])
    assert parcels_doc["extent"]["spatial"]["bbox"][0][0] == pytest.approx(106.73)


def test_html_by_f_and_by_accept(client, parcels):
    page = client.get("/ogc/collections/parcels/items?f=html")
    assert page["Content-Type"].startswith("text/html")
    assert "Thảo Điền" in page.content.decode()
    page = client.get("/ogc/collections", HTTP_ACCEPT="text/html,application/xhtml+xml")
    assert page["Content-Type"].startswith("text/html")
    for url in ("/ogc/?f=html", "/ogc/conformance?f=html", "/ogc/collections/parcels?f=html",
                "/ogc/collections/parcels/queryables?f=html", "/ogc/docs"):
        assert client.get(url).status_code == 200, url


def test_items_paging_links_and_counts(client, parcels):
    first = items(client, limit=2)
    data = first.json()
    assert first["Content-Type"] == "application/geo+json"
    assert data["numberMatched"] == 5 and data["numberReturned"] == 2
    links = {l["rel"]: l["href"] for l in data["links"]}
    assert "next" in links and "prev" not in links
    second = client.get(links["next"], HTTP_ACCEPT="application/geo+json").json()
    last = client.get({l["rel"]: l["href"] for l in second["links"]}["next"], HTTP_ACCEPT="application/geo+json").json()
    assert last["numberReturned"] == 1
    assert "next" not in {l["rel"] for l in last["links"]} and "prev" in {l["rel"] for l in last["links"]}
    seen = [f["id"] for page in (data, second, last) for f in page["features"]]
    assert len(set(seen)) == 5
    assert "after=" in links["next"]  # keyset cursor: the same page as offset alone gives
    by_offset = items(client, limit=2, offset=2).json()
    assert [f["id"] for f in by_offset["features"]] == [f["id"] for f in second["features"]]


def test_item_and_missing_item(client, parcels):
    fid = min(ids(items(client)))
    one = client.get(f"/ogc/collections/parcels/items/{fid}")
    assert one.status_code == 200 and one.json()["id"] == fid
    assert client.get("/ogc/collections/parcels/items/999999999").status_code == 404
    assert client.get("/ogc/collections/parcels/items/99999999999999999999999").status_code == 404


def test_bbox_and_bbox_crs_and_antimeridian(client, parcels, points):
    assert ids(items(client, bbox="106.72,10.79,106.74,10.81")) == sql_ids(
        "ST_Intersects(geom, ST_MakeEnvelope(106.72,10.79,106.74,10.81,4326))")
    # EPSG:4326 by URI is latitude first
    assert ids(items(client, bbox="10.79,106.72,10.81,106.74", **{"bbox-crs": EPSG.format(4326)})) == ids(
        items(client, bbox="106.72,10.79,106.74,10.81"))
    x0, y0 = transformer(4326, 9210).transform(106.72, 10.79)
    x1, y1 = transformer(4326, 9210).transform(106.74, 10.81)
    in_vn2000 = items(client, bbox=f"{x0},{y0},{x1},{y1}", **{"bbox-crs": EPSG.format(9210)})
    assert ids(in_vn2000) == ids(items(client, bbox="106.72,10.79,106.74,10.81"))
    across = items(client, "wells", bbox="179,0,-179,20").json()
    assert sorted(f["properties"]["tên"] for f in across["features"]) == ["Far east", "Far west"]


def test_output_crs_and_content_crs(client, parcels):
    response = items(client, crs=EPSG.format(9210), limit=1, sortby="parcel_no")
    assert response["Content-Crs"] == f"<{EPSG.format(9210)}>"
    x, y = response.json()["features"][0]["geometry"]["coordinates"][0][0]
    ex, ey = transformer(4326, 9210).transform(106.730, 10.800)
    assert abs(x - ex) < 0.01 and abs(y - ey) < 0.01
    latlon = items(client, crs=EPSG.format(4326), limit=1, sortby="parcel_no").json()
    lat, lon = latlon["features"][0]["geometry"]["coordinates"][0][0]
    assert lat == pytest.approx(10.8) and lon == pytest.approx(106.73)
    assert items(client)["Content-Crs"] == f"<{CRS84}>"


@pytest.mark.parametrize("cql, where", [
    ("land_use = 'ODT'", "properties->>'land_use' = 'ODT'"),
    ("legal_area > 100", "(properties->>'legal_area')::float > 100"),
    ("legal_area >= 100 AND land_use <> 'TMD'", "(properties->>'legal_area')::float >= 100 AND properties->>'land_use' <> 'TMD'"),
    ("land_use = 'DGT' OR map_sheet = 12", "properties->>'land_use' = 'DGT' OR (properties->>'map_sheet')::int = 12"),
    ("NOT (land_use = 'ODT')", "properties->>'land_use' <> 'ODT'"),
    ("address LIKE '%Thảo Điền%'", "properties->>'address' LIKE '%%Thảo Điền%%'"),
    ("land_use IN ('CLN', 'TMD')", "properties->>'land_use' IN ('CLN', 'TMD')"),
    ("parcel_no NOT IN (1, 2)", "(properties->>'parcel_no')::int NOT IN (1, 2)"),
    ("legal_area BETWEEN 50 AND 300", "(properties->>'legal_area')::float BETWEEN 50 AND 300"),
    ("address IS NULL", "properties->>'address' IS NULL"),
    ("S_INTERSECTS(geometry, POLYGON((106.72 10.79, 106.74 10.79, 106.74 10.81, 106.72 10.81, 106.72 10.79)))",
     "ST_Intersects(geom, ST_MakeEnvelope(106.72,10.79,106.74,10.81,4326))"),
    ("S_INTERSECTS(geometry, POINT(106.8005 10.8505))", "ST_Intersects(geom, 'SRID=4326;POINT(106.8005 10.8505)'::geometry)"),
    ('"ward_code" = \'26800\' and legal_area < 500', "properties->>'ward_code' = '26800' AND (properties->>'legal_area')::float < 500"),
])
def test_cql2_filters_agree_with_sql(client, parcels, cql, where):
    response = items(client, filter=cql, limit=100)
    assert response.status_code == 200, response.content
    expected = sql_ids(where)
    assert ids(response) == expected
    assert response.json()["numberMatched"] == len(expected)


def test_field_equals_and_sortby_and_properties(client, parcels):
    data = items(client, land_use="ODT", sortby="-legal_area", properties="legal_area").json()
    assert [f["properties"] for f in data["features"]] == [{"legal_area": 120.5}, {"legal_area": 85.25}]
    data = items(client, sortby="+map_sheet,-parcel_no", limit=3).json()
    assert [(f["properties"]["map_sheet"], f["properties"]["parcel_no"]) for f in data["features"]] == [(4, 16), (4, 15), (12, 2)]


def test_numbermatched_is_estimated_on_huge_layers(client, parcels, settings):
    settings.OPENDATA_EXACT_COUNT_MAX = 2
    response = items(client, land_use="ODT")
    data = response.json()
    assert data["numberMatchedEstimated"] is True
    assert response["OGC-NumberMatched-Estimated"] == "true"
    assert isinstance(data["numberMatched"], int)


@pytest.mark.parametrize("params, parameter", [
    ({"bbox": "106.8,10.9,106.7"}, "bbox"),
    ({"bbox": "a,b,c,d"}, "bbox"),
    ({"bbox": "106.7,10.9,106.8,10.8"}, "bbox"),  # south above north
    ({"bbox": "106.7,91,106.8,92"}, "bbox"),
    ({"bbox": "1e400,0,1,1"}, "bbox"),
    ({"crs": "EPSG:9999"}, "crs"),
    ({"crs": "http://www.opengis.net/def/crs/EPSG/0/4326'; DROP TABLE layers_layer;--"}, "crs"),
    ({"bbox-crs": "urn:nope"}, "bbox-crs"),
    ({"limit": "0"}, "limit"),  # above the maximum is clamped (test_limit_above_the_maximum_is_clamped)
    ({"limit": "-1"}, "limit"),
    ({"limit": "ten"}, "limit"),
    ({"offset": "1.5"}, "offset"),
    ({"filter": "land_use = "}, "filter"),
    ({"filter": "nope = 1"}, "filter"),
    ({"filter": "land_use = 'ODT'; DROP TABLE layers_feature"}, "filter"),
    ({"filter": "legal_area > 'big'"}, "filter"),
    ({"filter": "S_INTERSECTS(geometry, POLYGON((1 2, 3)))"}, "filter"),
    ({"filter": "S_INTERSECTS(geometry, POINT(500 500))"}, "filter"),
    ({"filter": "(" * 200 + "land_use = 'ODT'" + ")" * 200}, "filter"),
    ({"filter": "land_use = 'x'" + " OR land_use = 'x'" * 400}, "filter"),
    ({"filter": "land_use = '\u202e\u200b🏠'\x00"}, "filter"),
    ({"filter-lang": "cql2-xml"}, "filter-lang"),
    ({"filter-lang": "cql2-json", "filter": "land_use = 'ODT'"}, "filter"),
    ({"sortby": "nope"}, "sortby"),
    ({"sortby": "land_use; DROP TABLE x"}, "sortby"),
    ({"properties": "nope"}, "properties"),
    ({"legal_area": "not-a-number"}, "legal_area"),
    ({"unknown": "1"}, "unknown"),
    ({"datetime": "2020-01-01"}, "datetime"),
    ({"f": "xml"}, "f"),
])
def test_bad_input_is_400_ogc_exception(client, parcels, params, parameter):
    response = items(client, **params)
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["parameter"] == parameter
    assert body["code"] and body["description"]


def test_odd_unicode_in_text_filter_is_just_no_match(client, parcels):
    response = items(client, filter="address = '\u202e\u200b🏠 Thảo'")
    assert response.status_code == 200 and response.json()["numberReturned"] == 0


def test_restricted_collections_are_404_everywhere(client, admin_client, secret, parcels):
    for url in ("/ogc/collections/secret-bunkers", "/ogc/collections/secret-bunkers/items",
                "/ogc/collections/secret-bunkers/queryables", "/ogc/collections/secret-bunkers/items/1"):
        assert client.get(url).status_code == 404, url
    assert client.get("/ogc/collections/secret-bunkers").content == client.get("/ogc/collections/nothing").content
    assert "secret-bunkers" not in client.get("/ogc/api").content.decode()
    assert admin_client.get("/ogc/collections/secret-bunkers/items").status_code == 200


def test_sequential_offsets_read_on_from_the_remembered_cursor(client, parcels):
    from layers import shared_store
    from opendata import seek

    redis = shared_store.client()
    first = items(client, limit=2, bbox="106.7,10.7,106.9,10.9").json()
    cursors = list(redis.scan_iter(match=seek.redis_key("*")))
    assert len(cursors) == 1  # in Redis, with a time to live: no table written by a public GET
    assert int(redis.get(cursors[0])) == first["features"][-1]["id"] and 0 < redis.ttl(cursors[0]) <= seek.TTL_SECONDS
    second = items(client, limit=2, offset=2, bbox="106.7,10.7,106.9,10.9").json()
    redis.delete(*cursors)
    plain = items(client, limit=2, offset=2, bbox="106.7,10.7,106.9,10.9").json()
    assert [f["id"] for f in second["features"]] == [f["id"] for f in plain["features"]]
    assert second["numberMatched"] == plain["numberMatched"] == 5
    # another query (a different bbox) never uses this query's cursor
    items(client, limit=2, bbox="106.7,10.7,106.9,10.9")
    other = items(client, limit=2, offset=2, bbox="106.7,10.7,106.75,10.9").json()
    assert [f["id"] for f in other["features"]] == sorted(ids(items(client, bbox="106.7,10.7,106.75,10.9")))[2:4]


@pytest.mark.parametrize("limit", ["0", "00"])
def test_a_refused_limit_names_the_servers_maximum(client, parcels, settings, limit):
    settings.OPENDATA_OGC_MAX_LIMIT = 5000
    body = items(client, limit=limit).json()
    assert "1 and 5000" in body["description"] and "1 đến 5000" in body["description_vi"]
