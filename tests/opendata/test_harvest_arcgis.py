"""The ArcGIS REST reader. There is no ArcGIS server to be had here: these tests run the reader's parsing and
paging against a small local HTTP server that answers with ArcGIS-shaped JSON (layer metadata, /query pages with
exceededTransferLimit, returnIdsOnly, an error object) — NOT a real ArcGIS server."""
import http.server
import json
import threading
from urllib.parse import parse_qs, urlsplit

import pytest
import shapely
from pyproj import Transformer

from layers.models import Feature
from opendata import harvest
from tests.opendata.harvest_fixtures import layer_checksum, metres_apart

pytestmark = pytest.mark.django_db
TO_MERCATOR = Transformer.from_crs(4326, 3857, always_xy=True)


def parcel(oid: int) -> dict:
    """A square with a square hole, as Esri writes it: outer ring clockwise, hole counter-clockwise, Web Mercator."""
    lon, lat = 106.70 + oid * 0.001, 10.78
    outer = [(lon, lat), (lon, lat + 0.0006), (lon + 0.0006, lat + 0.0006), (lon + 0.0006, lat), (lon, lat)]
    hole = [(lon + 0.0002, lat + 0.0002), (lon + 0.0004, lat + 0.0002), (lon + 0.0004, lat + 0.0004),
            (lon + 0.0002, lat + 0.0004), (lon + 0.0002, lat + 0.0002)]
    rings = [[list(TO_MERCATOR.transform(x, y)) for x, y in ring] for ring in (outer, hole)]
    return {"attributes": {"OBJECTID": oid, "TEN": f"Thửa {oid}", "DIEN_TICH": 360.0 - oid}, "geometry": {"rings": rings}}


class ArcGis(http.server.BaseHTTPRequestHandler):
    count = 5
    paging = True
    fail = False
    wkid = 3857
    requests: list = []

    def log_message(self, *args):
        pass

    def do_GET(self):
        parts = urlsplit(self.path)
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        ArcGis.requests.append((parts.path, query))
        if parts.path == "/arcgis/rest/services/Thua/FeatureServer/0":
            body = {"id": 0, "name": "Thua", "type": "Feature Layer", "geometryType": "esriGeometryPolygon",
                    "objectIdField": "OBJECTID", "maxRecordCount": 2,
                    "extent": {"xmin": 0, "ymin": 0, "xmax": 1, "ymax": 1,
                               "spatialReference": {"wkid": 102100, "latestWkid": ArcGis.wkid}},
                    "advancedQueryCapabilities": {"supportsPagination": ArcGis.paging},
                    "fields": [{"name": "OBJECTID", "type": "esriFieldTypeOID"},
                               {"name": "TEN", "type": "esriFieldTypeString"},
                               {"name": "DIEN_TICH", "type": "esriFieldTypeDouble"}]}
        elif parts.path.endswith("/query") and ArcGis.fail:
            body = {"error": {"code": 400, "message": "Unable to complete operation.", "details": []}}
        elif parts.path.endswith("/query") and query.get("returnIdsOnly") == "true":
            body = {"objectIdFieldName": "OBJECTID", "objectIds": list(range(1, ArcGis.count + 1))}
        elif parts.path.endswith("/query") and "objectIds" in query:
            ids = [int(i) for i in query["objectIds"].split(",")]
            body = {"objectIdFieldName": "OBJECTID", "spatialReference": {"wkid": 102100, "latestWkid": 3857},
                    "features": [parcel(i) for i in ids]}
        elif parts.path.endswith("/query"):
            offset, size = int(query.get("resultOffset", 0)), int(query.get("resultRecordCount", 2))
            ids = list(range(1, ArcGis.count + 1))[offset:offset + size]
            body = {"objectIdFieldName": "OBJECTID", "spatialReference": {"wkid": 102100, "latestWkid": 3857},
                    "features": [parcel(i) for i in ids], "exceededTransferLimit": offset + size < ArcGis.count}
        else:
            self.send_response(404)
            self.end_headers()
            return
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


