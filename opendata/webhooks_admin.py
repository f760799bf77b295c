"""Webhooks in the admin: registration (checked by the same functions as `manage.py webhooks add`), the secret
masked once saved, and a delivery log per hook with "retry now" and "send test ping". Data administrators only."""
from django import forms
from django.contrib import admin, messages
from django.urls import reverse
from django.utils.html import format_html

from layers.errors import DomainError
from layers.permissions import is_data_admin
from opendata import webhooks
from opendata.webhooks_delivery import delivery_retry_now, webhook_ping
from opendata.webhooks_models import Webhook, WebhookDelivery
from opendata.webhooks_signing import generate_secret


def mask(secret: str) -> str:
    return f"{secret[:6]}…{'*' * 8}" if secret else ""


class WebhookForm(forms.ModelForm):
    new_secret = forms.CharField(required=False, strip=False, label="Khóa bí mật mới / New secret",
                                 help_text="≥ 16 ký tự; để trống: giữ khóa hiện có (hook mới: tạo tự động) / "
                                           "≥ 16 characters; empty: keep the current one (a new hook: generated)")

    class Meta:
        model = Webhook
        fields = ("url", "layers", "active", "description")

    def _check(self, name: str, check, value):
        try:
            return check(value)
        except DomainError as error:
            self.add_error(name, f"{error.message_vi} / {error.message_en}")
            return value

    def clean_url(self):
        return self._check("url", webhooks.check_url, self.cleaned_data.get("url", ""))

    def clean_new_secret(self):
        value = self.cleaned_data.get("new_secret") or ""
        return self._check("new_secret", webhooks.check_secret, value) if value else ""

    def clean_description(self):
        return self._check("description", webhooks.check_description, self.cleaned_data.get("description", ""))

    def clean_layers(self):
        return self._check("layers", lambda layers: webhooks.check_layers(list(layers)), self.cleaned_data.get("layers"))


class ForDataAdmins:
    def has_module_permission(self, request) -> bool:
        return is_data_admin(request.user)

    def has_view_permission(self, request, obj=None) -> bool:
        return is_data_admin(request.user)


@admin.register(Webhook)
class WebhookAdmin(ForDataAdmins, admin.ModelAdmin):
    form = WebhookForm
    list_display = ("id", "url", "active", "description", "created_at", "log")
    list_filter = ("active",)
    filter_horizontal = ("layers",)
    readonly_fields = ("secret_masked", "created_by", "created_at")
    actions = ["send_ping"]

    def has_add_permission(self, request) -> bool:
        return is_data_admin(request.user)

    def has_change_permission(self, request, obj=None) -> bool:
        return is_data_admin(request.user)

    def has_delete_permission(self, request, obj=None) -> bool:
        return is_data_admin(request.user)

    @admin.display(description="Khóa bí mật / Secret")
    def secret_masked(self, obj) -> str:
        return mask(obj.secret)

    @admin.display(description="Nhật ký gửi / Delivery log")
    def log(self, obj):
        url = reverse("admin:opendata_webhookdelivery_changelist") + f"?webhook__id__exact={obj.pk}"
        return format_html('<a href="{}">{}</a>', url, "deliveries")

    def save_model(self, request, obj, form, change):
        fresh = form.cleaned_data.get("new_secret") or ""
        if fresh or not obj.secret:
            obj.secret = fresh or generate_secret()
            if not fresh:  # shown this once
                messages.warning(request, f"Khóa bí mật (chỉ hiện một lần) / Secret (shown once): {obj.secret}")
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        webhooks.sync_positions(hook=form.instance)  # new layers start at their latest change

    @admin.action(description="Gửi sự kiện thử / Send test ping")
    def send_ping(self, request, queryset):
        for hook in queryset:
            webhook_ping(hook=hook)
        self.message_user(request, f"Đã xếp hàng {queryset.count()} sự kiện thử / {queryset.count()} test ping(s) queued")


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ForDataAdmins, admin.ModelAdmin):
    list_display = ("id", "webhook", "event_id", "layer", "event_type", "status", "attempts", "last_status",
                    "next_attempt_at", "created_at", "delivered_at")
    list_filter = ("status", "event_type", "webhook")
    search_fields = ("event_id",)
    readonly_fields = [f.name for f in WebhookDelivery._meta.fields]
    actions = ["retry_now"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    @admin.action(description="Gửi lại ngay / Retry now")
    def retry_now(self, request, queryset):
        for delivery in queryset:
            delivery_retry_now(delivery=delivery)
        self.message_user(request, f"Đã xếp hàng gửi lại / Retries queued: {queryset.count()}")
