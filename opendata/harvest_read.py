"""What every harvest reader shares: the one outbound fetch, JSON/XML parsing that refuses garbage, the CRS
names remote servers use, the feature cap, and the one shape handed to the apply step."""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import shapely
from django.conf import settings
from lxml import etree
from pyproj import CRS
from pyproj.exceptions import CRSError

from layers.errors import DomainError
from opendata import outbound, safe_xml

CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
_EPSG_FORMS = (
    re.compile(r"https?://www\.opengis\.net/def/crs/EPSG/[0-9.]+/([0-9]{1,6})"),
    re.compile(r"urn:ogc:def:crs:EPSG:[0-9.]*:([0-9]{1,6})", re.IGNORECASE),
    re.compile(r"EPSG:([0-9]{1,6})", re.IGNORECASE),
    re.compile(r"https?://www\.opengis\.net/gml/srs/epsg\.xml#([0-9]{1,6})"),
)
_CRS84_FORMS = {CRS84, "urn:ogc:def:crs:OGC:1.3:CRS84", "urn:ogc:def:crs:OGC::CRS84", "OGC:CRS84",
                "http://www.opengis.net/def/crs/OGC/0/CRS84"}


class HarvestFailed(DomainError):
    """The source answered, but not with a layer we can take (garbage, too much, an unknown CRS, an error)."""

    status = 502
    code = "harvest-failed"


@dataclass
class Harvested:
    """A remote layer read whole: (properties with the key, geometry in `crs`, x = east) per feature."""

    rows: list[tuple[dict, shapely.Geometry | None]] = field(default_factory=list)
    crs: CRS | None = None
    crs_name: str = ""
    key: str = ""


def max_features() -> int:
    return int(getattr(settings, "GISPORTAL_HARVEST_MAX_FEATURES", 500_000))


def page_size() -> int:
    return max(1, min(int(getattr(settings, "GISPORTAL_HARVEST_PAGE_SIZE", 1000)), max_features()))


def with_query(url: str, **params) -> str:
    """The URL with these query parameters set (its own others kept, e.g. MapServer's map=)."""
    parts = urlsplit(url)
    names = {k.lower() for k in params}
    kept = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k.lower() not in names]
    query = urlencode(kept + [(k, str(v)) for k, v in params.items() if v is not None])
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, ""))


def fetch(url: str, *, accept: str = "*/*") -> outbound.Response:
    """One GET to the source through the outbound check; an HTTP error is a failed harvest."""
    answer = outbound.get(url, outbound.harvest_policy(), headers={"Accept": accept})
    if answer.status != 200:
        raise HarvestFailed(f"Máy chủ nguồn trả lỗi HTTP {answer.status} cho «{url[:300]}».",
                            f"The source answered HTTP {answer.status} for “{url[:300]}”.", parameter="url")
    return answer


def garbage(url: str, what_vi: str, what_en: str) -> HarvestFailed:
    return HarvestFailed(f"Máy chủ nguồn trả về dữ liệu không đọc được ({what_vi}) tại «{url[:300]}».",
                         f"The source answered something unreadable ({what_en}) at “{url[:300]}”.", parameter="url")


def fetch_json(url: str) -> dict:
    """A JSON object from the source, or a failed harvest."""
    return fetch_json_answer(url)[0]


def fetch_json_answer(url: str) -> tuple[dict, outbound.Response]:
    """A JSON object from the source and the answer it came in (for its headers), or a failed harvest."""
    answer = fetch(url, accept="application/geo+json, application/json;q=0.9")
    try:
        data = json.loads(answer.content)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise garbage(url, "không phải JSON", "not JSON") from None
    if not isinstance(data, dict):
        raise garbage(url, "JSON không phải một đối tượng", "JSON that is not an object")
    return data, answer


def parse_xml(url: str, content: bytes) -> etree._Element:
    """An XML document from the source through the one hardened parser (no DTD, no entities), or a failed harvest."""
    try:
        return safe_xml.parse(content)
    except safe_xml.UnsafeXml as error:
        raise garbage(url, error.message_vi, error.message_en) from None


def too_many(count: int | str) -> HarvestFailed:
    limit = max_features()
    return HarvestFailed(f"Nguồn có {count} đối tượng, vượt giới hạn {limit} (GISPORTAL_HARVEST_MAX_FEATURES).",
                         f"The source has {count} features, more than the limit of {limit} "
                         f"(GISPORTAL_HARVEST_MAX_FEATURES).", parameter="url")


def unknown_crs(name: str) -> HarvestFailed:
    return HarvestFailed(f"Hệ tọa độ của nguồn không nhận biết được: «{str(name)[:200]}».",
                         f"The source's coordinate reference system is unknown: “{str(name)[:200]}”.", parameter="url")


def crs_from_name(name: str) -> CRS:
    """CRS84 / EPSG CRS from the names OGC servers give (URI, URN, EPSG:n); anything else is refused."""
    text = str(name or "").strip()
    if text in _CRS84_FORMS:
        return CRS.from_user_input("OGC:CRS84")
    for form in _EPSG_FORMS:
        match = form.fullmatch(text)
        if match:
            return crs_from_epsg(int(match.group(1)), text)
    raise unknown_crs(text)


def crs_from_epsg(code: int, name: str = "") -> CRS:
    try:
        return CRS.from_epsg(code)
    except CRSError:
        raise unknown_crs(name or f"EPSG:{code}") from None


def northing_first(crs: CRS) -> bool:
    """The CRS's own axis order puts north first (EPSG:4326 lat/lon): coordinates in that order need a swap."""
    axes = crs.axis_info
    return bool(axes) and axes[0].direction.lower() in ("north", "south")


def east_first(geometry: shapely.Geometry | None, swap: bool) -> shapely.Geometry | None:
    """x = east: coordinates written in a north-first CRS's order are swapped."""
    if geometry is None or not swap:
        return geometry
    return shapely.transform(geometry, lambda c: c[:, ::-1])


def geojson_geometry(url: str, value) -> shapely.Geometry | None:
    """A GeoJSON geometry object as shapely (None for null), or a failed harvest."""
    if value is None:
        return None
    try:
        return shapely.from_geojson(json.dumps(value))
    except (shapely.errors.GEOSException, ValueError, TypeError):
        raise garbage(url, "hình học GeoJSON hỏng", "a broken GeoJSON geometry") from None


def plain(value):
    """A property value the GeoPackage can hold: nested objects as JSON text."""
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return value


def keyed(url: str, properties: dict, key: str, feature_id) -> dict:
    """The feature's properties with its key: its own property of that name, else the feature's id."""
    props = {str(k): plain(v) for k, v in (properties or {}).items()}
    if props.get(key) in (None, ""):
        if feature_id in (None, ""):
            raise garbage(url, f"đối tượng thiếu khóa {key}", f"a feature without its key {key}")
        props[key] = feature_id if isinstance(feature_id, (int, str)) else str(feature_id)
    return props


def check_count(harvested: Harvested) -> None:
    if len(harvested.rows) > max_features():
        raise too_many(f"> {max_features()}")
