"""Writes by planners: create, update, delete and revert features — checked, versioned, recorded.

Every service runs in one transaction: it checks the grant, locks the row, refuses a stale version,
validates, writes (the triggers record history), and tells the tile cache before commit.
"""
import datetime as dt

from django.contrib.gis.geos import GEOSGeometry, Polygon
from django.db import connection, transaction
from django.utils import timezone

from layers.errors import DomainError, NotFound, StaleVersion
from layers.history import change_context
from layers.models import Feature, FeatureVersion, Layer
from layers.permissions import can_edit, edit_area
from layers.services import features_changed, layer_refresh_stats
from layers.validation import check_feature


class EditForbidden(DomainError):
    status = 403
    code = "forbidden"

    def __init__(self):
        super().__init__("Bạn không có quyền chỉnh sửa lớp này.", "You may not edit this layer.")


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


def _bounds(*geoms: GEOSGeometry | None) -> list[tuple[float, float, float, float]]:
    return [g.extent for g in geoms if g is not None and not g.empty]


def _allowed(user, layer: Layer) -> GEOSGeometry | None:
    if layer.kind != "vector" or not can_edit(user, layer):
        raise EditForbidden()
    return edit_area(user, layer)


def _inside(area: GEOSGeometry | None, geom: GEOSGeometry) -> bool:
    return area is None or area.buffer(1e-7).covers(geom)


def _locked_for_change(layer: Layer, feature_id: int, *, area: GEOSGeometry | None, expected_version: int) -> Feature:
    """The feature, row-locked, if it is this layer's, inside the user's area, and still at the version edited."""
    feature = Feature.objects.select_for_update().filter(pk=feature_id).first()
    if feature is None or feature.layer_id != layer.pk:  # a feature id of another layer is no feature here
        raise FeatureNotFound()
    if not _inside(area, feature.geom):
        raise EditForbidden()
    if feature.version != expected_version:
        raise StaleFeature(feature)
    return feature


def _touch(layer: Layer, *, count_delta: int, geom: GEOSGeometry | None) -> None:
    """Keeps the catalog current without scanning the layer: count, grown extent, last change."""
    extent = layer.extent
    if geom is not None:
        box = Polygon.from_bbox(geom.extent) if extent is None else Polygon.from_bbox(
            (min(extent.extent[0], geom.extent[0]), min(extent.extent[1], geom.extent[1]),
             max(extent.extent[2], geom.extent[2]), max(extent.extent[3], geom.extent[3])))
        box.srid = 4326
        layer.extent = box
    layer.feature_count = max(0, layer.feature_count + count_delta)
    layer.last_changed = timezone.now()
    layer.save(update_fields=["extent", "feature_count", "last_changed"])


@transaction.atomic
def feature_create(*, layer: Layer, geom: GEOSGeometry, properties: dict, user, comment: str = "") -> Feature:
    """A new feature in the layer."""
    checked = check_feature(layer, geom, properties, area=_allowed(user, layer))
    change_context(user=user, comment=comment)
    feature = Feature.objects.create(layer=layer, geom=checked.geom, properties=checked.properties, updated_by=user)
    features_changed(layer=layer, bounds=_bounds(checked.geom))
    _touch(layer, count_delta=1, geom=checked.geom)
    return feature


@transaction.atomic
def feature_update(*, layer: Layer, feature_id: int, expected_version: int, user, geom: GEOSGeometry | None = None,
                   properties: dict | None = None, comment: str = "") -> Feature:
    """Saves an edit made on version `expected_version`; StaleFeature (409) if the feature moved on since."""
    area = _allowed(user, layer)
    feature = _locked_for_change(layer, feature_id, area=area, expected_version=expected_version)
    old_geom = feature.geom
    checked = check_feature(layer, geom if geom is not None else feature.geom,
                            properties if properties is not None else feature.properties, area=area, exclude_id=feature.pk)
    change_context(user=user, comment=comment)
    feature.geom, feature.properties, feature.updated_by = checked.geom, checked.properties, user
    feature.save(update_fields=["geom", "properties", "updated_by", "updated_at"])
    feature.refresh_from_db(fields=["version", "updated_at"])  # the database numbers versions
    features_changed(layer=layer, bounds=_bounds(old_geom, checked.geom))
    _touch(layer, count_delta=0, geom=checked.geom)
    return feature


