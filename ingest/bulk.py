"""Bulk loads: the layer's new rows built as a partition of their own, indexed in bulk, swapped in at the end.

layers_feature is partitioned by layer (layers migration 0015). A large create, replace or append fills a
new, unindexed table (`ingest_load_l<layer>`) chunk by chunk while Python prepares the next chunk, builds its
indexes once (the sorted GiST build) and swaps it for the layer's partition. Everything happens in the
load's one transaction: readers see the old layer until COMMIT and the new one after, and a failure or a
killed process rolls back the table with everything else, so no orphan can be left behind.

History stays exact and is built the same way: each chunk's 'insert' versions go into a history table of the
load's own (`ingest_history_r<run>`), indexed once at the end and attached to layers_featureversion as the
run's segment (layers migration 0016). A replace over rows matches old and new rows by content at the end:
matched rows keep their id, version and stamp and lose their 'insert' version; the old rows left over get a
'delete' version; so the history says exactly what the triggers would have said.
"""
import re
import time

from django.conf import settings
from django.db import OperationalError, transaction
from psycopg2 import errors as pg_errors
from psycopg2 import sql
from layers import db

HISTORY_COLUMNS = "feature_id, layer_id, version, op, geom, properties, changed_at, changed_by_id, comment, run_id"
# Who, why and which run: the transaction-local settings the history triggers read (layers.history.change_context).
WHO_WHY_RUN = ("nullif(current_setting('gisportal.user_id', true), '')::integer, "
               "coalesce(current_setting('gisportal.comment', true), ''), "
               "nullif(current_setting('gisportal.run_id', true), '')::bigint")
_ON_PARENT = re.compile(r"^CREATE (UNIQUE )?INDEX \S+ ON ONLY \S+ ")


def is_bulk(mode: str, feature_count: int | None) -> bool:
    """Large creates, replaces and appends load as a new partition; upserts and small files row by row
    (a swap locks the whole feature table for a moment, not worth it for a few rows)."""
    threshold = settings.INGEST_BULK_MIN_ROWS
    return mode in ("create", "replace", "append") and feature_count is not None and feature_count >= threshold


def partition_name(layer_id: int) -> str:
    return f"layers_feature_l{int(layer_id)}"


