"""Offset-to-cursor memory for OGC items pages (see PageCursor): sequential offset reads become keyset reads."""
import hashlib
import json
import random

from django.db import connection, transaction

from opendata.query import FeatureQuery


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


def resolve(q: FeatureQuery, offset: int) -> None:
    """Sets q.after_id when the page before `offset` was served for the same query and layer version."""
    key = None if q.after_id is not None else _key(q, offset)
    if key is None:
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT last_id FROM opendata_pagecursor WHERE key = %s AND created_at > now() - interval '10 minutes'",
                       [key])
        row = cursor.fetchone()
    if row:
        q.after_id = row[0]


def remember(q: FeatureQuery, next_offset: int, last_id: int | None) -> None:
    """Records where the page at next_offset starts (after last_id)."""
    key = _key(q, next_offset)
    if key is None or last_id is None:
        return
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL synchronous_commit = off")  # a lost entry only costs a slower page
        cursor.execute("INSERT INTO opendata_pagecursor (key, last_id, created_at) VALUES (%s, %s, now()) "
                       "ON CONFLICT (key) DO NOTHING", [key, last_id])
        if random.random() < 0.01:  # entries of old layer versions and finished crawls
            cursor.execute("DELETE FROM opendata_pagecursor WHERE created_at < now() - interval '1 hour'")
