"""OGC API – Features endpoints at /ogc/: parse, call opendata.ogc / query, render JSON or HTML."""
import json

from psycopg2 import sql
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render

from gisportal.vary import accept_header
from layers import db
from layers.errors import InvalidParameter, NotFound
from layers.selectors import layer_for, layers_visible_to
from opendata.extents import readable_extent
from opendata import continuation, ogc, seek
from opendata.fairuse import public_api
from layers.personal import personal_fields
from opendata.fields import hidden_to
from opendata.geojson import fetch_page
from opendata.openapi import openapi_document
from opendata.params import CRS84_URI, parse_crs
from opendata.query import FeatureQuery, geojson_rows_sql

ROOT = "/ogc/"


def _root(request: HttpRequest) -> str:
    return request.build_absolute_uri(ROOT)


def wants_html(request: HttpRequest) -> bool:
    """?f=html|json|geojson wins; otherwise the Accept header (browsers ask for text/html first)."""
    f = request.GET.get("f")
    if f:
        if f not in ("html", "json", "geojson", "jsonld"):
            raise InvalidParameter("f phải là html hoặc json.", "f must be html or json.", parameter="f")
        return f == "html"
    accept = accept_header(request)  # the answer varies on it (gisportal.vary adds Vary: Accept)
    return "text/html" in accept and "json" not in accept


def _json(data: dict, content_type: str = ogc.JSON, status: int = 200) -> JsonResponse:
    return JsonResponse(data, status=status, content_type=content_type, json_dumps_params={"ensure_ascii": False})


def _cache(response: HttpResponse, layer=None, user=None) -> HttpResponse:
    # Restricted layers, and answers that may carry personal fields (the user may see them), stay private.
    private = layer is not None and (not layer.is_public or (user is not None and len(hidden_to(user, layer))
                                                             < len(personal_fields(layer))))
    response["Cache-Control"] = "private, no-store" if private else "public, max-age=60"
    return response


@public_api
def landing(request: HttpRequest) -> HttpResponse:
    doc = ogc.landing(_root(request))
    if wants_html(request):
        return render(request, "opendata/ogc_landing.html", {"doc": doc, "layers": _vector_layers(request)})
    return _cache(_json(doc))


@public_api
def conformance(request: HttpRequest) -> HttpResponse:
    doc = {"conformsTo": ogc.CONFORMANCE}
    if wants_html(request):
        return render(request, "opendata/ogc_conformance.html", {"doc": doc})
    return _cache(_json(doc))


@public_api
def api(request: HttpRequest) -> HttpResponse:
    """The OpenAPI 3.0 document (service-desc)."""
    doc = openapi_document(_root(request), [layer.slug for layer in _vector_layers(request)])
    return _cache(_json(doc, "application/vnd.oai.openapi+json;version=3.0"))


@public_api
def docs(request: HttpRequest) -> HttpResponse:
    """A page for humans: what the API offers, with curl, Python and JavaScript examples."""
    layers = list(_vector_layers(request))
    example = layers[0].slug if layers else "parcels"
    return render(request, "opendata/ogc_docs.html", {"root": _root(request), "example": example, "layers": layers,
                                                      "max_limit": ogc.max_limit()})


def _vector_layers(request: HttpRequest):
    return layers_visible_to(request.user).filter(kind="vector")


@public_api
def collections(request: HttpRequest) -> HttpResponse:
    doc = ogc.collections(_root(request), _vector_layers(request))
    if wants_html(request):
        return render(request, "opendata/ogc_collections.html", {"doc": doc})
    response = _json(doc)
    # restricted layers a staff member sees must not land in a shared cache
    return _cache(response, next((lyr for lyr in _vector_layers(request) if not lyr.is_public), None))


@public_api
def collection(request: HttpRequest, collection_id: str) -> HttpResponse:
    layer = layer_for(request.user, collection_id, kind="vector")
    doc = ogc.collection(_root(request), layer)
    if wants_html(request):
        return render(request, "opendata/ogc_collection.html",
                      {"doc": doc, "layer": layer, "extent": readable_extent(request.user, layer)})
    return _cache(_json(doc), layer)