class BulkLoad:
    """One bulk load's two tables: the layer's next partition and the run's history segment."""

    def __init__(self, layer_id: int, run_id: int):
        self.layer_id, self.run_id = int(layer_id), int(run_id)
        self.table = sql.Identifier(f"ingest_load_l{self.layer_id}")
        self.history = sql.Identifier(f"ingest_history_r{self.run_id}")

    def create_tables(self) -> None:
        """The parent tables' columns, defaults (the id sequences) and checks, and no index."""
        with db.cursor() as cursor:
            for table, parent, key, value in ((self.table, "layers_feature", "layer_id", self.layer_id),
                                              (self.history, "layers_featureversion", "segment", self.run_id)):
                cursor.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(table))
                cursor.execute(sql.SQL("CREATE TABLE {} (LIKE {} INCLUDING DEFAULTS INCLUDING CONSTRAINTS)").format(
                    table, sql.Identifier(parent)))
                cursor.execute(sql.SQL("ALTER TABLE {} ADD CHECK ({} = {})").format(
                    table, sql.Identifier(key), sql.Literal(value)))
            cursor.execute(sql.SQL("ALTER TABLE {} ALTER COLUMN segment SET DEFAULT {}").format(
                self.history, sql.Literal(self.run_id)))
            # One layer's history: a query naming another layer skips the segment at planning (constraint exclusion).
            cursor.execute(sql.SQL("ALTER TABLE {} ADD CHECK (layer_id = {})").format(
                self.history, sql.Literal(self.layer_id)))

    def move_sql(self, *, replacing: bool = False) -> sql.Composed:
        """Staged rows into the load table in file order (ids from the shared sequence), each with its 'insert'
        version in the run's history table; replacing, each new row's content hash noted for the match at the
        end. Parameters: layer id, user id (ChunkWriter's)."""
        hashed = sql.SQL(f", {_CONTENT} AS h" if replacing else "")
        noted = sql.SQL(", noted AS (INSERT INTO ingest_new_hash SELECT id, h FROM moved)" if replacing else "")
        return sql.SQL(
            "WITH moved AS (INSERT INTO {table} (layer_id, geom, properties, version, updated_at, updated_by_id) "
            "SELECT %s, geom, jsonb_strip_nulls(properties), 1, now(), %s FROM ingest_staging ORDER BY row_no "
            "RETURNING id, layer_id, version, geom, properties{hashed}){noted} "
            "INSERT INTO {history} ({columns}) SELECT id, layer_id, version, 'insert', geom, properties, now(), {who} "
            "FROM moved").format(table=self.table, history=self.history, columns=sql.SQL(HISTORY_COLUMNS),
                                 who=sql.SQL(WHO_WHY_RUN), hashed=hashed, noted=noted)

    def hash_old_sql(self) -> tuple[str, list]:
        """Replacing: the layer's rows by content, numbered within equal content (run while the first chunk is
        read); and the table the chunks note their new rows' hashes in."""
        return ("DROP TABLE IF EXISTS ingest_new_hash, ingest_old, ingest_new, ingest_pairs; "
                "CREATE TEMP TABLE ingest_new_hash (id bigint, h text) ON COMMIT DROP; "
                "CREATE TEMP TABLE ingest_old ON COMMIT DROP AS SELECT id, h, row_number() OVER (PARTITION BY h ORDER BY id) n "
                f"FROM (SELECT id, {_CONTENT} h FROM layers_feature WHERE layer_id = %s) c", [self.layer_id])

    def keep_existing(self) -> None:
        """Append: the layer's current rows go into the new partition as they are (same ids, versions, no history)."""
        with db.cursor() as cursor:
            cursor.execute(sql.SQL("INSERT INTO {} SELECT * FROM layers_feature WHERE layer_id = %s").format(self.table),
                           [self.layer_id])

    def match_replaced(self) -> dict[str, int]:
        """A replace over rows (hashes made by hash_old_sql and the chunks): old and new rows paired one to one by content. A pair is a row that did not
        change: it takes the old id, version and stamp and loses its 'insert' version. Old rows left over get
        a 'delete' version. Returns the counts."""
        with db.cursor() as cursor:
            cursor.execute("CREATE TEMP TABLE ingest_new ON COMMIT DROP AS SELECT id, h, "
                           "row_number() OVER (PARTITION BY h ORDER BY id) n FROM ingest_new_hash")
            cursor.execute("CREATE TEMP TABLE ingest_pairs ON COMMIT DROP AS SELECT o.id AS old_id, n.id AS new_id "
                           "FROM ingest_old o JOIN ingest_new n ON n.h = o.h AND n.n = o.n")
            cursor.execute(sql.SQL("ANALYZE ingest_pairs, {}, {}").format(self.table, self.history))
            cursor.execute(sql.SQL(
                "UPDATE {} t SET id = f.id, version = f.version, updated_at = f.updated_at, updated_by_id = f.updated_by_id "
                "FROM ingest_pairs p JOIN layers_feature f ON f.id = p.old_id AND f.layer_id = %s WHERE t.id = p.new_id"
            ).format(self.table), [self.layer_id])
            unchanged = cursor.rowcount
            cursor.execute(sql.SQL("DELETE FROM {} h USING ingest_pairs p WHERE h.feature_id = p.new_id").format(self.history))
            cursor.execute(sql.SQL(
                f"INSERT INTO {{}} ({HISTORY_COLUMNS}) "
                f"SELECT id, layer_id, version, 'delete', geom, properties, now(), {WHO_WHY_RUN} FROM layers_feature f "
                "WHERE layer_id = %s AND NOT EXISTS (SELECT 1 FROM ingest_pairs p WHERE p.old_id = f.id)").format(self.history), [self.layer_id])
            deleted = cursor.rowcount
            cursor.execute(sql.SQL("SELECT count(*) FROM {}").format(self.table))
            inserted = cursor.fetchone()[0] - unchanged
        return {"inserted": inserted, "updated": 0, "deleted": deleted, "unchanged": unchanged}

    def discard(self) -> None:
        """A replace that changed nothing: the layer stays as it is, no swap, no history segment."""
        with db.cursor() as cursor:
            cursor.execute(sql.SQL("DROP TABLE {}, {}").format(self.table, self.history))

    def build_indexes(self) -> None:
        """The parents' indexes, keys and foreign keys, built on the full tables at once: ATTACH then adopts
        them instead of building them under its lock. A repeated parcel key fails here (IntegrityError)."""
        with db.cursor() as cursor:
            cursor.execute("SET LOCAL maintenance_work_mem = %s", [settings.INGEST_INDEX_MEMORY])
            _copy_indexes(cursor, "layers_feature", self.table)
            _copy_indexes(cursor, "layers_featureversion", self.history)
            cursor.execute(sql.SQL(SEGMENT_INDEXES).format(self.history))

    def swap_in(self) -> None:
        """Attaches the history segment, then drops the layer's partition and attaches the load table in its
        place. The drop locks layers_feature for a moment: it waits at most INGEST_SWAP_LOCK_TIMEOUT for readers
        to finish, lets them through and tries again, so a long download never stalls every other reader."""
        partition = sql.Identifier(partition_name(self.layer_id))
        with db.cursor() as cursor:
            cursor.execute(sql.SQL("ALTER TABLE layers_featureversion ATTACH PARTITION {} FOR VALUES IN ({})").format(
                self.history, sql.Literal(self.run_id)))
            cursor.execute(sql.SQL("ALTER TABLE {} RENAME TO {}").format(
                self.history, sql.Identifier(f"layers_featureversion_r{self.run_id}")))
            # Deferred foreign-key checks of this transaction would otherwise block dropping the old partition.
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            deadline = time.monotonic() + settings.INGEST_SWAP_PATIENCE
            while True:
                cursor.execute("SAVEPOINT ingest_swap")
                try:
                    with db.lock_timeout(cursor, str(settings.INGEST_SWAP_LOCK_TIMEOUT)):
                        cursor.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(partition))
                        cursor.execute(sql.SQL("ALTER TABLE layers_feature ATTACH PARTITION {} FOR VALUES IN ({})").format(
                            self.table, sql.Literal(self.layer_id)))
                        cursor.execute(sql.SQL("ALTER TABLE {} RENAME TO {}").format(self.table, partition))
                except OperationalError as error:
                    cursor.execute("ROLLBACK TO SAVEPOINT ingest_swap")
                    waiting = isinstance(error.__cause__, (pg_errors.LockNotAvailable, pg_errors.DeadlockDetected))
                    if not waiting or time.monotonic() > deadline:
                        raise
                    time.sleep(0.2)
                    continue
                cursor.execute("RELEASE SAVEPOINT ingest_swap")
                return


