"""Ingest runs in the admin: read-only, for looking up who loaded what."""
from django.contrib import admin

from ingest.models import IngestRun
from layers.permissions import is_data_admin


@admin.register(IngestRun)
class IngestRunAdmin(admin.ModelAdmin):
    list_display = ("id", "layer_slug", "file_name", "mode", "status", "read_count", "loaded_count", "rejected_count",
                    "user", "started_at")
    list_filter = ("status", "mode")
    search_fields = ("layer_slug", "file_name", "file_sha256")
    readonly_fields = [f.name for f in IngestRun._meta.fields]

    # Runs name restricted layers and their reports hold rejected values: data administrators only (the run
    # pages under /ingest/ show each run to those who may see its layer).
    def has_module_permission(self, request) -> bool:
        return is_data_admin(request.user)

    def has_view_permission(self, request, obj=None) -> bool:
        return is_data_admin(request.user)

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
