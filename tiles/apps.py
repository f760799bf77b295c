from django.apps import AppConfig


class TilesConfig(AppConfig):
    name = "tiles"
    verbose_name = "Tiles"

    def ready(self) -> None:
        # layers/ calls this inside the writing transaction, before commit, with the changed areas.
        from django.db.models.signals import post_delete, post_save

        from layers.models import Layer
        from layers.services import register_change_listener
        from tiles import archives, cache_jobs  # noqa: F401 - cache_jobs registers the purge and invalidation jobs
        from tiles.services import on_features_changed, on_layer_deleted, on_layer_saved

        register_change_listener(on_features_changed)
        # A layer's own settings change through many doors (admin, services, ingest): its tiles' URLs stay,
        # so the caching front is told on every save (see on_layer_saved for the saves that are skipped).
        post_save.connect(on_layer_saved, sender=Layer, dispatch_uid="tiles.front.layer_saved")
        post_delete.connect(on_layer_deleted, sender=Layer, dispatch_uid="tiles.front.layer_deleted")
        # PMTiles archives: rebuilt after a change (coalesced), dropped when their layer goes private or away.
        register_change_listener(archives.on_features_changed)
        post_save.connect(archives.on_layer_saved, sender=Layer, dispatch_uid="tiles.archives.layer_saved")
        post_delete.connect(archives.on_layer_deleted, sender=Layer, dispatch_uid="tiles.archives.layer_deleted")
