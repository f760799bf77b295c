"""The events webhooks carry: CloudEvents 1.0 in structured JSON mode, one per committed transaction on a layer.

A transaction is summed up (kind, counts, the feed's cursors around it); a small one (at most INLINE_MAX changes)
also carries its changes as GeoJSON features with the public fields only: personal fields never, and never who
made the change. A big one (an ingest of 300,000 rows) is one event too: its receiver reads the change feed from
`since` up to `until`.
"""
from __future__ import annotations

import json
import uuid

from django.conf import settings

from layers import changes
from layers.models import Layer
from layers.personal import personal_fields, without

CONTENT_TYPE = "application/cloudevents+json"
CHANGED = "vn.gisportal.layer.changed"
PING = "vn.gisportal.webhook.ping"
INLINE_MAX = 100
_NAMESPACE = uuid.UUID("6b1f4f3e-5d0a-4c55-9d0e-8f1f2a9c7e11")


def public_base() -> str:
    """The portal's public address, for links in events (GISPORTAL_PUBLIC_URL; jobs run outside any request)."""
    return settings.GISPORTAL_PUBLIC_URL.rstrip("/")


def layer_url(layer: Layer) -> str:
    return f"{public_base()}/data/{layer.slug}/"


def event_id(layer: Layer, xact: int) -> str:
    """The event of one transaction on one layer: the same id for every hook and every retry."""
    return str(uuid.uuid5(_NAMESPACE, f"{layer.pk}:{xact}"))


def _feature(change: changes.Change, hidden: list[str]) -> dict:
    return {"type": "Feature", "id": change.feature_id, "kind": change.kind, "version": change.version,
            "time": change.time.isoformat(),
            "geometry": json.loads(change.geojson) if change.geojson else None,
            "properties": without(change.properties, hidden)}


def inline_changes(layer: Layer, txn: changes.Transaction, since: changes.Position) -> list[dict] | None:
    """The transaction's changes as public GeoJSON features, or None when it has more than INLINE_MAX."""
    if sum(txn.counts.values()) > INLINE_MAX:
        return None
    hidden = personal_fields(layer)
    rows = changes.changes_after(layer, since, limit=INLINE_MAX, read=False, hidden=hidden)
    # a change of personal fields alone is not told (as history pages and the feed): the receiver is the public
    return [_feature(row, hidden) for row in rows if row.position <= txn.last and not row.unseen]


def _envelope(*, event: str, kind: str, source: str, subject: str, time, data: dict) -> dict:
    return {"specversion": "1.0", "id": event, "source": source, "type": kind, "subject": subject,
            "time": time.isoformat(), "datacontenttype": "application/json", "data": data}


def changed_event(layer: Layer, txn: changes.Transaction, kind: str) -> dict | None:
    """The CloudEvent of one committed transaction on a layer (kind: edit, ingest, revert or harvest); None when
    it changed only personal fields (nothing the public may learn of)."""
    since = changes.position_before(txn)
    since_cursor = changes.encode_cursor(layer, since)
    data = {
        "layer": layer.slug, "kind": kind, "run_id": txn.run_id, "counts": dict(txn.counts),
        "changes": {"url": f"{public_base()}/data/{layer.slug}/changes?since={since_cursor}",
                    "since": since_cursor, "until": changes.encode_cursor(layer, txn.last)},
    }
    features = inline_changes(layer, txn, since)
    if features is not None:
        if not features:
            return None
        data["features"] = features
        data["counts"] = {k: sum(f["kind"] == k for f in features) for k in ("insert", "update", "delete")}
    return _envelope(event=event_id(layer, txn.xact), kind=CHANGED, source=layer_url(layer), subject=layer.slug,
                     time=txn.time, data=data)


def ping_event(hook_id: int, time) -> dict:
    """A test event an administrator sends to check a receiver (a new id every time)."""
    return _envelope(event=f"ping-{uuid.uuid4()}", kind=PING, source=f"{public_base()}/data/", subject=f"webhook-{hook_id}",
                     time=time, data={"webhook": hook_id, "message_vi": "Thử kết nối webhook.",
                                      "message_en": "Webhook test ping."})


def body(event: dict) -> bytes:
    """The bytes sent (and signed): compact JSON, UTF-8."""
    return json.dumps(event, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
