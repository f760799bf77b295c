"""API tokens that raise a caller's rate limit (the rate counters and page cursors live in Redis)."""
import hashlib
import secrets

from django.conf import settings
from django.db import models


def hash_key(key: str) -> str:
    """Only the SHA-256 of a token is stored; the token itself is shown once."""
    return hashlib.sha256(key.encode()).hexdigest()


class ApiToken(models.Model):
    """A personal API token (sent as `Authorization: Bearer <token>` or `X-API-Key`)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=8, help_text="First characters, to tell tokens apart")
    key_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked = models.BooleanField(default=False)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.name})"

    @staticmethod
    def new_key() -> str:
        return "gp_" + secrets.token_urlsafe(30)


from opendata.harvest_models import HarvestRun, HarvestSource  # noqa: E402,F401  (harvest: opendata/harvest*.py)
from opendata.webhooks_models import Webhook, WebhookDelivery, WebhookPosition, WebhookTransaction  # noqa: E402,F401
