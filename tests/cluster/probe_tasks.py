"""Probe tasks for the queue's own guarantees, loaded by test workers only (GISPORTAL_JOB_MODULES)."""
from django.db import connection
from procrastinate import RetryStrategy
from procrastinate.contrib.django import app

HOLD_NAMESPACE = 74_659  # the advisory lock a probe.hold job waits on while the test holds it
BACKOFF_SECONDS = 2  # exponential_wait: the first retry waits 2 ** 1 s


@app.task(name="probe.flaky", queue="probe", pass_context=True,
          retry=RetryStrategy(max_attempts=3, exponential_wait=BACKOFF_SECONDS))
def flaky(context, *, tag: str) -> str:
    """Fails on its first attempt, succeeds on the next."""
    if context.job.attempts == 0:
        raise RuntimeError(f"probe {tag}: the first attempt fails")
    return f"probe {tag}: attempt {context.job.attempts + 1}"


@app.task(name="probe.hold", queue="probe")
def hold(*, tag: str) -> str:
    """Runs until the test lets go of the hold lock (waits on it, shared, then releases it)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_lock_shared(%s, 1)", [HOLD_NAMESPACE])
        cursor.execute("SELECT pg_advisory_unlock_shared(%s, 1)", [HOLD_NAMESPACE])
    return f"probe {tag} done"
