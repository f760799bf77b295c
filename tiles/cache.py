"""The tile cache: gzip-compressed tiles with their ETag, and exact invalidation by area.

Backends: RedisCache (tiles/redis_cache.py, the default when Redis is configured: shared by every node),
DiskCache (one host, or a shared volume), MemoryCache (one process), NoCache.

Layout of DiskCache (under GISPORTAL_TILE_CACHE_DIR):
    {root}/{public|restricted}/{layers}/{z}/{x}/{y}.mvt   16 ASCII bytes of ETag, then the gzip body
    {root}/_marks/{layer_id}                              one byte appended per invalidation: its size is the
                                                          layer's generation
`{layers}` is "id-signature" of each catalog layer joined by commas, in the request's order, so a
multi-layer tile is found from any of its layers, and a layer whose fields or zoom range change
gets fresh keys. Restricted layers live under their own root: nothing there is looked up for a
request that has not passed the access check for every layer in it.

Races: a tile rendered from a snapshot older than a change must not be written after the change
deleted it. Before reading data a render takes an opaque token from the cache (the generations of its
layers); invalidation first moves the layer's generation on and then deletes; a put whose token is no
longer current is dropped. No clock is read, so no clock of one host is compared with another's.
Invalidation runs inside the writing transaction and again right after it commits (see services).
"""
import hashlib
import itertools
import os
import threading
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from django.utils.module_loading import import_string

from tiles import conf
from tiles.coords import MAX_ZOOM, tile_range

Box = tuple[float, float, float, float]
ETAG_LEN = 16
_TMP_COUNTER = itertools.count()
_TMP_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)


@dataclass(frozen=True, slots=True)
class TileKey:
    restricted: bool
    layers: str  # "12-ab12cd34,15-0011aabb"
    z: int
    x: int
    y: int

    @property
    def layer_ids(self) -> tuple[int, ...]:
        return layer_ids_of(self.layers)


