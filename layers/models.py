"""The catalog (Layer) and the one feature storage every vector layer uses (Feature)."""
from django.conf import settings
from django.contrib.gis.db import models
from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GistIndex
from django.db.models import Q
from django.db.models.fields.json import KT
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from layers.catalog_stamps import LayerQuerySet


# Names the tile and style routes use beside layer names (/tiles/style.json, /tiles/preview, /tiles/raster/…,
# the styles /ogc/styles/default and /ogc/styles/basemap):
# a layer so named would lose a door to them.
RESERVED_SLUGS = frozenset({"style", "preview", "raster", "fonts", "sprite", "default", "basemap"})


def validate_layer_slug(value: str) -> None:
    """Refuses a layer name that a route of its own already takes."""
    from django.core.exceptions import ValidationError

    if value in RESERVED_SLUGS:
        raise ValidationError(f"«{value}» là tên dành riêng, hãy chọn tên khác. / "
                              f"“{value}” is a reserved name: choose another.", code="reserved")


class Category(models.TextChoices):
    ADMINISTRATIVE = "administrative", _("Administrative")
    PLANNING = "planning", _("Planning")
    LAND = "land", _("Land")
    INFRASTRUCTURE = "infrastructure", _("Infrastructure")
    ENVIRONMENT = "environment", _("Environment")
    OTHER = "other", _("Other")


class Kind(models.TextChoices):
    VECTOR = "vector", _("Vector")
    RASTER = "raster", _("Raster")


class BasemapRole(models.TextChoices):
    """What a layer draws in the platform's own basemap (drawn under every other layer, in this order)."""

    NONE = "", _("Not in the basemap")
    BOUNDARIES = "boundaries", _("Boundaries (city, current wards)")
    WATER = "water", _("Water")
    ROADS = "roads", _("Roads")


class GeometryType(models.TextChoices):
    POINT = "Point"
    LINESTRING = "LineString"
    POLYGON = "Polygon"
    MULTIPOINT = "MultiPoint"
    MULTILINESTRING = "MultiLineString"
    MULTIPOLYGON = "MultiPolygon"
    GEOMETRY = "Geometry"


class UpdateFrequency(models.TextChoices):
    """ISO 19115 MD_MaintenanceFrequencyCode: how often the layer is brought up to date (catalog records).

    Labels carry both languages in code (no new gettext strings: locale/ stays as it is)."""

    CONTINUAL = "continual", "Liên tục / Continual"
    DAILY = "daily", "Hằng ngày / Daily"
    WEEKLY = "weekly", "Hằng tuần / Weekly"
    FORTNIGHTLY = "fortnightly", "Hai tuần một lần / Fortnightly"
    MONTHLY = "monthly", "Hằng tháng / Monthly"
    QUARTERLY = "quarterly", "Hằng quý / Quarterly"
    BIANNUALLY = "biannually", "Nửa năm một lần / Twice a year"
    ANNUALLY = "annually", "Hằng năm / Annually"
    AS_NEEDED = "asNeeded", "Khi cần / As needed"
    IRREGULAR = "irregular", "Không đều đặn / Irregular"
    NOT_PLANNED = "notPlanned", "Không có kế hoạch / Not planned"
    UNKNOWN = "unknown", "Không rõ / Unknown"


