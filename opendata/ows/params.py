"""The one reading of an /ows request: OGC key-value pairs checked into the query MapServer is given.

Keys are case-insensitive (OGC 06-121r9 §11.5.2), one value each. Values go through layers.params (numbers,
CRS, bbox: finite, inside the CRS, ordered) and the catalog's allow-lists (layer names, fields); MapServer
gets only the parameters rebuilt here, never the request's text. Parameters these services do not define
are ignored, as WMS 1.3.0 §6.8.1 and OWS Common ask (clients add their own: DPI, MAP_RESOLUTION…), and never
passed on; SLD and SLD_BODY (a URL MapServer would fetch, an XML body) are refused; FILTER is read by
opendata.ows.filters (a BBOX only) and never reaches MapServer as XML.
"""
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace

from django.conf import settings

from layers.errors import DomainError
from layers.params import GEOGRAPHIC_SRIDS, MAX_PARAM_LENGTH, Crs, check_bbox, check_text, parse_crs, parse_int, parse_number
from opendata.ows.catalog import OwsLayer
from opendata.ows.errors import WMS_ONLY, OwsError, ascii_upper, invalid, missing, not_supported
from opendata.ows.mapfile import MAP_NAME

WMS_OPERATIONS = {"GETCAPABILITIES", "GETMAP", "GETFEATUREINFO", "GETLEGENDGRAPHIC"}
WFS_OPERATIONS = {"GETCAPABILITIES", "DESCRIBEFEATURETYPE", "GETFEATURE", "LISTSTOREDQUERIES",
                  "DESCRIBESTOREDQUERIES"}
MAP_FORMATS = {"image/png": "image/png", "png": "image/png", "image/jpeg": "image/jpeg", "jpeg": "image/jpeg"}
INFO_FORMATS = {"application/vnd.ogc.gml": "application/vnd.ogc.gml", "text/plain": "text/plain",
                "application/json": "geojson", "application/geo+json": "geojson",
                "text/xml": "application/vnd.ogc.gml"}
GML32 = "application/gml+xml; version=3.2"
FEATURE_FORMATS = {"application/gml+xml; version=3.2": GML32, "text/xml; subtype=gml/3.2.1": GML32,
                   "text/xml; subtype=gml/3.2": GML32, "gml32": GML32, "application/gml+xml": GML32,
                   "application/json": "geojson", "geojson": "geojson", "application/geo+json": "geojson",
                   "json": "geojson"}  # "geojson": the mapfile's GeoJSON output (MapServer's own application/json is UTFGrid)
REFUSED = ("SLD", "SLD_BODY", "CQL_FILTER", "MAP")
GET_BY_ID = "urn:ogc:def:query:OGC-WFS::GetFeatureById"
MAX_IDS = 100
_RESOURCE_ID = re.compile(r"([A-Za-z_][-A-Za-z0-9_]{0,66})\.([0-9]{1,18})")
_BGCOLOR = re.compile(r"0x[0-9A-Fa-f]{6}")


@dataclass(frozen=True)
class OwsRequest:
    service: str  # WMS or WFS
    operation: str  # upper case: GETMAP, GETFEATURE…
    query: dict[str, str]  # what MapServer is given


def read_kvp(params: Mapping) -> dict[str, str]:
    """The request's parameters by upper-case key: one value each, checked for length and control characters."""
    out: dict[str, str] = {}
    if len(params) > 100:
        raise invalid("request", "Quá nhiều tham số.", "Too many parameters.")
    for key in params:
        values = params.getlist(key) if hasattr(params, "getlist") else [params[key]]
        name = ascii_upper(key)[:40]
        if name in out or len(values) != 1:
            raise invalid(name, f"Tham số {name} chỉ được có một giá trị.", f"Parameter {name} may appear only once.")
        out[name] = _checked(values[0], name)
    return out


def _checked(value: str, name: str) -> str:
    try:
        return check_text(value, name, max_length=MAX_PARAM_LENGTH)
    except DomainError as error:
        raise invalid(name, error.message_vi, error.message_en) from None


