"""Bulk loads (ingest/bulk.py): a new partition and history segment swapped in, with every guarantee of the
row-by-row path: same rows, same ids kept for unchanged rows, same history, same refusals, nothing left behind."""
import threading

import psycopg2
import pytest
from django.db import connection

from ingest.models import IngestRun
from ingest.services import ingest_file
from layers.errors import IngestRejected
from layers.models import Feature, FeatureVersion
from tests.factories import make_parcel_layer
from tests.faults.helpers import wait_until
from tests.ingest.conftest import parcels_frame, write

pytestmark = pytest.mark.django_db
EVERYTHING, NOTHING = 0, 10**9  # INGEST_BULK_MIN_ROWS: every load bulk, or none


def _files(tmp_path):
    """Create, a replace that changes 3 rows, drops 2 and adds 1, then an append of new keys."""
    v1 = write(parcels_frame(10), tmp_path / "v1.gpkg")
    uses = ["ODT"] * 8
    uses[1] = uses[4] = uses[6] = "CLN"
    frame = parcels_frame(8, land_use=uses)
    frame.loc[7, "parcel_no"] = 77
    v2 = write(frame, tmp_path / "v2.gpkg")
    v3 = write(parcels_frame(4, parcel_no=[101, 102, 103, 104]), tmp_path / "v3.gpkg")
    return v1, v2, v3


def _load_story(tmp_path, slug: str) -> dict:
    v1, v2, v3 = _files(tmp_path)
    runs = [ingest_file(path=v1, layer=slug, mode="create"), ingest_file(path=v2, layer=slug, mode="replace"),
            ingest_file(path=v2, layer=slug, mode="replace"), ingest_file(path=v3, layer=slug, mode="append")]
    layer = runs[0].layer
    features = sorted((f.properties["parcel_no"], f.version, f.properties["land_use"], f.geom.wkt)
                      for f in Feature.objects.filter(layer=layer))
    history = [sorted((v.op, v.version, v.properties["parcel_no"], v.properties["land_use"])
                      for v in FeatureVersion.objects.filter(run_id=run.pk)) for run in runs]
    counts = [tuple(run.report[k] for k in ("inserted", "updated", "deleted", "unchanged")) for run in runs]
    kept = set(Feature.objects.filter(layer=layer).values_list("id", flat=True))
    return {"features": features, "history": history, "counts": counts, "kept_ids": len(kept & set(
        FeatureVersion.objects.filter(run_id=runs[0].pk).values_list("feature_id", flat=True)))}


def test_bulk_and_row_paths_leave_the_same_layer_and_the_same_history(tmp_path, settings):
    settings.INGEST_BULK_MIN_ROWS = NOTHING
    (tmp_path / "rows").mkdir()
    (tmp_path / "bulk").mkdir()
    by_rows = _load_story(tmp_path / "rows", "story-rows")
    settings.INGEST_BULK_MIN_ROWS = EVERYTHING
    in_bulk = _load_story(tmp_path / "bulk", "story-bulk")
    assert in_bulk == by_rows
    assert in_bulk["counts"] == [(10, 0, 0, 0), (4, 0, 6, 4), (0, 0, 0, 8), (4, 0, 0, 0)]
    assert in_bulk["kept_ids"] == 4  # the four parcels no file changed kept the ids of the first load


def _stray_tables() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT relname FROM pg_class WHERE relkind = 'r' AND (relname LIKE 'ingest\\_load\\_%' OR relname LIKE 'ingest\\_history\\_%')")
        return [row[0] for row in cursor.fetchall()]


def _partitions() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
                       "WHERE i.inhparent IN ('layers_feature'::regclass, 'layers_featureversion'::regclass) ORDER BY 1")
        return [row[0] for row in cursor.fetchall()]


def test_a_refused_bulk_load_changes_nothing_and_leaves_no_table(tmp_path, settings):
    settings.INGEST_BULK_MIN_ROWS = EVERYTHING
    layer = make_parcel_layer(slug="bulk-refused")
    ingest_file(path=write(parcels_frame(5), tmp_path / "v1.gpkg"), layer=layer, mode="replace")
    before = (sorted(Feature.objects.filter(layer=layer).values_list("id", "version", "properties")),
              FeatureVersion.objects.filter(layer=layer).count(), _partitions())
    duplicate = write(parcels_frame(4, parcel_no=[1, 2, 3, 3]), tmp_path / "dup.gpkg")
    for mode in ("replace", "append"):
        with pytest.raises(IngestRejected, match="repeat a unique key"):
            ingest_file(path=duplicate, layer=layer, mode=mode)
    after = (sorted(Feature.objects.filter(layer=layer).values_list("id", "version", "properties")),
             FeatureVersion.objects.filter(layer=layer).count(), _partitions())
    assert after == before and _stray_tables() == []
    assert IngestRun.objects.filter(layer=layer, status="failed").count() == 2


