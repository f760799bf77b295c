"""The residents' URLs (Vietnamese paths, as residents say them)."""
from django.urls import path

from portal import click_views, lookup_views, parcel_views, search_views, views

urlpatterns = [
    path("", views.map_page, name="map"),
    path("tra-cuu/", lookup_views.lookup_page, name="lookup"),
    path("thua-dat/<str:ward>/<int:sheet>/<int:number>/", parcel_views.parcel_page, name="parcel"),
    path("tim-kiem/", search_views.search_page, name="search"),
    path("api/at", click_views.features_at_api, name="features-at"),
    path("api/search", search_views.search_api, name="search-api"),
]
