"""Open data routes (included at "/"): catalog and downloads under data/, OGC API under ogc/, WMS/WFS at ows, DCAT."""
from django.urls import path, re_path

from opendata import downloads, ogc_views, views
from opendata.ows import views as ows_views
from tiles import ogc_views as ogc_tiles_views

urlpatterns = [
    path("data/", views.catalog_page, name="opendata-catalog"),
    path("data/catalog.jsonld", views.catalog_jsonld, name="opendata-dcat"),
    path("data.json", views.data_json, name="opendata-data-json"),
    path("data/tokens/", views.tokens_page, name="opendata-tokens"),
    re_path(r"^data/(?P<layer>[-a-zA-Z0-9_]+)\.(?P<fmt>geojson|gpkg|shp\.zip|csv|kml)$", downloads.download,
            name="opendata-download"),
    path("data/<slug:layer>/", views.layer_page, name="opendata-layer"),
    path("ows", ows_views.ows, name="ows"),  # WMS 1.3.0 / WFS 2.0 (MapServer); both spellings, no redirect
    path("ows/", ows_views.ows, name="ows-slash"),
    path("ogc/", ogc_views.landing, name="ogc-landing"),
    path("ogc/conformance", ogc_views.conformance, name="ogc-conformance"),
    path("ogc/api", ogc_views.api, name="ogc-api"),
    path("ogc/docs", ogc_views.docs, name="ogc-docs"),
    path("ogc/collections", ogc_views.collections, name="ogc-collections"),
    path("ogc/collections/<slug:collection_id>", ogc_views.collection, name="ogc-collection"),
    path("ogc/collections/<slug:collection_id>/queryables", ogc_views.queryables, name="ogc-queryables"),
    path("ogc/collections/<slug:collection_id>/items", ogc_views.items, name="ogc-items"),
    path("ogc/collections/<slug:collection_id>/items/<int:feature_id>", ogc_views.item, name="ogc-item"),
    # OGC API – Tiles and Styles (tiles/ogc_views.py): tileRow is y, tileCol is x; numbers parsed in the view.
    path("ogc/tileMatrixSets", ogc_tiles_views.tile_matrix_sets, name="ogc-tile-matrix-sets"),
    re_path(r"^ogc/tileMatrixSets/(?P<tms_id>[^/]{1,64})$", ogc_tiles_views.tile_matrix_set,
            name="ogc-tile-matrix-set"),
    path("ogc/tiles", ogc_tiles_views.dataset_tilesets, name="ogc-dataset-tilesets"),
    re_path(r"^ogc/tiles/(?P<tileset_id>[-a-zA-Z0-9_]{1,64})/(?P<tms_id>[^/]{1,64})$",
            ogc_tiles_views.dataset_tileset, name="ogc-dataset-tileset"),
    re_path(r"^ogc/tiles/(?P<tileset_id>[-a-zA-Z0-9_]{1,64})/(?P<tms_id>[^/]{1,64})/(?P<tile_matrix>[^/]{1,32})/"
            r"(?P<tile_row>[^/]{1,32})/(?P<tile_col>[^/]{1,32})$", ogc_tiles_views.dataset_tile, name="ogc-dataset-tile"),
    re_path(r"^ogc/collections/(?P<collection_id>[-a-zA-Z0-9_]{1,64})/tiles$", ogc_tiles_views.collection_tilesets,
            {"kind": "vector"}, name="ogc-collection-tilesets"),
    re_path(r"^ogc/collections/(?P<collection_id>[-a-zA-Z0-9_]{1,64})/tiles/(?P<tms_id>[^/]{1,64})$",
            ogc_tiles_views.collection_tileset, {"kind": "vector"}, name="ogc-collection-tileset"),
    re_path(r"^ogc/collections/(?P<collection_id>[-a-zA-Z0-9_]{1,64})/tiles/(?P<tms_id>[^/]{1,64})/"
            r"(?P<tile_matrix>[^/]{1,32})/(?P<tile_row>[^/]{1,32})/(?P<tile_col>[^/]{1,32})$",
            ogc_tiles_views.collection_tile, {"kind": "vector"}, name="ogc-collection-tile"),
    re_path(r"^ogc/collections/(?P<collection_id>[-a-zA-Z0-9_]{1,64})/map/tiles$", ogc_tiles_views.collection_tilesets,
            {"kind": "raster"}, name="ogc-collection-map-tilesets"),
    re_path(r"^ogc/collections/(?P<collection_id>[-a-zA-Z0-9_]{1,64})/map/tiles/(?P<tms_id>[^/]{1,64})$",
            ogc_tiles_views.collection_tileset, {"kind": "raster"}, name="ogc-collection-map-tileset"),
    re_path(r"^ogc/collections/(?P<collection_id>[-a-zA-Z0-9_]{1,64})/map/tiles/(?P<tms_id>[^/]{1,64})/"
            r"(?P<tile_matrix>[^/]{1,32})/(?P<tile_row>[^/]{1,32})/(?P<tile_col>[^/]{1,32})$",
            ogc_tiles_views.collection_tile, {"kind": "raster"}, name="ogc-collection-map-tile"),
    path("ogc/styles", ogc_tiles_views.styles, name="ogc-styles"),
    re_path(r"^ogc/styles/(?P<style_id>[-a-zA-Z0-9_]{1,64})$", ogc_tiles_views.style, name="ogc-style"),
    re_path(r"^ogc/collections/(?P<collection_id>[-a-zA-Z0-9_]{1,64})/styles$", ogc_tiles_views.collection_styles,
            name="ogc-collection-styles"),
]
