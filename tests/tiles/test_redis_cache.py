"""The Redis tile cache: generations instead of clocks, exact invalidation through its index, TTLs that let
Redis evict tiles only, and an unreachable Redis costing neither a tile nor an edit."""
import json

import pytest
from django.db import connection

from layers import shared_store
from layers.services import features_changed
from tests.factories import make_feature, make_layer, make_parcel_layer, square
from tiles.cache import CachedTile, CacheUnavailable, TileKey, get_cache
from tiles.coords import tiles_in
from tiles.redis_cache import RedisCache

pytestmark = pytest.mark.django_db

LON, LAT = 106.7700, 10.8500
WORLD = [(-180.0, -85.0, 180.0, 85.0)]


@pytest.fixture
def redis_cache(settings):
    settings.GISPORTAL_TILE_CACHE_BACKEND = "tiles.redis_cache.RedisCache"
    cache = get_cache()
    assert isinstance(cache, RedisCache)
    cache.clear()
    yield cache
    cache.clear()


@pytest.fixture
def dead_redis(settings):
    """Redis at an address where nothing listens (a closed TCP port)."""
    from tests.faults.cluster import free_port

    settings.GISPORTAL_TILE_CACHE_BACKEND = "tiles.redis_cache.RedisCache"
    settings.REDIS_URL = f"redis://127.0.0.1:{free_port()}/0"
    return RedisCache()


def url(slugs, tile):
    return f"/tiles/{slugs}/{tile.z}/{tile.x}/{tile.y}.pbf"


def test_a_put_with_a_token_from_before_an_invalidation_is_refused(redis_cache):
    key = TileKey(False, "900001-abc", 16, 1, 2)
    token = redis_cache.token(key)
    redis_cache.invalidate(900001, WORLD, 0.0)  # a commit lands while the render runs

    assert redis_cache.put(key, CachedTile.from_body(b"old"), token) is False
    assert redis_cache.get(key) is None
    assert redis_cache.put(key, CachedTile.from_body(b"new"), redis_cache.token(key)) is True
    assert redis_cache.get(key) == CachedTile.from_body(b"new")


def test_a_token_is_per_layer_and_any_layer_of_a_multi_layer_tile_stales_it(redis_cache):
    both = TileKey(False, "900001-abc,900002-def", 16, 1, 2)
    token = redis_cache.token(both)
    redis_cache.invalidate(900003, WORLD, 0.0)  # another layer: no effect
    assert redis_cache.put(both, CachedTile.from_body(b"a"), token) is True

    token = redis_cache.token(both)
    redis_cache.invalidate(900002, [(170.0, 80.0, 171.0, 81.0)], 0.0)  # elsewhere, but the generation moved
    assert redis_cache.put(both, CachedTile.from_body(b"b"), token) is False


def test_invalidation_removes_exactly_the_indexed_tiles_in_the_box_from_every_layer_index(redis_cache):
    inside = [TileKey(False, "900001-abc,900002-def", 20, 843000 + i, 492000) for i in range(3)]
    outside = TileKey(False, "900001-abc,900002-def", 20, 10, 10)
    restricted = TileKey(True, "900001-abc", 20, 843001, 492000)
    for key in [*inside, outside, restricted]:
        assert redis_cache.put(key, CachedTile.from_body(b"x"), redis_cache.token(key))

    # Millions of z20 tiles lie in this box: the index is read by column range, not the box enumerated.
    removed = redis_cache.invalidate(900002, [(100.0, 0.0, 120.0, 30.0)], 64 / 4096)

    assert sorted(removed, key=lambda k: k.x) == inside
    assert set(redis_cache.keys()) == {outside, restricted}
    client = shared_store.client()
    members = {m.decode() for m in client.zrange(shared_store.key("tidx", 900001, 20), 0, -1)}
    assert members == {"0|900001-abc,900002-def|10|10", "1|900001-abc|843001|492000"}  # gone from both indexes


def test_tiles_have_a_ttl_index_and_generations_do_not(redis_cache, settings):
    settings.GISPORTAL_TILE_CACHE_TTL = 600
    key = TileKey(False, "900001-abc", 16, 1, 2)
    redis_cache.put(key, CachedTile.from_body(b"x"), redis_cache.token(key))
    redis_cache.invalidate(900001, [(170.0, 80.0, 171.0, 81.0)], 0.0)
    client = shared_store.client()

    assert 0 < client.ttl(shared_store.key("tile", "p", "900001-abc", 16, 1, 2)) <= 600
    assert client.ttl(shared_store.key("tidx", 900001, 16)) == -1  # volatile-lru never evicts it
    assert client.ttl(shared_store.key("tgen", 900001)) == -1


def test_clear_keeps_generations(redis_cache):
    key = TileKey(False, "900001-abc", 16, 1, 2)
    token = redis_cache.token(key)
    redis_cache.invalidate(900001, WORLD, 0.0)
    redis_cache.clear()

    assert redis_cache.put(key, CachedTile.from_body(b"old"), token) is False


def test_tiles_through_the_view_are_cached_and_an_edit_removes_them(client, redis_cache, django_assert_num_queries):
    layer = make_parcel_layer(slug="parcels")
    feature = make_feature(layer, square(LON, LAT), {"ward_code": "26800", "map_sheet": 1, "parcel_no": 1,
                                                     "land_use": "ODT", "legal_area": 100.0})
    layer.refresh_from_db()
    tile = next(tiles_in(layer.extent.extent, 16))
    first = client.get(url("parcels", tile))
    with django_assert_num_queries(1):  # the catalog only: the tile came from Redis
        second = client.get(url("parcels", tile))
    assert first.status_code == second.status_code == 200 and first.content == second.content
    assert list(redis_cache.keys()) == [TileKey(False, next(iter(redis_cache.keys())).layers, tile.z, tile.x, tile.y)]

    features_changed(layer=layer, bounds=[feature.geom.extent])

    assert list(redis_cache.keys()) == []


def test_redis_down_renders_tiles_without_the_cache(client, dead_redis):
    layer = make_layer(slug="zones")
    make_feature(layer, square(LON, LAT))
    layer.refresh_from_db()
    tile = next(tiles_in(layer.extent.extent, 16))

    responses = [client.get(url("zones", tile)) for _ in range(2)]

    assert [r.status_code for r in responses] == [200, 200]
    assert responses[0].content == responses[1].content and responses[0].content


def test_redis_down_the_edit_goes_on_and_its_invalidation_is_queued(dead_redis):
    layer = make_layer(slug="zones")
    feature = make_feature(layer, square(LON, LAT))
    with pytest.raises(CacheUnavailable):
        dead_redis.invalidate(layer.pk, WORLD, 0.0)

    features_changed(layer=layer, bounds=[feature.geom.extent])

    with connection.cursor() as cursor:
        cursor.execute("SELECT args FROM procrastinate_jobs WHERE task_name = 'tiles.invalidate_shared_cache' "
                       "AND status = 'todo'")
        args = [json.loads(row[0]) if isinstance(row[0], str) else row[0] for row in cursor.fetchall()]
    assert [a["layer_id"] for a in args] == [layer.pk]
    assert args[0]["boxes"] == [list(feature.geom.extent)]
