"""Signing webhook deliveries as the Standard Webhooks specification says (standardwebhooks.com), so any receiver
(and the specification's own libraries) can verify them:

    webhook-id:        the event id (the same on every retry: the idempotency key)
    webhook-timestamp: seconds since 1970-01-01 UTC when this attempt was signed
    webhook-signature: "v1," + base64(HMAC-SHA256(key, f"{id}.{timestamp}.{body}"))

The key: for a secret of the form "whsec_<base64>" (the form the portal generates) the base64-decoded bytes, as
the specification's libraries do; for any other secret its UTF-8 bytes.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
import time

PREFIX = "whsec_"
MIN_SECRET = 16  # characters
MAX_SECRET = 200
TOLERANCE = 5 * 60  # seconds a receiver should accept between the timestamp and its clock


def generate_secret() -> str:
    """A new secret: "whsec_" and 32 random bytes in base64."""
    return PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def secret_key(secret: str) -> bytes:
    """The HMAC key a secret stands for (module docstring)."""
    if secret.startswith(PREFIX):
        try:
            return base64.b64decode(secret[len(PREFIX):], validate=True)
        except (binascii.Error, ValueError):
            pass  # not base64 after the prefix: the text itself is the key
    return secret.encode("utf-8")


def signature(secret: str, event_id: str, timestamp: int, body: bytes) -> str:
    """The webhook-signature header value for one attempt."""
    signed = f"{event_id}.{timestamp}.".encode() + body
    digest = hmac.new(secret_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def headers(secret: str, event_id: str, body: bytes, *, now: float | None = None) -> dict[str, str]:
    """The signing headers of one attempt (a fresh timestamp each time; the id never changes)."""
    timestamp = int(time.time() if now is None else now)
    return {"webhook-id": event_id, "webhook-timestamp": str(timestamp),
            "webhook-signature": signature(secret, event_id, timestamp, body)}


def verify(secret: str, received: dict[str, str], body: bytes, *, now: float | None = None) -> bool:
    """What a receiver does: the timestamp within TOLERANCE and one v1 signature matching (constant time)."""
    event_id, stamp = received.get("webhook-id", ""), received.get("webhook-timestamp", "")
    if not event_id or not stamp.isdigit() or abs((time.time() if now is None else now) - int(stamp)) > TOLERANCE:
        return False
    expected = signature(secret, event_id, int(stamp), body)
    return any(hmac.compare_digest(expected, given) for given in received.get("webhook-signature", "").split())
