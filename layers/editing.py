"""Writes by planners: create, update, split, delete and revert features — checked, versioned, recorded.

Every service runs in one transaction: it checks the grant, locks the row, refuses a stale version,
validates (layers.validation.check_feature), checks that every state it touches, before and after, lies in
the user's edit area (layers.permissions.authorize_change), writes (the triggers record history), and tells
the tile cache before commit.
"""
import json
import math
from dataclasses import dataclass

from django.contrib.gis.geos import GEOSGeometry, LineString, MultiLineString, MultiPolygon
from django.db import transaction

from layers import catalog_stamps, db
from layers.errors import DomainError, InvalidParameter, NotFound, StaleVersion
from layers.history import change_context
from layers.models import Feature, FeatureVersion, Layer
from layers.permissions import EditForbidden, OutsideEditArea, authorize_change, authorize_edit  # noqa: F401
from layers.runs import RunChangedSince, run_revert  # noqa: F401 - run reverts are editing services too
from layers.services import features_changed
from layers.validation import Checked, check_feature
from layers.vn2000 import LEGAL_AREA_SRID


class FeatureNotFound(NotFound):
    def __init__(self):
        super().__init__("Không tìm thấy đối tượng trong lớp này.", "No such feature in this layer.")


class StaleFeature(StaleVersion):
    """Someone saved first: carries the current feature so the editor can show what differs."""

    def __init__(self, current: Feature):
        super().__init__(
            f"Đối tượng đã được người khác sửa (phiên bản hiện tại {current.version}); hãy xem lại thay đổi.",
            f"Someone else changed this feature first (now version {current.version}); review their change.",
        )
        self.current = current


class SplitMissed(DomainError):
    code = "split-missed"

    def __init__(self):
        super().__init__("Đường cắt phải cắt ngang đối tượng thành ít nhất hai phần.",
                         "The cutting line must cross the feature to make at least two parts.")


class NotSplittable(DomainError):
    code = "not-splittable"

    def __init__(self):
        super().__init__("Chỉ tách được vùng và đường.", "Only polygons and lines can be split.")


def _bounds(*geoms: GEOSGeometry | None) -> list[tuple[float, float, float, float]]:
    return [g.extent for g in geoms if g is not None and not g.empty]


def _locked_for_change(layer: Layer, feature_id: int, *, user, expected_version: int) -> Feature:
    """The feature, row-locked, if it is this layer's, inside the user's area, and still at the version edited."""
    feature = Feature.objects.select_for_update().filter(pk=feature_id).first()
    if feature is None or feature.layer_id != layer.pk:  # a feature id of another layer is no feature here
        raise FeatureNotFound()
    authorize_change(user=user, layer=layer, geoms=[feature.geom])
    if feature.version != expected_version:
        raise StaleFeature(feature)
    return feature


# Count and extent change in one UPDATE of the layer's row: the row lock orders concurrent edits, and each
# adds to the value the one before it committed (a read-modify-write in Python lost updates). The extent
# only grows here (a delete leaves it: a full recount is layer_refresh_stats); a point's box is kept a polygon.
TOUCH_SQL = """
UPDATE layers_layer l SET feature_count = greatest(0, l.feature_count + %(delta)s), last_changed = now(),
    extent = CASE WHEN p.g IS NULL THEN l.extent ELSE ST_MakeEnvelope(
        least(ST_XMin(l.extent), ST_XMin(p.g)), least(ST_YMin(l.extent), ST_YMin(p.g)),
        greatest(ST_XMax(l.extent), ST_XMax(p.g), least(ST_XMin(l.extent), ST_XMin(p.g)) + 1e-9),
        greatest(ST_YMax(l.extent), ST_YMax(p.g), least(ST_YMin(l.extent), ST_YMin(p.g)) + 1e-9), 4326) END
FROM (SELECT ST_GeomFromEWKB(%(geom)s) AS g) p
WHERE l.id = %(layer)s
RETURNING l.feature_count, ST_AsEWKB(l.extent), l.last_changed
"""


def _touch(layer: Layer, *, count_delta: int, geom: GEOSGeometry | None) -> None:
    """Keeps the catalog current without scanning the layer: count, grown extent, last change (in SQL, see TOUCH_SQL)."""
    catalog_stamps.changed([layer.slug])  # count, extent and stamp are catalog rows' too (tile hot path)
    with db.cursor() as cursor:
        cursor.execute(TOUCH_SQL, {"delta": count_delta, "layer": layer.pk,
                                   "geom": bytes(geom.ewkb) if geom is not None and not geom.empty else None})
        count, extent, changed = cursor.fetchone()
    layer.feature_count, layer.last_changed = count, changed
    layer.extent = GEOSGeometry(memoryview(bytes(extent))) if extent is not None else None


