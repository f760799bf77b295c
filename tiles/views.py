"""Tile endpoints: parse, check access, then the cache or a render. Errors are DomainErrors (400/404)."""
import gzip

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.http import require_safe

from layers.history import parse_moment
from layers.selectors import layer_for
from tiles import conf, front, raster_service, tilejson
from gisportal.cors import open_cors
from tiles.cache import CachedTile
from tiles.coords import Tile, parse_tile
from tiles.services import past_vector_tile, raster_layer, tile_layers, vector_tile

MVT_TYPE = "application/vnd.mapbox-vector-tile"


# Headers are read from META: request.headers builds a dictionary of every header on first use.
def _accepts_gzip(request: HttpRequest) -> bool:
    header = request.META.get("HTTP_ACCEPT_ENCODING", "")
    if header == "gzip" or header.startswith("gzip, "):  # what browsers and map clients send
        return True
    for part in header.split(","):
        token, _, params = part.strip().partition(";")
        if token.strip().lower() in ("gzip", "*"):
            return params.replace(" ", "").lower() not in ("q=0", "q=0.0", "q=0.00", "q=0.000")
    return False


def _matches(request: HttpRequest, etags: tuple[str, ...]) -> bool:
    header = request.META.get("HTTP_IF_NONE_MATCH")
    if not header:
        return False
    if header.strip() == "*":
        return True
    offered = {tag.strip().removeprefix("W/") for tag in header.split(",")}
    return any(tag in offered for tag in etags)


def cache_headers(response: HttpResponse, *, restricted: bool, tags: list[str] | None = None) -> HttpResponse:
    """Cache-Control for a tile. Public: browsers revalidate with the ETag (max-age, 0 by default) while a
    shared cache (the front, a CDN) keeps the tile for s-maxage and is purged by the tags (xkey for
    Varnish, Surrogate-Key for CDNs) when the tile changes. Restricted: private, never tagged.
    Vary: Accept-Encoding always (the locale middleware would otherwise add Cookie), and Cookie for
    restricted layers, whose answer depends on who asks."""
    age, shared = conf.max_age(), conf.shared_max_age()
    if restricted:
        response["Cache-Control"] = f"private, max-age={age}" if age > 0 else "private, no-cache"
        response["Vary"] = "Accept-Encoding, Cookie"
        return response
    if shared > 0:
        response["Cache-Control"] = f"public, max-age={age}, s-maxage={shared}"
    else:
        response["Cache-Control"] = f"public, max-age={age}" if age > 0 else "public, no-cache"
    response["Vary"] = "Accept-Encoding"
    if tags:
        response["xkey"] = response["Surrogate-Key"] = " ".join(tags)
    return response


def tile_response(request: HttpRequest, tile: CachedTile, content_type: str, *, restricted: bool,
                  gzipped: bool, tags: list[str] | None = None) -> HttpResponse:
    """200 with the body (gzip when stored so and accepted), or 304 when the client's ETag matches."""
    use_gzip = gzipped and _accepts_gzip(request)
    etag = f'"{tile.etag}-gz"' if use_gzip else f'"{tile.etag}"'
    if _matches(request, (f'"{tile.etag}-gz"', f'"{tile.etag}"')):
        response = HttpResponse(status=304)
    else:
        body = tile.body if use_gzip or not gzipped else gzip.decompress(tile.body)
        response = HttpResponse(body, content_type=content_type)
        if use_gzip:
            response["Content-Encoding"] = "gzip"
    response["ETag"] = etag
    return cache_headers(response, restricted=restricted, tags=tags)


def _no_content(*, restricted: bool, tags: list[str]) -> HttpResponse:
    """204 (nothing drawn here), tagged too: a change that draws here later purges it from the front."""
    return cache_headers(HttpResponse(status=204), restricted=restricted, tags=tags)


@open_cors
@require_safe
def vector_tile_view(request: HttpRequest, layer: str, z: str, x: str, y: str) -> HttpResponse:
    """/tiles/{layer}[,{layer}…]/{z}/{x}/{y}.pbf[?as_of=…] — one MVT layer per catalog layer; 204 where
    none draws; with as_of (ISO 8601 date or date-time) the layers as they were then."""
    return serve_vector_tile(request, layer, parse_tile(z, x, y))


def serve_vector_tile(request: HttpRequest, layer: str, tile: Tile) -> HttpResponse:
    """The vector tile answer for a layer list and a parsed tile (the /tiles/ and OGC API – Tiles doors)."""
    source = tile_layers(request.user, layer)
    as_of = request.GET.get("as_of")
    result = vector_tile(source, tile) if as_of is None else past_vector_tile(source, tile, parse_moment(as_of))
    tags = front.tile_tags([item.pk for item in source.layers], tile.z, tile.x, tile.y)
    if result is None or not result.body:
        return _no_content(restricted=source.restricted, tags=tags)
    return tile_response(request, result, MVT_TYPE, restricted=source.restricted, gzipped=True, tags=tags)


@open_cors
@require_safe
def tilejson_view(request: HttpRequest, layer: str) -> JsonResponse:
    """/tiles/{layer}.json — TileJSON 3.0.0 of a vector layer (or a comma list) or a raster layer."""
    document = tilejson.document(request, layer)
    response = JsonResponse(document, json_dumps_params={"ensure_ascii": False})
    response["Cache-Control"] = "no-cache"
    return response


@open_cors
@require_safe
def raster_tile_view(request: HttpRequest, layer: str, z: str, x: str, y: str, fmt: str) -> HttpResponse:
    """/tiles/raster/{layer}/{z}/{x}/{y}.png|webp — the layer's COG, coloured by its ramp."""
    return serve_raster_tile(request, layer, parse_tile(z, x, y), fmt)


def serve_raster_tile(request: HttpRequest, layer: str, tile: Tile, fmt: str) -> HttpResponse:
    """The raster tile answer for a layer and a parsed tile (the /tiles/raster/ and OGC API – Tiles doors)."""
    catalog_layer = raster_layer(request.user, layer)
    result = raster_service.raster_tile(catalog_layer, tile, fmt)
    restricted = not catalog_layer.is_public
    tags = front.tile_tags([catalog_layer.pk], tile.z, tile.x, tile.y)
    if result is None:
        return _no_content(restricted=restricted, tags=tags)
    return tile_response(request, result, raster_service.MEDIA_TYPES[fmt], restricted=restricted, gzipped=False,
                         tags=tags)


@require_safe
def raster_value_view(request: HttpRequest, layer: str) -> JsonResponse:
    """/tiles/raster/{layer}/value?lon=…&lat=… — the band values at a point (null where nodata)."""
    catalog_layer = layer_for(request.user, layer, kind="raster")
    lon, lat = raster_service.parse_lonlat(request.GET.get("lon"), request.GET.get("lat"))
    return JsonResponse(raster_service.raster_value(catalog_layer, lon, lat))
