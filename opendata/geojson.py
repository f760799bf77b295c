"""GeoJSON straight from PostGIS: features built by ST_AsGeoJSON, streamed from a server-side cursor.

Memory stays constant whatever the layer's size: rows come BATCH at a time from a named cursor, and
the cursor is closed (and its transaction ended) as soon as the client goes away, because Django
closes the response generator and the `finally` runs.
"""
import itertools
import json
from collections.abc import Iterator

from django.db import connections

from layers import db
from opendata.filecrs import vn2000_note
from opendata.params import Crs
from opendata.query import FeatureQuery, geojson_page_sql, geojson_rows_sql

BATCH = 2000
_cursor_ids = itertools.count(1)


def collection_head(crs: Crs, extra: dict | None = None) -> str:
    """The FeatureCollection's opening text; the old-style `crs` member only outside WGS 84.

    RFC 7946 allows other CRSs only by prior arrangement: the response header says which one, and
    the member lets GDAL and QGIS read the file with the right CRS.
    """
    head: dict = {"type": "FeatureCollection"}
    if not crs.is_wgs84:
        head["crs"] = {"type": "name", "properties": {"name": f"urn:ogc:def:crs:EPSG::{crs.srid}"}}
    head.update(extra or {})
    text = json.dumps(head, ensure_ascii=False)
    return text[:-1] + ',"features":['


def stream_rows(query, params, *, batch: int = BATCH) -> Iterator[list[str]]:
    """Batches of first-column values from a named (server-side) cursor inside its own transaction. The body is
    read after the view returned, out of the middleware's reach: a replica found gone before the first batch
    is replaced here by the primary (a gone replica mid-way ends the body: its start is already sent)."""
    started = False
    try:
        for rows in _named_rows(query, params, batch):
            started = True
            yield rows
    except db.CONNECTION_ERRORS:
        if started or not db.fail_over():
            raise
        yield from _named_rows(query, params, batch)


def _named_rows(query, params, batch: int) -> Iterator[list[str]]:
    name = f"opendata_dl_{next(_cursor_ids)}"
    with db.read_transaction() as alias:
        connections[alias].ensure_connection()
        cursor = connections[alias].connection.cursor(name=name)
        cursor.itersize = batch
        try:
            cursor.execute(query, params)
            while True:
                rows = cursor.fetchmany(batch)
                if not rows:
                    break
                yield [row[0] for row in rows]
        finally:
            cursor.close()


def stream_collection(q: FeatureQuery) -> Iterator[bytes]:
    """The whole FeatureCollection as byte chunks, one chunk per batch of features."""
    query, params = geojson_rows_sql(q)  # options 0: no crs member (VN-2000 rows have no authority)
    note = vn2000_note(q.crs.srid, "geojson")  # a foreign member: readers get the code only, not the shift
    yield collection_head(q.crs, {"crs_note": note} if note else None).encode()
    first = True
    for rows in stream_rows(query, params):
        text = ",\n".join(rows)
        yield ((text if first else ",\n" + text)).encode()
        first = False
    yield b"]}\n"


def fetch_page(q: FeatureQuery, limit: int, offset: int) -> list[str]:
    """One page of GeoJSON Feature texts, in sortby/id order (after the keyset cursor when there is one)."""
    query, params = geojson_page_sql(q, limit, 0 if q.after_id is not None else offset)
    with db.read_transaction(), db.cursor(read=True) as cursor:
        # A page is a short query: JIT compilation and parallel workers cost more than they save here.
        cursor.execute("SET LOCAL jit = off; SET LOCAL max_parallel_workers_per_gather = 0")
        cursor.execute(query, params)
        return [row[0] for row in cursor.fetchall()]