def parse(kvp: dict[str, str], layers: dict[str, OwsLayer]) -> OwsRequest:
    """The checked request; an OwsError (OGC code, vi/en text) for anything MapServer must not see."""
    service = ascii_upper(kvp.get("SERVICE", "").strip())
    operation = ascii_upper(kvp.get("REQUEST", "").strip())
    if not service:
        if operation in WMS_ONLY or "LAYERS" in kvp:
            service = "WMS"  # WMS 1.3.0 §7.3.3: SERVICE is implied by GetMap (and the WMS-only operations)
        else:
            raise missing("SERVICE")
    if service not in ("WMS", "WFS"):
        raise invalid("SERVICE", "SERVICE phải là WMS hoặc WFS.", "SERVICE must be WMS or WFS.")
    if not operation:
        raise missing("REQUEST")
    for name in REFUSED:
        if name in kvp:
            raise OwsError("OperationNotSupported" if name != "MAP" else "InvalidParameterValue",
                           f"Tham số {name} không được hỗ trợ ở đây.", f"Parameter {name} is not supported here.",
                           locator=name)
    if service == "WMS":
        from opendata.ows.wms import parse_wms
        if operation not in WMS_OPERATIONS:
            raise not_supported("REQUEST", kvp["REQUEST"])
        return OwsRequest("WMS", operation, parse_wms(operation, kvp, layers))
    from opendata.ows.wfs import parse_wfs
    if operation not in WFS_OPERATIONS:
        raise not_supported("REQUEST", kvp["REQUEST"])
    return OwsRequest("WFS", operation, parse_wfs(operation, kvp, layers))


# ---- shared pieces ------------------------------------------------------------------------------------

def names(raw: str | None, parameter: str, *, limit: int = 50) -> list[str]:
    """A comma list of names (at most `limit`), none empty; MissingParameterValue when absent."""
    if raw is None or not raw.strip():
        raise missing(parameter)
    items = [item.strip() for item in raw.split(",")]
    if not raw.strip() or any(not item for item in items) or len(items) > limit:
        raise invalid(parameter, f"{parameter} phải là danh sách tên cách nhau bởi dấu phẩy (tối đa {limit}).",
                      f"{parameter} must be a comma-separated list of names (at most {limit}).")
    return items


def layer_name(raw: str, layers: dict[str, OwsLayer], *, parameter: str, code: str,
               root: bool = False) -> str:
    """A published layer's name (with or without the ms: prefix); restricted and unknown names alike refused."""
    name = raw.split(":", 1)[1] if raw.lower().startswith("ms:") else raw
    if name in layers or (root and name == MAP_NAME):
        return name
    shown = raw[:64]
    raise OwsError(code, f"Không có lớp dữ liệu tên '{shown}'.", f"No layer named '{shown}'.", locator=parameter)


def crs(raw: str | None, parameter: str, *, wms: bool) -> tuple[Crs, str]:
    """(Crs, the name MapServer is given). EPSG:4326 and 4756 are latitude first however written (WMS 1.3.0,
    and MapServer's WFS 2.0 reads them so); CRS:84 (WMS) and CRS84 (WFS) are longitude first."""
    if raw is None or not raw.strip():
        raise missing(parameter)
    value = raw.strip()
    if wms and value.upper() == "CRS:84":
        return Crs(4326, "CRS:84", False), "CRS:84"
    try:
        parsed = parse_crs(value, parameter=parameter, ogc_axis_order=True)
    except DomainError as error:
        raise OwsError("InvalidCRS" if wms else "InvalidParameterValue", error.message_vi, error.message_en,
                       locator=parameter) from None
    geographic = parsed.srid in (4326, 4756)
    if parsed.uri.endswith("CRS84"):  # CRS84 named the WFS way
        return parsed, "urn:ogc:def:crs:OGC:1.3:CRS84"
    return (replace(parsed, lat_first=geographic),
            f"EPSG:{parsed.srid}" if wms else f"urn:ogc:def:crs:EPSG::{parsed.srid}")


