"""Webhooks end to end: a real receiver that verifies the documented signature, a real worker process running the
queue, real edits and a real ingest. Transactional: jobs are queued on commit, and the feed shows only committed
(settled) transactions."""
import datetime as dt

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.utils import timezone

from ingest.services import ingest_file
from layers import changes, editing
from layers.models import FeatureVersion, Layer
from layers.runs import run_revert
from opendata.webhooks import webhook_create
from opendata.webhooks_delivery import deliver, sweep, webhook_ping
from opendata.webhooks_models import WebhookDelivery
from tests.ingest.conftest import parcels_frame, write
from tests.faults.helpers import wait_until
from tests.opendata.webhook_receiver import Receiver, clear_webhook_jobs, make_due, run_jobs

pytestmark = pytest.mark.django_db(transaction=True)
SECRET = "s3cret-for-tests-only-0123456789"


@pytest.fixture(autouse=True)
def insecure(settings):
    settings.GISPORTAL_WEBHOOK_ALLOW_INSECURE = True  # http to a loopback receiver: local testing only
    clear_webhook_jobs()
    yield settings
    clear_webhook_jobs()


@pytest.fixture
def receiver():
    receiver = Receiver(SECRET)
    yield receiver
    receiver.close()


@pytest.fixture
def admin(db):
    return User.objects.create_user("hooks-admin", password="x", is_staff=True, is_superuser=True)


def _owner_layer(parcels) -> None:
    """The parcels layer with its owner field (personal) filled in."""
    feature = parcels.features.order_by("id").first()
    feature.properties = {**feature.properties, "chu_su_dung": "Nguyễn Văn Chủ"}
    feature.save()


def _edit(layer, admin, land_use: str):
    feature = layer.features.order_by("id").first()
    return editing.feature_update(layer=layer, feature_id=feature.pk, user=admin, expected_version=feature.version,
                                  properties={**feature.properties, "land_use": land_use})


def _committed_version(feature_id: int) -> int:
    """The feature's version as another connection sees it (what has committed)."""
    import psycopg2

    params = connection.get_connection_params()
    params.pop("cursor_factory", None)
    other = psycopg2.connect(**params)
    try:
        with other.cursor() as cursor:
            cursor.execute("SELECT version FROM layers_feature WHERE id = %s", [feature_id])
            return cursor.fetchone()[0]
    finally:
        other.close()


def test_an_edit_reaches_the_receiver_once_signed_with_counts_and_the_public_change(parcels, admin, receiver):
    _owner_layer(parcels)
    hook, _ = webhook_create(url=receiver.url, layers=[parcels], secret=SECRET)
    updated = _edit(parcels, admin, "TMD")
    out = run_jobs()
    assert len(receiver.received) == 1, out
    got = receiver.received[0]
    assert got.verified, got.headers
    assert got.headers["content-type"] == "application/cloudevents+json"
    event = got.event
    assert got.headers["webhook-id"] == event["id"]
    assert (event["specversion"], event["type"], event["subject"]) == ("1.0", "vn.gisportal.layer.changed", "parcels")
    data = event["data"]
    assert data["kind"] == "edit" and data["counts"] == {"insert": 0, "update": 1, "delete": 0}
    assert [(f["id"], f["kind"], f["version"]) for f in data["features"]] == [(updated.pk, "update", updated.version)]
    assert data["features"][0]["properties"]["land_use"] == "TMD"
    assert "chu_su_dung" not in data["features"][0]["properties"]
    assert "Nguyễn Văn Chủ" not in got.body.decode() and "hooks-admin" not in got.body.decode()  # no owner, no editor
    assert data["changes"]["url"].endswith(f"/data/parcels/changes?since={data['changes']['since']}")
    since = changes.decode_cursor(parcels, data["changes"]["since"])
    assert [c.feature_id for c in changes.changes_after(parcels, since, limit=10, read=False)] == [updated.pk]
    delivery = WebhookDelivery.objects.get(webhook=hook)
    assert (delivery.status, delivery.attempts, delivery.last_status) == ("delivered", 1, 200)
    run_jobs()  # nothing new: nothing sent again
    assert len(receiver.received) == 1


