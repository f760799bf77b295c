"""The search box: addresses, wards, parcels as 'ward / sheet / number', and feature labels.

An address as residents write it (layers.addresses) puts the parcel at that number, street and unit first;
then everything is diacritic-insensitive (gisportal_fold) and typo-tolerant (pg_trgm word similarity over
the feature_label_trgm index). Input is only ever a parameter; its length is capped.
"""
import difflib
import re
from dataclasses import dataclass, field

from django.db import OperationalError

from layers import core, db
from layers.addresses import Address, parse_address
from layers.core import SEARCHABLE_KEYS
from layers.errors import NotFound
from layers.lookup import as_dict, parcel_by_key
from layers.models import Layer
from layers.personal import hidden_fields, visible_properties
from layers.selectors import can_view, layers_visible_to
from layers.wards import all_wards, fold, resolve_ward, ward_by_code

MAX_QUERY = 100


def label_sql(keys) -> str:
    """The folded label of a feature from these searchable keys."""
    return "gisportal_fold(" + " || ' ' || ".join(f"coalesce(properties->>'{k}', '')" for k in keys) + ")"


# The expression and predicate of the partial index feature_label_trgm (migration 0003), repeated
# exactly so the planner can use it.
LABEL_SQL = label_sql(SEARCHABLE_KEYS)
HAS_LABEL = "(" + " OR ".join(f"properties ? '{k}'" for k in SEARCHABLE_KEYS) + ")"
# "Thảo Điền / 12 / 345", "thao dien, tờ 12 thửa 345", "27088-12-345"
PARCEL_PATTERN = re.compile(r"^(?P<ward>.+?)[\s/,;-]+(?:t[oờ]\s*)?(?P<sheet>\d{1,4})[\s/,;-]+(?:th[uử]a\s*)?(?P<number>\d{1,6})$", re.I)


@dataclass
class Hit:
    kind: str  # ward | parcel | feature
    label: str
    detail: str
    layer_slug: str
    feature_id: int | None = None
    ward_code: str | None = None
    sheet: int | None = None
    number: int | None = None
    bbox: tuple[float, float, float, float] | None = None


def clean_query(text: str) -> str:
    """The query without control characters, collapsed, at most MAX_QUERY characters."""
    text = "".join(c for c in text if c.isprintable())
    return " ".join(text.split())[:MAX_QUERY]


def _parcel_hits(user, query: str) -> list[Hit]:
    match = PARCEL_PATTERN.match(query)
    if not match:
        return []
    hits = []
    for ward in resolve_ward(user, match["ward"], limit=3):
        try:
            parcel = parcel_by_key(user, ward.code, int(match["sheet"]), int(match["number"]))
        except NotFound:
            continue
        props = visible_properties(user, parcel.layer, parcel.properties)
        hits.append(Hit("parcel", f"{ward.name} / {match['sheet']} / {match['number']}",
                        props.get("address", ""), parcel.layer.slug, parcel.pk, ward.code,
                        int(match["sheet"]), int(match["number"]), parcel.geom.extent))
    return hits


FUZZY_TIMEOUT_MS = 400  # a typo-tolerant pass over very common words is cut short, not waited for


def _label_rows(sql_filter: str, params: dict) -> list[tuple]:
    with db.cursor(read=True) as cursor:
        cursor.execute(
            "SELECT id, layer_id, properties, ST_XMin(geom), ST_YMin(geom), ST_XMax(geom), ST_YMax(geom) "
            f"FROM layers_feature WHERE {HAS_LABEL} AND {sql_filter} AND layer_id = ANY(%(layers)s::bigint[]) LIMIT %(limit)s",
            params,
        )
        return cursor.fetchall()


def _searchable_keys(user, layers) -> dict[int, tuple[str, ...]]:
    """Per layer, the searchable keys the user may see: a personal key is neither matched (a match would reveal
    its value even with the value left out) nor shown."""
    keys = {}
    for layer in layers:
        hidden = set(hidden_fields(user, layer))
        visible = tuple(k for k in SEARCHABLE_KEYS if k not in hidden)
        if visible:
            keys[layer.pk] = visible
    return keys


