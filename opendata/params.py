"""Parsing of request parameters shared by downloads and OGC API: CRS, bbox, limits, field lists.

Every function raises a layers.errors DomainError (400) naming the parameter, with vi/en messages,
so bad input never reaches SQL and never becomes a 500.
"""
import math
import re
from dataclasses import dataclass
from datetime import datetime


from layers.errors import InvalidBBox, InvalidParameter
from layers.history import parse_moment
from layers.vn2000 import VN2000_CRS

CRS84_URI = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
EPSG_URI = "http://www.opengis.net/def/crs/EPSG/0/{}"
# Output CRSs offered: WGS 84, Web Mercator and every pinned VN-2000 code.
SUPPORTED_SRIDS = (4326, 3857, *sorted(VN2000_CRS))
GEOGRAPHIC_SRIDS = {4326, 4756}
MAX_PARAM_LENGTH = 4000

_EPSG_PATTERNS = (
    re.compile(r"^(?:EPSG:)?(\d{4,6})$", re.I),
    re.compile(r"^https?://www\.opengis\.net/def/crs/EPSG/0/(\d{4,6})$"),
    re.compile(r"^urn:ogc:def:crs:EPSG:[\d.]*:(\d{4,6})$", re.I),
)
_CRS84_NAMES = {CRS84_URI.lower(), "crs84", "ogc:crs84", "urn:ogc:def:crs:ogc:1.3:crs84", "[ogc:crs84]"}


@dataclass(frozen=True)
class Crs:
    """An output/input CRS: its SRID, its URI, and whether coordinates go latitude first."""

    srid: int
    uri: str
    lat_first: bool = False

    @property
    def is_wgs84(self) -> bool:
        return self.srid == 4326


CRS84 = Crs(4326, CRS84_URI, False)


def crs_uri(srid: int) -> str:
    """The OGC URI of an EPSG code (CRS84 for 4326 in lon/lat order)."""
    return CRS84_URI if srid == 4326 else EPSG_URI.format(srid)


def supported_crs_uris() -> list[str]:
    """Every CRS the API offers, as URIs (CRS84 first, then EPSG:4326 in its own lat/lon order)."""
    return [CRS84_URI] + [EPSG_URI.format(s) for s in SUPPORTED_SRIDS]


def check_text(value: str, parameter: str) -> str:
    """Rejects over-long values and control characters before any further parsing."""
    if len(value) > MAX_PARAM_LENGTH:
        raise InvalidParameter(
            f"Tham số {parameter} quá dài (tối đa {MAX_PARAM_LENGTH} ký tự).",
            f"Parameter {parameter} is too long (at most {MAX_PARAM_LENGTH} characters).",
            parameter=parameter,
        )
    if any(ord(ch) < 32 and ch not in "\t" for ch in value) or "\x00" in value:
        raise InvalidParameter(
            f"Tham số {parameter} chứa ký tự điều khiển.", f"Parameter {parameter} contains control characters.",
            parameter=parameter,
        )
    return value


def parse_crs(raw: str | None, *, parameter: str = "crs", ogc_axis_order: bool = False) -> Crs:
    """A CRS from '9210', 'EPSG:9210', an OGC URI or CRS84; 400 for anything else.

    With ogc_axis_order, EPSG:4326 and EPSG:4756 named by URI use their authority's latitude-first
    order (OGC API Part 2); downloads keep RFC 7946's longitude-first order for a bare '4326'.
    """
    if raw is None or raw.strip() == "":
        return CRS84
    value = check_text(raw, parameter).strip()
    if value.lower() in _CRS84_NAMES:
        return CRS84
    for pattern in _EPSG_PATTERNS:
        match = pattern.match(value)
        if match:
            srid = int(match.group(1))
            if srid in SUPPORTED_SRIDS:
                named = not value.isdigit()
                lat_first = ogc_axis_order and named and srid in GEOGRAPHIC_SRIDS
                return Crs(srid, EPSG_URI.format(srid), lat_first)
            break
    codes = ", ".join(str(s) for s in SUPPORTED_SRIDS)
    raise InvalidParameter(
        f"Hệ tọa độ không được hỗ trợ. Dùng một trong: CRS84, {codes}.",
        f"Unsupported CRS. Use one of: CRS84, {codes}.",
        parameter=parameter,
    )


