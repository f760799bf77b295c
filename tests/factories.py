"""Small factories for catalog rows and features (tests build exactly the rows an edge case needs)."""
import itertools

from django.contrib.gis.geos import GEOSGeometry, Polygon

from layers.models import Feature, Layer
from layers.schemas import PARCELS_SCHEMA
from layers.services import layer_refresh_stats

_counter = itertools.count(1)


def make_layer(**fields) -> Layer:
    """A vector layer with sensible defaults; any Layer field can be overridden."""
    n = next(_counter)
    defaults = {
        "slug": f"layer-{n}",
        "title_vi": f"Lớp {n}",
        "title_en": f"Layer {n}",
        "category": "other",
        "geometry_type": "Polygon",
        "schema": [],
        "min_zoom": 0,
        "max_zoom": 22,
    }
    defaults.update(fields)
    return Layer.objects.create(**defaults)


def make_parcel_layer(**fields) -> Layer:
    fields.setdefault("schema", PARCELS_SCHEMA)
    fields.setdefault("category", "land")
    return make_layer(**fields)


def square(lon: float, lat: float, size: float = 0.0005) -> Polygon:
    """A small WGS 84 square with its south-west corner at (lon, lat)."""
    poly = Polygon.from_bbox((lon, lat, lon + size, lat + size))
    poly.srid = 4326
    return poly


def age_history(feature_id: int, days: int) -> None:
    """Moves a feature's recorded versions `days` into the past (a test runs in one transaction: one now())."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("UPDATE layers_featureversion SET changed_at = changed_at - %s * interval '1 day' "
                       "WHERE feature_id = %s", [days, feature_id])


def make_feature(layer: Layer, geom, properties: dict | None = None, *, refresh: bool = True) -> Feature:
    """One feature (geom: a GEOS geometry or WKT in WGS 84); refreshes the layer's stats."""
    if isinstance(geom, str):
        geom = GEOSGeometry(geom, srid=4326)
    feature = Feature.objects.create(layer=layer, geom=geom, properties=properties or {})
    if refresh:
        layer_refresh_stats(layer=layer)
    return feature
