"""Real servers for the harvest tests, started on free ports and stopped after: pygeoapi (OGC API – Features,
from PyPI, pinned, in its own virtualenv under var/harvest, installed on first use) and MapServer (Debian's
/usr/bin/mapserv, WFS 2.0 in EPSG:9210, run as a CGI by a tiny http.server), both serving a GeoPackage in
VN-2000 / TM-3 105-45 made from the demo city's planning zones. Also runnable by hand:
`.venv/bin/python -m tests.opendata.harvest_servers install` installs pygeoapi (what `make test` needs)."""
from __future__ import annotations

import http.server
import os
import shutil
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import geopandas as gpd
import pyogrio

ROOT = Path(__file__).resolve().parents[2]
VAR = ROOT / "var" / "harvest"
PYGEOAPI_VERSION = "0.21.0"  # the last release for Python 3.11 (0.22+ need 3.12)
MAPSERV = "/usr/bin/mapserv"
TABLE = "zones"
VN2000_URI = "http://www.opengis.net/def/crs/EPSG/0/9210"
CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def source_frame(planning_zones: Path, n: int = 25) -> gpd.GeoDataFrame:
    """The first n demo planning zones (EPSG:9210) with a stable id, zone_id."""
    frame = pyogrio.read_dataframe(planning_zones, max_features=n)
    frame.insert(0, "zone_id", range(1, len(frame) + 1))
    return frame


def write_source(frame: gpd.GeoDataFrame, path: Path) -> Path:
    """The GeoPackage both servers read, replaced whole (a server never sees half a file)."""
    partial = path.with_suffix(".partial.gpkg")
    partial.unlink(missing_ok=True)
    pyogrio.write_dataframe(frame, partial, layer=TABLE, driver="GPKG")
    os.replace(partial, path)
    return path


_LOADS_EXTENSIONS = ("import sqlite3; c = sqlite3.connect(':memory:'); c.enable_load_extension(True); "
                     "c.load_extension('mod_spatialite')")


def _base_python() -> str:
    """A Python whose sqlite3 can load SpatiaLite (pygeoapi's GeoPackage provider needs it; a pyenv build may not)."""
    for candidate in (sys.executable, "/usr/bin/python3", shutil.which("python3")):
        if candidate and subprocess.run([candidate, "-c", _LOADS_EXTENSIONS], capture_output=True).returncode == 0:
            return candidate
    raise RuntimeError("no Python here loads SQLite extensions (mod_spatialite): install libsqlite3-mod-spatialite")


def pygeoapi_python() -> Path:
    """pygeoapi's virtualenv's python, installing pygeoapi from the package registry on first use."""
    venv = VAR / "pygeoapi-venv"
    python = venv / "bin" / "python"
    marker = venv / f".pygeoapi-{PYGEOAPI_VERSION}"
    if not marker.exists():
        VAR.mkdir(parents=True, exist_ok=True)
        subprocess.run([_base_python(), "-m", "venv", "--clear", str(venv)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check",
                        f"pygeoapi=={PYGEOAPI_VERSION}"], check=True)
        marker.touch()
    return python


def _wait(url: str, process: subprocess.Popen | None, log: Path, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"server exited: {log.read_text(errors='replace')[-3000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2) as answer:
                if answer.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"server at {url} did not start: {log.read_text(errors='replace')[-3000:]}")


PYGEOAPI_CONFIG = """\
server:
  bind: {{host: 127.0.0.1, port: {port}}}
  url: http://127.0.0.1:{port}
  mimetype: application/json; charset=UTF-8
  encoding: utf-8
  language: en-US
  limits: {{default_items: 10, max_items: 1000}}
  map: {{url: "https://tile.openstreetmap.org/{{z}}/{{x}}/{{y}}.png", attribution: OSM}}
logging: {{level: ERROR}}
metadata:
  identification: {{title: harvest test, description: harvest test, keywords: [test], keywords_type: theme,
                    terms_of_service: none, url: http://127.0.0.1}}
  license: {{name: CC-BY 4.0, url: https://creativecommons.org/licenses/by/4.0/}}
  provider: {{name: test, url: http://127.0.0.1}}
  contact: {{name: test, position: test, address: test, city: HCMC, stateorprovince: HCMC, postalcode: "70000",
            country: Vietnam, phone: "0", fax: "0", email: test@example.org, url: http://127.0.0.1, hours: "0",
            instructions: none, role: pointOfContact}}
resources:
  {table}:
    type: collection
    title: Planning zones
    description: Demo planning zones in VN-2000
    keywords: [zones]
    extents:
      spatial: {{bbox: [106.5, 10.6, 107.0, 11.0], crs: "{crs84}"}}
    providers:
      - type: feature
        name: SQLiteGPKG
        data: {data}
        id_field: zone_id
        table: {table}
        crs: ["{vn2000}", "{crs84}"]
        storage_crs: "{vn2000}"
"""


