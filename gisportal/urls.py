"""Top-level URLs: the map, the apps' URL sets, language switch and admin."""
from django.contrib import admin
from django.urls import include, path

from gisportal import lookup_views, views

urlpatterns = [
    path("", views.map_page, name="map"),
    path("healthz", views.healthz, name="healthz"),
    path("tra-cuu/", lookup_views.lookup_page, name="lookup"),
    path("thua-dat/<str:ward>/<int:sheet>/<int:number>/", lookup_views.parcel_page, name="parcel"),
    path("tim-kiem/", lookup_views.search_page, name="search"),
    path("api/at", lookup_views.features_at_api, name="features-at"),
    path("api/search", lookup_views.search_api, name="search-api"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("accounts/", include("django.contrib.auth.urls")),
    path("", include("editor.urls")),
    path("tiles/", include("tiles.urls")),
    path("ingest/", include("ingest.urls")),
    path("", include("opendata.urls")),
    path("ogc/", include("tiles.ogc_urls")),  # OGC API – Tiles and Styles, served by tiles/
    path("admin/", admin.site.urls),
]

handler400 = "gisportal.errors.bad_request"
handler403 = "gisportal.errors.permission_denied"
handler404 = "gisportal.errors.not_found"
handler500 = "gisportal.errors.server_error"
