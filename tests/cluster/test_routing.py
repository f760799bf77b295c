"""Reads to the replica, writes to the primary (layers/db.py, gisportal/routing.py), on live gunicorn processes
against the shared cluster's real streaming replica. Which server ran a statement is read from that server's own
log: the portal under test logs its statements (log_statement=all on its sessions only)."""
import json
import math
import time
import urllib.request

import pytest
from django.contrib.auth.models import User
from django.middleware.csrf import _get_new_csrf_string
from django.test import Client

from layers.models import Feature, Layer, LayerGrant
from tests.cluster.replica import (portal, ran, replica_sql, served, start_replica, stop_replica_immediately,
                                   wait_replayed)
from tests.factories import make_feature, make_parcel_layer, square
from tests.faults.cluster import get
from tests.faults.helpers import wait_until

LON, LAT = 106.7712, 10.8512
PARCEL = {"ward_code": "27088", "map_sheet": 7, "parcel_no": 1, "land_use": "ODT", "legal_area": 300.0,
          "address": "12 Quốc Hương"}


def tile_path(slug: str, z: int = 16, dx: int = 0) -> str:
    n = 2 ** z
    x = int((LON + 180) / 360 * n)
    y = int((1 - math.asinh(math.tan(math.radians(LAT))) / math.pi) / 2 * n)
    return f"/tiles/{slug}/{z}/{x + dx}/{y}.pbf"


@pytest.fixture
def city(transactional_db):
    """Two committed parcel layers, one feature each, replayed on the replica."""
    start_replica()
    layers = [make_parcel_layer(slug=slug) for slug in ("routing-a", "routing-b")]
    features = [make_feature(layer, square(LON, LAT, 0.0004), PARCEL) for layer in layers]
    wait_replayed()
    return layers, features


@pytest.fixture
def node(city, tmp_path):
    server = portal(tmp_path)
    yield server
    server.stop()


def _ok(server, path: str, cookie: str = "") -> bytes:
    request = urllib.request.Request(server.base + path, headers={"Cookie": cookie} if cookie else {})
    with urllib.request.urlopen(request, timeout=30) as response:
        assert response.status in (200, 204), (path, response.status)
        return response.read()


def _on_replica_only(statements: dict[str, list[str]], needle: str = "layers_feature") -> None:
    assert ran(statements["replica"], needle), statements
    assert not ran(statements["primary"], needle), statements["primary"]


def test_public_reads_are_served_by_the_replica(node, city):
    layers, features = city
    slug = layers[0].slug
    public = [tile_path(slug), f"/ogc/collections/{slug}/items?limit=5", f"/ogc/collections/{slug}/items/{features[0].pk}",
              f"/data/{slug}.geojson", "/api/search?q=Qu%E1%BB%91c%20H%C6%B0%C6%A1ng",
              f"/api/at?lon={LON + 0.0002}&lat={LAT + 0.0002}&layers={slug}"]
    for path in public:
        statements = served(lambda: _ok(node, path))
        _on_replica_only(statements)
    assert ran(served(lambda: _ok(node, tile_path(slug, z=17)))["replica"], "ST_AsMVT")
    # The replica really is the standby on its own port (not the primary under another name).
    assert replica_sql("SELECT pg_is_in_recovery()")[0] is True
    health = json.loads(_ok(node, "/healthz"))["replica"]
    assert health["configured"] and health["in_use"] and health["lag_seconds"] is not None, health


def _editor(layer: Layer) -> tuple[str, str]:
    """A committed planner with an edit grant: (Cookie header with session and CSRF, CSRF token)."""
    user = User.objects.create_user("routing-planner", password="pw-routing-123")
    LayerGrant.objects.create(layer=layer, user=user, can_edit=True)
    client = Client()
    client.force_login(user)  # the session is in the shared store every node reads
    token = _get_new_csrf_string()
    return f"sessionid={client.cookies['sessionid'].value}; csrftoken={token}", token


