"""Planning lookup and click-to-see: what the plan says about a parcel, and what lies at a point.

Areas are plane areas in VN-2000 / TM-3 105-45 (EPSG:9210, pinned to the official shift), where the
law measures parcels. Only layers the user may see take part: restricted zones never leak here.
"""
import json
import math
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import rasterio
from pyproj import Transformer

from django.conf import settings
from django.db import connection
from django.db.models.fields.json import KT

from layers import core
from layers.errors import InvalidParameter, NotFound
from layers.models import Feature, Layer
from layers.schemas import LAND_USE_CODES, ZONE_FUNCTIONS, display_fields
from layers.selectors import can_view, layers_visible_to
from layers.vn2000 import LEGAL_AREA_SRID
from layers.wards import Ward, ward_by_code

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
    ward: Ward | None
    zones: list[ZoneShare] = field(default_factory=list)
    road_reserve_m2: float = 0.0
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


_ZONES_SQL = """
WITH p AS (SELECT geom, ST_Transform(geom, %(legal)s) AS plane FROM layers_feature WHERE id = %(parcel)s)
SELECT z.properties, ST_Area(ST_Intersection(p.plane, ST_Transform(z.geom, %(legal)s))) AS area
FROM layers_feature z, p
WHERE z.layer_id = %(layer)s AND z.geom && p.geom AND ST_Intersects(z.geom, p.geom)
ORDER BY area DESC
"""

_RESERVE_SQL = """
WITH p AS (SELECT geom, ST_Transform(geom, %(legal)s) AS plane FROM layers_feature WHERE id = %(parcel)s)
SELECT coalesce(ST_Area(ST_Union(ST_Intersection(p.plane, ST_Transform(r.geom, %(legal)s)))), 0)
FROM layers_feature r, p
WHERE r.layer_id = %(layer)s AND r.geom && p.geom AND ST_Intersects(r.geom, p.geom)
"""

_NEIGHBOURS_SQL = """
WITH p AS (SELECT id, geom FROM layers_feature WHERE id = %(parcel)s)
SELECT n.id, ST_AsGeoJSON(n.geom, 7), n.properties
FROM layers_feature n, p
WHERE n.layer_id = %(layer)s AND n.id <> p.id AND n.geom && ST_Expand(p.geom, 0.0003)
  AND ST_DWithin(n.geom, p.geom, 0.0003)  -- about 30 m: the parcels around it, across the street too
ORDER BY ST_Distance(n.geom, p.geom)
LIMIT 40
"""


def _rows(sql: str, params: dict) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def as_dict(properties) -> dict:
    """jsonb from a raw cursor: Django's psycopg2 set-up hands it over as text."""
    return json.loads(properties) if isinstance(properties, str) else properties


def _feature_collection(rows, keys: list[str]) -> dict:
    return {"type": "FeatureCollection", "features": [
        {"type": "Feature", "id": fid, "geometry": json.loads(geom),
         "properties": {k: as_dict(props).get(k) for k in keys}} for fid, geom, props in rows
    ]}