def _like(text: str) -> str:
    """A LIKE pattern for text anywhere (its wildcards escaped)."""
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _label_hits(user, query: str, limit: int) -> list[Hit]:
    """Features whose labels contain the query (any accents), then near spellings if too few."""
    layers = {layer.pk: layer for layer in layers_visible_to(user).filter(kind="vector")}
    keys = _searchable_keys(user, layers.values())
    folded = fold(query)
    like = _like(folded)
    whole = [pk for pk, visible in keys.items() if visible == SEARCHABLE_KEYS]  # the trigram index serves these
    params = {"q": folded, "like": like, "layers": whole, "limit": 5 * limit}
    rows = _label_rows(f"{LABEL_SQL} LIKE %(like)s", params) if whole else []
    for visible in set(keys.values()) - {SEARCHABLE_KEYS}:  # layers with a personal searchable key: exact matches only
        some = [pk for pk, v in keys.items() if v == visible]
        rows += _label_rows(f"{label_sql(visible)} LIKE %(like)s", {**params, "layers": some})
    if len(rows) < limit and whole:
        try:
            with db.read_transaction(), db.cursor(read=True) as cursor:
                cursor.execute(f"SET LOCAL statement_timeout = {FUZZY_TIMEOUT_MS}")
                seen = {row[0] for row in rows}
                rows += [r for r in _label_rows(f"%(q)s <%% {LABEL_SQL}", params) if r[0] not in seen]
        except OperationalError:  # cancelled by the timeout: keep the exact hits
            pass
    hits = []
    for fid, layer_id, raw, *bbox in rows:
        props = as_dict(raw)
        label = next((str(props[k]) for k in keys[layer_id] if props.get(k)), str(fid))
        hits.append(Hit("feature", label, layers[layer_id].title, layers[layer_id].slug, fid, bbox=tuple(bbox)))
    # Closest labels first (difflib on folded text: cheap on a few dozen candidates).
    hits.sort(key=lambda h: -difflib.SequenceMatcher(None, folded, fold(h.label)).ratio())
    return hits[:limit]


ADDRESS_CANDIDATES = 500  # rows compared in Python after the indexed filter: a long street's share of one number


@dataclass
class _Units:
    """The units an address names, as ward codes (None: not named)."""

    former: set[str] | None = None  # former wards named, or the parcel keys of the ward named
    current: set[str] = field(default_factory=set)  # 2025 wards named: a parcel matches where it lies
    area: set[str] | None = None  # the former wards the district and city allow


def _units(user, address: Address) -> _Units:
    """The ward, district and city named, old or new names, as ward codes."""
    units = _Units()
    if address.ward:
        units.former = {w.code for w in address.wards if w.former}
        units.current = {w.code for w in address.wards if not w.former}
    if (area := address.area_wards) is not None:
        units.area = {w.code for w in all_wards(user) if w.former and fold(w.name) in area}
    return units


# Parcels (by id) lying in one of the 2025 wards given: a new ward is where a parcel lies, since some former
# wards were split between two new ones.
_IN_CURRENT_WARDS_SQL = """
SELECT p.id FROM layers_feature p JOIN layers_feature w
  ON w.layer_id = %(admin)s::bigint AND w.properties->>'level' = 'ward' AND w.properties->>'valid_to' IS NULL
 AND w.properties->>'code' = ANY(%(codes)s) AND w.geom && p.geom AND ST_Intersects(w.geom, ST_PointOnSurface(p.geom))
WHERE p.layer_id = %(parcels)s::bigint AND p.id = ANY(%(ids)s)
"""


def _unit_matches(user, units: _Units, layer: Layer, rows: list[tuple]) -> set[int]:
    """The ids of the rows (id, ward code) in the units named."""
    ok = {fid for fid, code in rows if units.area is None or code in units.area}
    if units.former is None:
        return ok
    inside = set()
    admin = Layer.objects.filter(slug=core.ADMIN_UNITS).first()
    if units.current and admin is not None and can_view(user, admin) and ok:
        with db.cursor(read=True) as cursor:
            cursor.execute(_IN_CURRENT_WARDS_SQL, {"admin": admin.pk, "codes": sorted(units.current),
                                                   "parcels": layer.pk, "ids": sorted(ok)})
            inside = {row[0] for row in cursor.fetchall()}
    return {fid for fid, code in rows if fid in ok and (code in units.former or fid in inside)}


def _same_street(a: str, b: str) -> bool:
    """Street keys equal, one perhaps with an unaccented 'duong' (Đường or the name Dương) before it."""
    return a == b or a.removeprefix("duong ") == b or b.removeprefix("duong ") == a


