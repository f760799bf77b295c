"""A harvest source that answers garbage, too much, an error, the wrong or an unknown CRS, slowly, or redirects to
another host, or is not (or no longer) on the allow-list: the harvest FAILS with the reason recorded and the layer
is left byte for byte as it was. The sources here are small local HTTP servers answering OGC API – Features
(first a good answer that creates the layer, then the bad one)."""
import http.server
import json
import threading
import time

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from layers.errors import DomainError
from opendata import harvest
from opendata.harvest_models import HarvestRun, HarvestSource
from tests.opendata.harvest_fixtures import layer_checksum

pytestmark = pytest.mark.django_db
CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"


def feature(i: int, lon: float = 106.70, lat: float = 10.78) -> dict:
    x, y = lon + i * 0.001, lat
    ring = [[x, y], [x + 0.0005, y], [x + 0.0005, y + 0.0005], [x, y + 0.0005], [x, y]]
    return {"type": "Feature", "id": i, "geometry": {"type": "Polygon", "coordinates": [ring]},
            "properties": {"name": f"Khu {i}", "floors": i}}


def page(features, **extra) -> bytes:
    return json.dumps({"type": "FeatureCollection", "features": features, **extra}).encode()


class Source(http.server.BaseHTTPRequestHandler):
    mode = "good"

    def log_message(self, *args):
        pass

    def do_GET(self):
        path = self.path.split("?")[0]
        port = self.server.server_port
        if path == "/collections/z":
            crs = ["http://www.opengis.net/def/crs/EPSG/0/999999"] if Source.mode == "unknown-crs" else [CRS84]
            return self.answer(200, json.dumps({"id": "z", "crs": crs, "storageCrs": crs[0]}).encode())
        if path != "/collections/z/items":
            return self.answer(404, b"{}")
        mode = Source.mode
        if mode == "good":
            return self.answer(200, page([feature(i) for i in range(1, 4)], numberMatched=3))
        if mode == "garbage":
            return self.answer(200, b"<html>maintenance</html>")
        if mode == "wrong-structure":
            return self.answer(200, json.dumps({"type": "Feature", "items": []}).encode())
        if mode == "broken-geometry":
            bad = feature(1)
            bad["geometry"] = {"type": "Polygon", "coordinates": "nope"}
            return self.answer(200, page([bad]))
        if mode == "error":
            return self.answer(500, b'{"code": "InternalError"}')
        if mode == "too-much":
            return self.answer(200, page([feature(i) for i in range(1, 4)], numberMatched=10_000_000))
        if mode == "too-much-unannounced":
            return self.answer(200, page([feature(i) for i in range(1, 8)]))
        if mode == "wrong-crs":  # says CRS84 but the numbers are VN-2000 metres
            return self.answer(200, page([feature(i, lon=612000.0, lat=1196000.0) for i in range(1, 4)]))
        if mode == "outside-vietnam":
            return self.answer(200, page([feature(i, lon=2.35, lat=48.85) for i in range(1, 4)]))
        if mode == "no-key":
            nokey = feature(1)
            del nokey["id"]
            return self.answer(200, page([nokey]))
        if mode == "duplicate-key":
            return self.answer(200, page([feature(1), feature(1)]))
        if mode == "empty":
            return self.answer(200, page([]))
        if mode == "next-elsewhere":
            link = {"rel": "next", "type": "application/geo+json", "href": f"http://localhost:{port}/collections/z/items"}
            return self.answer(200, page([feature(1)], links=[link]))
        if mode == "redirect-elsewhere":
            self.send_response(302)
            self.send_header("Location", f"http://localhost:{port}/collections/z/items")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return None
        if mode == "other-content-crs":
            body = page([feature(i) for i in range(1, 4)])
            self.send_response(200)
            self.send_header("Content-Crs", "<http://www.opengis.net/def/crs/EPSG/0/3857>")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return None
        if mode == "slow":
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            for _ in range(30):
                self.wfile.write(b" ")
                self.wfile.flush()
                time.sleep(0.1)
            return None
        raise AssertionError(mode)

    def answer(self, status: int, body: bytes):
        self.send_response(status)
        self.send_header("Content-Type", "application/geo+json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture(scope="module")
def server():
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Source)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd.server_port
    httpd.shutdown()


@pytest.fixture
def loaded(server, settings):
    """A source whose first (good) harvest made the layer."""
    settings.GISPORTAL_HARVEST_HOSTS = [f"127.0.0.1:{server}"]
    Source.mode = "good"
    source = harvest.source_add(url=f"http://127.0.0.1:{server}", kind="ogcapi", layer_slug="khu", remote_layer="z")
    assert harvest.harvest_run(source=source).status == "succeeded"
    return source


