"""QGIS 3.22 (the desktop client the field uses) loads the platform's vector tiles and its MapLibre style
from a live server: the layer is valid, the style converts to QGIS rules, a map renders, and a tile fetched
through QGIS's own network stack holds as many features as PostGIS puts in that tile."""
import pytest
from django.db import connection

from tests.clients import needs_qgis, qgis
from tests.tiles.test_vector_tiles import tile_at

pytestmark = [needs_qgis, pytest.mark.django_db(transaction=True)]

MARGIN = 64 / 4096  # the tiles' buffer (tiles.mvt.MARGIN)


def _postgis_count(layer_id: int, z: int, x: int, y: int) -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM layers_feature WHERE layer_id = %s AND ST_Intersects("
                       "ST_Transform(geom, 3857), ST_TileEnvelope(%s, %s, %s, margin => %s))",
                       [layer_id, z, x, y, MARGIN])
        return cursor.fetchone()[0]


def _busy_parcel_tile(demo_city):
    """A z16 tile over the first parcel."""
    from layers.models import Feature

    centre = Feature.objects.filter(layer=demo_city["parcels"]).order_by("id").first().geom.point_on_surface
    return tile_at(centre.x, centre.y, 16)


def test_qgis_reads_the_vector_tiles_with_postgis_counts(live_server, demo_city):
    tile = _busy_parcel_tile(demo_city)
    expected = _postgis_count(demo_city["parcels"].pk, tile.z, tile.x, tile.y)
    assert expected > 0
    url = f"{live_server.url}/tiles/parcels/{{z}}/{{x}}/{{y}}.pbf"
    tile_url = f"{live_server.url}/tiles/parcels/{tile.z}/{tile.x}/{tile.y}.pbf"

    result = qgis(f"""
        import tempfile
        from qgis.core import QgsVectorTileLayer, QgsNetworkAccessManager, QgsVectorLayer
        from qgis.PyQt.QtCore import QUrl
        from qgis.PyQt.QtNetwork import QNetworkRequest
        layer = QgsVectorTileLayer("type=xyz&url={url}&zmin=15&zmax=22", "parcels")
        reply = QgsNetworkAccessManager.instance().blockingGet(QNetworkRequest(QUrl("{tile_url}")))
        path = tempfile.mktemp(suffix=".pbf")
        with open(path, "wb") as out:
            out.write(bytes(reply.content()))
        decoded = QgsVectorLayer(path + "|layername=parcels", "tile", "ogr")
        features = list(decoded.getFeatures())
        emit({{"valid": layer.isValid(), "min": layer.sourceMinZoom(), "max": layer.sourceMaxZoom(),
               "status": reply.attribute(QNetworkRequest.HttpStatusCodeAttribute),
               "decoded_valid": decoded.isValid(), "count": len(features),
               "fields": [f.name() for f in decoded.fields()],
               "land_use": sorted({{str(f["land_use"]) for f in features}})}})
        sys.stdout.flush()  # QGIS 3.22 may crash on exit with layers alive: keep what was emitted
        del features, decoded, layer
    """)

    assert result["valid"] and (result["min"], result["max"]) == (15, 22)
    assert result["status"] == 200 and result["decoded_valid"]
    assert result["count"] == expected
    assert {"parcel_no", "land_use"} <= set(result["fields"])


def test_qgis_loads_the_style_and_renders_it(live_server, demo_city):
    tile = _busy_parcel_tile(demo_city)
    style_url = f"{live_server.url}/tiles/style.json"
    url = f"{live_server.url}/tiles/parcels/{{z}}/{{x}}/{{y}}.pbf"

    result = qgis(f"""
        from qgis.core import (QgsVectorTileLayer, QgsMapSettings, QgsMapRendererSequentialJob, QgsTileMatrix,
                               QgsTileXYZ, QgsCoordinateReferenceSystem)
        from qgis.PyQt.QtCore import QSize
        from qgis.PyQt.QtGui import QColor
        layer = QgsVectorTileLayer("type=xyz&url={url}&zmin=15&zmax=22&styleUrl={style_url}", "parcels")
        message, loaded = layer.loadDefaultStyle()
        names = [style.styleName() for style in layer.renderer().styles()]
        settings = QgsMapSettings()
        settings.setLayers([layer])
        settings.setDestinationCrs(QgsCoordinateReferenceSystem("EPSG:3857"))
        settings.setExtent(QgsTileMatrix.fromWebMercator({tile.z}).tileExtent(QgsTileXYZ({tile.x}, {tile.y}, {tile.z})))
        settings.setOutputSize(QSize(256, 256))
        settings.setBackgroundColor(QColor(255, 255, 255))
        job = QgsMapRendererSequentialJob(settings)
        job.start()
        job.waitForFinished()
        image = job.renderedImage()
        painted = sum(1 for i in range(0, 256, 4) for j in range(0, 256, 4)
                      if QColor(image.pixel(i, j)).name() != "#ffffff")
        emit({{"valid": layer.isValid(), "loaded": loaded, "message": message, "styles": names,
               "painted": painted}})
        sys.stdout.flush()
        del job, settings, layer
    """)

    assert result["valid"] and result["loaded"], result["message"]
    assert any("parcels" in name for name in result["styles"]), result["styles"]
    assert result["painted"] > 100
