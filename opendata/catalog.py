"""Catalog reads: the layers a user may see, filtered by category, keyword and diacritic-free text."""
from django.db.models import F, Func, QuerySet, TextField, Value
from django.db.models.functions import Concat

from layers import db
from layers.models import Feature, Layer
from layers.selectors import layers_visible_to
from layers.wards import fold  # the one folding of Vietnamese text
from opendata.fields import layer_fields
from opendata.files import FORMATS, cached_size
from opendata.params import CRS84
from opendata.query import FeatureQuery

PREVIEW_ROWS = 50


def catalog_layers(user, *, text: str = "", category: str = "", keyword: str = "") -> QuerySet[Layer]:
    """Visible layers matching every word of `text` (ignoring diacritics), the category and the keyword."""
    layers = layers_visible_to(user)
    if category:
        layers = layers.filter(category=category)
    if keyword:
        layers = layers.filter(keywords__contains=[keyword])
    words = fold(text).split()[:10]
    if words:
        layers = layers.annotate(search_text=Concat(
            "slug", Value(" "), "title_vi", Value(" "), "title_en", Value(" "), "description_vi", Value(" "),
            "description_en", Value(" "),
            Func(F("keywords"), Value(" "), function="array_to_string", output_field=TextField()),
            output_field=TextField()))
        for word in words:
            layers = layers.filter(search_text__unaccent__icontains=word)
    return layers.order_by("category", "slug")


def all_keywords(user) -> list[str]:
    keywords: set[str] = set()
    for row in layers_visible_to(user).values_list("keywords", flat=True):
        keywords.update(row or [])
    return sorted(keywords)


def geojson_size_estimate(layer: Layer) -> int | None:
    """Bytes of the full GeoJSON download, estimated from a sample of rows (exact for small layers)."""
    if layer.kind != "vector" or not layer.feature_count:
        return None
    with db.cursor(read=True) as cursor:
        cursor.execute(
            "SELECT avg(length(ST_AsGeoJSON(geom, 7, 0)) + length(properties::text) + 60)::float8 "
            "FROM (SELECT geom, properties FROM layers_feature WHERE layer_id = %s LIMIT 500) s",
            [layer.pk],
        )
        average = cursor.fetchone()[0]
    return int(average * layer.feature_count) if average else None


def downloads(layer: Layer) -> list[dict]:
    """Download buttons: format, URL, and the size (cached file, or an estimate for GeoJSON)."""
    if layer.kind != "vector":
        return []
    q = FeatureQuery(layer=layer, fields=layer_fields(layer), crs=CRS84)
    out = [{"format": "GeoJSON", "ext": "geojson", "url": f"/data/{layer.slug}.geojson",
            "size": geojson_size_estimate(layer), "estimated": True}]
    labels = {"gpkg": "GeoPackage", "shp.zip": "Shapefile (zip)", "csv": "CSV", "kml": "KML", "fgb": "FlatGeobuf",
              "parquet": "GeoParquet"}
    for ext in FORMATS:
        out.append({"format": labels[ext], "ext": ext, "url": f"/data/{layer.slug}.{ext}",
                    "size": cached_size(q, ext), "estimated": False})
    return out


def preview(layer: Layer) -> tuple[list[dict], list[list]]:
    """The first rows of the attribute table: (fields, rows of values)."""
    fields = layer_fields(layer)
    rows = Feature.objects.filter(layer=layer).order_by("id").values_list("id", "properties")[:PREVIEW_ROWS]
    return fields, [[fid, *[(props or {}).get(spec["name"], "") for spec in fields]] for fid, props in rows]
