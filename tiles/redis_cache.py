"""The tile cache on the shared Redis (layers/shared_store.py): one cache for every web node.

Keys (under the deployment's prefix, see shared_store.key):
    tile:{p|r}:{layers}:{z}:{x}:{y}   ETag (16 ASCII bytes) + gzip body; b"" for an empty tile. With a TTL:
                                      Redis runs volatile-lru, so only these are ever evicted.
    tidx:{layer_id}:{z}               sorted set of "{0|1}|{layers}|{x}|{y}" scored by x: what invalidation
                                      enumerates (no TTL: never evicted; entries whose tile expired are
                                      dropped when an invalidation or keys() meets them).
    tgen:{layer_id}                   the layer's generation (INCRBY a random step, so a Redis that lost it never
                                      comes back to a value a render in flight holds; no TTL, never deleted).

A render takes the generations of its layers (the token) before reading data; put stores the tile and its
index entries in one Lua script only if every generation is still the token's. Invalidation INCRs the
generation first, then removes the indexed tiles in the boxes: a put that ran before the INCR is in the
index and is found; one after is refused. No clock anywhere.

Redis down: get/put skip the cache (the tile is rendered and served, never a 500) and, for a few seconds,
are not tried again (a dead TCP peer would cost every tile its connect time-out); invalidate raises
CacheUnavailable, and services queues it for retry.
"""
import logging
import secrets
from collections.abc import Iterator, Sequence

import redis

from layers import shared_store
from tiles import conf
from tiles.cache import ETAG_LEN, Box, CachedTile, CacheUnavailable, TileCache, TileKey, _margin_ranges
from tiles.coords import MAX_ZOOM

log = logging.getLogger(__name__)
_NS = {False: "p", True: "r"}

# KEYS: tile, index keys (n), generation keys (n); ARGV: value, ttl, member, score, expected generations (n).
_PUT = """
local n = (#KEYS - 1) / 2
for i = 1, n do
  if (redis.call('GET', KEYS[1 + n + i]) or '0') ~= ARGV[4 + i] then return 0 end
end
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
for i = 1, n do redis.call('ZADD', KEYS[1 + i], ARGV[4], ARGV[3]) end
return 1
"""


