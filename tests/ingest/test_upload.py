"""The upload page: who may use it, the queued job a worker runs in its own process, live status, the report page."""
import os
import subprocess
import sys

import pytest
from django.contrib.auth.models import Permission, User
from django.test import override_settings

from ingest.jobs import run_job
from layers.jobs import job_state, recent_jobs
from ingest.models import IngestRun
from layers.models import Feature, LayerGrant
from tests.cluster.workers import Worker, clear_queue
from tests.factories import make_parcel_layer
from tests.faults.helpers import wait_until
from tests.ingest.conftest import parcels_frame, write

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client):
    # A data administrator: only they create layers and load into any layer (layers.permissions.authorize_load).
    user = User.objects.create_user("dataadmin", password="x", is_staff=True, is_superuser=True)
    client.force_login(user)
    return client


@pytest.fixture(autouse=True)
def jobs_dir(tmp_path, settings):
    settings.INGEST_JOBS_DIR = tmp_path / "jobs"


def test_only_data_administrators_get_the_page(client):
    assert client.get("/ingest/").status_code == 302
    user = User.objects.create_user("resident", password="x")
    client.force_login(user)
    assert client.get("/ingest/").status_code == 403
    user.user_permissions.add(Permission.objects.get(codename="add_ingestrun"))
    user = User.objects.get(pk=user.pk)
    client.force_login(user)
    response = client.get("/ingest/")
    assert response.status_code == 200 and 'name="file"' in response.content.decode()


def test_report_page_escapes_attribute_values_and_lists_every_row(admin_client):
    script = '<script>alert("x")</script>'
    run = IngestRun.objects.create(layer_slug="p", file_name="<b>f</b>.gpkg", mode="replace", status="failed", report={
        "rejected": [{"row": 7, "reason_vi": "Sai", "reason_en": "Bad", "field": "name", "value": script}],
        "repaired": [{"row": 3, "action": "make_valid", "reason": "Self-intersection[1 1]"}], "warnings": [],
        "error": {"vi": "Lỗi", "en": "Failed"}, "inserted": 0, "updated": 0, "unchanged": 0, "deleted": 0})
    html = admin_client.get(f"/ingest/runs/{run.pk}/").content.decode()
    assert script not in html and "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in html
    assert "<b>f</b>" not in html and "Self-intersection[1 1]" in html and ">7<" in html
    data = admin_client.get(f"/ingest/runs/{run.pk}.json").json()
    assert data["report"]["rejected"][0]["value"] == script and data["status"] == "failed"


def test_upload_over_the_limit_is_refused_with_a_message(admin_client, parcels_gpkg):
    make_parcel_layer(slug="parcels")
    with override_settings(INGEST_MAX_UPLOAD_BYTES=100), parcels_gpkg.open("rb") as handle:
        response = admin_client.post("/ingest/", {"file": handle, "layer": "parcels", "mode": "replace", "max_rejects": 0})
    assert response.status_code == 422
    assert "too large" in response.content.decode() or "quá lớn" in response.content.decode()
    assert not IngestRun.objects.exists()


def test_queued_run_runs_in_process_and_shows_its_report(admin_client, parcels_gpkg):
    """The upload queues the run and its job together; the job function itself (the worker's child runs exactly this)."""
    layer = make_parcel_layer(slug="parcels")
    with parcels_gpkg.open("rb") as handle:
        response = admin_client.post("/ingest/", {"file": handle, "layer": "parcels", "mode": "replace", "max_rejects": 0})
    run = IngestRun.objects.get()
    assert response.status_code == 302 and response["Location"] == f"http://testserver/ingest/runs/{run.pk}/"
    assert run.status == "queued" and run.job_id is not None
    assert job_state(run.job_id).status == "todo" and job_state(run.job_id).task == "ingest.run"
    page = admin_client.get(f"/ingest/runs/{run.pk}/").content.decode()
    assert 'http-equiv="refresh"' in page and "waiting for a worker" in page
    body = admin_client.get(f"/ingest/runs/{run.pk}.json").json()
    assert body["status"] == "queued" and body["job"]["status"] == "todo"  # alive however long it waits
    run = run_job(run.pk)
    assert run.status == "succeeded" and run.loaded_count == 3 and run.user.username == "dataadmin"
    assert Feature.objects.filter(layer=layer).count() == 3
    assert not os.path.exists(run.upload_path)
    page = admin_client.get(f"/ingest/runs/{run.pk}/").content.decode()
    assert 'http-equiv="refresh"' not in page and "succeeded" in page
    assert run_job(run.pk).status == "succeeded" and Feature.objects.filter(layer=layer).count() == 3  # never twice


