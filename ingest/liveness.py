"""Is an ingest run's process still alive? Its database session holds the run's lock while it lives.

A PID says little: it is reused after a crash, and the web server may not see the job's process at
all (another container or host). An advisory lock held by an idle connection of the job's process is
released by PostgreSQL the moment that process dies, however it dies (kill -9 included). Before its process
takes the lock, a queued run is alive while its job is in the queue (layers.jobs: waiting, running on a worker
whose heartbeat is fresh, or stalled until the recovery puts it back): both facts live in PostgreSQL, so any
node reads the same answer.
"""
import os
from collections.abc import Callable

from django.db import connection, connections, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.utils import timezone

from ingest.models import IngestRun
from layers.jobs import job_state

# ingest.loader's per-layer lock uses 74_650; runs and the test pause points have their own namespaces.
RUN_LOCK_NAMESPACE = 74_651
PAUSE_NAMESPACE = 74_652
PAUSE_ENV = "GISPORTAL_INGEST_PAUSE_AT"
ACTIVE = (IngestRun.Status.QUEUED, IngestRun.Status.RUNNING)


class RunLock:
    """The run's lock, held on a connection of its own for as long as this process works on the run."""

    def __init__(self, run_id: int):
        self.run_id = run_id
        self.connection: BaseDatabaseWrapper | None = connections.create_connection("default")
        with self.connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_lock(%s, %s::int)", [RUN_LOCK_NAMESPACE, run_id])

    def release(self) -> None:
        """Ends the session, and so the lock (also what happens when the process dies)."""
        if self.connection is not None:
            self.connection.close()
            self.connection = None


def start_run(**fields) -> tuple[IngestRun, RunLock]:
    """A new running IngestRun with its lock held: others see the row only once the lock is (never dead at birth)."""
    with transaction.atomic():
        run = IngestRun.objects.create(status=IngestRun.Status.RUNNING, pid=os.getpid(), **fields)
        return run, RunLock(run.pk)


def run_lock_held(run_id: int) -> bool:
    """True while some session of this database holds the run's lock."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted AND objsubid = 2 "
            "AND database = (SELECT oid FROM pg_database WHERE datname = current_database()) "
            "AND classid::bigint = %s AND objid::bigint = %s)",
            [RUN_LOCK_NAMESPACE, run_id],
        )
        return cursor.fetchone()[0]


def run_alive(run: IngestRun) -> bool:
    """A run lives while its process holds its lock, or while its queued job waits for a worker, runs on a live
    one, or waits to be put back after its worker died (however long: no clock, no PID, so every node judges
    alike); with neither it is dead. A running run without its lock is dead (its load was interrupted)."""
    if run_lock_held(run.pk):
        return True
    if run.status != IngestRun.Status.QUEUED:
        return False  # running without its lock: the loading process has gone
    state = job_state(run.job_id)
    return state is not None and state.waiting


def mark_failed(run_id: int) -> None:
    """Failed, unless its transaction still holds the row (then it is not dead yet: skip, never wait)."""
    with transaction.atomic():
        run = (IngestRun.objects.select_for_update(skip_locked=True)
               .filter(pk=run_id, status__in=ACTIVE).first())
        if run is None:
            return
        run.status = IngestRun.Status.FAILED
        run.finished_at = timezone.now()
        run.report = {**run.report, "error": {"vi": "Tiến trình nạp dừng đột ngột; lớp không thay đổi.",
                                              "en": "The ingest process ended unexpectedly; the layer is unchanged."}}
        run.save(update_fields=["status", "finished_at", "report"])


def reap_if_dead(run: IngestRun) -> IngestRun:
    """A queued/running run whose process has gone (killed, crashed) is marked failed; its transaction rolled back."""
    if run.status in ACTIVE and not run_alive(run):
        mark_failed(run.pk)
        run.refresh_from_db()
    return run


def reap_dead_runs(*, layer_slug: str | None = None) -> int:
    """reap_if_dead for every unfinished run (of one layer, or all): lists and the next ingest never show a dead run running."""
    runs = IngestRun.objects.filter(status__in=ACTIVE)
    if layer_slug is not None:
        runs = runs.filter(layer_slug=layer_slug)
    return sum(reap_if_dead(run).status == IngestRun.Status.FAILED for run in runs)


def pause_point(phase: str, *, settle: Callable[[], None] | None = None) -> None:
    """Fault tests only: with GISPORTAL_INGEST_PAUSE_AT=phase, waits here (after `settle`), inside the open
    transaction, on an advisory lock the test holds, so the test can kill -9 the process at exactly this
    phase. Unset (always, in production) it does nothing."""
    if os.environ.get(PAUSE_ENV) != phase:
        return
    if settle is not None:
        settle()
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_lock(%s, hashtext(%s))", [PAUSE_NAMESPACE, phase])
        cursor.execute("SELECT pg_advisory_unlock(%s, hashtext(%s))", [PAUSE_NAMESPACE, phase])
