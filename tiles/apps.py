from django.apps import AppConfig


class TilesConfig(AppConfig):
    name = "tiles"
    verbose_name = "Tiles"

    def ready(self) -> None:
        # layers/ calls this inside the writing transaction, before commit, with the changed areas.
        from layers.services import register_change_listener
        from tiles.services import on_features_changed

        register_change_listener(on_features_changed)