def _put(server, path: str, body: dict, cookie: str, token: str) -> tuple[int, dict, str]:
    request = urllib.request.Request(server.base + path, data=json.dumps(body).encode(), method="PUT",
                                     headers={"Content-Type": "application/json", "Cookie": cookie,
                                              "X-CSRFToken": token})
    with urllib.request.urlopen(request, timeout=30) as response:
        return response.status, json.loads(response.read()), response.headers.get_all("Set-Cookie") or []


def test_edits_and_the_editors_reads_use_the_primary_and_the_writer_reads_its_write(node, city):
    layers, features = city
    layer, feature = layers[0], features[0]
    cookie, token = _editor(layer)
    api = f"/api/layers/{layer.slug}/features/{feature.pk}"
    _ok(node, "/healthz")

    editor_read = served(lambda: _ok(node, api, cookie))
    assert ran(editor_read["primary"], "layers_feature") and not editor_read["replica"], editor_read

    outcome = {}
    edit = served(lambda: outcome.update(zip(("status", "body", "cookies"), _put(
        node, api, {"version": 1, "properties": {**PARCEL, "address": "99 Đường Mới"}}, cookie, token))))
    assert outcome["status"] == 200 and outcome["body"]["version"] == 2, outcome
    assert ran(edit["primary"], "UPDATE") and not edit["replica"], edit
    stamp = next(c.split(";")[0] for c in outcome["cookies"] if c.startswith("gp_wrote="))

    item = f"/ogc/collections/{layer.slug}/items/{feature.pk}"
    mine = {}
    own_read = served(lambda: mine.update(body=_ok(node, item, stamp)))  # within the window: the primary
    assert "99 Đường Mới" in mine["body"].decode()
    assert ran(own_read["primary"], "layers_feature") and not ran(own_read["replica"], "layers_feature"), own_read
    _on_replica_only(served(lambda: _ok(node, item)))  # anyone else: the replica

    forged = stamp.split("=", 1)[0] + "=1:forged:signature"  # a cookie the server did not sign pins nothing
    _on_replica_only(served(lambda: _ok(node, item, forged)))


def test_a_replica_stopped_mid_flight_costs_no_failed_request(city, tmp_path):
    layers, features = city
    slug = layers[0].slug
    items, download = f"/ogc/collections/{slug}/items?limit=3", f"/data/{slug}.geojson"
    paths = [items, download, f"/api/at?lon={LON + 0.0002}&lat={LAT + 0.0002}&layers={slug}"]
    # Health checks kept for an hour: the replica fails under the first request that chose it, on each node —
    # a view's query (answered again by the middleware) and a streamed download's (failed over before its rows).
    servers = [portal(tmp_path, GISPORTAL_REPLICA_CHECK_SECONDS="3600") for _ in range(2)]
    try:
        for server in servers:
            _on_replica_only(served(lambda: _ok(server, items)))  # warm: a live connection to the replica
        stop_replica_immediately()
        for server, first in zip(servers, (download, items)):
            body = {}
            statements = served(lambda: body.update(first=_ok(server, first)))
            assert ran(statements["primary"], "layers_feature"), (first, statements)
            assert [f["id"] for f in json.loads(body["first"])["features"]][:1] == [features[0].pk]
        for round_no in range(2):
            for path in [*paths, tile_path(slug, z=17 + round_no)]:  # tiles never rendered before
                statements = served(lambda: _ok(servers[0], path))
                assert ran(statements["primary"], "layers_feature"), (path, statements)
    finally:
        for server in servers:
            server.stop()
        start_replica()
    # A fresh process with the replica away from the start reads from the primary too (health check, no error).
    stop_replica_immediately()
    try:
        server = portal(tmp_path)
        try:
            for path in [*paths, tile_path(slug, z=19)]:
                assert get(server.base + path)[0] in (200, 204), path
            assert json.loads(_ok(server, "/healthz"))["replica"] == {"configured": True, "in_use": False,
                                                                     "lag_seconds": None}
        finally:
            server.stop()
    finally:
        start_replica()


def _on_replica(server, path: str) -> bool:
    return ran(served(lambda: _ok(server, path))["replica"], "layers_feature")


