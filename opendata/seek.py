"""Offset-to-cursor memory for OGC items pages: sequential offset reads become keyset reads.

A client that walks `offset=0,1000,2000…` by itself (not following the signed next links, which carry
`after` and need no memory) reads on from the previous page's last id instead of making PostgreSQL skip
every row before the offset again. The memory is a Redis key with a time to live, so a public GET writes
nothing to PostgreSQL; Redis down only costs the slower page.
"""
import hashlib
import json

from layers import shared_store
from opendata import sharedstate
from opendata.query import FeatureQuery

# A crawl that pauses longer than this reads its next page the slow way.
TTL_SECONDS = 600


def _key(q: FeatureQuery, offset: int) -> str | None:
    """The query's identity at one offset on this layer version; None when the order is not by id alone."""
    if q.sortby or offset <= 0:
        return None
    layer = q.layer
    # Everything that decides which rows match and in what order (FeatureQuery's fields but the output-only
    # crs and properties, and after_id, which this resolves): a past state (as_of) or another user's hidden
    # fields make another sequence of rows, whose cursor must never serve this one.
    identity = [layer.pk, str(layer.last_changed), layer.feature_count, q.bbox, q.bbox_crs.srid, q.bbox_crs.lat_first,
                repr(q.cql), q.filter_crs.srid, q.filter_crs.lat_first, q.equals, q.as_of.isoformat() if q.as_of else None,
                sorted(q.hidden or ()), [spec["name"] for spec in q.fields], offset]
    return hashlib.sha256(json.dumps(identity, default=str).encode()).hexdigest()


def redis_key(digest: str) -> str:
    """The Redis key of one query's cursor at one offset."""
    return shared_store.key("seek", digest)


def resolve(q: FeatureQuery, offset: int) -> None:
    """Sets q.after_id when the page before `offset` was served for the same query and layer version."""
    key = None if q.after_id is not None else _key(q, offset)
    if key is None:
        return
    value = sharedstate.run("page cursors", lambda client: client.get(redis_key(key)), None)
    if value is not None:
        q.after_id = int(value)


def remember(q: FeatureQuery, next_offset: int, last_id: int | None) -> None:
    """Records where the page at next_offset starts (after last_id)."""
    key = _key(q, next_offset)
    if key is None or last_id is None:
        return
    # NX: the first page served fixes where the next one starts (the same query on the same layer version
    # always ends its page on the same id, so a second writer would only repeat it).
    sharedstate.run("page cursors", lambda client: client.set(redis_key(key), int(last_id), ex=TTL_SECONDS, nx=True),
                    None)

