"""Webhooks: who hears of a layer's changes, how far each has been told, and every delivery with its attempts.

The secret is kept as given (it signs every delivery, so it cannot be hashed); the admin shows it masked.
"""
from django.conf import settings
from django.db import models


class Webhook(models.Model):
    """A receiver URL told of every committed change to its layers (public layers only)."""

    url = models.URLField(max_length=2048)
    secret = models.CharField(max_length=200, help_text="Signs every delivery (Standard Webhooks HMAC-SHA256)")
    layers = models.ManyToManyField("layers.Layer", related_name="webhooks")
    active = models.BooleanField(default=True)
    description = models.CharField(max_length=300, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"#{self.pk} {self.url}"


class WebhookPosition(models.Model):
    """How far events have been made for one hook and one layer (a place in the layer's change feed)."""

    webhook = models.ForeignKey(Webhook, on_delete=models.CASCADE, related_name="positions")
    layer = models.ForeignKey("layers.Layer", on_delete=models.CASCADE, related_name="+")
    xact = models.BigIntegerField(default=0)
    row = models.BigIntegerField(default=0)
    # The database's snapshot when the hook subscribed (pg_snapshot text): transactions it shows as committed came
    # before the hook, although the feed may not serve them yet (an older transaction still ran); they are skipped.
    start_snapshot = models.CharField(max_length=2000, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["webhook", "layer"], name="webhook_position_once")]


class WebhookTransaction(models.Model):
    """The kind of a writing transaction (edit, ingest, revert, harvest), noted by the change listener inside it for
    layers that have hooks: the history rows carry the transaction's id but not its kind."""

    layer = models.ForeignKey("layers.Layer", on_delete=models.CASCADE, related_name="+")
    xact = models.BigIntegerField()
    kind = models.CharField(max_length=12)
    noted_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["layer", "xact"], name="webhook_transaction_once")]


class WebhookDelivery(models.Model):
    """One event for one hook: its payload (fixed at dispatch, so every attempt sends the same body) and attempts."""

    class Status(models.TextChoices):
        PENDING = "pending"
        DELIVERED = "delivered"
        FAILED = "failed"
        SKIPPED = "skipped"  # not sent: the layer is no longer public, or the hook was switched off

    webhook = models.ForeignKey(Webhook, on_delete=models.CASCADE, related_name="deliveries")
    event_id = models.CharField(max_length=100)
    layer = models.ForeignKey("layers.Layer", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    event_type = models.CharField(max_length=100)
    payload = models.JSONField(default=dict)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    last_status = models.PositiveIntegerField(null=True, blank=True, help_text="The receiver's last HTTP status")
    last_error = models.TextField(blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        constraints = [models.UniqueConstraint(fields=["webhook", "event_id"], name="webhook_event_once")]
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="webhook_delivery_due")]

    def __str__(self) -> str:
        return f"{self.event_id} → hook #{self.webhook_id} ({self.status})"
