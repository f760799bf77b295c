"""How a layer is drawn, read once from the catalog: the map page's legend, the MapLibre style and the
MapServer mapfile all take their colours, labels and drawing order from here, so the three agree.

A layer's `style` is {"attribute": field, "colors": {value: "#hex"}, "default": "#hex", "fill": bool}.
Only plain hex colours pass: a colour reaches a style attribute, a canvas, a JSON style and a mapfile.
"""
import hashlib
import json
import re
from dataclasses import dataclass

from layers.models import Layer
from layers.schemas import LAND_USE_CODES, ZONE_FUNCTIONS, display_fields

HEX_COLOUR = re.compile(r"#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})")
FALLBACK_COLOUR = "#3388ff"
OUTLINE_COLOUR = "#555555"
# Drawing order, bottom to top: rasters (they cover everything), areas, parcels, networks, then
# administrative boundaries drawn as outlines over all.
STACK = {"environment": 1, "other": 2, "planning": 3, "land": 4, "infrastructure": 5, "administrative": 6}

# Names of the other code lists the demo catalog styles by: (Vietnamese, English).
_CODE_NAMES = {
    "level": {"city": ("Thành phố", "City"), "ward": ("Phường", "Ward"),
              "neighbourhood": ("Khu phố", "Neighbourhood")},
    "road_class": {"main": ("Đường chính", "Main road"), "local": ("Đường nội bộ", "Local road")},
    "water_type": {"river": ("Sông", "River"), "canal": ("Kênh", "Canal"), "lake": ("Hồ", "Lake")},
}


@dataclass(frozen=True)
class StyleRule:
    """Features whose `attribute` equals `value` are drawn in `color`."""
    value: str
    color: str
    label_vi: str
    label_en: str

    def label(self, language: str) -> str:
        return self.label_en if language.startswith("en") else self.label_vi


@dataclass(frozen=True)
class LayerStyle:
    attribute: str          # "" when every feature has the default colour
    rules: tuple[StyleRule, ...]
    default: str            # the colour of features no rule matches
    kind: str               # "fill", "line" or "circle": how the geometry type is drawn
    fill: bool              # False: polygons drawn as outlines only
    order: int              # drawing order, bottom to top


def is_colour(value) -> bool:
    return isinstance(value, str) and HEX_COLOUR.fullmatch(value) is not None


def value_names(attribute: str, value: str) -> tuple[str, str]:
    """A legend label (Vietnamese, English): the code and, for the national code lists, its name."""
    if attribute == "land_use" and value in LAND_USE_CODES:
        vi, en = LAND_USE_CODES[value]
        return f"{value} – {vi}", f"{value} – {en}"
    if attribute == "function" and value in ZONE_FUNCTIONS:
        return ZONE_FUNCTIONS[value]
    return _CODE_NAMES.get(attribute, {}).get(value, (value, value))


def draw_kind(geometry_type: str) -> str:
    """fill, line or circle for a catalog geometry type (empty or Geometry: fill)."""
    kind = (geometry_type or "").replace("Multi", "")
    return {"Point": "circle", "LineString": "line"}.get(kind, "fill")


def styled_attribute(layer: Layer, style: dict) -> str:
    """The attribute a style colours by, when the layer's tiles carry it (a displayed, non-personal field);
    otherwise "": a style, a legend and a mapfile are public, so they never name nor list a personal field."""
    attribute = str(style.get("attribute") or "")
    shown = {spec["name"] for spec in display_fields(layer.schema or [])}
    return attribute if attribute in shown else ""


def layer_style(layer: Layer) -> LayerStyle:
    """The layer's style, checked: the attribute a displayed field, unknown keys ignored, non-hex colours dropped."""
    style = layer.style if isinstance(layer.style, dict) else {}
    attribute = styled_attribute(layer, style)
    colors = style.get("colors") if attribute and isinstance(style.get("colors"), dict) else {}
    rules = tuple(StyleRule(str(value), color, *value_names(attribute, str(value)))
                  for value, color in colors.items() if is_colour(color))
    default = style.get("default")
    administrative = layer.category == "administrative"
    return LayerStyle(
        attribute=attribute if rules else "",
        rules=rules,
        default=default if is_colour(default) else FALLBACK_COLOUR,
        kind=draw_kind(layer.geometry_type),
        fill=bool(style.get("fill", not administrative)) and not administrative,
        order=STACK.get(layer.category, 2),
    )


def drawing_stamp(layer: Layer) -> str:
    """A short digest of everything a drawing of the whole layer depends on (its data's last change, extent,
    style, schema, raster file and ramp): the catalog's previews are keyed by it, so any change gives new ones."""
    parts = [layer.pk, layer.slug, layer.kind, layer.category, layer.geometry_type,
             layer.last_changed.isoformat() if layer.last_changed else "", layer.feature_count,
             layer.extent.wkt if layer.extent else "", layer.style, layer.schema, layer.raster_path, layer.raster_info]
    text = json.dumps(parts, sort_keys=True, default=str)
    return hashlib.blake2b(text.encode(), digest_size=8).hexdigest()
