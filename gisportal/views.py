"""The site's top pages: the city map and a health check."""
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_safe

from gisportal.map_layers import basemaps, grouped_layers, map_options, map_strings, map_urls
from layers import db
from layers.selectors import layers_visible_to


@require_safe
def map_page(request: HttpRequest) -> HttpResponse:
    """The city map: the catalog's layers as tiles, grouped by category, with legends; vendored assets only."""
    layers = list(layers_visible_to(request.user))
    groups = grouped_layers(layers)
    return render(request, "map.html", {
        "layer_groups": groups,
        "map_layers": [layer for group in groups for layer in group["layers"]],
        "map_options": map_options(),
        "map_basemaps": basemaps(layers),
        "today": timezone.localdate(),
        "map_strings": map_strings(),
        "map_urls": map_urls(),
    })


@require_safe
def healthz(request: HttpRequest) -> JsonResponse:
    """200 when the primary answers; the replica's state beside it (a replica away sends reads to the primary)."""
    with db.cursor() as cursor:
        cursor.execute("SELECT postgis_lib_version()")
        version = cursor.fetchone()[0]
    return JsonResponse({"status": "ok", "postgis": version, "replica": db.replica_state()})
