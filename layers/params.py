"""The one parser per kind of request input: text, numbers, CRS, bbox, lon/lat, moments, slugs, JSON bodies.

Every door (downloads, OGC API, tiles, editor API, click-to-see, raster values, management commands,
history pages) calls these. Each checks a length cap before parsing, then the value's limits (finite,
inside the CRS's area of use, ordered), and raises a DomainError (400) naming the parameter with
vi/en messages, so bad input never reaches SQL, PROJ or GEOS and never becomes a 500.
"""
import datetime as dt
import json
import math
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from functools import lru_cache

import numpy as np
from django.utils import timezone
from pyproj import CRS, Transformer

from layers.errors import InvalidBBox, InvalidParameter
from layers.vn2000 import VN2000_CRS

MAX_PARAM_LENGTH = 4000
MAX_NUMBER_LENGTH = 40  # digits, sign, point and exponent of any sensible number
MAX_MOMENT_LENGTH = 40  # '2025-07-01T10:20:30.123456+07:00' is 32
MAX_JSON_DEPTH = 32  # a GeoJSON MultiPolygon inside a feature body is 6 deep
CRS84_URI = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
EPSG_URI = "http://www.opengis.net/def/crs/EPSG/0/{}"
# CRSs offered: WGS 84, Web Mercator and every pinned VN-2000 code.
SUPPORTED_SRIDS = (4326, 3857, *sorted(VN2000_CRS))
GEOGRAPHIC_SRIDS = {4326, 4756}
# A projected CRS's area of use is widened by this share of its size on every side: a box a little
# outside a province is a fair question, a box at 1e30 metres is not (PROJ cannot transform it).
AREA_MARGIN = 0.25
WEB_MERCATOR_EDGE = 20037508.342789244
MAX_HEIGHT = 100_000.0  # metres: a 3D bbox's heights, from the ocean floor to far above any aircraft

_EPSG_PATTERNS = (
    re.compile(r"^(?:EPSG:)?([0-9]{4,6})$", re.I),
    re.compile(r"^https?://www\.opengis\.net/def/crs/EPSG/0/([0-9]{4,6})$"),
    re.compile(r"^urn:ogc:def:crs:EPSG:[0-9.]*:([0-9]{4,6})$", re.I),
)
_CRS84_NAMES = {CRS84_URI.lower(), "crs84", "ogc:crs84", "urn:ogc:def:crs:ogc:1.3:crs84", "[ogc:crs84]"}
# ASCII digits only: Python's \d also matches '١' and '５', which int() and float() then read as numbers.
_NUMBER = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_WHOLE = re.compile(r"[0-9]{1,19}")
SLUG = re.compile(r"[-a-zA-Z0-9_]{1,64}")


def _invalid(parameter: str, vi: str, en: str) -> InvalidParameter:
    return InvalidParameter(vi, en, parameter=parameter)


# ---- text -------------------------------------------------------------------------------------------

def check_text(value: str, parameter: str, *, max_length: int = MAX_PARAM_LENGTH) -> str:
    """Refuses over-long values and control characters before any further parsing."""
    if not isinstance(value, str):
        raise _invalid(parameter, f"Tham số {parameter} phải là chuỗi.", f"Parameter {parameter} must be text.")
    if len(value) > max_length:
        raise _invalid(parameter, f"Tham số {parameter} quá dài (tối đa {max_length} ký tự).",
                       f"Parameter {parameter} is too long (at most {max_length} characters).")
    if any(ord(ch) < 32 and ch != "\t" for ch in value) or "\x7f" in value:
        raise _invalid(parameter, f"Tham số {parameter} chứa ký tự điều khiển.",
                       f"Parameter {parameter} contains control characters.")
    return value


