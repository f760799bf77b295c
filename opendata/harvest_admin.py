"""Harvest sources in the admin: register, schedule, "harvest now", and each source's run log."""
from django import forms
from django.contrib import admin, messages
from django.utils import timezone

from layers.errors import DomainError
from opendata import harvest
from opendata.harvest_models import HarvestRun, HarvestSource


class HarvestRunInline(admin.TabularInline):
    model = HarvestRun
    extra = 0
    can_delete = False
    fields = readonly_fields = ("started_at", "finished_at", "status", "read_count", "inserted", "updated", "deleted",
                                "ingest_run", "error")
    ordering = ("-started_at",)
    max_num = 0
    show_change_link = False


class HarvestSourceForm(forms.ModelForm):
    """The same checks as `manage.py harvest add`: the source's fields, the outbound check, the schedule's bounds."""

    class Meta:
        model = HarvestSource
        fields = ("layer_slug", "url", "kind", "remote_layer", "key_field", "every", "active")

    def clean(self):
        data = super().clean()
        try:
            harvest.check_source(kind=data.get("kind") or "", layer_slug=data.get("layer_slug") or "",
                                 key_field=data.get("key_field") or "", remote_layer=data.get("remote_layer") or "",
                                 url=data.get("url") or "", every=data.get("every"))
        except DomainError as error:
            raise forms.ValidationError(f"{error.message_vi} / {error.message_en}") from None
        return data


@admin.register(HarvestSource)
class HarvestSourceAdmin(admin.ModelAdmin):
    form = HarvestSourceForm
    list_display = ("layer_slug", "kind", "url", "every", "active", "last_run_at", "last_status", "next_run_at")
    list_filter = ("kind", "active", "last_status")
    search_fields = ("layer_slug", "url")
    readonly_fields = ("created_at", "last_run_at", "next_run_at", "last_status", "last_error", "last_ingest_run")
    inlines = [HarvestRunInline]
    actions = ["harvest_now"]

    def save_model(self, request, obj, form, change):
        obj.key_field = obj.key_field or harvest.DEFAULT_KEYS[obj.kind]
        if "every" in form.changed_data or (obj.every and obj.next_run_at is None):
            obj.next_run_at = timezone.now() if obj.every else None  # a new schedule starts now
        super().save_model(request, obj, form, change)

    @admin.action(description="Thu thập ngay / Harvest now")
    def harvest_now(self, request, queryset):
        for source in queryset:
            run = harvest.harvest_run(source=source, user=request.user)
            level = messages.ERROR if run.status == HarvestRun.Status.FAILED else messages.SUCCESS
            self.message_user(request, f"{source.layer_slug}: {harvest.describe(run)}", level)