@transaction.atomic
def feature_create(*, layer: Layer, geom: GEOSGeometry, properties: dict, user, comment: str = "") -> Feature:
    """A new feature in the layer."""
    authorize_edit(user, layer)
    checked = check_feature(layer, geom, properties)
    authorize_change(user=user, layer=layer, geoms=[checked.geom])
    change_context(user=user, comment=comment)
    feature = Feature.objects.create(layer=layer, geom=checked.geom, properties=checked.properties, updated_by=user)
    features_changed(layer=layer, bounds=_bounds(checked.geom))
    _touch(layer, count_delta=1, geom=checked.geom)
    return feature


@transaction.atomic
def feature_update(*, layer: Layer, feature_id: int, expected_version: int, user, geom: GEOSGeometry | None = None,
                   properties: dict | None = None, comment: str = "") -> Feature:
    """Saves an edit made on version `expected_version`; StaleFeature (409) if the feature moved on since."""
    feature = _locked_for_change(layer, feature_id, user=user, expected_version=expected_version)
    old_geom = feature.geom
    checked = check_feature(layer, geom if geom is not None else feature.geom,
                            properties if properties is not None else feature.properties, exclude_id=feature.pk)
    authorize_change(user=user, layer=layer, geoms=[checked.geom])
    change_context(user=user, comment=comment)
    feature.geom, feature.properties, feature.updated_by = checked.geom, checked.properties, user
    feature.save(update_fields=["geom", "properties", "updated_by", "updated_at"])
    feature.refresh_from_db(fields=["version", "updated_at"])  # the database numbers versions
    features_changed(layer=layer, bounds=_bounds(old_geom, checked.geom))
    _touch(layer, count_delta=0, geom=checked.geom)
    return feature


# Split: a cutting line through a polygon (or a line), done by PostGIS's ST_Split.
SPLITTABLE = {"Polygon", "MultiPolygon", "LineString", "MultiLineString"}
PARCEL_KEY = ("ward_code", "map_sheet", "parcel_no")
LEGAL_AREA = "legal_area"
# The blade's ends are pushed out by this much (degrees, about 1 cm): a line drawn to a point snapped onto an
# edge ends a rounding error short of it, and ST_Split would then leave the polygon whole.
BLADE_OVERSHOOT = 1e-7

# Each component of the feature cut by the blade; sizes in VN-2000 (m² for polygons, m for lines).
SPLIT_SQL = f"""
SELECT coalesce(c.path[1], 1) AS component, ST_AsEWKB(p.geom) AS wkb,
       CASE WHEN ST_Dimension(p.geom) = 2 THEN ST_Area(ST_Transform(p.geom, {LEGAL_AREA_SRID}))
            ELSE ST_Length(ST_Transform(p.geom, {LEGAL_AREA_SRID})) END AS size
FROM layers_feature f
CROSS JOIN LATERAL ST_Dump(f.geom) c
CROSS JOIN LATERAL ST_Dump(ST_Split(c.geom, ST_GeomFromEWKB(%s))) p
WHERE f.id = %s AND NOT ST_IsEmpty(p.geom)
ORDER BY 1, 3 DESC
"""


@dataclass
class Piece:
    """One piece of the cut feature: which of its components it came from, and its size."""

    component: int
    geom: GEOSGeometry
    size: float


def _blade(line: GEOSGeometry) -> LineString:
    """The cutting line (WGS 84), its first and last segments lengthened by BLADE_OVERSHOOT."""
    if (line is None or line.geom_type != "LineString" or line.srid not in (None, 4326) or line.empty
            or len(set(line.coords)) < 2):
        raise InvalidParameter("Đường cắt phải là một LineString có ít nhất hai điểm.",
                               "The cutting line must be a LineString of at least two points.", parameter="line")
    coords = [c[:2] for c in line.coords]

    def pushed(end, towards):
        dx, dy = end[0] - towards[0], end[1] - towards[1]
        length = math.hypot(dx, dy) or 1.0
        return end[0] + dx / length * BLADE_OVERSHOOT, end[1] + dy / length * BLADE_OVERSHOOT

    inner = [c for c in coords if c != coords[0]]
    coords[0] = pushed(coords[0], inner[0])
    inner = [c for c in coords if c != coords[-1]]
    coords[-1] = pushed(coords[-1], inner[-1])
    return LineString(coords, srid=4326)