@pytest.mark.parametrize("bulk_min_rows, kind", [(5, "ingest"), (10**9, "harvest")], ids=["bulk", "row-by-row"])
def test_an_ingest_arrives_as_one_event_whose_cursors_span_exactly_the_run(tmp_path, settings, receiver, admin,
                                                                            bulk_min_rows, kind):
    settings.INGEST_BULK_MIN_ROWS = bulk_min_rows  # 5: the bulk path (a new partition swapped in)
    owners = {"chu_su_dung": ["Trần Thị Bình"] * 6}  # a land user's name: marked personal when the layer is made
    first = ingest_file(path=write(parcels_frame(6, **owners), tmp_path / "v1.gpkg"), layer="ingested", mode="create")
    Layer.objects.filter(slug="ingested").update(is_public=True)  # a new layer starts restricted
    layer = Layer.objects.get(slug="ingested")
    webhook_create(url=receiver.url, layers=[layer], secret=SECRET)
    uses = ["CLN"] * 3 + ["ODT"] * 5
    frame = parcels_frame(8, land_use=uses, chu_su_dung=["Trần Thị Bình"] * 8)
    run = ingest_file(path=write(frame, tmp_path / "v2.gpkg"), layer="ingested", mode="replace",
                      kind=kind)  # harvest: how opendata/harvest applies its differences
    assert run.status == "succeeded" and run.pk != first.pk
    run_jobs()
    assert len(receiver.received) == 1 and receiver.received[0].verified
    data = receiver.received[0].event["data"]
    assert data["kind"] == kind and data["run_id"] == run.pk
    assert "chu_su_dung" in [f["name"] for f in layer.schema if f.get("personal")]
    assert len(data["features"]) == sum(data["counts"].values())  # small enough to go inline
    assert "Trần Thị Bình" not in receiver.received[0].body.decode() and "chu_su_dung" not in receiver.received[0].body.decode()
    expected = sorted(FeatureVersion.objects.filter(run_id=run.pk).values_list("feature_id", "op", "version"))
    assert sum(data["counts"].values()) == len(expected) > 0
    since = changes.decode_cursor(layer, data["changes"]["since"])
    until = changes.decode_cursor(layer, data["changes"]["until"])
    followed = [c for c in changes.changes_after(layer, since, limit=1000, read=False) if c.position <= until]
    assert sorted((c.feature_id, c.kind, c.version) for c in followed) == expected
    assert {c.run_id for c in followed} == {run.pk}
    reverted = run_revert(layer=layer, run_id=run.pk, user=admin)  # undone: one more event, of kind revert
    run_jobs()
    assert len(receiver.received) == 2 and receiver.received[1].verified
    data = receiver.received[1].event["data"]
    assert data["kind"] == "revert" and sum(data["counts"].values()) >= reverted > 0


def test_a_failed_delivery_is_retried_with_the_same_id_and_the_log_shows_both_attempts(parcels, admin, receiver):
    receiver.plan = [(500, 0)]
    hook, _ = webhook_create(url=receiver.url, layers=[parcels], secret=SECRET)
    _edit(parcels, admin, "TMD")
    run_jobs()
    delivery = WebhookDelivery.objects.get(webhook=hook)
    assert (delivery.status, delivery.attempts, delivery.last_status) == ("pending", 1, 500)
    assert delivery.next_attempt_at is not None and "HTTP 500" in delivery.last_error
    run_jobs()  # the retry waits for its back-off
    assert len(receiver.received) == 1
    assert make_due() == 1  # its back-off over
    run_jobs()
    assert [r.headers["webhook-id"] for r in receiver.received] == [delivery.event_id] * 2
    assert all(r.verified for r in receiver.received) and receiver.received[0].body == receiver.received[1].body
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.last_status, delivery.last_error) == ("delivered", 2, 200, "")


def test_a_slow_receiver_never_holds_up_the_edit_and_its_delivery_is_retried(parcels, admin, receiver):
    receiver.plan = [(200, 12)]  # longer than the webhook read time-out (10 s)
    hook, _ = webhook_create(url=receiver.url, layers=[parcels], secret=SECRET)
    updated = _edit(parcels, admin, "TMD")
    assert _committed_version(updated.pk) == updated.version  # committed, and nothing was attempted yet
    assert receiver.received == [] and not WebhookDelivery.objects.filter(webhook=hook).exists()
    run_jobs()
    delivery = WebhookDelivery.objects.get(webhook=hook)
    assert (delivery.status, delivery.attempts, delivery.last_status) == ("pending", 1, None)
    assert delivery.last_error and delivery.next_attempt_at is not None
    make_due()
    run_jobs()
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == ("delivered", 2)
    assert [r.headers["webhook-id"] for r in receiver.received] == [delivery.event_id] * 2


