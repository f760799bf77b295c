"""The process's Redis client (settings.REDIS_URL), for what every web node must share and PostgreSQL must
not be written for: rate counters, token use, page cursors, the tile cache's store and generations.

Keys are named through key(), which puts the deployment's prefix first (the database name; under pytest the
test database's), so test runs never read the portal's counters or tiles. Redis being down is never a failed
request: attempt() gives the caller's default instead (count nothing, cache nothing, read the catalog), logs the
outage once, and leaves Redis alone for BACKOFF_SECONDS, so a dead host does not cost every request a time-out.
"""
import functools
import logging
import time
from collections.abc import Callable
from typing import TypeVar

import redis
from django.conf import settings

log = logging.getLogger(__name__)
T = TypeVar("T")

# Short time-outs: Redis answers in well under a millisecond; one that does not is treated as down.
TIMEOUT_SECONDS = 1.0
BACKOFF_SECONDS = 5.0
# Per Redis URL: when to try again (absent: it answered last time). Per URL, so a test pointing the client
# at a dead socket leaves the real one alone.
_down_until: dict[str, float] = {}


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


def is_down() -> bool:
    """True while Redis is taken to be down (a call failed less than BACKOFF_SECONDS ago)."""
    return _down_until.get(settings.REDIS_URL, 0.0) > time.monotonic()


def mark_down(what: str, error: Exception, logger: logging.Logger = log) -> None:
    """Records a failed call: logged once per outage (on the caller's logger), then Redis is left alone a while."""
    url = settings.REDIS_URL
    if url not in _down_until:
        logger.error("Redis is unreachable (%s): %s fails open until it answers: %s", url, what, error)
    _down_until[url] = time.monotonic() + BACKOFF_SECONDS


def attempt(what: str, operation: Callable[[redis.Redis], T], default: T, *, logger: logging.Logger = log) -> T:
    """operation(client), or `default` while Redis is down (never raised)."""
    if is_down():
        return default
    try:
        result = operation(client())
    except redis.RedisError as error:
        mark_down(what, error, logger)
        return default
    if _down_until.pop(settings.REDIS_URL, None) is not None:
        logger.warning("Redis answers again (%s).", settings.REDIS_URL)
    return result
