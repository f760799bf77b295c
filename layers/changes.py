"""The change feed: a layer's history read in commit-safe order, and the opaque cursor that marks a place in it.

A position is (xact, id): the id of the transaction that wrote a history row (layers migration 0017) and the
row's own id. Rows are served only when their transaction id is below the oldest transaction still running
(pg_snapshot_xmin): such a transaction has committed or aborted for good, so no row can later appear behind a
position already handed out. A follower therefore sees every change once, in an order that replays to the layer.
The price is that a long transaction (a big ingest) holds the feed back until it ends, which is also when its
changes become visible at all.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import json
from collections.abc import Iterator
from dataclasses import dataclass

from django.conf import settings
from django.db import connections

from layers import db
from layers.errors import InvalidParameter
from layers.models import Layer
from layers.params import GEOGRAPHIC_SRIDS

MAX_CURSOR = 200  # characters, checked before any decoding
MAX_PAGE = 10_000
MAX_BIGINT = 2**63 - 1
_cursor_ids = itertools.count(1)


@dataclass(frozen=True, order=True)
class Position:
    """A place in a layer's history: every change at or before it has been handed out."""

    xact: int
    id: int


START = Position(0, 0)


class InvalidCursor(InvalidParameter):
    code = "invalid-cursor"


def _mac(payload: str) -> str:
    key = hashlib.sha256(("gisportal.changes:" + settings.SECRET_KEY).encode()).digest()
    digest = hmac.new(key, payload.encode(), hashlib.sha256).digest()[:12]
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def encode_cursor(layer: Layer, position: Position) -> str:
    """The opaque cursor for a position in this layer's feed (signed: it cannot be edited or moved to another layer)."""
    payload = f"{layer.pk}.{position.xact}.{position.id}"
    body = base64.urlsafe_b64encode(payload.encode()).decode().rstrip("=")
    return f"{body}.{_mac(payload)}"


def _refuse(vi: str, en: str) -> InvalidCursor:
    return InvalidCursor(vi, en, parameter="since")


def decode_cursor(layer: Layer, token: str) -> Position:
    """The position a cursor marks; InvalidCursor (400) when it is malformed, altered or from another layer."""
    if not isinstance(token, str) or not token or len(token) > MAX_CURSOR or token.count(".") != 1:
        raise _refuse("Con trỏ (since) không hợp lệ: hãy dùng giá trị next_cursor mà nguồn cấp trả về, hoặc bỏ since để đọc từ đầu.",
                      "The cursor (since) is malformed: use a next_cursor value the feed returned, or omit since to read from the start.")
    body, mac = token.split(".")
    try:
        payload = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)).decode("ascii")
        layer_id, xact, row_id = (int(part) for part in payload.split("."))
    except (ValueError, UnicodeDecodeError):
        raise _refuse("Con trỏ (since) không đọc được.", "The cursor (since) cannot be read.") from None
    # A position outside bigint is refused too (PostgreSQL would fail on it): only a cursor signed with a leaked or
    # rotated key could carry one, and it must still be a 400, not a 500.
    if not hmac.compare_digest(mac, _mac(payload)) or min(layer_id, xact, row_id) < 0 \
            or max(layer_id, xact, row_id) > MAX_BIGINT:
        raise _refuse("Con trỏ (since) đã bị sửa hoặc không do nền tảng này cấp.",
                      "The cursor (since) was altered or was not issued by this platform.")
    if layer_id != layer.pk:
        raise _refuse("Con trỏ (since) thuộc một lớp dữ liệu khác: mỗi lớp có nguồn cấp và con trỏ riêng.",
                      "The cursor (since) belongs to another layer: each layer has its own feed and cursors.")
    return Position(xact, row_id)


# Settled rows only: below the oldest running transaction (module docstring).
_SETTLED = "v.xact < pg_snapshot_xmin(pg_current_snapshot())"

# The compaction horizon checked in the rows' own snapshot too (layers/compaction.py checks it before): a compaction
# committing between that check and this read would otherwise remove changes after the cursor unseen (a delete the
# follower never gets). Then nothing comes back, and the next request gets its 410.
_NOT_COMPACTED = """(%(start)s OR NOT EXISTS (SELECT 1 FROM layers_historyhorizon h WHERE h.layer_id = %(layer)s::bigint
       AND (h.xact, h.row_id) > (%(xact)s::bigint, %(id)s::bigint)))"""

# An update that changed only fields hidden from the reader (same shape, same other fields as the version before) is
# one they could not see: the feed passes over it, as history pages do (layers.personal.redact_versions), so it
# does not tell when an owner's name or ID number changed.
_UNSEEN = """(v.op = 'update' AND cardinality(%(hidden)s::text[]) > 0 AND EXISTS (
       SELECT 1 FROM layers_featureversion p
       WHERE p.feature_id = v.feature_id AND p.layer_id = v.layer_id AND p.version = v.version - 1
         AND ST_AsEWKB(p.geom) = ST_AsEWKB(v.geom)
         AND (p.properties - %(hidden)s::text[]) = (v.properties - %(hidden)s::text[])))"""

