"""Ingest jobs on the queue: an upload's run, deferred in the transaction that creates it (ingest.jobs.queue_run)."""
from procrastinate.contrib.django import app

from ingest.jobs import run_in_child


# No automatic retry: a load that failed recorded why (the data refused it) and would fail again. A job whose
# worker died is put back by jobs.retry_stalled_jobs; run_job then finds the run's result, or runs it once.
@app.task(name="ingest.run", queue="ingest")
def run_ingest(*, run_id: int) -> str:
    """Loads one queued upload in a child process and waits for it."""
    return run_in_child(run_id)
