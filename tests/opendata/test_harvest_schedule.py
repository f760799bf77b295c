"""The scheduled path: the periodic task defers one job per due source (a queueing lock per source, so a slow
harvest is not stacked), and a real `manage.py procrastinate worker` runs it against the real pygeoapi server."""
import datetime as dt
import json

import pytest
from django.db import connection
from django.utils import timezone
from procrastinate.contrib.django import app

from layers.models import Feature
from opendata import harvest
from opendata.harvest_models import HarvestRun, HarvestSource
from opendata.harvest_tasks import defer_due, lock_for
from tests.cluster.workers import Worker, clear_queue
from tests.faults.helpers import wait_until
from tests.opendata import harvest_servers as servers
from tests.opendata.harvest_fixtures import harvest_folder, pygeoapi_server, zones_gpkg, zones_original  # noqa: F401


def _jobs(task: str) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT status::text, queueing_lock, args FROM procrastinate_jobs WHERE task_name = %s "
                       "ORDER BY id", [task])
        return cursor.fetchall()


def test_the_periodic_task_is_registered_every_minute():
    periodic = {task.task.name: task.cron for task in app.periodic_registry.periodic_tasks.values()}
    assert periodic.get("opendata.harvest_due") == "* * * * *"


@pytest.mark.django_db
def test_due_sources_get_one_job_each_and_are_not_stacked(settings):
    clear_queue()
    settings.GISPORTAL_HARVEST_HOSTS = ["127.0.0.1:9"]
    due = harvest.source_add(url="http://127.0.0.1:9/", kind="ogcapi", layer_slug="due", remote_layer="z", every="15m")
    later = harvest.source_add(url="http://127.0.0.1:9/", kind="ogcapi", layer_slug="later", remote_layer="z",
                               every="1h")
    HarvestSource.objects.filter(pk=later.pk).update(next_run_at=timezone.now() + dt.timedelta(minutes=30))
    harvest.source_add(url="http://127.0.0.1:9/", kind="ogcapi", layer_slug="manual", remote_layer="z")
    paused = harvest.source_add(url="http://127.0.0.1:9/", kind="ogcapi", layer_slug="paused", remote_layer="z",
                                every="5m", active=False)

    assert defer_due() == [due.pk]
    assert defer_due() == []  # its job still waits: not stacked
    assert [(s, lock, json.loads(args) if isinstance(args, str) else args) for s, lock, args in _jobs("opendata.harvest")] \
        == [("todo", lock_for(due.pk), {"source_id": due.pk})]
    assert paused.pk not in harvest.due_source_ids()


@pytest.mark.django_db(transaction=True)
def test_a_real_worker_runs_the_scheduled_harvest_and_sets_the_next_time(pygeoapi_server, zones_gpkg, tmp_path):
    clear_queue()
    host = f"127.0.0.1:{pygeoapi_server.port}"
    from django.test import override_settings

    with override_settings(GISPORTAL_HARVEST_HOSTS=[host]):
        source = harvest.source_add(url=pygeoapi_server.base, kind="ogcapi", layer_slug="zones-scheduled",
                                    remote_layer=servers.TABLE, every="5m")
    # The worker's own periodic deferrer runs harvest_due for this minute, which defers the source's job.
    worker = Worker(tmp_path / "worker.log", "--queues", "builtin,harvest", GISPORTAL_HARVEST_HOSTS=host)
    try:
        wait_until(lambda: HarvestRun.objects.filter(source=source).exclude(status="running").exists(), seconds=120,
                   what="the scheduled harvest run by the worker")
    finally:
        worker.stop()
        clear_queue()
    run = HarvestRun.objects.get(source=source)
    assert run.status == "succeeded", (run.error, worker.output())
    assert Feature.objects.filter(layer__slug="zones-scheduled").count() == 25
    source.refresh_from_db()
    assert source.next_run_at - source.last_run_at == dt.timedelta(minutes=5)
    assert source.next_run_at > timezone.now()
