"""Which node may call an ingest run dead: every node reads the same facts (the run's lock, its job's state in
procrastinate's tables, the worker's heartbeat in the database's clock), never a PID or a local clock."""
import pytest
from django.contrib.auth.models import User
from django.db import connection, transaction

from ingest.jobs import queue_run, run_in_child, run_job
from ingest.models import IngestRun
from layers.jobs import job_state
from layers.models import Feature
from tests.cluster.workers import clear_queue
from tests.factories import make_parcel_layer
from tests.ingest.conftest import parcels_frame, write

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client):
    client.force_login(User.objects.create_user("live-admin", password="x", is_staff=True, is_superuser=True))
    return client


def _queued(upload_path: str = "/nonexistent/f.gpkg", layer_slug: str = "p") -> IngestRun:
    with transaction.atomic():
        run = IngestRun.objects.create(layer_slug=layer_slug, file_name="f.gpkg", mode="replace", status="queued",
                                       upload_path=upload_path, options={})
        queue_run(run)
    return run


def _on_worker(job_id: int, *, heartbeat_age_seconds: int) -> None:
    """The job as a worker picks it up, that worker's last heartbeat so long ago (the database's clock)."""
    with connection.cursor() as cursor:
        cursor.execute("INSERT INTO procrastinate_workers (last_heartbeat) VALUES (now() - make_interval(secs => %s)) "
                       "RETURNING id", [heartbeat_age_seconds])
        worker_id = cursor.fetchone()[0]
        cursor.execute("UPDATE procrastinate_jobs SET status = 'doing', worker_id = %s WHERE id = %s", [worker_id, job_id])


def _status(client, run) -> dict:
    return client.get(f"/ingest/runs/{run.pk}.json").json()


def test_a_queued_run_lives_while_its_job_waits_runs_or_awaits_recovery(admin_client):
    waiting = _queued()
    body = _status(admin_client, waiting)
    assert body["status"] == "queued" and body["job"]["status"] == "todo"

    picked = _queued(layer_slug="p2")  # (one job per layer runs at a time)
    _on_worker(picked.job_id, heartbeat_age_seconds=2)
    body = _status(admin_client, picked)
    assert body["status"] == "queued" and body["job"]["status"] == "doing"  # its child is starting

    stalled = _queued(layer_slug="p3")
    _on_worker(stalled.job_id, heartbeat_age_seconds=3600)  # that worker died: recovery will put the job back
    body = _status(admin_client, stalled)
    assert body["status"] == "queued" and body["job"]["status"] == "stalled"
    assert "retried" in body["job"]["label_en"] and body["job"]["label_vi"]


def test_a_running_run_without_its_lock_is_dead_whatever_its_job_says(admin_client):
    run = _queued()
    _on_worker(run.job_id, heartbeat_age_seconds=2)
    IngestRun.objects.filter(pk=run.pk).update(status="running")  # its process would hold the lock while loading
    body = _status(admin_client, run)
    assert body["status"] == "failed" and body["report"]["error"]["en"].startswith("The ingest process ended")


def test_a_run_whose_job_was_cleaned_away_is_dead(admin_client):
    run = _queued()
    clear_queue()
    assert job_state(run.job_id).status == "gone"
    assert _status(admin_client, run)["status"] == "failed"


@pytest.mark.django_db(transaction=True)
def test_a_rerun_of_a_finished_job_loads_nothing_again(tmp_path):
    """What a job put back after its worker died does: the child finds the run's result under its lock."""
    clear_queue()
    layer = make_parcel_layer(slug="rerun-parcels")
    folder = tmp_path / "upload"
    folder.mkdir()
    run = _queued(str(write(parcels_frame(4), folder / "thua.gpkg")), layer_slug=layer.slug)
    assert run_job(run.pk).status == "succeeded"
    versions = sorted(Feature.objects.filter(layer=layer).values_list("id", "version"))
    assert run_in_child(run.pk) == f"run #{run.pk}: succeeded"
    assert sorted(Feature.objects.filter(layer=layer).values_list("id", "version")) == versions and len(versions) == 4
    clear_queue()


@pytest.mark.django_db(transaction=True)
def test_a_job_left_doing_by_a_dead_worker_is_put_back_then_given_up(tmp_path):
    """The periodic recovery (jobs.retry_stalled_jobs) puts a dead worker's job back in the queue, its run
    still alive and queued; a job whose workers kept dying is given up, its run failed."""
    import asyncio
    from concurrent.futures import ThreadPoolExecutor
    from types import SimpleNamespace

    from procrastinate.contrib.django import app

    from ingest.tasks import MAX_RUNS, run_ingest
    from layers.tasks import retry_stalled_jobs

    clear_queue()
    try:
        run = _queued()
        _on_worker(run.job_id, heartbeat_age_seconds=3600)
        fresh = _queued(layer_slug="p-fresh")
        _on_worker(fresh.job_id, heartbeat_age_seconds=1)  # a live worker's job is left alone
        # In a thread of its own, as in the worker: the browser tests' Playwright keeps an event loop in this one.
        with ThreadPoolExecutor(1) as pool:
            stalled = pool.submit(asyncio.run, retry_stalled_jobs(SimpleNamespace(app=app), timestamp=0)).result()
        assert stalled == 1
        state = job_state(run.job_id)
        assert (state.status, state.attempts) == ("todo", 1) and job_state(fresh.job_id).status == "doing"
        assert IngestRun.objects.get(pk=run.pk).status == "queued"
        context = SimpleNamespace(job=SimpleNamespace(attempts=MAX_RUNS))  # what the worker hands the task
        assert run_ingest(context, run_id=run.pk) == f"run #{run.pk}: given up, failed"
        assert IngestRun.objects.get(pk=run.pk).status == "failed"
    finally:
        clear_queue()