@pytest.mark.django_db(transaction=True)  # each load its own transaction, as in use: history is told apart by time
def test_a_bulk_replace_can_be_reverted(tmp_path, settings):
    from django.contrib.auth.models import User

    from layers.editing import run_revert

    settings.INGEST_BULK_MIN_ROWS = EVERYTHING
    admin = User.objects.create_superuser("bulk-chief", password="x")
    v1, v2, _ = _files(tmp_path)
    layer = ingest_file(path=v1, layer="bulk-revert", mode="create", user=admin).layer
    before = sorted(Feature.objects.filter(layer=layer).values_list("id", "properties"))
    replaced = ingest_file(path=v2, layer=layer, mode="replace", user=admin)
    assert {v.changed_by_id for v in FeatureVersion.objects.filter(run_id=replaced.pk)} == {admin.pk}
    run_revert(layer=layer, run_id=replaced.pk, user=admin)
    assert sorted(Feature.objects.filter(layer=layer).values_list("id", "properties")) == before


@pytest.mark.django_db(transaction=True)
def test_readers_see_the_old_layer_or_the_new_one_never_half(tmp_path, settings):
    """A reader counting the layer in a loop while a bulk replace of 600 rows by 900 commits in chunks of 100."""
    settings.INGEST_BULK_MIN_ROWS, settings.INGEST_CHUNK_ROWS = EVERYTHING, 100
    layer = make_parcel_layer(slug="bulk-readers")
    ingest_file(path=write(parcels_frame(600), tmp_path / "old.gpkg"), layer=layer, mode="replace")
    seen, done = set(), threading.Event()
    dsn = {k: v for k, v in connection.get_connection_params().items() if k != "cursor_factory"}

    def read() -> None:
        reader = psycopg2.connect(**dsn)
        reader.autocommit = True
        with reader.cursor() as cursor:
            while not done.is_set():
                cursor.execute("SELECT count(*) FROM layers_feature WHERE layer_id = %s", [layer.pk])
                seen.add(cursor.fetchone()[0])
        reader.close()

    thread = threading.Thread(target=read)
    thread.start()
    try:
        ingest_file(path=write(parcels_frame(900, land_use=["CLN"] * 900), tmp_path / "new.gpkg"), layer=layer,
                    mode="replace")
    finally:
        done.set()
        thread.join()
    assert seen <= {600, 900} and 600 in seen
    assert Feature.objects.filter(layer=layer).count() == 900


def _swap_waiting(cursor) -> bool:
    cursor.execute("SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                   "AND query LIKE 'DROP TABLE IF EXISTS \"layers_feature_l%%')")
    return cursor.fetchone()[0]


@pytest.mark.django_db(transaction=True)
def test_the_swap_waits_for_a_long_reader_without_stalling_the_others(tmp_path, settings):
    """A reader inside a long transaction on the layer: the swap keeps stepping aside (short lock waits), so a
    query on another layer still runs while it waits; the load completes once the long reader ends."""
    settings.INGEST_BULK_MIN_ROWS, settings.INGEST_SWAP_LOCK_TIMEOUT = EVERYTHING, "50ms"
    layer = make_parcel_layer(slug="bulk-long-reader")
    other = make_parcel_layer(slug="bulk-other")
    ingest_file(path=write(parcels_frame(5), tmp_path / "old.gpkg"), layer=layer, mode="replace")
    dsn = {k: v for k, v in connection.get_connection_params().items() if k != "cursor_factory"}
    long_reader, passer = psycopg2.connect(**dsn), psycopg2.connect(**dsn)
    passer.autocommit = True
    with long_reader.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM layers_feature WHERE layer_id = %s", [layer.pk])  # holds its lock
    outcome = {}

    def load() -> None:
        try:
            outcome["run"] = ingest_file(path=write(parcels_frame(7), tmp_path / "new.gpkg"), layer=layer.slug,
                                         mode="replace")
        except Exception as error:  # noqa: BLE001 - reported by the assertion below
            outcome["error"] = error

    thread = threading.Thread(target=load)
    thread.start()
    try:
        with passer.cursor() as cursor:
            wait_until(lambda: _swap_waiting(cursor), seconds=120, what="the swap waiting for the long reader")
            cursor.execute("SET statement_timeout = '5s'")
            for _ in range(20):  # each would queue behind the swap's lock if it did not step aside
                cursor.execute("SELECT count(*) FROM layers_feature WHERE layer_id = %s", [other.pk])
                assert cursor.fetchone()[0] == 0
        assert thread.is_alive() and "run" not in outcome  # still waiting for the long reader
    finally:
        long_reader.rollback()
        long_reader.close()
        thread.join(timeout=120)
        passer.close()
    assert "error" not in outcome, outcome.get("error")
    assert outcome["run"].status == "succeeded" and Feature.objects.filter(layer=layer).count() == 7


