"""Bad input: each a clear error with nothing changed (the layer keeps its rows, no run leaves partial data)."""
import threading
import zipfile

import numpy as np
import pytest
import rasterio
from django.db import connection, connections
from django.test import override_settings
from rasterio.transform import from_origin

from ingest.loader import LOCK_NAMESPACE
from ingest.raster import ingest_raster
from ingest.services import ingest_file
from layers.errors import IngestRejected
from layers.models import Feature
from tests.factories import make_feature, make_layer, make_parcel_layer, square
from tests.ingest.conftest import parcels_frame, shapefile_members, write, zip_files

pytestmark = pytest.mark.django_db


@pytest.fixture
def layer():
    layer = make_parcel_layer(slug="kept")
    make_feature(layer, square(106.7, 10.8), {"ward_code": "1", "map_sheet": 1, "parcel_no": 1, "land_use": "ODT",
                                               "legal_area": 1.0})
    return layer


def refused(path, layer, match, **kwargs):
    before = list(Feature.objects.filter(layer=layer).values_list("id", "version", "geom", "properties"))
    with pytest.raises(IngestRejected, match=match) as error:
        ingest_file(path=path, layer=layer, **kwargs)
    assert error.value.message_vi and error.value.message_en
    assert list(Feature.objects.filter(layer=layer).values_list("id", "version", "geom", "properties")) == before
    return error.value


def test_zip_with_parent_or_absolute_paths(tmp_path, layer):
    refused(zip_files(tmp_path / "slip.zip", {"../../etc/evil.shp": b"x"}), layer, "unsafe path")
    refused(zip_files(tmp_path / "abs.zip", {"/tmp/evil.gpkg": b"x"}), layer, "unsafe path")
    assert not (tmp_path.parent / "etc").exists()


def test_zip_bomb_by_ratio_and_by_size(tmp_path, layer):
    bomb = tmp_path / "bomb.zip"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("a.geojson", b"{" + b" " * (50 * 1024 * 1024))
    assert bomb.stat().st_size < 200_000
    refused(bomb, layer, "expands beyond the limits")
    small = zip_files(tmp_path / "big.zip", {"a.geojson": b'{"type": "FeatureCollection"' + bytes(range(256)) * 8000})
    with override_settings(INGEST_MAX_EXPANDED_BYTES=1000):
        refused(small, layer, "expands beyond the limits")


def test_upload_over_the_size_limit(parcels_gpkg, layer):
    with override_settings(INGEST_MAX_UPLOAD_BYTES=1000):
        refused(parcels_gpkg, layer, "too large")


@pytest.mark.parametrize("name,content", [
    ("fake.gpkg", b"<OGRVRTDataSource><OGRVRTLayer name='x'><SrcDataSource>/etc/passwd</SrcDataSource></OGRVRTLayer></OGRVRTDataSource>"),
    ("fake.shp", b"PK\x03\x04 not a shapefile"),
    ("fake.geojson", b"<?xml version='1.0'?><OGRVRTDataSource/>"),
    ("fake.csv", b"<OGRVRTDataSource/>"),
    ("fake.kml", b'{"type": "FeatureCollection", "features": []}'),
    ("fake.dxf", b"0\nSECTION\n"),
])
def test_file_not_what_its_extension_says(tmp_path, layer, name, content):
    path = tmp_path / name
    path.write_bytes(content)
    refused(path, layer, "not what its extension|Unsupported format")


def test_shapefile_without_shx_or_dbf(tmp_path, layer):
    path = write(parcels_frame(1), tmp_path / "lone.shp")
    path.with_suffix(".shx").unlink()
    refused(path, layer, r"lacks its \.shx")
    archive = zip_files(tmp_path / "nodbf.zip", {k: v for k, v in shapefile_members(tmp_path, "lone").items()
                                                 if not k.endswith(".dbf")})
    refused(archive, layer, r"lacks its \.shx, \.dbf")


