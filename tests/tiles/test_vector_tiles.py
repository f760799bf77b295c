"""Vector tiles: contents, zoom and extent rules, generalisation, multi-layer tiles and access."""
import pytest
from django.contrib.auth.models import User
from django.contrib.gis.geos import LineString, Point, Polygon

from tests.factories import make_feature, make_layer, make_parcel_layer, square
from tests.tiles.helpers import decode
from tiles.coords import Tile, lonlat_to_mercator

pytestmark = pytest.mark.django_db

LON, LAT = 106.7700, 10.8500  # Thu Duc
PARCEL = {"ward_code": "26800", "map_sheet": 12, "parcel_no": 345, "land_use": "ODT", "legal_area": 120.5,
          "address": "12 Võ Văn Ngân", "owner_note": "not for tiles"}


def tile_at(lon: float, lat: float, z: int) -> Tile:
    x, y = lonlat_to_mercator(lon, lat)
    size = 2 * 20037508.342789244 / (1 << z)
    return Tile(z, int((x + 20037508.342789244) // size), int((20037508.342789244 - y) // size))


def url(slugs: str, tile: Tile) -> str:
    return f"/tiles/{slugs}/{tile.z}/{tile.x}/{tile.y}.pbf"


def test_tile_has_id_and_display_fields_only(client):
    layer = make_parcel_layer(slug="parcels")
    feature = make_feature(layer, square(LON, LAT), PARCEL)

    response = client.get(url("parcels", tile_at(LON, LAT, 16)))

    assert response.status_code == 200
    assert response["Content-Type"] == "application/vnd.mapbox-vector-tile"
    decoded = decode(response)
    assert list(decoded) == ["parcels"]
    (found,) = decoded["parcels"]["features"]
    assert found["id"] == feature.pk
    assert found["properties"] == {"id": feature.pk, "ward_code": "26800", "map_sheet": 12, "parcel_no": 345,
                                   "land_use": "ODT", "legal_area": 120.5, "address": "12 Võ Văn Ngân"}
    assert found["geometry"]["type"] == "Polygon"


def test_wrongly_typed_value_becomes_null_not_an_error(client):
    layer = make_parcel_layer(slug="parcels")
    make_feature(layer, square(LON, LAT), {**PARCEL, "legal_area": "about 120"})

    response = client.get(url("parcels", tile_at(LON, LAT, 16)))

    assert response.status_code == 200
    (found,) = decode(response)["parcels"]["features"]
    assert "legal_area" not in found["properties"]


def test_multi_layer_tile_has_one_mvt_layer_per_catalog_layer_in_order(client):
    parcels = make_parcel_layer(slug="parcels")
    roads = make_layer(slug="roads", geometry_type="LineString")
    wells = make_layer(slug="wells", geometry_type="Point")
    make_feature(parcels, square(LON, LAT))
    make_feature(roads, LineString((LON, LAT), (LON + 0.001, LAT + 0.0005), srid=4326))
    make_feature(wells, Point(LON + 0.0002, LAT + 0.0002, srid=4326))

    response = client.get(url("wells,parcels,roads", tile_at(LON, LAT, 16)))

    assert response.status_code == 200
    decoded = decode(response)
    assert list(decoded) == ["wells", "parcels", "roads"]
    assert decoded["roads"]["features"][0]["geometry"]["type"] == "LineString"
    assert decoded["wells"]["features"][0]["geometry"]["type"] == "Point"


def test_multi_layer_tile_leaves_out_layers_outside_their_zoom_range(client):
    make_feature(make_parcel_layer(slug="parcels", min_zoom=15), square(LON, LAT))
    make_feature(make_layer(slug="wards", min_zoom=0, max_zoom=14), square(LON, LAT, 0.01))

    at_16 = decode(client.get(url("parcels,wards", tile_at(LON, LAT, 16))))
    at_12 = decode(client.get(url("parcels,wards", tile_at(LON, LAT, 12))))

    assert list(at_16) == ["parcels"]
    assert list(at_12) == ["wards"]


@pytest.mark.parametrize("z", [14, 23])
def test_outside_zoom_range_is_204(client, z):
    make_feature(make_parcel_layer(slug="parcels", min_zoom=15, max_zoom=22), square(LON, LAT))

    response = client.get(url("parcels", tile_at(LON, LAT, z)))

    assert response.status_code == 204
    assert response.content == b""


def test_outside_extent_is_204_without_a_tile_query(client, django_assert_num_queries):
    make_feature(make_parcel_layer(slug="parcels"), square(LON, LAT))

    with django_assert_num_queries(1):  # the catalog lookup; no tile query
        response = client.get(url("parcels", tile_at(2.35, 48.85, 14)))

    assert response.status_code == 204


def test_empty_tile_inside_the_extent_is_204(client):
    layer = make_parcel_layer(slug="parcels")
    make_feature(layer, square(LON, LAT))
    make_feature(layer, square(LON + 0.05, LAT + 0.05), {**PARCEL, "parcel_no": 2})

    response = client.get(url("parcels", tile_at(LON + 0.025, LAT + 0.025, 18)))

    assert response.status_code == 204


def test_polygon_across_a_tile_edge_is_in_both_tiles_clipped(client):
    tile = tile_at(LON, LAT, 17)
    west, south, east, north = tile.bounds_4326()
    make_feature(make_layer(slug="zones"), Polygon.from_bbox((east - 0.0003, south + 0.0001, east + 0.0003, south + 0.0004)))

    left = decode(client.get(url("zones", tile)))["zones"]["features"]
    right = decode(client.get(url("zones", Tile(17, tile.x + 1, tile.y))))["zones"]["features"]

    assert len(left) == len(right) == 1
    xs = [x for x, _ in left[0]["geometry"]["coordinates"][0]]
    assert max(xs) <= 4096 + 64  # clipped to the tile and its buffer


def test_low_zoom_drops_sub_pixel_features_and_keeps_big_ones(client):
    layer = make_layer(slug="mixed", geometry_type="Polygon")
    small = make_feature(layer, square(LON, LAT, 0.0001), refresh=False)  # ≈ 11 m
    big = make_feature(layer, square(LON + 0.01, LAT + 0.01, 0.02))  # ≈ 2.2 km
    tile = tile_at(LON, LAT, 10)  # a pixel ≈ 150 m
    assert tile == tile_at(LON + 0.02, LAT + 0.02, 10)

    low = decode(client.get(url("mixed", tile)))["mixed"]["features"]
    high = decode(client.get(url("mixed", tile_at(LON, LAT, 17))))["mixed"]["features"]

    assert [f["id"] for f in low] == [big.pk]
    assert small.pk in [f["id"] for f in high]


def test_low_zoom_keeps_points(client):
    layer = make_layer(slug="wells", geometry_type="Point")
    well = make_feature(layer, Point(LON, LAT, srid=4326))

    features = decode(client.get(url("wells", tile_at(LON, LAT, 8))))["wells"]["features"]

    assert [f["id"] for f in features] == [well.pk]


def test_low_zoom_simplifies_to_the_pixel(client):
    import math

    # A circle of 2,000 vertices, 3 km across: at z10 (a pixel ≈ 150 m) a few dozen vertices are plenty.
    ring = [(LON + 0.015 * math.cos(t / 1000 * math.pi), LAT + 0.015 * math.sin(t / 1000 * math.pi)) for t in range(2000)]
    layer = make_layer(slug="zones")
    make_feature(layer, Polygon(ring + [ring[0]], srid=4326))

    low = decode(client.get(url("zones", tile_at(LON, LAT, 10))))["zones"]["features"][0]
    full = decode(client.get(url("zones", tile_at(LON, LAT, 16))))

    assert len(low["geometry"]["coordinates"][0]) < 100
    assert full  # full detail still draws


def test_city_wide_tile_of_many_parcels_stays_small(client, django_assert_max_num_queries):
    from django.db import connection

    layer = make_parcel_layer(slug="parcels")
    with connection.cursor() as cursor:  # 20,000 parcels of 10 m in a 3 km square
        cursor.execute(
            "INSERT INTO layers_feature (layer_id, geom, properties, version, updated_at) "
            "SELECT %s, ST_MakeEnvelope(lon, lat, lon + 0.00009, lat + 0.00009, 4326), "
            "jsonb_build_object('ward_code', '26800', 'map_sheet', 1, 'parcel_no', i, 'land_use', 'ODT', 'legal_area', 100), 1, now() "
            "FROM (SELECT i, %s + (i %% 141) * 0.0002 AS lon, %s + (i / 141) * 0.0002 AS lat "
            "FROM generate_series(0, 19999) i) s",
            [layer.pk, LON, LAT],
        )
    from layers.services import layer_refresh_stats

    layer_refresh_stats(layer=layer)

    city = client.get(url("parcels", tile_at(LON, LAT, 11)))
    street = client.get(url("parcels", tile_at(LON + 0.001, LAT + 0.001, 16)))

    assert city.status_code == 204 or len(city.content) < 20_000
    assert street.status_code == 200 and len(decode(street)["parcels"]["features"]) > 100


def test_restricted_layer_is_404_for_visitors_and_served_to_staff(client):
    make_feature(make_layer(slug="secret", is_public=False), square(LON, LAT))
    tile = tile_at(LON, LAT, 16)

    assert client.get(url("secret", tile)).status_code == 404
    assert client.get(url("secret", tile), HTTP_ACCEPT="application/json").json()["code"] == "not-found"

    client.force_login(User.objects.create_superuser("admin"))
    response = client.get(url("secret", tile))
    assert response.status_code == 200
    assert response["Cache-Control"].startswith("private")
    assert "Cookie" in response["Vary"]


def test_restricted_layer_in_a_list_makes_the_whole_list_404(client):
    make_feature(make_parcel_layer(slug="parcels"), square(LON, LAT))
    make_feature(make_layer(slug="secret", is_public=False), square(LON, LAT))

    assert client.get(url("parcels,secret", tile_at(LON, LAT, 16))).status_code == 404


def test_raster_layer_is_no_vector_tile(client):
    make_layer(slug="dem", kind="raster")

    assert client.get(url("dem", Tile(10, 1, 1))).status_code == 404


def test_one_query_for_the_catalog_and_one_for_the_tile(client, django_assert_num_queries):
    make_feature(make_parcel_layer(slug="parcels"), square(LON, LAT))
    make_feature(make_layer(slug="zones"), square(LON, LAT, 0.001))

    with django_assert_num_queries(2):
        response = client.get(url("parcels,zones", tile_at(LON, LAT, 16)))

    assert response.status_code == 200


def test_tilejson_describes_the_layer(client):
    layer = make_parcel_layer(slug="parcels", min_zoom=12, max_zoom=22, attribution="Sở TN&MT")
    make_feature(layer, square(LON, LAT, 0.01))

    doc = client.get("/tiles/parcels.json").json()

    assert doc["tilejson"] == "3.0.0"
    assert doc["tiles"] == ["http://testserver/tiles/parcels/{z}/{x}/{y}.pbf"]
    assert (doc["minzoom"], doc["maxzoom"]) == (12, 22)
    assert doc["bounds"] == pytest.approx([LON, LAT, LON + 0.01, LAT + 0.01])
    assert doc["center"][:2] == pytest.approx([LON + 0.005, LAT + 0.005]) and 12 <= doc["center"][2] <= 22
    assert doc["attribution"] == "Sở TN&MT"
    (vector_layer,) = doc["vector_layers"]
    assert vector_layer["id"] == "parcels"
    assert vector_layer["fields"] == {"id": "Number", "ward_code": "String", "map_sheet": "Number",
                                      "parcel_no": "Number", "land_use": "String", "legal_area": "Number",
                                      "address": "String"}


def test_tilejson_of_a_layer_list_and_of_unknown_layers(client):
    make_feature(make_parcel_layer(slug="parcels"), square(LON, LAT))
    make_feature(make_layer(slug="zones"), square(LON, LAT))

    doc = client.get("/tiles/parcels,zones.json").json()

    assert [v["id"] for v in doc["vector_layers"]] == ["parcels", "zones"]
    assert doc["tiles"][0].endswith("/tiles/parcels,zones/{z}/{x}/{y}.pbf")
    assert client.get("/tiles/nothing.json").status_code == 404
    assert client.get("/tiles/parcels,parcels.json").status_code == 400


def test_min_feature_pixels_setting_thins_dense_layers(client, settings):
    layer = make_layer(slug="mixed")
    parcel = make_feature(layer, square(LON, LAT, 0.00025), refresh=False)  # ≈ 28 m: 1.5 px at z13
    make_feature(layer, square(LON + 0.01, LAT + 0.01, 0.02))
    tile = tile_at(LON, LAT, 13)

    kept = [f["id"] for f in decode(client.get(url("mixed", tile)))["mixed"]["features"]]
    settings.GISPORTAL_TILE_MIN_FEATURE_PIXELS = 2
    thinned = [f["id"] for f in decode(client.get(url("mixed", tile)))["mixed"]["features"]]

    assert parcel.pk in kept and parcel.pk not in thinned and len(thinned) == 1


def test_tile_query_finds_features_by_layer_and_area_in_one_index(django_db_setup, db):
    """Many layers over the same area: only the layer's own features are read. layers_feature is partitioned
    by layer (layers migration 0015): the plan must prune to the layer's partition (a layer id the planner
    cannot match to the partition key, an int4 literal say, would scan every layer's) and use its GiST."""
    from django.db import connection

    from tiles.mvt import SESSION, tile_query

    layer = make_parcel_layer(slug="parcels")
    other = make_layer(slug="buildings")
    with connection.cursor() as cursor:  # 4,000 features of each layer over the same 2 km square
        for target in (layer, other):
            cursor.execute(
                "INSERT INTO layers_feature (layer_id, geom, properties, version, updated_at) "
                "SELECT %s, ST_MakeEnvelope(lon, lat, lon + 0.0001, lat + 0.0001, 4326), "
                "jsonb_build_object('parcel_no', i), 1, now() "
                "FROM (SELECT i, %s + (i %% 64) * 0.0003 AS lon, %s + (i / 64) * 0.0003 AS lat "
                "FROM generate_series(0, 3999) i) s", [target.pk, LON, LAT])
        cursor.execute("ANALYZE layers_feature")
    layer.refresh_from_db()
    query, params = tile_query([layer], tile_at(LON + 0.005, LAT + 0.005, 17))
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN " + query.removeprefix(SESSION), params)
        plan = "\n".join(row[0] for row in cursor.fetchall())

    index_lines = [line for line in plan.splitlines() if "Index Cond" in line]
    assert any("&&" in line for line in index_lines), plan
    assert f"layers_feature_l{layer.pk} " in plan and f"layers_feature_l{other.pk} " not in plan, plan


@pytest.mark.django_db(transaction=True)
def test_value_of_the_wrong_type_in_a_number_field_becomes_null_then_and_after(client):
    """Outside a transaction (as in production) tiles use plain casts; a value that does not cast
    makes the layer switch to guarded casts: the tile still draws, the bad value is left out."""
    layer = make_parcel_layer(slug="parcels")
    make_feature(layer, square(LON, LAT), {**PARCEL, "map_sheet": "twelve"})  # a field retyped after loading
    make_feature(layer, square(LON + 0.0006, LAT), {**PARCEL, "parcel_no": 346})

    first = decode(client.get(url("parcels", tile_at(LON, LAT, 16))))["parcels"]["features"]
    again = decode(client.get(url("parcels", tile_at(LON, LAT, 17))))["parcels"]["features"]

    assert sorted((f["properties"].get("map_sheet") is None) for f in first) == [False, True]
    assert again


@pytest.mark.django_db(transaction=True)
def test_tile_after_the_database_dropped_our_connection_is_drawn(client, monkeypatch):
    """The tile query is its own connection health check (Django's costs a round trip per request):
    a connection the server has dropped (restart, idle kill) is replaced and the tile still drawn, and
    the per-request health check is not run on the hot path."""
    import psycopg2
    from django.db import connection, connections

    layer = make_parcel_layer(slug="parcels")
    feature = make_feature(layer, square(LON, LAT), PARCEL)
    assert client.get(url("parcels", tile_at(LON, LAT, 18))).status_code == 200  # connection now open
    pid = connection.connection.get_backend_pid()
    settings = connection.settings_dict
    killer = psycopg2.connect(dbname=settings["NAME"], host=settings["HOST"], port=settings["PORT"],
                              user=settings["USER"], password=settings.get("PASSWORD") or None)
    killer.autocommit = True
    with killer.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(%s, 5000)", [pid])
        assert cursor.fetchone()[0]
    killer.close()

    checks = []
    wrapper = type(connections["default"])
    original = wrapper.is_usable
    monkeypatch.setattr(wrapper, "is_usable", lambda self: checks.append(1) or original(self))  # counts, still checks
    responses = [client.get(url("parcels", tile_at(LON, LAT, z))) for z in (16, 17)]

    assert [r.status_code for r in responses] == [200, 200]
    assert [f["id"] for f in decode(responses[0])["parcels"]["features"]] == [feature.pk]
    assert connection.connection.get_backend_pid() != pid
    assert checks == []
