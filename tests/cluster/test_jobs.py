"""The job queue across nodes: an upload through one gunicorn node, picked up by a worker process, its status read
through another node; retries with back-off; the worker's concurrency cap. Real processes, real PostgreSQL."""
import datetime as dt
import time

import pytest
import requests
from django.contrib.auth.models import User
from django.db import connection, connections

from ingest.models import IngestRun
from layers.models import Feature
from tests.cluster import probe_tasks
from tests.cluster.workers import Worker, clear_queue
from tests.factories import make_parcel_layer
from tests.faults.cluster import Gunicorn
from tests.faults.helpers import child_env, wait_until
from tests.ingest.conftest import parcels_frame, write

pytestmark = pytest.mark.django_db(transaction=True)
PROBES = {"GISPORTAL_JOB_MODULES": "tests.cluster.probe_tasks"}


@pytest.fixture
def queue():
    clear_queue()
    yield
    clear_queue()


@pytest.fixture
def shared(tmp_path):
    """The folder both nodes and the worker share (as a cluster's shared volume)."""
    return {"GISPORTAL_SHARED_DIR": str(tmp_path / "shared"), "GISPORTAL_TILE_CACHE_DIR": str(tmp_path / "tiles")}


def _events(job_id: int) -> list[tuple[str, dt.datetime]]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT type::text, at FROM procrastinate_events WHERE job_id = %s ORDER BY id", [job_id])
        return cursor.fetchall()


def _job_status(job_id: int) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT status::text FROM procrastinate_jobs WHERE id = %s", [job_id])
        return cursor.fetchone()[0]


def _session(base: str, cookie: str) -> requests.Session:
    session = requests.Session()
    session.cookies.set("sessionid", cookie, domain="127.0.0.1")
    session.get(base + "/ingest/", timeout=30)  # sets the CSRF cookie
    return session


def test_upload_on_one_node_is_run_by_a_worker_and_its_status_read_on_the_other(client, tmp_path, queue, shared):
    """Node A takes the upload (run and job in one transaction); with no worker, node B shows it queued, waiting
    for a worker; a worker process picks it up; node B shows it succeeded, and the layer has the rows."""
    user = User.objects.create_user("cluster-admin", password="x", is_staff=True, is_superuser=True)
    client.force_login(user)
    layer = make_parcel_layer(slug="cluster-parcels")
    upload = write(parcels_frame(7), tmp_path / "thua.gpkg")
    env = child_env(**shared)
    node_a, node_b = Gunicorn(env, workers=1), Gunicorn(env, workers=1)  # sharing only PostgreSQL, Redis, the folder
    worker = None
    try:
        node_a.wait_ready()
        node_b.wait_ready()
        a = _session(node_a.base, client.cookies["sessionid"].value)
        with upload.open("rb") as handle:
            answer = a.post(node_a.base + "/ingest/", files={"file": ("thua.gpkg", handle)}, allow_redirects=False,
                            data={"layer": layer.slug, "mode": "replace", "max_rejects": "0",
                                  "csrfmiddlewaretoken": a.cookies["csrftoken"]}, timeout=60)
        assert answer.status_code == 302, answer.text[-2000:]
        run = IngestRun.objects.get(layer_slug=layer.slug)
        assert run.upload_path.startswith(shared["GISPORTAL_SHARED_DIR"])  # on the shared volume, not node A's disk
        b = _session(node_b.base, client.cookies["sessionid"].value)
        waiting = b.get(f"{node_b.base}/ingest/runs/{run.pk}.json", timeout=30).json()
        assert waiting["status"] == "queued" and waiting["job"]["status"] == "todo"
        assert "waiting for a worker" in waiting["job"]["label_en"]
        assert "waiting for a worker" in b.get(f"{node_b.base}/ingest/runs/{run.pk}/", timeout=30).text

        worker = Worker(tmp_path / "worker.log", **shared)
        wait_until(lambda: _job_status(run.job_id) in ("succeeded", "failed"), seconds=180,
                   what="the worker running the upload's job")  # its run finished just before
        done = b.get(f"{node_b.base}/ingest/runs/{run.pk}.json", timeout=30).json()
        assert done["status"] == "succeeded", worker.output()
        assert done["job"]["status"] == "succeeded" and done["counts"]["loaded"] == 7
        assert Feature.objects.filter(layer=layer).count() == 7
    finally:
        node_a.stop()
        node_b.stop()
        if worker is not None:
            worker.stop()


def test_a_task_that_fails_once_is_retried_after_its_back_off(tmp_path, queue):
    job_id = probe_tasks.flaky.defer(tag="retry")
    worker = Worker(tmp_path / "worker.log", "--queues", "probe", **PROBES)
    try:
        wait_until(lambda: _job_status(job_id) in ("succeeded", "failed"), seconds=120, what="the probe finishing")
    finally:
        worker.stop()
    assert _job_status(job_id) == "succeeded", worker.output()
    events = _events(job_id)
    # ('scheduled' records the retry's time, beside the transitions)
    transitions = [(kind, at) for kind, at in events if kind != "scheduled"]
    assert [kind for kind, _ in transitions] == ["deferred", "started", "deferred_for_retry", "started", "succeeded"], events
    failed_at, restarted_at = transitions[2][1], transitions[3][1]
    assert restarted_at - failed_at >= dt.timedelta(seconds=probe_tasks.BACKOFF_SECONDS)  # not before its back-off


def _waiting_holds() -> int:
    """probe.hold jobs blocked on the hold lock right now (each is a running job)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted "
                       "AND classid::bigint = %s AND objid = 1", [probe_tasks.HOLD_NAMESPACE])
        return cursor.fetchone()[0]


def _run_two_holds(tmp_path, cap: int) -> list[tuple[dt.datetime, dt.datetime]]:
    """Two probe.hold jobs on a worker with the given cap, the hold lock kept until `cap` of them wait on it;
    the (started, finished) of each, from the queue's own events."""
    holder = connections.create_connection("default")
    with holder.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_lock(%s, 1)", [probe_tasks.HOLD_NAMESPACE])
    jobs = [probe_tasks.hold.defer(tag=f"{cap}-{n}") for n in range(2)]
    worker = Worker(tmp_path / f"worker-{cap}.log", **PROBES, GISPORTAL_WORKER_CONCURRENCY=str(cap))
    try:
        wait_until(lambda: _waiting_holds() == cap, seconds=120, what=f"{cap} probe jobs running")
        time.sleep(2.5)  # a window for a worker that broke its cap to start the other one (it polls every second)
        assert _waiting_holds() == cap  # (cap 1: the other one waits in the queue, not beside it)
        holder.close()  # lets them finish
        wait_until(lambda: all(_job_status(job) == "succeeded" for job in jobs), seconds=120, what="both probes done")
    finally:
        worker.stop()
        holder.close()
    spans = []
    for job in jobs:
        times = dict((kind, at) for kind, at in _events(job))
        spans.append((times["started"], times["succeeded"]))
    return sorted(spans)


def test_the_worker_concurrency_cap_is_respected(tmp_path, queue):
    """Cap 2: both long jobs run at once (so the check below can see an overlap); cap 1: they never overlap."""
    two = _run_two_holds(tmp_path, cap=2)
    assert two[1][0] < two[0][1]  # the second started before the first ended
    one = _run_two_holds(tmp_path, cap=1)
    assert one[1][0] >= one[0][1], one  # the second started only once the first had ended
