"""The tiles app's settings, each with a default (override in settings.py or the environment)."""
import os
from pathlib import Path

from django.conf import settings
from django.core.signals import setting_changed

_values: dict[str, object] = {}


def _setting(name: str, default):
    """settings.NAME, else the environment variable NAME, else the default (typed like the default).
    Read once per process (a missing setting costs an exception on every look-up) and again whenever
    a test overrides settings."""
    if name in _values:
        return _values[name]
    if hasattr(settings, name):
        value = getattr(settings, name)
    else:
        raw = os.environ.get(name)
        if raw is None or raw == "":
            value = default
        else:
            value = type(default)(raw) if not isinstance(default, bool) else raw.lower() in {"1", "true", "yes", "on"}
    _values[name] = value
    return value


def _forget(**kwargs) -> None:
    _values.clear()


setting_changed.connect(_forget, dispatch_uid="tiles.conf.forget")


def cache_backend() -> str:
    """Dotted path of the tile cache class: tiles.redis_cache.RedisCache (the default when REDIS_URL is
    set: one cache for every node), else tiles.cache.DiskCache; or MemoryCache, NoCache."""
    default = "tiles.redis_cache.RedisCache" if getattr(settings, "REDIS_URL", "") else "tiles.cache.DiskCache"
    return _setting("GISPORTAL_TILE_CACHE_BACKEND", default)


def cache_ttl() -> int:
    """Seconds a tile lives in the Redis cache unless invalidated first (a TTL also lets Redis evict it
    under memory pressure: its policy is volatile-lru, which evicts only keys with a TTL)."""
    return int(_setting("GISPORTAL_TILE_CACHE_TTL", 7 * 86400))


def cache_dir() -> str:
    """Where DiskCache keeps tiles (default var/tiles)."""
    return str(_setting("GISPORTAL_TILE_CACHE_DIR", str(Path(settings.BASE_DIR) / "var" / "tiles")))


def max_age() -> int:
    """Seconds browsers may reuse a tile without asking; 0 (default) means revalidate with the ETag
    every time, so a browser never shows a tile older than the last commit."""
    return int(_setting("GISPORTAL_TILE_MAX_AGE", 0))


def shared_max_age() -> int:
    """Seconds a shared cache (the Varnish front, a CDN) may keep a public tile: it is purged on every
    change, so this can be long (default one day); 0 leaves tiles to the browser rule alone."""
    return int(_setting("GISPORTAL_TILE_SHARED_MAX_AGE", 86400))


def front_purge_urls() -> list[str]:
    """The caching fronts to purge on a change (comma-separated URLs, e.g. http://127.0.0.1:8080/);
    empty (default): no front, nothing queued."""
    raw = _setting("GISPORTAL_FRONT_PURGE_URLS", "")
    parts = raw.split(",") if isinstance(raw, str) else list(raw)
    return [part.strip() for part in parts if part and part.strip()]


def front_purge_max_tags() -> int:
    """A change touching more tiles than this purges its layers' whole-layer tag instead (one request
    instead of thousands; the front refills from the shared cache)."""
    return int(_setting("GISPORTAL_FRONT_PURGE_MAX_TAGS", 2000))


def front_purge_timeout() -> float:
    """Seconds a purge request may take before it counts as failed (and is retried)."""
    return float(_setting("GISPORTAL_FRONT_PURGE_TIMEOUT", 5.0))


def front_purge_retry_seconds() -> int:
    """The first retry's wait after a failed purge; doubled on each attempt, up to 5 minutes."""
    return int(_setting("GISPORTAL_FRONT_PURGE_RETRY_SECONDS", 2))


def settle_seconds() -> float:
    """How long after a change its tiles are invalidated and purged once more: a node reading from a streaming
    replica that had not yet replayed the change may have cached the old tile meanwhile, and replicas further
    behind than GISPORTAL_REPLICA_MAX_LAG are not read (layers/db.py). 0 (no second pass) without a replica."""
    explicit = _setting("GISPORTAL_TILE_SETTLE_SECONDS", -1.0)
    if explicit >= 0:
        return explicit
    if "replica" not in settings.DATABASES:
        return 0.0
    return float(getattr(settings, "GISPORTAL_REPLICA_MAX_LAG", 10.0)) + 1.0


def full_detail_zoom() -> int:
    """From this zoom on a layer's tiles carry every vertex; below it, geometry is generalised to
    the tile's pixel and features smaller than a pixel are left out."""
    return int(_setting("GISPORTAL_TILE_FULL_DETAIL_ZOOM", 16))


def min_feature_pixels() -> float:
    """Below full detail, a feature whose box is smaller than this many pixels (of a 256-pixel tile)
    both ways is left out. 1 by default; raise it to thin dense layers (a 25 m parcel is 1.3 px at z13)."""
    return float(_setting("GISPORTAL_TILE_MIN_FEATURE_PIXELS", 1.0))


def pmtiles_max_zoom() -> int:
    """The deepest zoom a PMTiles archive holds (tiles/archives.py): each layer's own max zoom, capped here.
    16 by default: a z16 tile is 600 m across in the city, every vertex kept (GISPORTAL_TILE_FULL_DETAIL_ZOOM)."""
    return int(_setting("GISPORTAL_PMTILES_MAX_ZOOM", 16))


def pmtiles_delay() -> int:
    """Seconds between a change and its archives' rebuild: the changes meanwhile share the one rebuild."""
    return int(_setting("GISPORTAL_PMTILES_DELAY", 60))


def pmtiles_enabled() -> bool:
    """Whether changes queue archive rebuilds (GISPORTAL_PMTILES=0 turns them off; manage.py pmtiles still builds)."""
    return bool(_setting("GISPORTAL_PMTILES", True))


def max_layers_per_tile() -> int:
    """The most catalog layers one /tiles/a,b,…/ request may name."""
    return int(_setting("GISPORTAL_TILE_MAX_LAYERS", 20))