def test_a_refused_upload_leaves_no_run_no_job_and_no_file(admin_client, parcels_gpkg, settings):
    """A layer the user may not load into: refused before anything is kept."""
    make_parcel_layer(slug="parcels")
    resident = User.objects.create_user("resident", password="x")
    resident.user_permissions.add(Permission.objects.get(codename="add_ingestrun"))
    admin_client.force_login(User.objects.get(pk=resident.pk))
    jobs_before = recent_jobs(queue="ingest")  # (a transactional test's jobs outlive it: the queue is not flushed)
    with parcels_gpkg.open("rb") as handle:
        response = admin_client.post("/ingest/", {"file": handle, "layer": "parcels", "mode": "replace", "max_rejects": 0})
    assert response.status_code == 403
    assert not IngestRun.objects.exists() and recent_jobs(queue="ingest") == jobs_before
    uploads = settings.INGEST_JOBS_DIR / "uploads"
    assert not uploads.exists() or not any(uploads.iterdir())


def test_a_queued_run_without_a_job_or_a_process_is_dead(admin_client):
    """No PID, no clock: a queued run is alive only through its job or its lock."""
    run = IngestRun.objects.create(layer_slug="p", file_name="f.gpkg", mode="replace", status="queued", pid=os.getpid())
    assert admin_client.get(f"/ingest/runs/{run.pk}.json").json()["status"] == "failed"


def test_a_run_whose_process_died_is_shown_failed(admin_client):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    run = IngestRun.objects.create(layer_slug="p", file_name="f.gpkg", mode="replace", status="running", pid=dead.pid)
    assert admin_client.get(f"/ingest/runs/{run.pk}.json").json()["status"] == "failed"


@pytest.mark.django_db(transaction=True)
def test_upload_waits_for_a_worker_then_a_worker_process_loads_it(client, tmp_path, settings):
    """End to end: no worker runs, so the upload's job waits (the page says so, the run stays alive); a real
    `manage.py procrastinate worker` then picks it up and its child `manage.py ingest_job` loads the file."""
    clear_queue()
    user = User.objects.create_user("dataadmin2", password="x", is_staff=True)
    client.force_login(user)
    layer = make_parcel_layer(slug="parcels-bg")
    LayerGrant.objects.create(layer=layer, user=user, can_edit=True)  # an editor of the whole layer may load it
    path = write(parcels_frame(5), tmp_path / "thua.gpkg")
    with path.open("rb") as handle:
        client.post("/ingest/", {"file": handle, "layer": "parcels-bg", "mode": "replace", "max_rejects": 0})
    run = IngestRun.objects.get(layer_slug="parcels-bg")
    body = client.get(f"/ingest/runs/{run.pk}.json").json()
    assert body["status"] == "queued" and body["job"]["status"] == "todo"
    assert "waiting for a worker" in body["job"]["label_en"] and body["job"]["label_vi"]
    worker = Worker(tmp_path / "worker.log", "--queues", "ingest",
                    GISPORTAL_INGEST_JOBS_DIR=str(settings.INGEST_JOBS_DIR))
    try:
        wait_until(lambda: job_state(run.job_id).status in ("succeeded", "failed"), seconds=120,
                   what="the worker running the upload's job")  # (its run finishes just before)
        assert job_state(run.job_id).status == "succeeded", worker.output()
    finally:
        worker.stop()
        clear_queue()
    run.refresh_from_db()
    assert run.status == "succeeded", (run.report, worker.output(), (settings.INGEST_JOBS_DIR / f"run-{run.pk}.log").read_text())
    assert run.pid and run.pid not in (os.getpid(), worker.process.pid)  # the worker's child loaded it
    assert Feature.objects.filter(layer=layer).count() == 5 and run.progress_done == 5
