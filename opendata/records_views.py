"""OGC API – Records at /records/: parse, call opendata.records_api, render JSON (or HTML, or ISO 19139 for one record)."""
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render

from layers.errors import InvalidParameter, NotFound
from layers.params import SLUG
from opendata import records_api
from opendata.fairuse import public_api
from opendata.iso19139 import iso_xml
from opendata.records import public_layers, record, with_runs

ROOT = "/records/"
FORMATS = ("json", "html")


def _root(request: HttpRequest) -> str:
    return request.build_absolute_uri(ROOT)


def _format(request: HttpRequest, allowed: tuple[str, ...] = FORMATS) -> str:
    """?f=json|html (json by default: this API's callers are programs); 400 for anything else."""
    f = request.GET.get("f", "json")
    if f not in allowed:
        raise InvalidParameter(f"f phải là một trong: {', '.join(allowed)}.", f"f must be one of: {', '.join(allowed)}.",
                               parameter="f")
    return f


def _answer(request: HttpRequest, doc: dict, content_type: str = records_api.JSON, f: str | None = None) -> HttpResponse:
    if (f or _format(request)) == "html":
        props = doc.get("properties") or {}
        response = render(request, "opendata/records.html", {
            "title": doc.get("title") or props.get("title") or "Danh mục / Catalogue",
            "description": doc.get("description") or props.get("description", ""), "props": props,
            "features": doc.get("features", []), "collections": doc.get("collections", []),
            "conforms": doc.get("conformsTo", []), "links": doc.get("links", []),
            "counts": (doc["numberReturned"], doc["numberMatched"]) if "numberMatched" in doc else None})
    else:
        response = JsonResponse(doc, content_type=content_type, json_dumps_params={"ensure_ascii": False})
    response["Cache-Control"] = "public, max-age=60"  # public records only, whoever asks
    return response


@public_api
def landing(request: HttpRequest) -> HttpResponse:
    return _answer(request, records_api.landing(_root(request)))


@public_api
def conformance(request: HttpRequest) -> HttpResponse:
    return _answer(request, {"conformsTo": records_api.CONFORMANCE})


@public_api
def collections(request: HttpRequest) -> HttpResponse:
    root = _root(request)
    return _answer(request, {"collections": [records_api.collection(root)],
                             "links": [records_api._link(f"{root}collections", "self", records_api.JSON)]})


@public_api
def catalog(request: HttpRequest) -> HttpResponse:
    return _answer(request, records_api.collection(_root(request)))


@public_api
def items(request: HttpRequest) -> HttpResponse:
    f = _format(request)
    search = records_api.parse_search(request.GET)
    doc = records_api.items(_root(request), search, request.build_absolute_uri())
    return _answer(request, doc, records_api.GEOJSON, f)


@public_api
def item(request: HttpRequest, record_id: str) -> HttpResponse:
    """One record: GeoJSON, HTML, or ?f=iso for its ISO 19139 document. A restricted layer is not found."""
    f = _format(request, (*FORMATS, "iso"))
    layer = None
    if SLUG.fullmatch(record_id):
        layer = with_runs(public_layers().filter(slug=record_id)).first()
    if layer is None:
        raise NotFound("Không tìm thấy bản ghi.", "Record not found.")
    rec = record(layer, request.build_absolute_uri("/"))
    if f == "iso":
        response = HttpResponse(iso_xml(rec), content_type="application/xml; charset=utf-8")
        response["Cache-Control"] = "public, max-age=60"
        return response
    return _answer(request, records_api.feature(rec, _root(request)), records_api.GEOJSON, f)
