"""OGC API – Features (Parts 1, 2, 3): request parsing and the JSON documents, with no HTTP in them."""
import json
import re
from dataclasses import dataclass
from urllib.parse import urljoin

from django.conf import settings
from django.http import QueryDict
from django.urls import reverse
from django.utils import timezone
from psycopg2 import sql

from layers import db
from layers.errors import InvalidParameter
from layers.models import Layer
from opendata import continuation, cql2, cql2_json
from opendata.fields import hidden_to, layer_fields
from opendata.filecrs import api_crs_note
from opendata.params import (CRS84_URI, check_text, parse_bbox, parse_crs, parse_datetime_param, parse_field_list,
                             parse_int, supported_crs_uris)
from layers.params import MAX_NUMBER_LENGTH
from layers.querystring import check_single_values
from opendata.query import FeatureQuery, count_sql

# OGC API – Tiles and Styles: served by tiles/ (tiles/ogc_urls.py), declared here on the one landing page.
TILES_CONFORMANCE = [
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/tileset",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/tilesets-list",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/geodata-tilesets",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/dataset-tilesets",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/mvt",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/png",
    "http://www.opengis.net/spec/tms/2.0/conf/tilematrixset",
    "http://www.opengis.net/spec/tms/2.0/conf/json-tilematrixset",
    "http://www.opengis.net/spec/tms/2.0/conf/tilesetmetadata",
    "http://www.opengis.net/spec/tms/2.0/conf/json-tilesetmetadata",
    "http://www.opengis.net/spec/ogcapi-styles-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-styles-1/1.0/conf/mapbox-styles",
]

CONFORMANCE = [
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/html",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables-query-parameters",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/filter",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/features-filter",
    "http://www.opengis.net/spec/cql2/1.0/conf/cql2-text",
    "http://www.opengis.net/spec/cql2/1.0/conf/cql2-json",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-cql2",
    "http://www.opengis.net/spec/cql2/1.0/conf/advanced-comparison-operators",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-spatial-functions",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-spatial-functions-plus",
    "http://www.opengis.net/spec/cql2/1.0/conf/spatial-functions",
    *TILES_CONFORMANCE,
]
# "after" is ours: next links carry the last id seen, so deep pages read on from it (keyset paging)
# instead of skipping `offset` rows again; offset alone still works for clients that compute it.
# "sig" is ours too: it signs a next link, so fair use counts following it by features (opendata.continuation).
STANDARD_PARAMS = {"limit", "offset", "bbox", "bbox-crs", "crs", "filter", "filter-lang", "filter-crs",
                   "sortby", "properties", "datetime", "f", "lang", "api_key", "after", "as_of", continuation.PARAM}
FILTER_LANGS = {"cql2-text": cql2.parse, "cql2-json": cql2_json.parse}  # both read into one AST
GEOJSON = "application/geo+json"
JSON = "application/json"
HTML = "text/html"


def max_limit() -> int:
    """The server's largest page (announced as the OpenAPI limit's maximum; a larger limit is clamped to it)."""
    return int(getattr(settings, "OPENDATA_OGC_MAX_LIMIT", 10_000))


def default_limit() -> int:
    """The page size when a request names none: 10, as OGC API – Features' example (never above the maximum)."""
    return min(10, max_limit())


def exact_count_max() -> int:
    """Above this many features a filtered numberMatched is estimated by the planner, not counted."""
    return int(getattr(settings, "OPENDATA_EXACT_COUNT_MAX", 200_000))


@dataclass
class ItemsRequest:
    query: FeatureQuery
    limit: int
    offset: int
    clamped: bool = False  # the client asked for more than max_limit(): limit is the maximum


def _type_schema(spec: dict) -> dict:
    kind = spec.get("type", "text")
    out: dict = {"title": spec.get("label_en") or spec["name"], "description": spec.get("label_vi", "")}
    out["type"] = {"integer": "integer", "number": "number"}.get(kind, "string")
    if kind == "date":
        out["format"] = "date"
    if spec.get("choices"):
        out["enum"] = list(spec["choices"])
    return out


