from django.urls import path

from editor import api, pages

urlpatterns = [
    path("edit/", pages.editor_index, name="editor-index"),
    path("edit/<slug:layer>/", pages.editor_page, name="editor"),
    path("history/<slug:layer>/<int:feature_id>/", pages.history_page, name="feature-history"),
    path("history/<slug:layer>/<int:feature_id>/revert/", pages.revert_page, name="feature-history-revert"),
    path("history/<slug:layer>/diff/", pages.diff_page, name="layer-diff"),
    path("audit/", pages.audit_page, name="audit"),
    path("api/layers/<slug:layer>/features", api.features, name="api-features"),
    path("api/layers/<slug:layer>/features/<int:feature_id>", api.feature, name="api-feature"),
    path("api/layers/<slug:layer>/features/<int:feature_id>/revert", api.revert, name="api-feature-revert"),
    path("api/layers/<slug:layer>/features/<int:feature_id>/split", api.split, name="api-feature-split"),
    path("api/layers/<slug:layer>/runs/<int:run_id>/revert", api.revert_run, name="api-run-revert"),
]