def parse_slug(raw: str | None, *, parameter: str = "layer") -> str:
    """A layer slug (letters, digits, '-', '_', at most 64): never a path, never SQL."""
    if not isinstance(raw, str) or not SLUG.fullmatch(raw):
        raise _invalid(parameter, f"{parameter} phải là mã lớp gồm chữ, số, '-' hoặc '_' (tối đa 64 ký tự).",
                       f"{parameter} must be a layer slug of letters, digits, '-' or '_' (at most 64 characters).")
    return raw


# ---- numbers ----------------------------------------------------------------------------------------

def parse_number(raw: str, *, parameter: str) -> int | float:
    """A finite number from text: an int when written without point or exponent; refused when too long,
    infinite (1e999) or vanishing to zero (1e-999), which would silently mean another number."""
    text = check_text(raw, parameter, max_length=MAX_NUMBER_LENGTH).strip(" ")  # '106.7, 10.7' in a bbox
    if not _NUMBER.fullmatch(text):
        raise _invalid(parameter, f"{parameter} phải là một số.", f"{parameter} must be a number.")
    if not any(c in text for c in ".eE"):
        return int(text)
    value = float(text)
    try:
        exact = Decimal(text)
    except InvalidOperation:  # pragma: no cover - the pattern admits only decimal numbers
        exact = Decimal(0)
    if not math.isfinite(value) or (value == 0 and exact != 0):
        raise _invalid(parameter, f"{parameter} nằm ngoài phạm vi số thực cho phép.",
                       f"{parameter} is outside the range of representable numbers.")
    return value


def parse_int(raw: str | None, *, parameter: str, default: int, minimum: int, maximum: int) -> int:
    """A whole number within [minimum, maximum]; 400 naming the parameter otherwise."""
    if raw is None or raw == "":
        return default
    text = check_text(raw, parameter, max_length=MAX_NUMBER_LENGTH)
    if not _WHOLE.fullmatch(text):  # ASCII digits, no sign, no blanks around
        raise _invalid(parameter, f"{parameter} phải là số nguyên không âm.",
                       f"{parameter} must be a non-negative whole number.")
    value = int(text)
    if not minimum <= value <= maximum:
        raise _invalid(parameter, f"{parameter} phải từ {minimum} đến {maximum}.",
                       f"{parameter} must be between {minimum} and {maximum}.")
    return value


# ---- CRS --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Crs:
    """An output/input CRS: its SRID, its URI, and whether coordinates go latitude first."""

    srid: int
    uri: str
    lat_first: bool = False

    @property
    def is_wgs84(self) -> bool:
        return self.srid == 4326

    @property
    def is_geographic(self) -> bool:
        return self.srid in GEOGRAPHIC_SRIDS


CRS84 = Crs(4326, CRS84_URI, False)


def crs_uri(srid: int) -> str:
    """The OGC URI of an EPSG code (CRS84 for 4326 in lon/lat order)."""
    return CRS84_URI if srid == 4326 else EPSG_URI.format(srid)


def supported_crs_uris() -> list[str]:
    """Every CRS the API offers, as URIs (CRS84 first, then EPSG:4326 in its own lat/lon order)."""
    return [CRS84_URI] + [EPSG_URI.format(s) for s in SUPPORTED_SRIDS]


def parse_crs(raw: str | None, *, parameter: str = "crs", ogc_axis_order: bool = False) -> Crs:
    """A CRS from '9210', 'EPSG:9210', an OGC URI or CRS84; 400 for anything else.

    With ogc_axis_order, EPSG:4326 and EPSG:4756 named by URI use their authority's latitude-first
    order (OGC API Part 2); downloads keep RFC 7946's longitude-first order for a bare '4326'.
    """
    if raw is None or raw.strip() == "":
        return CRS84
    value = check_text(raw, parameter, max_length=200).strip()
    if value.lower() in _CRS84_NAMES:
        return CRS84
    for pattern in _EPSG_PATTERNS:
        match = pattern.match(value)
        if match:
            srid = int(match.group(1))
            if srid in SUPPORTED_SRIDS:
                lat_first = ogc_axis_order and not value.isdigit() and srid in GEOGRAPHIC_SRIDS
                return Crs(srid, EPSG_URI.format(srid), lat_first)
            break
    codes = ", ".join(str(s) for s in SUPPORTED_SRIDS)
    raise _invalid(parameter, f"Hệ tọa độ không được hỗ trợ. Dùng một trong: CRS84, {codes}.",
                   f"Unsupported CRS. Use one of: CRS84, {codes}.")