class Layer(models.Model):
    """One dataset in the catalog, vector or raster. Metadata only: features live in Feature."""

    slug = models.SlugField(max_length=64, unique=True, validators=[validate_layer_slug])
    kind = models.CharField(max_length=8, choices=Kind.choices, default=Kind.VECTOR)
    title_vi = models.CharField(max_length=200)
    title_en = models.CharField(max_length=200)
    description_vi = models.TextField(blank=True)
    description_en = models.TextField(blank=True)
    category = models.CharField(max_length=20, choices=Category.choices, default=Category.OTHER)
    geometry_type = models.CharField(max_length=20, choices=GeometryType.choices, blank=True)
    source_crs = models.CharField(max_length=64, blank=True, help_text="CRS of the source file, e.g. EPSG:9210")
    license = models.CharField(max_length=200, blank=True)
    attribution = models.CharField(max_length=300, blank=True)
    keywords = ArrayField(models.CharField(max_length=64), default=list, blank=True)
    is_public = models.BooleanField(default=True)
    min_zoom = models.PositiveSmallIntegerField(default=0)
    max_zoom = models.PositiveSmallIntegerField(default=22)
    style = models.JSONField(default=dict, blank=True, help_text='{"attribute": …, "colors": {value: "#rrggbb"}, "default": "#rrggbb"}')
    schema = models.JSONField(default=list, blank=True, help_text="Attribute fields: name, type, labels, required, choices, display, "
                              "personal (true: personal data, hidden from the public)")
    extent = models.PolygonField(srid=4326, null=True, blank=True)
    feature_count = models.PositiveIntegerField(default=0)
    last_changed = models.DateTimeField(null=True, blank=True)
    raster_path = models.CharField(max_length=500, blank=True, help_text="COG path under MEDIA_ROOT")
    raster_info = models.JSONField(default=dict, blank=True, help_text="Bands, value range, nodata, colour ramp")
    basemap_role = models.CharField(max_length=12, choices=BasemapRole.choices, default="", blank=True,
                                    help_text="Public vector layers with a role make up the map's own basemap")
    update_frequency = models.CharField(max_length=12, choices=UpdateFrequency.choices, default=UpdateFrequency.AS_NEEDED,
                                        help_text="How often it is updated (ISO 19115 code, for catalog records)")
    overlap_tolerance_m2 = models.FloatField(default=0.5, help_text="Edits may overlap neighbours by at most this area (m², VN-2000)")
    created_at = models.DateTimeField(auto_now_add=True)

    objects = LayerQuerySet.as_manager()  # bulk writes move the layers' catalog generations on too

    class Meta:
        ordering = ["category", "slug"]

    def __str__(self) -> str:
        return self.slug

    @property
    def title(self) -> str:
        """The title in the active language."""
        return self.title_en if (get_language() or "vi").startswith("en") else self.title_vi

    @property
    def description(self) -> str:
        return self.description_en if (get_language() or "vi").startswith("en") else self.description_vi