@pytest.fixture
def arcgis(settings):
    ArcGis.count, ArcGis.paging, ArcGis.fail, ArcGis.wkid, ArcGis.requests = 5, True, False, 3857, []
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), ArcGis)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    settings.GISPORTAL_HARVEST_HOSTS = [f"127.0.0.1:{httpd.server_port}"]
    yield harvest.source_add(url=f"http://127.0.0.1:{httpd.server_port}/arcgis/rest/services/Thua/FeatureServer",
                             kind="arcgis", layer_slug="thua-arcgis", remote_layer="0")
    httpd.shutdown()


def _check_layer():
    features = {f.properties["objectid"]: f for f in Feature.objects.filter(layer__slug="thua-arcgis")}
    assert sorted(features) == [1, 2, 3, 4, 5]
    for oid, feature in features.items():
        geometry = shapely.from_wkb(bytes(feature.geom.wkb))
        assert len(geometry.interiors) == 1  # the counter-clockwise ring stayed a hole
        outer = [(106.70 + oid * 0.001 + dx, 10.78 + dy) for dx, dy in ((0, 0), (0, .0006), (.0006, .0006), (.0006, 0), (0, 0))]
        assert metres_apart(shapely.Polygon(geometry.exterior), shapely.Polygon(outer)) < 0.01
        assert feature.properties["ten"] == f"Thửa {oid}"


def test_arcgis_pages_by_offset_in_the_layers_native_reference(arcgis):
    run = harvest.harvest_run(source=arcgis)

    assert run.status == "succeeded", run.error
    assert run.read_count == 5 and arcgis.key_field == ""  # the layer's objectIdField is the key
    offsets = [q["resultOffset"] for p, q in ArcGis.requests if p.endswith("/query")]
    assert offsets == ["0", "2", "4"]  # maxRecordCount 2 bounds the page
    assert all("outSR" not in q for _, q in ArcGis.requests)  # native reference, transformed here
    _check_layer()


def test_arcgis_without_pagination_reads_by_object_id_ranges(arcgis):
    ArcGis.paging = False
    assert harvest.harvest_run(source=arcgis).status == "succeeded"
    chunks = [q["objectIds"] for p, q in ArcGis.requests if "objectIds" in q]
    assert chunks == ["1,2", "3,4", "5"]
    _check_layer()


def test_arcgis_changes_are_mirrored_and_errors_leave_the_layer(arcgis, settings):
    assert harvest.harvest_run(source=arcgis).status == "succeeded"
    ArcGis.count = 4  # object 5 vanished
    run = harvest.harvest_run(source=arcgis)
    assert (run.status, run.inserted, run.updated, run.deleted) == ("succeeded", 0, 0, 1)
    checksum = layer_checksum("thua-arcgis")
    ArcGis.fail = True
    failed = harvest.harvest_run(source=arcgis)
    assert failed.status == "failed" and "ArcGIS error: Unable to complete operation." in failed.error["en"]
    ArcGis.fail, ArcGis.count = False, 50
    settings.GISPORTAL_HARVEST_MAX_FEATURES = 10
    assert "more than the limit" in harvest.harvest_run(source=arcgis).error["en"]
    assert layer_checksum("thua-arcgis") == checksum


@pytest.mark.parametrize("wkid, reason", [(999999, "is unknown"), (4326, "another spatial reference")])
def test_arcgis_unknown_or_inconsistent_spatial_references_fail(arcgis, wkid, reason):
    from layers.models import Layer

    ArcGis.wkid = wkid  # the layer says so; its pages still say 3857
    run = harvest.harvest_run(source=arcgis)
    assert run.status == "failed" and reason in run.error["en"]
    assert not Layer.objects.filter(slug="thua-arcgis").exists()