def geojson_crs(reference: Crs, parameter: str) -> None:
    """GeoJSON carries no CRS (RFC 7946: WGS 84): a geographic CRS other than WGS 84 (VN-2000 degrees) would be
    read as WGS 84 by every client, so GeoJSON in it is refused; projected CRSs stay (legacy clients ask them)."""
    if reference.srid != 4326 and reference.srid in GEOGRAPHIC_SRIDS:
        raise invalid(parameter, "GeoJSON theo RFC 7946 là WGS 84; dùng GML hoặc hệ tọa độ phẳng.",
                      "GeoJSON is WGS 84 by RFC 7946; use GML or a projected CRS.")


def bbox(raw: str | None, reference: Crs, parameter: str = "BBOX") -> tuple[float, float, float, float]:
    """Four numbers in the CRS's axis order, checked (finite, inside the CRS, ordered, not empty); as written."""
    if raw is None or not raw.strip():
        raise missing(parameter)
    parts = raw.split(",")
    if len(parts) != 4:
        raise invalid(parameter, "BBOX cần đúng 4 số.", "BBOX needs exactly 4 numbers.")
    try:
        numbers = [float(parse_number(p.strip(), parameter=parameter)) for p in parts]
        check_bbox(numbers, reference, parameter=parameter, antimeridian=False)
    except DomainError as error:
        raise invalid(parameter, error.message_vi, error.message_en) from None
    if numbers[0] >= numbers[2] or numbers[1] >= numbers[3]:
        raise invalid(parameter, "BBOX rỗng: cạnh nhỏ phải nhỏ hơn cạnh lớn.",
                      "Empty BBOX: each minimum must be less than its maximum.")
    return numbers[0], numbers[1], numbers[2], numbers[3]


def bbox_text(numbers) -> str:
    return ",".join(repr(float(n)) for n in numbers)


def integer(raw: str | None, parameter: str, *, default: int, minimum: int, maximum: int) -> int:
    try:
        return parse_int(raw, parameter=parameter, default=default, minimum=minimum, maximum=maximum)
    except DomainError as error:
        raise invalid(parameter, error.message_vi, error.message_en) from None


def choice(raw: str | None, parameter: str, allowed: dict[str, str], *, code: str = "InvalidParameterValue",
           default: str | None = None) -> str:
    """One of the allowed values (case-insensitive), as MapServer is given it."""
    if raw is None or not raw.strip():
        if default is None:
            raise missing(parameter)
        return default
    value = allowed.get(raw.strip().lower().replace(" ", "").replace(";", "; "))
    value = value or allowed.get(raw.strip().lower())
    if value is None:
        listed = ", ".join(sorted(set(allowed.values())))
        raise OwsError(code, f"{parameter} không được hỗ trợ; dùng một trong: {listed}.",
                       f"Unsupported {parameter}; use one of: {listed}.", locator=parameter)
    return value


def boolean(raw: str | None, parameter: str) -> str:
    if raw is None or raw == "":
        return "FALSE"
    value = raw.strip().upper()
    if value not in ("TRUE", "FALSE"):
        raise invalid(parameter, f"{parameter} phải là TRUE hoặc FALSE.", f"{parameter} must be TRUE or FALSE.")
    return value


def bgcolor(raw: str | None) -> str | None:
    if raw is None or raw == "":
        return None
    if not _BGCOLOR.fullmatch(raw.strip()):
        raise invalid("BGCOLOR", "BGCOLOR phải có dạng 0xRRGGBB.", "BGCOLOR must look like 0xRRGGBB.")
    return raw.strip().upper().replace("0X", "0x")


def resource_ids(raw: str, layers: dict[str, OwsLayer], parameter: str) -> str:
    """'layer.123,…' ids of published layers, at most MAX_IDS."""
    out = []
    for item in names(raw, parameter, limit=MAX_IDS):
        match = _RESOURCE_ID.fullmatch(item)
        if not match:
            raise invalid(parameter, f"{parameter} phải có dạng tên_lớp.số (ví dụ parcels.12).",
                          f"{parameter} must look like layer.number (for example parcels.12).")
        layer_name(match.group(1), layers, parameter=parameter, code="InvalidParameterValue")
        out.append(f"{match.group(1)}.{int(match.group(2))}")
    return ",".join(out)


def max_features() -> int:
    return int(settings.OWS_MAX_FEATURES)