@pytest.mark.parametrize("mode, reason", [
    ("garbage", "not JSON"),
    ("wrong-structure", "not a GeoJSON FeatureCollection"),
    ("broken-geometry", "broken GeoJSON geometry"),
    ("error", "HTTP 500"),
    ("too-much", "10000000 features, more than the limit"),
    ("too-much-unannounced", "more than the limit of 5"),
    ("wrong-crs", "rows rejected"),
    ("outside-vietnam", "rows rejected"),
    ("unknown-crs", "coordinate reference system is unknown"),
    ("other-content-crs", "is not the CRS asked for"),
    ("no-key", "without its key id"),
    ("duplicate-key", "rows rejected"),
    ("empty", "no features"),
    ("next-elsewhere", "not on the allow-list"),
    ("redirect-elsewhere", "not on the allow-list"),
])
def test_a_bad_answer_fails_the_harvest_with_its_reason_and_leaves_the_layer(loaded, settings, mode, reason):
    settings.GISPORTAL_HARVEST_MAX_FEATURES = 5
    checksum = layer_checksum("khu")
    Source.mode = mode

    run = harvest.harvest_run(source=loaded)

    assert run.status == HarvestRun.Status.FAILED
    assert reason in run.error["en"] and run.error["vi"] and run.error["vi"] != run.error["en"]
    assert layer_checksum("khu") == checksum
    loaded.refresh_from_db()
    assert loaded.last_status == "failed" and reason in loaded.last_error


def test_a_redirect_to_another_listed_host_is_not_followed_either(loaded, settings, server):
    settings.GISPORTAL_HARVEST_HOSTS = [f"127.0.0.1:{server}", f"localhost:{server}"]
    checksum = layer_checksum("khu")
    Source.mode = "redirect-elsewhere"
    run = harvest.harvest_run(source=loaded)
    assert run.status == "failed" and "redirects elsewhere" in run.error["en"]
    assert layer_checksum("khu") == checksum


def test_a_slow_source_times_out(loaded, settings):
    settings.GISPORTAL_HARVEST_READ_TIMEOUT = 0.5
    settings.GISPORTAL_HARVEST_TOTAL_TIMEOUT = 1
    checksum = layer_checksum("khu")
    Source.mode = "slow"
    run = harvest.harvest_run(source=loaded)
    assert run.status == "failed" and ("too slowly" in run.error["en"] or "Could not reach" in run.error["en"])
    assert layer_checksum("khu") == checksum


def test_a_source_whose_host_left_the_allow_list_fails_and_the_layer_stays(loaded, settings):
    checksum = layer_checksum("khu")
    settings.GISPORTAL_HARVEST_HOSTS = ["data.example.gov.vn"]
    run = harvest.harvest_run(source=loaded)
    assert run.status == "failed" and "GISPORTAL_HARVEST_HOSTS" in run.error["en"]
    assert layer_checksum("khu") == checksum


def test_a_failed_first_harvest_creates_no_layer(server, settings):
    from layers.models import Layer

    settings.GISPORTAL_HARVEST_HOSTS = [f"127.0.0.1:{server}"]
    Source.mode = "outside-vietnam"
    source = harvest.source_add(url=f"http://127.0.0.1:{server}", kind="ogcapi", layer_slug="moi", remote_layer="z")
    assert harvest.harvest_run(source=source).status == "failed"
    assert not Layer.objects.filter(slug="moi").exists()


@pytest.mark.parametrize("url", ["http://data.example.gov.vn/ogc", "http://127.0.0.2:8080/", "file:///etc/passwd",
                                 "http://user:pw@127.0.0.1/", "gopher://127.0.0.1/"])
def test_registration_refuses_urls_off_the_allow_list_naming_the_setting(settings, url):
    settings.GISPORTAL_HARVEST_HOSTS = ["127.0.0.1:9"]
    with pytest.raises(DomainError) as refused:
        harvest.source_add(url=url, kind="ogcapi", layer_slug="x", remote_layer="z")
    assert refused.value.status == 400 and refused.value.message_vi and refused.value.message_en
    assert not HarvestSource.objects.exists()
    with pytest.raises(CommandError):
        call_command("harvest", "add", url, "--kind", "ogcapi", "--layer", "x")
    if "example" in url:
        assert "GISPORTAL_HARVEST_HOSTS" in refused.value.message_en and "GISPORTAL_HARVEST_HOSTS" in refused.value.message_vi


