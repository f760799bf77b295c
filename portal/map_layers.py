"""What the map page hands to static/js/map.js: Leaflet options and the layer list with legends.

Everything here goes into the page through `json_script` (no inline script: the CSP allows only
'self'), and map.js puts every string into the DOM as text, never as HTML.
"""
import json
from collections.abc import Iterable

from django.conf import settings
from django.urls import NoReverseMatch, reverse
from django.utils.translation import get_language, gettext

from layers import styling
from layers.models import BasemapRole, Category, Layer
from layers.schemas import display_fields
from layers.tileurls import tile_url_template
from portal.language import english

_HEX_COLOUR = styling.HEX_COLOUR
_FALLBACK_COLOUR = styling.FALLBACK_COLOUR


def _tile_url(name: str, slug: str, **extra: str) -> str | None:
    """The tile URL template for a layer ('{z}/{x}/{y}' placeholders), None if no such route exists yet."""
    return tile_url_template(name, slug, **extra)


def _english() -> bool:
    return (get_language() or "vi").startswith("en")


def legend(layer: Layer) -> dict:
    """The legend of a vector layer, from its checked style (layers.styling), in the active language."""
    style = styling.layer_style(layer)
    language = "en" if _english() else "vi"
    entries = [{"value": rule.value, "label": rule.label(language), "color": rule.color} for rule in style.rules]
    return {"attribute": style.attribute, "entries": entries, "default": style.default}


def _ramp_colours(ramp) -> list[str]:
    """The colour stops of a raster's ramp: a named ramp of tiles/, a list of "#hex", or [value, "#hex"] pairs."""
    if isinstance(ramp, str):
        try:
            from tiles.raster import RAMPS  # the ramps the raster tiles are painted with
        except ImportError:
            return []
        ramp = RAMPS.get(ramp, [])
    stops = [stop[1] if isinstance(stop, (list, tuple)) and len(stop) == 2 else stop for stop in ramp or []]
    return [str(c) for c in stops if _HEX_COLOUR.fullmatch(str(c))]


def raster_legend(info: dict) -> dict:
    """A raster's legend: its ramp as a gradient and the value range it is stretched over."""
    colours = _ramp_colours(info.get("ramp") or "viridis")
    low, high = info.get("min"), info.get("max")
    numeric = all(isinstance(v, (int, float)) for v in (low, high))
    return {"attribute": "", "entries": [], "default": colours[0] if colours else _FALLBACK_COLOUR,
            "ramp": colours, "min": low if numeric else None, "max": high if numeric else None,
            "unit": str(info.get("unit") or "")}


def layer_entry(layer: Layer) -> dict | None:
    """One layer as map.js draws it; None when the layer has no tile route (yet)."""
    if layer.kind == "vector":
        url = _tile_url("vector-tile", layer.slug)
    else:
        url = _tile_url("raster-tile", layer.slug, fmt="png")
    if url is None:
        return None
    label_key = "label_en" if _english() else "label_vi"
    return {
        "slug": layer.slug,
        "kind": layer.kind,
        "title": layer.title,
        "category": layer.category,
        "geometry_type": layer.geometry_type,
        "min_zoom": layer.min_zoom,
        "max_zoom": layer.max_zoom,
        "tile_url": url,
        # Rasters start hidden (an opaque surface over the city would hide every vector layer), and so
        # do the basemap's layers: the basemap draws them already.
        "visible": layer.kind == "vector" and not (layer.basemap_role and layer.is_public),
        "z_index": 1 if layer.kind == "raster" else 10 + styling.STACK.get(layer.category, 2),
        "outline": layer.category == "administrative",
        "attribution": layer.attribution,
        "legend": legend(layer) if layer.kind == "vector" else raster_legend(layer.raster_info or {}),
        "fields": [{"name": f["name"], "label": f.get(label_key) or f["name"], "type": f.get("type", "")}
                   for f in display_fields(layer.schema)],
    }


