from django.apps import AppConfig


class OpendataConfig(AppConfig):
    name = "opendata"

    def ready(self) -> None:
        # layers/ calls this inside the writing transaction: the prebuild job commits with the change.
        from layers.services import register_change_listener
        from opendata.prebuild import on_features_changed
        from opendata.webhooks import on_features_changed as webhooks_heard

        register_change_listener(on_features_changed)
        register_change_listener(webhooks_heard)  # notes the change's kind; queues the webhook dispatch on commit
