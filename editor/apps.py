from django.apps import AppConfig


class EditorConfig(AppConfig):
    """Planners' pages and the editing API (writes go through layers.editing)."""

    name = "editor"