@lru_cache(maxsize=64)
def crs_limits(srid: int) -> tuple[float, float, float, float]:
    """(minx, miny, maxx, maxy) a coordinate of this CRS may take, in its own x/y units: ±180/±90 for
    geographic CRSs, the area of use (EPSG, via pyproj) transformed and widened for projected ones."""
    if srid in GEOGRAPHIC_SRIDS:
        return (-180.0, -90.0, 180.0, 90.0)
    if srid == 3857:
        return (-WEB_MERCATOR_EDGE, -WEB_MERCATOR_EDGE, WEB_MERCATOR_EDGE, WEB_MERCATOR_EDGE)
    west, south, east, north = CRS.from_epsg(srid).area_of_use.bounds
    to_crs = Transformer.from_crs(4326, srid, always_xy=True)
    minx, miny, maxx, maxy = to_crs.transform_bounds(west, south, east, north, densify_pts=21)
    grow_x, grow_y = (maxx - minx) * AREA_MARGIN, (maxy - miny) * AREA_MARGIN
    return (minx - grow_x, miny - grow_y, maxx + grow_x, maxy + grow_y)


def check_in_crs(bounds: tuple[float, float, float, float], crs: Crs, *, parameter: str,
                 error=InvalidParameter) -> None:
    """Refuses coordinates (given as their x/y bounds, in the CRS's x/y order) that are not finite or
    lie outside what the CRS can hold."""
    if not all(math.isfinite(v) for v in bounds):
        raise error(f"Tọa độ {parameter} phải là số hữu hạn.", f"Coordinates in {parameter} must be finite numbers.",
                    parameter=parameter)
    minx, miny, maxx, maxy = crs_limits(crs.srid)
    if bounds[0] < minx or bounds[2] > maxx or bounds[1] < miny or bounds[3] > maxy:
        if crs.is_geographic:
            raise error(f"Tọa độ {parameter}: kinh độ phải từ -180 đến 180, vĩ độ từ -90 đến 90.",
                        f"Coordinates in {parameter}: longitudes must be between -180 and 180, latitudes between -90 and 90.",
                        parameter=parameter)
        limits = f"x {minx:.0f}…{maxx:.0f}, y {miny:.0f}…{maxy:.0f}"
        raise error(f"Tọa độ {parameter} nằm ngoài phạm vi của EPSG:{crs.srid} ({limits}).",
                    f"Coordinates in {parameter} lie outside the area of EPSG:{crs.srid} ({limits}).",
                    parameter=parameter)


# ---- bbox -------------------------------------------------------------------------------------------

def _bbox_error(parameter: str, vi: str, en: str) -> InvalidBBox:
    return InvalidBBox(f"bbox không hợp lệ: {vi}", f"Invalid bbox: {en}", parameter=parameter)


