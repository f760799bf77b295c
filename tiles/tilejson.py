"""TileJSON 3.0.0 documents for vector layers (one or a comma list) and raster layers."""
from django.http import HttpRequest

from layers.models import Layer
from layers.selectors import layer_for
from layers.tileurls import tile_url_template
from tiles.mvt import tile_fields
from tiles.services import WORLD, TileSource, parse_layer_names, tile_source

def _template(request: HttpRequest, route: str, slug: str) -> str:
    """An absolute tile URL with {z}/{x}/{y} placeholders."""
    return tile_url_template(route, slug, build=request.build_absolute_uri)


def _bounds(layers: list[Layer]) -> list[float]:
    boxes = [layer.extent.extent for layer in layers if layer.extent is not None]
    if not boxes:
        return list(WORLD)
    return [min(b[0] for b in boxes), min(b[1] for b in boxes), max(b[2] for b in boxes), max(b[3] for b in boxes)]


def _common(layers: list[Layer], tiles_url: str) -> dict:
    bounds = _bounds(layers)
    minzoom = min(layer.min_zoom for layer in layers)
    maxzoom = max(layer.max_zoom for layer in layers)
    center_zoom = max(minzoom, min(maxzoom, 14))
    attribution = "; ".join(sorted({layer.attribution for layer in layers if layer.attribution}))
    document = {
        "tilejson": "3.0.0",
        "name": ", ".join(layer.title for layer in layers),
        "description": "\n".join(layer.description for layer in layers if layer.description),
        "scheme": "xyz",
        "tiles": [tiles_url],
        "minzoom": minzoom,
        "maxzoom": min(maxzoom, 24),
        "bounds": bounds,
        "center": [(bounds[0] + bounds[2]) / 2, (bounds[1] + bounds[3]) / 2, center_zoom],
    }
    if attribution:
        document["attribution"] = attribution
    return document


def vector_layers(layers: list[Layer], max_zoom: int = 24) -> list[dict]:
    """TileJSON's vector_layers: one MVT layer per catalog layer, its fields as the tiles carry them (also the
    PMTiles archives' metadata, tiles/archives.py, capped at the archive's max zoom)."""
    return [
        {
            "id": layer.slug,
            "description": layer.title,
            "minzoom": layer.min_zoom,
            "maxzoom": min(layer.max_zoom, max_zoom),
            "fields": {"id": "Number", **{f["name"]: f["mvt_type"] for f in tile_fields(layer)}},
        }
        for layer in layers
    ]


def vector_document(request: HttpRequest, source: TileSource, text: str) -> dict:
    layers = list(source.layers)
    document = _common(layers, _template(request, "vector-tile", text))
    document["vector_layers"] = vector_layers(layers)
    return document


def raster_document(request: HttpRequest, layer: Layer) -> dict:
    return _common([layer], _template(request, "raster-tile", layer.slug))


def document(request: HttpRequest, text: str) -> dict:
    """The TileJSON for /tiles/{text}.json; 404 for an unknown or hidden layer, 400 for a bad list."""
    names = parse_layer_names(text)
    if len(names) == 1:
        layer = layer_for(request.user, names[0])
        if layer.kind == "raster":
            return raster_document(request, layer)
    return vector_document(request, tile_source(request.user, text), text)
