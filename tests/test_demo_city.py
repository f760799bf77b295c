"""The demo city's invariants, checked in PostGIS after the files went through the real ingest path."""
import numpy as np
import pytest
import shapely
from django.db import connection

from demo.city import generate_city
from demo.wards import FORMER_WARDS, NEW_WARDS

pytestmark = pytest.mark.django_db


def _scalar(sql: str, params=None):
    with connection.cursor() as cursor:
        cursor.execute(sql, params or [])
        return cursor.fetchone()[0]


def _units(where: str) -> str:
    return (
        "SELECT f.geom, f.properties FROM layers_feature f JOIN layers_layer l ON l.id = f.layer_id "
        f"WHERE l.slug = 'admin-units' AND {where}"
    )


FORMER = "properties->>'level' = 'ward' AND properties->>'valid_to' IS NOT NULL"
CURRENT = "properties->>'level' = 'ward' AND properties->>'valid_to' IS NULL"
CITY = "properties->>'level' = 'city'"
NEIGHBOURHOOD = "properties->>'level' = 'neighbourhood'"


def test_every_layer_loaded(demo_city):
    counts = {slug: layer.feature_count for slug, layer in demo_city.items()}
    assert counts["parcels"] > 2500
    neighbourhoods = _scalar(f"SELECT count(*) FROM ({_units(NEIGHBOURHOOD)}) s")
    assert neighbourhoods >= 2 * len(FORMER_WARDS)
    assert counts["admin-units"] == 1 + len(FORMER_WARDS) + len(NEW_WARDS) + neighbourhoods
    assert counts["planning-zones"] > 250 and counts["road-reserves"] > 50
    assert demo_city["elevation"].raster_info["max"] > demo_city["elevation"].raster_info["min"]
    assert demo_city["parcels"].extent is not None and demo_city["parcels"].last_changed is not None


def test_the_city_sits_in_thu_duc(demo_city):
    xmin, ymin, xmax, ymax = demo_city["admin-units"].extent.extent
    assert 106.69 <= xmin and xmax <= 106.881 and 10.73 <= ymin and ymax <= 10.901


@pytest.mark.parametrize("generation", [FORMER, CURRENT], ids=["34 former wards", "12 wards since 2025"])
def test_wards_tile_the_city_without_gap_or_overlap(demo_city, generation):
    wards = f"SELECT ST_Transform(geom, 9210) g FROM ({_units(generation)}) s"
    city = f"SELECT ST_Transform(geom, 9210) g FROM ({_units(CITY)}) s"
    gap = _scalar(f"SELECT ST_Area(ST_Difference(({city}), (SELECT ST_Union(g) FROM ({wards}) w)))")
    overlap = _scalar(
        f"WITH w AS (SELECT row_number() OVER () id, g FROM ({wards}) x) "
        "SELECT coalesce(max(ST_Area(ST_Intersection(a.g, b.g))), 0) FROM w a JOIN w b ON a.id < b.id AND a.g && b.g"
    )
    assert gap < 1.0 and overlap < 1.0
    names = _scalar(f"SELECT count(DISTINCT properties->>'name') FROM ({_units(generation)}) s")
    assert names == (len(FORMER_WARDS) if generation == FORMER else len(NEW_WARDS))


def test_every_parcel_lies_in_exactly_its_own_ward(demo_city):
    parcels = "SELECT f.geom, f.properties FROM layers_feature f JOIN layers_layer l ON l.id = f.layer_id WHERE l.slug = 'parcels'"
    rows = _scalar(
        f"SELECT count(*) FROM ({parcels}) p JOIN ({_units(FORMER)}) w ON ST_Intersects(w.geom, ST_PointOnSurface(p.geom))"
    )
    total = demo_city["parcels"].feature_count
    assert rows == total  # exactly one ward each (wards don't overlap)
    mismatched = _scalar(
        f"SELECT count(*) FROM ({parcels}) p JOIN ({_units(FORMER)}) w ON ST_Intersects(w.geom, ST_PointOnSurface(p.geom)) "
        "WHERE w.properties->>'code' <> p.properties->>'ward_code'"
    )
    assert mismatched == 0
    outside = _scalar(
        f"SELECT max(ST_Area(ST_Difference(ST_Transform(p.geom, 9210), ST_Transform(w.geom, 9210)))) FROM ({parcels}) p "
        f"JOIN ({_units(FORMER)}) w ON w.properties->>'code' = p.properties->>'ward_code'"
    )
    assert outside < 0.01


