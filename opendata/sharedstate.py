"""Redis calls for what public reads must remember (rate counters, token use, page cursors), failing open.

None of this is worth a failed request: when Redis is down the caller gets its `default` (admit, forget,
read on without a cursor), through layers/shared_store.attempt, which logs the outage once (here, on this
module's logger) and leaves Redis alone for a few seconds.
"""
import logging
from collections.abc import Callable
from typing import TypeVar

import redis

from layers import shared_store

log = logging.getLogger(__name__)
T = TypeVar("T")


def run(what: str, operation: Callable[[redis.Redis], T], default: T) -> T:
    """operation(client), or `default` when Redis is down (logged once per outage, never raised)."""
    return shared_store.attempt(what, operation, default, logger=log)
