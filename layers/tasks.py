"""The queue's own housekeeping, periodic on every worker (procrastinate defers each run once, whoever is up)."""
from procrastinate import builtin_tasks
from procrastinate.contrib.django import app

from layers.jobs import STALLED_SECONDS

DONE_HOURS = 7 * 24  # finished jobs are kept a week: the run pages show their state meanwhile
FAILED_HOURS = 30 * 24  # failed ones a month, for whoever looks into them


@app.periodic(cron="17 3 * * *", periodic_id="remove_old_jobs")
@app.task(queue="builtin", queueing_lock="remove_old_jobs", pass_context=True, name="jobs.remove_old_jobs")
async def remove_old_jobs(context, timestamp: int) -> None:
    """Deletes finished jobs (and their events) past their keeping time."""
    await builtin_tasks.remove_old_jobs(context, max_hours=DONE_HOURS)
    await builtin_tasks.remove_old_jobs(context, max_hours=FAILED_HOURS, remove_failed=True, remove_cancelled=True,
                                        remove_aborted=True)


@app.periodic(cron="* * * * *", periodic_id="retry_stalled_jobs")
@app.task(queue="builtin", queueing_lock="retry_stalled_jobs", pass_context=True, name="jobs.retry_stalled_jobs")
async def retry_stalled_jobs(context, timestamp: int) -> int:
    """Jobs left 'doing' by a worker that died go back to the queue; each task makes its rerun safe (ingest: the
    run's lock and status decide, so a load never runs twice at once nor twice after a recorded result)."""
    stalled = await context.app.job_manager.get_stalled_jobs(seconds_since_heartbeat=STALLED_SECONDS)
    for job in stalled:
        await context.app.job_manager.retry_job(job)
    return len(stalled)
