"""Wards as residents name them: with or without diacritics, before or after the 2025 merger.

A former ward has one current unit, or two where the 2025 reform split it (layers/crosswalk.py); which of
the two a parcel belongs to is where it lies (current_ward_at), never the former ward's main successor.
"""
import difflib
import re
import unicodedata
from dataclasses import dataclass

from layers import core
from layers import db
from layers.crosswalk import Successor, successors_of
from layers.models import Layer
from layers.selectors import can_view


@dataclass(frozen=True)
class Ward:
    """A ward; a former one (valid_to set) carries the current unit(s) that took its area, the main one first."""

    code: str
    name: str
    former: bool
    successors: tuple[Successor, ...] = ()

    @property
    def split(self) -> bool:
        """Whether the 2025 reform divided this former ward between two current wards."""
        return len(self.successors) > 1

    @property
    def current_codes(self) -> tuple[str, ...]:
        """The codes of the current ward(s) it is part of (its own code for a current ward)."""
        return tuple(s.code for s in self.successors) or (self.code,)

    @property
    def current_name(self) -> str:
        """The current ward's name; both names for a split ward ('Linh Xuân / Thủ Đức')."""
        return " / ".join(s.name for s in self.successors) or self.name


# Đ (U+0110) has no decomposition; Ð (U+00D0, Icelandic eth) is typed for it by some keyboards.
_D = str.maketrans({"đ": "d", "Đ": "D", "ð": "d", "Ð": "D"})


def fold(text: str) -> str:
    """Lower case without Vietnamese diacritics, spaces collapsed ('Thảo  Điền' -> 'thao dien'), as
    gisportal_fold() in SQL (NFKD also unfolds full-width letters and ligatures that phones may type)."""
    stripped = "".join(c for c in unicodedata.normalize("NFKD", text.translate(_D)) if not unicodedata.combining(c))
    return " ".join(stripped.casefold().split())


# "Phường Thảo Điền", "P. Thảo Điền", "P.Thảo Điền", "p thao dien", "Phuong: Thao Dien", "Thao Dien ward".
_PREFIX = re.compile(r"^(?:phuong|p|ward)\b[\s.:,-]*")
_SUFFIX = re.compile(r"[\s,]+(?:ward|phuong)$")


def name_key(text: str) -> str:
    """A ward name as compared everywhere: folded, without the 'phường' / 'P.' / 'ward' that people add."""
    key = fold(text)
    return _SUFFIX.sub("", _PREFIX.sub("", key, count=1)).strip()


_WARDS_SQL = """
WITH w AS (
    SELECT geom, properties AS p FROM layers_feature
    WHERE layer_id = %(layer)s AND properties->>'level' = 'ward'
)
SELECT o.p->>'code', o.p->>'name', o.p->>'valid_to' IS NOT NULL, coalesce(c.codes, '{}'), coalesce(c.names, '{}')
FROM w o
LEFT JOIN LATERAL (
    -- Every current ward holding a real share of a former one, largest first: a split ward has two.
    SELECT array_agg(n.p->>'code' ORDER BY ST_Area(ST_Intersection(n.geom, o.geom)) DESC) AS codes,
           array_agg(n.p->>'name' ORDER BY ST_Area(ST_Intersection(n.geom, o.geom)) DESC) AS names
    FROM w n
    WHERE o.p->>'valid_to' IS NOT NULL AND n.p->>'valid_to' IS NULL AND n.geom && o.geom
      AND ST_Area(ST_Intersection(n.geom, o.geom)) > 0.01 * ST_Area(o.geom)
) c ON true
ORDER BY o.p->>'name'
"""

_cache: dict[tuple[int, object], list[Ward]] = {}


def _successors(code: str, former: bool, codes: list[str], names: list[str]) -> tuple[Successor, ...]:
    """The reviewed crosswalk where it lists the ward; elsewhere what the boundaries say."""
    if not former:
        return ()
    return successors_of(code) or tuple(Successor(c, n) for c, n in zip(codes, names))


def all_wards(user) -> list[Ward]:
    """Every ward of the administrative-units layer (empty when the user may not see it)."""
    layer = Layer.objects.filter(slug=core.ADMIN_UNITS).first()
    if layer is None or not can_view(user, layer):
        return []
    key = (layer.pk, layer.last_changed)
    if key not in _cache:
        with db.cursor(read=True) as cursor:
            cursor.execute(_WARDS_SQL, {"layer": layer.pk})
            rows = cursor.fetchall()
        _cache.clear()
        _cache[key] = [Ward(code, name, former, _successors(code, former, codes, names))
                       for code, name, former, codes, names in rows]
    return _cache[key]


def resolve_ward(user, text: str, *, limit: int = 5) -> list[Ward]:
    """Wards matching what a resident typed: code or exact name (folded) first, then prefix, then near spellings."""
    wanted = name_key(text)
    if not wanted:
        return []
    wards = all_wards(user)
    keys = {w: name_key(w.name) for w in wards}
    exact = [w for w in wards if w.code == wanted or keys[w] == wanted]
    prefix = [w for w in wards if keys[w].startswith(wanted) and w not in exact]
    by_key: dict[str, list[Ward]] = {}
    for ward in wards:
        by_key.setdefault(keys[ward], []).append(ward)
    close = [w for k in difflib.get_close_matches(wanted, list(by_key), n=limit, cutoff=0.75) for w in by_key[k]]
    ordered: list[Ward] = []
    for ward in exact + prefix + close:
        if ward not in ordered:
            ordered.append(ward)
    # A former ward first: parcels are still keyed by the former ward codes.
    ordered.sort(key=lambda w: (w not in exact, not w.former))
    return ordered[:limit]


def is_exact(ward: Ward, text: str) -> bool:
    """Whether the text names this ward (its code, or its name however folded), not merely a near spelling."""
    wanted = name_key(text)
    return bool(wanted) and (ward.code == wanted or name_key(ward.name) == wanted)


def ward_by_code(user, code: str) -> Ward | None:
    """The ward with this code, the former one first: parcels are keyed by former codes, and the 2025 reform
    gave every new ward the code of some former one (27094 was An Khánh, is the larger An Khánh)."""
    matches = sorted((w for w in all_wards(user) if w.code == code), key=lambda w: not w.former)
    return matches[0] if matches else None


def current_ward_by_code(user, code: str) -> Ward | None:
    """The current (since 1 July 2025) ward with this code."""
    return next((w for w in all_wards(user) if w.code == code and not w.former), None)


def former_wards_of(user, current_code: str) -> list[Ward]:
    """The former wards wholly or partly merged into a current one (for 'which old ward?' choices)."""
    return [w for w in all_wards(user) if w.former and current_code in w.current_codes]


_CURRENT_AT_SQL = """
SELECT properties->>'code' FROM layers_feature
WHERE layer_id = %(layer)s AND properties->>'level' = 'ward' AND properties->>'valid_to' IS NULL
  AND geom && %(point)s::geometry AND ST_Intersects(geom, %(point)s::geometry)
ORDER BY properties->>'code' LIMIT 1
"""


def current_ward_at(user, geom) -> Ward | None:
    """The current ward a geometry lies in (judged at its inner point), or None outside every ward."""
    layer = Layer.objects.filter(slug=core.ADMIN_UNITS).first()
    if layer is None or not can_view(user, layer) or geom is None or geom.empty:
        return None
    point = geom.point_on_surface
    with db.cursor(read=True) as cursor:
        cursor.execute(_CURRENT_AT_SQL, {"layer": layer.pk, "point": point.ewkt})
        row = cursor.fetchone()
    return current_ward_by_code(user, row[0]) if row else None
