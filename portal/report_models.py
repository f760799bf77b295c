"""Residents' reports on wrong data (phản ánh): the report, and the record of every moderation step."""
from django.conf import settings
from django.contrib.gis.db import models


class Category(models.TextChoices):
    """What is wrong; labels carry both languages (no gettext strings: locale/ stays as it is)."""

    BOUNDARY = "boundary", "Sai ranh giới / Wrong boundary"
    AREA = "area", "Sai diện tích / Wrong area"
    LAND_USE = "land_use", "Sai loại đất / Wrong land use"
    PLANNING = "planning", "Sai thông tin quy hoạch / Wrong planning information"
    ADDRESS = "address", "Sai địa chỉ, tên gọi / Wrong address or name"
    OTHER = "other", "Khác / Other"


class Status(models.TextChoices):
    RECEIVED = "received", "Đã tiếp nhận / Received"
    ANSWERED = "answered", "Đã trả lời / Answered"
    RESOLVED = "resolved", "Đã khắc phục / Resolved"
    REJECTED = "rejected", "Không chấp nhận / Rejected"


class TargetKind(models.TextChoices):
    PARCEL = "parcel", "Thửa đất / Parcel"
    ZONE = "zone", "Vùng quy hoạch / Planning zone"
    FEATURE = "feature", "Đối tượng bản đồ / Map feature"
    POINT = "point", "Vị trí trên bản đồ / Point on the map"


class Report(models.Model):
    """One resident's report. `contact` is personal data: never on a public door, nor shown to planners
    without a personal-data grant on `moderation_layer`; `text` is public only once `text_public` is set."""

    code = models.CharField(max_length=12, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    target_kind = models.CharField(max_length=8, choices=TargetKind.choices)
    layer = models.ForeignKey("layers.Layer", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    feature_id = models.BigIntegerField(null=True, blank=True)
    # Who moderates: the target's layer, or for a bare point the parcels layer (portal/reports.py says why).
    moderation_layer = models.ForeignKey("layers.Layer", null=True, on_delete=models.SET_NULL, related_name="+")
    point = models.PointField(srid=4326)
    ward_code = models.CharField(max_length=10, blank=True)
    ward_name = models.CharField(max_length=100, blank=True)
    category = models.CharField(max_length=10, choices=Category.choices)
    text = models.TextField()
    text_public = models.BooleanField(default=False)
    photo = models.CharField(max_length=200, blank=True, help_text="Path in the default storage (a re-encoded JPEG)")
    contact = models.CharField(max_length=200, blank=True, help_text="Personal data: phone or e-mail")
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.RECEIVED)
    answer = models.TextField(blank=True)
    answered_at = models.DateTimeField(null=True, blank=True)
    fixed_layer = models.ForeignKey("layers.Layer", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    fixed_feature_id = models.BigIntegerField(null=True, blank=True)
    fixed_version = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["status", "created_at"], name="report_status_time"),
                   models.Index(fields=["ward_code", "category"], name="report_ward_category")]

    def __str__(self) -> str:
        return self.code


class ReportModeration(models.Model):
    """Who did what to a report, and when (never shown publicly)."""

    report = models.ForeignKey(Report, on_delete=models.CASCADE, related_name="moderations")
    at = models.DateTimeField(auto_now_add=True)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    status = models.CharField(max_length=8, choices=Status.choices)
    answer = models.TextField(blank=True)
    text_public = models.BooleanField(default=False)

    class Meta:
        ordering = ["at", "id"]
