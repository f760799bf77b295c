"""The Varnish front before a web node: public tiles are kept (X-Cache: HIT); an edit purges exactly the tiles it
touched, after its commit, through the job queue (the real worker); a front that is down when the edit is made
is purged when it is back (the job is retried), and the edit committed anyway."""
import gzip

import mapbox_vector_tile
import pytest
from django.contrib.auth.models import User

from layers.editing import feature_update
from layers.models import Feature
from bench.cluster_front import Front
from tests.cluster.tile_front import clear_tile_jobs, node_env, run_worker_once, start_front, start_node, tile_jobs
from tests.factories import make_feature, make_layer, square
from tests.faults.cluster import get
from tiles.coords import tiles_in
from tiles.redis_cache import RedisCache

pytestmark = pytest.mark.django_db(transaction=True)
LON, LAT = 106.7700, 10.8500
Z = 16


def ids_in(body: bytes) -> set[int]:
    if body[:2] == b"\x1f\x8b":
        body = gzip.decompress(body)
    return {f["id"] for f in mapbox_vector_tile.decode(body).get("zones", {}).get("features", [])}


def path_of(geom) -> str:
    tile = next(tiles_in(geom.extent, Z))
    return f"/tiles/zones/{tile.z}/{tile.x}/{tile.y}.pbf"


@pytest.fixture
def front(tmp_path, settings):
    """One node with the Redis tile cache, Varnish before it; the purge settings in this process (where the
    edits are made and the jobs queued) and in the worker's environment."""
    RedisCache().clear()
    clear_tile_jobs()
    node = start_node(node_env(tmp_path))
    varnish = None
    try:
        varnish = start_front([node.port])
        settings.GISPORTAL_FRONT_PURGE_URLS = varnish.base + "/"
        settings.GISPORTAL_FRONT_PURGE_RETRY_SECONDS = 1
        worker_env = node_env(tmp_path, GISPORTAL_FRONT_PURGE_URLS=varnish.base + "/",
                              GISPORTAL_FRONT_PURGE_TIMEOUT="1", GISPORTAL_FRONT_PURGE_RETRY_SECONDS="1")
        yield varnish, worker_env
    finally:
        if varnish is not None:
            varnish.stop()
        node.stop()
        clear_tile_jobs()
        RedisCache().clear()


@pytest.fixture
def zones():
    """Two features far apart (0.05°): an edit to one never touches the other's tile."""
    layer = make_layer(slug="zones", max_zoom=20)
    edited = make_feature(layer, square(LON, LAT, 0.0004))
    far = make_feature(layer, square(LON + 0.05, LAT + 0.05, 0.0004))
    layer.refresh_from_db()
    return layer, edited, far


def fetch(varnish: Front, path: str) -> tuple[int, str, set[int]]:
    status, headers, body = get(varnish.base + path)
    assert status == 200, (path, status, headers)
    return status, headers.get("X-Cache", ""), ids_in(body)


def move(layer, feature, lon: float) -> None:
    admin = User.objects.filter(username="front-admin").first() or User.objects.create_superuser("front-admin")
    current = Feature.objects.get(pk=feature.pk)
    feature_update(layer=layer, feature_id=feature.pk, expected_version=current.version, user=admin,
                   geom=square(lon, LAT, 0.0004))


def test_an_edit_purges_exactly_its_tiles_from_the_front(front, zones):
    varnish, worker_env = front
    layer, edited, far = zones
    touched, elsewhere = path_of(edited.geom), path_of(far.geom)
    for path in (touched, elsewhere):
        assert fetch(varnish, path)[1] == "MISS"
        assert fetch(varnish, path)[1] == "HIT"

    move(layer, edited, LON + 0.0001)  # stays in its tile, with a new outline
    assert [job[:2] for job in tile_jobs()] == [("tiles.purge_front", "todo")]  # committed with the edit
    assert fetch(varnish, touched)[1] == "HIT"  # nothing purged before the worker runs the job

    run_worker_once(worker_env)

    assert [job[:2] for job in tile_jobs()] == [("tiles.purge_front", "succeeded")]
    status, cache_state, ids = fetch(varnish, touched)
    assert cache_state == "MISS" and ids == {edited.pk}  # purged, and rendered afresh
    assert fetch(varnish, elsewhere)[1] == "HIT"  # a tile elsewhere stays
    assert fetch(varnish, touched)[1] == "HIT"  # and the fresh tile is kept again


def test_a_purge_while_the_front_is_down_is_retried_when_it_is_back(front, zones):
    varnish, worker_env = front
    layer, edited, far = zones
    before = path_of(edited.geom)
    assert fetch(varnish, before)[1] == "MISS" and fetch(varnish, before)[1] == "HIT"

    varnish.halt()  # the front is down: its port refuses connections
    move(layer, edited, LON + 0.01)  # leaves its tile
    assert Feature.objects.get(pk=edited.pk).geom.extent[0] == pytest.approx(LON + 0.01)  # the edit committed
    run_worker_once(worker_env)
    assert tile_jobs() == [("tiles.purge_front", "todo", 1)]  # failed once, waiting for its retry: not lost

    varnish.start()  # back on the same address
    varnish.wait_ready()
    for _ in range(60):  # the retry is due a second or two after the failure
        run_worker_once(worker_env)
        if tile_jobs()[0][1] != "todo":
            break
    assert [job[:2] for job in tile_jobs()] == [("tiles.purge_front", "succeeded")]
    assert tile_jobs()[0][2] >= 1
    status, headers, body = get(varnish.base + before)
    assert status == 204 or ids_in(body) == set()  # the tile without the feature, whatever the front held


def session_cookie(user) -> str:
    """A signed-in browser's Cookie header for this user (a real session in the configured store)."""
    from django.test import Client

    browser = Client()
    browser.force_login(user)
    return f"sessionid={browser.cookies['sessionid'].value}"


def get_with(url: str, cookie: str = "") -> tuple[int, dict[str, str], bytes]:
    import urllib.error
    import urllib.request

    request = urllib.request.Request(url, headers={"Cookie": cookie} if cookie else {})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def test_restricted_tiles_never_reach_the_front_cache(front):
    varnish, _ = front
    secret = make_layer(slug="secret", is_public=False, max_zoom=20)
    feature = make_feature(secret, square(LON, LAT, 0.0004))
    tile = next(tiles_in(feature.geom.extent, Z))
    url = f"{varnish.base}/tiles/secret/{tile.z}/{tile.x}/{tile.y}.pbf"
    cookie = session_cookie(User.objects.create_superuser("secret-admin"))

    answers = [get_with(url, cookie) for _ in range(2)]
    assert [status for status, _, _ in answers] == [200, 200]
    assert all(h["X-Cache"] == "MISS" and h["Cache-Control"].startswith("private") for _, h, _ in answers)
    assert all("Surrogate-Key" not in h for _, h, _ in answers)
    status, headers, _ = get_with(url)  # a visitor without the session
    assert status == 404 and headers["X-Cache"] == "MISS"


def test_a_layer_made_restricted_leaves_the_front(front, zones):
    varnish, worker_env = front
    layer, edited, _ = zones
    path = path_of(edited.geom)
    assert fetch(varnish, path)[1] == "MISS" and fetch(varnish, path)[1] == "HIT"

    layer.is_public = False
    layer.save()
    run_worker_once(worker_env)

    assert [job[:2] for job in tile_jobs()] == [("tiles.purge_front", "succeeded")]
    status, headers, _ = get(varnish.base + path)
    assert status == 404 and headers["X-Cache"] == "MISS"  # the public copy was purged with the layer's tag
