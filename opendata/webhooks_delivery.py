"""Making events and delivering them: the dispatch job (per layer), the delivery job (per event and hook), and the
periodic sweep that catches up whatever a crash or a lost job left behind.

Guarantees, kept simple:
- One event per committed transaction per hook (an ingest of 300,000 rows is one event), made from the change feed
  under the hook's position row lock, each with a stable id (unique per hook: a re-run makes no second delivery).
- At least once: the delivery row is the truth, jobs only wake it. An attempt is counted before the POST; a crash
  after the POST leaves it pending, and the sweep sends it again with the same id (receivers de-duplicate on
  webhook-id).
- Order: the first attempts of one hook's events for one layer run one at a time, oldest first (a procrastinate
  lock per hook and layer); retries run beside later events, so after a failure a later event may arrive first.
- A slow or dead receiver holds up only its own hook's queue for that layer: every delivery is its own job, with
  the policy's short time-outs; edits only queue a job after they commit.
"""
from __future__ import annotations

import datetime as dt
import logging
import random

from django.db import connection, transaction
from django.utils import timezone
from procrastinate import exceptions as queue_errors

from layers import changes
from layers.errors import DomainError
from layers.models import Layer
from opendata import outbound, webhooks_events as events, webhooks_signing as signing
from opendata.webhooks import defer_dispatch, start_position
from opendata.webhooks_models import Webhook, WebhookDelivery, WebhookPosition, WebhookTransaction

log = logging.getLogger(__name__)
Status = WebhookDelivery.Status

BATCH = 100  # transactions read per round
FIRST_WAIT = 30  # seconds before the first retry, doubling
MAX_WAIT = 12 * 3600
MAX_ATTEMPTS = 12  # about 20 hours from the first attempt to the last
KEEP_DAYS = 30  # delivered and skipped deliveries stay in the log this long; failed ones until removed
SETTLE_RETRY = 3  # seconds: a committed change the feed cannot serve yet (an older transaction still runs)

RESTRICTED = ("Lớp dữ liệu không còn công khai: không gửi thay đổi của nó nữa.",
              "The layer is no longer public: its changes are not sent any more.")
INACTIVE = ("Webhook đã tắt.", "The webhook is switched off.")


def backoff(attempts: int) -> dt.timedelta:
    """The wait after the n-th failed attempt: 30 s doubling, at most 12 h, ±20 % jitter (receivers recovering from
    an outage are not hit by every sender at once)."""
    wait = min(MAX_WAIT, FIRST_WAIT * 2 ** max(0, attempts - 1))
    return dt.timedelta(seconds=wait * random.uniform(0.8, 1.2))


def _defer_attempt(delivery: WebhookDelivery, *, first: bool = False, at: dt.datetime | None = None,
                   locked: bool = True) -> None:
    from opendata.webhooks_tasks import webhook_deliver

    options: dict = {}
    if first:  # first attempts of one hook and layer: one at a time, in order
        options["lock"] = f"webhooks:{delivery.webhook_id}:{delivery.layer_id}"
    elif locked:  # one retry waiting per delivery
        options["queueing_lock"] = f"webhooks-delivery:{delivery.pk}"
    if at is not None:
        options["schedule_at"] = at
    try:
        webhook_deliver.configure(**options).defer(delivery_id=delivery.pk, attempt=delivery.attempts)
    except queue_errors.AlreadyEnqueued:
        pass


# ---- dispatch: transactions -> events -> deliveries ----

def _kinds(layer: Layer, txns: list[changes.Transaction]) -> dict[int, str]:
    noted = WebhookTransaction.objects.filter(layer=layer, xact__in=[t.xact for t in txns])
    return dict(noted.values_list("xact", "kind"))


def _skip_restricted(hook: Webhook, layer: Layer, txns: list[changes.Transaction]) -> None:
    counts = {name: sum(t.counts[name] for t in txns) for name in ("insert", "update", "delete")}
    WebhookDelivery.objects.get_or_create(
        webhook=hook, event_id=f"skipped-{layer.pk}-{txns[-1].xact}",
        defaults={"layer": layer, "event_type": events.CHANGED, "status": Status.SKIPPED,
                  "payload": {"layer": layer.slug, "transactions": len(txns), "counts": counts},
                  "last_error": " / ".join(RESTRICTED)})


def _before_start(position: WebhookPosition, txns: list[changes.Transaction]) -> set[int]:
    """The transactions that committed before the hook subscribed (its start snapshot shows them committed)."""
    if not position.start_snapshot:
        return set()
    with connection.cursor() as cursor:
        cursor.execute("SELECT x FROM unnest(%s::bigint[]) x WHERE pg_visible_in_snapshot(x::text::xid8, %s::pg_snapshot)",
                       [[t.xact for t in txns], position.start_snapshot])
        earlier = {row[0] for row in cursor.fetchall()}
        cursor.execute("SELECT %s::bigint >= pg_snapshot_xmax(%s::pg_snapshot)::text::bigint",
                       [txns[-1].xact, position.start_snapshot])
        if cursor.fetchone()[0]:  # past every transaction the snapshot could show: no longer needed
            position.start_snapshot = ""
    return earlier