def grouped_layers(layers: Iterable[Layer]) -> list[dict]:
    """Layers grouped by category, in the catalog's category order; empty groups left out."""
    by_category: dict[str, list[dict]] = {value: [] for value in Category.values}
    for layer in layers:
        entry = layer_entry(layer)
        if entry is not None:
            by_category.setdefault(layer.category, []).append(entry)
    labels = dict(Category.choices)
    return [{"category": category, "label": str(labels.get(category, category)), "layers": entries}
            for category, entries in by_category.items() if entries]


_BASEMAP_ORDER = [BasemapRole.BOUNDARIES, BasemapRole.WATER, BasemapRole.ROADS]  # bottom to top


def city_basemap(layers: Iterable[Layer]) -> dict | None:
    """The platform's own basemap: its public vector layers with a basemap role, in one tile per place
    (boundaries first, so the city's land colour lies under water and roads). None when none has a role."""
    members = sorted((layer for layer in layers if layer.basemap_role in _BASEMAP_ORDER
                      and layer.kind == "vector" and layer.is_public),
                     key=lambda layer: (_BASEMAP_ORDER.index(layer.basemap_role), layer.slug))
    if not members:
        return None
    url = _tile_url("vector-tile", ",".join(layer.slug for layer in members))
    if url is None:
        return None
    return {
        "title": gettext("City basemap"),
        "tile_url": url,
        "roles": {layer.slug: layer.basemap_role for layer in members},
        "min_zoom": min(layer.min_zoom for layer in members),
        "max_zoom": max(layer.max_zoom for layer in members),
        "attribution": "; ".join(sorted({layer.attribution for layer in members if layer.attribution})),
    }


def map_options() -> dict:
    """django-leaflet's own map options (settings.LEAFLET_CONFIG) with no tile layer: map.js adds the
    basemaps itself (see basemaps())."""
    from leaflet.templatetags.leaflet_tags import leaflet_map  # django-leaflet's settings reader

    options = json.loads(leaflet_map("map", creatediv=False)["djoptions"])
    options["layers"] = []
    return options


def basemaps(layers: Iterable[Layer]) -> dict:
    """The basemaps to choose from: the city's own (default) and an outside one only when configured."""
    outside = None
    if settings.GISPORTAL_BASEMAP_URL:  # an outside basemap is opt-in (no outside host by default)
        outside = {"title": gettext("OpenStreetMap"), "tile_url": settings.GISPORTAL_BASEMAP_URL,
                   "attribution": getattr(settings, "GISPORTAL_BASEMAP_ATTRIBUTION", "")}
    return {"city": city_basemap(layers), "outside": outside, "none_title": gettext("No basemap")}


def map_strings() -> dict:
    """The few UI strings map.js writes itself, in the active language."""
    return {
        "no_fields": gettext("No attributes to show for this feature."),
        "close": gettext("Close"),
        "loading": gettext("Loading…"),
        "nothing_here": gettext("No feature of the visible layers at this point."),
        "lookup_failed": gettext("The information could not be loaded. Please try again."),
        "locate": gettext("Show my location"),
        "locate_failed": gettext("Your location could not be found (is location access allowed?)."),
        "zoom_in": gettext("Zoom in"),
        "zoom_out": gettext("Zoom out"),
        "planning_info": gettext("Planning information for this parcel"),
        "sheet_pdf": gettext("Planning information sheet (PDF)"),
        "report_error": "Report wrong data" if english() else "Phản ánh sai sót",  # as the parcel page says it
        "no_results": gettext("Nothing found. Try a ward name, or ward / sheet / number."),
        "as_of_note": gettext("The map shows the layers as they were at the end of %(date)s."),
    }


def map_urls() -> dict:
    """Server endpoints map.js calls, when their routes exist (others build them)."""
    urls = {}
    for key, name in (("features_at", "features-at"), ("search", "search-api"), ("report_form", "report-form")):
        try:
            urls[key] = reverse(name)
        except NoReverseMatch:
            pass
    return urls