def test_the_same_file_again_is_recognised_unless_the_layer_changed(tmp_path):
    """A replace with the file of the layer's last load, nothing changed since: answered from that load's
    reading (same counts, same rejected rows), nothing written; any change in between, or --recheck, reads it."""
    from layers.editing import feature_update

    frame = parcels_frame(4)
    frame["land_use"] = ["ODT", "ODT", "ODT", "XYZ"]  # not a land-use code: the replayed report names it again
    path = write(frame, tmp_path / "weekly.gpkg")
    layer = make_parcel_layer(slug="weekly")
    first = ingest_file(path=path, layer=layer, mode="replace", max_rejects=1)
    before = sorted(Feature.objects.filter(layer=layer).values_list("id", "version", "updated_at"))
    again = ingest_file(path=path, layer=layer, mode="replace", max_rejects=1)
    assert again.status == "succeeded" and "Identical to run" in again.report["warnings"][0]
    assert (again.report["loaded"], again.report["unchanged"], again.report["inserted"]) == (3, 3, 0)
    assert [r["row"] for r in again.report["rejected"]] == [r["row"] for r in first.report["rejected"]] == [4]
    assert sorted(Feature.objects.filter(layer=layer).values_list("id", "version", "updated_at")) == before
    assert not FeatureVersion.objects.filter(run_id=again.pk).exists()
    # Other options are another load: read in full.
    assert "Identical to run" not in " ".join(ingest_file(path=path, layer=layer, mode="replace", max_rejects=2).report["warnings"])
    checked = ingest_file(path=path, layer=layer, mode="replace", max_rejects=2, recheck=True)
    assert "Identical to run" not in " ".join(checked.report["warnings"]) and checked.report["unchanged"] == 3
    # An edit since the last load: the file no longer matches the layer, so it is read and the edit undone.
    feature = Feature.objects.filter(layer=layer).order_by("id").first()
    from django.contrib.auth.models import User
    feature_update(layer=layer, feature_id=feature.pk, expected_version=feature.version,
                   user=User.objects.create_superuser("weekly-admin", password="x"),
                   properties={**feature.properties, "land_use": "CLN"})
    after_edit = ingest_file(path=path, layer=layer, mode="replace", max_rejects=2)
    assert "Identical to run" not in " ".join(after_edit.report["warnings"])
    assert (after_edit.report["inserted"], after_edit.report["deleted"]) == (1, 1)


def test_a_deleted_layers_partition_and_history_segment_are_dropped_by_the_next_load(tmp_path, settings):
    settings.INGEST_BULK_MIN_ROWS = EVERYTHING
    gone = make_parcel_layer(slug="bulk-gone")
    run = ingest_file(path=write(parcels_frame(3), tmp_path / "a.gpkg"), layer=gone, mode="replace")
    names = {f"layers_feature_l{gone.pk}", f"layers_featureversion_r{run.pk}"}
    assert names <= set(_partitions())
    gone.delete()
    ingest_file(path=write(parcels_frame(2), tmp_path / "b.gpkg"), layer=make_parcel_layer(slug="bulk-next"), mode="replace")
    assert not names & set(_partitions()) and _stray_tables() == []


