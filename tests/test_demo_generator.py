"""The demo generator for every seed: clips that return collections, empty or lower-dimension results, and
the whole city on several seeds at a small size (no database: the generator is pure shapely and numpy)."""
from collections import Counter

import numpy as np
import pytest
import shapely
from shapely.geometry import GeometryCollection, LineString, MultiPolygon, Point, Polygon

from demo.city import _roads, generate_city
from demo.shapes import lineal, main_polygon, polygonal
from demo.wards import FORMER_WARDS

# A city whose edge has a notch: the street at y = 500 runs inside for x in [0, 300] and touches the notch's
# tip at (700, 500), so its clip is a GeometryCollection (a line and a point).
NOTCHED = Polygon([(0, 0), (1000, 0), (700, 500), (300, 300), (300, 1000), (0, 1000)])
XS = [-500.0, 500.0, 1500.0]
# Row 0 (a 40 m main road) lies outside: empty clips. Row 1 (16 m) is the notch. Row 2 (19 m) runs just
# outside the top edge: its reserve overlaps the city by 5.5 m but its centre-line's clip is empty, which
# line_merge turns into an empty GeometryCollection (seed 2026's crash). Row 3's 13 m strip only touches the
# top edge (y = 1000) along a line, so its clip is lower-dimension (a LineString, no area).
YS = [-2000.0, 500.0, 1004.0, 1006.5]


def _grid() -> np.ndarray:
    return np.array([[(x, y) for x in XS] for y in YS], dtype=float)


def test_the_notch_really_gives_collections_and_lines():
    """The constructed cases do produce what crashed the generator (else the test below proves nothing)."""
    street = LineString([(XS[0], YS[1]), (XS[-1], YS[1])])
    assert shapely.intersection(street, NOTCHED).geom_type == "GeometryCollection"
    beside = LineString([(XS[0], YS[2]), (XS[-1], YS[2])])
    assert shapely.intersection(beside.buffer(19 / 2, cap_style="flat"), NOTCHED).area > 100
    assert shapely.line_merge(shapely.intersection(beside, NOTCHED)).geom_type == "GeometryCollection"
    edge = LineString([(XS[0], YS[3]), (XS[-1], YS[3])]).buffer(13 / 2, cap_style="flat")
    assert shapely.intersection(edge, NOTCHED).geom_type == "LineString"
    outside = LineString([(XS[0], YS[0]), (XS[-1], YS[0])]).buffer(20, cap_style="flat")
    assert shapely.intersection(outside, NOTCHED).is_empty


def test_road_clipping_copes_with_collections_empty_and_line_results():
    roads, centrelines, row_names = _roads(_grid(), NOTCHED)
    by_name = {r["road_name"]: r for r in roads}
    # Rows 1 and 2 and column 1; the roads outside and the one touching the edge along a line have none.
    assert set(by_name) == {"Đường số 1", "Đường số 2", "Đường số 3"}
    assert row_names == {1: "Đường số 1", 2: "Đường số 2"}
    for road in roads:
        assert road["geom"].geom_type in ("Polygon", "MultiPolygon") and road["geom"].is_valid
        assert road["geom"].area > 100
    lines = {c["road_name"]: c["geom"] for c in centrelines}
    assert set(lines) == {"Đường số 1", "Đường số 3"}  # row 2's centre-line lies outside the city: none
    assert all(g.geom_type == "MultiLineString" and not g.is_empty for g in lines.values())
    assert lines["Đường số 1"].length == pytest.approx(300.0)  # the line inside; the tip's point dropped
    assert lines["Đường số 3"].length == pytest.approx(400.0)
    for name, line in lines.items():  # every centre-line lies in its own reserve
        assert by_name[name]["geom"].buffer(0.01).covers(line)


