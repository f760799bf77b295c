"""The job queue's state, as every node reads it: procrastinate's tables on the primary.

Jobs live in PostgreSQL (procrastinate): a job deferred in the writer's transaction commits with the rows that
ask for it, or not at all, so no job is lost when no worker runs; it waits, and its state says so. Queues:
"ingest" (uploads), "exports" (download files), "tiles" (seeding, purges), "builtin" (clean-up); "webhooks" later.
"""
from dataclasses import dataclass

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections

# A worker whose heartbeat is older than this has stalled (died without unregistering); the worker's own setting.
STALLED_SECONDS = float(settings.PROCRASTINATE_WORKER_DEFAULTS.get("stalled_worker_timeout", 30.0))

# (status, worker alive) -> what the uploader reads, Vietnamese first.
_LABELS = {
    "todo": ("Đang chờ trong hàng đợi: chưa có máy xử lý nào nhận việc này.",
             "Queued — waiting for a worker."),
    "doing": ("Máy xử lý đang thực hiện.", "A worker is running it."),
    "stalled": ("Máy xử lý dừng đột ngột; việc sẽ được chạy lại hoặc báo lỗi.",
                "The worker stopped unexpectedly; the job will be retried or marked failed."),
    "succeeded": ("Đã xong.", "Done."),
    "failed": ("Thất bại.", "Failed."),
    "cancelled": ("Đã hủy.", "Cancelled."),
    "aborting": ("Đang hủy.", "Being cancelled."),
    "aborted": ("Đã hủy giữa chừng.", "Aborted."),
    "gone": ("Không còn trong hàng đợi (đã dọn).", "No longer in the queue (cleaned up)."),
}


@dataclass(frozen=True)
class JobState:
    id: int
    status: str  # procrastinate's status, or "stalled" (doing on a dead worker), or "gone" (removed)
    queue: str = ""
    task: str = ""
    attempts: int = 0
    scheduled_at: object = None

    @property
    def waiting(self) -> bool:
        """Still to be run, running on a live worker, or stalled (the recovery puts it back in the queue): the work
        it stands for is alive, however long it waits."""
        return self.status in ("todo", "doing", "stalled")

    def as_dict(self) -> dict:
        label_vi, label_en = _LABELS.get(self.status, (self.status, self.status))
        return {"id": self.id, "status": self.status, "queue": self.queue, "task": self.task,
                "attempts": self.attempts, "scheduled_at": self.scheduled_at, "label_vi": label_vi,
                "label_en": label_en}


_STATE_SQL = """
SELECT j.id, j.status::text, j.queue_name, j.task_name, j.attempts, j.scheduled_at,
       w.id IS NOT NULL AND w.last_heartbeat > now() - make_interval(secs => %s) AS worker_alive
FROM procrastinate_jobs j LEFT JOIN procrastinate_workers w ON w.id = j.worker_id
"""


def _state(row) -> JobState:
    job_id, status, queue, task, attempts, scheduled_at, worker_alive = row
    if status == "doing" and not worker_alive:
        status = "stalled"  # its worker died (kill -9, lost host): the job is no longer being run
    return JobState(job_id, status, queue, task, attempts, scheduled_at)


def job_state(job_id: int | None) -> JobState | None:
    """The job's state from the primary (the queue's truth; a replica may lag), None for no job."""
    if job_id is None:
        return None
    with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
        cursor.execute(_STATE_SQL + " WHERE j.id = %s", [STALLED_SECONDS, job_id])
        row = cursor.fetchone()
    return _state(row) if row else JobState(job_id, "gone")


def recent_jobs(*, queue: str | None = None, status: str | None = None, limit: int = 50) -> list[JobState]:
    """The newest jobs, of one queue and/or status if given (manage.py jobs)."""
    where, params = ["TRUE"], [STALLED_SECONDS]
    if queue:
        where.append("j.queue_name = %s")
        params.append(queue)
    if status:
        where.append("j.status::text = %s")
        params.append(status)
    with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
        cursor.execute(_STATE_SQL + " WHERE " + " AND ".join(where) + " ORDER BY j.id DESC LIMIT %s", [*params, limit])
        return [_state(row) for row in cursor.fetchall()]


def queue_counts() -> list[tuple[str, str, int]]:
    """(queue, status, jobs) for every queue and status present, and the live workers as ("workers", "alive", n)."""
    with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
        cursor.execute("SELECT queue_name, status::text, count(*) FROM procrastinate_jobs GROUP BY 1, 2 ORDER BY 1, 2")
        rows = [tuple(row) for row in cursor.fetchall()]
        cursor.execute("SELECT count(*) FROM procrastinate_workers WHERE last_heartbeat > now() - make_interval(secs => %s)",
                       [STALLED_SECONDS])
        rows.append(("workers", "alive", cursor.fetchone()[0]))
    return rows
