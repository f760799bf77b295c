"""The one counter every rate limit uses: units per caller in a window that opens at the caller's first
request, kept in Redis so every worker and web node counts into the same key.

A window opens when a caller's key is first counted and closes `seconds` later, when Redis forgets the key.
Windows that turn on the clock (units per clock minute) would make a limit hold or not by where the clock
happens to be: a burst that spans the turn is counted in two windows. Here the same burst meets the same
limit whenever it comes, Retry-After is the key's exact time to live, and callers limited at the same time
do not all come back on the same clock second.
Redis down: nothing is counted (layers.shared_store.attempt fails open).
"""
import logging
from dataclasses import dataclass

from layers import shared_store

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Counted:
    count: int  # units counted in the caller's window, this request's included
    resets_in: int  # seconds until the window closes (at least 1)


def redis_key(namespace: str, name: str, seconds: int) -> str:
    """The key of one caller's window (its length in it: changing the setting starts every caller afresh)."""
    return shared_store.key(namespace, seconds, name)


def hit(namespace: str, name: str, seconds: int, cost: int = 1, *, logger: logging.Logger = log) -> Counted:
    """Counts `cost` units for `name` in its window, opening one if it has none."""
    key = redis_key(namespace, name, seconds)

    def count(client) -> Counted:
        # One MULTI, so every node's count lands in the same window: SET NX opens a window with its end only
        # when none is open, INCRBY keeps that end.
        pipe = client.pipeline(transaction=True)
        pipe.set(key, 0, ex=seconds, nx=True)
        pipe.incrby(key, cost)
        pipe.ttl(key)
        _, total, ttl = pipe.execute()
        if ttl < 0:  # the window ended between SET and INCRBY, which made a key with no end: this count opens one
            client.expire(key, seconds)
            ttl = seconds
        return Counted(int(total), max(1, int(ttl)))

    return shared_store.attempt(f"{namespace} limits", count, Counted(0, seconds), logger=logger)


def peek(namespace: str, name: str, seconds: int, *, logger: logging.Logger = log) -> int:
    """Units counted for `name` in its open window (0 when it has none)."""
    key = redis_key(namespace, name, seconds)
    return int(shared_store.attempt(f"{namespace} limits", lambda client: client.get(key) or 0, 0, logger=logger))
