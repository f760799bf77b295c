"""kill -9 an ingest in the middle of its load and in its final transaction: the layer is exactly as before,
the run ends failed (not running for ever), and the layer's lock is free for the next ingest.

The ingest runs in its own process through the real doors (`manage.py ingest`, `manage.py ingest_job`, and the
job worker that runs `ingest_job` as its child).
GISPORTAL_INGEST_PAUSE_AT makes it wait at a named phase on an advisory lock this test holds; the test
sees it waiting in pg_locks, then kills it. The test keeps holding that lock: PostgreSQL itself must
notice the dead client and end its statement, or the layer's lock would never come free.
"""
import os
import signal
import subprocess
from pathlib import Path

import pyogrio
import pytest
from django.contrib.auth.models import User
from django.db import connection, connections

from ingest.liveness import PAUSE_ENV, PAUSE_NAMESPACE
from ingest.loader import LOCK_NAMESPACE
from ingest.models import IngestRun
from ingest.services import ingest_file
from layers.models import Layer
from tests.faults.helpers import MANAGE, child_env, layer_fingerprint, wait_until

pytestmark = [pytest.mark.faults, pytest.mark.django_db(transaction=True)]
SLUG = "fault-parcels"
# The child's write path (GISPORTAL_INGEST_BULK_MIN_ROWS): a new partition swapped in, or row by row.
PATHS = {"bulk": "0", "rows": "1000000000"}
PATHS_ENV_BULK = {"GISPORTAL_INGEST_BULK_MIN_ROWS": PATHS["bulk"]}


@pytest.fixture(params=sorted(PATHS))
def write_path(request) -> dict[str, str]:
    return {"GISPORTAL_INGEST_BULK_MIN_ROWS": PATHS[request.param]}


def _no_tables_left_behind(partitions_before: list[str]) -> None:
    """No half-built partition or history segment: the killed load's tables went with its transaction."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT relname FROM pg_class WHERE relkind = 'r' AND relname ~ '^ingest_(load|history)_'")
        assert cursor.fetchall() == []
    assert _partitions() == partitions_before


def _partitions() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
                       "WHERE i.inhparent IN ('layers_feature'::regclass, 'layers_featureversion'::regclass) ORDER BY 1")
        return [row[0] for row in cursor.fetchall()]


@pytest.fixture
def parcels_layer(demo_files) -> Layer:
    """The demo city's 3,000 parcels in a layer of their own, committed (the children must see them)."""
    ingest_file(path=demo_files["parcels"], layer=SLUG, mode="create")
    return Layer.objects.get(slug=SLUG)


@pytest.fixture
def admin_client(client):
    # A data administrator: staff alone do not see runs into layers hidden from them.
    client.force_login(User.objects.create_user("fault-admin", password="x", is_staff=True, is_superuser=True))
    return client


def _variant(source: Path, target: Path, *, parcel_offset: int = 0, rows: int | None = None) -> Path:
    """The demo parcels renumbered (new keys) and/or cut to their first rows, as a new GeoPackage."""
    frame = pyogrio.read_dataframe(source)
    frame = frame.head(rows) if rows else frame
    frame["parcel_no"] = frame["parcel_no"] + parcel_offset
    frame.loc[frame.index[:100], "land_use"] = "TMD"
    pyogrio.write_dataframe(frame, target, layer="parcels")
    return target


class Pause:
    """Holds the advisory lock a paused ingest waits on, from a connection of the test's own."""

    def __init__(self, phase: str):
        self.phase, self.connection = phase, connections.create_connection("default")
        self._sql("SELECT pg_advisory_lock(%s, hashtext(%s))")

    def _sql(self, sql: str):
        with self.connection.cursor() as cursor:
            cursor.execute(sql, [PAUSE_NAMESPACE, self.phase])
            return cursor.fetchone()

    def waiter(self) -> int | None:
        """The backend PID of the ingest waiting at this phase, if one is."""
        row = self._sql("SELECT min(pid) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted "
                        "AND classid::bigint = %s AND objid::bigint = (hashtext(%s)::bigint & 4294967295)")
        return row[0]

    def release(self) -> None:
        self.connection.close()


def _layer_lock_free(slug: str) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT NOT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND classid::bigint = %s "
                       "AND objid::bigint = (hashtext(%s)::bigint & 4294967295))", [LOCK_NAMESPACE, slug])
        return cursor.fetchone()[0]


def _backend_gone(pid: int) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT NOT EXISTS (SELECT 1 FROM pg_stat_activity WHERE pid = %s)", [pid])
        return cursor.fetchone()[0]


def _kill_at(phase: str, command: list[str], **env: str) -> int:
    """Starts the command paused at `phase`, kills it with SIGKILL there; returns its database backend's PID."""
    pause = Pause(phase)
    try:
        child = subprocess.Popen(command, env=child_env(**{PAUSE_ENV: phase}, **env), stdout=subprocess.PIPE,
                                 stderr=subprocess.STDOUT, text=True)
        try:
            wait_until(lambda: pause.waiter() is not None or child.poll() is not None, seconds=120,
                       what=f"the ingest reaching {phase}")
            assert child.poll() is None, child.communicate()[0][-3000:]
            backend = pause.waiter()
            child.send_signal(signal.SIGKILL)
            assert child.wait(timeout=30) == -signal.SIGKILL
        finally:
            if child.poll() is None:
                child.kill()
                child.wait()
        # Still holding the pause lock: only PostgreSQL's check of the dead client can end that statement.
        wait_until(lambda: _backend_gone(backend), seconds=30, what="the killed ingest's session ending")
        wait_until(lambda: _layer_lock_free(SLUG), seconds=30, what="the layer's ingest lock coming free")
        return backend
    finally:
        pause.release()