class Pygeoapi:
    """pygeoapi (Flask's server) in its own process group, serving one GeoPackage as collection `zones`."""

    def __init__(self, gpkg: Path, folder: Path):
        python = pygeoapi_python()
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        config, openapi, self.log = folder / "pygeoapi.yml", folder / "openapi.yml", folder / "pygeoapi.log"
        config.write_text(PYGEOAPI_CONFIG.format(port=self.port, data=gpkg, table=TABLE, vn2000=VN2000_URI, crs84=CRS84))
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYGEOAPI_CONFIG": str(config),
               "PYGEOAPI_OPENAPI": str(openapi), "HOME": str(folder)}
        subprocess.run([str(python), "-c", "from pygeoapi import cli; cli()", "openapi", "generate", str(config),
                        "--output-file", str(openapi)], env=env, check=True, capture_output=True)
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [str(python), "-c", f"from pygeoapi.flask_app import APP; APP.run(host='127.0.0.1', port={self.port})"],
                env=env, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
        _wait(f"{self.base}/collections/{TABLE}?f=json", self.process, self.log)

    def stop(self) -> None:
        from bench.processes import stop_group

        stop_group(self.process)


MAPFILE = """\
MAP
  NAME "harvest_wfs"
  STATUS ON
  EXTENT 590000 1180000 640000 1220000
  PROJECTION "init=epsg:9210" END
  WEB
    METADATA
      "ows_title" "Planning zones (WFS 2.0, VN-2000)"
      "ows_onlineresource" "{base}/wfs?"
      "ows_srs" "EPSG:9210 EPSG:4326"
      "ows_enable_request" "*"
      "wfs_compute_number_matched" "true"
      "wfs_maxfeatures" "100000"
      "ows_encoding" "UTF-8"
    END
  END
  LAYER
    NAME "{table}"
    TYPE POLYGON
    STATUS ON
    CONNECTIONTYPE OGR
    CONNECTION "{data}"
    DATA "{table}"
    PROJECTION "init=epsg:9210" END
    METADATA
      "ows_title" "zones"
      "gml_include_items" "all"
      "gml_featureid" "zone_id"
      "wfs_geometry_precision" "6"
      "gml_types" "auto"
    END
  END
END
"""


class MapServerWfs:
    """MapServer's CGI program behind a tiny threaded http.server in this process: /wfs runs mapserv per request."""

    def __init__(self, gpkg: Path, folder: Path):
        self.mapfile, self.conf = folder / "wfs.map", folder / "mapserver.conf"
        self.log = folder / "mapserv.log"
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.port = self.httpd.server_port
        self.base = f"http://127.0.0.1:{self.port}"
        self.mapfile.write_text(MAPFILE.format(base=self.base, data=gpkg, table=TABLE))
        self.conf.write_text(f'CONFIG\n  ENV\n    MS_MAP_PATTERN "^{folder}/"\n  END\nEND\n')
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()
        _wait(f"{self.base}/wfs?SERVICE=WFS&REQUEST=GetCapabilities", None, self.log)

    def _handler(self):
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                path, _, query = self.path.partition("?")
                if path != "/wfs":
                    self.send_error(404)
                    return
                env = {"QUERY_STRING": query, "REQUEST_METHOD": "GET", "MS_MAPFILE": str(server.mapfile),
                       "MAPSERVER_CONFIG_FILE": str(server.conf), "SERVER_NAME": "127.0.0.1",
                       "SERVER_PORT": str(server.port), "SCRIPT_NAME": "/wfs", "PATH": "/usr/bin:/bin"}
                done = subprocess.run([MAPSERV], env=env, capture_output=True, timeout=60)
                with server.log.open("ab") as log:
                    log.write(done.stderr)
                ends = [i for i in (done.stdout.find(b"\r\n\r\n"), done.stdout.find(b"\n\n")) if i >= 0]
                end = min(ends) if ends else 0
                head = done.stdout[:end]
                body = done.stdout[end:].lstrip(b"\r\n") if ends else done.stdout
                self.send_response(200)
                for line in head.decode("latin-1").splitlines():
                    name, _, value = line.partition(":")
                    if name.strip().lower() == "content-type":
                        self.send_header("Content-Type", value.strip())
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        return Handler

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


if __name__ == "__main__" and sys.argv[1:] == ["install"]:
    print(pygeoapi_python())
