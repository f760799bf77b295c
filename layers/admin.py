"""The Django admin: the catalog, grants and features — every write through the same services as the editor."""
from django import forms
from django.contrib import admin
from leaflet.admin import LeafletGeoAdmin

from layers import editing
from layers.errors import DomainError
from layers.models import Feature, Layer, LayerGrant, PermissionChange
from layers.permissions import authorize_change, can_edit, is_data_admin
from layers.schemas import personal_field_names
from layers.services import grant_create, grant_revoke
from layers.validation import ValidationFailed, check_feature


@admin.register(Layer)
class LayerAdmin(LeafletGeoAdmin):
    list_display = ["slug", "title_vi", "category", "kind", "is_public", "personal_fields", "feature_count", "last_changed"]
    list_filter = ["category", "kind", "is_public", "basemap_role"]
    search_fields = ["slug", "title_vi", "title_en"]
    readonly_fields = ["feature_count", "last_changed", "extent", "raster_path", "created_at"]

    @admin.display(description="Trường dữ liệu cá nhân / Personal fields")
    def personal_fields(self, obj: Layer) -> str:
        """Marked with "personal": true in the schema; set it to false there to unmark a field."""
        return ", ".join(personal_field_names(obj.schema or [])) or "—"


class FeatureForm(forms.ModelForm):
    """Carries the version the form was opened on, so a stale admin save is refused like the editor's."""

    expected_version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    class Meta:
        model = Feature
        fields = ["layer", "geom", "properties"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["expected_version"].initial = self.instance.version
            self.fields["layer"].disabled = True

    def clean(self):
        data = super().clean()
        layer, geom = data.get("layer") or self.instance.layer, data.get("geom")
        if layer is None or geom is None or not isinstance(data.get("properties"), dict):
            return data
        user = self.request_user
        before = Feature.objects.filter(pk=self.instance.pk).first() if self.instance.pk else None
        try:  # the same checks, in the same order, as the editor's services (layers/editing.py)
            authorize_change(user=user, layer=layer, geoms=[before.geom if before else None])
            if before is not None and data.get("expected_version") != before.version:
                raise forms.ValidationError("Someone else changed this feature first; reload it. / Đối tượng đã được người khác sửa.")
            checked = check_feature(layer, geom.clone(), data["properties"], exclude_id=self.instance.pk)
            authorize_change(user=user, layer=layer, geoms=[checked.geom])
        except ValidationFailed as failed:
            for problem in failed.problems:
                field = "geom" if problem.field == "geometry" else "properties"
                self.add_error(field, f"{problem.message_en} / {problem.message_vi}")
        except DomainError as error:
            raise forms.ValidationError(f"{error.message_en} / {error.message_vi}") from None
        return data


@admin.register(Feature)
class FeatureAdmin(LeafletGeoAdmin):
    form = FeatureForm
    list_display = ["id", "layer", "version", "updated_at", "updated_by"]
    list_filter = ["layer"]
    readonly_fields = ["version", "updated_at", "updated_by"]

    def get_form(self, request, obj=None, **kwargs):
        form = super().get_form(request, obj, **kwargs)
        form.request_user = request.user
        return form

    def has_change_permission(self, request, obj=None):
        return obj is None or can_edit(request.user, obj.layer) or is_data_admin(request.user)

    def save_model(self, request, obj, form, change):
        comment = "admin"
        if change:
            editing.feature_update(layer=obj.layer, feature_id=obj.pk, expected_version=form.cleaned_data["expected_version"],
                                   geom=obj.geom, properties=obj.properties, user=request.user, comment=comment)
        else:
            created = editing.feature_create(layer=obj.layer, geom=obj.geom, properties=obj.properties,
                                             user=request.user, comment=comment)
            obj.pk = created.pk

    def delete_model(self, request, obj):
        editing.feature_delete(layer=obj.layer, feature_id=obj.pk, expected_version=obj.version, user=request.user, comment="admin")

    def delete_queryset(self, request, queryset):
        for obj in queryset:
            self.delete_model(request, obj)


@admin.register(LayerGrant)
class LayerGrantAdmin(LeafletGeoAdmin):
    list_display = ["layer", "user", "group", "can_edit", "can_see_personal", "area_label", "granted_by", "granted_at"]
    list_filter = ["layer", "can_edit", "can_see_personal"]
    fields = ["layer", "user", "group", "can_edit", "can_see_personal", "area", "area_label"]

    def has_module_permission(self, request):
        return is_data_admin(request.user)

    def save_model(self, request, obj, form, change):
        if change:  # a changed grant is a revoke and a new grant, both in the audit trail
            grant_revoke(grant=LayerGrant.objects.get(pk=obj.pk), by=request.user)
        try:
            grant_create(layer=obj.layer, by=request.user, user=obj.user, group=obj.group, can_edit=obj.can_edit,
                         area=obj.area, area_label=obj.area_label, can_see_personal=obj.can_see_personal)
        except DomainError as error:
            self.message_user(request, error.message_en, level="error")

    def delete_model(self, request, obj):
        grant_revoke(grant=obj, by=request.user)

    def delete_queryset(self, request, queryset):
        for obj in queryset:
            grant_revoke(grant=obj, by=request.user)


@admin.register(PermissionChange)
class PermissionChangeAdmin(admin.ModelAdmin):
    list_display = ["at", "by", "action", "layer_slug", "subject", "can_edit", "can_see_personal", "area_label"]
    list_filter = ["action", "layer_slug"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