def test_reads_leave_a_replica_lagging_beyond_the_bound_and_come_back(city, tmp_path):
    layers, features = city
    layer, feature = layers[0], features[0]
    item = f"/ogc/collections/{layer.slug}/items/{feature.pk}"
    server = portal(tmp_path, GISPORTAL_REPLICA_MAX_LAG="2", GISPORTAL_REPLICA_CHECK_SECONDS="0")
    try:
        # The shared cluster is busy (other databases load data): wait for a replica within the bound first.
        wait_until(lambda: _on_replica(server, item), seconds=60, what="reads on a replica within 2 s of the primary")
        replica_sql("SELECT pg_wal_replay_pause()")
        try:
            Feature.objects.filter(pk=feature.pk).update(properties={**PARCEL, "address": "Mới sau tạm dừng"})
            time.sleep(2.2)  # beyond the bound: the replica's last replayed commit is older than this now
            body = {}
            statements = served(lambda: body.update(item=_ok(server, item)))
            assert "Mới sau tạm dừng" in body["item"].decode()  # the paused replica cannot have it
            assert ran(statements["primary"], "layers_feature") and not ran(statements["replica"], "layers_feature")
        finally:
            replica_sql("SELECT pg_wal_replay_resume()")
        wait_replayed()
        wait_until(lambda: _on_replica(server, item), seconds=60, what="reads return to the replica once caught up")
    finally:
        server.stop()


def test_a_tile_for_the_shared_cache_is_never_drawn_from_a_replica_behind_a_commit(city, tmp_path):
    """Within the lag bound the replica may answer a page from just before a change; a tile, which is kept,
    is drawn where the change is visible (else the cache would keep the old tile after its invalidation)."""
    layers, features = city
    layer, feature = layers[0], features[0]
    item = f"/ogc/collections/{layer.slug}/items/{feature.pk}"
    server = portal(tmp_path, GISPORTAL_REPLICA_CHECK_SECONDS="0")  # the default bound: 10 s
    try:
        wait_until(lambda: _on_replica(server, item), seconds=60, what="reads on the replica")
        replica_sql("SELECT pg_wal_replay_pause()")
        try:
            Feature.objects.filter(pk=feature.pk).update(properties={**PARCEL, "address": "Sau khi sửa"})
            page, tile = {}, {}
            read = served(lambda: page.update(body=_ok(server, item)))
            drawn = served(lambda: tile.update(body=_ok(server, tile_path(layer.slug, z=18))))
        finally:
            replica_sql("SELECT pg_wal_replay_resume()")
        assert ran(read["replica"], "layers_feature") and "Sau khi sửa" not in page["body"].decode()  # stale, bounded
        assert ran(drawn["primary"], "ST_AsMVT") and not ran(drawn["replica"], "ST_AsMVT"), drawn
    finally:
        server.stop()


def test_a_catalog_change_by_another_process_is_seen_at_once_and_only_for_its_layer(node, city):
    layers, _ = city
    a, b = layers
    for layer in layers:
        assert _ok(node, tile_path(layer.slug))  # both layers' rows now kept in the node's memory
    kept = served(lambda: _ok(node, tile_path(b.slug)))
    assert not ran(kept["primary"], "layers_layer") and not ran(kept["replica"], "layers_layer"), kept

    Layer.objects.filter(pk=a.pk).update(is_public=False)  # this process, not the node: a bulk update
    assert get(node.base + tile_path(a.slug))[0] == 404
    untouched = served(lambda: _ok(node, tile_path(b.slug)))  # b's row was not dropped by a's change
    assert not ran(untouched["primary"], "layers_layer") and not ran(untouched["replica"], "layers_layer")

    a.is_public, a.min_zoom = True, 17
    a.save()  # a model save
    assert get(node.base + tile_path(a.slug))[0] == 204  # below the layer's zooms now: no content
    Layer.objects.filter(pk=a.pk).delete()
    assert get(node.base + tile_path(a.slug))[0] == 404
