"""A layer's extent as people read it: a place and a size ("Thủ Đức, khoảng 12 × 15 km"), the exact box kept
for developers (rounded to 6 decimals, about 0.1 m).

The place comes from the administrative units the box covers: one to three current wards by name, else the
city that holds most of it, else the ward covering most and how many others. The size is the box's width
(east–west, at its middle latitude) and height (north–south), rounded as a person would say it.
"""
import math
import unicodedata
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from layers import core, db
from layers.models import Layer
from layers.selectors import can_view

EARTH_RADIUS_M = 6_371_008.8  # the mean radius: the size is "about", a sphere is enough
MAX_NAMED_WARDS = 3
_PREFIXES = ("thành phố ", "tp. ", "tp ", "quận ", "huyện ", "phường ", "p. ", "xã ", "thị xã ")

_UNITS_SQL = """
WITH box AS (SELECT ST_MakeEnvelope(%(w)s, %(s)s, %(e)s, %(n)s, 4326) AS g)
SELECT f.properties->>'level', f.properties->>'name',
       ST_Area(ST_Intersection(f.geom, box.g)::geography) AS shared, ST_Area(f.geom::geography) AS own,
       ST_Intersects(f.geom, box.g) AS meets
FROM layers_feature f, box
WHERE f.layer_id = %(layer)s AND f.geom && box.g
  AND (f.properties->>'level' = 'city' OR (f.properties->>'level' = 'ward' AND f.properties->>'valid_to' IS NULL))
  AND coalesce(f.properties->>'name', '') <> ''
ORDER BY shared DESC
"""


@dataclass(frozen=True)
class ReadableExtent:
    """What the catalog shows: the sentence in both languages, and the exact box for developers."""

    text_vi: str
    text_en: str
    bbox: tuple[float, float, float, float]  # west, south, east, north (CRS84), 6 decimals

    def text(self, language: str) -> str:
        return self.text_en if (language or "").startswith("en") else self.text_vi


def box_size_m(west: float, south: float, east: float, north: float) -> tuple[float, float]:
    """(width, height) in metres: east–west along the middle latitude, north–south along a meridian."""
    middle = math.radians((south + north) / 2)
    width = EARTH_RADIUS_M * math.radians(east - west) * math.cos(middle)
    height = EARTH_RADIUS_M * math.radians(north - south)
    return abs(width), abs(height)


def _number(value: Decimal, language: str) -> str:
    """A rounded number with the language's decimal comma or point and thousands separator."""
    text = f"{value:,f}"
    if language.startswith("en"):
        return text
    return text.replace(",", "\u2009").replace(".", ",").replace("\u2009", ".")


def _rounded(value: float, places: int) -> Decimal:
    step = Decimal(1).scaleb(-places)
    return Decimal(repr(value)).quantize(step, rounding=ROUND_HALF_UP)


def _side(metres: float, language: str, *, km: bool) -> tuple[str, str]:
    """One side as (number, unit): in km (whole from 10 km, one decimal below), or in metres (two significant
    figures, whole metres at least; '< 1' under a metre)."""
    if km:
        km = metres / 1000
        return _number(_rounded(km, 0 if km >= 9.95 else 1).normalize(), language), "km"
    if metres < 0.5:
        return "< 1", "m"
    places = -(int(math.floor(math.log10(metres))) - 1)  # two significant figures
    return _number(_rounded(metres, min(places, 0)).quantize(Decimal(1)), language), "m"


def format_size(width_m: float, height_m: float, language: str = "vi") -> str:
    """'12 × 15 km', '1,5 × 0,4 km', '350 × 420 m' (vi: decimal comma), '1,5 km × 20 m' (a side under 100 m
    beside one over 1 km keeps its metres), or 'a single point'."""
    big, small = max(width_m, height_m), min(width_m, height_m)
    if big < 0.5:
        return "a single point" if language.startswith("en") else "một điểm"
    both_km = big >= 999.5 and small >= 99.5
    (w, w_unit), (h, h_unit) = (_side(side, language, km=both_km or side >= 999.5) for side in (width_m, height_m))
    if w_unit == h_unit:
        return f"{w} × {h} {w_unit}"
    return f"{w} {w_unit} × {h} {h_unit}"


