"""Checks a feature before it is saved, for every door: geometry, place, attributes, and parcel rules."""
from dataclasses import dataclass, field

import numpy as np
import shapely
from django.contrib.gis.geos import GEOSGeometry, MultiLineString, MultiPoint, MultiPolygon

from layers import core
from layers import db
from layers.errors import DomainError
from layers.models import Layer
from layers.schemas import validate_properties
from layers.vn2000 import LEGAL_AREA_SRID

# Coordinates in one feature, for every door (the editor's parser refuses more before building anything):
# a surveyed outline of 200,000 vertices loads, and a tile or a page that draws the feature stays drawable.
MAX_VERTICES = 250_000

_MULTI = {"MultiPolygon": MultiPolygon, "MultiLineString": MultiLineString, "MultiPoint": MultiPoint}


@dataclass
class Problem:
    field: str  # "geometry" or an attribute name
    message_vi: str
    message_en: str


class ValidationFailed(DomainError):
    """A save refused, with every problem found (shown beside the field or on the map)."""

    status = 400
    code = "invalid-feature"

    def __init__(self, problems: list[Problem]):
        super().__init__("; ".join(p.message_vi for p in problems), "; ".join(p.message_en for p in problems))
        self.problems = problems


@dataclass
class Checked:
    geom: GEOSGeometry
    properties: dict
    problems: list[Problem] = field(default_factory=list)


def _conform(layer: Layer, geom: GEOSGeometry) -> GEOSGeometry:
    """A single geometry promoted to the layer's multi type, when the layer is multi."""
    multi = _MULTI.get(layer.geometry_type)
    if multi is not None and geom.geom_type == layer.geometry_type.removeprefix("Multi"):
        promoted = multi(geom)
        promoted.srid = geom.srid
        return promoted
    return geom


def _type_ok(layer: Layer, geom: GEOSGeometry) -> bool:
    return layer.geometry_type in ("", "Geometry") or geom.geom_type == layer.geometry_type


def _scalar(sql: str, params: list):
    with db.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()[0]


def _inside_city(geom: GEOSGeometry) -> bool:
    """Inside the city boundary (the administrative units' 'city' features), 1 m of slack; True if none."""
    return _scalar(
        "SELECT coalesce(bool_or(ST_CoveredBy(%s::geometry, ST_Buffer(f.geom::geography, 1)::geometry)), true) "
        "FROM layers_feature f JOIN layers_layer l ON l.id = f.layer_id "
        "WHERE l.slug = %s AND f.properties->>'level' = 'city'",
        [geom.ewkt, core.ADMIN_UNITS],
    )


def _parcel_problems(layer: Layer, geom: GEOSGeometry, props: dict, exclude_id: int | None) -> list[Problem]:
    problems = []
    key = [props.get("ward_code"), props.get("map_sheet"), props.get("parcel_no")]
    if all(v is not None for v in key):
        taken = _scalar(
            "SELECT count(*) FROM layers_feature WHERE layer_id = %s AND properties ? 'parcel_no' "
            "AND properties->>'ward_code' = %s AND properties->>'map_sheet' = %s AND properties->>'parcel_no' = %s "
            "AND id IS DISTINCT FROM %s",
            [layer.pk, str(key[0]), str(key[1]), str(key[2]), exclude_id],
        )
        if taken:
            problems.append(Problem("parcel_no", "Số thửa này đã có trong tờ bản đồ của phường.",
                                    "This parcel number already exists on this map sheet of the ward."))
    overlap = _scalar(
        f"SELECT coalesce(max(ST_Area(ST_Intersection(ST_Transform(f.geom, {LEGAL_AREA_SRID}), "
        f"ST_Transform(%s::geometry, {LEGAL_AREA_SRID})))), 0) FROM layers_feature f "
        "WHERE f.layer_id = %s::bigint AND f.geom && %s::geometry AND ST_Intersects(f.geom, %s::geometry) AND f.id IS DISTINCT FROM %s",
        [geom.ewkt, layer.pk, geom.ewkt, geom.ewkt, exclude_id],
    )
    if overlap > layer.overlap_tolerance_m2:
        problems.append(Problem(
            "geometry",
            f"Thửa chồng lên thửa bên cạnh {overlap:.1f} m² (cho phép {layer.overlap_tolerance_m2:g} m²).",
            f"The parcel overlaps a neighbour by {overlap:.1f} m² (allowed: {layer.overlap_tolerance_m2:g} m²).",
        ))
    return problems


def _geometry_problems(layer: Layer, geom: GEOSGeometry) -> list[Problem]:
    """Coordinates, size, type and validity: what any stored geometry must be, whoever writes it."""
    coords = shapely.get_coordinates(shapely.from_wkb(bytes(geom.wkb)))
    if len(coords) > MAX_VERTICES:
        return [Problem("geometry", f"Hình học có quá nhiều đỉnh (tối đa {MAX_VERTICES}).",
                        f"The geometry has more than {MAX_VERTICES} vertices.")]
    if not np.isfinite(coords).all() or not ((np.abs(coords[:, 0]) <= 180) & (np.abs(coords[:, 1]) <= 90)).all():
        return [Problem("geometry", "Tọa độ phải là kinh độ, vĩ độ hữu hạn (WGS 84).",
                        "Coordinates must be finite longitude, latitude (WGS 84).")]
    problems = []
    if not _type_ok(layer, geom):
        problems.append(Problem("geometry", f"Lớp này cần hình học kiểu {layer.geometry_type}.",
                                f"This layer needs a {layer.geometry_type} geometry, not {geom.geom_type}."))
    if not geom.valid:
        problems.append(Problem("geometry", f"Hình học không hợp lệ: {geom.valid_reason}.", f"Invalid geometry: {geom.valid_reason}."))
    return problems


def flat(geom: GEOSGeometry) -> GEOSGeometry:
    """The geometry in 2D: layers store 2D, so Z and M are dropped (as ingest drops them), never refused."""
    if not geom.hasz and not getattr(geom, "hasm", False):
        return geom
    return GEOSGeometry(memoryview(shapely.to_wkb(shapely.force_2d(shapely.from_wkb(bytes(geom.wkb))))), srid=geom.srid)


def check_feature(layer: Layer, geom: GEOSGeometry | None, properties: dict, *, exclude_id: int | None = None) -> Checked:
    """Validates a feature for saving, the same for every door (editor, admin, split, revert, run revert);
    raises ValidationFailed listing every problem. Who may write where is layers.permissions.authorize_change."""
    if geom is None or geom.empty:
        raise ValidationFailed([Problem("geometry", "Thiếu hình học.", "The geometry is missing.")])
    if geom.srid not in (None, 4326):
        raise ValidationFailed([Problem("geometry", "Hình học phải ở WGS 84 (EPSG:4326).", "The geometry must be in WGS 84 (EPSG:4326).")])
    geom = flat(geom.clone())
    geom.srid = 4326
    geom = _conform(layer, geom)
    problems = _geometry_problems(layer, geom)
    clean, errors = validate_properties(layer.schema, properties)
    problems += [Problem(e.field, e.message_vi, e.message_en) for e in errors]
    if problems:
        raise ValidationFailed(problems)
    if not _inside_city(geom):
        problems.append(Problem("geometry", "Đối tượng nằm ngoài ranh giới thành phố.", "The feature lies outside the city."))
    if any(spec["name"] == "parcel_no" for spec in layer.schema):
        problems += _parcel_problems(layer, geom, clean, exclude_id)
    if problems:
        raise ValidationFailed(problems)
    return Checked(geom, clean)
