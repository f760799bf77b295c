"""Ingest jobs on the queue: an upload's run, deferred in the transaction that creates it (ingest.jobs.queue_run)."""
from procrastinate.contrib.django import app

from ingest.jobs import abandon_run, run_in_child

# A job put back after its worker died (jobs.retry_stalled_jobs) runs again; after this many runs it is given up.
MAX_RUNS = 2


# No automatic retry: a load that failed recorded why (the data refused it) and would fail again, and a child that
# was killed under a live worker (OOM, kill -9) may be killed again. run_job reads the run under its lock, so a rerun
# finds a finished run's result and never loads twice, nor at the same time as another process.
@app.task(name="ingest.run", queue="ingest", pass_context=True)
def run_ingest(context, *, run_id: int) -> str:
    """Loads one queued upload in a child process and waits for it."""
    if context.job.attempts >= MAX_RUNS:
        return abandon_run(run_id)
    return run_in_child(run_id)
