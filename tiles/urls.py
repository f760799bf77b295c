"""Tile URLs. The numbers are matched as text and parsed in the view (tiles.coords.parse_tile), so
'1.5', '-1' or 'a' get a 400 with a message rather than the router's 404.
Reversible by name with kwargs layer, z, x, y (the map page builds its URL templates that way).
Vector tiles come first: they are most of the traffic, and each pattern tried costs a cached tile time."""
from django.urls import re_path

from tiles import archive_views, assets, ogc_views, thumbnail_views, views

urlpatterns = [
    # {layer} may be a comma list: one MVT layer per catalog layer, in the order given.
    re_path(r"^(?P<layer>[^/]{1,4000})/(?P<z>[^/]{1,32})/(?P<x>[^/]{1,32})/(?P<y>[^/]{1,32}?)\.pbf$",
            views.vector_tile_view, name="vector-tile"),
    # Before TileJSON's pattern: a layer named "style" would otherwise shadow the default style.
    re_path(r"^style\.json$", ogc_views.default_style, name="tile-style"),
    re_path(r"^preview$", ogc_views.preview, name="tile-preview"),
    # The catalog's layer previews (tiles/thumbnails.py), before TileJSON's and the archives' patterns.
    re_path(r"^thumbnail/(?P<layer>[-a-zA-Z0-9_]{1,64})\.png$", thumbnail_views.thumbnail_view, name="layer-thumbnail"),
    re_path(r"^fonts/(?P<fontstack>[^/]{1,200})/(?P<glyph_range>[^/]{1,32})\.pbf$", assets.glyphs_view,
            name="tile-glyphs"),
    re_path(r"^sprite/(?P<name>sprite(?:@2x)?\.(?:json|png))$", assets.sprite_view, name="tile-sprite"),
    re_path(r"^(?P<layer>[^/]{1,4000}?)\.json$", views.tilejson_view, name="tilejson"),
    # PMTiles archives of a public vector layer or of the basemap (tiles/archives.py), read by byte ranges.
    re_path(r"^(?P<name>[^/]{1,200})\.pmtiles$", archive_views.archive_view, name="pmtiles"),
    re_path(r"^raster/(?P<layer>[^/]{1,64})/value$", views.raster_value_view, name="raster-value"),
    re_path(r"^raster/(?P<layer>[^/]{1,64})/(?P<z>[^/]{1,32})/(?P<x>[^/]{1,32})/(?P<y>[^/]{1,32}?)\.png$",
            views.raster_tile_view, {"fmt": "png"}, name="raster-tile"),
    re_path(r"^raster/(?P<layer>[^/]{1,64})/(?P<z>[^/]{1,32})/(?P<x>[^/]{1,32})/(?P<y>[^/]{1,32}?)\.webp$",
            views.raster_tile_view, {"fmt": "webp"}, name="raster-tile-webp"),
]
