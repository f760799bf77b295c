"""MapLibre GL style documents (style spec v8) generated from the catalog through layers.styling, the same
reading the map legend and the MapServer mapfile use. Public layers only: a style is the same for every
caller and may sit in shared caches, so it never names a restricted layer.

Styles: "default" (the basemap and every public layer), "basemap" (layers with a basemap role) and one per
public layer (its slug). Sources are absolute TileJSON URLs; glyphs and sprite are served by tiles.assets.
"""
from collections.abc import Callable, Iterable

from django.contrib.auth.models import AnonymousUser
from django.urls import reverse

from layers.errors import UnknownLayer
from layers.models import Layer
from layers.selectors import layers_visible_to
from layers.styling import OUTLINE_COLOUR, LayerStyle, layer_style
from tiles.assets import FONT
from tiles.mvt import tile_fields

STYLE_IDS = ("default", "basemap")
TITLES = {"default": ("Bản đồ thành phố", "City map"), "basemap": ("Bản đồ nền", "Basemap")}
MAX_ZOOM = 24
# Fields whose text labels a feature, best first (those the demo schemas have: roads, wards, water, parcels).
LABEL_FIELDS = ("road_name", "name", "parcel_no", "zone_code")
PARCEL_LABEL_ZOOM = 18  # parcel numbers only where a parcel is large enough on screen to hold one
HALO = "#ffffff"


def public_layers() -> list[Layer]:
    """The catalog's public layers, as an anonymous visitor sees them (the same permission function as /tiles/)."""
    return list(layers_visible_to(AnonymousUser()).filter(is_public=True))


def style_layers(style_id: str) -> list[Layer]:
    """The layers a style draws; UnknownLayer (404) for an unknown id or a layer that is not public."""
    layers = public_layers()
    if style_id == "default":
        return layers
    if style_id == "basemap":
        return [layer for layer in layers if layer.basemap_role and layer.kind == "vector"]
    chosen = [layer for layer in layers if layer.slug == style_id]
    if not chosen:
        raise UnknownLayer(style_id)
    return chosen


def style_title(style_id: str, layers: list[Layer]) -> tuple[str, str]:
    """(Vietnamese, English) title of a style."""
    if style_id in TITLES:
        return TITLES[style_id]
    return layers[0].title_vi, layers[0].title_en


def _paint_colour(style: LayerStyle) -> str | list:
    """A `match` on the style attribute with the rules' colours, or the one colour."""
    if not style.attribute:
        return style.default
    pairs = [item for rule in style.rules for item in (rule.value, rule.color)]
    return ["match", ["to-string", ["get", style.attribute]], *pairs, style.default]


def _zooms(layer: Layer) -> dict:
    # The catalog's max_zoom is the last zoom drawn; a style's maxzoom is the first one not drawn.
    return {"minzoom": min(layer.min_zoom, MAX_ZOOM), "maxzoom": min(layer.max_zoom + 1, MAX_ZOOM)}


def _vector_layers(layer: Layer) -> list[dict]:
    """The fill/line/circle layers of one catalog layer, per its draw kind; outlines only for administrative."""
    style = layer_style(layer)
    colour = _paint_colour(style)
    base = {"source": layer.slug, "source-layer": layer.slug, **_zooms(layer),
            "metadata": {"gisportal:layer": layer.slug, "gisportal:title_vi": layer.title_vi,
                         "gisportal:title_en": layer.title_en}}
    if style.kind == "circle":
        return [{"id": f"{layer.slug}-circle", "type": "circle", **base,
                 "paint": {"circle-color": colour, "circle-radius": 5, "circle-stroke-color": HALO,
                           "circle-stroke-width": 1}}]
    if style.kind == "line":
        return [{"id": f"{layer.slug}-line", "type": "line", **base,
                 "layout": {"line-join": "round", "line-cap": "round"},
                 "paint": {"line-color": colour, "line-width": ["interpolate", ["linear"], ["zoom"], 11, 1, 18, 6]}}]
    outline = {"id": f"{layer.slug}-outline", "type": "line", **base,
               "paint": {"line-color": colour if not style.fill else OUTLINE_COLOUR,
                         "line-width": 2 if not style.fill else 0.5}}
    if not style.fill:
        return [outline]
    return [{"id": f"{layer.slug}-fill", "type": "fill", **base,
             "paint": {"fill-color": colour, "fill-opacity": 0.7}}, outline]