def parcel_report(user, parcel: Feature) -> ParcelReport:
    """Zones with intersecting areas and shares, road-reserve area, raster values, neighbours, data versions."""
    params = {"parcel": parcel.pk, "legal": LEGAL_AREA_SRID}
    area = _rows(f"SELECT ST_Area(ST_Transform(geom, {LEGAL_AREA_SRID})) FROM layers_feature WHERE id = %(parcel)s", params)[0][0]
    code = parcel.properties.get("land_use", "")
    report = ParcelReport(
        parcel=parcel, area_m2=area, land_use=LAND_USE_CODES.get(code, (code, code)),
        ward=ward_by_code(user, parcel.properties.get("ward_code", "")), data_versions=[parcel.layer],
    )
    zones = _visible(user, core.PLANNING_ZONES)
    if zones is not None:
        report.data_versions.append(zones)
        for raw, zone_area in _rows(_ZONES_SQL, {**params, "layer": zones.pk}):
            props = as_dict(raw)
            if zone_area > 0.005:  # a shared edge is no overlap
                report.zones.append(ZoneShare(props, zone_area, 100.0 * zone_area / area if area else 0.0,
                                              ZONE_FUNCTIONS.get(props.get("function"), (props.get("function"),) * 2)))
    reserves = _visible(user, core.ROAD_RESERVES)
    if reserves is not None:
        report.data_versions.append(reserves)
        report.road_reserve_m2 = _rows(_RESERVE_SQL, {**params, "layer": reserves.pk})[0][0]
    report.raster_values = _raster_values(user, parcel)
    report.data_versions += [v["layer"] for v in report.raster_values]
    report.neighbours_geojson = _feature_collection(_rows(_NEIGHBOURS_SQL, {**params, "layer": parcel.layer_id}),
                                                    ["map_sheet", "parcel_no"])
    report.parcel_geojson = json.loads(parcel.geom.geojson)
    return report


@lru_cache(maxsize=16)
def _open_raster(path: str):
    """An open COG, kept per process (a new ingest writes a new file name, so no stale handle)."""
    return rasterio.open(path)


def _raster_values(user, parcel: Feature) -> list[dict]:
    """Each visible raster layer's value at the parcel's inner point (COGs are in EPSG:3857)."""
    point = parcel.geom.point_on_surface
    x, y = _TO_WEB_MERCATOR.transform(point.x, point.y)
    values = []
    for layer in layers_visible_to(user).filter(kind="raster").exclude(raster_path=""):
        path = Path(settings.MEDIA_ROOT) / layer.raster_path
        if not path.is_file():
            continue
        src = _open_raster(str(path))
        value = float(next(src.sample([(x, y)]))[0])
        if (src.nodata is not None and value == src.nodata) or not math.isfinite(value):
            continue
        values.append({"layer": layer, "value": value})
    return values


def _check_point(lon: float, lat: float) -> None:
    if not (math.isfinite(lon) and math.isfinite(lat) and -180 <= lon <= 180 and -90 <= lat <= 90):
        raise InvalidParameter("Tọa độ không hợp lệ.", "Invalid coordinates.", parameter="lon/lat")


def features_at(user, *, lon: float, lat: float, zoom: int, slugs: list[str]) -> list[dict]:
    """What every visible vector layer has at a point: polygons containing it, lines and points within ~4 px."""
    _check_point(lon, lat)
    tolerance = 4 * 156543.03 * math.cos(math.radians(lat)) / (2 ** max(0, min(zoom, 24))) / 111320.0
    layers = [layer for layer in layers_visible_to(user).filter(kind="vector", slug__in=slugs)]
    results = []
    for layer in sorted(layers, key=lambda lyr: slugs.index(lyr.slug)):
        rows = _rows(
            "SELECT id, properties FROM layers_feature WHERE layer_id = %(layer)s "
            "AND geom && ST_Expand(ST_SetSRID(ST_MakePoint(%(lon)s, %(lat)s), 4326), %(tol)s) "
            "AND CASE WHEN ST_Dimension(geom) = 2 THEN ST_Intersects(geom, ST_SetSRID(ST_MakePoint(%(lon)s, %(lat)s), 4326)) "
            "ELSE ST_DWithin(geom, ST_SetSRID(ST_MakePoint(%(lon)s, %(lat)s), 4326), %(tol)s) END "
            "ORDER BY ST_Area(geom) LIMIT %(limit)s",
            {"layer": layer.pk, "lon": lon, "lat": lat, "tol": tolerance, "limit": MAX_CLICK_RESULTS},
        )
        if rows:
            fields = display_fields(layer.schema)
            results.append({"layer": layer, "fields": fields, "features": [
                {"id": fid, "values": [(f, as_dict(props).get(f["name"])) for f in fields]} for fid, props in rows
            ]})
    return results