def check_bbox(numbers: list[float], crs: Crs = CRS84, *, parameter: str = "bbox",
               antimeridian: bool = True) -> tuple[float, float, float, float]:
    """4 or 6 numbers as written (axis order of the CRS) to (minx, miny, maxx, maxy) in x/y order, checked:
    finite, inside the CRS, ordered (a west edge east of the east edge crosses the antimeridian in
    geographic CRSs when `antimeridian`)."""
    if len(numbers) not in (4, 6):
        raise _bbox_error(parameter, "cần 4 hoặc 6 số.", "expected 4 or 6 numbers.")
    if len(numbers) == 6:  # 3D box: heights checked (finite, ordered, on Earth), then dropped
        low, high = float(numbers[2]), float(numbers[5])
        if not (math.isfinite(low) and math.isfinite(high) and -MAX_HEIGHT <= low <= high <= MAX_HEIGHT):
            raise _bbox_error(parameter, f"độ cao phải tăng dần và trong khoảng ±{MAX_HEIGHT:g} m.",
                              f"heights must be ordered (minimum first) and within ±{MAX_HEIGHT:g} m.")
        numbers = [numbers[0], numbers[1], numbers[3], numbers[4]]
    a, b, c, d = (float(n) for n in numbers)
    if crs.lat_first:  # EPSG:4326 by URI: south, west, north, east
        a, b, c, d = b, a, d, c
    if not all(math.isfinite(v) for v in (a, b, c, d)):
        raise _bbox_error(parameter, "các giá trị phải là số hữu hạn.", "values must be finite numbers.")
    check_in_crs((min(a, c), min(b, d), max(a, c), max(b, d)), crs, parameter=parameter, error=InvalidBBox)
    if b > d:
        raise _bbox_error(parameter, "cạnh nam lớn hơn cạnh bắc.", "the south edge is north of the north edge.")
    if a > c and not (antimeridian and crs.is_geographic):
        raise _bbox_error(parameter, "cạnh tây lớn hơn cạnh đông.", "the west edge is east of the east edge.")
    return (a, b, c, d)


def parse_bbox(raw: str | None, crs: Crs = CRS84, *, parameter: str = "bbox",
               antimeridian: bool = True) -> tuple[float, float, float, float] | None:
    """(minx, miny, maxx, maxy) in the CRS's x/y order from 'a,b,c,d[,e,f]', or None when absent."""
    if raw is None or raw == "":
        return None
    parts = check_text(raw, parameter, max_length=6 * (MAX_NUMBER_LENGTH + 1)).split(",")
    if len(parts) not in (4, 6):
        raise _bbox_error(parameter, "cần 4 hoặc 6 số.", "expected 4 or 6 numbers.")
    try:
        numbers = [float(parse_number(p, parameter=parameter)) for p in parts]
    except InvalidParameter:
        raise _bbox_error(parameter, "các giá trị phải là số hữu hạn.", "values must be finite numbers.") from None
    return check_bbox(numbers, crs, parameter=parameter, antimeridian=antimeridian)


# ---- points -----------------------------------------------------------------------------------------

def check_lonlat(lon: float, lat: float, *, parameter: str = "lon/lat") -> tuple[float, float]:
    """WGS 84 degrees that name a place: finite, |lon| <= 180, |lat| <= 90."""
    try:
        lon, lat = float(lon), float(lat)
    except (TypeError, ValueError):
        lon = lat = math.nan
    if not (math.isfinite(lon) and math.isfinite(lat) and -180 <= lon <= 180 and -90 <= lat <= 90):
        raise _invalid(parameter, "Tọa độ không hợp lệ: kinh độ phải từ -180 đến 180, vĩ độ từ -90 đến 90.",
                       "Invalid coordinates: longitude must be between -180 and 180, latitude between -90 and 90.")
    return lon, lat


def check_lonlat_array(coords: np.ndarray, *, parameter: str = "geometry") -> None:
    """Every (lon, lat[, …]) row of an array is finite WGS 84 degrees."""
    if not coords.size or not np.isfinite(coords).all():
        raise _invalid(parameter, "Tọa độ rỗng, NaN hoặc vô hạn.", "Empty, NaN or infinite coordinates.")
    lon, lat = coords[:, 0], coords[:, 1]
    if not ((-180 <= lon) & (lon <= 180) & (-90 <= lat) & (lat <= 90)).all():
        raise _invalid(parameter, "Tọa độ phải là kinh độ, vĩ độ (WGS 84).",
                       "Coordinates must be longitude, latitude (WGS 84).")


