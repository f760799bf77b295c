"""Catalog rows for the tile hot path, kept in each process's memory while their layers' generations hold.

Every cached tile still needs the layer's row (does it exist, is it public, its fields and zoom range);
one query for it costs a cached tile a third of its time. So each process keeps the rows it has read, each
under its layer's catalog generation (layers/catalog_stamps.py: moved on after every committed write to the
layer's row, on any node), and checks the generations of the layers a request names with one Redis MGET
(a tenth of a catalog query). A changed layer's rows are read again; the other layers' stay. Nothing is
held on a database connection (no LISTEN), so this works on a replica and behind PgBouncer.

Rows kept are read from the primary: a replica that has not yet replayed the change whose generation we
just saw would otherwise give an old row to keep under the new generation. Without Redis, or inside a
transaction (tests, a write), rows are read every time, from the request's read alias. A row is never kept
longer than catalog_stamps.CATALOG_ROW_SECONDS (the net for a bump lost while Redis was away). Who may see
a restricted layer is never cached: the rows say only whether a layer is public; grants are checked on every
request (selectors.can_view).
"""
import time
from collections.abc import Callable
from typing import TypeVar

from django.db import connections

from layers import catalog_stamps, db

T = TypeVar("T")

_CATALOG_SQL = (
    "SELECT slug, id, kind, is_public, min_zoom, max_zoom, geometry_type, schema, raster_path, raster_info, "
    "ST_XMin(extent), ST_YMin(extent), ST_XMax(extent), ST_YMax(extent) "
    "FROM layers_layer WHERE slug = ANY(%s)"
)
_MAX_ROWS = 2000

# slug -> (generation, monotonic deadline, what build() made of its row or None for "no such layer").
# Shared by the process's threads: entries are replaced whole, never changed in place.
_rows: dict[str, tuple[str, float, object]] = {}


def _read(names: list[str], alias: str, build: Callable[[str, tuple], T]) -> dict[str, T]:
    with connections[alias].cursor() as cursor:
        cursor.execute(_CATALOG_SQL, [names])
        return {row[0]: build(row[0], row[1:]) for row in cursor.fetchall()}


def _in_transaction() -> bool:
    return connections[db.PRIMARY].in_atomic_block or connections[db.read_alias()].in_atomic_block


def catalog_rows(names: list[str], build: Callable[[str, tuple], T]) -> dict[str, T]:
    """{slug: build(slug, row)} for the names that exist, where row is (id, kind, is_public, min_zoom, max_zoom,
    geometry_type, schema, raster_path, raster_info, xmin, ymin, xmax, ymax). What build returns is kept with the
    row (callers must not change it), so a cached request builds nothing."""
    generations = None if _in_transaction() else catalog_stamps.current(names)
    if generations is None:
        return _read(names, db.read_alias(), build)
    now = time.monotonic()
    kept = [_rows.get(name) for name in names]
    if all(entry is not None and entry[0] == gen and entry[1] > now for entry, gen in zip(kept, generations)):
        return {name: entry[2] for name, entry in zip(names, kept) if entry[2] is not None}
    # Read after the generations: a write committed since bumps them again, and the next request rereads.
    found = _read(names, db.write_alias(), build)
    if len(_rows) > _MAX_ROWS:
        _rows.clear()
    deadline = now + catalog_stamps.CATALOG_ROW_SECONDS
    for name, gen in zip(names, generations):
        _rows[name] = (gen, deadline, found.get(name))
    return found