def test_dropping_orphans_and_swapping_leave_the_callers_lock_timeout_as_it_was(tmp_path, settings):
    """The short lock time-outs of the drop and the swap hold for those statements only: in a caller's transaction
    (a harvest, a test) a later ATTACH of a new layer's partition must not inherit 100 ms and fail under load."""
    settings.INGEST_BULK_MIN_ROWS = EVERYTHING
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL lock_timeout = '7s'")
        gone = make_parcel_layer(slug="bulk-orphan")
        ingest_file(path=write(parcels_frame(3), tmp_path / "a.gpkg"), layer=gone, mode="replace")
        gone.delete()  # an orphan partition for the next load's drop_orphans
        ingest_file(path=write(parcels_frame(2), tmp_path / "b.gpkg"), layer=make_parcel_layer(slug="bulk-after"),
                    mode="replace")
        cursor.execute("SHOW lock_timeout")
        assert cursor.fetchone()[0] == "7s"


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("threshold", [EVERYTHING, NOTHING], ids=["bulk", "rows"])
def test_an_edit_during_a_load_is_refused_at_once_and_the_load_completes(tmp_path, settings, monkeypatch, threshold):
    """Paused mid-load (the fault tests' pause point), an ingest holds the layer's write gate: the editor's save
    gets a 409 saying why, at once, not a wait on the load's locks; the load then ends as if alone."""
    from django.contrib.auth.models import User
    from django.db import connections

    from ingest.liveness import PAUSE_ENV, PAUSE_NAMESPACE
    from layers.editing import feature_update
    from layers.errors import LayerBeingLoaded

    settings.INGEST_BULK_MIN_ROWS, settings.INGEST_CHUNK_ROWS = threshold, 2
    layer = make_parcel_layer(slug="gate-" + str(threshold))
    ingest_file(path=write(parcels_frame(4), tmp_path / "v1.gpkg"), layer=layer, mode="replace")
    feature = Feature.objects.filter(layer=layer).order_by("id").first()
    admin = User.objects.create_superuser(f"gate-admin-{threshold}", password="x")
    pause = connections.create_connection("default")
    with pause.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_lock(%s, hashtext('load'))", [PAUSE_NAMESPACE])
    monkeypatch.setenv(PAUSE_ENV, "load")
    outcome = {}

    def load() -> None:
        try:
            outcome["run"] = ingest_file(path=write(parcels_frame(6, land_use=["CLN"] * 6), tmp_path / "v2.gpkg"),
                                         layer=layer.slug, mode="replace")
        except Exception as error:  # noqa: BLE001 - asserted below
            outcome["error"] = error
        finally:
            connection.close()

    thread = threading.Thread(target=load)
    thread.start()
    try:
        with pause.cursor() as cursor:
            wait_until(lambda: _paused(cursor), seconds=60, what="the ingest pausing mid-load")
        with pytest.raises(LayerBeingLoaded) as refused:
            feature_update(layer=layer, feature_id=feature.pk, expected_version=feature.version, user=admin,
                           properties={**feature.properties, "land_use": "TMD"})
        assert refused.value.status == 409 and "đang được nạp" in refused.value.message_vi
    finally:
        pause.close()
        thread.join(timeout=120)
    assert "error" not in outcome, outcome.get("error")
    assert sorted(Feature.objects.filter(layer=layer).values_list("properties__land_use", flat=True)) == ["CLN"] * 6
    feature = Feature.objects.filter(layer=layer).order_by("id").first()
    feature_update(layer=layer, feature_id=feature.pk, expected_version=feature.version, user=admin,
                   properties={**feature.properties, "land_use": "TMD"})  # after the load: saved


def _paused(cursor) -> bool:
    from ingest.liveness import PAUSE_NAMESPACE

    cursor.execute("SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND NOT granted "
                   "AND classid::bigint = %s)", [PAUSE_NAMESPACE])
    return cursor.fetchone()[0]


def test_a_history_query_for_another_layer_skips_a_bulk_segment(tmp_path, settings):
    settings.INGEST_BULK_MIN_ROWS = EVERYTHING
    run = ingest_file(path=write(parcels_frame(3), tmp_path / "a.gpkg"), layer=make_parcel_layer(slug="seg-a"),
                      mode="replace")
    other = make_parcel_layer(slug="seg-b")
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN SELECT count(*) FROM layers_featureversion WHERE layer_id = %s", [other.pk])
        plan = "\n".join(row[0] for row in cursor.fetchall())
        cursor.execute("EXPLAIN SELECT count(*) FROM layers_featureversion WHERE layer_id = %s", [run.layer_id])
        own = "\n".join(row[0] for row in cursor.fetchall())
    assert f"layers_featureversion_r{run.pk}" not in plan and f"layers_featureversion_r{run.pk}" in own


def test_the_advisory_lock_namespaces_are_distinct():
    """A shared namespace made the write gate of layer 9 the liveness lock of run 9 (found by the test above)."""
    from ingest.liveness import PAUSE_NAMESPACE, RUN_LOCK_NAMESPACE
    from ingest.loader import LOCK_NAMESPACE
    from layers.loadgate import GATE_NAMESPACE

    assert len({LOCK_NAMESPACE, RUN_LOCK_NAMESPACE, PAUSE_NAMESPACE, GATE_NAMESPACE}) == 4


def test_the_same_file_is_read_again_when_rows_changed_without_history(tmp_path):
    """Rows deleted with the history triggers off (as bench/history does) leave the history as it was: the
    layer's rows themselves tell the replay that the layer no longer holds the file."""
    path = write(parcels_frame(3), tmp_path / "v1.gpkg")
    layer = make_parcel_layer(slug="replay-no-history")
    ingest_file(path=path, layer=layer, mode="replace")
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL session_replication_role = replica")
        cursor.execute("DELETE FROM layers_feature WHERE layer_id = %s", [layer.pk])
        cursor.execute("SET LOCAL session_replication_role = origin")
    again = ingest_file(path=path, layer=layer, mode="replace")
    assert "Identical to run" not in " ".join(again.report["warnings"]) and again.report["inserted"] == 3
    assert Feature.objects.filter(layer=layer).count() == 3