@transaction.atomic
def feature_delete(*, layer: Layer, feature_id: int, expected_version: int, user, comment: str = "") -> None:
    """Deletes a feature (its history stays, and a revert brings it back)."""
    feature = _locked_for_change(layer, feature_id, area=_allowed(user, layer), expected_version=expected_version)
    change_context(user=user, comment=comment)
    feature.delete()
    features_changed(layer=layer, bounds=_bounds(feature.geom))
    _touch(layer, count_delta=-1, geom=None)


@transaction.atomic
def feature_revert(*, layer: Layer, feature_id: int, to_version: int, user, comment: str = "") -> Feature:
    """Puts a feature back as it was at one of its versions (re-creating it if it was deleted)."""
    area = _allowed(user, layer)
    target = FeatureVersion.objects.filter(feature_id=feature_id, layer=layer, version=to_version).exclude(op="delete").last()
    if target is None:
        raise FeatureNotFound()
    if not _inside(area, target.geom):
        raise EditForbidden()
    change_context(user=user, comment=comment or f"revert to version {to_version}")
    current = Feature.objects.select_for_update().filter(pk=feature_id, layer=layer).first()
    if current is None:
        with connection.cursor() as cursor:  # same id again: its history continues
            cursor.execute(
                "INSERT INTO layers_feature (id, layer_id, geom, properties, version, updated_at, updated_by_id) "
                "SELECT %s, %s, geom, properties, (SELECT max(version) + 1 FROM layers_featureversion WHERE feature_id = %s), "
                "now(), %s FROM layers_featureversion WHERE id = %s",
                [feature_id, layer.pk, feature_id, user.pk if user else None, target.pk],
            )
        _touch(layer, count_delta=1, geom=target.geom)
    else:
        current.geom, current.properties, current.updated_by = target.geom, target.properties, user
        current.save(update_fields=["geom", "properties", "updated_by", "updated_at"])
        _touch(layer, count_delta=0, geom=target.geom)
    features_changed(layer=layer, bounds=_bounds(target.geom, current.geom if current else None))
    return Feature.objects.get(pk=feature_id)


@transaction.atomic
def run_revert(*, layer: Layer, run_id: int, user, comment: str = "") -> int:
    """Undoes one ingest run: every feature it touched goes back to its state just before the run."""
    _allowed(user, layer)
    started = FeatureVersion.objects.filter(run_id=run_id, layer=layer).order_by("changed_at").values_list("changed_at", flat=True).first()
    if started is None:
        raise NotFound("Lần nạp dữ liệu này không thay đổi gì trong lớp.", "This ingest run changed nothing in this layer.")
    change_context(user=user, comment=comment or f"revert ingest run {run_id}")
    before = started - dt.timedelta(microseconds=1)
    with connection.cursor() as cursor:
        cursor.execute("SELECT DISTINCT feature_id FROM layers_featureversion WHERE run_id = %s AND layer_id = %s", [run_id, layer.pk])
        touched = [row[0] for row in cursor.fetchall()]
        # State before the run, per touched feature (none: the run created it).
        cursor.execute(
            "CREATE TEMP TABLE revert_to ON COMMIT DROP AS SELECT DISTINCT ON (feature_id) feature_id, op, geom, properties "
            "FROM layers_featureversion WHERE feature_id = ANY(%s) AND changed_at <= %s ORDER BY feature_id, changed_at DESC, id DESC",
            [touched, before],
        )
        cursor.execute(
            "DELETE FROM layers_feature f WHERE f.id = ANY(%s) AND NOT EXISTS "
            "(SELECT 1 FROM revert_to r WHERE r.feature_id = f.id AND r.op <> 'delete')", [touched])
        cursor.execute(
            "UPDATE layers_feature f SET geom = r.geom, properties = r.properties, updated_by_id = %s "
            "FROM revert_to r WHERE r.feature_id = f.id AND r.op <> 'delete'", [user.pk if user else None])
        cursor.execute(
            "INSERT INTO layers_feature (id, layer_id, geom, properties, version, updated_at, updated_by_id) "
            "SELECT r.feature_id, %s, r.geom, r.properties, "
            "(SELECT max(version) + 1 FROM layers_featureversion v WHERE v.feature_id = r.feature_id), now(), %s "
            "FROM revert_to r WHERE r.op <> 'delete' AND NOT EXISTS (SELECT 1 FROM layers_feature f WHERE f.id = r.feature_id)",
            [layer.pk, user.pk if user else None])
        cursor.execute("SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM (SELECT ST_Extent(geom) e FROM "
                       "layers_featureversion WHERE feature_id = ANY(%s)) s", [touched])
        box = cursor.fetchone()
    features_changed(layer=layer, bounds=[box] if box and box[0] is not None else [])
    layer_refresh_stats(layer=layer)
    return len(touched)
