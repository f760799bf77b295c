"""OGC API – Records – Part 1 documents at /records/, from the one record builder (opendata.records).

One collection, `catalog`, whose items are the public layers' records: GeoJSON features with properties
title, description, keywords, type, themes, contacts, license, time (also the spec's top-level `time`)
and links. Search: bbox, q (every word, diacritics ignored, as the catalog page), limit/offset.
"""
from dataclasses import dataclass
from urllib.parse import urlencode

from django.contrib.auth.models import AnonymousUser
from django.contrib.gis.geos import Polygon
from django.db.models import QuerySet

from layers.errors import InvalidParameter
from layers.params import check_text, parse_bbox, parse_int
from opendata import catalog
from opendata.records import Record, both, record, with_runs

COLLECTION = "catalog"
RECORD_CORE = "http://www.opengis.net/spec/ogcapi-records-1/1.0/req/record-core"
CONFORMANCE = [
    "http://www.opengis.net/spec/ogcapi-common-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-records-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-records-1/1.0/conf/record-core",
    "http://www.opengis.net/spec/ogcapi-records-1/1.0/conf/record-collection",
    "http://www.opengis.net/spec/ogcapi-records-1/1.0/conf/record-api",
    "http://www.opengis.net/spec/ogcapi-records-1/1.0/conf/json",
    "http://www.opengis.net/spec/ogcapi-records-1/1.0/conf/html",
]
DEFAULT_LIMIT = 10
MAX_LIMIT = 100
ITEM_PARAMETERS = frozenset({"bbox", "q", "limit", "offset", "f", "lang", "api_key"})
JSON, GEOJSON, HTML = "application/json", "application/geo+json", "text/html"


def _link(href: str, rel: str, type_: str, title: str = "") -> dict:
    return {"href": href, "rel": rel, "type": type_, **({"title": title} if title else {})}


def landing(root: str) -> dict:
    """The landing page (`root` ends in '/records/')."""
    return {"title": "Danh mục dữ liệu / Data catalogue (OGC API – Records)",
            "description": "Bản ghi siêu dữ liệu của các lớp dữ liệu công khai. / Metadata records of the public layers.",
            "links": [_link(root, "self", JSON), _link(f"{root}?f=html", "alternate", HTML),
                      _link(f"{root}conformance", "conformance", JSON),
                      _link(f"{root}collections", "data", JSON),
                      _link(root.replace("records/", "csw"), "alternate", "application/xml", "CSW 2.0.2 / 3.0")]}


def collection(root: str) -> dict:
    """The one record collection."""
    base = f"{root}collections/{COLLECTION}"
    return {"id": COLLECTION, "itemType": "record", "type": "Collection",
            "title": "Lớp dữ liệu công khai / Public layers",
            "description": "Mỗi bản ghi mô tả một lớp dữ liệu công khai. / Each record describes one public layer.",
            "extent": {"spatial": {"bbox": [[-180, -90, 180, 90]],
                                   "crs": "http://www.opengis.net/def/crs/OGC/1.3/CRS84"}},
            "links": [_link(base, "self", JSON), _link(f"{base}?f=html", "alternate", HTML),
                      _link(f"{base}/items", "items", GEOJSON), _link(root, "root", JSON)]}


