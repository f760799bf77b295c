"""The process's Redis client (settings.REDIS_URL), for what every web node must share and PostgreSQL must
not be written for: rate counters, token use, page cursors, the tile cache's store and generations.

Keys are named through key(), which puts the deployment's prefix first (the database name; under pytest the
test database's), so test runs never read the portal's counters or tiles. Redis being down is the caller's
to handle: each caller says what it does then (count nothing, cache nothing), never a failed request.
"""
import functools

import redis
from django.conf import settings

# Short time-outs: Redis answers in well under a millisecond; one that does not is treated as down.
TIMEOUT_SECONDS = 1.0


@functools.cache
def _client(url: str) -> redis.Redis:
    return redis.Redis.from_url(url, socket_timeout=TIMEOUT_SECONDS, socket_connect_timeout=TIMEOUT_SECONDS,
                                health_check_interval=30)


def client() -> redis.Redis:
    """The shared client (a connection pool; safe across threads)."""
    return _client(settings.REDIS_URL)


def key(*parts: object) -> str:
    """'{prefix}:part:part…' for this deployment."""
    return ":".join([settings.CACHE_KEY_PREFIX, *map(str, parts)])
