"""The portal's URLs plus /bench-raw/…: the reference 'minimal Django view returning the same bytes
from memory' for the warm-cache comparison (same server, same middleware, no cache or catalog lookup)."""
import os
from pathlib import Path

from django.http import HttpResponse
from django.urls import path

from gisportal.urls import urlpatterns as portal_urls

_TILES: dict[str, bytes] = {}


def _load() -> None:
    """Every cached tile body (gzip) by its URL path, read once per worker from the bench's tile cache."""
    root = Path(os.environ["GISPORTAL_TILE_CACHE_DIR"]) / "public"
    for file in root.glob("*/*/*/*.mvt"):
        layers, z, x, name = file.relative_to(root).parts
        data = file.read_bytes()
        if data:
            _TILES[f"{z}/{x}/{name[:-4]}"] = data[16:]


def raw_tile(request, rest: str) -> HttpResponse:
    if not _TILES:
        _load()
    body = _TILES.get(rest)
    if body is None:
        return HttpResponse(status=204)
    response = HttpResponse(body, content_type="application/vnd.mapbox-vector-tile")
    response["Content-Encoding"] = "gzip"
    return response


urlpatterns = [path("bench-raw/<path:rest>.pbf", raw_tile), *portal_urls]