def parse_items(params: QueryDict, layer: Layer, user=None) -> ItemsRequest:
    """Checks every query parameter of /items for this user (a field hidden from them is unknown); 400 naming
    the first bad one."""
    fields = layer_fields(layer, user)
    names = [spec["name"] for spec in fields]
    check_single_values(params)
    for key in params:
        check_text(key, "query")
        if key not in STANDARD_PARAMS and key not in names:
            raise InvalidParameter(f"Tham số không được hỗ trợ: {key[:60]}.", f"Unknown query parameter: {key[:60]}.",
                                   parameter=key[:60])
    lang = params.get("filter-lang") or "cql2-text"
    if lang not in FILTER_LANGS:
        raise InvalidParameter("Chỉ hỗ trợ filter-lang=cql2-text hoặc cql2-json.",
                               "Only filter-lang=cql2-text or cql2-json is supported.", parameter="filter-lang")
    if params.get("datetime"):  # layers carry no time dimension yet: only open intervals match all
        if check_text(params["datetime"], "datetime").strip() not in ("..", "../..", "*"):
            raise InvalidParameter("Lớp này không có chiều thời gian.", "This collection has no temporal dimension.",
                                   parameter="datetime")
    bbox_crs = parse_crs(params.get("bbox-crs"), parameter="bbox-crs", ogc_axis_order=True)
    filter_text = params.get("filter")
    q = FeatureQuery(
        layer=layer,
        fields=fields,
        hidden=hidden_to(user, layer),
        crs=parse_crs(params.get("crs"), ogc_axis_order=True),
        bbox=parse_bbox(params.get("bbox"), bbox_crs),
        bbox_crs=bbox_crs,
        cql=FILTER_LANGS[lang](check_text(filter_text, "filter")) if filter_text else None,
        filter_crs=parse_crs(params.get("filter-crs"), parameter="filter-crs", ogc_axis_order=True),
        equals=[(name, check_text(params[name], name)) for name in names if name in params and name not in STANDARD_PARAMS],
        properties=parse_field_list(params.get("properties"), names),
        sortby=_sortby(params.get("sortby"), names),
        as_of=parse_datetime_param(params.get("as_of"), parameter="as_of"),  # ours: the collection then
    )
    if params.get("after") and not q.sortby:
        q.after_id = parse_int(params["after"], parameter="after", default=0, minimum=0, maximum=2**63 - 1)
    # OGC API – Features 1.0.1, /req/core/fc-limit-response-1: a limit above the maximum is not an error,
    # the maximum is used instead (and the response says so: limitApplied, and links carry the maximum).
    asked = _limit(params.get("limit"))
    return ItemsRequest(
        query=q,
        limit=min(asked, max_limit()),
        offset=parse_int(params.get("offset"), parameter="offset", default=0, minimum=0, maximum=10**9),
        clamped=asked > max_limit(),
    )


def _limit(raw: str | None) -> int:
    """The limit asked for, any size: digits beyond int64 (up to the length cap) are just above the maximum."""
    if raw and 19 < len(raw) <= MAX_NUMBER_LENGTH and raw.isascii() and raw.isdigit():
        raw = str(max_limit() + 1)
    if raw and raw.isascii() and raw.isdigit() and int(raw) == 0:  # the one whole number refused: the message names the server's maximum
        raise InvalidParameter(f"limit phải từ 1 đến {max_limit()} (lớn hơn sẽ được giảm về {max_limit()}).",
                               f"limit must be between 1 and {max_limit()} (larger values are clamped to "
                               f"{max_limit()}).", parameter="limit")
    return parse_int(raw, parameter="limit", default=default_limit(), minimum=1, maximum=2**63 - 1)


_SORT_SIGNED = re.compile(r"([+-]?)(\w+)")
_SORT_WORDED = re.compile(r"(\w+) +(ASC|DESC)", re.I)


def _sortby(raw: str | None, names: list[str]) -> list[tuple[str, bool]]:
    """'[+|-]name' or 'name ASC|DESC', comma-separated; anything else is a 400, not a guess."""
    if not raw:
        return []
    out = []
    for item in check_text(raw, "sortby").split(","):
        item = item.strip(" ")
        signed, worded = _SORT_SIGNED.fullmatch(item), _SORT_WORDED.fullmatch(item)
        if signed:
            name, desc = signed.group(2), signed.group(1) == "-"
        elif worded:
            name, desc = worded.group(1), worded.group(2).upper() == "DESC"
        else:
            raise InvalidParameter(f"sortby không hợp lệ: {item[:60]} (dùng [+|-]tên hoặc tên ASC|DESC).",
                                   f"Invalid sortby: {item[:60]} (use [+|-]name or name ASC|DESC).", parameter="sortby")
        if name not in names:
            raise InvalidParameter(f"Không thể sắp xếp theo: {name[:60]}.", f"Cannot sort by: {name[:60]}.",
                                   parameter="sortby")
        out.append((name, desc))
    return out


