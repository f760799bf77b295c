"""The catalog (Layer) and the one feature storage every vector layer uses (Feature)."""
from django.conf import settings
from django.contrib.gis.db import models
from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GistIndex
from django.db.models import Q
from django.db.models.fields.json import KT
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _


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


class GeometryType(models.TextChoices):
    POINT = "Point"
    LINESTRING = "LineString"
    POLYGON = "Polygon"
    MULTIPOINT = "MultiPoint"
    MULTILINESTRING = "MultiLineString"
    MULTIPOLYGON = "MultiPolygon"
    GEOMETRY = "Geometry"


class Layer(models.Model):
    """One dataset in the catalog, vector or raster. Metadata only: features live in Feature."""

    slug = models.SlugField(max_length=64, unique=True)
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
    schema = models.JSONField(default=list, blank=True, help_text="Attribute fields: name, type, labels, required, choices, display")
    extent = models.PolygonField(srid=4326, null=True, blank=True)
    feature_count = models.PositiveIntegerField(default=0)
    last_changed = models.DateTimeField(null=True, blank=True)
    raster_path = models.CharField(max_length=500, blank=True, help_text="COG path under MEDIA_ROOT")
    raster_info = models.JSONField(default=dict, blank=True, help_text="Bands, value range, nodata, colour ramp")
    created_at = models.DateTimeField(auto_now_add=True)

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

    layer = models.ForeignKey(Layer, on_delete=models.CASCADE, related_name="features")
    geom = models.GeometryField(srid=4326, spatial_index=False)
    properties = models.JSONField(default=dict)
    version = models.PositiveIntegerField(default=1)
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        indexes = [
            # One GiST over (layer, geom) (btree_gist): a layer's tile and bbox queries read only its
            # own entries, so they do not slow down as other layers grow in the same area.
            GistIndex(fields=["layer", "geom"], name="feature_layer_geom_gist"),
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
