"""Open data routes (included at "/"): catalog and downloads under data/, OGC API under ogc/, WMS/WFS at ows, DCAT."""
from django.urls import path, re_path

from opendata import atom, changefeed, downloads, ogc_views, views
from opendata.ows import views as ows_views
from opendata import csw_views, records_views  # noqa: I001 (catalog records, issue 15: a line of its own)

urlpatterns = [
    path("data/", views.catalog_page, name="opendata-catalog"),
    path("data/catalog.jsonld", views.catalog_jsonld, name="opendata-dcat"),
    path("data.json", views.data_json, name="opendata-data-json"),
    path("data/tokens/", views.tokens_page, name="opendata-tokens"),
    re_path(r"^data/(?P<layer>[-a-zA-Z0-9_]+)\.(?P<fmt>geojson|gpkg|shp\.zip|csv|kml|fgb|parquet)$", downloads.download,
            name="opendata-download"),
    path("data/<slug:layer>/changes", changefeed.changes_view, name="opendata-changes"),
    path("data/<slug:layer>/changes.atom", atom.changes_atom, name="opendata-changes-atom"),
    path("data/<slug:layer>/", views.layer_page, name="opendata-layer"),
    path("ows", ows_views.ows, name="ows"),  # WMS 1.3.0 / WFS 2.0 (MapServer); both spellings, no redirect
    path("ows/", ows_views.ows, name="ows-slash"),
    path("csw", csw_views.csw_endpoint, name="csw"),  # CSW 2.0.2 / 3.0 (embedded pycsw); both spellings, no redirect
    path("csw/", csw_views.csw_endpoint, name="csw-slash"),
    path("records/", records_views.landing, name="records-landing"),  # OGC API – Records
    path("records/conformance", records_views.conformance, name="records-conformance"),
    path("records/collections", records_views.collections, name="records-collections"),
    path("records/collections/catalog", records_views.catalog, name="records-catalog"),
    path("records/collections/catalog/items", records_views.items, name="records-items"),
    path("records/collections/catalog/items/<str:record_id>", records_views.item, name="records-item"),
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
