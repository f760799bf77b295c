"""What a planning information sheet says about a parcel at a moment, read from the history.

Every fact comes from the layers' history as of one moment (layers/history.py as_of_sql), never from the live
tables, so the same moment always gives the same facts: a sheet re-issued later from its moment has the
same content hash, and the facts "now" are the same function at the present moment. Reads go to the primary
(a lagging replica would give a moment's facts that the primary contradicts later).
Areas and corners are in VN-2000 / TM-3 105-45 (EPSG:9210, pinned to the official shift), where the law
measures parcels. Only allow-listed, non-personal fields reach a sheet, whoever asks: it is a public document.
"""
import datetime as dt
import json
import math
from dataclasses import dataclass, field

from layers import core, db
from layers.compaction import check_as_of
from layers.errors import NotFound
from layers.history import as_of_sql
from layers.models import Layer
from layers.personal import personal_fields
from layers.vn2000 import LEGAL_AREA_SRID
from layers.wards import ward_by_code

FORMAT = 1  # of the content: a change in what a sheet says is a new format, never a silent one
SHEET_LAYERS = (core.PARCELS, core.PLANNING_ZONES, core.ROAD_RESERVES, core.ADMIN_UNITS)
PARCEL_FIELDS = ("ward_code", "map_sheet", "parcel_no", "land_use", "address")
ZONE_FIELDS = ("zone_code", "function", "max_density", "max_floors", "far", "plan_name", "decision_no", "decision_date")
MAP_MARGIN = 0.0004  # degrees (~40 m) around the parcel: the map's extent and what it draws
MAP_ASPECT = 1.6  # the sheet's map is this much wider than high: what it draws fills it (portal/sheet_map.py)
NEIGHBOUR_DISTANCE = 0.0003  # degrees (~30 m): the parcels around it, across the street too
MIN_OVERLAP_M2 = 0.005  # a shared edge is no overlap


@dataclass
class SheetFacts:
    """The canonical content (hashed, stored) and the drawing (geometries for the map, rebuilt from history)."""

    content: dict
    drawing: dict = field(default_factory=dict)


class ParcelGone(NotFound):
    """The parcel did not exist at that moment (deleted since, or not yet made)."""

    def __init__(self, parcel_id: int):
        super().__init__("Thửa đất không có trong dữ liệu tại thời điểm này.", "The parcel is not in the data at this moment.")
        self.parcel_id = parcel_id


_PARCEL_SQL = f"""
SELECT version, op, properties, changed_at, ST_AsEWKB(geom), ST_Area(ST_Transform(geom, {LEGAL_AREA_SRID})),
       ST_AsGeoJSON(ST_Transform(ST_ForcePolygonCW(geom), {LEGAL_AREA_SRID}), 3, 0),
       ST_XMin(geom), ST_YMin(geom), ST_XMax(geom), ST_YMax(geom)
FROM layers_featureversion WHERE feature_id = %(id)s AND changed_at <= %(at)s
ORDER BY changed_at DESC, id DESC LIMIT 1
"""

# One layer's features near the parcel as of the moment: the overlap with the parcel (m², VN-2000), the distance
# to it, and the part inside the map's box drawn in VN-2000 metres.
_AROUND_SQL = f"""
WITH p AS (SELECT ST_GeomFromEWKB(%(parcel)s) AS geom),
     box AS (SELECT ST_MakeEnvelope(%(west)s, %(south)s, %(east)s, %(north)s, 4326) AS geom)
SELECT s.feature_id, s.version, v.changed_at, s.properties,
       CASE WHEN ST_Intersects(s.geom, p.geom)
            THEN ST_Area(ST_Transform(ST_Intersection(s.geom, p.geom), {LEGAL_AREA_SRID})) ELSE 0 END AS overlap,
       ST_Distance(s.geom, p.geom) AS distance,
       ST_AsGeoJSON(ST_Transform(ST_Intersection(s.geom, box.geom), {LEGAL_AREA_SRID}), 2, 0) AS drawn
FROM ({as_of_sql(bbox=True)}) s
JOIN layers_featureversion v ON v.id = s.version_id AND v.feature_id = s.feature_id, p, box
ORDER BY distance, s.feature_id
"""

_UNION_SQL = f"""
WITH p AS (SELECT ST_GeomFromEWKB(%(parcel)s) AS geom)
SELECT coalesce(ST_Area(ST_Transform(ST_Union(ST_Intersection(s.geom, p.geom)), {LEGAL_AREA_SRID})), 0)
FROM ({as_of_sql(bbox=True)}) s, p WHERE ST_Intersects(s.geom, p.geom)
"""


