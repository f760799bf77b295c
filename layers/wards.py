"""Wards as residents name them: with or without diacritics, before or after the 2025 merger."""
import difflib
import unicodedata
from dataclasses import dataclass


from layers import core
from layers import db
from layers.models import Layer
from layers.selectors import can_view


@dataclass(frozen=True)
class Ward:
    """A ward; a former one (valid_to set) carries the current unit that took most of its area."""

    code: str
    name: str
    former: bool
    current_code: str
    current_name: str


def fold(text: str) -> str:
    """Lower case without Vietnamese diacritics ('Thảo Điền' -> 'thao dien'), as gisportal_fold() in SQL."""
    text = text.replace("đ", "d").replace("Đ", "D")
    stripped = "".join(c for c in unicodedata.normalize("NFD", text) if unicodedata.category(c) != "Mn")
    return " ".join(stripped.lower().split())


_WARDS_SQL = """
WITH w AS (
    SELECT geom, properties AS p FROM layers_feature
    WHERE layer_id = %(layer)s AND properties->>'level' = 'ward'
)
SELECT o.p->>'code', o.p->>'name', o.p->>'valid_to' IS NOT NULL, c.code, c.name
FROM w o
LEFT JOIN LATERAL (
    SELECT n.p->>'code' AS code, n.p->>'name' AS name FROM w n
    WHERE o.p->>'valid_to' IS NOT NULL AND n.p->>'valid_to' IS NULL AND n.geom && o.geom
    ORDER BY ST_Area(ST_Intersection(n.geom, o.geom)) DESC
    LIMIT 1
) c ON true
ORDER BY o.p->>'name'
"""

_cache: dict[tuple[int, object], list[Ward]] = {}


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
        _cache[key] = [
            Ward(code, name, former, current_code or code, current_name or name)
            for code, name, former, current_code, current_name in rows
        ]
    return _cache[key]


def resolve_ward(user, text: str, *, limit: int = 5) -> list[Ward]:
    """Wards matching what a resident typed: exact (any accents) first, then prefix, then near spellings."""
    wanted = fold(text.removeprefix("phường").removeprefix("Phường"))
    wanted = wanted.removeprefix("phuong ").strip()
    if not wanted:
        return []
    wards = all_wards(user)
    by_code = [w for w in wards if w.code == wanted]
    exact = [w for w in wards if fold(w.name) == wanted]
    prefix = [w for w in wards if fold(w.name).startswith(wanted) and w not in exact]
    names = {fold(w.name): w for w in wards}
    close = [names[n] for n in difflib.get_close_matches(wanted, list(names), n=limit, cutoff=0.75)]
    ordered: list[Ward] = []
    for ward in by_code + exact + prefix + close:
        if ward not in ordered:
            ordered.append(ward)
    # A former ward first: parcels are still keyed by the former ward codes.
    ordered.sort(key=lambda w: (fold(w.name) != wanted and w.code != wanted, not w.former))
    return ordered[:limit]


def ward_by_code(user, code: str) -> Ward | None:
    """The ward with this code, the former one first: parcels are keyed by former codes, and the 2025
    reform gave some new wards the code of a former one (26812 was Hiệp Bình Chánh, is Hiệp Bình)."""
    matches = sorted((w for w in all_wards(user) if w.code == code), key=lambda w: not w.former)
    return matches[0] if matches else None


def former_wards_of(user, current_code: str) -> list[Ward]:
    """The former wards merged into a current one (for 'which old ward?' choices)."""
    return [w for w in all_wards(user) if w.former and w.current_code == current_code]
