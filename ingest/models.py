"""Ingest runs: one row per load attempt, successful or not, with its report."""
from django.conf import settings
from django.db import models


class IngestRun(models.Model):
    """Who loaded which file into which layer, how, and what came of it."""

    class Status(models.TextChoices):
        QUEUED = "queued"
        RUNNING = "running"
        SUCCEEDED = "succeeded"
        FAILED = "failed"

    layer = models.ForeignKey("layers.Layer", null=True, blank=True, on_delete=models.SET_NULL, related_name="ingest_runs")
    layer_slug = models.CharField(max_length=64)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.RUNNING)
    file_name = models.CharField(max_length=500)
    file_sha256 = models.CharField(max_length=64, blank=True)
    mode = models.CharField(max_length=12)
    crs_found = models.CharField(max_length=200, blank=True)
    crs_used = models.CharField(max_length=200, blank=True)
    read_count = models.PositiveIntegerField(default=0)
    loaded_count = models.PositiveIntegerField(default=0)
    repaired_count = models.PositiveIntegerField(default=0)
    rejected_count = models.PositiveIntegerField(default=0)
    report = models.JSONField(default=dict, blank=True)
    # Background jobs (the upload page): what to run, and live progress written from the job's own process.
    options = models.JSONField(default=dict, blank=True)
    upload_path = models.CharField(max_length=500, blank=True)
    progress_done = models.PositiveIntegerField(default=0)
    progress_total = models.PositiveIntegerField(null=True, blank=True)
    pid = models.IntegerField(null=True, blank=True)  # the loading process's, on whichever host: shown, never judged
    job_id = models.BigIntegerField(null=True, blank=True)  # its procrastinate job (queue "ingest"), if queued

    class Meta:
        ordering = ["-started_at"]

    def __str__(self) -> str:
        return f"{self.layer_slug} {self.mode} {self.started_at:%Y-%m-%d %H:%M} {self.status}"
