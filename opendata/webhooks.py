"""Registering webhooks (one check for the admin and the command) and hearing of changes (the change listener).

A hook subscribes to public layers only; a new hook starts at each layer's latest position in the change feed
(no replay of old history: the feed, /data/{layer}/changes, is there for a backfill). The listener runs inside
every writing transaction: for a layer with hooks it notes the transaction's kind and, once the transaction has
committed, queues the layer's dispatch job (one waiting per layer: a burst of edits coalesces). It never raises
into the write: a failure is logged, and the periodic sweep (webhooks_delivery.sweep) catches up.
"""
from __future__ import annotations

import logging
from functools import partial

from django.db import transaction
from procrastinate import exceptions as queue_errors

from layers import changes, db
from layers.errors import InvalidParameter, NotFound
from layers.history import current_change_kind
from layers.models import Layer
from opendata import outbound
from opendata.webhooks_models import Webhook, WebhookDelivery, WebhookPosition
from opendata.webhooks_signing import MAX_SECRET, MIN_SECRET, generate_secret

log = logging.getLogger(__name__)
MAX_DESCRIPTION = 300


class WebhookRefused(InvalidParameter):
    code = "webhook-refused"


def check_url(url: str) -> str:
    """The receiver URL checked by the one outbound check (https to public addresses, unless insecure mode);
    WebhookRefused (400) with the reason, a host that does not resolve included."""
    try:
        outbound.check_url(url, outbound.webhook_policy())
    except outbound.OutboundFailed as error:  # at registration a name that does not resolve is the caller's error
        raise WebhookRefused(error.message_vi, error.message_en, parameter="url") from None
    return url


def check_secret(secret: object) -> str:
    """A secret of MIN_SECRET to MAX_SECRET printable ASCII characters without spaces (a receiver types it in)."""
    if not isinstance(secret, str) or not MIN_SECRET <= len(secret) <= MAX_SECRET \
            or any(not 0x21 <= ord(c) <= 0x7E for c in secret):
        raise WebhookRefused(
            f"Khóa bí mật (secret) phải dài từ {MIN_SECRET} đến {MAX_SECRET} ký tự ASCII in được, không có khoảng trắng.",
            f"The secret must be {MIN_SECRET} to {MAX_SECRET} printable ASCII characters, without spaces.",
            parameter="secret")
    return secret


def check_layers(layers: list[Layer]) -> list[Layer]:
    """At least one layer, all public (a restricted layer is never sent outside)."""
    if not layers:
        raise WebhookRefused("Hãy chọn ít nhất một lớp dữ liệu.", "Choose at least one layer.", parameter="layers")
    restricted = [layer.slug for layer in layers if not layer.is_public]
    if restricted:
        names = ", ".join(restricted)
        raise WebhookRefused(f"Lớp «{names}» bị hạn chế, không công khai: webhook chỉ dành cho lớp công khai.",
                             f"The layer “{names}” is restricted, not public: webhooks are for public layers only.",
                             parameter="layers")
    return layers


def layers_by_slug(slugs: list[str]) -> list[Layer]:
    """The layers named (comma-separated slugs from a command); WebhookRefused names any unknown one."""
    wanted = [slug.strip() for slug in slugs if slug and slug.strip()]
    found = {layer.slug: layer for layer in Layer.objects.filter(slug__in=wanted)}
    unknown = [slug for slug in wanted if slug not in found]
    if unknown:
        names = ", ".join(unknown)[:300]
        raise WebhookRefused(f"Không có lớp dữ liệu «{names}».", f"There is no layer “{names}”.", parameter="layers")
    return [found[slug] for slug in dict.fromkeys(wanted)]


def check_description(description: object) -> str:
    """A description of at most MAX_DESCRIPTION characters, on one line, without control characters."""
    if not isinstance(description, str) or len(description) > MAX_DESCRIPTION \
            or any(ord(c) < 0x20 or ord(c) == 0x7F for c in description):
        raise WebhookRefused(f"Mô tả tối đa {MAX_DESCRIPTION} ký tự trên một dòng, không có ký tự điều khiển.",
                             f"The description must be at most {MAX_DESCRIPTION} characters on one line, without "
                             "control characters.", parameter="description")
    return description.strip()