def _dispatch_round(hook: Webhook, layer: Layer, made: dict[int, dict]) -> int:
    """One round for one hook: up to BATCH transactions after its position become deliveries; the count read."""
    with transaction.atomic():
        position = WebhookPosition.objects.select_for_update().filter(webhook=hook, layer=layer).first()
        if position is None:  # subscribed a moment ago: starts now
            start_position(hook, layer)
            return 0
        txns = changes.transactions_after(layer, changes.Position(position.xact, position.row), limit=BATCH)
        if not txns:
            return 0
        earlier = _before_start(position, txns)
        if not layer.is_public:
            _skip_restricted(hook, layer, txns)
        else:
            kinds = _kinds(layer, txns)
            for txn in (t for t in txns if t.xact not in earlier):
                if txn.xact not in made:
                    made[txn.xact] = events.changed_event(layer, txn, kinds.get(txn.xact, "ingest" if txn.run_id else "edit"))
                event = made[txn.xact]
                if event is None:  # only personal fields changed: nothing to tell (the position moves past it)
                    continue
                delivery, created = WebhookDelivery.objects.get_or_create(
                    webhook=hook, event_id=event["id"],
                    defaults={"layer": layer, "event_type": event["type"], "payload": event, "next_attempt_at": timezone.now()})
                if created:
                    _defer_attempt(delivery, first=True)  # commits with the delivery row, or neither does
        position.xact, position.row = txns[-1].last.xact, txns[-1].last.id
        position.save(update_fields=["xact", "row", "start_snapshot", "updated_at"])
        return len(txns)


def _unsettled(layer: Layer) -> bool:
    """A noted transaction has committed but the feed cannot serve it yet (an older transaction still runs)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT EXISTS (SELECT 1 FROM opendata_webhooktransaction WHERE layer_id = %s AND "
                       "xact >= pg_snapshot_xmin(pg_current_snapshot())::text::bigint)", [layer.pk])
        return cursor.fetchone()[0]


def _prune(layer: Layer) -> None:
    """Forgets noted kinds every active hook of the layer has passed, and any older than a week (a hook switched
    off that long resumes with kinds guessed from the run: ingest with a run, edit without)."""
    lowest = (WebhookPosition.objects.filter(layer=layer, webhook__active=True).order_by("xact")
              .values_list("xact", flat=True).first())
    if lowest is not None:
        WebhookTransaction.objects.filter(layer=layer, xact__lte=lowest).delete()
    WebhookTransaction.objects.filter(layer=layer, noted_at__lt=timezone.now() - dt.timedelta(days=7)).delete()


def dispatch(layer_id: int) -> int:
    """Makes the events of every committed transaction on the layer not yet made for each of its active hooks;
    the number of deliveries made (a layer no longer public makes none: a skip is logged instead)."""
    layer = Layer.objects.filter(pk=layer_id).first()
    if layer is None:
        return 0
    made: dict[int, dict] = {}
    before = WebhookDelivery.objects.filter(layer=layer).count()
    for hook in Webhook.objects.filter(active=True, layers=layer).order_by("id"):
        while _dispatch_round(hook, layer, made) == BATCH:
            pass
    _prune(layer)
    if _unsettled(layer):
        defer_dispatch(layer.pk, delay=SETTLE_RETRY)
    return WebhookDelivery.objects.filter(layer=layer).count() - before


# ---- delivery: one attempt ----

def _claim(delivery_id: int, attempt: int) -> WebhookDelivery | None:
    """Counts the attempt before sending (a crash after the POST is then seen by the sweep); None when this job is
    stale (the delivery is settled, or another job took this attempt)."""
    with transaction.atomic():
        delivery = (WebhookDelivery.objects.select_for_update(of=("self",)).select_related("webhook", "layer")
                    .filter(pk=delivery_id).first())
        if delivery is None or delivery.status != Status.PENDING or delivery.attempts != attempt:
            return None
        reason = None
        if not delivery.webhook.active:
            reason = INACTIVE
        elif delivery.layer_id is not None and not delivery.layer.is_public:
            reason = RESTRICTED
        elif delivery.event_type == events.CHANGED and delivery.layer_id is None:
            reason = ("Lớp dữ liệu đã bị xóa.", "The layer was deleted.")
        if reason:
            delivery.status, delivery.last_error, delivery.next_attempt_at = Status.SKIPPED, " / ".join(reason), None
            delivery.save(update_fields=["status", "last_error", "next_attempt_at"])
            return None
        delivery.attempts += 1
        delivery.next_attempt_at = timezone.now() + backoff(delivery.attempts)
        delivery.save(update_fields=["attempts", "next_attempt_at"])
        return delivery


def _post(delivery: WebhookDelivery) -> tuple[int | None, str]:
    """One signed POST; the receiver's status (None when it was not reached) and the error, if any."""
    body = events.body(delivery.payload)
    headers = {"Content-Type": events.CONTENT_TYPE, **signing.headers(delivery.webhook.secret, delivery.event_id, body)}
    try:
        answer = outbound.post(delivery.webhook.url, outbound.webhook_policy(), body=body, headers=headers)
    except DomainError as error:  # refused address (DNS changed), time-out, connection refused, answer too big
        return None, f"{error.message_vi} / {error.message_en}"
    if 200 <= answer.status < 300:
        return answer.status, ""
    text = answer.content[:300].decode("utf-8", "replace")
    return answer.status, f"HTTP {answer.status}: {text}"


