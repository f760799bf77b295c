"""Every public demo layer in every file format, read by the system's GDAL 3.6 (ogrinfo): the right geometry type,
the platform's feature ids, dates as dates, GeoPackage 1.2."""
import io
import re
import sqlite3
import zipfile
from pathlib import Path

import pytest

from tests.clients import gdal, needs_gdal

pytestmark = [pytest.mark.django_db, needs_gdal]

PUBLIC_VECTOR = ["admin-units", "planning-zones", "road-reserves", "roads", "water", "parcels"]
FILE_FORMATS = ["gpkg", "shp.zip", "csv", "kml", "fgb"]  # GeoParquet: no Parquet driver in GDAL 3.6 (test_bulk_formats)


def body(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


def save(client, url: str, folder: Path, name: str) -> Path:
    response = client.get(url)
    assert response.status_code == 200, response.content[:300]
    folder.mkdir(parents=True, exist_ok=True)
    if name.endswith(".shp.zip"):
        zipfile.ZipFile(io.BytesIO(body(response))).extractall(folder)
        return folder / name.replace(".shp.zip", ".shp")
    path = folder / name
    path.write_bytes(body(response))
    return path


def summary(path: Path) -> str:
    return gdal("ogrinfo", "-ro", "-so", "-al", str(path))


def geometry_type(info: str) -> str:
    return re.search(r"^Geometry: (.+)$", info, re.M)[1]


@pytest.mark.parametrize("fmt", FILE_FORMATS)
@pytest.mark.parametrize("slug", PUBLIC_VECTOR)
def test_gdal_reports_the_catalogued_geometry_type(client, demo_city, tmp_path, slug, fmt):
    layer = demo_city[slug]
    info = summary(save(client, f"/data/{slug}.{fmt}", tmp_path, f"{slug}.{fmt}"))
    assert f"Feature Count: {layer.feature_count}" in info
    expected = layer.geometry_type
    if fmt == "shp.zip":  # a Shapefile has no single/multi distinction: GDAL says Polygon for both
        expected = expected.removeprefix("Multi")
    if fmt == "kml":
        # KML has no layer geometry type: GDAL's default reader (LIBKML) says "Unknown (any)" for any KML,
        # its KML driver reads the placemarks' type.
        info = gdal("ogrinfo", "--config", "GDAL_SKIP", "LIBKML", "-ro", "-so", "-al", str(tmp_path / f"{slug}.kml"))
    assert geometry_type(info) == ogr_name(expected), (slug, fmt)


def ogr_name(geometry_type: str) -> str:
    """'MultiLineString' as ogrinfo writes it: 'Multi Line String'."""
    return re.sub(r"(?<=[a-z])(?=[A-Z])", " ", geometry_type)


def test_road_reserves_are_catalogued_and_stored_multi(demo_city):
    from layers.models import Feature

    layer = demo_city["road-reserves"]
    assert layer.geometry_type == "MultiPolygon"
    kinds = set(Feature.objects.filter(layer=layer).values_list("geom", flat=True).iterator())
    assert {g.geom_type for g in kinds} == {"MultiPolygon"}


@pytest.mark.parametrize("fmt", FILE_FORMATS)
def test_feature_ids_survive_every_format(client, demo_city, tmp_path, fmt):
    from layers.models import Feature

    ids = sorted(Feature.objects.filter(layer=demo_city["water"]).values_list("id", flat=True))
    assert ids[0] > 1 or len(ids) > 1  # ids that numbering 1, 2, … would not reproduce
    path = save(client, f"/data/water.{fmt}", tmp_path, f"water.{fmt}")
    text = gdal("ogrinfo", "-ro", "-al", str(path))
    if fmt == "gpkg":  # the platform's id is the GeoPackage fid
        assert "FID Column = feature_id" in text
        assert sorted(int(n) for n in re.findall(r"^OGRFeature\(water\):(\d+)$", text, re.M)) == ids
    else:
        assert sorted(int(n) for n in re.findall(r"^  feature_id \(\w+\) = (\d+)$", text, re.M)) == ids
    if fmt == "kml":
        placemarks = re.findall(r'<Placemark id="water\.(\d+)">', path.read_text())
        assert sorted(int(n) for n in placemarks) == ids


@pytest.mark.parametrize("fmt, expected", [("gpkg", "Date"), ("shp.zip", "Date"), ("csv", "String")])
def test_dates_are_dates(client, demo_city, tmp_path, fmt, expected):
    path = save(client, f"/data/admin-units.{fmt}", tmp_path, f"admin-units.{fmt}")
    assert re.search(rf"^valid_from: {expected} ", summary(path), re.M)
    values = re.findall(r"^  valid_from \(\w+\) = (\S+)$", gdal("ogrinfo", "-ro", "-al", str(path)), re.M)
    assert values and all(re.fullmatch(r"\d{4}[-/]\d{2}[-/]\d{2}", v) for v in values)
    if fmt == "csv":  # ISO text: a spreadsheet and GDAL read the same day
        assert all(re.fullmatch(r"\d{4}-\d{2}-\d{2}", v) for v in values)


def test_geopackage_is_version_1_2(client, parcels, tmp_path):
    path = save(client, "/data/parcels.gpkg", tmp_path, "parcels.gpkg")
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == 10200
    result = gdal("ogrinfo", "-ro", "-so", str(path), "parcels")
    assert "Feature Count: 5" in result


@pytest.mark.parametrize("fmt", FILE_FORMATS)
def test_an_empty_result_keeps_the_layer_geometry_type(client, parcels, tmp_path, fmt):
    # A box with no parcel in it: the file still says Polygon (it was a LineString Shapefile).
    path = save(client, f"/data/parcels.{fmt}?bbox=106.0,10.0,106.01,10.01", tmp_path, f"parcels.{fmt}")
    info = summary(path)
    assert "Feature Count: 0" in info
    if fmt != "kml":  # an empty KML folder has no geometry to tell
        assert geometry_type(info) == "Polygon"
    if fmt == "csv":
        assert path.read_text(encoding="utf-8-sig").startswith("_WKT_POLYGON,feature_id,")


@pytest.mark.parametrize("fmt", FILE_FORMATS)
def test_a_layer_mixing_kinds(client, tmp_path, fmt):
    """Points and polygons in one layer: a GeoPackage says so (Unknown); a Shapefile cannot hold them: a clear 400."""
    from tests.factories import make_feature, make_layer, square

    layer = make_layer(slug="mix", geometry_type="Geometry")
    make_feature(layer, square(106.7, 10.8), {"tên": "Khu A"})
    make_feature(layer, "POINT(106.71 10.81)", {"tên": "Giếng"})
    response = client.get(f"/data/mix.{fmt}")
    if fmt == "shp.zip":
        assert response.status_code == 400
        error = response.json()
        assert "GeoPackage" in str(error) and "Shapefile" in str(error)
        return
    assert response.status_code == 200
    path = tmp_path / f"mix.{fmt}"
    path.write_bytes(body(response))
    assert "Feature Count: 2" in summary(path)


@pytest.mark.parametrize("fmt, crs", [("gpkg", 4326), ("shp.zip", 9210), ("csv", 4326), ("gpkg", 3405)])
def test_a_download_comes_back_through_ingest(client, parcels, tmp_path, fmt, crs):
    """Downloaded, edited elsewhere, loaded again: the feature_id column is the platform's, not a field."""
    from ingest.services import ingest_file
    from layers.models import Feature, Layer

    response = client.get(f"/data/parcels.{fmt}?crs={crs}")
    path = tmp_path / f"back.{fmt}"
    path.write_bytes(body(response))
    declared = {"crs": f"EPSG:{crs}"} if fmt == "csv" else {}  # a CSV carries no CRS: the user says which
    run = ingest_file(path=path, layer="back", mode="create", **declared)
    back = Layer.objects.get(slug="back")
    assert Feature.objects.filter(layer=back).count() == 5, run
    assert "feature_id" not in {spec["name"] for spec in back.schema}
    assert back.geometry_type in ("Polygon", "MultiPolygon")
    ingest_file(path=path, layer=parcels, mode="replace", **declared)  # the schema'd layer takes its own file back
    assert not Feature.objects.filter(layer=parcels, properties__has_key="feature_id").exists()
    assert Feature.objects.filter(layer=parcels).count() == 5


@pytest.mark.parametrize("fmt", FILE_FORMATS)
def test_a_layer_holding_a_geometry_collection(client, tmp_path, fmt):
    """A 'Geometry' layer may hold a GeometryCollection: every format but Shapefile writes it; a Shapefile is a 400."""
    from tests.factories import make_feature, make_layer

    layer = make_layer(slug="gc", geometry_type="Geometry")
    make_feature(layer, "GEOMETRYCOLLECTION(POINT(106.7 10.78), LINESTRING(106.7 10.78, 106.71 10.79))", {"tên": "A"})
    response = client.get(f"/data/gc.{fmt}")
    if fmt == "shp.zip":
        assert response.status_code == 400
        assert "GeoPackage" in str(response.json()) and "tập hình học" in str(response.json())
        return
    assert response.status_code == 200
    path = tmp_path / f"gc.{fmt}"
    path.write_bytes(body(response))
    assert "Feature Count: 1" in summary(path)
