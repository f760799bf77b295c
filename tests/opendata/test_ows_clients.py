"""The field's own clients read /ows from a live server: GDAL 3.6's WFS driver and QGIS 3.22 as WMS and WFS client,
with counts equal to PostGIS's and the restricted layer nowhere."""
import json
import re

import pytest
from django.db import connection

from tests.clients import gdal, needs_gdal, needs_qgis, qgis

pytestmark = pytest.mark.django_db(transaction=True)

BOX = (106.72, 10.79, 106.74, 10.81)  # lon/lat: three of the five parcels


@pytest.fixture(autouse=True)
def ows_dir(settings, tmp_path):
    settings.OWS_DIR = tmp_path / "ows"


def postgis_count(layer, box=None) -> int:
    sql = "SELECT count(*) FROM layers_feature WHERE layer_id = %s"
    params = [layer.pk]
    if box:
        sql += " AND geom && ST_MakeEnvelope(%s, %s, %s, %s, 4326)"
        params += list(box)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()[0]


@needs_gdal
def test_gdal_wfs_driver_lists_and_counts(live_server, parcels, points, secret):
    url = f"WFS:{live_server.url}/ows"
    listing = gdal("ogrinfo", "-ro", "-q", url)
    assert "ms:parcels" in listing and "ms:wells" in listing and "secret" not in listing
    info = gdal("ogrinfo", "-ro", "-so", url, "ms:parcels")
    assert f"Feature Count: {postgis_count(parcels)}" in info
    data = json.loads(gdal("ogr2ogr", "-f", "GeoJSON", "/vsistdout/", url, "ms:parcels"))
    assert len(data["features"]) == postgis_count(parcels)
    assert any("Thảo Điền" in (f["properties"].get("address") or "") for f in data["features"])
    paged = json.loads(gdal("ogr2ogr", "-f", "GeoJSON", "/vsistdout/", url, "ms:parcels",
                            "--config", "OGR_WFS_PAGE_SIZE", "2", "--config", "OGR_WFS_PAGING_ALLOWED", "ON"))
    assert sorted(f["properties"]["feature_id"] for f in paged["features"]) == \
        sorted(f["properties"]["feature_id"] for f in data["features"])
    boxed = json.loads(gdal("ogr2ogr", "-f", "GeoJSON", "/vsistdout/", url, "ms:parcels", "-spat", *map(str, BOX)))
    assert len(boxed["features"]) == postgis_count(parcels, BOX) == 3


@needs_qgis
def test_qgis_reads_wms_and_wfs(live_server, parcels, secret):
    url = f"{live_server.url}/ows"
    result = qgis(f"""
        from qgis.core import QgsRasterLayer, QgsVectorLayer, QgsRectangle, QgsFeatureRequest, QgsDataSourceUri
        wms = QgsRasterLayer("crs=EPSG:4326&format=image/png&layers=parcels&styles=&url={url}", "p", "wms")
        out = {{"wms_valid": wms.isValid()}}
        if wms.isValid():
            block = wms.dataProvider().block(1, QgsRectangle(106.7295, 10.7995, 106.7335, 10.8025), 64, 64)
            data = bytes(block.data())
            out["wms_drawn"] = sum(1 for i in range(3, len(data), 4) if data[i] != 0)
        ghost = QgsRasterLayer("crs=EPSG:4326&format=image/png&layers=secret-bunkers&styles=&url={url}", "s", "wms")
        out["ghost_valid"] = ghost.isValid()
        wfs = QgsVectorLayer("{url}?typename=ms:parcels&version=2.0.0&srsname=EPSG:4326", "w", "WFS")
        out["wfs_valid"] = wfs.isValid()
        if wfs.isValid():
            out["wfs_count"] = sum(1 for _ in wfs.getFeatures())
            request = QgsFeatureRequest().setFilterRect(QgsRectangle({BOX[0]}, {BOX[1]}, {BOX[2]}, {BOX[3]}))
            out["wfs_box"] = sum(1 for _ in wfs.getFeatures(request))
            out["fields"] = [f.name() for f in wfs.fields()]
        emit(out)
        sys.stdout.flush()  # QGIS 3.22 may crash on exit with provider layers alive: the answer is out first
        del wms, ghost, wfs
    """)
    assert result["wms_valid"] and result["wms_drawn"] > 100, result
    assert not result["ghost_valid"]
    assert result["wfs_valid"], result
    assert result["wfs_count"] == postgis_count(parcels)
    assert result["wfs_box"] == postgis_count(parcels, BOX) == 3
    assert "land_use" in result["fields"] and "chu_su_dung" not in result["fields"]


def test_owslib_reads_wms_and_wfs(live_server, parcels, points, secret):
    owslib = pytest.importorskip("owslib")  # requirements.lock pins it; a venv without it skips, not fails
    from owslib.wfs import WebFeatureService
    from owslib.wms import WebMapService

    url = f"{live_server.url}/ows"
    wms = WebMapService(url, version="1.3.0")
    assert {"parcels", "wells"} <= set(wms.contents) and "secret-bunkers" not in wms.contents
    assert wms["parcels"].title == "Thửa đất" and "EPSG:9210" in wms["parcels"].crsOptions
    image = wms.getmap(layers=["parcels"], styles=[""], srs="EPSG:4326",
                       bbox=(106.7295, 10.7995, 106.7335, 10.8025),  # x/y: OWSLib sends 1.3.0's lat/lon itself
                       size=(64, 64), format="image/png", transparent=True)
    assert image.read()[:8] == b"\x89PNG\r\n\x1a\n"
    wfs = WebFeatureService(url, version="2.0.0")
    assert "ms:parcels" in wfs.contents and not any("secret" in name for name in wfs.contents)
    response = wfs.getfeature(typename=["ms:parcels"], outputFormat="application/json")
    data = json.loads(response.read())
    assert len(data["features"]) == postgis_count(parcels) == data["numberMatched"]
    assert owslib.__version__
