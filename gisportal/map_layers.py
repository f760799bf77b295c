"""What the map page hands to static/js/map.js: Leaflet options and the layer list with legends.

Everything here goes into the page through `json_script` (no inline script: the CSP allows only
'self'), and map.js puts every string into the DOM as text, never as HTML.
"""
import json
import re
from collections.abc import Iterable

from django.conf import settings
from django.urls import NoReverseMatch, reverse
from django.utils.translation import get_language, gettext, pgettext

from layers.models import BasemapRole, Category, Layer
from layers.schemas import LAND_USE_CODES, ZONE_FUNCTIONS, display_fields
from layers.tileurls import tile_url_template

# Style colours reach a style attribute and the canvas: only plain hex colours pass.
_HEX_COLOUR = re.compile(r"#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})")
_FALLBACK_COLOUR = "#3388ff"
# Drawing order, bottom to top: rasters (they cover everything), areas, parcels, networks, then
# administrative boundaries drawn as outlines over all.
_STACK = {"environment": 1, "other": 2, "planning": 3, "land": 4, "infrastructure": 5, "administrative": 6}


def _tile_url(name: str, slug: str, **extra: str) -> str | None:
    """The tile URL template for a layer ('{z}/{x}/{y}' placeholders), None if no such route exists yet."""
    return tile_url_template(name, slug, **extra)


def _english() -> bool:
    return (get_language() or "vi").startswith("en")


def _admin_levels() -> dict[str, str]:
    return {"city": pgettext("admin level", "City"), "ward": pgettext("admin level", "Ward"),
            "neighbourhood": pgettext("admin level", "Neighbourhood")}


def _other_codes() -> dict[str, dict[str, str]]:
    return {
        "level": _admin_levels(),
        "road_class": {"main": pgettext("road class", "Main road"), "local": pgettext("road class", "Local road")},
        "water_type": {"river": pgettext("water", "River"), "canal": pgettext("water", "Canal"),
                       "lake": pgettext("water", "Lake")},
    }


def _value_label(attribute: str, value: str) -> str:
    """A legend label: the code and, for the national code lists, its name in the active language."""
    names = {"land_use": LAND_USE_CODES, "function": ZONE_FUNCTIONS}.get(attribute)
    if names and value in names:
        name = names[value][1 if _english() else 0]
        return name if attribute == "function" else f"{value} – {name}"
    return _other_codes().get(attribute, {}).get(value, value)


def legend(style: dict) -> dict:
    """The legend drawn from a layer's style {"attribute", "colors": {value: "#hex"}, "default"}."""
    attribute = str(style.get("attribute") or "")
    colors = style.get("colors") if attribute and isinstance(style.get("colors"), dict) else {}
    entries = [{"value": str(value), "label": _value_label(attribute, str(value)), "color": color}
               for value, color in colors.items() if _HEX_COLOUR.fullmatch(str(color))]
    default = str(style.get("default") or "")
    return {"attribute": attribute, "entries": entries,
            "default": default if _HEX_COLOUR.fullmatch(default) else _FALLBACK_COLOUR}


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
            "ramp": colours, "min": low if numeric else None, "max": high if numeric else None}


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
        "z_index": 1 if layer.kind == "raster" else 10 + _STACK.get(layer.category, 2),
        "outline": layer.category == "administrative",
        "attribution": layer.attribution,
        "legend": legend(layer.style or {}) if layer.kind == "vector" else raster_legend(layer.raster_info or {}),
        "fields": [{"name": f["name"], "label": f.get(label_key) or f["name"]} for f in display_fields(layer.schema)],
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
        "no_results": gettext("Nothing found. Try a ward name, or ward / sheet / number."),
        "as_of_note": gettext("The map shows the layers as they were at the end of %(date)s."),
    }


def map_urls() -> dict:
    """Server endpoints map.js calls, when their routes exist (others build them)."""
    urls = {}
    for key, name in (("features_at", "features-at"), ("search", "search-api")):
        try:
            urls[key] = reverse(name)
        except NoReverseMatch:
            pass
    return urls
