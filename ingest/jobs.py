"""Background ingest jobs: one detached process per upload, its state and live progress in the IngestRun row."""
import logging
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from django.conf import settings
from django.db import connection, connections

from ingest.liveness import RunLock, reap_dead_runs, reap_if_dead  # noqa: F401 (views import the reaper from here)
from ingest.models import IngestRun
from ingest.raster import ingest_raster_run
from ingest.services import ingest_file
from layers.errors import DomainError

log = logging.getLogger(__name__)


def jobs_dir() -> Path:
    """Where uploads wait for their job (outside MEDIA_ROOT: never served)."""
    path = Path(getattr(settings, "INGEST_JOBS_DIR", Path(settings.VAR_DIR) / "ingest"))
    path.mkdir(parents=True, exist_ok=True)
    return path


def start_job(run: IngestRun) -> int:
    """Starts `manage.py ingest_job RUN` detached (own session): it survives the request and the browser."""
    env = os.environ.copy()
    env["GISPORTAL_DB_NAME"] = connection.settings_dict["NAME"]  # the child uses the database this request used
    log_path = jobs_dir() / f"run-{run.pk}.log"
    with log_path.open("ab") as out:
        process = subprocess.Popen(
            [sys.executable, str(Path(settings.BASE_DIR) / "manage.py"), "ingest_job", str(run.pk)],
            cwd=settings.BASE_DIR, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    IngestRun.objects.filter(pk=run.pk).update(pid=process.pid)
    return process.pid


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
    """Runs a queued upload through ingest_file (waiting its turn on the layer's lock); removes the upload after."""
    run = IngestRun.objects.select_related("user").get(pk=run_id)
    if run.status != IngestRun.Status.QUEUED:
        return run
    lock = RunLock(run.pk)  # first: from now on the run counts as alive exactly while this process is
    IngestRun.objects.filter(pk=run.pk).update(pid=os.getpid())
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