def _pieces(feature: Feature, blade: LineString) -> list[Piece]:
    """The stored feature's components cut by the blade, in PostGIS (the geometry never leaves the database to be cut)."""
    with db.cursor() as cursor:
        cursor.execute(SPLIT_SQL, [bytes(blade.ewkb), feature.pk])
        return [Piece(component, GEOSGeometry(memoryview(bytes(wkb))), size) for component, wkb, size in cursor.fetchall()]


def _collect(pieces: list[Piece]) -> GEOSGeometry:
    """One geometry from pieces: the piece itself, or a multi of them."""
    if len(pieces) == 1:
        return pieces[0].geom
    multi = MultiPolygon if pieces[0].geom.dims == 2 else MultiLineString
    return multi(*[p.geom for p in pieces], srid=4326)


def _parts(pieces: list[Piece]) -> list[tuple[GEOSGeometry, float]]:
    """(geometry, size) of each resulting feature, the original's first: the largest cut piece with every
    component the line did not touch; then the other cut pieces, largest first. SplitMissed when nothing was cut."""
    per_component: dict[int, list[Piece]] = {}
    for piece in pieces:
        per_component.setdefault(piece.component, []).append(piece)
    cut = sorted((p for group in per_component.values() if len(group) > 1 for p in group), key=lambda p: -p.size)
    if len(cut) < 2:
        raise SplitMissed()
    whole = [group[0] for group in per_component.values() if len(group) == 1]
    kept = [cut[0], *whole]
    return [(_collect(kept), sum(p.size for p in kept))] + [(p.geom, p.size) for p in cut[1:]]


def _has_field(layer: Layer, name: str) -> bool:
    return any(spec["name"] == name for spec in layer.schema)


def _next_parcel_numbers(layer: Layer, feature: Feature, count: int) -> list[int]:
    """The next `count` numbers after the largest ever given on the parcel's map sheet of its ward.

    Split parts are numbered after the sheet's last number, and the split parcel's number is retired, not
    handed out again (the cadastral rule: Thông tư 25/2014/TT-BTNMT, kept by 26/2024). "Ever" reads the
    history too, near the sheet's parcels (a sheet is a fixed area, so the history's GiST finds them); an
    advisory lock per sheet keeps two splits on one sheet from taking the same numbers.
    """
    ward, sheet = str(feature.properties.get("ward_code")), str(feature.properties.get("map_sheet"))
    key = "properties->>'ward_code' = %(ward)s AND properties->>'map_sheet' = %(sheet)s AND properties->>'parcel_no' ~ '^[0-9]{1,9}$'"
    params = {"layer": layer.pk, "ward": ward, "sheet": sheet, "lock": f"parcel-no:{layer.pk}:{ward}:{sheet}"}
    with db.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(hashtextextended(%(lock)s, 0))", params)
        cursor.execute(
            f"WITH sheet AS (SELECT geom, properties FROM layers_feature WHERE layer_id = %(layer)s::bigint AND {key}), "
            "reach AS (SELECT ST_Expand(ST_Extent(geom)::geometry, 0.002) AS box FROM sheet) "  # about 200 m around
            "SELECT greatest((SELECT max((properties->>'parcel_no')::int) FROM sheet), "
            f"(SELECT max((v.properties->>'parcel_no')::int) FROM layers_featureversion v, reach "
            f"WHERE v.layer_id = %(layer)s::bigint AND v.geom && reach.box AND {key.replace('properties', 'v.properties')}))",
            params,
        )
        largest = cursor.fetchone()[0] or 0
    return list(range(largest + 1, largest + 1 + count))


def _part_properties(layer: Layer, feature: Feature, parts: list[tuple[GEOSGeometry, float]]) -> list[dict]:
    """Each part's properties: the original's, with its own legal area and, for parcels, a new number each."""
    out = [dict(feature.properties) for _ in parts]
    if _has_field(layer, LEGAL_AREA) and parts[0][0].dims == 2:
        for props, (_, size) in zip(out, parts):
            props[LEGAL_AREA] = round(size, 1)  # legal areas are recorded to 0.1 m²
    if _has_field(layer, "parcel_no") and all(feature.properties.get(k) is not None for k in PARCEL_KEY):
        for props, number in zip(out, _next_parcel_numbers(layer, feature, len(out))):
            props["parcel_no"] = number
    return out


