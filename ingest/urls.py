"""Upload pages for data administrators: /ingest/, /ingest/runs/<id>/, /ingest/runs/<id>.json, and a run's undo."""
from django.urls import path

from ingest import views

urlpatterns = [
    path("", views.upload, name="ingest-upload"),
    path("runs/<int:run_id>/", views.run_detail, name="ingest-run"),
    path("runs/<int:run_id>.json", views.run_json, name="ingest-run-json"),
    path("runs/<int:run_id>/revert/", views.run_revert, name="ingest-run-revert"),
]
