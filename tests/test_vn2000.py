"""VN-2000 <-> WGS 84: the official national parameters, the same in Python and in PostGIS."""
import numpy as np
import pytest
import shapely
from django.db import connection
from pyproj import CRS, Geod, Transformer
from pyproj.transformer import TransformerGroup

from layers.vn2000 import TOWGS84, crs_for, transformer, vn2000_srid

GEOD = Geod(ellps="WGS84")
# Points across Thu Duc in VN-2000 / TM-3 105-45 metres (easting, northing).
POINTS = [(600000.0, 1190000.0), (612345.6, 1195432.1), (620000.0, 1205000.0), (598000.0, 1188000.0)]


def _metres(a, b) -> float:
    return GEOD.inv(a[0], a[1], b[0], b[1])[2]


def _official() -> Transformer:
    """EPSG's own 'VN-2000 to WGS 84 (2)' (EPSG:6960) operation, picked by name from PROJ's database."""
    group = TransformerGroup(9210, 4326, always_xy=True)
    return next(t for t in group.transformers if "VN-2000 to WGS 84 (2)" in t.description)


def test_towgs84_uses_position_vector_signs():
    # Coordinate-frame rotations from the decision are -0.00928836, +0.01975479, -0.00427372 arc-seconds.
    assert TOWGS84 == "-191.90441429,-39.30318279,-111.45032835,0.00928836,-0.01975479,0.00427372,0.252906278"


@pytest.mark.parametrize("point", POINTS)
def test_pinned_transform_equals_epsg_6960(point):
    ours = transformer(9210, 4326).transform(*point)
    official = _official().transform(*point)
    assert _metres(ours, official) < 0.001


def test_proj_default_would_be_off_by_most_of_a_metre():
    default = Transformer.from_crs(9210, 4326, always_xy=True).transform(*POINTS[0])
    ours = transformer(9210, 4326).transform(*POINTS[0])
    assert 0.5 < _metres(ours, default) < 1.2  # EPSG:5194, what PROJ picks unpinned


@pytest.mark.django_db
@pytest.mark.parametrize("point", POINTS)
def test_postgis_uses_the_same_parameters(point):
    with connection.cursor() as cursor:
        cursor.execute("SELECT ST_X(g), ST_Y(g) FROM ST_Transform(ST_SetSRID(ST_MakePoint(%s, %s), 9210), 4326) g", point)
        in_db = cursor.fetchone()
    assert _metres(in_db, transformer(9210, 4326).transform(*point)) < 0.001


@pytest.mark.django_db
def test_postgis_round_trip_to_tm3_is_exact():
    lon, lat = 106.7621, 10.8513
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT ST_X(g), ST_Y(g) FROM ST_Transform(ST_SetSRID(ST_MakePoint(%s, %s), 4326), 9210) g", [lon, lat]
        )
        x, y = cursor.fetchone()
    expected = transformer(4326, 9210).transform(lon, lat)
    assert abs(x - expected[0]) < 0.001 and abs(y - expected[1]) < 0.001


@pytest.mark.parametrize("code", [4756, 3405, 3406, 5897, 5899, 9210, 9218])
def test_epsg_definitions_are_recognised_and_pinned(code):
    assert vn2000_srid(CRS.from_epsg(code)) == code
    assert "towgs84" in crs_for(code).to_proj4()


def test_esri_prj_of_tm3_105_45_is_recognised():
    esri = CRS.from_epsg(9210).to_wkt("WKT1_ESRI")
    assert vn2000_srid(CRS.from_wkt(esri)) == 9210


def test_wgs84_is_not_vn2000():
    assert vn2000_srid(CRS.from_epsg(4326)) is None
    assert vn2000_srid(CRS.from_epsg(32648)) is None


def test_geometry_transform_keeps_shape_and_z():
    from layers.vn2000 import transform_geometries

    geoms = np.array([shapely.Point(600000, 1190000, 5.0), shapely.box(600000, 1190000, 600010, 1190010)], dtype=object)
    out = transform_geometries(geoms, 9210, 4326)
    assert out[0].has_z and out[0].z == pytest.approx(5.0)
    assert out[1].geom_type == "Polygon" and 106.0 < out[1].centroid.x < 107.0