def test_a_layer_made_restricted_stops_its_deliveries(parcels, admin, receiver):
    receiver.plan = [(503, 0)]
    hook, _ = webhook_create(url=receiver.url, layers=[parcels], secret=SECRET)
    _edit(parcels, admin, "TMD")
    run_jobs()
    assert len(receiver.received) == 1
    Layer.objects.filter(pk=parcels.pk).update(is_public=False)
    parcels.refresh_from_db()
    _edit(parcels, admin, "CLN")
    make_due()
    run_jobs()
    assert len(receiver.received) == 1  # neither the retry nor the new change left
    log = {d.status: d for d in WebhookDelivery.objects.filter(webhook=hook)}
    assert set(log) == {"skipped"} and len(WebhookDelivery.objects.filter(webhook=hook)) == 2
    assert all("no longer public" in d.last_error for d in WebhookDelivery.objects.filter(webhook=hook))


def test_several_edits_make_one_event_each_in_order(parcels, admin, receiver):
    webhook_create(url=receiver.url, layers=[parcels], secret=SECRET)
    for use in ("TMD", "CLN", "ODT"):
        _edit(parcels, admin, use)
    with connection.cursor() as cursor:  # the burst shares one waiting dispatch
        cursor.execute("SELECT count(*) FROM procrastinate_jobs WHERE task_name = 'opendata.webhook_dispatch'")
        assert cursor.fetchone()[0] == 1
    run_jobs()
    uses = [r.event["data"]["features"][0]["properties"]["land_use"] for r in receiver.received]
    assert uses == ["TMD", "CLN", "ODT"]
    assert len({r.headers["webhook-id"] for r in receiver.received}) == 3


def test_a_crash_after_the_post_resends_with_the_same_id(parcels, admin, receiver):
    hook, _ = webhook_create(url=receiver.url, layers=[parcels], secret=SECRET)
    _edit(parcels, admin, "TMD")
    run_jobs()
    delivery = WebhookDelivery.objects.get(webhook=hook)
    # What a worker dying between the POST and its record leaves: the attempt counted, still pending, no job.
    WebhookDelivery.objects.filter(pk=delivery.pk).update(status="pending", delivered_at=None,
                                                          next_attempt_at=timezone.now() - dt.timedelta(minutes=2))
    clear_webhook_jobs()
    assert sweep() == 1 and sweep() == 0  # the periodic sweep queues it once
    run_jobs()
    assert [r.headers["webhook-id"] for r in receiver.received] == [delivery.event_id] * 2
    assert all(r.verified for r in receiver.received)
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == ("delivered", 2)


def test_a_receiver_refused_at_delivery_is_recorded_and_retried(parcels, settings, receiver):
    hook, _ = webhook_create(url=receiver.url, layers=[parcels], secret=SECRET)
    ping = webhook_ping(hook=hook)
    settings.GISPORTAL_WEBHOOK_ALLOW_INSECURE = False  # as if its address had become private since it registered
    assert deliver(ping.pk, 0) == "pending"  # the job's body, in this process (its settings)
    ping.refresh_from_db()
    assert (ping.attempts, ping.last_status) == (1, None) and "https://" in ping.last_error
    assert ping.next_attempt_at > timezone.now() and receiver.received == []
    assert deliver(ping.pk, 0) == "stale"  # a second job for the same attempt sends nothing
    assert receiver.received == []


def test_the_sweep_sends_a_change_whose_dispatch_was_lost(parcels, admin, receiver):
    hook, _ = webhook_create(url=receiver.url, layers=[parcels], secret=SECRET)
    _edit(parcels, admin, "TMD")
    clear_webhook_jobs()  # the queued dispatch lost (say, a queue restored from an older backup)
    wait_until(lambda: sweep() is not None and WebhookDelivery.objects.filter(webhook=hook).exists(), seconds=180,
               what="the edit settled and dispatched by the sweep")  # settled once older transactions end
    run_jobs()
    assert len(receiver.received) == 1 and receiver.received[0].verified
    assert receiver.received[0].event["data"]["features"][0]["properties"]["land_use"] == "TMD"
