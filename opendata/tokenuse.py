"""When each API token was last used: a Redis hash (token id → unix time), never an UPDATE on a public GET.

The token page shows the later of this and ApiToken.last_used_at; the column is only written by
`manage.py token_last_use` (an operator's, non-public path), so the record survives losing Redis.
"""
import datetime as dt
import time
from collections.abc import Iterable

from layers import shared_store
from opendata import sharedstate


def _hash() -> str:
    return shared_store.key("token-last-use")


def record(*, token_id: int) -> None:
    """Notes that the token is being used now (nothing when Redis is down: only a display is lost)."""
    sharedstate.run("token last use", lambda client: client.hset(_hash(), str(token_id), int(time.time())), None)


def last_used(token_ids: Iterable[int]) -> dict[int, dt.datetime]:
    """token id → when Redis last saw it used (tokens it never saw, or all when it is down, are absent)."""
    ids = [int(token_id) for token_id in token_ids]
    if not ids:
        return {}
    values = sharedstate.run("token last use", lambda client: client.hmget(_hash(), [str(i) for i in ids]), [None] * len(ids))
    return {token_id: dt.datetime.fromtimestamp(int(value), tz=dt.timezone.utc)
            for token_id, value in zip(ids, values) if value is not None}


def with_last_use(tokens: list) -> list:
    """The tokens, each with last_used_at the later of the column and Redis (for display)."""
    seen = last_used(token.pk for token in tokens)
    for token in tokens:
        latest = seen.get(token.pk)
        if latest is not None and (token.last_used_at is None or latest > token.last_used_at):
            token.last_used_at = latest
    return tokens