def number_matched(q: FeatureQuery) -> tuple[int, bool, bool]:
    """(numberMatched, is_estimate, counted_now).

    Counted exactly on layers up to OPENDATA_EXACT_COUNT_MAX features; above that, the layer's
    stored feature count when there is no filter, and the planner's estimate when there is one.
    """
    exact = q.layer.feature_count <= exact_count_max()
    if not exact and not q.is_filtered:
        return q.layer.feature_count, False, False
    query, params = count_sql(q, rows=not exact)
    with db.cursor(read=True) as cursor:
        if exact:
            cursor.execute(query, params)
            return cursor.fetchone()[0], False, True
        cursor.execute(sql.SQL("EXPLAIN (FORMAT JSON) {}").format(query), params)
        plan = cursor.fetchone()[0]
        plan = json.loads(plan) if isinstance(plan, str) else plan
        return min(int(plan[0]["Plan"].get("Plan Rows", 0)), q.layer.feature_count), True, False


def link(href: str, rel: str, type_: str, title: str = "") -> dict:
    out = {"href": href, "rel": rel, "type": type_}
    if title:
        out["title"] = title
    return out


def with_params(base: str, params: QueryDict, *, signed: bool = False, matched: int | None = None, **changes) -> str:
    """base?query with some parameters replaced (None removes one); signed: a continuation carrying matched."""
    merged = params.copy()
    merged.pop(continuation.PARAM, None)  # only a link this server signs now carries a sig
    for key, value in changes.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = str(value)
    if signed:
        merged = continuation.signed_params(base, merged, matched)
    text = merged.urlencode(safe=",:/")
    return f"{base}?{text}" if text else base


def landing(root: str) -> dict:
    return {
        "title": "gisportal — OGC API – Features",
        "description": "Dữ liệu mở của thành phố / The city's open data (OGC API – Features 1, 2, 3).",
        "links": [
            link(f"{root}?f=json", "self", JSON, "This document"),
            link(f"{root}?f=html", "alternate", HTML, "This document as HTML"),
            link(f"{root}api", "service-desc", "application/vnd.oai.openapi+json;version=3.0", "OpenAPI 3.0"),
            link(f"{root}docs", "service-doc", HTML, "API documentation with examples"),
            link(f"{root}conformance", "conformance", JSON, "Conformance classes"),
            link(f"{root}conformance", "http://www.opengis.net/def/rel/ogc/1.0/conformance", JSON, "Conformance"),
            link(f"{root}collections", "data", JSON, "Collections"),
            link(f"{root}collections", "http://www.opengis.net/def/rel/ogc/1.0/data", JSON, "Collections"),
            link(f"{root}tileMatrixSets", "http://www.opengis.net/def/rel/ogc/1.0/tiling-schemes", JSON,
                 "Tile matrix sets"),
            link(f"{root}tiles", "http://www.opengis.net/def/rel/ogc/1.0/tilesets-vector", JSON,
                 "Vector tilesets (basemap, layer groups)"),
            link(f"{root}styles", "http://www.opengis.net/def/rel/ogc/1.0/styles", JSON, "Styles (MapLibre)"),
        ],
    }


