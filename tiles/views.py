"""Tile endpoints: parse, check access, render."""
from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_GET

from layers.selectors import layer_for
from tiles.mvt import check_tile, render_tile

MVT_TYPE = "application/vnd.mapbox-vector-tile"


@require_GET
def vector_tile(request: HttpRequest, layer: str, z: int, x: int, y: int) -> HttpResponse:
    """/tiles/{layer}/{z}/{x}/{y}.pbf — 204 outside the layer's zoom range, 400 for no such tile."""
    check_tile(z, x, y)
    catalog_layer = layer_for(request.user, layer, kind="vector")
    if not catalog_layer.min_zoom <= z <= catalog_layer.max_zoom:
        return HttpResponse(status=204)
    data = render_tile(catalog_layer, z, x, y)
    if not data:
        return HttpResponse(status=204)
    response = HttpResponse(data, content_type=MVT_TYPE)
    response["Cache-Control"] = "public, max-age=60" if catalog_layer.is_public else "private, max-age=60"
    return response
