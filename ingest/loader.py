"""The COPY loader: rows into an unindexed staging table, then into the layer in one statement per mode.

Everything here runs inside the caller's transaction: the staging table is dropped at commit, and a
failure anywhere rolls the layer back to exactly what it was.
"""
import io
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

from django.db import connections

from layers import db
from layers.errors import IngestRejected

STAGING_DDL = (
    "CREATE TEMP TABLE ingest_staging (row_no integer, geom geometry(Geometry, 4326), properties jsonb, "
    "key text) ON COMMIT DROP"
)
# One namespace for ingest's advisory locks; the second key is the layer slug's hash.
LOCK_NAMESPACE = 74_650


def _primary_raw():
    """The primary's psycopg2 connection (the caller's transaction), opened if it was not yet."""
    wrapper = connections[db.write_alias()]
    wrapper.ensure_connection()
    return wrapper.connection


def abort_when_client_dies() -> None:
    """For this transaction, PostgreSQL checks every second that the client is still there: a killed ingest's
    statement (and its layer lock) ends within a second instead of running on to its end."""
    with db.cursor() as cursor:
        cursor.execute("SET LOCAL client_connection_check_interval = '1s'")


def lock_layer(slug: str, *, wait: bool) -> None:
    """Takes the per-layer ingest lock for this transaction; refuses (or waits) while another ingest holds it."""
    with db.cursor() as cursor:
        if wait:
            cursor.execute("SELECT pg_advisory_xact_lock(%s, hashtext(%s))", [LOCK_NAMESPACE, slug])
            return
        cursor.execute("SELECT pg_try_advisory_xact_lock(%s, hashtext(%s))", [LOCK_NAMESPACE, slug])
        if not cursor.fetchone()[0]:
            raise IngestRejected(
                f"Lớp {slug} đang được nạp dữ liệu bởi một phiên khác; hãy thử lại sau.",
                f"Another ingest into layer {slug} is running; try again when it has finished.",
                parameter="layer",
            )


def create_staging() -> None:
    with db.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS ingest_staging")
        cursor.execute(STAGING_DDL)


def _copy_text(row_numbers: Sequence[int], wkb_hex: Sequence[str], properties: Sequence[str],
               keys: Sequence[str | None] | None) -> str:
    """One chunk in COPY's text format; backslash is COPY's escape character, so JSON's own are doubled."""
    if keys is None:
        # Row numbers and hex never hold a backslash: escaping the whole text at once is exact, and fast.
        text = "\n".join(f"{r}\t{g}\t{p}" for r, g, p in zip(row_numbers, wkb_hex, properties))
        return text.replace("\\", "\\\\") + "\n"
    props = [p.replace("\\", "\\\\") for p in properties]
    return "\n".join(f"{r}\t{g}\t{p}\t{_text(k)}" for r, g, p, k in zip(row_numbers, wkb_hex, props, keys)) + "\n"


def copy_rows(row_numbers: Sequence[int], wkb_hex: Sequence[str], properties: Sequence[str],
              keys: Sequence[str | None] | None = None, raw_connection=None) -> int:
    """COPYs one chunk (row number, EWKB hex, properties JSON[, key]) into staging."""
    if not len(row_numbers):
        return 0
    columns = "row_no, geom, properties" + (", key" if keys is not None else "")
    buffer = io.StringIO(_copy_text(row_numbers, wkb_hex, properties, keys))
    raw = raw_connection or _primary_raw()
    with raw.cursor() as cursor:
        cursor.copy_expert(f"COPY ingest_staging ({columns}) FROM STDIN", buffer)
    return len(row_numbers)