def collection(root: str, layer: Layer) -> dict:
    """One collection's description (extent, CRSs, links)."""
    base = f"{root}collections/{layer.slug}"
    extent = list(layer.extent.extent) if layer.extent else [-180.0, -90.0, 180.0, 90.0]
    return {
        "id": layer.slug,
        "title": layer.title,
        "description": layer.description,
        "keywords": list(layer.keywords),
        "attribution": layer.attribution,
        "license": layer.license,
        "itemType": "feature",
        "extent": {"spatial": {"bbox": [extent], "crs": CRS84_URI}},
        "crs": supported_crs_uris(),
        "storageCrs": CRS84_URI,
        # VN-2000 items carry coordinates and the EPSG code, not the official shift: say which files do.
        "crsNote": api_crs_note(),
        "links": [
            link(base, "self", JSON, layer.title),
            link(f"{base}?f=html", "alternate", HTML, layer.title),
            link(f"{base}/items", "items", GEOJSON, "Features (GeoJSON)"),
            link(f"{base}/items?f=html", "items", HTML, "Features (HTML)"),
            link(f"{base}/queryables", "http://www.opengis.net/def/rel/ogc/1.0/queryables", "application/schema+json",
                 "Queryables"),
            link(urljoin(root, reverse("opendata-download", kwargs={"layer": layer.slug, "fmt": "gpkg"})), "enclosure",
                 "application/geopackage+sqlite3", "GeoPackage download"),
            link(f"{base}/tiles", "http://www.opengis.net/def/rel/ogc/1.0/tilesets-vector", JSON, "Vector tiles"),
            *([link(f"{root}styles/{layer.slug}?f=mapbox", "http://www.opengis.net/def/rel/ogc/1.0/styles",
                    "application/vnd.mapbox.style+json", "MapLibre style")] if layer.is_public else []),
        ],
    }


def collections(root: str, layers) -> dict:
    return {
        "links": [link(f"{root}collections", "self", JSON), link(f"{root}collections?f=html", "alternate", HTML)],
        "crs": supported_crs_uris(),
        "collections": [collection(root, layer) for layer in layers],
    }


def queryables(root: str, layer: Layer, user=None) -> dict:
    """The JSON schema of the fields this user may use in filter, sortby and field=value (Part 3)."""
    props = {"geometry": {"$ref": "https://geojson.org/schema/Geometry.json", "x-ogc-role": "primary-geometry"}}
    for spec in layer_fields(layer, user):
        props[spec["name"]] = _type_schema(spec)
    return {
        "$schema": "https://json-schema.org/draft/2019-09/schema",
        "$id": f"{root}collections/{layer.slug}/queryables",
        "type": "object",
        "title": layer.title,
        "properties": props,
        "additionalProperties": False,
    }


def _matched(req: ItemsRequest, known: int | None) -> tuple[int, bool, bool]:
    """(numberMatched, estimated, counted now): the count a signed next link carries, or a fresh one."""
    if known is not None:
        return known, False, False
    after = req.query.after_id
    req.query.after_id = None  # numberMatched counts the whole result, not what follows the cursor
    try:
        return number_matched(req.query)
    finally:
        req.query.after_id = after


def items_head(root: str, layer: Layer, req: ItemsRequest, params: QueryDict, returned: int,
               last_id: int | None = None, known_matched: int | None = None) -> dict:
    """Everything of an items response except the features: counts and paging links.

    known_matched: the numberMatched a signed next link carried (opendata.continuation), not counted again.
    """
    matched, estimated, counted = _matched(req, known_matched)
    base = f"{root}collections/{layer.slug}/items"
    if req.clamped:
        params = params.copy()
        params["limit"] = str(req.limit)
    links = [link(with_params(base, params, f="json"), "self", GEOJSON, "This page"),
             link(with_params(base, params, f="html"), "alternate", HTML, "This page as HTML"),
             link(f"{root}collections/{layer.slug}", "collection", JSON, layer.title)]
    # Without a fresh count, a full page always offers a next one (an empty last page beats stopping early).
    more = req.offset + returned < matched if counted else returned == req.limit
    if more and returned:
        cursor = last_id if (last_id is not None and not req.query.sortby) else None
        # Only keyset links are signed: a sorted deep page re-sorts the result, so it counts as a request.
        links.append(link(with_params(base, params, signed=cursor is not None, matched=None if estimated else matched,
                                      offset=req.offset + req.limit, after=cursor), "next", GEOJSON, "Next page"))
    if req.offset > 0:
        links.append(link(with_params(base, params, offset=max(0, req.offset - req.limit), after=None), "prev",
                          GEOJSON, "Previous page"))
    head = {"type": "FeatureCollection", "numberMatched": matched, "numberReturned": returned,
            "timeStamp": timezone.now().isoformat(timespec="seconds"), "links": links}
    if estimated:
        head["numberMatchedEstimated"] = True  # said so: the planner's estimate on a huge layer
    if req.clamped:
        head["limitApplied"] = req.limit  # said so: the server's maximum page, not the limit asked for
    return head
