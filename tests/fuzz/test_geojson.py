"""GeoJSON geometry input (editor.geojson.parse_geometry): a valid WGS 84 geometry or a 4xx, never another error."""
from hypothesis import given
from hypothesis import strategies as st

from editor.geojson import ALLOWED_TYPES, parse_geometry
from tests.fuzz.test_params import refused

NUMBER = st.floats() | st.integers(-10**20, 10**20) | st.sampled_from([106.7, 10.8, 180.0, -90.0])
ODD = st.none() | st.booleans() | st.text(max_size=4) | st.dictionaries(st.text(max_size=3), st.integers(), max_size=2)
POSITION = st.lists(NUMBER, min_size=0, max_size=4) | ODD
NESTED = st.recursive(POSITION, lambda inner: st.lists(inner, max_size=5) | ODD, max_leaves=40)
TYPE = st.sampled_from(sorted(ALLOWED_TYPES) + ["GeometryCollection", "Feature", "point"]) | ODD | st.lists(st.text(max_size=3))
GEOMETRY = st.fixed_dictionaries({"type": TYPE, "coordinates": NESTED}, optional={"bbox": NESTED, "crs": ODD})
LONLAT = st.tuples(st.floats(-180, 180), st.floats(-90, 90))


@given(GEOMETRY | ODD | NESTED)
def test_any_value_is_a_geometry_or_refused(value):
    geom = refused(parse_geometry, value)
    if geom is not None:
        assert geom.srid == 4326
        west, south, east, north = geom.extent
        assert -180 <= west <= east <= 180 and -90 <= south <= north <= 90


@given(st.lists(LONLAT, min_size=3, max_size=30))
def test_rings_and_lines_round_trip(points):
    line = parse_geometry({"type": "LineString", "coordinates": [list(p) for p in points]})
    assert [tuple(c) for c in line.coords] == points
    ring = [list(p) for p in points] + [list(points[0])]
    polygon = refused(parse_geometry, {"type": "Polygon", "coordinates": [ring]})
    assert polygon is None or polygon.geom_type == "Polygon"
