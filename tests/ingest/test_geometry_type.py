"""A new layer's geometry type comes from its rows too: a file mixing Polygon and MultiPolygon is catalogued Multi."""
import geopandas as gpd
import pytest
import shapely

from ingest.services import ingest_file
from layers.models import Feature, Layer

pytestmark = pytest.mark.django_db

ONE = shapely.box(106.70, 10.80, 106.701, 10.801)
TWO = shapely.MultiPolygon([shapely.box(106.71, 10.80, 106.711, 10.801), shapely.box(106.72, 10.80, 106.721, 10.801)])


def write(tmp_path, name: str, geoms: list, **kwargs):
    path = tmp_path / name
    gpd.GeoDataFrame({"tên": [f"ô {i}" for i in range(len(geoms))]}, geometry=geoms, crs=4326).to_file(path, **kwargs)
    return path


@pytest.mark.parametrize("name", ["mixed.shp", "mixed.geojson", "mixed.gpkg"])
def test_mixed_polygons_make_a_multipolygon_layer(tmp_path, name):
    ingest_file(path=write(tmp_path, name, [ONE, TWO, ONE]), layer="mixed", mode="create")
    layer = Layer.objects.get(slug="mixed")
    assert layer.geometry_type == "MultiPolygon"
    stored = [f.geom.geom_type for f in Feature.objects.filter(layer=layer)]
    assert stored == ["MultiPolygon"] * 3  # stored as the one catalogued type


def test_single_polygons_stay_polygon(tmp_path):
    ingest_file(path=write(tmp_path, "single.shp", [ONE, ONE]), layer="single", mode="create")
    assert Layer.objects.get(slug="single").geometry_type == "Polygon"


def test_a_geojson_of_one_kind_is_catalogued_so(tmp_path):
    points = [shapely.Point(106.7, 10.8), shapely.Point(106.71, 10.81)]
    ingest_file(path=write(tmp_path, "wells.geojson", points), layer="wells", mode="create")
    assert Layer.objects.get(slug="wells").geometry_type == "Point"