class RedisCache(TileCache):
    """Tiles in the shared Redis with per-layer generations; `location` is unused (settings.REDIS_URL)."""

    def __init__(self, location: str = ""):
        super().__init__(location)
        self._script = None

    # --- keys ----------------------------------------------------------------------------------------

    @staticmethod
    def _tile_key(key: TileKey) -> str:
        return shared_store.key("tile", _NS[key.restricted], key.layers, key.z, key.x, key.y)

    @staticmethod
    def _index_key(layer_id: int, z: int) -> str:
        return shared_store.key("tidx", layer_id, z)

    @staticmethod
    def _gen_key(layer_id: int) -> str:
        return shared_store.key("tgen", layer_id)

    @staticmethod
    def _member(key: TileKey) -> str:
        return f"{int(key.restricted)}|{key.layers}|{key.x}|{key.y}"

    @staticmethod
    def _from_member(member: bytes, z: int) -> TileKey:
        restricted, layers, x, y = member.decode().split("|")
        return TileKey(restricted == "1", layers, z, int(x), int(y))

    # --- availability --------------------------------------------------------------------------------

    @staticmethod
    def _client() -> redis.Redis | None:
        """The client, or None while Redis is taken to be down (layers/shared_store keeps that, for every caller)."""
        return None if shared_store.is_down() else shared_store.client()

    @staticmethod
    def _failed(error: Exception) -> None:
        shared_store.mark_down("the tile cache (tiles are rendered without it)", error, log)

    # --- reads and writes ----------------------------------------------------------------------------

    def get(self, key):
        client = self._client()
        if client is None:
            return None
        try:
            data = client.get(self._tile_key(key))
        except redis.RedisError as error:
            self._failed(error)
            return None
        if data is None:
            return None
        if not data:
            return CachedTile(b"", "")
        return CachedTile(data[ETAG_LEN:], data[:ETAG_LEN].decode("ascii"))

    def token(self, key):
        client = self._client()
        if client is None:
            return None
        try:
            values = client.mget([self._gen_key(i) for i in key.layer_ids])
        except redis.RedisError as error:
            self._failed(error)
            return None
        return tuple((value or b"0").decode() for value in values)

    def put(self, key, tile, token):
        client = self._client()
        if client is None or token is None:
            return False
        ids = key.layer_ids
        value = tile.etag.encode("ascii") + tile.body if tile.body else b""
        keys = [self._tile_key(key), *(self._index_key(i, key.z) for i in ids), *(self._gen_key(i) for i in ids)]
        try:
            if self._script is None:
                self._script = client.register_script(_PUT)
            stored = self._script(keys=keys, args=[value, max(1, conf.cache_ttl()), self._member(key), key.x, *token],
                                  client=client)
        except redis.RedisError as error:
            self._failed(error)
            return False
        return bool(stored)

    # --- invalidation --------------------------------------------------------------------------------

    def invalidate(self, layer_id, bounds, margin):
        try:
            client = shared_store.client()  # tried even while paused: an invalidation must not be skipped
            # First: a render under way will not store its old tile.
            client.incrby(self._gen_key(layer_id), secrets.randbelow(2 ** 31) + 1)
            found = self._indexed(client, layer_id, bounds, margin)
            return self._remove(client, found)
        except redis.RedisError as error:
            self._failed(error)
            raise CacheUnavailable(str(error)) from error

    def _indexed(self, client: redis.Redis, layer_id: int, bounds: Sequence[Box], margin: float) -> list[TileKey]:
        """The indexed tiles of the layer in the boxes, at every zoom (one round trip)."""
        pipe, asked = client.pipeline(transaction=False), []
        for z in range(MAX_ZOOM + 1):
            for x0, x1, y0, y1 in _margin_ranges(bounds, z, margin):
                pipe.zrangebyscore(self._index_key(layer_id, z), x0, x1)
                asked.append((z, y0, y1))
        found: dict[TileKey, None] = {}
        for (z, y0, y1), members in zip(asked, pipe.execute()):
            for member in members:
                key = self._from_member(member, z)
                if y0 <= key.y <= y1:
                    found[key] = None
        return list(found)

    def _remove(self, client: redis.Redis, keys: list[TileKey]) -> list[TileKey]:
        """Deletes the tiles and their index entries in every layer's index; returns those that existed."""
        if not keys:
            return []
        pipe = client.pipeline(transaction=False)
        for key in keys:
            pipe.delete(self._tile_key(key))
            for i in key.layer_ids:
                pipe.zrem(self._index_key(i, key.z), self._member(key))
        results = pipe.execute()
        stride = [1 + len(key.layer_ids) for key in keys]
        removed, at = [], 0
        for key, step in zip(keys, stride):
            if results[at]:
                removed.append(key)
            at += step
        return removed

    # --- listing -------------------------------------------------------------------------------------

    def keys(self) -> Iterator[TileKey]:
        """Every cached tile (index entries whose tile has expired are dropped on the way)."""
        client = shared_store.client()
        seen: set[TileKey] = set()
        for index in client.scan_iter(match=shared_store.key("tidx", "*"), count=500):
            z = int(index.decode().rsplit(":", 1)[1])
            members = client.zrange(index, 0, -1)
            keys = [self._from_member(member, z) for member in members]
            pipe = client.pipeline(transaction=False)
            for key in keys:
                pipe.exists(self._tile_key(key))
            for member, key, exists in zip(members, keys, pipe.execute()):
                if not exists:
                    client.zrem(index, member)
                elif key not in seen:
                    seen.add(key)
                    yield key

    def clear(self) -> None:
        """Removes every tile and index entry (generations stay: a token from before must stay stale)."""
        client = shared_store.client()
        for pattern in ("tile", "tidx"):
            batch = list(client.scan_iter(match=shared_store.key(pattern, "*"), count=1000))
            for start in range(0, len(batch), 1000):
                client.delete(*batch[start:start + 1000])
