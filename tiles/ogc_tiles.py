"""OGC API – Tiles (OGC 20-057) documents and the 2D Tile Matrix Set (OGC 17-083r4, TMS 2.0 JSON) of
WebMercatorQuad: pure functions of catalog layers and URLs, no HTTP in them.

The tiles themselves are /tiles/'s (tiles.views.serve_vector_tile): one tile path, one cache, one
permission check. OGC's tileRow is the XYZ y and tileCol the x.
"""
from collections.abc import Iterable
from dataclasses import dataclass

from layers.errors import NotFound
from layers.models import Layer
from layers.styling import draw_kind
from tiles.coords import MAX_ZOOM, ORIGIN, tile_range
from tiles.mvt import tile_fields
from tiles.services import WORLD

TMS_ID = "WebMercatorQuad"
TMS_URI = "http://www.opengis.net/def/tilematrixset/OGC/1.0/WebMercatorQuad"
CRS_3857 = "http://www.opengis.net/def/crs/EPSG/0/3857"
CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
MVT = "application/vnd.mapbox-vector-tile"
PNG = "image/png"
JSON = "application/json"
TILING_SCHEME = "http://www.opengis.net/def/rel/ogc/1.0/tiling-scheme"
BASEMAP = "basemap"
TILE_SIZE = 256
PIXEL_M = 0.00028  # the standard rendering pixel (0.28 mm) of scale denominators


@dataclass(frozen=True)
class Tileset:
    """A tileset: one layer (geodata) or a group of layers (dataset), vector or map (raster) tiles."""
    id: str
    title_vi: str
    title_en: str
    layers: tuple[Layer, ...]
    base: str  # the tileset's URL, e.g. …/ogc/collections/parcels/tiles/WebMercatorQuad

    @property
    def data_type(self) -> str:
        return "map" if self.layers[0].kind == "raster" else "vector"

    @property
    def media_type(self) -> str:
        return PNG if self.data_type == "map" else MVT

    @property
    def slugs(self) -> str:
        return ",".join(layer.slug for layer in self.layers)


def check_tms(tms_id: str) -> None:
    """NotFound (404) unless the tile matrix set is the one served."""
    if tms_id != TMS_ID:
        raise NotFound("Không có lưới ô (tile matrix set) này; chỉ có WebMercatorQuad.",
                       "No such tile matrix set; only WebMercatorQuad is served.")


def link(href: str, rel: str, type_: str, title: str = "", **extra) -> dict:
    out = {"href": href, "rel": rel, "type": type_, **extra}
    if title:
        out["title"] = title
    return out


def tile_matrix_set() -> dict:
    """WebMercatorQuad as a TMS 2.0 JSON document, zoom 0 to the tiles' own MAX_ZOOM."""
    matrices = []
    for z in range(MAX_ZOOM + 1):
        cell = 2 * ORIGIN / TILE_SIZE / (1 << z)
        matrices.append({"id": str(z), "scaleDenominator": cell / PIXEL_M, "cellSize": cell,
                         "cornerOfOrigin": "topLeft", "pointOfOrigin": [-ORIGIN, ORIGIN],
                         "tileWidth": TILE_SIZE, "tileHeight": TILE_SIZE, "matrixWidth": 1 << z,
                         "matrixHeight": 1 << z})
    doc = {"id": TMS_ID, "title": "Google Maps Compatible for the World", "uri": TMS_URI, "crs": CRS_3857,
           "orderedAxes": ["E", "N"], "wellKnownScaleSet": "http://www.opengis.net/def/wkss/OGC/1.0/GoogleMapsCompatible",
           "boundingBox": {"lowerLeft": [-ORIGIN, -ORIGIN], "upperRight": [ORIGIN, ORIGIN], "crs": CRS_3857},
           "tileMatrices": matrices}
    return doc | _tms_1_0(matrices)


def _tms_1_0(matrices: list[dict]) -> dict:
    """The same set in TMS 1.0's member names, beside 2.0's: GDAL 3.6 (Debian 12's, the field's) reads only
    1.0 documents and fails on a 2.0-only one; newer readers see `crs` + `tileMatrices` and read 2.0."""
    return {"type": "TileMatrixSetType", "identifier": TMS_ID, "supportedCRS": CRS_3857,
            "boundingBox": {"type": "BoundingBoxType", "crs": CRS_3857, "lowerCorner": [-ORIGIN, -ORIGIN],
                            "upperCorner": [ORIGIN, ORIGIN], "lowerLeft": [-ORIGIN, -ORIGIN],
                            "upperRight": [ORIGIN, ORIGIN]},
            "tileMatrix": [{"type": "TileMatrixType", "identifier": m["id"], "scaleDenominator": m["scaleDenominator"],
                            "topLeftCorner": m["pointOfOrigin"], "tileWidth": m["tileWidth"],
                            "tileHeight": m["tileHeight"], "matrixWidth": m["matrixWidth"],
                            "matrixHeight": m["matrixHeight"]} for m in matrices]}


