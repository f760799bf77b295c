"""Issued planning information sheets: what each said, when, and for which moment of the data."""
from django.db import models


class IssuedSheet(models.Model):
    """One issued sheet. `content` is what it said (canonical JSON, language-neutral); `content_hash` its sha256;
    `as_of` the moment of the data, from which the same sheet can be re-issued (layers' history)."""

    code = models.CharField(max_length=9, unique=True)
    feature_id = models.BigIntegerField()
    ward_code = models.CharField(max_length=10)
    map_sheet = models.IntegerField()
    parcel_no = models.IntegerField()
    as_of = models.DateTimeField()
    language = models.CharField(max_length=2, default="vi")
    content = models.JSONField()
    content_hash = models.CharField(max_length=64, db_index=True)
    issued_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["ward_code", "map_sheet", "parcel_no"], name="sheet_parcel_key")]

    def __str__(self) -> str:
        return f"{self.code} {self.ward_code}/{self.map_sheet}/{self.parcel_no}"