def _same_place(wanted: Address, found: Address | None) -> bool:
    """Same street and number path (exactly: 12/3A is not 12/3); an alley alone: any house in it."""
    if found is None or not _same_street(wanted.street_key, found.street_key):
        return False
    if wanted.house:
        return found.number == wanted.number
    return found.number.startswith(wanted.alley + "/")


def _word(text: str) -> str:
    """A regular expression for these folded words standing alone ('so 1' not in 'so 12'); any character
    other than a-z, 0-9, space and slash matches any character (a superset: Python compares exactly after)."""
    return r"(^|[^0-9a-z])" + re.sub(r"[^0-9a-z /]", ".", text) + r"([^0-9a-z]|$)"


def address_candidates_sql(words: int) -> str:
    """Parcels whose folded label holds every pattern w0..w{words-1} (regular expressions the trigram index
    serves): id, address, ward code, sheet, number and bbox, at most %(cap)s."""
    where = " AND ".join(f"{LABEL_SQL} ~ %(w{i})s" for i in range(words))
    return ("SELECT id, properties->>'address', properties->>'ward_code', properties->>'map_sheet', "
            "properties->>'parcel_no', ST_XMin(geom), ST_YMin(geom), ST_XMax(geom), ST_YMax(geom) FROM layers_feature "
            f"WHERE layer_id = %(layer)s::bigint AND {HAS_LABEL} AND {where} LIMIT %(cap)s")


def _address_search(user, text: str, limit: int) -> tuple[list[Hit], set[int]] | None:
    """The parcels at the address typed, and those at the same number and street in another unit than the one
    named (never to be offered as if they matched); None when the text has no street with a number."""
    wanted = parse_address(clean_query(text), all_wards(user))
    if wanted is None or not wanted.structured:
        return None
    layer = Layer.objects.filter(slug=core.PARCELS, kind="vector").first()
    if layer is None or not can_view(user, layer) or "address" in hidden_fields(user, layer):
        return [], set()
    # Candidates through the folded-label trigram index: the street's words and each part of the number.
    words = [wanted.street_key.removeprefix("duong ")] + fold(wanted.number).split("/")
    with db.cursor(read=True) as cursor:
        cursor.execute(address_candidates_sql(len(words)), {
            **{f"w{i}": _word(part) for i, part in enumerate(words)}, "layer": layer.pk, "cap": ADDRESS_CANDIDATES})
        rows = cursor.fetchall()
    same = [row for row in rows if (row[3] or "").isdigit() and (row[4] or "").isdigit()
            and _same_place(wanted, parse_address(row[1] or ""))]
    in_units = _unit_matches(user, _units(user, wanted), layer, [(row[0], row[2]) for row in same])
    hits, elsewhere = [], {row[0] for row in same} - in_units
    for fid, address, ward_code, sheet, number, *bbox in same:
        if fid not in in_units:
            continue
        ward = ward_by_code(user, ward_code or "")
        hits.append(Hit("parcel", address, f"{ward.name if ward else ward_code} / {sheet} / {number}", layer.slug,
                        fid, ward_code, int(sheet), int(number), tuple(bbox)))
    hits.sort(key=lambda h: (h.label, h.feature_id))
    return hits[:limit], elsewhere


def address_matches(user, text: str, *, limit: int = 20) -> list[Hit] | None:
    """Parcels whose address has the structure typed (number path, street, and the ward, district or city when
    named, old or new names), by address; None when the text has no street with a number. Personal
    addresses are never matched."""
    found = _address_search(user, text, limit)
    return None if found is None else found[0]


def search(user, text: str, *, limit: int = 10) -> list[Hit]:
    """Suggestions for the search box, best first: the parcels at an address, a parcel key, wards, then
    labelled features."""
    query = clean_query(text)
    if len(query) < 2:
        return []
    hits, elsewhere = _address_search(user, query, limit) or ([], set())
    hits += [h for h in _parcel_hits(user, query) if h.feature_id not in {a.feature_id for a in hits}]
    for ward in resolve_ward(user, query, limit=3):
        detail = f"→ {ward.current_name}" if ward.former else ""  # both names for a split ward
        hits.append(Hit("ward", ward.name, detail, "admin-units", ward_code=ward.code))
    seen = {h.feature_id for h in hits if h.feature_id} | elsewhere  # the same house in another unit is no match
    hits += [h for h in _label_hits(user, query, limit) if h.feature_id not in seen]
    return hits[:limit]
