"""Planning lookup and click-to-see: what the plan says about a parcel, and what lies at a point.

Areas are plane areas in VN-2000 / TM-3 105-45 (EPSG:9210, pinned to the official shift), where the
law measures parcels. Only layers the user may see take part: restricted zones never leak here.
"""
import datetime as dt
import json
import math
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import rasterio
from pyproj import Transformer

from django.conf import settings
from django.db.models.fields.json import KT

from layers import core
from layers import db
from layers.errors import NotFound
from layers.compaction import check_as_of
from layers.history import as_of_sql
from layers.params import check_lonlat
from layers.models import Feature, Layer
from layers.personal import hidden_fields, without
from layers.schemas import LAND_USE_CODES, ZONE_FUNCTIONS, display_fields
from layers.selectors import can_view, layers_visible_to
from layers.vn2000 import LEGAL_AREA_SRID
from layers.wards import Ward, current_ward_by_code, ward_by_code

MAX_CLICK_RESULTS = 20
_TO_WEB_MERCATOR = Transformer.from_crs(4326, 3857, always_xy=True)


class ParcelNotFound(NotFound):
    def __init__(self, ward: str, sheet: int, number: int):
        super().__init__(
            f"Không tìm thấy thửa số {number}, tờ bản đồ số {sheet} tại phường {ward}.",
            f"No parcel number {number} on map sheet {sheet} in ward {ward}.",
        )


@dataclass
class ZoneShare:
    properties: dict
    area_m2: float
    percent: float
    function_label: tuple[str, str]


@dataclass
class ParcelReport:
    """Everything the parcel page shows."""

    parcel: Feature
    area_m2: float
    land_use: tuple[str, str]
    ward: Ward | None  # the ward of its key (a former ward for the demo's parcels)
    current_ward: Ward | None = None  # the ward since 1 July 2025 it lies in (a split ward's parcels differ)
    zones: list[ZoneShare] = field(default_factory=list)
    road_reserve_m2: float = 0.0
    # False when the user may not see that layer: "not available", never "none" (0 m², no zone).
    zones_visible: bool = True
    road_reserves_visible: bool = True
    raster_values: list[dict] = field(default_factory=list)
    neighbours_geojson: dict = field(default_factory=dict)
    parcel_geojson: dict = field(default_factory=dict)
    data_versions: list[Layer] = field(default_factory=list)


def _visible(user, slug: str) -> Layer | None:
    layer = Layer.objects.filter(slug=slug).first()
    return layer if layer is not None and can_view(user, layer) else None


def parcel_by_key(user, ward_code: str, sheet: int, number: int) -> Feature:
    """The parcel with this legal key (ward code + map sheet + parcel number); ParcelNotFound otherwise."""
    layer = _visible(user, core.PARCELS)
    feature = None
    if layer is not None:
        # Matches the partial unique index feature_parcel_key_unique, predicate and expressions.
        feature = (
            Feature.objects.filter(layer=layer, properties__has_key="parcel_no")
            .alias(ward=KT("properties__ward_code"), sheet=KT("properties__map_sheet"), number=KT("properties__parcel_no"))
            .filter(ward=ward_code, sheet=str(sheet), number=str(number))
            .select_related("layer")
            .first()
        )
    if feature is None:
        ward = ward_by_code(user, ward_code)
        raise ParcelNotFound(ward.name if ward else ward_code, sheet, number)
    return feature


# One round trip for the whole report. Intersections are cut in WGS 84 (small results) and only then
# projected to VN-2000 / TM-3 105-45 for their areas: projecting a city-long road strip would cost more.
_REPORT_SQL = f"""
WITH p AS (SELECT id, layer_id, geom FROM layers_feature WHERE id = %(parcel)s)
SELECT
    (SELECT ST_Area(ST_Transform(geom, {LEGAL_AREA_SRID})) FROM p) AS area,
    (SELECT coalesce(json_agg(json_build_object('properties', z.properties, 'area', z.area) ORDER BY z.area DESC), '[]')
       FROM (SELECT z.properties, ST_Area(ST_Transform(ST_Intersection(z.geom, p.geom), {LEGAL_AREA_SRID})) AS area
               FROM layers_feature z, p
              WHERE z.layer_id = %(zones)s::bigint AND z.geom && p.geom AND ST_Intersects(z.geom, p.geom)) z) AS zones,
    (SELECT coalesce(ST_Area(ST_Transform(ST_Union(ST_Intersection(r.geom, p.geom)), {LEGAL_AREA_SRID})), 0)
       FROM layers_feature r, p
      WHERE r.layer_id = %(reserves)s::bigint AND r.geom && p.geom AND ST_Intersects(r.geom, p.geom)) AS reserve,
    (SELECT coalesce(json_agg(json_build_object('type', 'Feature', 'id', n.id, 'geometry', ST_AsGeoJSON(n.geom, 7)::json,
                     'properties', json_build_object('map_sheet', n.properties->'map_sheet', 'parcel_no', n.properties->'parcel_no'))), '[]')
       FROM (SELECT n.id, n.geom, n.properties FROM layers_feature n, p
              WHERE n.layer_id = p.layer_id AND n.id <> p.id AND n.geom && ST_Expand(p.geom, 0.0003)
                AND ST_DWithin(n.geom, p.geom, 0.0003)  -- about 30 m: the parcels around it, across the street too
              ORDER BY ST_Distance(n.geom, p.geom) LIMIT 40) n) AS neighbours,
    -- The ward since 1 July 2025 the parcel lies in: a split former ward's parcels belong to different ones.
    (SELECT w.properties->>'code' FROM layers_feature w, p
      WHERE w.layer_id = %(units)s::bigint AND w.properties->>'level' = 'ward' AND w.properties->>'valid_to' IS NULL
        AND w.geom && ST_PointOnSurface(p.geom) AND ST_Intersects(w.geom, ST_PointOnSurface(p.geom))
      ORDER BY 1 LIMIT 1) AS current_ward
"""


