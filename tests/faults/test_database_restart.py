"""Restart PostgreSQL while the portal serves: 503 + Retry-After in vi/en during the outage, never a 500,
and the very first requests after the database is back are answered (no restart of the portal).

Runs on a throw-away cluster of its own (never the shared one), with gunicorn in front of it.
"""
import json
import math
import time

import pytest

from tests.faults.cluster import Cluster, Gunicorn, get, manage, pg_bindir, portal_env

pytestmark = pytest.mark.faults
LON, LAT = 106.77, 10.85  # Thu Duc, inside the demo city
OK = (200, 204)  # 204: a tile with no feature in it


def _tile(z: int, dx: int = 0) -> str:
    n = 2 ** z
    x = int((LON + 180) / 360 * n)
    y = int((1 - math.asinh(math.tan(math.radians(LAT))) / math.pi) / 2 * n)
    return f"/tiles/parcels/{z}/{x + dx}/{y}.pbf"


# (path, Accept): pages as a browser asks for them; tiles and APIs as the map and clients do.
PAGES = [("/", "text/html"), ("/tra-cuu/", "text/html"), ("/data/parcels/", "text/html")]
MACHINE = [("/ogc/collections/parcels/items?limit=5", "application/geo+json"),
           (f"/api/at?lon={LON}&lat={LAT}&layers=parcels", "application/json"),
           ("/api/search?q=ODT", "application/json"), ("/healthz", "application/json")]


@pytest.fixture
def portal(tmp_path):
    bindir = pg_bindir()
    if bindir is None:
        pytest.skip("no PostgreSQL with PostGIS under /usr/lib/postgresql (scripts/bootstrap.sh installs it)")
    cluster = Cluster(bindir)
    server = None
    try:
        cluster.start()
        cluster.createdb()
        env = portal_env(cluster.url, tmp_path)
        manage(env, "migrate", "--noinput", "-v0")
        manage(env, "make_demo_city", "--parcels", "100", "--seed", "7")
        server = Gunicorn(env)
        server.wait_ready()
        yield cluster, server
    finally:
        if server is not None:
            server.stop()
        cluster.remove()


def _assert_unavailable(status: int, headers: dict[str, str], body: bytes, accept: str, path: str) -> None:
    assert status == 503, (path, status, body[:300])
    assert int(headers["Retry-After"]) > 0 and headers["Cache-Control"] == "no-store", (path, headers)
    text = body.decode()
    if accept == "text/html":
        assert "Cơ sở dữ liệu tạm thời không truy cập được" in text and "The database is briefly unavailable" in text
    else:
        error = json.loads(text)
        assert error["code"] == "service-unavailable" and error["description_vi"] and error["description"], error


def test_database_restart_while_serving(portal):
    cluster, server = portal
    everything = [*PAGES, *MACHINE, (_tile(14), "*/*")]
    for path, accept in everything:  # every worker holds a live, persistent connection before the outage
        for _ in range(3):
            status, _, body = get(server.base + path, accept)
            assert status in OK, (path, status, body[:300])

    cluster.stop_immediately()
    for round_no in range(3):
        for path, accept in [*PAGES, *MACHINE, (_tile(15, dx=round_no), "*/*")]:  # tiles never cached before
            _assert_unavailable(*get(server.base + path, accept), accept, path)

    cluster.start()
    back = time.monotonic()
    # No grace period: the first requests after the database is back are already answered, on every worker.
    for path, accept in [*everything, (_tile(15, dx=7), "*/*")]:
        for _ in range(3):
            status, _, body = get(server.base + path, accept)
            assert status in OK, (path, status, body[:300])
    print(f"served again {time.monotonic() - back:.2f} s after the database came back")

    # A restart nobody saw (no request during it): every worker still holds a connection to the old server.
    cluster.stop_immediately()
    cluster.start()
    for path, accept in everything:
        for _ in range(3):
            status, _, body = get(server.base + path, accept)
            assert status in OK, (path, status, body[:300])
