"""OGC API – Tiles and Styles at /ogc/ (routes in opendata/urls.py): parse, ask tiles/ and layers/, render.

Every answer is open to other origins (gisportal.cors). A restricted layer answers exactly as a layer that does
not exist for whoever may not see it (tile_source / tile_layers: the selectors' can_view, as on /tiles/).
"""
from django.contrib.auth.models import AnonymousUser
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_safe

from layers.errors import InvalidParameter, UnknownLayer
from layers.selectors import layers_visible_to
from tiles import maplibre_style, ogc_tiles
from tiles.coords import parse_tile
from gisportal.cors import open_cors
from tiles.ogc_tiles import Tileset, check_tms
from tiles.services import tile_source
from tiles.views import serve_raster_tile, serve_vector_tile

ROOT = "/ogc/"


def _root(request: HttpRequest) -> str:
    return request.build_absolute_uri(ROOT)


def _json(doc: dict, *, private: bool = False, content_type: str = "application/json") -> JsonResponse:
    response = JsonResponse(doc, content_type=content_type, json_dumps_params={"ensure_ascii": False})
    # Restricted layers' documents depend on who asks: never in a shared cache.
    response["Cache-Control"] = "private, no-store" if private else "public, max-age=60"
    return response


def _tilejson(request: HttpRequest, slugs: str) -> str:
    return request.build_absolute_uri(reverse("tilejson", kwargs={"layer": slugs}))


def _collection_tileset(request: HttpRequest, collection_id: str, *, kind: str) -> Tileset:
    """The tileset of one collection this user may see; UnknownLayer (404) as for a missing one."""
    layer = tile_source(request.user, collection_id, kind=kind).layers[0]
    part = "tiles" if kind == "vector" else "map/tiles"
    base = f"{_root(request)}collections/{layer.slug}/{part}/{ogc_tiles.TMS_ID}"
    return Tileset(layer.slug, layer.title_vi, layer.title_en, (layer,), base)


def _dataset_tilesets(request: HttpRequest) -> dict[str, Tileset]:
    """The basemap and layer-group tilesets, of public layers only (they are the same for every caller)."""
    public = layers_visible_to(AnonymousUser()).filter(is_public=True)
    root = _root(request)
    return {key: Tileset(key, vi, en, tuple(layers), f"{root}tiles/{key}/{ogc_tiles.TMS_ID}")
            for key, ((vi, en), layers) in ogc_tiles.dataset_groups(public).items()}


def _dataset_tileset(request: HttpRequest, tileset_id: str) -> Tileset:
    tileset = _dataset_tilesets(request).get(tileset_id)
    if tileset is None:
        raise UnknownLayer(tileset_id)
    return tileset


@open_cors
@require_safe
def tile_matrix_sets(request: HttpRequest) -> HttpResponse:
    """/ogc/tileMatrixSets"""
    return _json(ogc_tiles.tile_matrix_sets(_root(request)))


@open_cors
@require_safe
def tile_matrix_set(request: HttpRequest, tms_id: str) -> HttpResponse:
    """/ogc/tileMatrixSets/WebMercatorQuad — the TMS 2.0 JSON document."""
    check_tms(tms_id)
    return _json(ogc_tiles.tile_matrix_set())


@open_cors
@require_safe
def collection_tilesets(request: HttpRequest, collection_id: str, kind: str) -> HttpResponse:
    """/ogc/collections/{id}/tiles (vector) or /map/tiles (raster): the list of one tileset."""
    tileset = _collection_tileset(request, collection_id, kind=kind)
    doc = ogc_tiles.tilesets_list([(tileset, _tilejson(request, tileset.slugs))], _root(request),
                                  tileset.base.rsplit("/", 1)[0])
    return _json(doc, private=not tileset.layers[0].is_public)


@open_cors
@require_safe
def collection_tileset(request: HttpRequest, collection_id: str, tms_id: str, kind: str) -> HttpResponse:
    """/ogc/collections/{id}/tiles/WebMercatorQuad — tileset metadata."""
    tileset = _collection_tileset(request, collection_id, kind=kind)
    check_tms(tms_id)
    doc = ogc_tiles.tileset_document(tileset, _root(request), _tilejson(request, tileset.slugs))
    return _json(doc, private=not tileset.layers[0].is_public)


@open_cors
@require_safe
def collection_tile(request: HttpRequest, collection_id: str, tms_id: str, tile_matrix: str, tile_row: str,
                    tile_col: str, kind: str) -> HttpResponse:
    """/ogc/collections/{id}/tiles/WebMercatorQuad/{tileMatrix}/{tileRow}/{tileCol} — /tiles/'s tile."""
    check_tms(tms_id)
    tile = parse_tile(tile_matrix, tile_col, tile_row)  # row is y, col is x
    if kind == "vector":
        return serve_vector_tile(request, collection_id, tile)
    return serve_raster_tile(request, collection_id, tile, "png")


@open_cors
@require_safe
def dataset_tilesets(request: HttpRequest) -> HttpResponse:
    """/ogc/tiles — the basemap and one tileset per layer group, then the public rasters' map tilesets (raster
    layers are no feature collections, so this is where a client finds them)."""
    tilesets = [(t, _tilejson(request, t.slugs)) for t in _dataset_tilesets(request).values()]
    for layer in layers_visible_to(AnonymousUser()).filter(is_public=True, kind="raster"):
        base = f"{_root(request)}collections/{layer.slug}/map/tiles/{ogc_tiles.TMS_ID}"
        tilesets.append((Tileset(layer.slug, layer.title_vi, layer.title_en, (layer,), base),
                         _tilejson(request, layer.slug)))
    return _json(ogc_tiles.tilesets_list(tilesets, _root(request), f"{_root(request)}tiles"))