def _next_ingest_works(path: Path, expected: int, write_path: dict[str, str]) -> None:
    """`manage.py ingest` without waiting for the lock: refused if the killed ingest still held it."""
    result = subprocess.run([*MANAGE, "ingest", str(path), "--layer", SLUG, "--mode", "replace"], env=child_env(**write_path),
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert Layer.objects.get(slug=SLUG).features.count() == expected
    assert IngestRun.objects.filter(layer_slug=SLUG).order_by("-id").first().status == "succeeded"


def test_kill_in_the_middle_of_the_load(parcels_layer, demo_files, tmp_path, admin_client, write_path):
    """Append in chunks of 500: killed after the first chunk went into the layer, inside the open transaction."""
    before, partitions = layer_fingerprint(parcels_layer.pk), _partitions()
    more = _variant(demo_files["parcels"], tmp_path / "more.gpkg", parcel_offset=100_000)
    _kill_at("load", [*MANAGE, "ingest", str(more), "--layer", SLUG, "--mode", "append"],
             GISPORTAL_INGEST_CHUNK_ROWS="500", **write_path)

    assert layer_fingerprint(parcels_layer.pk) == before
    _no_tables_left_behind(partitions)
    run = IngestRun.objects.filter(layer_slug=SLUG, mode="append").get()
    assert run.status == "running"  # as the killed process left it: nobody can know until someone looks
    body = admin_client.get(f"/ingest/runs/{run.pk}.json").json()
    assert body["status"] == "failed" and body["report"]["error"]["en"].startswith("The ingest process ended")
    _next_ingest_works(_variant(demo_files["parcels"], tmp_path / "fewer.gpkg", rows=2000), 2000, write_path)


def test_kill_in_the_final_transaction(parcels_layer, demo_files, tmp_path, admin_client, write_path):
    """A queued upload job replacing the layer: killed after the replace (in bulk: after the swap), the stats
    and the run's own 'succeeded' were written in its transaction, just before COMMIT."""
    before, partitions = layer_fingerprint(parcels_layer.pk), _partitions()
    folder = tmp_path / "upload"
    folder.mkdir()
    fewer = _variant(demo_files["parcels"], folder / "fewer.gpkg", rows=2000)
    run = IngestRun.objects.create(layer=parcels_layer, layer_slug=SLUG, file_name=fewer.name, mode="replace",
                                   status=IngestRun.Status.QUEUED, upload_path=str(fewer), options={})
    _kill_at("final", [*MANAGE, "ingest_job", str(run.pk)], **write_path)

    assert layer_fingerprint(parcels_layer.pk) == before
    _no_tables_left_behind(partitions)
    run.refresh_from_db()
    assert run.status in ("queued", "running") and run.finished_at is None  # its 'succeeded' was rolled back
    answer = admin_client.get(f"/ingest/runs/{run.pk}.json")
    assert answer.json().get("status") == "failed", answer.content
    # The upload page's list reaps too, and a later ingest into the layer never sees a dead run as running.
    assert not IngestRun.objects.filter(status__in=("queued", "running")).exists()
    again = _variant(demo_files["parcels"], tmp_path / "again.gpkg", rows=2000)
    _next_ingest_works(again, 2000, write_path)
    assert layer_fingerprint(parcels_layer.pk) != before


def test_kill_the_workers_child_in_the_final_transaction(parcels_layer, demo_files, tmp_path, admin_client):
    """Through the queue: a worker runs the uploaded run's job in a child; kill -9 of that child in its final
    transaction leaves the layer as it was, and the worker itself marks the run failed (nobody needs to look)
    and its job failed; the next ingest works."""
    from django.db import transaction

    from ingest.jobs import queue_run
    from layers.jobs import job_state
    from tests.cluster.workers import Worker, clear_queue

    clear_queue()
    before, partitions = layer_fingerprint(parcels_layer.pk), _partitions()
    folder = tmp_path / "jobs" / "uploads" / "abc123"  # as the upload page keeps it, in the worker's jobs directory
    folder.mkdir(parents=True)
    fewer = _variant(demo_files["parcels"], folder / "fewer.gpkg", rows=2000)
    with transaction.atomic():
        run = IngestRun.objects.create(layer=parcels_layer, layer_slug=SLUG, file_name=fewer.name, mode="replace",
                                       status=IngestRun.Status.QUEUED, upload_path=str(fewer), options={})
        queue_run(run)
    pause = Pause("final")
    worker = Worker(tmp_path / "worker.log", "--queues", "ingest", **{PAUSE_ENV: "final"}, **PATHS_ENV_BULK,
                    GISPORTAL_INGEST_JOBS_DIR=str(tmp_path / "jobs"))
    try:
        wait_until(lambda: pause.waiter() is not None, seconds=120, what="the worker's child reaching its final phase")
        run.refresh_from_db()
        assert run.pid not in (None, worker.process.pid)
        os.kill(run.pid, signal.SIGKILL)
        wait_until(lambda: job_state(run.job_id).status == "failed", seconds=60, what="the worker noticing the kill")
        run.refresh_from_db()
        assert run.status == "failed" and run.report["error"]["en"].startswith("The ingest process ended")
        assert not folder.exists()  # nothing will run it again: the upload goes
    finally:
        pause.release()
        worker.stop()
        clear_queue()
    assert layer_fingerprint(parcels_layer.pk) == before
    _no_tables_left_behind(partitions)
    assert admin_client.get(f"/ingest/runs/{run.pk}.json").json()["status"] == "failed"
    _next_ingest_works(_variant(demo_files["parcels"], tmp_path / "again.gpkg", rows=2000), 2000, PATHS_ENV_BULK)
