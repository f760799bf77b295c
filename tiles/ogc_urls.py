"""OGC API – Tiles and Styles routes (included at "ogc/" beside opendata's OGC API – Features).
tileRow is y and tileCol is x; the numbers are matched as text and parsed in the view (tiles.coords)."""
from django.urls import path, re_path

from tiles import ogc_views

ID = r"[-a-zA-Z0-9_]{1,64}"
TMS = r"(?P<tms_id>[^/]{1,64})"
TILE = r"(?P<tile_matrix>[^/]{1,32})/(?P<tile_row>[^/]{1,32})/(?P<tile_col>[^/]{1,32})"


def _collection_tiles(part: str, kind: str, name: str) -> list:
    """A collection's tilesets, tileset and tiles under {part}: 'tiles' (vector) or 'map/tiles' (raster)."""
    base = rf"^collections/(?P<collection_id>{ID})/{part}"
    return [
        re_path(rf"{base}$", ogc_views.collection_tilesets, {"kind": kind}, name=f"{name}s"),
        re_path(rf"{base}/{TMS}$", ogc_views.collection_tileset, {"kind": kind}, name=name),
        re_path(rf"{base}/{TMS}/{TILE}$", ogc_views.collection_tile, {"kind": kind}, name=name.replace("tileset", "tile")),
    ]


urlpatterns = [
    path("tileMatrixSets", ogc_views.tile_matrix_sets, name="ogc-tile-matrix-sets"),
    re_path(rf"^tileMatrixSets/{TMS}$", ogc_views.tile_matrix_set, name="ogc-tile-matrix-set"),
    path("tiles", ogc_views.dataset_tilesets, name="ogc-dataset-tilesets"),
    re_path(rf"^tiles/(?P<tileset_id>{ID})/{TMS}$", ogc_views.dataset_tileset, name="ogc-dataset-tileset"),
    re_path(rf"^tiles/(?P<tileset_id>{ID})/{TMS}/{TILE}$", ogc_views.dataset_tile, name="ogc-dataset-tile"),
    *_collection_tiles("tiles", "vector", "ogc-collection-tileset"),
    *_collection_tiles("map/tiles", "raster", "ogc-collection-map-tileset"),
    path("styles", ogc_views.styles, name="ogc-styles"),
    re_path(rf"^styles/(?P<style_id>{ID})$", ogc_views.style, name="ogc-style"),
    re_path(rf"^collections/(?P<collection_id>{ID})/styles$", ogc_views.collection_styles, name="ogc-collection-styles"),
]
