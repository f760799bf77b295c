"""Prebuilding the popular downloads: after a change to a public layer, a low-priority job builds its
whole-layer files (as the public asks for them), so a big layer's file is ready before the first request.

The job is deferred inside the writing transaction (layers' change hook): no change commits without it, and
none is lost while no worker runs. A layer has at most one such job waiting (its queueing lock), started a
little after the first change, so a burst of edits costs one build.
"""
from django.contrib.auth.models import AnonymousUser
from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.http import QueryDict
from procrastinate import exceptions as queue_errors

from gisportal.env import env_int, env_list
from layers.models import Layer

FORMATS = ("gpkg", "shp.zip", "csv", "fgb", "parquet")
DELAY_SECONDS = 60  # edits within a minute of the first share one build


def formats() -> list[str]:
    """The formats prebuilt (OPENDATA_PREBUILD_FORMATS, comma-separated; empty: none)."""
    return [ext for ext in env_list("OPENDATA_PREBUILD_FORMATS", list(FORMATS)) if ext in FORMATS]


def queueing_lock(layer_id: int) -> str:
    return f"exports-prebuild:{layer_id}"


def _waiting(layer_id: int) -> bool:
    with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
        cursor.execute("SELECT EXISTS (SELECT 1 FROM procrastinate_jobs WHERE queueing_lock = %s AND status = 'todo')",
                       [queueing_lock(layer_id)])
        return cursor.fetchone()[0]


def on_features_changed(layer: Layer, bounds) -> None:
    """The change hook (inside the writing transaction): queues the layer's prebuild unless one waits already."""
    if layer.kind != "vector" or not layer.is_public or not formats() or _waiting(layer.pk):
        return
    from opendata.tasks import prebuild_exports

    try:
        with transaction.atomic():  # a savepoint: a clash with a job queued meanwhile leaves the write intact
            prebuild_exports.configure(queueing_lock=queueing_lock(layer.pk), priority=-10,
                                       schedule_in={"seconds": env_int("OPENDATA_PREBUILD_DELAY", DELAY_SECONDS)},
                                       ).defer(layer_id=layer.pk)
    except queue_errors.AlreadyEnqueued:
        pass  # one is waiting: it will read the layer as it is then


def prebuild(layer_id: int) -> list[str]:
    """Builds (or finds built) the layer's whole-layer public files; the names of those it holds."""
    from opendata.downloads import query_for
    from opendata.files import export_file

    layer = Layer.objects.filter(pk=layer_id, kind="vector", is_public=True).first()
    if layer is None:  # gone, or no longer public
        return []
    done = []
    for ext in formats():
        query = query_for(QueryDict(""), layer, AnonymousUser())
        export_file(query, ext).close()  # the same lock and slots as a request: never built twice at once
        done.append(f"{layer.slug}.{ext}")
    return done