# A version's time is its transaction's start (now()), but it is seen only at commit: a transaction still open has
# versions dated before the present that no read sees yet. A sheet's moment is therefore set just before the oldest
# transaction still open on the database (within MAX_SETTLE_S: an abandoned one must not freeze the sheets' data),
# so that every version dated at or before it is already visible, and the same moment later reads the same data.
# Only clients write versions: autovacuum's long passes after a big load must not hold the sheets back.
MAX_SETTLE_S = 600
# pg_stat_activity is read once per transaction and kept: clear that copy first, or a second look sees the first.
_SETTLED_SQL = """
SELECT pg_stat_clear_snapshot();
SELECT greatest(clock_timestamp() - make_interval(secs => %(cap)s),
                least(clock_timestamp(), coalesce(min(xact_start), 'infinity') - interval '1 microsecond'))
FROM pg_stat_activity
WHERE datname = current_database() AND pid <> pg_backend_pid() AND xact_start IS NOT NULL
  AND backend_type = 'client backend'
"""


def settled_moment() -> dt.datetime:
    """The latest moment whose data is all committed and visible (see above): a sheet's `as_of`."""
    return _fetch(_SETTLED_SQL, {"cap": MAX_SETTLE_S})[0][0]


def _fetch(sql: str, params: dict) -> list[tuple]:
    with db.cursor() as cursor:  # the primary: see the docstring
        cursor.execute(sql, params)
        return cursor.fetchall()


def _json(value):
    return json.loads(value) if isinstance(value, str) else value


def _stamp(moment: dt.datetime) -> str:
    return moment.astimezone(dt.timezone.utc).isoformat(timespec="microseconds")


def _number(value, digits: int):
    """A float rounded for the content (None stays None); the same history always gives the same number."""
    return None if value is None else round(float(value), digits)


def _allowed(properties: dict, names: tuple[str, ...], layer: Layer) -> dict:
    """Only the allow-listed fields, and never one the layer's schema marks personal."""
    personal = set(personal_fields(layer))
    return {name: properties.get(name) for name in names if name not in personal}


def corners(ring_geojson: dict) -> list[list]:
    """[n, X (northing), Y (easting), length to the next corner] of each outer ring, clockwise from the corner
    nearest the north-west, as cadastral extracts list them (metres, 3 and 2 decimals)."""
    polygons = ring_geojson["coordinates"] if ring_geojson["type"] == "MultiPolygon" else [ring_geojson["coordinates"]]
    rows, n = [], 1
    for polygon in polygons:
        ring = polygon[0][:-1]
        west, north = min(x for x, _ in ring), max(y for _, y in ring)
        start = min(range(len(ring)), key=lambda i: (ring[i][0] - west) ** 2 + (north - ring[i][1]) ** 2)
        ring = ring[start:] + ring[:start]
        for i, (easting, northing) in enumerate(ring):
            nxt = ring[(i + 1) % len(ring)]
            rows.append([n, round(northing, 3), round(easting, 3), round(math.dist((easting, northing), nxt), 2)])
            n += 1
    return rows


def max_floor_area(area_m2: float, zone: dict) -> dict:
    """The floor area a zone's indicators allow on its part of the parcel: S × FAR and S × density × floors,
    the smaller binds; None when the zone sets neither bound."""
    far, density, floors = zone.get("far"), zone.get("max_density"), zone.get("max_floors")
    by_far = round(area_m2 * float(far), 1) if far is not None else None
    by_density = (round(area_m2 * float(density) / 100.0 * int(floors), 1)
                  if density is not None and floors is not None else None)
    bounds = {k: v for k, v in (("far", by_far), ("density", by_density)) if v is not None}
    binding = min(bounds, key=bounds.get) if bounds else None
    return {"by_far": by_far, "by_density": by_density, "binding": binding,
            "allowed": bounds[binding] if binding else None}


def _around(layer: Layer, parcel_ewkb: bytes, box: dict, at: dt.datetime) -> list[dict]:
    rows = _fetch(_AROUND_SQL, {"layer": layer.pk, "at": at, "parcel": parcel_ewkb, **box})
    return [{"id": fid, "version": version, "changed_at": changed, "properties": _json(props) or {},
             "overlap": overlap or 0.0, "distance": distance, "drawn": _json(drawn)}
            for fid, version, changed, props, overlap, distance, drawn in rows]