def _rows(sql: str, params: dict) -> list[tuple]:
    with db.cursor(read=True) as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def as_dict(properties) -> dict:
    """jsonb from a raw cursor: Django's psycopg2 set-up hands it over as text."""
    return json.loads(properties) if isinstance(properties, str) else properties


def parcel_report(user, parcel: Feature) -> ParcelReport:
    """Zones with intersecting areas and shares, road-reserve area, raster values, neighbours, data versions."""
    visible = {layer.slug: layer for layer in layers_visible_to(user)}
    zones, reserves, units = (visible.get(slug) for slug in (core.PLANNING_ZONES, core.ROAD_RESERVES, core.ADMIN_UNITS))
    area, zone_rows, reserve_m2, neighbours, current_code = _rows(_REPORT_SQL, {
        "parcel": parcel.pk, "zones": zones.pk if zones else -1, "reserves": reserves.pk if reserves else -1,
        "units": units.pk if units else -1})[0]
    code = parcel.properties.get("land_use", "")
    report = ParcelReport(
        parcel=parcel, area_m2=area, land_use=LAND_USE_CODES.get(code, (code, code)),
        ward=ward_by_code(user, parcel.properties.get("ward_code", "")),
        current_ward=current_ward_by_code(user, current_code) if current_code else None,
        data_versions=[parcel.layer] + [layer for layer in (zones, reserves) if layer is not None],
        road_reserve_m2=reserve_m2 or 0.0,
        zones_visible=zones is not None, road_reserves_visible=reserves is not None,
        neighbours_geojson={"type": "FeatureCollection", "features": as_dict(neighbours)},
        parcel_geojson=json.loads(parcel.geom.geojson),
    )
    zone_hidden = hidden_fields(user, zones) if zones is not None else []
    for row in as_dict(zone_rows):
        if row["area"] > 0.005:  # a shared edge is no overlap
            props = without(row["properties"], zone_hidden)
            report.zones.append(ZoneShare(props, row["area"], 100.0 * row["area"] / area if area else 0.0,
                                          ZONE_FUNCTIONS.get(props.get("function"), (props.get("function"),) * 2)))
    report.raster_values = _raster_values([layer for layer in visible.values() if layer.kind == "raster"], parcel)
    report.data_versions += [v["layer"] for v in report.raster_values]
    return report


@lru_cache(maxsize=16)
def _open_raster(path: str):
    """An open COG, kept per process (a new ingest writes a new file name, so no stale handle)."""
    return rasterio.open(path)


def _raster_values(rasters: list[Layer], parcel: Feature) -> list[dict]:
    """Each given raster layer's value at the parcel's inner point (COGs are in EPSG:3857)."""
    point = parcel.geom.point_on_surface
    x, y = _TO_WEB_MERCATOR.transform(point.x, point.y)
    values = []
    for layer in rasters:
        path = Path(settings.MEDIA_ROOT) / layer.raster_path
        if not layer.raster_path or not path.is_file():
            continue
        src = _open_raster(str(path))
        value = float(next(src.sample([(x, y)]))[0])
        if (src.nodata is not None and value == src.nodata) or not math.isfinite(value):
            continue
        values.append({"layer": layer, "value": value})
    return values


_AT_POINT = (
    "SELECT {id}, properties FROM {source} "
    "AND CASE WHEN ST_Dimension(geom) = 2 THEN ST_Intersects(geom, ST_SetSRID(ST_MakePoint(%(lon)s, %(lat)s), 4326)) "
    "ELSE ST_DWithin(geom, ST_SetSRID(ST_MakePoint(%(lon)s, %(lat)s), 4326), %(tol)s) END "
    "ORDER BY ST_Area(geom) LIMIT %(limit)s"
)
_NOW = _AT_POINT.format(id="id", source="layers_feature WHERE layer_id = %(layer)s::bigint "
                        "AND geom && ST_MakeEnvelope(%(west)s, %(south)s, %(east)s, %(north)s, 4326)")
_THEN = _AT_POINT.format(id="feature_id", source=f"({as_of_sql(bbox=True)}) past WHERE true")


def features_at(user, *, lon: float, lat: float, zoom: int, slugs: list[str], at: dt.datetime | None = None) -> list[dict]:
    """What every visible vector layer has at a point: polygons containing it, lines and points within ~4 px;
    with `at`, what they had then (from their history)."""
    lon, lat = check_lonlat(lon, lat)
    tolerance = 4 * 156543.03 * math.cos(math.radians(lat)) / (2 ** max(0, min(zoom, 24))) / 111320.0
    layers = [layer for layer in layers_visible_to(user).filter(kind="vector", slug__in=slugs)]
    box = {"west": lon - tolerance, "south": lat - tolerance, "east": lon + tolerance, "north": lat + tolerance}
    results = []
    for layer in sorted(layers, key=lambda lyr: slugs.index(lyr.slug)):
        check_as_of(layer, at)  # 410 before the layer's compaction time
        rows = _rows(_NOW if at is None else _THEN, {"layer": layer.pk, "lon": lon, "lat": lat, "tol": tolerance,
                                                      "limit": MAX_CLICK_RESULTS, "at": at, **box})
        if rows:
            fields = display_fields(layer.schema)
            results.append({"layer": layer, "fields": fields, "features": [
                {"id": fid, "values": [(f, as_dict(props).get(f["name"])) for f in fields]} for fid, props in rows
            ]})
    return results
