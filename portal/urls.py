"""The residents' URLs (Vietnamese paths, as residents say them)."""
from django.urls import path

from portal import click_views, lookup_views, parcel_views, search_views, sheet_views, views

urlpatterns = [
    path("", views.map_page, name="map"),
    path("tra-cuu/", lookup_views.lookup_page, name="lookup"),
    path("thua-dat/<str:ward>/<int:sheet>/<int:number>/", parcel_views.parcel_page, name="parcel"),
    path("thua-dat/<str:ward>/<int:sheet>/<int:number>/phieu.pdf", sheet_views.sheet_pdf_view, name="parcel-sheet"),
    path("xac-minh/", sheet_views.verify_form, name="sheet-verify-form"),
    path("xac-minh/<str:code>/", sheet_views.verify_page, name="sheet-verify"),
    path("xac-minh/<str:code>/phieu.pdf", sheet_views.reissue_pdf, name="sheet-reissue"),
    path("tim-kiem/", search_views.search_page, name="search"),
    path("api/at", click_views.features_at_api, name="features-at"),
    path("api/search", search_views.search_api, name="search-api"),
]