@pytest.mark.parametrize("options, field", [
    (dict(kind="csw"), "kind"), (dict(layer_slug="Bad Slug!"), "layer"), (dict(every="3m"), "every"),
    (dict(every="1w"), "every"), (dict(every="999d"), "every"), (dict(key_field="a b"), "key"),
    (dict(remote_layer="z\n"), "remote_layer"),
])
def test_registration_refuses_bad_fields(settings, options, field):
    settings.GISPORTAL_HARVEST_HOSTS = ["127.0.0.1:9"]
    arguments = dict(url="http://127.0.0.1:9/", kind="ogcapi", layer_slug="ok", remote_layer="z") | options
    with pytest.raises(DomainError) as refused:
        harvest.source_add(**arguments)
    assert refused.value.parameter == field and refused.value.message_vi != refused.value.message_en
    assert not HarvestSource.objects.exists()


def test_one_source_per_layer_and_remove(settings):
    settings.GISPORTAL_HARVEST_HOSTS = ["127.0.0.1:9"]
    call_command("harvest", "add", "http://127.0.0.1:9/", "--kind", "wfs", "--layer", "zones", "--every", "1h")
    source = HarvestSource.objects.get(layer_slug="zones")
    assert source.every.total_seconds() == 3600 and source.key_field == "gml_id" and source.next_run_at
    with pytest.raises(CommandError, match="already has a harvest source"):
        call_command("harvest", "add", "http://127.0.0.1:9/", "--kind", "wfs", "--layer", "zones")
    call_command("harvest", "remove", "zones")
    assert not HarvestSource.objects.exists()
    with pytest.raises(CommandError, match="No harvest source"):
        call_command("harvest", "run", "zones")


CAPS = """<?xml version="1.0" encoding="UTF-8"?>
<wfs:WFS_Capabilities xmlns:wfs="http://www.opengis.net/wfs/2.0" xmlns:ows="http://www.opengis.net/ows/1.1"
  version="2.0.0"><wfs:FeatureTypeList><wfs:FeatureType><wfs:Name>ms:khu</wfs:Name>
  <wfs:DefaultCRS>{crs}</wfs:DefaultCRS></wfs:FeatureType></wfs:FeatureTypeList></wfs:WFS_Capabilities>"""
WFS_ANSWERS = {
    "doctype": (CAPS.format(crs="urn:ogc:def:crs:EPSG::9210").replace("<wfs:WFS_Capabilities",
                '<!DOCTYPE x [<!ENTITY a "aaaa">]><wfs:WFS_Capabilities', 1), None, "DTD"),
    # the DTD after 8 KB of comment: the one hardened parser sees it wherever it is
    "doctype-late": (CAPS.format(crs="urn:ogc:def:crs:EPSG::9210").replace("<wfs:WFS_Capabilities",
                     "<!--" + "x" * 8192 + '--><!DOCTYPE x [<!ENTITY a "aaaa">]><wfs:WFS_Capabilities', 1), None, "DTD"),
    "not-wfs": ("<html><body>503</body></html>", None, "not WFS 2.0 capabilities"),
    "no-type": (CAPS.format(crs="urn:ogc:def:crs:EPSG::9210").replace("ms:khu", "ms:other"), None, "no feature type"),
    "unknown-crs": (CAPS.format(crs="urn:ogc:def:crs:EPSG::1"), None, "is unknown"),
    "vrt-not-gml": (CAPS.format(crs="urn:ogc:def:crs:EPSG::9210"),
                    '<OGRVRTDataSource><OGRVRTLayer name="x"><SrcDataSource>/etc/passwd</SrcDataSource>'
                    "</OGRVRTLayer></OGRVRTDataSource>", "not a wfs:FeatureCollection"),
}


class Wfs(http.server.BaseHTTPRequestHandler):
    mode = "doctype"

    def log_message(self, *args):
        pass

    def do_GET(self):
        caps, features, _ = WFS_ANSWERS[Wfs.mode]
        body = (caps if "GetCapabilities" in self.path else features or "").encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/xml")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.mark.parametrize("mode", sorted(WFS_ANSWERS))
def test_a_bad_wfs_answer_fails_before_gdal_sees_it(settings, mode):
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Wfs)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        settings.GISPORTAL_HARVEST_HOSTS = [f"127.0.0.1:{httpd.server_port}"]
        Wfs.mode = mode
        source = harvest.source_add(url=f"http://127.0.0.1:{httpd.server_port}/wfs", kind="wfs", layer_slug="khu-wfs",
                                    remote_layer="khu")
        run = harvest.harvest_run(source=source)
    finally:
        httpd.shutdown()
    assert run.status == "failed" and WFS_ANSWERS[mode][2] in run.error["en"]
    from layers.models import Layer

    assert not Layer.objects.filter(slug="khu-wfs").exists()
