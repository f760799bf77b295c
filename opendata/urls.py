"""Open data routes (included at "/"): catalog and downloads under data/, OGC API under ogc/, WMS/WFS at ows, DCAT."""
from django.urls import path, re_path

from opendata import downloads, ogc_views, views
from opendata.ows import views as ows_views

urlpatterns = [
    path("data/", views.catalog_page, name="opendata-catalog"),
    path("data/catalog.jsonld", views.catalog_jsonld, name="opendata-dcat"),
    path("data.json", views.data_json, name="opendata-data-json"),
    path("data/tokens/", views.tokens_page, name="opendata-tokens"),
    re_path(r"^data/(?P<layer>[-a-zA-Z0-9_]+)\.(?P<fmt>geojson|gpkg|shp\.zip|csv|kml|fgb|parquet)$", downloads.download,
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
]