CHANGES_SQL = f"""
SELECT v.xact::text::bigint AS xact, v.id, v.feature_id, v.op, v.version, v.changed_at, v.run_id,
       v.properties, CASE WHEN v.op = 'delete' THEN NULL
                          ELSE ST_AsGeoJSON(ST_Transform(v.geom, %(srid)s::int), %(precision)s::int, 0) END AS geojson,
       {_UNSEEN} AS unseen
FROM layers_featureversion v
WHERE v.layer_id = %(layer)s::bigint AND (v.xact, v.id) > (%(xact)s::text::xid8, %(id)s::bigint) AND {_SETTLED}
  AND {_NOT_COMPACTED}
ORDER BY v.xact, v.id
LIMIT %(limit)s
"""
# (the VN-2000 rows of spatial_ref_sys carry no authority, and the answer names its CRS itself).


@dataclass
class Change:
    """One history row as the feed hands it out: the state after the change (no geometry for a delete)."""

    position: Position
    feature_id: int
    kind: str  # insert, update, delete
    version: int
    time: object  # datetime, UTC
    run_id: int | None
    properties: dict
    geojson: str | None
    unseen: bool = False  # only fields hidden from the reader changed: pass over it (the cursor moves on)


def _params(layer: Layer, position: Position, limit: int, srid: int, hidden=()) -> dict:
    return {"layer": layer.pk, "xact": str(position.xact), "id": position.id, "limit": max(1, min(int(limit), MAX_PAGE)),
            "srid": srid, "precision": 7 if srid in GEOGRAPHIC_SRIDS else 3,  # degrees: 1 cm; metres: 1 mm
            "start": position == START, "hidden": list(hidden)}


def _change(row: tuple) -> Change:
    xact, row_id, feature_id, op, version, changed_at, run_id, props, geojson, unseen = row
    return Change(Position(xact, row_id), feature_id, op, version, changed_at, run_id,
                  json.loads(props) if isinstance(props, str) else props, geojson, bool(unseen))


def changes_after(layer: Layer, position: Position, *, limit: int, read: bool = True, srid: int = 4326,
                  hidden=()) -> list[Change]:
    """At most `limit` settled changes of the layer after the position, in feed order (replica when read=True),
    geometries in `srid` (a pinned SRID of layers.params.SUPPORTED_SRIDS); those that changed only `hidden`
    fields are marked unseen."""
    with db.cursor(read=read) as cursor:
        cursor.execute(CHANGES_SQL, _params(layer, position, limit, srid, hidden))
        rows = cursor.fetchall()
    return [_change(row) for row in rows]


def stream_changes(layer: Layer, position: Position, *, limit: int, srid: int = 4326, hidden=(),
                   batch: int = 1000) -> Iterator[Change]:
    """changes_after, read `batch` rows at a time from a server-side cursor on the read alias (memory stays flat)."""
    with db.read_transaction() as name:
        connections[name].ensure_connection()
        cursor = connections[name].connection.cursor(name=f"changes_{next(_cursor_ids)}")
        cursor.itersize = batch
        try:
            cursor.execute(CHANGES_SQL, _params(layer, position, limit, srid, hidden))
            while rows := cursor.fetchmany(batch):
                yield from (_change(row) for row in rows)
        finally:
            cursor.close()


@dataclass
class Transaction:
    """One committed transaction's changes to a layer, summed up (a webhook event, an Atom entry of a big load)."""

    xact: int
    first: Position  # its first row
    last: Position   # its last row: a cursor here skips past the whole transaction
    counts: dict     # {"insert": n, "update": n, "delete": n}
    run_id: int | None
    time: object     # the latest changed_at among its rows


TRANSACTIONS_SQL = f"""
SELECT v.xact::text::bigint AS xact, min(v.id), max(v.id), count(*) FILTER (WHERE v.op = 'insert'),
       count(*) FILTER (WHERE v.op = 'update'), count(*) FILTER (WHERE v.op = 'delete'), max(v.run_id), max(v.changed_at)
FROM layers_featureversion v
WHERE v.layer_id = %(layer)s::bigint AND (v.xact, v.id) > (%(xact)s::text::xid8, %(id)s::bigint) AND {_SETTLED}
GROUP BY v.xact
ORDER BY v.xact
LIMIT %(limit)s
"""


