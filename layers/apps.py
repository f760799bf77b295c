from django.apps import AppConfig


class LayersConfig(AppConfig):
    name = "layers"
    verbose_name = "Layers"

    def ready(self) -> None:
        # Every saved or deleted catalog row moves its layer's generation on (layers/catalog_stamps.py).
        from django.db.models.signals import post_delete, post_save, pre_save

        from layers import catalog_stamps
        from layers.models import Layer

        pre_save.connect(catalog_stamps.remember_slug, sender=Layer, dispatch_uid="catalog_stamps.pre_save")
        post_save.connect(catalog_stamps.saved_or_deleted, sender=Layer, dispatch_uid="catalog_stamps.post_save")
        post_delete.connect(catalog_stamps.saved_or_deleted, sender=Layer, dispatch_uid="catalog_stamps.post_delete")
