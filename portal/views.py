"""The city map, the residents' first page."""
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_safe

from layers.selectors import layers_visible_to
from portal.map_layers import basemaps, grouped_layers, map_options, map_strings, map_urls


@require_safe
def map_page(request: HttpRequest) -> HttpResponse:
    """The city map: the catalog's layers as tiles, grouped by category, with legends; vendored assets only."""
    layers = list(layers_visible_to(request.user))
    groups = grouped_layers(layers)
    return render(request, "portal/map.html", {
        "layer_groups": groups,
        "map_layers": [layer for group in groups for layer in group["layers"]],
        "map_options": map_options(),
        "map_basemaps": basemaps(layers),
        "today": timezone.localdate(),
        "map_strings": map_strings(),
        "map_urls": map_urls(),
    })