@transaction.atomic
def feature_split(*, layer: Layer, feature_id: int, expected_version: int, line: GEOSGeometry, user,
                  comment: str = "") -> list[Feature]:
    """Cuts a feature with a line: the original keeps the largest part (and its history), each other part
    becomes a new feature; a parcel's parts all get new numbers."""
    feature = _locked_for_change(layer, feature_id, user=user, expected_version=expected_version)
    if feature.geom.geom_type not in SPLITTABLE:
        raise NotSplittable()
    parts = _parts(_pieces(feature, _blade(line)))
    checked: list[Checked] = [check_feature(layer, geom, props, exclude_id=feature.pk)
                              for (geom, _), props in zip(parts, _part_properties(layer, feature, parts))]
    authorize_change(user=user, layer=layer, geoms=[c.geom for c in checked])
    change_context(user=user, comment=comment or f"split feature {feature.pk}")
    old_geom = feature.geom
    feature.geom, feature.properties, feature.updated_by = checked[0].geom, checked[0].properties, user
    feature.save(update_fields=["geom", "properties", "updated_by", "updated_at"])
    feature.refresh_from_db(fields=["version", "updated_at"])
    created = [Feature.objects.create(layer=layer, geom=c.geom, properties=c.properties, updated_by=user) for c in checked[1:]]
    features_changed(layer=layer, bounds=_bounds(old_geom))
    _touch(layer, count_delta=len(created), geom=old_geom)
    return [feature, *created]


@transaction.atomic
def feature_delete(*, layer: Layer, feature_id: int, expected_version: int, user, comment: str = "") -> None:
    """Deletes a feature (its history stays, and a revert brings it back)."""
    feature = _locked_for_change(layer, feature_id, user=user, expected_version=expected_version)
    change_context(user=user, comment=comment)
    feature.delete()
    features_changed(layer=layer, bounds=_bounds(feature.geom))
    _touch(layer, count_delta=-1, geom=None)


def _current_version(layer: Layer, feature_id: int, current: Feature | None) -> int:
    """The version a revert must name as expected: the feature's, or after a delete, its delete row's."""
    if current is not None:
        return current.version
    last = FeatureVersion.objects.filter(feature_id=feature_id, layer=layer).order_by("changed_at", "id").last()
    if last is None:
        raise FeatureNotFound()
    return last.version


@transaction.atomic
def feature_revert(*, layer: Layer, feature_id: int, to_version: int, expected_version: int, user,
                   comment: str = "") -> Feature:
    """Puts a feature back as it was at one of its versions (re-creating it if it was deleted), if it is
    still at `expected_version` (StaleFeature, 409, if not): checked and authorized like a save, for where
    it is now and where it goes."""
    authorize_edit(user, layer)
    current = Feature.objects.select_for_update().filter(pk=feature_id, layer=layer).first()
    if current is None and Feature.objects.filter(pk=feature_id).exists():
        raise FeatureNotFound()  # another layer's feature
    authorize_change(user=user, layer=layer, geoms=[current.geom if current else None])
    if _current_version(layer, feature_id, current) != expected_version:
        if current is None:
            raise StaleVersion(f"Đối tượng đã bị xóa ở phiên bản khác {expected_version}; hãy tải lại lịch sử.",
                               f"The feature was deleted at a version other than {expected_version}; reload its history.")
        raise StaleFeature(current)
    target = FeatureVersion.objects.filter(feature_id=feature_id, layer=layer, version=to_version).exclude(op="delete").last()
    if target is None:
        raise FeatureNotFound()
    # The old state is checked like any save: its number may be someone's now, a neighbour may overlap it.
    checked = check_feature(layer, target.geom, target.properties, exclude_id=feature_id)
    authorize_change(user=user, layer=layer, geoms=[checked.geom])
    change_context(user=user, comment=comment or f"revert to version {to_version}", kind="revert")
    old_geom = current.geom if current is not None else None
    if current is None:
        with db.cursor() as cursor:  # same id again: its history continues
            cursor.execute(
                "INSERT INTO layers_feature (id, layer_id, geom, properties, version, updated_at, updated_by_id) "
                "VALUES (%s, %s, ST_GeomFromEWKB(%s), %s, (SELECT max(version) + 1 FROM layers_featureversion WHERE feature_id = %s), "
                "now(), %s)",
                [feature_id, layer.pk, bytes(checked.geom.ewkb), json.dumps(checked.properties), feature_id,
                 user.pk if user else None],
            )
        _touch(layer, count_delta=1, geom=checked.geom)
    else:
        current.geom, current.properties, current.updated_by = checked.geom, checked.properties, user
        current.save(update_fields=["geom", "properties", "updated_by", "updated_at"])
        _touch(layer, count_delta=0, geom=checked.geom)
    features_changed(layer=layer, bounds=_bounds(old_geom, checked.geom))  # where it was and where it goes
    return Feature.objects.get(pk=feature_id)
