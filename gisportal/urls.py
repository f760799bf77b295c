"""Top-level URLs: the map, the apps' URL sets, language switch and admin."""
from django.contrib import admin
from django.urls import include, path

from gisportal import views

urlpatterns = [
    path("", views.map_page, name="map"),
    path("healthz", views.healthz, name="healthz"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("tiles/", include("tiles.urls")),
    path("ingest/", include("ingest.urls")),
    path("", include("opendata.urls")),
    path("admin/", admin.site.urls),
]

handler404 = "gisportal.errors.not_found"
handler500 = "gisportal.errors.server_error"