class Feature(models.Model):
    """A vector feature of any layer: WGS 84 geometry, schema-checked properties, a version."""

    # The table is partitioned by layer (migration 0015): a query naming the layer reads only its rows.
    layer = models.ForeignKey(Layer, on_delete=models.CASCADE, related_name="features", db_index=False)
    geom = models.GeometryField(srid=4326, spatial_index=False)
    properties = models.JSONField(default=dict)
    version = models.PositiveIntegerField(default=1)
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        indexes = [
            # Per partition, so per layer: tile and bbox queries read only the layer's own entries.
            GistIndex(fields=["geom"], name="feature_geom_gist"),
        ]
        constraints = [
            # A parcel's legal key: ward + map sheet + parcel number, unique within its layer.
            models.UniqueConstraint(
                "layer",
                KT("properties__ward_code"),
                KT("properties__map_sheet"),
                KT("properties__parcel_no"),
                condition=Q(properties__has_key="parcel_no"),
                name="feature_parcel_key_unique",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.layer_id}/{self.pk}"


class FeatureVersion(models.Model):
    """One row per change of a feature, append-only, written by database triggers (see migration 0004).

    'insert' and 'update' rows hold the state after the change; a 'delete' row holds the last state,
    so a layer as of any time is: per feature, the latest row at or before it, unless that row is a delete.
    The table is partitioned by a `segment` column the model does not show: 0, or a bulk load's run id.
    """

    class Op(models.TextChoices):
        INSERT = "insert"
        UPDATE = "update"
        DELETE = "delete"

    feature_id = models.BigIntegerField()  # no foreign key: history outlives deleted features
    # No single-column indexes on layer and changed_by: the composite ones below serve the reads, and
    # every index here is paid on each bulk ingest.
    # No database-level key: each row is written from a feature row whose own key is checked (migration 0016).
    layer = models.ForeignKey(Layer, on_delete=models.CASCADE, related_name="+", db_index=False, db_constraint=False)
    version = models.PositiveIntegerField()
    op = models.CharField(max_length=6, choices=Op.choices)
    geom = models.GeometryField(srid=4326, spatial_index=False)
    properties = models.JSONField()
    changed_at = models.DateTimeField()
    changed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+", db_constraint=False, db_index=False)
    comment = models.TextField(blank=True)
    run_id = models.BigIntegerField(null=True, blank=True)  # the ingest run that made the change, if any

    class Meta:
        indexes = [
            # With id, "is there a later version by then?" is one index range (a row comparison), no heap.
            models.Index(fields=["feature_id", "changed_at", "id"], name="fversion_feature_time_id"),
            GistIndex(fields=["layer", "geom"], name="fversion_layer_geom_gist"),
            models.Index(fields=["layer", "changed_at"], name="fversion_layer_time"),
            models.Index(fields=["run_id"], name="fversion_run", condition=Q(run_id__isnull=False)),
        ]
        ordering = ["feature_id", "changed_at", "id"]

    def __str__(self) -> str:
        return f"{self.feature_id} v{self.version} {self.op}"


class LayerGrant(models.Model):
    """A right on a layer for a user or a group: to view a restricted layer, or to edit, optionally in an area."""

    layer = models.ForeignKey(Layer, on_delete=models.CASCADE, related_name="grants")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="layer_grants")
    group = models.ForeignKey("auth.Group", null=True, blank=True, on_delete=models.CASCADE, related_name="layer_grants")
    can_edit = models.BooleanField(default=False)
    # Personal fields (owners' names, ID numbers) are shown only with this flag: an edit grant does not
    # imply it (Decree 13/2023/NĐ-CP: personal data only to those who need it).
    can_see_personal = models.BooleanField(default=False, help_text="May see the layer's personal fields")
    area = models.MultiPolygonField(srid=4326, null=True, blank=True, help_text="Edits only inside this area")
    area_label = models.CharField(max_length=200, blank=True, help_text="e.g. the ward the area comes from")
    granted_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    granted_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(user__isnull=False, group__isnull=True) | Q(user__isnull=True, group__isnull=False),
                name="grant_user_xor_group",
            ),
        ]

    def __str__(self) -> str:
        who = self.user or self.group
        personal = ", personal" if self.can_see_personal else ""
        return f"{who} → {self.layer} ({'edit' if self.can_edit else 'view'}{personal})"


class PermissionChange(models.Model):
    """The audit trail of grants given and taken back (written by layers.services)."""

    at = models.DateTimeField(auto_now_add=True)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    action = models.CharField(max_length=8, choices=[("grant", "grant"), ("revoke", "revoke")])
    layer_slug = models.CharField(max_length=64)
    subject = models.CharField(max_length=200, help_text="user:NAME or group:NAME")
    can_edit = models.BooleanField()
    can_see_personal = models.BooleanField(default=False)
    area_label = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["-at"]


class HistoryHorizon(models.Model):
    """How far a layer's history was compacted (layers/compaction.py): states before `before` are gone, so as-of
    reads and diffs before it are refused (410), and so are feed cursors below the last position removed."""

    layer = models.OneToOneField(Layer, on_delete=models.CASCADE, primary_key=True, related_name="+")
    before = models.DateTimeField(help_text="versions at or before this time were folded into one per feature")
    xact = models.BigIntegerField(help_text="the largest feed position removed: its transaction id")
    row_id = models.BigIntegerField(help_text="the largest feed position removed: its history row id")
    rows_removed = models.BigIntegerField(default=0, help_text="history rows removed by every compaction so far")
    compacted_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.layer_id} compacted before {self.before:%Y-%m-%d %H:%M}"
