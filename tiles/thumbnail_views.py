"""The catalog's layer previews: /tiles/thumbnail/{layer}.png, behind the same access check as every tile."""
from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_safe

from layers.selectors import layer_for
from tiles import front, thumbnails
from tiles.views import tile_response


@require_safe
def thumbnail_view(request: HttpRequest, layer: str) -> HttpResponse:
    """The layer's preview PNG, with an ETag that changes with the layer; 404 exactly as for a missing layer to
    whoever may not see it. Cache headers as the tiles': public only for public layers (private and Vary: Cookie
    otherwise), tagged with the layer so a whole-layer purge of the front takes it too."""
    catalog_layer = layer_for(request.user, layer)
    preview = thumbnails.thumbnail(catalog_layer)
    restricted = not catalog_layer.is_public
    return tile_response(request, preview, "image/png", restricted=restricted, gzipped=False,
                         tags=[front.layer_tag(catalog_layer.pk)])