def transactions_after(layer: Layer, position: Position, *, limit: int = 100, read: bool = False) -> list[Transaction]:
    """The settled transactions that changed the layer after the position, oldest first, one summary each
    (a transaction partly handed out before the position counts only its rows after it)."""
    params = {"layer": layer.pk, "xact": str(position.xact), "id": position.id, "limit": max(1, int(limit))}
    with db.cursor(read=read) as cursor:
        cursor.execute(TRANSACTIONS_SQL, params)
        rows = cursor.fetchall()
    return [Transaction(xact, Position(xact, first), Position(xact, last),
                        {"insert": inserts, "update": updates, "delete": deletes}, run_id, at)
            for xact, first, last, inserts, updates, deletes, run_id, at in rows]


def latest_position(layer: Layer, *, read: bool = False) -> Position:
    """The position after the layer's last settled change (START when it has none): following from here
    hands out only what changes from now on."""
    with db.cursor(read=read) as cursor:
        cursor.execute(
            f"SELECT v.xact::text::bigint, v.id FROM layers_featureversion v WHERE v.layer_id = %s::bigint AND {_SETTLED} "
            "ORDER BY v.xact DESC, v.id DESC LIMIT 1", [layer.pk])
        row = cursor.fetchone()
    return Position(*row) if row else START


# The layer's last settled transactions, newest first: a loose index scan over (layer_id, xact, id) finds them
# without reading the rows of a big load, then only their rows are summed up.
LATEST_TRANSACTIONS_SQL = f"""
WITH RECURSIVE recent(xact) AS (
    (SELECT v.xact FROM layers_featureversion v WHERE v.layer_id = %(layer)s::bigint AND {_SETTLED}
     ORDER BY v.xact DESC LIMIT 1)
    UNION ALL
    SELECT (SELECT v.xact FROM layers_featureversion v WHERE v.layer_id = %(layer)s::bigint AND v.xact < r.xact
            ORDER BY v.xact DESC LIMIT 1)
    FROM recent r WHERE r.xact IS NOT NULL
), picked AS (SELECT xact FROM recent WHERE xact IS NOT NULL LIMIT %(limit)s)
SELECT v.xact::text::bigint, min(v.id), max(v.id), count(*) FILTER (WHERE v.op = 'insert'),
       count(*) FILTER (WHERE v.op = 'update'), count(*) FILTER (WHERE v.op = 'delete'), max(v.run_id), max(v.changed_at)
FROM layers_featureversion v JOIN picked p ON p.xact = v.xact
WHERE v.layer_id = %(layer)s::bigint AND NOT {_UNSEEN}
GROUP BY v.xact
ORDER BY v.xact DESC
"""


def latest_transactions(layer: Layer, *, limit: int = 50, read: bool = True, hidden=()) -> list[Transaction]:
    """The layer's last `limit` settled transactions, newest first, one summary each (an Atom feed's entries),
    counting only the changes a reader who may not see `hidden` fields could see (none left: no entry)."""
    with db.cursor(read=read) as cursor:
        cursor.execute(LATEST_TRANSACTIONS_SQL, {"layer": layer.pk, "limit": max(1, int(limit)), "hidden": list(hidden)})
        rows = cursor.fetchall()
    return [Transaction(xact, Position(xact, first), Position(xact, last),
                        {"insert": inserts, "update": updates, "delete": deletes}, run_id, at)
            for xact, first, last, inserts, updates, deletes, run_id, at in rows]


def transaction_changes(layer: Layer, xacts: list[int], *, per: int = 20, read: bool = True,
                        hidden=()) -> dict[int, list[tuple]]:
    """The first `per` (feature id, kind, version) of each of these transactions of the layer, in feed order
    (without the changes of `hidden` fields alone)."""
    if not xacts:
        return {}
    with db.cursor(read=read) as cursor:
        cursor.execute(
            "SELECT xact, feature_id, op, version FROM ("
            "  SELECT v.xact::text::bigint AS xact, v.feature_id, v.op, v.version, "
            "         row_number() OVER (PARTITION BY v.xact ORDER BY v.id) AS n "
            "  FROM layers_featureversion v WHERE v.layer_id = %(layer)s::bigint "
            f"   AND v.xact = ANY(%(xacts)s::text[]::xid8[]) AND NOT {_UNSEEN}) s "
            "WHERE n <= %(per)s ORDER BY xact, n",
            {"layer": layer.pk, "xacts": [str(x) for x in xacts], "per": per, "hidden": list(hidden)})
        found: dict[int, list[tuple]] = {}
        for xact, feature_id, op, version in cursor.fetchall():
            found.setdefault(xact, []).append((feature_id, op, version))
    return found


def position_before(transaction: Transaction) -> Position:
    """The position just before a transaction's first row: a cursor there reads the transaction from its start."""
    return Position(transaction.xact, transaction.first.id - 1)
