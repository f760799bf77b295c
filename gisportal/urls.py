"""Top-level URLs: the apps' URL sets (the residents' portal first), health, language switch and admin."""
from django.contrib import admin
from django.urls import include, path

from gisportal import views

urlpatterns = [
    path("healthz", views.healthz, name="healthz"),
    path("", include("portal.urls")),
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
