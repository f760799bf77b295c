"""Harvest jobs (queue "harvest"): every minute the due sources each get one job; a source's job carries a
queueing lock, so a slow harvest is never stacked behind itself."""
from django.db import transaction
from procrastinate import exceptions
from procrastinate.contrib.django import app

from opendata.harvest import due_source_ids, harvest_run
from opendata.harvest_models import HarvestSource


def lock_for(source_id: int) -> str:
    return f"harvest-{int(source_id)}"


# No automatic retry: a failed harvest recorded why; the schedule tries again at its next time.
@app.task(name="opendata.harvest", queue="harvest")
def harvest_source(*, source_id: int) -> str:
    """Runs one source's harvest now (a source removed meanwhile is skipped)."""
    source = HarvestSource.objects.filter(pk=source_id, active=True).first()
    if source is None:
        return "gone"
    return harvest_run(source=source).status


def defer_due() -> list[int]:
    """One job per due source (none added for a source whose job still waits or runs); the ids deferred."""
    deferred = []
    for source_id in due_source_ids():
        try:
            with transaction.atomic():  # a savepoint: a refused defer must not abort the caller's transaction
                harvest_source.configure(queueing_lock=lock_for(source_id)).defer(source_id=source_id)
        except exceptions.AlreadyEnqueued:
            continue
        deferred.append(source_id)
    return deferred


@app.periodic(cron="* * * * *", periodic_id="harvest_due")
@app.task(queue="builtin", queueing_lock="harvest_due", name="opendata.harvest_due")
def harvest_due(timestamp: int) -> int:
    """Every minute: defers the due sources' harvests."""
    return len(defer_due())
