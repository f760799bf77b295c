"""The Varnish front of `make cluster` (deploy/varnish, rendered as make cluster renders it) before two real
gunicorn nodes of the portal on the test database: it caches what a node says it may, not pages; a cookie of no
consequence does not bypass it, a session does; a purge drops the object; a killed node costs no failed request."""
import math
import os
import signal

import pytest
from django.db import connection

from bench.cluster_front import Front, get, varnish_available
from tests.faults.cluster import Gunicorn, free_port

pytestmark = pytest.mark.skipif(not varnish_available(), reason="varnishd not installed (make cluster installs it)")
LON, LAT = 106.77, 10.85  # Thu Duc, inside the demo city


def _tile(z: int) -> str:
    n = 2 ** z
    x = int((LON + 180) / 360 * n)
    y = int((1 - math.asinh(math.tan(math.radians(LAT))) / math.pi) / 2 * n)
    return f"/tiles/parcels/{z}/{x}/{y}.pbf"


@pytest.fixture
def front(demo_city, tmp_path):
    # The defaults: browsers revalidate tiles (max-age=0), shared caches keep them (s-maxage) until purged.
    env = {**os.environ, "GISPORTAL_DB_NAME": connection.settings_dict["NAME"], "DATABASE_URL": "",
           "DJANGO_SETTINGS_MODULE": "gisportal.settings", "GISPORTAL_TILE_CACHE_DIR": str(tmp_path / "tiles"),
           "GISPORTAL_TRUSTED_PROXIES": "127.0.0.1"}
    env.pop("DATABASE_URL")
    nodes = [Gunicorn(env, workers=2), Gunicorn(env, workers=2)]
    try:
        for node in nodes:
            node.wait_ready()
        with Front(free_port(), [node.port for node in nodes]) as varnish:
            yield varnish, nodes
    finally:
        for node in nodes:
            node.stop()


def test_front_caches_tiles_not_pages_and_purges(front):
    varnish, _ = front
    tile = _tile(15)
    status, first, body = get(varnish.base + tile)
    assert status == 200 and body and first["X-Cache"] == "MISS", (status, first)
    status, again, body_again = get(varnish.base + tile)
    assert (status, again["X-Cache"], body_again) == (200, "HIT", body)
    # A language or CSRF cookie changes nothing about a public tile; a signed-in session goes to a node.
    assert get(varnish.base + tile, {"Cookie": "django_language=en; csrftoken=abc"})[1]["X-Cache"] == "HIT"
    assert get(varnish.base + tile, {"Cookie": "sessionid=xyz"})[1]["X-Cache"] == "MISS"
    # Pages and /healthz say nothing about caching: never kept.
    for path in ("/", "/healthz"):
        assert [get(varnish.base + path)[1].get("X-Cache") for _ in range(2)] == ["MISS", "MISS"], path
    # xkey tags are not shown to clients.
    assert "xkey" not in {name.lower() for name in again}

    import urllib.request
    purge = urllib.request.Request(varnish.base + tile, method="PURGE")
    with urllib.request.urlopen(purge, timeout=10) as response:
        assert response.status == 200
    assert get(varnish.base + tile)[1]["X-Cache"] == "MISS"
    # A tag purge answers (the nodes' purge job sends their Surrogate-Key tags this way).
    assert varnish.purge("no-such-tag") == 200


def test_a_killed_node_costs_no_failed_request(front):
    varnish, nodes = front
    assert varnish.healthy_nodes() == 2  # the survivor is in rotation before the other dies (the front waits for both)
    os.killpg(nodes[0].process.pid, signal.SIGKILL)  # like a crashed machine: no goodbye
    nodes[0].process.wait()
    answers = [get(varnish.base + f"/ogc/collections/parcels/items?limit=1&offset={i}",
                   {"Accept": "application/geo+json"}) for i in range(30)]
    statuses = [status for status, _headers, _body in answers]
    # A refusal says who answered it (Varnish or the node) and why, so a failure here can be told from a flake.
    refused = next(((h, b[:300]) for s, h, b in answers if s != 200), None)
    assert statuses == [200] * 30, (statuses, refused)