def test_no_crs_refused_naming_candidates(tmp_path, layer):
    path = write(parcels_frame(1, crs=None), tmp_path / "noprj.shp")
    assert not path.with_suffix(".prj").exists()
    error = refused(path, layer, "declares no coordinate reference system")
    assert "EPSG:9210" in error.message_en and "--crs" in error.message_en


def test_empty_file_and_file_without_features(tmp_path, layer):
    empty = tmp_path / "empty.geojson"
    empty.write_bytes(b"")
    refused(empty, layer, "is empty")
    none = tmp_path / "none.geojson"
    none.write_text('{"type": "FeatureCollection", "features": []}')
    refused(none, layer, "holds no features")


@pytest.mark.parametrize("path", ["/vsicurl/http://example.com/a.gpkg", "http://example.com/a.gpkg",
                                  "/vsizip//tmp/a.zip/a.shp"])
def test_remote_paths_refused(layer, path):
    refused(path, layer, "Only local files")


@pytest.mark.parametrize("crs", ["http://example.com/crs.prj", "/etc/passwd", "/vsicurl/http://x",
                                 "+proj=longlat +nadgrids=/etc/passwd +type=crs"])
def test_remote_crs_strings_refused(parcels_gpkg, layer, crs):
    refused(parcels_gpkg, layer, "not a path or URL", crs=crs)


XXE = """<?xml version="1.0"?>
<!DOCTYPE kml [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<kml xmlns="http://www.opengis.net/kml/2.2"><Placemark><name>&xxe;</name>
<Point><coordinates>106.7,10.8</coordinates></Point></Placemark></kml>"""
BILLION = """<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>
<kml xmlns="http://www.opengis.net/kml/2.2"><Placemark><name>&lol2;</name></Placemark></kml>"""


@pytest.mark.parametrize("text", [XXE, BILLION])
def test_kml_with_entities_refused_before_gdal(tmp_path, layer, text):
    path = tmp_path / "evil.kml"
    path.write_text(text)
    refused(path, layer, "DOCTYPE or ENTITY")
    kmz = zip_files(tmp_path / "evil.kmz", {"doc.kml": text.encode()})
    refused(kmz, layer, "DOCTYPE or ENTITY")


def test_second_ingest_into_a_locked_layer_is_refused(parcels_gpkg, layer):
    """Another session holds the layer's ingest lock (as a running ingest does): refused, nothing interleaved."""
    other = connections.create_connection("default")
    try:
        with other.cursor() as cursor:
            cursor.execute("BEGIN")
            cursor.execute("SELECT pg_advisory_xact_lock(%s, hashtext(%s))", [LOCK_NAMESPACE, layer.slug])
            refused(parcels_gpkg, layer, "Another ingest into layer kept is running")
            cursor.execute("ROLLBACK")
    finally:
        other.close()
    assert ingest_file(path=parcels_gpkg, layer=layer).loaded_count == 3


def _tiff(path, width=32, height=32):
    profile = {"driver": "GTiff", "width": width, "height": height, "count": 1, "dtype": "float32",
               "crs": "EPSG:9210", "transform": from_origin(612000, 1196000, 25, 25), "nodata": -9999.0}
    with rasterio.open(path, "w", **profile) as dst:
        if width * height <= 1_000_000:
            dst.write(np.arange(width * height, dtype="float32").reshape(height, width), 1)
    return path