def _label_text(layer: Layer, style: LayerStyle) -> str | list | None:
    """The text of a layer's labels: the zone function's Vietnamese name, or its first name-like field."""
    if style.attribute == "function" and style.rules:
        pairs = [item for rule in style.rules for item in (rule.value, rule.label_vi)]
        return ["match", ["to-string", ["get", "function"]], *pairs, ["to-string", ["get", "function"]]]
    names = {spec["name"] for spec in tile_fields(layer)}
    field = next((name for name in LABEL_FIELDS if name in names), None)
    return ["to-string", ["get", field]] if field else None


def _label_layer(layer: Layer) -> dict | None:
    """A symbol layer with the layer's Vietnamese names in the vendored font, or None when it has none."""
    style = layer_style(layer)
    text = _label_text(layer, style)
    if text is None:
        return None
    zooms = _zooms(layer)
    if "parcel_no" in str(text):
        zooms["minzoom"] = max(zooms["minzoom"], PARCEL_LABEL_ZOOM)
    layout = {"text-field": text, "text-font": [FONT], "text-size": 12, "text-max-width": 8}
    if style.kind == "line":
        layout["symbol-placement"] = "line"
    return {"id": f"{layer.slug}-label", "type": "symbol", "source": layer.slug, "source-layer": layer.slug,
            **zooms, "layout": layout,
            "paint": {"text-color": "#222222", "text-halo-color": HALO, "text-halo-width": 1.5}}


def _raster_layer(layer: Layer) -> dict:
    return {"id": f"{layer.slug}-raster", "type": "raster", "source": layer.slug, **_zooms(layer),
            "paint": {"raster-opacity": 0.6}}


def _ordered(layers: Iterable[Layer]) -> list[Layer]:
    """Bottom to top as the legend draws them: rasters first, then by the catalog's stack order."""
    return sorted(layers, key=lambda layer: (layer.kind != "raster", layer_style(layer).order, layer.slug))


def _centre(layers: list[Layer]) -> list[float]:
    """The middle of the layers' extents (the city centre when none has one yet)."""
    boxes = [layer.extent.extent for layer in layers if layer.extent is not None]
    if not boxes:
        return [106.70, 10.78]  # Ho Chi Minh City
    west, south = min(b[0] for b in boxes), min(b[1] for b in boxes)
    east, north = max(b[2] for b in boxes), max(b[3] for b in boxes)
    return [round((west + east) / 2, 6), round((south + north) / 2, 6)]


def style_document(style_id: str, *, absolute: Callable[[str], str]) -> dict:
    """The MapLibre style of `style_id`; `absolute` makes a path absolute (request.build_absolute_uri)."""
    layers = _ordered(style_layers(style_id))
    title_vi, title_en = style_title(style_id, layers)
    sources, drawn, labels = {}, [], []
    for layer in layers:
        url = absolute(reverse("tilejson", kwargs={"layer": layer.slug}))
        if layer.kind == "raster":
            sources[layer.slug] = {"type": "raster", "url": url, "tileSize": 256}
            drawn.append(_raster_layer(layer))
            continue
        sources[layer.slug] = {"type": "vector", "url": url}
        drawn.extend(_vector_layers(layer))
        label = _label_layer(layer)
        if label:
            labels.append(label)
    return {
        "version": 8,
        "name": f"{title_vi} / {title_en}",
        "metadata": {"gisportal:style": style_id, "gisportal:title_vi": title_vi, "gisportal:title_en": title_en},
        "center": _centre(layers),
        "zoom": 12,
        "sources": sources,
        "glyphs": absolute(reverse("tile-glyphs", kwargs={"fontstack": "F", "glyph_range": "0-255"}))
        .replace("/F/0-255.pbf", "/{fontstack}/{range}.pbf"),
        "sprite": absolute(reverse("tile-sprite", kwargs={"name": "sprite.json"})).removesuffix(".json"),
        "layers": [{"id": "background", "type": "background", "paint": {"background-color": "#f8f4f0"}},
                   *drawn, *labels],
    }
