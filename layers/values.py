"""The one definition of what an attribute value may be, shared by every door that writes features.

The editor, the admin, split, revert and run revert call `coerce_value` per value; ingest checks whole
columns with the same limits (ingest/validate.py imports them from here). The limits are those of the
places a value goes after it is stored:

- integer: a 64-bit integer in tiles (`::bigint`) and downloads (GDAL Integer64), a float64 in every
  browser: so whole numbers within ±(2^53 − 1), exact in all of them (1e30 broke tiles and downloads).
- number: finite and within ±1e15: beyond that a Shapefile's DBF Real field cannot hold it (1e30 is
  written as garbage), and no area, width or ratio of a city comes near.
- date: a real calendar date written YYYY-MM-DD (or YYYY/MM/DD; a time after it is dropped), in the years
  1800–2200: older or later dates in planning records are typing mistakes.
- text and code: at most `max_length` characters (a field may set its own, up to 10,000); 1,000 by
  default: a long address or plan name fits, and a tile never carries a megabyte. (A Shapefile download
  keeps 254 bytes of a text, a DBF limit that ~85 Vietnamese characters already reach, so it cannot be
  the limit here; the download's fields.txt says so.) No NUL and no other control characters but tab and
  line breaks (PostgreSQL's jsonb refuses NUL), no lone surrogates (not UTF-8).
- properties outside the schema: at most MAX_EXTRA of them, names of at most 64 letters, digits or `_`
  (not starting with a digit), values scalar (text, number, true/false, null) within the limits above.
"""
import datetime as dt
import math
import re

INTEGER_MAX = 2**53 - 1
INTEGER_MIN = -INTEGER_MAX
NUMBER_LIMIT = 1e15
DATE_MIN = dt.date(1800, 1, 1)
DATE_MAX = dt.date(2200, 12, 31)
TEXT_MAX_LENGTH = 1000
TEXT_MAX_LENGTH_CEILING = 10_000
MAX_PROPERTIES = 200  # schema fields and extra properties together
MAX_EXTRA = 50
NAME_MAX_LENGTH = 64
# Column names GDAL's writers take for the feature id and the geometry (GeoPackage fid/geom, CSV WKT, the
# platform's own feature_id): a property of that name would fail a layer's download for everyone.
RESERVED_NAMES = frozenset({"fid", "ogc_fid", "geom", "geometry", "wkt", "the_geom", "feature_id"})
# The platform's feature id in every download (opendata.files); ingest drops the column when a download comes back.
FEATURE_ID = "feature_id"

# ASCII digits only ([0-9], not \d): int() and float() would read '١٢' or '１２' as 12.
_INTEGER_TEXT = re.compile(r"[+-]?[0-9]{1,20}(\.0*)?")
_NUMBER_TEXT = re.compile(r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]{1,3})?")
_DATE_TEXT = re.compile(r"([0-9]{4})[-/]([0-9]{2})[-/]([0-9]{2})([T ][0-9:.+\-Z]{0,30})?")
_NAME = re.compile(r"[^\W\d]\w{0,%d}" % (NAME_MAX_LENGTH - 1))
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


class BadValue(ValueError):
    """A value that does not fit its field, with why in Vietnamese and English."""

    def __init__(self, message_vi: str, message_en: str):
        super().__init__(message_en)
        self.message_vi, self.message_en = message_vi, message_en


def text_limit(spec: dict) -> int:
    """The field's maximum length in characters (its own `max_length`, else the default)."""
    limit = spec.get("max_length")
    if isinstance(limit, int) and not isinstance(limit, bool) and 0 < limit:
        return min(limit, TEXT_MAX_LENGTH_CEILING)
    return TEXT_MAX_LENGTH


def number_bounds(spec: dict) -> tuple[float, float]:
    """(low, high) for an integer or number field: the type's range, narrowed by the field's `min`/`max`."""
    low, high = (INTEGER_MIN, INTEGER_MAX) if spec.get("type") == "integer" else (-NUMBER_LIMIT, NUMBER_LIMIT)
    if isinstance(spec.get("min"), (int, float)) and not isinstance(spec.get("min"), bool):
        low = max(low, spec["min"])
    if isinstance(spec.get("max"), (int, float)) and not isinstance(spec.get("max"), bool):
        high = min(high, spec["max"])
    return low, high


def clean_text(value: str, limit: int) -> str:
    """A text value checked for length, control characters and encodability."""
    if len(value) > limit:
        raise BadValue(f"Văn bản dài quá {limit} ký tự ({len(value)}).", f"Text longer than {limit} characters ({len(value)}).")
    if _CONTROL.search(value):
        raise BadValue("Văn bản chứa ký tự điều khiển.", "Text contains control characters.")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise BadValue("Văn bản không phải Unicode hợp lệ.", "Text is not valid Unicode.") from None
    return value


