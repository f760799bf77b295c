"""The Django admin: the catalog, grants and features — every write through the same services as the editor."""
from django import forms
from django.contrib import admin
from django.db import transaction
from leaflet.admin import LeafletGeoAdmin

from layers import editing
from layers.errors import DomainError
from layers.models import Feature, Layer, LayerGrant, PermissionChange
from layers.params import parse_json
from layers.permissions import authorize_change, can_edit, grants_of, is_data_admin
from layers.personal import hidden_fields, keep_hidden, without
from layers.schemas import personal_field_names
from layers.services import grant_create, grant_revoke
from layers.validation import ValidationFailed, check_feature


class DataAdminsOnly:
    """The catalog, grants and their audit trail are for data administrators only, whatever Django's model
    permissions a staff user holds (a grant given to oneself would step around every rule in layers/)."""

    def has_module_permission(self, request):
        return is_data_admin(request.user)

    def has_view_permission(self, request, obj=None):
        return is_data_admin(request.user)

    def has_add_permission(self, request):
        return is_data_admin(request.user)

    def has_change_permission(self, request, obj=None):
        return is_data_admin(request.user)

    def has_delete_permission(self, request, obj=None):
        return is_data_admin(request.user)


@admin.register(Layer)
class LayerAdmin(DataAdminsOnly, LeafletGeoAdmin):
    list_display = ["slug", "title_vi", "category", "kind", "is_public", "personal_fields", "feature_count", "last_changed"]
    list_filter = ["category", "kind", "is_public", "basemap_role"]
    search_fields = ["slug", "title_vi", "title_en"]
    readonly_fields = ["feature_count", "last_changed", "extent", "raster_path", "created_at"]

    @admin.display(description="Trường dữ liệu cá nhân / Personal fields")
    def personal_fields(self, obj: Layer) -> str:
        """Marked with "personal": true in the schema; set it to false there to unmark a field."""
        return ", ".join(personal_field_names(obj.schema or [])) or "—"


class PropertiesField(forms.JSONField):
    """The properties as JSON text, read by the platform's one JSON parser (depth, number and NUL limits)."""

    def to_python(self, value):
        if value in self.empty_values or not isinstance(value, str):
            return super().to_python(value)
        try:
            return parse_json(value, parameter="properties")
        except DomainError as error:
            raise forms.ValidationError(f"{error.message_en} / {error.message_vi}") from None

    def bound_data(self, data, initial):
        try:
            return super().bound_data(data, initial) if self.to_python(data) is not None else data
        except forms.ValidationError:
            return forms.fields.InvalidJSONInput(data)


class FeatureForm(forms.ModelForm):
    """Carries the version the form was opened on, so a stale admin save is refused like the editor's; shows
    and keeps the fields hidden from this user (personal data) as the editing API does."""

    expected_version = forms.IntegerField(widget=forms.HiddenInput, required=False)
    properties = PropertiesField()

    class Meta:
        model = Feature
        fields = ["layer", "geom", "properties"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["expected_version"].initial = self.instance.version
            self.fields["layer"].disabled = True
            self.initial["properties"] = without(self.instance.properties,
                                                 hidden_fields(self.request_user, self.instance.layer))

    def clean(self):
        data = super().clean()
        layer, geom = data.get("layer") or self.instance.layer, data.get("geom")
        if layer is None or geom is None or not isinstance(data.get("properties"), dict):
            return data
        user = self.request_user
        before = Feature.objects.filter(pk=self.instance.pk).first() if self.instance.pk else None
        # Personal fields the user may not see are neither shown, nor written, nor wiped: the stored ones stay.
        data["properties"] = keep_hidden(data["properties"], before.properties if before else None,
                                         hidden_fields(user, layer))
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
    list_filter = [("layer", admin.RelatedOnlyFieldListFilter)]
    readonly_fields = ["version", "updated_at", "updated_by"]

    def get_form(self, request, obj=None, **kwargs):
        form = super().get_form(request, obj, **kwargs)
        form.request_user = request.user
        return form

    def _may_edit_some(self, request) -> bool:
        return is_data_admin(request.user) or grants_of(request.user).filter(can_edit=True).exists()

    def _may(self, request, obj) -> bool:
        return self._may_edit_some(request) if obj is None else can_edit(request.user, obj.layer)

    # Only the layers the user may edit, for the list, its filters and every form: no other layer, editor or
    # feature is seen here (staff alone is no right to data).
    def has_module_permission(self, request):
        return self._may_edit_some(request)

    def has_view_permission(self, request, obj=None):
        return self._may(request, obj)

    def has_add_permission(self, request):
        return self._may_edit_some(request)

    def has_change_permission(self, request, obj=None):
        return self._may(request, obj)

    def has_delete_permission(self, request, obj=None):
        return self._may(request, obj)

    def get_queryset(self, request):
        features = super().get_queryset(request)
        if is_data_admin(request.user):
            return features
        editable = grants_of(request.user).filter(can_edit=True).values("layer_id")
        return features.filter(layer_id__in=editable)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "layer" and not is_data_admin(request.user):
            kwargs["queryset"] = Layer.objects.filter(kind="vector", id__in=grants_of(request.user).filter(
                can_edit=True).values("layer_id"))
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def lookup_allowed(self, lookup, value, request=None):
        # A filter on a value inside the properties would answer yes/no about data the list never shows.
        return not lookup.startswith("properties") and super().lookup_allowed(lookup, value, request)

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

    @transaction.atomic
    def delete_queryset(self, request, queryset):
        """All or nothing: one refused feature (outside the area, say) leaves every selected one in place."""
        for obj in queryset:
            self.delete_model(request, obj)


@admin.register(LayerGrant)
class LayerGrantAdmin(DataAdminsOnly, LeafletGeoAdmin):
    list_display = ["layer", "user", "group", "can_edit", "can_see_personal", "area_label", "granted_by", "granted_at"]
    list_filter = ["layer", "can_edit", "can_see_personal"]
    fields = ["layer", "user", "group", "can_edit", "can_see_personal", "area", "area_label"]

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
class PermissionChangeAdmin(DataAdminsOnly, admin.ModelAdmin):
    list_display = ["at", "by", "action", "layer_slug", "subject", "can_edit", "can_see_personal", "area_label"]
    list_filter = ["action", "layer_slug"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
