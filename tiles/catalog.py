"""Catalog rows for the tile hot path, kept in each worker's memory while the catalog does not change.

Every cached tile still needs the layer's row (does it exist, is it public, its fields and zoom range);
one query for it costs a cached tile a third of its time. So each worker keeps the rows it has read,
and LISTENs on its database connection to `gisportal_catalog`, which a statement trigger on
layers_layer NOTIFYs on any insert, update, delete or truncate (tiles/migrations/0001). Before each
use the worker polls the connection (no round trip): any notification drops every row. PostgreSQL
delivers the notification at the writer's commit, so a row is never used after a committed change
has reached this worker's socket — the same moment a fresh query would have seen it.

Not used inside a transaction (tests, ATOMIC_REQUESTS): notifications from uncommitted work never
come, so there the rows are read every time. A new connection starts empty; if the trigger is missing
(migrations not applied) the cache stays off. Who may see a restricted layer is never cached: the
rows say only whether a layer is public; grants are checked on every request (selectors.can_view).
"""

import threading
from collections.abc import Callable
from typing import TypeVar

import psycopg2
from django.db import connection

T = TypeVar("T")

CHANNEL = "gisportal_catalog"
_CATALOG_SQL = (
    "SELECT slug, id, kind, is_public, min_zoom, max_zoom, geometry_type, schema, raster_path, raster_info, "
    "ST_XMin(extent), ST_YMin(extent), ST_XMax(extent), ST_YMax(extent) "
    "FROM layers_layer WHERE slug = ANY(%s)"
)
_MAX_ROWS = 2000


class _Local(threading.local):
    """Per thread, like Django's connections (gthread workers keep one connection per thread)."""

    raw = None  # the psycopg2 connection we LISTEN on
    enabled = False
    rows: dict = {}  # slug -> what build() made of its row, or None for "no such layer"


_State = _Local()


def _listening() -> bool:
    """True when the cache may be used on this connection now (LISTEN set up, trigger present)."""
    if connection.in_atomic_block:
        return False
    connection.ensure_connection()
    raw = connection.connection
    if raw is not _State.raw:
        _State.raw, _State.rows, _State.enabled = raw, {}, False
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1 FROM pg_trigger WHERE tgname = 'tiles_catalog_notify' AND NOT tgisinternal")
            if cursor.fetchone() is None:
                return False
            cursor.execute(f"LISTEN {CHANNEL}")
        _State.enabled = True
        return True
    if not _State.enabled:
        return False
    try:
        raw.poll()
    except psycopg2.Error:  # the connection died (database restarted): start again on a fresh one
        connection.close()
        return _listening()
    if raw.notifies:
        raw.notifies.clear()
        _State.rows = {}
    return True


def catalog_rows(names: list[str], build: Callable[[str, tuple], T]) -> dict[str, T]:
    """{slug: build(slug, row)} for the names that exist, where row is (id, kind, is_public, min_zoom,
    max_zoom, geometry_type, schema, raster_path, raster_info, xmin, ymin, xmax, ymax). What build returns is kept with the row
    (callers must not change it), so a cached request builds nothing."""
    cached = _listening()
    if cached and all(name in _State.rows for name in names):
        return {name: _State.rows[name] for name in names if _State.rows[name] is not None}
    with connection.cursor() as cursor:
        cursor.execute(_CATALOG_SQL, [names])
        found = {row[0]: build(row[0], row[1:]) for row in cursor.fetchall()}
    if cached:
        if len(_State.rows) > _MAX_ROWS:
            _State.rows = {}
        for name in names:
            _State.rows[name] = found.get(name)
    return found