class ChunkWriter:
    """Writes chunks to the database in a second thread while the next chunk is prepared.

    Both share the one database connection and transaction, but never at the same moment: the
    main thread only prepares arrays between submit() calls. With a `move` statement (parameters:
    layer id, user id), each chunk goes from staging into the layer (or the bulk load's table) at once,
    so the database's work overlaps Python's parsing and reprojection instead of following it.
    """

    def __init__(self, layer_id: int, user_id: int | None, *, move=None):
        self.raw = _primary_raw()
        self.layer_id, self.user_id, self.move = layer_id, user_id, move
        self.pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ingest-copy")
        self.pending = None
        self.inserted = 0

    def start_with(self, statement, params: list) -> None:
        """A statement the thread runs before the first chunk, while Python reads and checks that chunk."""
        self.wait()
        self.pending = self.pool.submit(self._execute, statement, params)

    def _execute(self, statement, params: list) -> None:
        with self.raw.cursor() as cursor:
            cursor.execute(statement, params)

    def submit(self, row_numbers, wkb_hex, properties, keys=None) -> None:
        self.wait()
        self.pending = self.pool.submit(self._write, row_numbers, wkb_hex, properties, keys)

    def _write(self, row_numbers, wkb_hex, properties, keys) -> None:
        copy_rows(row_numbers, wkb_hex, properties, keys, raw_connection=self.raw)
        if self.move is not None:
            with self.raw.cursor() as cursor:
                cursor.execute(self.move, [self.layer_id, self.user_id])
                self.inserted += cursor.rowcount
                cursor.execute("TRUNCATE ingest_staging")

    def wait(self) -> None:
        if self.pending is not None:
            pending, self.pending = self.pending, None
            pending.result()

    def close(self) -> None:
        """Waits for the last chunk (re-raising its error) and stops the thread."""
        try:
            self.wait()
        finally:
            self.pool.shutdown(wait=True)


def _text(value: str | None) -> str:
    if value is None:
        return "\\N"
    return value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


def _bounds(cursor) -> tuple[float, float, float, float] | None:
    row = cursor.fetchone()
    return tuple(row) if row and row[0] is not None else None


def staging_bounds() -> tuple[float, float, float, float] | None:
    """The WGS 84 box of what is staged (for tile invalidation)."""
    with db.cursor() as cursor:
        cursor.execute("SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM (SELECT ST_Extent(geom) e FROM ingest_staging) s")
        return _bounds(cursor)


def layer_bounds(layer_id: int) -> tuple[float, float, float, float] | None:
    """The WGS 84 box of a layer's current features."""
    with db.cursor() as cursor:
        cursor.execute("SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM "
                       "(SELECT ST_Extent(geom) e FROM layers_feature WHERE layer_id = %s) s", [layer_id])
        return _bounds(cursor)


def duplicate_keys() -> list[tuple[int, str]]:
    """(row, key) of staged rows whose key repeats an earlier row's (upsert needs keys unique in the file)."""
    with db.cursor() as cursor:
        cursor.execute(
            "SELECT row_no, key FROM (SELECT row_no, key, row_number() OVER (PARTITION BY key ORDER BY row_no) n "
            "FROM ingest_staging) s WHERE n > 1 ORDER BY row_no"
        )
        return cursor.fetchall()


def delete_staged_rows(rows: Sequence[int]) -> None:
    with db.cursor() as cursor:
        cursor.execute("DELETE FROM ingest_staging WHERE row_no = ANY(%s)", [list(rows)])


_INSERT = (
    "INSERT INTO layers_feature (layer_id, geom, properties, version, updated_at, updated_by_id) "
    "SELECT %s, geom, jsonb_strip_nulls(properties), 1, now(), %s FROM ingest_staging {where} ORDER BY row_no"
)
# Each chunk straight into the layer (the history triggers record it): the row path's move.
MOVE_INTO_LAYER = _INSERT.format(where="")


def layer_has_rows(layer_id: int) -> bool:
    with db.cursor() as cursor:
        cursor.execute("SELECT EXISTS (SELECT 1 FROM layers_feature WHERE layer_id = %s)", [layer_id])
        return cursor.fetchone()[0]


# A row's content: its EWKB and its null-stripped properties (jsonb's text form is canonical). Equal
# content pairs up one to one (n counts repeats), so a multiset of rows is matched exactly.
_CONTENT = "md5(geom::bytea || convert_to({props}::text, 'UTF8'))"


