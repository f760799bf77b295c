"""Two web nodes sharing the Redis tile cache: a tile one node cached is served by the other, and a change
removes it for both (two nodes invalidating each other's cache), with no clock compared between them."""
import gzip

import mapbox_vector_tile
import pytest
from django.contrib.auth.models import User

from layers.editing import feature_update
from tests.cluster.tile_front import node_env, start_node
from tests.factories import make_feature, make_layer, square
from tests.faults.cluster import get
from tiles.cache import TileKey
from tiles.coords import tiles_in
from tiles.redis_cache import RedisCache

pytestmark = pytest.mark.django_db(transaction=True)
LON, LAT = 106.7700, 10.8500


def ids_in(body: bytes) -> set[int]:
    """The feature ids of the MVT layer 'zones' in a tile body (gunzipped if needed)."""
    if body[:2] == b"\x1f\x8b":
        body = gzip.decompress(body)
    return {f["id"] for f in mapbox_vector_tile.decode(body).get("zones", {}).get("features", [])}


@pytest.fixture
def nodes(tmp_path):
    cache = RedisCache()
    cache.clear()
    started = []
    try:
        for _ in range(2):
            started.append(start_node(node_env(tmp_path)))
        yield started
    finally:
        for node in started:
            node.stop()
        cache.clear()


def test_two_nodes_share_the_cache_and_invalidate_each_others_tiles(nodes):
    node_a, node_b = nodes
    layer = make_layer(slug="zones", max_zoom=20)
    moved = make_feature(layer, square(LON, LAT, 0.0004))
    layer.refresh_from_db()
    tile = next(tiles_in(moved.geom.extent, 17))
    path = f"/tiles/zones/{tile.z}/{tile.x}/{tile.y}.pbf"
    cache = RedisCache()

    status_a, headers_a, body_a = get(node_a.base + path)
    assert status_a == 200 and ids_in(body_a) == {moved.pk}
    assert [(k.z, k.x, k.y) for k in cache.keys()] == [(tile.z, tile.x, tile.y)]  # node A stored it in Redis
    status_b, headers_b, _ = get(node_b.base + path)
    assert status_b == 200 and headers_b["ETag"] == headers_a["ETag"]  # node B read A's tile

    admin = User.objects.create_superuser("planner-admin")
    # The feature moves 0.01° east, out of this tile: a committed edit made outside both nodes.
    feature_update(layer=layer, feature_id=moved.pk, expected_version=moved.version, user=admin,
                   geom=square(LON + 0.01, LAT, 0.0004))

    assert list(cache.keys()) == []
    for node in (node_b, node_a):  # each node now renders the tile afresh: the feature has left it
        status, headers, body = get(node.base + path)
        assert status == 204 or (status == 200 and ids_in(body) == set()), (status, headers)
    new_tile = next(tiles_in(square(LON + 0.01, LAT, 0.0004).extent, 17))
    status, _, body = get(node_a.base + f"/tiles/zones/{new_tile.z}/{new_tile.x}/{new_tile.y}.pbf")
    assert status == 200 and ids_in(body) == {moved.pk}


def test_a_tile_rendered_before_a_change_on_another_node_is_not_stored():
    """The race guard across processes: the token is the layers' generations in Redis, so a change made by
    any node (here this process) after a render began refuses that render's put, whichever host's clock."""
    from tiles.cache import CachedTile

    cache = RedisCache()
    layer = make_layer(slug="zones")
    key = TileKey(False, f"{layer.pk}-sig", 16, 1, 2)
    token = cache.token(key)  # a node starts a render
    other_node = RedisCache()  # another process's instance: nothing shared but Redis
    other_node.invalidate(layer.pk, [(-180.0, -85.0, 180.0, 85.0)], 0.0)

    assert cache.put(key, CachedTile.from_body(b"old"), token) is False
    assert other_node.get(key) is None
