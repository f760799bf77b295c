"""Redis calls for what public reads must remember (rate counters, token use, page cursors), failing open.

None of this is worth a failed request: when Redis is down the caller gets its `default` (admit, forget,
read on without a cursor), the outage is logged once, and Redis is left alone for BACKOFF_SECONDS so a
dead TCP host does not cost every request a connect time-out.
"""
import logging
import time
from collections.abc import Callable
from typing import TypeVar

import redis
from django.conf import settings

from layers import shared_store

log = logging.getLogger(__name__)
T = TypeVar("T")

BACKOFF_SECONDS = 5.0
# Per Redis URL: when to try again (absent: it answered last time). Per URL, so a test pointing the client
# at a dead socket leaves the real one alone.
_down_until: dict[str, float] = {}


def run(what: str, operation: Callable[[redis.Redis], T], default: T) -> T:
    """operation(client), or `default` when Redis is down (logged once per outage, never raised)."""
    url = settings.REDIS_URL
    if _down_until.get(url, 0.0) > time.monotonic():
        return default
    try:
        result = operation(shared_store.client())
    except redis.RedisError as error:
        if url not in _down_until:
            log.error("Redis is unreachable (%s): %s fails open until it answers: %s", url, what, error)
        _down_until[url] = time.monotonic() + BACKOFF_SECONDS
        return default
    if _down_until.pop(url, None) is not None:
        log.warning("Redis answers again (%s).", url)
    return result