def _text(spec: dict, value) -> str:
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise BadValue("Cần một chuỗi văn bản.", "A text value is needed.")
    if isinstance(value, float):
        if not math.isfinite(value):
            raise BadValue("Cần một chuỗi văn bản.", "A text value is needed.")
        value = str(int(value)) if value.is_integer() and abs(value) <= INTEGER_MAX else str(value)
    return clean_text(str(value), text_limit(spec))


def _code(spec: dict, value) -> str:
    text = _text(spec, value)
    if text not in spec.get("choices", []):
        raise BadValue("Giá trị không nằm trong danh sách cho phép.", "Not one of the allowed values.")
    return text


def _range(spec: dict, number: float) -> None:
    low, high = number_bounds(spec)
    if not (low <= number <= high):
        raise BadValue(f"Giá trị phải nằm trong khoảng {low:g} đến {high:g}.", f"The value must lie between {low:g} and {high:g}.")


def _integer(spec: dict, value) -> int:
    if isinstance(value, str) and _INTEGER_TEXT.fullmatch(value.strip()):
        value = int(value.strip().split(".")[0])
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        _range(spec, value)
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise BadValue("Cần một số nguyên.", "A whole number is needed.")
    _range(spec, value)
    return value


def _number(spec: dict, value) -> float | int:
    if isinstance(value, str) and _NUMBER_TEXT.fullmatch(value.strip()):
        value = float(value.strip())
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > NUMBER_LIMIT:
        value = math.inf  # a 400-digit integer: float() would overflow; refused as out of range below
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise BadValue("Cần một số hữu hạn.", "A finite number is needed.")
    _range(spec, value)
    return float(value)


def parse_date(value) -> dt.date | None:
    """A date from a date, a datetime or text written YYYY-MM-DD or YYYY/MM/DD (a time after it is dropped)."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if not isinstance(value, str) or len(value) > 40:
        return None
    match = _DATE_TEXT.fullmatch(value.strip())
    if match is None:
        return None
    try:
        return dt.date(int(match[1]), int(match[2]), int(match[3]))
    except ValueError:
        return None


def _date(spec: dict, value) -> str:
    day = parse_date(value)
    if day is None:
        raise BadValue("Cần một ngày có thật, dạng YYYY-MM-DD.", "A real date is needed, written YYYY-MM-DD.")
    if not (DATE_MIN <= day <= DATE_MAX):
        raise BadValue(f"Ngày phải trong khoảng năm {DATE_MIN.year}–{DATE_MAX.year}.",
                       f"The date must lie in the years {DATE_MIN.year}–{DATE_MAX.year}.")
    return day.isoformat()


_COERCE = {"text": _text, "code": _code, "integer": _integer, "number": _number, "date": _date}


def coerce_value(spec: dict, value):
    """The value converted to the field's type within its limits; BadValue when it cannot be."""
    coerce = _COERCE.get(spec.get("type"))
    if coerce is None:
        raise BadValue(f"Kiểu trường không rõ: {str(spec.get('type'))[:40]}.", f"Unknown field type {str(spec.get('type'))[:40]}.")
    return coerce(spec, value)


def check_name(name) -> None:
    """A property name outside the schema: letters, digits and _, not starting with a digit, at most 64,
    and none of the names the export formats keep for themselves (any case)."""
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise BadValue(f"Tên thuộc tính phải gồm chữ, số và _ (tối đa {NAME_MAX_LENGTH} ký tự).",
                       f"A property name must be letters, digits and _ (at most {NAME_MAX_LENGTH} characters).")
    if name.lower() in RESERVED_NAMES:
        raise BadValue(f"Tên thuộc tính '{name}' được dành cho định dạng tải về; hãy đặt tên khác.",
                       f"The property name '{name}' is reserved by the download formats; choose another.")


def case_clashes(names) -> list[str]:
    """Names that differ from another only in case (GeoPackage, Shapefile and CSV columns would clash)."""
    seen: dict[str, str] = {}
    clashes = []
    for name in names:
        folded = str(name).lower()
        if folded in seen:
            clashes.append(str(name))
        seen.setdefault(folded, str(name))
    return clashes


def extra_value(value):
    """A value of a property outside the schema: a scalar within the limits of its kind."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int):
        return _integer({"type": "integer"}, value)
    if isinstance(value, float):
        return _number({"type": "number"}, value)
    if isinstance(value, str):
        return clean_text(value, TEXT_MAX_LENGTH)
    raise BadValue("Thuộc tính ngoài lược đồ phải là giá trị đơn (chuỗi, số, đúng/sai).",
                   "A property outside the schema must be a single value (text, number, true/false), not a list or object.")
