"""Harvest sources (another agency's layer we follow) and the log of their runs."""
from django.db import models


class HarvestSource(models.Model):
    """A remote layer (OGC API – Features collection, WFS 2.0 feature type, ArcGIS REST layer) mirrored into one
    of our layers, on a schedule or by hand."""

    class Kind(models.TextChoices):
        OGCAPI = "ogcapi", "OGC API – Features"
        WFS = "wfs", "WFS 2.0"
        ARCGIS = "arcgis", "ArcGIS REST FeatureServer"

    layer_slug = models.SlugField(max_length=64, unique=True, help_text="Our layer (made by the first harvest)")
    url = models.CharField(max_length=2048)
    kind = models.CharField(max_length=8, choices=Kind.choices)
    remote_layer = models.CharField(max_length=200, blank=True,
                                    help_text="Collection id / feature type name / layer id (blank: from the URL)")
    key_field = models.CharField(max_length=64, blank=True, help_text="The remote feature id (blank: the kind's own)")
    every = models.DurationField(null=True, blank=True, help_text="Schedule (at least 5 minutes); blank: by hand")
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_run_at = models.DateTimeField(null=True, blank=True)
    next_run_at = models.DateTimeField(null=True, blank=True, db_index=True)
    last_status = models.CharField(max_length=12, blank=True)
    last_error = models.TextField(blank=True)
    last_ingest_run = models.ForeignKey("ingest.IngestRun", null=True, blank=True, on_delete=models.SET_NULL,
                                        related_name="+")

    class Meta:
        ordering = ["layer_slug"]

    def __str__(self) -> str:
        return f"{self.layer_slug} ← {self.kind} {self.url}"


class HarvestRun(models.Model):
    """One harvest attempt: its ingest run (the changes, revertable), "unchanged", or the reason it failed."""

    class Status(models.TextChoices):
        RUNNING = "running"
        SUCCEEDED = "succeeded"
        UNCHANGED = "unchanged"
        FAILED = "failed"

    source = models.ForeignKey(HarvestSource, on_delete=models.CASCADE, related_name="runs")
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.RUNNING)
    ingest_run = models.ForeignKey("ingest.IngestRun", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    read_count = models.PositiveIntegerField(default=0)
    inserted = models.PositiveIntegerField(default=0)
    updated = models.PositiveIntegerField(default=0)
    deleted = models.PositiveIntegerField(default=0)
    error = models.JSONField(default=dict, blank=True)  # {"vi": …, "en": …} when it failed

    class Meta:
        ordering = ["-started_at", "-id"]

    def __str__(self) -> str:
        return f"{self.source.layer_slug} {self.started_at:%Y-%m-%d %H:%M} {self.status}"