def feature(rec: Record, root: str) -> dict:
    """One record as an OGC API – Records GeoJSON feature."""
    geometry = None
    if rec.bbox:
        w, s, e, n = rec.bbox
        geometry = {"type": "Polygon", "coordinates": [[[w, s], [e, s], [e, n], [w, n], [w, s]]]}
    time = {"interval": [rec.created.isoformat(), rec.revised.isoformat() if rec.revised else ".."]}
    item = f"{root}collections/{COLLECTION}/items/{rec.identifier}"
    properties = {
        "type": "dataset", "title": both(*rec.title), "description": both(*rec.abstract),
        "title_vi": rec.title[0], "title_en": rec.title[1],
        "description_vi": rec.abstract[0], "description_en": rec.abstract[1],
        "keywords": list(rec.keywords), "language": {"code": "vi"}, "languages": [{"code": "vi"}, {"code": "en"}],
        "themes": [{"concepts": [{"id": rec.topic}],
                    "scheme": "https://standards.iso.org/iso/19139/resources/gmxCodelists.xml#MD_TopicCategoryCode"}],
        "contacts": [{"organization": rec.organisation, "emails": [{"value": rec.email}],
                      "roles": ["publisher", "pointOfContact"]}],
        "license": rec.licence or "other", "rights": rec.attribution or None,
        "created": rec.created.isoformat(), "updated": (rec.revised or rec.created).isoformat(),
        "time": time,  # also at the top level, where Part 1 puts it: readers look in either place
        "formats": [{"name": name} for name in rec.formats],
        "crs": rec.source_crs, "updateFrequency": rec.frequency,
        "lineage": both(*rec.lineage),
    }
    return {"id": rec.identifier, "type": "Feature", "conformsTo": [RECORD_CORE], "time": time,
            "geometry": geometry, "properties": properties,
            "links": [_link(item, "self", GEOJSON), _link(f"{item}?f=html", "alternate", HTML),
                      _link(f"{item}?f=iso", "describedby", "application/xml", "ISO 19139"),
                      _link(f"{root}collections/{COLLECTION}", "collection", JSON)]
            + [_link(link.href, link.rel, link.type, link.title) for link in rec.links]}


@dataclass(frozen=True)
class Search:
    bbox: tuple[float, float, float, float] | None
    text: str
    limit: int
    offset: int


def parse_search(params) -> Search:
    """bbox, q, limit (1..MAX_LIMIT: more is refused, as /csw's maxRecords), offset; unknown parameters refused."""
    for key in params:
        if key not in ITEM_PARAMETERS:
            raise InvalidParameter(f"Tham số không được hỗ trợ: {key[:60]}.", f"Unknown query parameter: {key[:60]}.",
                                   parameter=key[:60])
    return Search(bbox=parse_bbox(params.get("bbox"), antimeridian=False),
                  text=check_text(params.get("q", ""), "q", max_length=200),
                  limit=parse_int(params.get("limit"), parameter="limit", default=DEFAULT_LIMIT, minimum=1,
                                  maximum=MAX_LIMIT),
                  offset=parse_int(params.get("offset"), parameter="offset", default=0, minimum=0, maximum=10**9))


def matching(search: Search) -> QuerySet:
    """Public layers matching the search (the catalog page's own text search), by slug."""
    layers = catalog.catalog_layers(AnonymousUser(), text=search.text)  # an anonymous caller's catalog: public layers
    if search.bbox:
        layers = layers.filter(extent__intersects=Polygon.from_bbox(search.bbox))
    return layers.order_by("slug")


def items(root: str, search: Search, url: str) -> dict:
    """A page of records with numberMatched, numberReturned and prev/next links."""
    layers = matching(search)
    matched = layers.count()
    page = list(with_runs(layers)[search.offset:search.offset + search.limit])
    base = f"{root}collections/{COLLECTION}/items"

    def at(offset: int) -> str:
        query = {"limit": search.limit, "offset": offset, "q": search.text,
                 "bbox": ",".join(repr(v) for v in search.bbox) if search.bbox else ""}
        return f"{base}?{urlencode({k: v for k, v in query.items() if v != ''})}"

    links = [_link(url, "self", GEOJSON), _link(f"{root}collections/{COLLECTION}", "collection", JSON)]
    if search.offset + len(page) < matched:
        links.append(_link(at(search.offset + search.limit), "next", GEOJSON))
    if search.offset > 0:
        links.append(_link(at(max(0, search.offset - search.limit)), "prev", GEOJSON))
    return {"type": "FeatureCollection", "numberMatched": matched, "numberReturned": len(page),
            "features": [feature(record(layer, root.replace("records/", "")), root) for layer in page],
            "links": links}
