"""Background ingest jobs: one queued job per upload (ingest/tasks.py), run by a worker in a child process; its
state and live progress in the IngestRun row."""
import logging
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from django.conf import settings
from django.db import connection, connections

from ingest.liveness import (ACTIVE, RunLock, mark_failed, reap_dead_runs, reap_if_dead,  # noqa: F401 (views import the reaper)
                             run_lock_held)
from ingest.models import IngestRun
from ingest.raster import ingest_raster_run
from ingest.services import ingest_file
from layers.errors import DomainError

log = logging.getLogger(__name__)
LOCK_RELEASE_WAIT = 60.0  # seconds a dead child's database session may take to end (its statement is cancelled)


def jobs_dir() -> Path:
    """Where uploads wait for their job (outside MEDIA_ROOT: never served)."""
    path = Path(getattr(settings, "INGEST_JOBS_DIR", Path(settings.VAR_DIR) / "ingest"))
    path.mkdir(parents=True, exist_ok=True)
    return path


def queue_run(run: IngestRun) -> int:
    """Defers the run's job (queue "ingest") in the caller's transaction: the run and its job commit together or
    not at all. One job per layer at a time (the job's lock): a second upload into the layer waits in the queue
    rather than holding a worker slot while it waits for the layer's ingest lock."""
    from ingest.tasks import run_ingest  # the task module imports this one

    job_id = run_ingest.configure(lock=f"ingest-layer:{run.layer_slug}").defer(run_id=run.pk)
    IngestRun.objects.filter(pk=run.pk).update(job_id=job_id)
    run.job_id = job_id
    return job_id


def run_in_child(run_id: int) -> str:
    """`manage.py ingest_job RUN` in a child process, waited for: the load's memory goes back to the system after
    every job, and a child killed mid-load (OOM, kill -9) is the fault the run's lock already covers."""
    env = {**os.environ, "GISPORTAL_DB_NAME": connection.settings_dict["NAME"]}  # the worker's database
    with (jobs_dir() / f"run-{run_id}.log").open("ab") as out:
        child = subprocess.run(
            [sys.executable, str(Path(settings.BASE_DIR) / "manage.py"), "ingest_job", str(run_id)],
            cwd=settings.BASE_DIR, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
        )
    # Ended without a result (killed, crashed, or left running by a dead worker's child): failed. A killed child's
    # sessions end once PostgreSQL notices (its open transaction may hold the run's row a little longer).
    interrupted = _fail_unfinished(run_id, patience=LOCK_RELEASE_WAIT if child.returncode != 0 else 0.0)
    _drop_upload(run_id)
    if interrupted and child.returncode != 0:  # the job fails too (the queue's listing shows crashes); no retry
        raise IngestProcessDied(f"ingest run #{run_id}: its process ended with {child.returncode} before finishing")
    run = IngestRun.objects.get(pk=run_id)
    return f"run #{run_id}: {run.status}"  # (a child stopped after its run finished: the result stands)


def abandon_run(run_id: int) -> str:
    """A job whose workers kept dying: its run, if still unfinished and not running anywhere, is failed."""
    _fail_unfinished(run_id, patience=0.0)
    _drop_upload(run_id)
    return f"run #{run_id}: given up, {IngestRun.objects.get(pk=run_id).status}"


def _drop_upload(run_id: int) -> None:
    """A finished run's uploaded file goes (only ever a folder the upload page made in the jobs directory)."""
    run = IngestRun.objects.filter(pk=run_id).exclude(status__in=ACTIVE).first()
    folder = Path(run.upload_path).parent if run is not None and run.upload_path else None
    if folder is not None and folder.parent == jobs_dir() / "uploads":
        shutil.rmtree(folder, ignore_errors=True)


def _fail_unfinished(run_id: int, *, patience: float) -> bool:
    """Marks the run failed if it is unfinished and nobody holds its lock, trying for up to `patience` seconds
    (past that the reaper judges it when someone looks); True when the run was unfinished."""
    deadline, unfinished = time.monotonic() + patience, False
    while IngestRun.objects.filter(pk=run_id, status__in=ACTIVE).exists():
        unfinished = True
        if not run_lock_held(run_id):
            mark_failed(run_id)  # skips while the dead child's transaction still holds the row
        if time.monotonic() >= deadline:
            break
        time.sleep(0.5)
    return unfinished


class IngestProcessDied(RuntimeError):
    """The job's child process was killed or crashed (a run the data refused ends normally, its error recorded)."""


class ProgressWriter:
    """Writes progress to the run row through its own connection, so it is visible while the load's transaction is open."""

    def __init__(self, run_id: int, every_seconds: float = 1.0):
        self.run_id, self.every, self.last = run_id, every_seconds, 0.0
        self.connection = None

    def __call__(self, done: int, total: int | None) -> None:
        now = time.monotonic()
        if now - self.last < self.every and (total is None or done < total):
            return
        self.last = now
        if self.connection is None:
            self.connection = connections.create_connection("default")
        with self.connection.cursor() as cursor:
            cursor.execute(
                "UPDATE ingest_ingestrun SET progress_done = %s, progress_total = %s, status = 'running' "
                "WHERE id = %s AND status IN ('queued', 'running')",
                [done, total, self.run_id],
            )

    def close(self) -> None:
        if self.connection is not None:
            self.connection.close()


def run_job(run_id: int) -> IngestRun:
    """Runs a queued upload through ingest_file (waiting its turn on the layer's lock); removes the upload after.
    Never twice: the run's lock is taken first and its status read under it."""
    lock = RunLock(run_id)  # first: from now on the run counts as alive exactly while this process is
    run = IngestRun.objects.select_related("user").get(pk=run_id)  # read under the lock: a rerun of the job
    if run.status != IngestRun.Status.QUEUED:  # (stalled worker) finds the first one's result and stops
        lock.release()
        return run
    run.pid = os.getpid()  # shown on the run page; ingest_file saves the run object
    IngestRun.objects.filter(pk=run.pk).update(pid=run.pid)
    options, writer = run.options, ProgressWriter(run.pk)
    try:
        if Path(run.upload_path).suffix.lower() in (".tif", ".tiff"):
            ingest_raster_run(path=Path(run.upload_path), layer_slug=run.layer_slug, user=run.user, run=run)
            return run
        ingest_file(
            path=Path(run.upload_path), layer=run.layer_slug, mode=run.mode, crs=options.get("crs") or None,
            encoding=options.get("encoding") or None, source_layer=options.get("source_layer") or None,
            column_map=options.get("column_map") or {}, max_rejects=int(options.get("max_rejects") or 0),
            dry_run=bool(options.get("dry_run")), key=options.get("key") or None, user=run.user, run=run,
            progress=writer, wait_for_lock=True, not_personal=list(options.get("not_personal") or []),
        )
    except DomainError:
        pass  # recorded on the run by ingest_file
    except Exception:
        log.exception("ingest job %s failed", run_id)
    finally:
        writer.close()
        lock.release()
        shutil.rmtree(Path(run.upload_path).parent, ignore_errors=True)
        run.refresh_from_db()
    return run