def parse_lonlat(lon: str | None, lat: str | None) -> tuple[float, float]:
    """Finite WGS 84 degrees from the query's lon and lat; 400 naming the bad one otherwise."""
    values = []
    for name, text, limit in (("lon", lon, 180.0), ("lat", lat, 90.0)):
        try:
            value = float(parse_number(text if text is not None else "", parameter=name))
        except InvalidParameter:
            value = math.nan
        if not abs(value) <= limit:
            raise _invalid(name, f"{name} phải là số độ trong khoảng ±{limit:g}.",
                           f"{name} must be a number of degrees within ±{limit:g}.")
        values.append(value)
    return values[0], values[1]


# ---- moments ----------------------------------------------------------------------------------------

def _moment_error(name: str) -> InvalidParameter:
    return _invalid(name, f"{name} phải là ngày ISO 8601 YYYY-MM-DD hoặc ngày giờ RFC 3339, ví dụ 2025-07-01 hoặc "
                          f"2025-07-01T08:00:00+07:00 (độ lệch múi giờ tối đa ±14:00).",
                    f"{name} must be an ISO 8601 date YYYY-MM-DD or an RFC 3339 date-time, e.g. 2025-07-01 or "
                    f"2025-07-01T08:00:00+07:00 (time-zone offset at most ±14:00).")


# The only forms read: a calendar date (its end), or date, 'T', hours and minutes, optional seconds and
# fraction, optional Z or ±HH:MM. No basic (20250701), week (2025W272), hour-only or seconds-in-offset forms:
# each meant another moment than it seemed or failed in PostgreSQL ("time zone displacement out of range").
_MOMENT = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})"
                     r"(?:T([0-9]{2}):([0-9]{2})(?::([0-9]{2})(?:\.([0-9]{1,6}))?)?(Z|[+-][0-9]{2}:[0-9]{2})?)?", re.I)
MIN_YEAR, MAX_YEAR = 1000, 9999
MAX_OFFSET = dt.timedelta(hours=14)  # Kiribati, the furthest real time zone


def _read_moment(match: re.Match) -> dt.datetime:
    """The moment a _MOMENT match names (ValueError when no such day, hour or offset exists)."""
    year, month, day, hour, minute, second, fraction, offset = match.groups()
    date = dt.date(int(year), int(month), int(day))
    if hour is None:  # a date alone means its end, in local time
        return timezone.make_aware(dt.datetime.combine(date, dt.time.max))
    time = dt.time(int(hour), int(minute), int(second or 0), int((fraction or "0").ljust(6, "0")))
    value = dt.datetime.combine(date, time)
    if offset is None:
        return timezone.make_aware(value)
    if offset.upper() == "Z":
        return value.replace(tzinfo=dt.timezone.utc)
    shift = dt.timedelta(hours=int(offset[1:3]), minutes=int(offset[4:6]))
    if int(offset[4:6]) > 59 or shift > MAX_OFFSET:
        raise ValueError(offset)
    return value.replace(tzinfo=dt.timezone(-shift if offset[0] == "-" else shift))


def parse_moment(text: str | None, name: str = "as_of") -> dt.datetime:
    """A YYYY-MM-DD date (its end, local time) or an RFC 3339 date-time (seconds optional; local time when no
    offset), read whole and refused when longer than MAX_MOMENT_LENGTH, never cut; it must convert to UTC and
    to local time (pages show it so) within years MIN_YEAR..MAX_YEAR. Every door that reads a moment parses here."""
    if not isinstance(text, str) or len(text) > MAX_MOMENT_LENGTH:
        raise _moment_error(name)
    text = check_text(text, name).replace(" ", "+")  # '+07:00' arrives as ' 07:00' when not URL-encoded
    match = _MOMENT.fullmatch(text)
    if match is None:
        raise _moment_error(name)
    try:
        value = _read_moment(match)
        for seen in (value.astimezone(dt.timezone.utc), timezone.localtime(value)):
            if not MIN_YEAR <= seen.year <= MAX_YEAR:
                raise ValueError(seen)
    except (ValueError, OverflowError):  # no such day or offset, or pushed out of range by the time zone
        raise _moment_error(name) from None
    return value