def tile_matrix_sets(root: str) -> dict:
    href = f"{root}tileMatrixSets/{TMS_ID}"
    return {"tileMatrixSets": [{"id": TMS_ID, "title": "Google Maps Compatible for the World", "uri": TMS_URI,
                                "links": [link(href, "self", JSON, TMS_ID), link(href, TILING_SCHEME, JSON, TMS_ID)]}],
            "links": [link(f"{root}tileMatrixSets", "self", JSON)]}


def _bounds(layers: Iterable[Layer]) -> tuple[float, float, float, float]:
    boxes = [layer.extent.extent for layer in layers if layer.extent is not None]
    if not boxes:
        return WORLD
    return (min(b[0] for b in boxes), min(b[1] for b in boxes), max(b[2] for b in boxes), max(b[3] for b in boxes))


def _limits(tileset: Tileset) -> list[dict]:
    """tileMatrixSetLimits: per zoom the layers draw at, the rows and columns their extent covers."""
    bounds = _bounds(tileset.layers)
    low = min(layer.min_zoom for layer in tileset.layers)
    high = min(MAX_ZOOM, max(layer.max_zoom for layer in tileset.layers))
    out = []
    for z in range(low, high + 1):
        xmin, xmax, ymin, ymax = tile_range(bounds, z)
        out.append({"tileMatrix": str(z), "minTileRow": ymin, "maxTileRow": ymax,
                    "minTileCol": xmin, "maxTileCol": xmax})
    return out


def _layer_entry(layer: Layer) -> dict:
    """A tileset's `layers` item: the MVT layer's name, zooms, geometry dimension and fields."""
    properties = {"id": {"type": "integer"}}
    for spec in tile_fields(layer):
        properties[spec["name"]] = {"type": "number" if spec["mvt_type"] == "Number" else "string"}
    return {"id": layer.slug, "title": layer.title_vi, "description": layer.title_en, "dataType": "vector",
            "geometryDimension": {"circle": 0, "line": 1}.get(draw_kind(layer.geometry_type), 2),
            "minTileMatrix": str(layer.min_zoom), "maxTileMatrix": str(min(layer.max_zoom, MAX_ZOOM)),
            "propertiesSchema": {"type": "object", "properties": properties}}


def _summary_links(tileset: Tileset, root: str, tilejson: str) -> list[dict]:
    return [link(tileset.base, "self", JSON, f"{tileset.title_vi} / {tileset.title_en}"),
            link(f"{root}tileMatrixSets/{TMS_ID}", TILING_SCHEME, JSON, TMS_ID),
            link(f"{tileset.base}/{{tileMatrix}}/{{tileRow}}/{{tileCol}}", "item", tileset.media_type,
                 "Ô / Tile", templated=True),
            link(tilejson, "alternate", "application/vnd.mapbox.tile+json", "TileJSON 3.0.0")]


def tileset_summary(tileset: Tileset, root: str, tilejson: str) -> dict:
    """An entry of a tilesets list."""
    return {"title": f"{tileset.title_vi} / {tileset.title_en}", "dataType": tileset.data_type, "crs": CRS_3857,
            "tileMatrixSetURI": TMS_URI, "links": _summary_links(tileset, root, tilejson)}


def tileset_document(tileset: Tileset, root: str, tilejson: str) -> dict:
    """The tileset metadata: tile template, zoom limits, and (vector) the layers and their fields."""
    west, south, east, north = _bounds(tileset.layers)
    doc = {"id": tileset.id, "title": f"{tileset.title_vi} / {tileset.title_en}", "dataType": tileset.data_type,
           "crs": CRS_3857, "tileMatrixSetURI": TMS_URI,
           "boundingBox": {"lowerLeft": [west, south], "upperRight": [east, north], "crs": CRS84},
           "tileMatrixSetLimits": _limits(tileset), "links": _summary_links(tileset, root, tilejson)}
    if tileset.data_type == "vector":
        doc["layers"] = [_layer_entry(layer) for layer in tileset.layers]
    return doc


def tilesets_list(tilesets: list[tuple[Tileset, str]], root: str, self_href: str) -> dict:
    """{"tilesets": […]} of (tileset, its TileJSON URL) pairs."""
    return {"tilesets": [tileset_summary(t, root, tilejson) for t, tilejson in tilesets],
            "links": [link(self_href, "self", JSON)]}


def dataset_groups(layers: Iterable[Layer]) -> dict[str, tuple[tuple[str, str], list[Layer]]]:
    """The dataset tilesets: the basemap (layers with a basemap role) and one per category, vector layers
    only, empty groups left out: {id: ((title_vi, title_en), layers)}."""
    vector = [layer for layer in layers if layer.kind == "vector"]
    groups = {BASEMAP: (("Bản đồ nền", "Basemap"), [layer for layer in vector if layer.basemap_role])}
    for value, titles in CATEGORY_TITLES.items():
        groups[value] = (titles, [layer for layer in vector if layer.category == value])
    return {key: value for key, value in groups.items() if value[1]}


CATEGORY_TITLES = {"administrative": ("Hành chính", "Administrative"), "planning": ("Quy hoạch", "Planning"),
                   "land": ("Đất đai", "Land"), "infrastructure": ("Hạ tầng", "Infrastructure"),
                   "environment": ("Môi trường", "Environment"), "other": ("Khác", "Other")}