@dataclass(frozen=True, slots=True)
class CachedTile:
    body: bytes  # gzip-compressed MVT; b"" for a tile with no features (answered 204)
    etag: str  # hex digest of the body; "" for an empty tile

    @classmethod
    def from_body(cls, body: bytes) -> "CachedTile":
        etag = hashlib.blake2b(body, digest_size=ETAG_LEN // 2).hexdigest() if body else ""
        return cls(body, etag)


def layer_ids_of(layers: str) -> tuple[int, ...]:
    """The catalog ids in a cache key's layer part."""
    return tuple(int(part.split("-", 1)[0]) for part in layers.split(","))


def _margin_ranges(bounds: Sequence[Box], z: int, margin: float) -> list[tuple[int, int, int, int]]:
    return [tile_range(box, z, margin) for box in bounds]


class CacheUnavailable(Exception):
    """The shared cache could not be reached: reads and writes skip it; an invalidation must be retried."""


class TileCache:
    """The interface every backend offers; built with the configured location (a folder for DiskCache)."""

    def __init__(self, location: str | os.PathLike = ""):
        self.location = location

    def get(self, key: TileKey) -> CachedTile | None:
        raise NotImplementedError

    def token(self, key: TileKey) -> object:
        """An opaque mark of the state of the key's layers, taken before the render reads any data."""
        raise NotImplementedError

    def put(self, key: TileKey, tile: CachedTile, token: object) -> bool:
        """Stores a tile rendered after `token` was taken; False (not stored) when one of its layers
        was invalidated since then, or the cache cannot be reached."""
        raise NotImplementedError

    def invalidate(self, layer_id: int, bounds: Sequence[Box], margin: float) -> list[TileKey]:
        """Removes exactly the cached tiles of any layer set with this layer that the WGS 84 boxes
        touch (each tile grown by `margin` tile widths), at every zoom; returns what it removed.
        Raises CacheUnavailable when it could not (the caller retries it later: see services)."""
        raise NotImplementedError

    def keys(self) -> Iterator[TileKey]:
        raise NotImplementedError

    def clear(self) -> None:
        raise NotImplementedError


class NoCache(TileCache):
    """Caches nothing: every tile is rendered."""

    def get(self, key):
        return None

    def token(self, key):
        return None

    def put(self, key, tile, token):
        return False

    def invalidate(self, layer_id, bounds, margin):
        return []

    def keys(self):
        return iter(())

    def clear(self):
        pass


class MemoryCache(TileCache):
    """One process's dictionary: for tests and single-process runs (other processes' edits do not reach it)."""

    def __init__(self, location: str | os.PathLike = ""):
        super().__init__(location)
        self._tiles: dict[TileKey, CachedTile] = {}
        self._marks: dict[int, int] = {}
        self._lock = threading.Lock()

    def get(self, key):
        return self._tiles.get(key)

    def token(self, key):
        return tuple(self._marks.get(i, 0) for i in key.layer_ids)

    def put(self, key, tile, token):
        with self._lock:
            if self.token(key) != token:
                return False
            self._tiles[key] = tile
            return True

    def invalidate(self, layer_id, bounds, margin):
        with self._lock:
            self._marks[layer_id] = self._marks.get(layer_id, 0) + 1
            removed = []
            for key in list(self._tiles):
                if layer_id in key.layer_ids and any(
                    x0 <= key.x <= x1 and y0 <= key.y <= y1 for x0, x1, y0, y1 in _margin_ranges(bounds, key.z, margin)
                ):
                    del self._tiles[key]
                    removed.append(key)
            return removed

    def keys(self):
        return iter(list(self._tiles))

    def clear(self):
        with self._lock:
            self._tiles.clear()


class DiskCache(TileCache):
    """Tiles as files: shared by every server process of a host (or a shared volume), survives restarts,
    a cheap stat to find. Generations are the sizes of append-only mark files: no clock involved."""

    _NAMESPACES = {False: "public", True: "restricted"}
    _DIRECT_LIMIT = 256  # up to this many candidate tiles in a column are unlinked by name; more: listed

    def __init__(self, location: str | os.PathLike):
        super().__init__(location)
        self.root = Path(location)

    # --- paths ---------------------------------------------------------------------------------------

    def _dir(self, key: TileKey) -> str:
        return os.path.join(self.root, self._NAMESPACES[key.restricted], key.layers, str(key.z), str(key.x))

    def _path(self, key: TileKey) -> str:
        return os.path.join(self._dir(key), f"{key.y}.mvt")

    def _mark_path(self, layer_id: int) -> str:
        return os.path.join(self.root, "_marks", str(layer_id))

    def _generation(self, layer_id: int) -> int:
        try:
            return os.stat(self._mark_path(layer_id)).st_size
        except FileNotFoundError:
            return 0

    def _stamp(self, layer_id: int) -> None:
        """Moves the layer's generation on: one byte appended (O_APPEND: concurrent stamps both count)."""
        path = self._mark_path(layer_id)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        handle = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        try:
            os.write(handle, b".")
        finally:
            os.close(handle)

    # --- reads and writes ----------------------------------------------------------------------------

    def get(self, key):
        try:
            with open(self._path(key), "rb", buffering=0) as handle:  # one read of the whole file
                data = handle.readall()
        except (FileNotFoundError, NotADirectoryError):
            return None
        if not data:
            return CachedTile(b"", "")
        return CachedTile(data[ETAG_LEN:], data[:ETAG_LEN].decode("ascii"))

    def token(self, key):
        return tuple(self._generation(i) for i in key.layer_ids)

    def _stale(self, key: TileKey, token: object) -> bool:
        return self.token(key) != token

    def put(self, key, tile, token):
        if self._stale(key, token):
            return False
        path = self._path(key)
        # A temporary name of our own (process, thread, counter) opened exclusively: mkstemp's random
        # names and makedirs' checks cost a cold tile a tenth of its Python time; the folder is made
        # only when the open finds it missing.
        tmp = f"{path}.{os.getpid()}-{threading.get_ident()}-{next(_TMP_COUNTER)}.tmp"
        try:
            handle = os.open(tmp, _TMP_FLAGS, 0o644)
        except FileNotFoundError:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            handle = os.open(tmp, _TMP_FLAGS, 0o644)
        try:
            try:
                if tile.body:
                    os.write(handle, tile.etag.encode("ascii") + tile.body)
            finally:
                os.close(handle)
            os.replace(tmp, path)
        except BaseException:
            self._unlink(tmp)
            raise
        if self._stale(key, token):  # an invalidation ran while we wrote: it may have missed us
            self._unlink(path)
            return False
        return True

    @staticmethod
    def _unlink(path: str) -> bool:
        try:
            os.unlink(path)
            return True
        except (FileNotFoundError, NotADirectoryError):
            return False

    # --- invalidation --------------------------------------------------------------------------------

    @staticmethod
    def _subdirs(path: str) -> list[str]:
        try:
            return [entry.name for entry in os.scandir(path) if entry.is_dir() and not entry.name.startswith(".")]
        except (FileNotFoundError, NotADirectoryError):
            return []

    def _layer_sets(self, layer_id: int) -> Iterator[tuple[bool, str]]:
        for restricted, namespace in self._NAMESPACES.items():
            for layers in self._subdirs(os.path.join(self.root, namespace)):
                try:
                    if layer_id in layer_ids_of(layers):
                        yield restricted, layers
                except ValueError:
                    continue

    def invalidate(self, layer_id, bounds, margin):
        self._stamp(layer_id)  # first: a render already under way will not store its (old) tile
        removed: list[TileKey] = []
        for restricted, layers in self._layer_sets(layer_id):
            base = os.path.join(self.root, self._NAMESPACES[restricted], layers)
            for z_name in self._subdirs(base):
                if not z_name.isdigit() or int(z_name) > MAX_ZOOM:
                    continue
                z = int(z_name)
                for x0, x1, y0, y1 in _margin_ranges(bounds, z, margin):
                    removed.extend(self._remove_block(restricted, layers, z, x0, x1, y0, y1))
        return removed

    def _remove_block(self, restricted: bool, layers: str, z: int, x0: int, x1: int, y0: int, y1: int) -> list[TileKey]:
        """Unlinks the cached tiles in a block of columns x0..x1 and rows y0..y1 at zoom z: by name when
        the block is small, else by listing only what the cache holds there (a big box at z20 names
        millions of tiles; the cache holds a few)."""
        removed = []
        z_dir = os.path.join(self.root, self._NAMESPACES[restricted], layers, str(z))
        columns = range(x0, x1 + 1) if x1 - x0 < self._DIRECT_LIMIT else [
            int(name) for name in self._subdirs(z_dir) if name.isdigit() and x0 <= int(name) <= x1]
        for x in columns:
            x_dir = os.path.join(z_dir, str(x))
            if y1 - y0 < self._DIRECT_LIMIT:
                rows: Iterable[int] = range(y0, y1 + 1)
            else:
                try:
                    rows = [int(e.name[:-4]) for e in os.scandir(x_dir) if e.name.endswith(".mvt") and e.name[:-4].isdigit()]
                except (FileNotFoundError, NotADirectoryError):
                    continue
                rows = [y for y in rows if y0 <= y <= y1]
            for y in rows:
                if self._unlink(os.path.join(x_dir, f"{y}.mvt")):
                    removed.append(TileKey(restricted, layers, z, x, y))
        return removed

    def keys(self):
        for restricted, namespace in self._NAMESPACES.items():
            ns_dir = os.path.join(self.root, namespace)
            for layers in self._subdirs(ns_dir):
                for z in self._subdirs(os.path.join(ns_dir, layers)):
                    for x in self._subdirs(os.path.join(ns_dir, layers, z)):
                        for entry in os.scandir(os.path.join(ns_dir, layers, z, x)):
                            if entry.name.endswith(".mvt") and not entry.name.startswith("."):
                                yield TileKey(restricted, layers, int(z), int(x), int(entry.name[:-4]))

    def clear(self):
        import shutil

        for namespace in self._NAMESPACES.values():
            shutil.rmtree(os.path.join(self.root, namespace), ignore_errors=True)


_instances: dict[tuple[str, str], TileCache] = {}


def get_cache() -> TileCache:
    """The configured backend (one instance per backend and location)."""
    backend, location = conf.cache_backend(), conf.cache_dir()
    cache = _instances.get((backend, location))
    if cache is None:
        cache = _instances[(backend, location)] = import_string(backend)(location)
    return cache