def test_raster_vrt_renamed_tif_and_huge_declared_size_refused(tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path / "media"
    raster = make_layer(kind="raster", geometry_type="", slug="dem")
    vrt = tmp_path / "dem.tif"
    vrt.write_text('<VRTDataset rasterXSize="10" rasterYSize="10"><VRTRasterBand band="1">'
                   '<SimpleSource><SourceFilename>/etc/passwd</SourceFilename></SimpleSource></VRTRasterBand></VRTDataset>')
    with pytest.raises(IngestRejected, match="not what its extension"):
        ingest_raster(path=vrt, layer=raster)
    huge = tmp_path / "huge.tif"
    with rasterio.open(huge, "w", driver="GTiff", width=100_000, height=100_000, count=1, dtype="uint8",
                       crs="EPSG:9210", transform=from_origin(612000, 1196000, 1, 1), sparse_ok=True,
                       tiled=True, compress="deflate"):
        pass
    assert huge.stat().st_size < 10_000_000
    with pytest.raises(IngestRejected, match="100000×100000 pixels"):
        ingest_raster(path=huge, layer=raster)
    raster.refresh_from_db()
    assert raster.raster_path == ""
    ingest_raster(path=_tiff(tmp_path / "ok.tif"), layer=raster)
    raster.refresh_from_db()
    assert raster.raster_path.startswith("rasters/dem-") and raster.raster_info["max"] > 0
    assert 106 < raster.extent.centroid.x < 107.2 and 10 < raster.extent.centroid.y < 11.5


@pytest.mark.django_db(transaction=True)
def test_background_ingest_waits_its_turn_on_a_locked_layer(parcels_gpkg):
    """Upload jobs queue on the layer's lock instead of failing; they never interleave with the running one."""
    layer = make_parcel_layer(slug="queued")
    other = connections.create_connection("default")
    results = []

    def job():
        try:
            results.append(ingest_file(path=parcels_gpkg, layer=layer, mode="replace", wait_for_lock=True).loaded_count)
        finally:
            connection.close()

    with other.cursor() as cursor:
        cursor.execute("BEGIN")
        cursor.execute("SELECT pg_advisory_xact_lock(%s, hashtext(%s))", [LOCK_NAMESPACE, layer.slug])
        worker = threading.Thread(target=job)
        worker.start()
        worker.join(timeout=1.0)
        assert worker.is_alive() and not Feature.objects.filter(layer=layer).exists()  # waiting, nothing written
        cursor.execute("ROLLBACK")
    other.close()
    worker.join(timeout=120)
    assert results == [3] and Feature.objects.filter(layer=layer).count() == 3


KILL_MID_WAY = """
import os, signal, sys, django
django.setup()
import ingest.services as services
from ingest.services import ingest_file
services.CHUNK_SIZE = 2
calls = []
def progress(done, total):
    calls.append(done)
    if len(calls) == 2:  # the first chunk is in the layer (inside the open transaction): die now
        os.kill(os.getpid(), signal.SIGKILL)
ingest_file(path=sys.argv[1], layer=sys.argv[2], mode="replace", progress=progress)
"""


@pytest.mark.django_db(transaction=True)
def test_process_killed_mid_way_leaves_the_layer_as_it_was(tmp_path):
    import os
    import subprocess
    import sys

    from django.conf import settings as django_settings

    from ingest.jobs import reap_if_dead
    from ingest.models import IngestRun

    layer = make_parcel_layer(slug="killed")
    make_feature(layer, square(106.7, 10.8), {"ward_code": "1", "map_sheet": 1, "parcel_no": 1, "land_use": "ODT",
                                               "legal_area": 1.0})
    before = list(Feature.objects.filter(layer=layer).values_list("id", "version", "properties"))
    path = write(parcels_frame(6), tmp_path / "six.gpkg")
    env = {**os.environ, "GISPORTAL_DB_NAME": connection.settings_dict["NAME"],
           "DJANGO_SETTINGS_MODULE": "gisportal.settings", "PYTHONPATH": str(django_settings.BASE_DIR)}
    result = subprocess.run([sys.executable, "-c", KILL_MID_WAY, str(path), "killed"], env=env,
                            cwd=django_settings.BASE_DIR, capture_output=True, text=True)
    assert result.returncode == -9, result.stderr[-2000:]
    assert list(Feature.objects.filter(layer=layer).values_list("id", "version", "properties")) == before
    run = IngestRun.objects.get(layer_slug="killed")
    assert run.status == "running" and run.pid  # the process died before it could record anything
    assert reap_if_dead(run).status == "failed"