def short_name(name: str) -> str:
    """A unit's name without its rank ('Thành phố Thủ Đức' → 'Thủ Đức'), as people say it."""
    lowered = name.lower()
    for prefix in _PREFIXES:
        if lowered.startswith(prefix) and len(name) > len(prefix):
            return name[len(prefix):].strip()
    return name.strip()


def ascii_name(name: str) -> str:
    """The name without diacritics, case kept ('Thủ Đức' → 'Thu Duc'): how English texts write Vietnamese places."""
    name = name.replace("đ", "d").replace("Đ", "D")
    return "".join(c for c in unicodedata.normalize("NFD", name) if unicodedata.category(c) != "Mn")


def _places(units: list[tuple], box_area: float) -> tuple[str, str] | None:
    """(vi, en) names of the place the box covers, from (level, name, shared area, own area, meets) rows.
    A box with no area (one point, a straight line) is in the units it meets."""
    if box_area < 1.0:
        wards = [(name, 0.0) for level, name, _, _, meets in units if level == "ward" and meets]
        cities = [(name, 0.0) for level, name, _, _, meets in units if level == "city" and meets]
    else:
        wards = [(name, shared) for level, name, shared, own, _ in units
                 if level == "ward" and shared > 0 and (shared >= 0.1 * box_area or shared >= 0.5 * own)]
        cities = [(name, shared) for level, name, shared, _, _ in units if level == "city" and shared >= 0.3 * box_area]
    if 1 <= len(wards) <= MAX_NAMED_WARDS:
        names = [short_name(name) for name, _ in wards]
        if len(names) == 1:
            return names[0], ascii_name(names[0])
        english = [ascii_name(name) for name in names]
        return ", ".join(names[:-1]) + " và " + names[-1], ", ".join(english[:-1]) + " and " + english[-1]
    if cities:
        name = short_name(cities[0][0])
        return name, ascii_name(name)
    if wards:
        first, others = short_name(wards[0][0]), len(wards) - 1
        return f"{first} và {others} phường khác", f"{ascii_name(first)} and {others} other wards"
    return None


def _units(user, bbox: tuple[float, float, float, float]) -> list[tuple]:
    """The administrative units meeting the box (none when the user may not see that layer)."""
    admin = Layer.objects.filter(slug=core.ADMIN_UNITS, kind="vector").first()
    if admin is None or not can_view(user, admin):
        return []
    west, south, east, north = bbox
    with db.cursor(read=True) as cursor:
        cursor.execute(_UNITS_SQL, {"w": west, "s": south, "e": east, "n": north, "layer": admin.pk})
        return cursor.fetchall()


def sentence(place: tuple[str, str] | None, width_m: float, height_m: float) -> tuple[str, str]:
    """('Thủ Đức, khoảng 12 × 15 km', 'Thu Duc, about 12 × 15 km'); without a place, 'Khoảng …' / 'About …'."""
    size_vi, size_en = format_size(width_m, height_m, "vi"), format_size(width_m, height_m, "en")
    approx_vi = "" if size_vi == "một điểm" else "khoảng "
    approx_en = "" if size_en == "a single point" else "about "
    if place is None:
        return _first_upper(approx_vi + size_vi), _first_upper(approx_en + size_en)
    return f"{place[0]}, {approx_vi}{size_vi}", f"{place[1]}, {approx_en}{size_en}"


def _first_upper(text: str) -> str:
    return text[:1].upper() + text[1:]


def readable_extent(user, layer: Layer) -> ReadableExtent | None:
    """The layer's extent as a place and a size, with the exact box; None for a layer with no extent yet."""
    if layer.extent is None:
        return None
    bbox = tuple(round(v, 6) for v in layer.extent.extent)
    width, height = box_size_m(*bbox)
    units = _units(user, bbox)
    box_area = width * height
    text_vi, text_en = sentence(_places(units, box_area), width, height)
    return ReadableExtent(text_vi, text_en, bbox)  # type: ignore[arg-type]
