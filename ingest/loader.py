"""The COPY loader: rows into an unindexed staging table, then into the layer in one statement."""
import csv
import io
from collections.abc import Iterable

from django.db import connection

STAGING_DDL = (
    "CREATE TEMP TABLE ingest_staging (row_no integer, geom geometry(Geometry, 4326), properties jsonb) "
    "ON COMMIT DROP"
)


def copy_to_staging(rows: Iterable[tuple[int, str, str]]) -> int:
    """COPYs (row number, EWKB hex, properties JSON) rows into a fresh temp staging table; returns the count.

    Must run inside a transaction: the staging table lives until commit.
    """
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    count = 0
    for row in rows:
        writer.writerow(row)
        count += 1
    buffer.seek(0)
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS ingest_staging")
        cursor.execute(STAGING_DDL)
        cursor.copy_expert("COPY ingest_staging (row_no, geom, properties) FROM STDIN WITH (FORMAT csv)", buffer)
    return count


def staging_bounds() -> tuple[float, float, float, float] | None:
    """The WGS 84 box of what is staged (for tile invalidation)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM (SELECT ST_Extent(geom) e FROM ingest_staging) s")
        row = cursor.fetchone()
    return tuple(row) if row and row[0] is not None else None


def layer_bounds(layer_id: int) -> tuple[float, float, float, float] | None:
    """The WGS 84 box of a layer's current features."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM "
            "(SELECT ST_Extent(geom) e FROM layers_feature WHERE layer_id = %s) s",
            [layer_id],
        )
        row = cursor.fetchone()
    return tuple(row) if row and row[0] is not None else None


def apply_staging(layer_id: int, mode: str, user_id: int | None) -> int:
    """Moves staged rows into the layer: 'replace' (delete then insert) or 'append'. Returns rows written."""
    with connection.cursor() as cursor:
        if mode == "replace":
            cursor.execute("DELETE FROM layers_feature WHERE layer_id = %s", [layer_id])
        cursor.execute(
            "INSERT INTO layers_feature (layer_id, geom, properties, version, updated_at, updated_by_id) "
            "SELECT %s, geom, properties, 1, now(), %s FROM ingest_staging ORDER BY row_no",
            [layer_id, user_id],
        )
        return cursor.rowcount
