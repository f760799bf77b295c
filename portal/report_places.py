"""Where a report is: its target checked against what the public may see, its point inside the city, its ward.

Targets are checked as the public sees them (an anonymous user), whoever files the report: the status page
is public, so a report may only name what the public may see. A restricted layer, a missing layer and a
missing feature all get the same answer, revealing nothing.
"""
from dataclasses import dataclass

from django.contrib.auth.models import AnonymousUser
from django.contrib.gis.geos import Point

from layers import core, db
from layers.errors import DomainError, InvalidParameter
from layers.models import Layer
from layers.selectors import layer_for
from portal.report_models import TargetKind

KIND_OF_LAYER = {core.PARCELS: TargetKind.PARCEL, core.PLANNING_ZONES: TargetKind.ZONE}
# A point on no layer is the parcels layer's business: what residents see wrong at a place is, most often,
# the parcel there, and the parcels' editors (planners of that ward) know the place.
POINT_MODERATION_LAYER = core.PARCELS


@dataclass(frozen=True)
class Place:
    kind: str
    layer: Layer | None
    feature_id: int | None
    moderation_layer: Layer | None
    point: Point
    ward_code: str
    ward_name: str


def unknown_target() -> InvalidParameter:
    """The one answer for a missing layer, a restricted one, and a missing feature."""
    return InvalidParameter("Không tìm thấy thửa đất hoặc đối tượng được phản ánh.",
                            "The parcel or feature reported on was not found.", parameter="feature")


def outside_city() -> InvalidParameter:
    return InvalidParameter("Vị trí nằm ngoài địa bàn thành phố.", "The place is outside the city.", parameter="lon")


def _point_on(layer: Layer, feature_id: int) -> Point | None:
    with db.cursor(read=True) as cursor:
        cursor.execute("SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_PointOnSurface(geom) AS p FROM layers_feature "
                       "WHERE layer_id = %s::bigint AND id = %s AND NOT ST_IsEmpty(geom)) s",
                       [layer.pk, feature_id])
        row = cursor.fetchone()
    return Point(row[0], row[1], srid=4326) if row and row[0] is not None else None


def _city_ward(point: Point) -> tuple[str, str] | None:
    """(code, name) of the current ward at the point ('', '' inside the city but in no ward); None outside."""
    admin = Layer.objects.filter(slug=core.ADMIN_UNITS).first()
    if admin is None:
        return None
    with db.cursor(read=True) as cursor:
        cursor.execute(
            "WITH pt AS (SELECT ST_SetSRID(ST_MakePoint(%(lon)s, %(lat)s), 4326) AS g) "
            "SELECT properties->>'level' = 'ward', properties->>'valid_to' IS NULL, properties->>'code', "
            "properties->>'name' FROM layers_feature, pt WHERE layer_id = %(layer)s::bigint "
            "AND ST_Intersects(geom, pt.g) ORDER BY 1 DESC, 2 DESC LIMIT 1",
            {"lon": point.x, "lat": point.y, "layer": admin.pk})
        row = cursor.fetchone()
    if row is None:
        return None
    return (row[2] or "", row[3] or "") if row[0] else ("", "")


def resolve_place(*, layer_slug: str | None, feature_id: int | None, lon: float | None, lat: float | None) -> Place:
    """The report's place, or the error to answer with."""
    layer = None
    if layer_slug is not None:
        try:
            layer = layer_for(AnonymousUser(), layer_slug, kind="vector")
        except DomainError:
            raise unknown_target() from None
        point = _point_on(layer, feature_id)
        if point is None:
            raise unknown_target()
        kind = KIND_OF_LAYER.get(layer.slug, TargetKind.FEATURE)
        moderation_layer = layer
    else:
        point = Point(lon, lat, srid=4326)
        kind = TargetKind.POINT
        moderation_layer = Layer.objects.filter(slug=POINT_MODERATION_LAYER).first()
    ward = _city_ward(point)
    if ward is None:
        raise outside_city()
    return Place(kind=kind, layer=layer, feature_id=feature_id if layer else None, moderation_layer=moderation_layer,
                 point=point, ward_code=ward[0], ward_name=ward[1])


def ward_outlines() -> dict:
    """The current wards as simplified GeoJSON (a few kB), to pick a point on without any tile server;
    empty when the public may not see the administrative units."""
    try:
        admin = layer_for(AnonymousUser(), core.ADMIN_UNITS, kind="vector")
    except DomainError:
        return {"type": "FeatureCollection", "features": []}
    with db.cursor(read=True) as cursor:
        cursor.execute(
            "SELECT json_build_object('type', 'FeatureCollection', 'features', COALESCE(json_agg(json_build_object("
            "'type', 'Feature', 'properties', json_build_object('name', properties->>'name'), 'geometry', "
            "ST_AsGeoJSON(ST_SimplifyPreserveTopology(geom, 0.0002), 6)::json)), '[]'::json)) "
            "FROM layers_feature WHERE layer_id = %s::bigint AND properties->>'level' = 'ward' "
            "AND properties->>'valid_to' IS NULL", [admin.pk])
        return cursor.fetchone()[0]