def test_parcel_keys_are_unique_and_areas_are_legal(demo_city):
    parcels = "FROM layers_feature f JOIN layers_layer l ON l.id = f.layer_id WHERE l.slug = 'parcels'"
    keys = _scalar(f"SELECT count(DISTINCT (properties->>'ward_code', properties->>'map_sheet', properties->>'parcel_no')) {parcels}")
    assert keys == demo_city["parcels"].feature_count
    # Legal area = plane area in VN-2000 / TM-3 105-45 (rounded to 0.1 m²).
    worst = _scalar(f"SELECT max(abs(ST_Area(ST_Transform(geom, 9210)) - (properties->>'legal_area')::float)) {parcels}")
    assert worst <= 0.051
    overlaps = _scalar(
        f"WITH p AS (SELECT f.id, ST_Transform(f.geom, 9210) g {parcels}) "
        "SELECT count(*) FROM p a JOIN p b ON a.id < b.id AND a.g && b.g AND ST_Area(ST_Intersection(a.g, b.g)) > 0.01"
    )
    assert overlaps == 0


def test_generation_is_deterministic_per_seed():
    a = generate_city(parcels=500, seed=11, zones=50)
    b = generate_city(parcels=500, seed=11, zones=50)
    c = generate_city(parcels=500, seed=12, zones=50)
    assert np.array_equal(shapely.to_wkb(a.parcels["geom"]), shapely.to_wkb(b.parcels["geom"]))
    assert not np.array_equal(shapely.to_wkb(a.parcels["geom"][:50]), shapely.to_wkb(c.parcels["geom"][:50]))


def _layer_geoms(slug: str) -> str:
    return ("SELECT ST_Transform(f.geom, 9210) g, f.properties p FROM layers_feature f "
            f"JOIN layers_layer l ON l.id = f.layer_id WHERE l.slug = '{slug}'")


def test_rivers_run_along_the_city_edge_outside_it(demo_city):
    city = f"SELECT ST_Transform(geom, 9210) g FROM ({_units(CITY)}) s"
    names = _scalar(f"SELECT array_agg(p->>'name' ORDER BY p->>'name') FROM ({_layer_geoms('water')}) w")
    assert names == ["Sông Sài Gòn", "Sông Đồng Nai"]
    inside = _scalar(f"SELECT sum(ST_Area(ST_Intersection(w.g, ({city})))) FROM ({_layer_geoms('water')}) w")
    touching = _scalar(f"SELECT bool_and(ST_DWithin(w.g, ({city}), 1.0)) FROM ({_layer_geoms('water')}) w")
    assert inside < 1.0 and touching  # the river is the boundary: no parcel or zone is under water


def test_road_centre_lines_lie_in_their_reserves_inside_the_city(demo_city):
    reserves = _layer_geoms("road-reserves")
    outside = _scalar(
        f"SELECT count(*) FROM ({_layer_geoms('roads')}) r WHERE NOT EXISTS (SELECT 1 FROM ({reserves}) v "
        "WHERE v.p->>'road_name' = r.p->>'road_name' AND ST_Covers(ST_Buffer(v.g, 0.01), r.g))")
    assert demo_city["roads"].feature_count > 50 and outside == 0
    classes = _scalar(f"SELECT array_agg(DISTINCT p->>'road_class') FROM ({_layer_geoms('roads')}) r")
    assert sorted(classes) == ["local", "main"]