def _bbox_error(parameter: str, vi: str, en: str) -> InvalidBBox:
    return InvalidBBox(f"bbox không hợp lệ: {vi}", f"Invalid bbox: {en}", parameter=parameter)


def parse_bbox(raw: str | None, crs: Crs = CRS84, *, parameter: str = "bbox") -> tuple[float, float, float, float] | None:
    """(minx, miny, maxx, maxy) in the CRS's x/y order, or None; 400 for bad numbers.

    In geographic CRSs a west edge east of the east edge is legal: the box crosses the antimeridian.
    """
    if raw is None or raw == "":
        return None
    parts = check_text(raw, parameter).split(",")
    if len(parts) not in (4, 6):
        raise _bbox_error(parameter, "cần 4 hoặc 6 số.", "expected 4 or 6 numbers.")
    try:
        numbers = [float(p) for p in parts]
    except ValueError:
        raise _bbox_error(parameter, "các giá trị phải là số.", "values must be numbers.") from None
    if not all(math.isfinite(n) for n in numbers):
        raise _bbox_error(parameter, "các giá trị phải là số hữu hạn.", "values must be finite numbers.")
    if len(numbers) == 6:  # 3D box: drop the heights
        numbers = [numbers[0], numbers[1], numbers[3], numbers[4]]
    a, b, c, d = numbers
    if crs.lat_first:  # EPSG:4326 by URI: south, west, north, east
        a, b, c, d = b, a, d, c
    if crs.srid in GEOGRAPHIC_SRIDS:
        if not (-90 <= b <= 90 and -90 <= d <= 90):
            raise _bbox_error(parameter, "vĩ độ phải từ -90 đến 90.", "latitudes must be between -90 and 90.")
        if not (-180 <= a <= 180 and -180 <= c <= 180):
            raise _bbox_error(parameter, "kinh độ phải từ -180 đến 180.", "longitudes must be between -180 and 180.")
        if b > d:
            raise _bbox_error(parameter, "cạnh nam lớn hơn cạnh bắc.", "the south edge is north of the north edge.")
    elif a > c or b > d:
        raise _bbox_error(parameter, "cực tiểu lớn hơn cực đại.", "a minimum is greater than its maximum.")
    return (a, b, c, d)


def parse_int(raw: str | None, *, parameter: str, default: int, minimum: int, maximum: int) -> int:
    """A whole number within [minimum, maximum]; 400 naming the parameter otherwise."""
    if raw is None or raw == "":
        return default
    check_text(raw, parameter)
    if not re.fullmatch(r"\d{1,12}", raw.strip()):
        raise InvalidParameter(
            f"{parameter} phải là số nguyên không âm.", f"{parameter} must be a non-negative whole number.",
            parameter=parameter,
        )
    value = int(raw)
    if not minimum <= value <= maximum:
        raise InvalidParameter(
            f"{parameter} phải từ {minimum} đến {maximum}.", f"{parameter} must be between {minimum} and {maximum}.",
            parameter=parameter,
        )
    return value


def parse_field_list(raw: str | None, allowed: list[str], *, parameter: str = "properties") -> list[str] | None:
    """A comma-separated list of field names from the allow-list, or None for all fields."""
    if raw is None:
        return None
    names = [n.strip() for n in check_text(raw, parameter).split(",") if n.strip()]
    unknown = [n for n in names if n not in allowed]
    if unknown:
        raise InvalidParameter(
            f"Trường không tồn tại trong lớp: {', '.join(unknown)[:200]}.",
            f"Unknown field(s) for this layer: {', '.join(unknown)[:200]}.",
            parameter=parameter,
        )
    return list(dict.fromkeys(names))


def parse_datetime_param(raw: str | None, *, parameter: str) -> datetime | None:
    """An ISO 8601 date or date-time read as everywhere else (layers.history.parse_moment), or None."""
    if raw is None or raw == "":
        return None
    return parse_moment(check_text(raw, parameter), parameter)
