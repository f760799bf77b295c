"""The residents' URLs (Vietnamese paths, as residents say them)."""
from django.urls import path

from portal import (click_views, lookup_views, parcel_views, report_moderation_views, report_views, search_views,
                    sheet_views, views)

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
    # Residents' reports (phản ánh): the form, follow by code, counts, moderation, and the app's API.
    path("phan-anh/", report_views.report_form, name="report-form"),
    path("phan-anh/theo-doi/", report_views.report_lookup, name="report-lookup"),
    path("phan-anh/thong-ke/", report_views.report_stats, name="report-stats"),
    path("phan-anh/quan-ly/", report_moderation_views.queue_page, name="report-queue"),
    path("phan-anh/quan-ly/<str:code>/", report_moderation_views.moderate, name="report-moderate"),
    path("phan-anh/<str:code>/", report_views.report_status, name="report-status"),
    path("phan-anh/<str:code>/anh.jpg", report_views.report_photo, name="report-photo"),
    path("api/reports", report_views.reports_api, name="reports-api"),
    path("api/reports/stats", report_views.report_stats_api, name="report-stats-api"),
    path("api/reports/<str:code>", report_views.report_status_api, name="report-status-api"),
]