# A history segment's own indexes, beside the parent's (layers migration 0016): it holds one layer, so its
# GiST is on geom alone and builds sorted.
SEGMENT_INDEXES = "CREATE INDEX ON {} USING gist (geom)"

# A row's content as the row path compares it: EWKB and jsonb's canonical text (properties already stripped).
_CONTENT = "md5(geom::bytea || convert_to(properties::text, 'UTF8'))"


def _copy_indexes(cursor, parent: str, table: sql.Identifier) -> None:
    """Every index, primary key and foreign key of a partitioned parent, made on a table to be attached to it."""
    qualified = table.as_string(cursor.cursor)
    cursor.execute(
        "SELECT pg_get_indexdef(i.indexrelid), c.contype, pg_get_constraintdef(c.oid) FROM pg_index i "
        "LEFT JOIN pg_constraint c ON c.conindid = i.indexrelid AND c.conrelid = i.indrelid "
        "WHERE i.indrelid = %s::regclass ORDER BY c.contype NULLS LAST, i.indexrelid", [parent])
    for definition, contype, constraint in cursor.fetchall():
        if contype in ("p", "u"):
            cursor.execute(sql.SQL("ALTER TABLE {} ADD ").format(table) + sql.SQL(constraint))
        else:
            cursor.execute(_ON_PARENT.sub(lambda m: f"CREATE {m.group(1) or ''}INDEX ON {qualified} ", definition, count=1))
    cursor.execute("SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = %s::regclass AND contype = 'f'",
                   [parent])
    for (constraint,) in cursor.fetchall():
        cursor.execute(sql.SQL("ALTER TABLE {} ADD ").format(table) + sql.SQL(constraint))


def drop_orphans() -> list[str]:
    """Partitions of deleted layers and emptied history segments (a deleted layer's history goes with it).
    Dropping one locks its parent for a moment: each waits briefly and is left for the next time if busy."""
    dropped = []
    with db.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE (i.inhparent = 'layers_feature'::regclass AND NOT EXISTS "
            "       (SELECT 1 FROM layers_layer l WHERE c.relname = 'layers_feature_l' || l.id)) "
            "   OR (i.inhparent = 'layers_featureversion'::regclass AND c.relname LIKE 'layers\\_featureversion\\_r%%')")
        for (name,) in cursor.fetchall():
            table = sql.Identifier(name)
            cursor.execute(sql.SQL("SELECT EXISTS (SELECT 1 FROM {})").format(table))
            if cursor.fetchone()[0]:
                continue
            try:
                with transaction.atomic(), db.lock_timeout(cursor, "100ms"):
                    cursor.execute(sql.SQL("DROP TABLE {}").format(table))
                dropped.append(name)
            except OperationalError:
                continue
    return dropped


# Planner statistics for what queries filter and join on; the properties' jsonb statistics serve no plan here
# and were two thirds of the time (0.4 s of 0.5 s on 300,000 parcels).
_FEATURE_STATS = "(id, layer_id, geom, version, updated_at, updated_by_id)"
_HISTORY_STATS = "(id, feature_id, layer_id, changed_at, run_id, op, geom)"


def analyze(layer_id: int, run_id: int) -> None:
    """Planner statistics for the layer's partition and for the history the run wrote: its own segment after a
    bulk load, else the triggers' segment (the rest of both tables did not change)."""
    with db.cursor() as cursor:
        cursor.execute("SELECT to_regclass(%s)", [f"layers_featureversion_r{int(run_id)}"])
        history = cursor.fetchone()[0] or "layers_featureversion_s0"
        cursor.execute(sql.SQL("ANALYZE {} " + _FEATURE_STATS + ", {} " + _HISTORY_STATS).format(
            sql.Identifier(partition_name(layer_id)), sql.Identifier(history)))