def _record(delivery: WebhookDelivery, status: int | None, error: str) -> str:
    with transaction.atomic():
        current = WebhookDelivery.objects.select_for_update().get(pk=delivery.pk)
        if current.status != Status.PENDING or current.attempts != delivery.attempts:
            return current.status  # settled by another hand meanwhile
        current.last_status, current.last_error = status, error[:2000]
        if not error:
            current.status, current.delivered_at, current.next_attempt_at = Status.DELIVERED, timezone.now(), None
        elif current.attempts >= MAX_ATTEMPTS:
            current.status, current.next_attempt_at = Status.FAILED, None
        else:
            _defer_attempt(current, at=current.next_attempt_at)
        current.save(update_fields=["last_status", "last_error", "status", "delivered_at", "next_attempt_at"])
        return current.status


def deliver(delivery_id: int, attempt: int) -> str:
    """One attempt of one delivery (the job's body); its status afterwards ("stale" when there was none to make)."""
    delivery = _claim(delivery_id, attempt)
    if delivery is None:
        return "stale"
    status, error = _post(delivery)
    if error:
        log.info("webhooks: delivery %s to hook %s failed (attempt %s): %s", delivery.pk, delivery.webhook_id,
                 delivery.attempts, error[:200])
    return _record(delivery, status, error)


# ---- the administrator's actions and the sweep ----

def delivery_retry_now(*, delivery: WebhookDelivery) -> None:
    """Queues an attempt now (a failed delivery gets one more attempt; a delivered one is left alone)."""
    with transaction.atomic():
        current = WebhookDelivery.objects.select_for_update().get(pk=delivery.pk)
        if current.status not in (Status.PENDING, Status.FAILED):
            return
        current.status, current.next_attempt_at = Status.PENDING, timezone.now()
        current.save(update_fields=["status", "next_attempt_at"])
        _defer_attempt(current, locked=False)


def webhook_ping(*, hook: Webhook) -> WebhookDelivery:
    """A test event to the hook's receiver, through the queue like any delivery."""
    event = events.ping_event(hook.pk, timezone.now())
    with transaction.atomic():
        delivery = WebhookDelivery.objects.create(webhook=hook, event_id=event["id"], event_type=events.PING,
                                                  payload=event, next_attempt_at=timezone.now())
        _defer_attempt(delivery, locked=False)
    return delivery


ORPHANS_SQL = """
SELECT d.id FROM opendata_webhookdelivery d
WHERE d.status = 'pending' AND d.next_attempt_at <= now() - interval '30 seconds'
  AND NOT EXISTS (SELECT 1 FROM procrastinate_jobs j WHERE j.task_name = 'opendata.webhook_deliver'
                  AND j.status IN ('todo', 'doing') AND (j.args->>'delivery_id')::bigint = d.id)
ORDER BY d.id LIMIT 1000
"""


def sweep() -> int:
    """Wakes due deliveries no job waits for (a crash after the POST, a lost job) and the dispatch of every layer
    with hooks, and trims the log; the number of deliveries woken."""
    with connection.cursor() as cursor:
        cursor.execute(ORPHANS_SQL)
        orphans = [row[0] for row in cursor.fetchall()]
    for delivery in WebhookDelivery.objects.filter(pk__in=orphans):
        _defer_attempt(delivery)
    WebhookDelivery.objects.filter(status__in=(Status.DELIVERED, Status.SKIPPED),
                                   created_at__lt=timezone.now() - dt.timedelta(days=KEEP_DAYS)).delete()
    # Every layer with an active hook, not only those with a noted change: a write that told no listener (or whose
    # note failed, or whose dispatch could not be queued) is still sent, a minute late at most. Run here, not queued:
    # a job per layer each minute would crowd the queue's log; the position row locks keep it from racing a job.
    for layer_id in Webhook.objects.filter(active=True).values_list("layers", flat=True).distinct():
        if layer_id is not None:
            dispatch(layer_id)
    return len(orphans)