@open_cors
@require_safe
def dataset_tileset(request: HttpRequest, tileset_id: str, tms_id: str) -> HttpResponse:
    """/ogc/tiles/{basemap|category}/WebMercatorQuad — tileset metadata of a group."""
    tileset = _dataset_tileset(request, tileset_id)
    check_tms(tms_id)
    return _json(ogc_tiles.tileset_document(tileset, _root(request), _tilejson(request, tileset.slugs)))


@open_cors
@require_safe
def dataset_tile(request: HttpRequest, tileset_id: str, tms_id: str, tile_matrix: str, tile_row: str,
                 tile_col: str) -> HttpResponse:
    """/ogc/tiles/{group}/WebMercatorQuad/{tileMatrix}/{tileRow}/{tileCol} — one MVT layer per group member."""
    tileset = _dataset_tileset(request, tileset_id)
    check_tms(tms_id)
    return serve_vector_tile(request, tileset.slugs, parse_tile(tile_matrix, tile_col, tile_row))


def _style_ids() -> list[tuple[str, str, str]]:
    """(id, title_vi, title_en) of every style: default, basemap, then one per public layer."""
    out = [(key, *maplibre_style.TITLES[key]) for key in maplibre_style.STYLE_IDS]
    out += [(layer.slug, layer.title_vi, layer.title_en) for layer in maplibre_style.public_layers()
            if layer.slug not in maplibre_style.STYLE_IDS]
    return out


@open_cors
@require_safe
def styles(request: HttpRequest) -> HttpResponse:
    """/ogc/styles — the styles, each with its MapLibre (Mapbox GL) stylesheet link."""
    root = _root(request)
    items = [{"id": key, "title": f"{vi} / {en}",
              "links": [ogc_tiles.link(f"{root}styles/{key}?f=mapbox", "stylesheet",
                                       "application/vnd.mapbox.style+json", "MapLibre / Mapbox GL style v8"),
                        ogc_tiles.link(f"{root}styles/{key}?f=json", "describedby", "application/json",
                                       "Style metadata")]}
             for key, vi, en in _style_ids()]
    return _json({"default": "default", "styles": items,
                  "links": [ogc_tiles.link(f"{root}styles", "self", "application/json")]})


@open_cors
@require_safe
def collection_styles(request: HttpRequest, collection_id: str) -> HttpResponse:
    """/ogc/collections/{id}/styles — the public layer's own style; a restricted layer has none (404)."""
    layer = maplibre_style.style_layers(collection_id)[0]
    root = _root(request)
    href = f"{root}styles/{layer.slug}"
    return _json({"default": layer.slug,
                  "styles": [{"id": layer.slug, "title": f"{layer.title_vi} / {layer.title_en}",
                              "links": [ogc_tiles.link(f"{href}?f=mapbox", "stylesheet",
                                                       "application/vnd.mapbox.style+json", "MapLibre / Mapbox GL"),
                                        ogc_tiles.link(f"{href}?f=json", "describedby", "application/json")]}],
                  "links": [ogc_tiles.link(f"{root}collections/{layer.slug}/styles", "self", "application/json")]})


def _style_response(request: HttpRequest, style_id: str) -> HttpResponse:
    doc = maplibre_style.style_document(style_id, absolute=request.build_absolute_uri)
    return _json(doc)


@open_cors
@require_safe
def style(request: HttpRequest, style_id: str) -> HttpResponse:
    """/ogc/styles/{id}?f=mapbox (the default) — the style; ?f=json — its metadata."""
    fmt = request.GET.get("f", "mapbox")
    if fmt not in ("mapbox", "json"):
        raise InvalidParameter("f phải là mapbox hoặc json.", "f must be mapbox or json.", parameter="f")
    if fmt == "mapbox":
        return _style_response(request, style_id)
    layers = maplibre_style.style_layers(style_id)
    vi, en = maplibre_style.style_title(style_id, layers)
    root = _root(request)
    return _json({"id": style_id, "title": f"{vi} / {en}", "scope": "style",
                  "stylesheets": [{"title": "MapLibre / Mapbox GL", "version": "8", "native": True,
                                   "link": ogc_tiles.link(f"{root}styles/{style_id}?f=mapbox", "stylesheet",
                                                          "application/vnd.mapbox.style+json")}],
                  "layers": [{"id": layer.slug, "title": f"{layer.title_vi} / {layer.title_en}"} for layer in layers],
                  "links": [ogc_tiles.link(f"{root}styles/{style_id}?f=json", "self", "application/json")]})


@open_cors
@require_safe
def default_style(request: HttpRequest) -> HttpResponse:
    """/tiles/style.json — the default style."""
    return _style_response(request, "default")


@require_safe
def preview(request: HttpRequest) -> HttpResponse:
    """/tiles/preview — the default style drawn by the vendored MapLibre GL JS (?style= another style id)."""
    style_id = request.GET.get("style", "default")
    maplibre_style.style_layers(style_id)  # 404 for an unknown or restricted style
    url = reverse("ogc-style", kwargs={"style_id": style_id}) + "?f=mapbox"
    return render(request, "tiles/preview.html", {"style_url": request.build_absolute_uri(url),
                                                  "center": "106.70,10.78", "zoom": 12})