@public_api
def queryables(request: HttpRequest, collection_id: str) -> HttpResponse:
    layer = layer_for(request.user, collection_id, kind="vector")
    doc = ogc.queryables(_root(request), layer, request.user)
    if wants_html(request):
        return render(request, "opendata/ogc_queryables.html", {"doc": doc, "layer": layer})
    return _cache(_json(doc, "application/schema+json"), layer, request.user)


@public_api
def items(request: HttpRequest, collection_id: str) -> HttpResponse:
    """A page of features: GeoJSON text assembled from rows PostGIS already wrote as JSON."""
    layer = layer_for(request.user, collection_id, kind="vector")
    html = wants_html(request)
    req = ogc.parse_items(request.GET, layer, request.user)
    seek.resolve(req.query, req.offset)
    rows = fetch_page(req.query, req.limit, req.offset)
    last_id = _last_id(rows)
    if len(rows) == req.limit:
        seek.remember(req.query, req.offset + req.limit, last_id)
    follows = continuation.read(request)  # a signed next link carries the sequence's numberMatched
    head = ogc.items_head(_root(request), layer, req, request.GET, len(rows), last_id,
                          known_matched=follows.matched if follows else None)
    if html:
        features = [json.loads(row) for row in rows]
        return render(request, "opendata/ogc_items.html", {
            "layer": layer, "head": head, "features": features, "fields": req.query.fields,
            "map_data": {"type": "FeatureCollection", "features": features} if req.query.crs.uri == CRS84_URI else None,
        })
    if not req.query.crs.is_wgs84 or req.query.crs.lat_first:
        head["crs"] = {"type": "name", "properties": {"name": req.query.crs.uri}}
    text = json.dumps(head, ensure_ascii=False)[:-1] + ',"features":[' + ",\n".join(rows) + "]}"
    response = HttpResponse(text, content_type=ogc.GEOJSON)
    response["Content-Crs"] = f"<{req.query.crs.uri}>"
    if head.get("numberMatchedEstimated"):
        response["OGC-NumberMatched-Estimated"] = "true"
    return _cache(response, layer, request.user)


def _last_id(rows: list[str]) -> int | None:
    """The id of the last feature text (its prefix is fixed: {"type":"Feature","id":N,...)."""
    if not rows:
        return None
    head = rows[-1][len('{"type":"Feature","id":'):]
    return int(head[: head.index(",")])


@public_api
def item(request: HttpRequest, collection_id: str, feature_id: int) -> HttpResponse:
    layer = layer_for(request.user, collection_id, kind="vector")
    if feature_id >= 2**63:
        raise NotFound("Không tìm thấy đối tượng.", "Feature not found.")
    for key in request.GET:
        if key not in ("crs", "f", "lang", "api_key"):
            raise InvalidParameter(f"Tham số không được hỗ trợ: {key[:60]}.", f"Unknown query parameter: {key[:60]}.",
                                   parameter=key[:60])
    q = FeatureQuery(layer=layer, fields=[], crs=parse_crs(request.GET.get("crs"), ogc_axis_order=True),
                     hidden=hidden_to(request.user, layer))
    query, params = geojson_rows_sql(q)
    with db.cursor(read=True) as cursor:
        cursor.execute(sql.SQL("{} AND f.id = %s").format(query), params + [feature_id])
        row = cursor.fetchone()
    if row is None:
        raise NotFound("Không tìm thấy đối tượng.", "Feature not found.")
    feature = json.loads(row[0])
    base = f"{_root(request)}collections/{layer.slug}"
    feature["links"] = [ogc.link(f"{base}/items/{feature_id}", "self", ogc.GEOJSON),
                        ogc.link(f"{base}/items/{feature_id}?f=html", "alternate", ogc.HTML),
                        ogc.link(base, "collection", ogc.JSON, layer.title)]
    if wants_html(request):
        return render(request, "opendata/ogc_item.html", {"layer": layer, "feature": feature})
    response = _json(feature, ogc.GEOJSON)
    response["Content-Crs"] = f"<{q.crs.uri}>"
    return _cache(response, layer, request.user)