@pytest.mark.parametrize("result, area, parts", [
    (GeometryCollection([Polygon([(0, 0), (1, 0), (1, 1)]), Point(5, 5), LineString([(2, 2), (3, 3)])]), 0.5, 1),
    (GeometryCollection([MultiPolygon([Polygon([(0, 0), (1, 0), (1, 1)]), Polygon([(3, 0), (4, 0), (4, 1)])]),
                         GeometryCollection([Point(9, 9)])]), 1.0, 2),
    (GeometryCollection(), 0.0, 0),
    (LineString([(0, 0), (1, 1)]), 0.0, 0),
    (Point(1, 1), 0.0, 0),
    (Polygon(), 0.0, 0),
])
def test_polygonal_keeps_only_polygons_of_any_result(result, area, parts):
    shape = polygonal(result)
    assert shape.geom_type in ("Polygon", "MultiPolygon")
    assert shape.area == pytest.approx(area)
    assert len(shapely.get_parts(shape)) == parts if parts else shape.is_empty
    assert main_polygon(result).geom_type == "Polygon"
    assert main_polygon(result).is_empty == (parts == 0)


def test_lineal_merges_lines_and_drops_points():
    result = GeometryCollection([LineString([(0, 0), (1, 0)]), LineString([(1, 0), (2, 0)]), Point(7, 7),
                                 Polygon([(5, 5), (6, 5), (6, 6)])])
    line = lineal(result)
    assert line.geom_type == "MultiLineString" and len(line.geoms) == 1 and line.length == pytest.approx(2.0)
    assert lineal(Point(0, 0)).is_empty and lineal(GeometryCollection()).geom_type == "MultiLineString"


# 2026 and 3 and 42 crashed before; 2021 is `make run`'s, 7 the tests'; 2027 is bench/ingest's other city.
@pytest.mark.parametrize("seed", [2026, 2021, 7, 3, 42, 2027, 99])
def test_the_whole_generator_on_many_seeds(seed):
    city = generate_city(parcels=300, seed=seed, zones=30)
    parcels = city.parcels["geom"]
    assert len(parcels) >= 300
    assert all(len(column) == len(parcels) for column in city.parcels.values())
    assert set(shapely.get_type_id(parcels)) == {3}  # Polygons only
    assert shapely.is_valid(parcels).all() and not shapely.is_empty(parcels).any()
    assert (city.parcels["legal_area"] >= 20.0).all()
    keys = Counter(zip(city.parcels["ward_code"], city.parcels["map_sheet"], city.parcels["parcel_no"]))
    assert max(keys.values()) == 1
    assert shapely.area(parcels).sum() < city.boundary.area  # parcels tile blocks inside the city, streets between
    assert city.boundary.geom_type == "Polygon" and city.boundary.is_valid
    assert len(city.wards) == len(FORMER_WARDS)
    wards = [w["geom"] for w in city.wards]
    assert all(g.geom_type in ("Polygon", "MultiPolygon") and g.is_valid and not g.is_empty for g in wards)
    assert shapely.union_all(wards).symmetric_difference(city.boundary).area < 1.0  # wards tile the city
    assert len(city.roads) > 50 and len(city.centrelines) > 50
    assert all(r["geom"].geom_type in ("Polygon", "MultiPolygon") and r["geom"].is_valid for r in city.roads)
    assert all(c["geom"].geom_type == "MultiLineString" and not c["geom"].is_empty for c in city.centrelines)
    assert len(city.zones) > 10 and all(z["geom"].geom_type == "Polygon" and z["geom"].is_valid for z in city.zones)
    assert [w["name"] for w in city.water] == ["Sông Sài Gòn", "Sông Đồng Nai"]
    assert all(w["geom"].geom_type == "Polygon" and not w["geom"].is_empty for w in city.water)
    grid = city.elevation[0]
    assert grid.ndim == 2 and (grid > -9999).any()


def test_seed_2026_writes_its_files(tmp_path):
    """The seed bench/ingest uses goes all the way to files (reserves as a Shapefile need one geometry family)."""
    import pyogrio

    from demo.files import write_files

    paths = write_files(generate_city(parcels=300, seed=2026, zones=30), tmp_path)
    assert pyogrio.read_info(paths["parcels"])["features"] >= 300
    assert pyogrio.read_info(paths["road-reserves"])["features"] > 50
    assert pyogrio.read_info(paths["roads"])["geometry_type"] == "MultiLineString"