def _indicator(value, kind=float):
    """An indicator as a number the sheet can compute with, or None (not set): a missing, non-numeric, negative
    or non-finite value sets no bound rather than a wrong one."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
        return None
    return kind(value)


def _zones(layer: Layer, rows: list[dict], area: float) -> list[dict]:
    zones = []
    for row in sorted((r for r in rows if r["overlap"] > MIN_OVERLAP_M2), key=lambda r: (-r["overlap"], r["id"])):
        props = _allowed(row["properties"], ZONE_FIELDS, layer)
        for name, kind in (("far", float), ("max_density", float), ("max_floors", int)):
            if name in props:
                props[name] = _indicator(props[name], kind)
        part = _number(row["overlap"], 1)
        zones.append({"id": row["id"], "version": row["version"], **props, "area_m2": part,
                      "share_pct": _number(100.0 * row["overlap"] / area if area else 0.0, 1),
                      "max_floor_area": max_floor_area(part, props)})
    return zones


def _current_unit(layer: Layer | None, rows: list[dict], ward_code: str) -> dict:
    """The 2025 ward the parcel lies in (the current ward with the largest share of it), else the crosswalk's."""
    current = [r for r in rows if r["properties"].get("level") == "ward" and not r["properties"].get("valid_to")
               and r["overlap"] > MIN_OVERLAP_M2]
    if current:
        best = max(current, key=lambda r: (r["overlap"], -r["id"]))
        return {"code": best["properties"].get("code"), "name": best["properties"].get("name")}
    ward = ward_by_code(None, ward_code)  # a split former ward names both of its current wards
    return {"code": " / ".join(ward.current_codes), "name": ward.current_name} if ward else {"code": None, "name": None}


def _layer_version(layer: Layer, used: list[dict]) -> dict:
    """A layer's data version on the sheet: the latest change among the features the sheet used from it."""
    stamps = [r["changed_at"] for r in used]
    return {"slug": layer.slug, "features": len(used), "changed_at": _stamp(max(stamps)) if stamps else None}


def _map_box(west: float, south: float, east: float, north: float) -> dict:
    """The parcel's box with a margin, widened or heightened to the map's shape (a degree of longitude is
    cos(latitude) of a degree of latitude on the ground)."""
    squeeze = math.cos(math.radians((south + north) / 2))
    width, height = (east - west) * squeeze + 2 * MAP_MARGIN, north - south + 2 * MAP_MARGIN
    width, height = max(width, height * MAP_ASPECT), max(height, width / MAP_ASPECT)
    cx, cy = (west + east) / 2, (south + north) / 2
    return {"west": cx - width / squeeze / 2, "east": cx + width / squeeze / 2,
            "south": cy - height / 2, "north": cy + height / 2}


def sheet_facts(*, parcel_id: int, layers: dict[str, Layer], at: dt.datetime) -> SheetFacts:
    """The sheet of one parcel from the given layers (slug → Layer: the ones the issuer may see) as of `at`;
    ParcelGone when the parcel did not exist then; 410 (check_as_of) before a layer's compacted history."""
    for layer in layers.values():
        check_as_of(layer, at)
    rows = _fetch(_PARCEL_SQL, {"id": parcel_id, "at": at})
    if not rows or rows[0][1] == "delete":
        raise ParcelGone(parcel_id)
    version, _op, props, changed_at, ewkb, area, ring, west, south, east, north = rows[0]
    ewkb, props, parcels = bytes(ewkb), _json(props), layers[core.PARCELS]
    box = _map_box(west, south, east, north)
    found = {slug: _around(layer, ewkb, box, at) for slug, layer in layers.items() if slug != core.PARCELS}
    around = [r for r in _around(parcels, ewkb, box, at) if r["id"] != parcel_id]
    neighbours = [r for r in around if r["distance"] <= NEIGHBOUR_DISTANCE][:40]
    parcel = _allowed(props, PARCEL_FIELDS, parcels)
    content = {
        "format": FORMAT, "parcel": {"id": parcel_id, "version": version, **parcel},
        "area_m2": _number(area, 1), "corners": corners(json.loads(ring)),
        "current_unit": _current_unit(layers.get(core.ADMIN_UNITS), found.get(core.ADMIN_UNITS, []),
                                      props.get("ward_code", "")),
        "neighbours": sorted([r["id"], r["version"]] for r in neighbours),
        "layers": sorted(layers),
    }
    versions = [{"slug": parcels.slug, "features": 1, "changed_at": _stamp(changed_at)}]
    if core.PLANNING_ZONES in layers:
        content["zones"] = _zones(layers[core.PLANNING_ZONES], found[core.PLANNING_ZONES], area)
        used = [r for r in found[core.PLANNING_ZONES] if r["overlap"] > MIN_OVERLAP_M2]
        versions.append(_layer_version(layers[core.PLANNING_ZONES], used))
    if core.ROAD_RESERVES in layers:
        reserves = layers[core.ROAD_RESERVES]
        merged = _fetch(_UNION_SQL, {"layer": reserves.pk, "at": at, "parcel": ewkb, **box})[0][0]
        content["road_reserve_m2"] = _number(merged, 1)
        versions.append(_layer_version(reserves, [r for r in found[core.ROAD_RESERVES] if r["overlap"] > 0]))
    content["data_versions"] = versions
    drawing = {"parcel": json.loads(ring), "neighbours": [(r["properties"].get("parcel_no"), r["drawn"]) for r in around],
               "zones": [(r["properties"].get("zone_code"), r["drawn"]) for r in found.get(core.PLANNING_ZONES, [])],
               "reserves": [r["drawn"] for r in found.get(core.ROAD_RESERVES, [])]}
    return SheetFacts(content=content, drawing=drawing)