def apply_replace(layer_id: int, user_id: int | None) -> dict[str, int]:
    """Makes the layer hold exactly the staged rows, touching only rows that differ (unchanged rows keep id and version)."""
    with db.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS ingest_current, ingest_incoming")
        cursor.execute(
            "CREATE TEMP TABLE ingest_current ON COMMIT DROP AS SELECT id, h, row_number() OVER (PARTITION BY h ORDER BY id) n "
            f"FROM (SELECT id, {_CONTENT.format(props='properties')} h FROM layers_feature WHERE layer_id = %s) c",
            [layer_id],
        )
        cursor.execute(
            "CREATE TEMP TABLE ingest_incoming ON COMMIT DROP AS SELECT row_no, h, row_number() OVER (PARTITION BY h ORDER BY row_no) n "
            f"FROM (SELECT row_no, {_CONTENT.format(props='jsonb_strip_nulls(properties)')} h FROM ingest_staging) s"
        )
        cursor.execute("ANALYZE ingest_current")
        cursor.execute("ANALYZE ingest_incoming")
        cursor.execute(
            "DELETE FROM layers_feature WHERE layer_id = %s AND id IN (SELECT c.id FROM ingest_current c "
            "LEFT JOIN ingest_incoming i ON i.h = c.h AND i.n = c.n WHERE i.row_no IS NULL)", [layer_id]
        )
        deleted = cursor.rowcount
        cursor.execute(
            _INSERT.format(where="s WHERE s.row_no IN (SELECT i.row_no FROM ingest_incoming i "
                                 "LEFT JOIN ingest_current c ON c.h = i.h AND c.n = i.n WHERE c.id IS NULL)"),
            [layer_id, user_id],
        )
        inserted = cursor.rowcount
        cursor.execute("SELECT count(*) FROM ingest_staging")
        unchanged = cursor.fetchone()[0] - inserted
    return {"inserted": inserted, "updated": 0, "deleted": deleted, "unchanged": unchanged}


def apply_upsert(layer_id: int, user_id: int | None, key: str) -> dict[str, int]:
    """Staged rows matched on properties->>key: changed rows updated (version + 1), new rows inserted."""
    counts = {"inserted": 0, "updated": 0, "deleted": 0, "unchanged": 0}
    with db.cursor() as cursor:
        cursor.execute("CREATE INDEX ON ingest_staging (key)")
        cursor.execute("ANALYZE ingest_staging")
        cursor.execute(
            "UPDATE layers_feature f SET geom = s.geom, properties = jsonb_strip_nulls(s.properties), "
            "version = f.version + 1, updated_at = now(), updated_by_id = %s "
            "FROM ingest_staging s WHERE f.layer_id = %s AND f.properties ->> %s = s.key "
            "AND (NOT ST_OrderingEquals(f.geom, s.geom) OR f.properties IS DISTINCT FROM jsonb_strip_nulls(s.properties))",
            [user_id, layer_id, key],
        )
        counts["updated"] = cursor.rowcount
        cursor.execute(
            _INSERT.format(where="s WHERE NOT EXISTS (SELECT 1 FROM layers_feature f "
                                 "WHERE f.layer_id = %s AND f.properties ->> %s = s.key)"),
            [layer_id, user_id, layer_id, key],
        )
        counts["inserted"] = cursor.rowcount
        cursor.execute("SELECT count(*) FROM ingest_staging")
        counts["unchanged"] = cursor.fetchone()[0] - counts["inserted"] - counts["updated"]
    return counts


def apply_mirror(layer_id: int, user_id: int | None, key: str) -> dict[str, int]:
    """The layer holds exactly the staged rows by key: changed rows updated (version + 1), new rows inserted,
    rows whose key the file no longer has (or that have none) deleted; equal rows keep id and version."""
    with db.cursor() as cursor:
        cursor.execute(
            "DELETE FROM layers_feature f WHERE f.layer_id = %s AND NOT EXISTS "
            "(SELECT 1 FROM ingest_staging s WHERE s.key = f.properties ->> %s)", [layer_id, key])
        deleted = cursor.rowcount
    counts = apply_upsert(layer_id, user_id, key)
    counts["deleted"] = deleted
    return counts