def start_position(hook: Webhook, layer: Layer) -> WebhookPosition:
    """A hook's position on a layer starting now: after the layer's latest settled change, and skipping the
    transactions committed before now that the feed cannot serve yet (start_snapshot)."""
    start = changes.latest_position(layer)
    with db.cursor() as cursor:
        cursor.execute("SELECT pg_current_snapshot()::text")
        snapshot = cursor.fetchone()[0]
    position, _ = WebhookPosition.objects.get_or_create(
        webhook=hook, layer=layer, defaults={"xact": start.xact, "row": start.id, "start_snapshot": snapshot[:2000]})
    return position


def sync_positions(*, hook: Webhook) -> None:
    """A position for each subscribed layer (new ones start now); none for layers dropped."""
    subscribed = list(hook.layers.all())
    WebhookPosition.objects.filter(webhook=hook).exclude(layer__in=subscribed).delete()
    have = set(WebhookPosition.objects.filter(webhook=hook).values_list("layer_id", flat=True))
    for layer in subscribed:
        if layer.pk not in have:
            start_position(hook, layer)


@transaction.atomic
def webhook_create(*, url: str, layers: list[Layer], secret: str | None = None, description: str = "",
                   user=None) -> tuple[Webhook, str]:
    """A new hook (checked as every door checks it) and its secret (generated when none is given)."""
    secret = generate_secret() if secret is None else check_secret(secret)
    hook = Webhook.objects.create(url=check_url(url), secret=secret, description=check_description(description),
                                  created_by=user if user is not None and getattr(user, "pk", None) else None)
    hook.layers.set(check_layers(layers))
    sync_positions(hook=hook)
    return hook, secret


def webhook_get(hook_id: object) -> Webhook:
    """The hook by its number; NotFound (404) otherwise."""
    try:
        number = int(str(hook_id))
    except ValueError:
        number = -1
    hook = Webhook.objects.filter(pk=number).first() if number > 0 else None
    if hook is None:
        raise NotFound(f"Không có webhook số «{str(hook_id)[:20]}».", f"There is no webhook number “{str(hook_id)[:20]}”.")
    return hook


@transaction.atomic
def webhook_remove(*, hook: Webhook) -> None:
    """Removes the hook, its positions and its delivery log (its waiting jobs find nothing and end)."""
    hook.delete()


def deliveries_of(hook: Webhook, *, limit: int = 50) -> list[WebhookDelivery]:
    """The hook's newest deliveries, newest first."""
    return list(hook.deliveries.select_related("layer").order_by("-id")[:limit])


def has_hooks(layer: Layer) -> bool:
    return Webhook.objects.filter(active=True, layers=layer).exists()


def note_transaction(layer: Layer) -> None:
    """Notes the running transaction's kind for the layer (once per transaction)."""
    with db.cursor() as cursor:
        cursor.execute("INSERT INTO opendata_webhooktransaction (layer_id, xact, kind, noted_at) "
                       "VALUES (%s, pg_current_xact_id()::text::bigint, %s, now()) ON CONFLICT DO NOTHING",
                       [layer.pk, current_change_kind()])


def defer_dispatch(layer_id: int, *, delay: int = 0) -> None:
    """Queues the layer's dispatch unless one waits already (that one will read this change too)."""
    from opendata.webhooks_tasks import webhook_dispatch

    try:
        webhook_dispatch.configure(queueing_lock=f"webhooks-dispatch:{layer_id}", lock=f"webhooks-dispatch:{layer_id}",
                                   schedule_in={"seconds": delay}).defer(layer_id=layer_id)
    except queue_errors.AlreadyEnqueued:
        pass
    except Exception:  # never into the write that committed; the sweep queues it later
        log.exception("webhooks: could not queue the dispatch of layer %s", layer_id)


def on_features_changed(layer: Layer, bounds) -> None:
    """The change listener (inside the writing transaction): notes the kind and queues a dispatch on commit."""
    try:
        with transaction.atomic():  # a savepoint: a failure here leaves the write intact
            if not has_hooks(layer):
                return
            note_transaction(layer)
    except Exception:
        log.exception("webhooks: could not note a change to layer %s", layer.pk)
    transaction.on_commit(partial(defer_dispatch, layer.pk))