def parse_datetime_param(raw: str | None, *, parameter: str) -> dt.datetime | None:
    """An optional moment parameter: None when absent or empty."""
    if raw is None or raw == "":
        return None
    return parse_moment(raw, parameter)


# ---- field lists and JSON bodies --------------------------------------------------------------------

def parse_field_list(raw: str | None, allowed: list[str], *, parameter: str = "properties") -> list[str] | None:
    """A comma-separated list of field names from the allow-list, or None for all fields."""
    if raw is None:
        return None
    names = [n.strip() for n in check_text(raw, parameter).split(",") if n.strip()]
    unknown = [n for n in names if n not in allowed]
    if unknown:
        raise _invalid(parameter, f"Trường không tồn tại trong lớp: {', '.join(unknown)[:200]}.",
                       f"Unknown field(s) for this layer: {', '.join(unknown)[:200]}.")
    return list(dict.fromkeys(names))


_JSON_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.S)


def json_depth(raw: bytes) -> int:
    """How deeply arrays and objects nest in JSON text (strings, with their brackets, left out), counted
    without parsing: the parser and everything after it recurse once per level."""
    skeleton = np.frombuffer(_JSON_STRING.sub(b'""', raw), dtype=np.uint8)
    steps = np.isin(skeleton, (ord("["), ord("{"))).astype(np.int32) - np.isin(skeleton, (ord("]"), ord("}")))
    return int(np.cumsum(steps).max()) if steps.size else 0


def _no_constant(name: str):
    raise ValueError(f"{name} is not JSON")  # NaN, Infinity: Python's json accepts them, JSON does not


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value) or (value == 0 and any(c in "123456789" for c in text.split("e")[0].split("E")[0])):
        raise ValueError(text)  # 1e400 would become inf, 1e-400 zero
    return value


def _bounded_int(text: str) -> int:
    if len(text) > MAX_NUMBER_LENGTH:  # int('9' * 5000) is slow, then refused by Python itself
        raise ValueError(text[:20])
    return int(text)


def _unique_keys(pairs: list[tuple[str, object]]) -> dict:
    keys = [key for key, _ in pairs]
    if len(set(keys)) != len(keys):  # {"op":"=","op":"<>"}: Python keeps the last, another reader the first
        raise ValueError("duplicate key")
    return dict(pairs)


def _has_nul(value) -> bool:
    """True when a string or key anywhere in decoded JSON holds NUL (PostgreSQL text and jsonb cannot)."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if "\x00" in item:
                return True
        elif isinstance(item, dict):
            stack += list(item.keys()) + list(item.values())
        elif isinstance(item, list):
            stack += item
    return False


def parse_json(raw: bytes | str, *, parameter: str = "body", max_depth: int = MAX_JSON_DEPTH):
    """JSON text as Python values; 400 when it is not JSON, nests deeper than max_depth, repeats a key in an
    object or holds NUL in a string."""
    data = raw.encode("utf-8", "surrogatepass") if isinstance(raw, str) else bytes(raw)
    if json_depth(data) > max_depth:
        raise _invalid(parameter, f"JSON lồng quá sâu (tối đa {max_depth} cấp).",
                       f"The JSON nests too deeply (at most {max_depth} levels).")
    try:
        value = json.loads(data, parse_constant=_no_constant, parse_float=_finite_float, parse_int=_bounded_int,
                           object_pairs_hook=_unique_keys)
        if _has_nul(value):
            raise ValueError("NUL")
        # A lone surrogate ("\ud800") is valid JSON but no UTF-8 text: the database could not store it.
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except (ValueError, UnicodeError, RecursionError):
        raise _invalid(parameter, "Nội dung không phải JSON hợp lệ (UTF-8, không lặp khóa, không có ký tự NUL).",
                       "The request body is not valid JSON (UTF-8, no repeated keys, no NUL character).") from None
    return value
