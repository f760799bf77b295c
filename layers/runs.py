"""Undoing an ingest run: every feature it touched back as it was before it, checked like any save.

Refused whole when the user's edit area does not cover every touched feature, before and after (403), when
a touched feature changed after the run (409: the revert would overwrite that change), or when a restored
state fails validation (400).
"""
import datetime as dt
import json

from django.db import transaction

from layers import db
from layers.compaction import check_as_of
from layers.errors import NotFound, StaleVersion
from layers.history import change_context
from layers.models import FeatureVersion, Layer
from layers.permissions import EditForbidden, authorize_change_sql, authorize_edit, is_data_admin
from layers.schemas import validate_properties
from layers.services import features_changed, layer_refresh_stats
from layers.validation import MAX_VERTICES, Problem, ValidationFailed


def _restored_problems(layer: Layer, cursor) -> list[Problem]:
    """The states a run revert restores (temp table revert_to), validated like any save: attributes by
    validate_properties, geometry by the same limits in PostGIS (thousands of rows, no round trip each)."""
    problems: list[Problem] = []
    cursor.execute("SELECT feature_id, properties FROM revert_to WHERE op <> 'delete' ORDER BY feature_id")
    for feature_id, properties in cursor.fetchall():
        _, errors = validate_properties(layer.schema, json.loads(properties) if isinstance(properties, str) else properties)
        problems += [Problem(e.field, f"Đối tượng {feature_id}: {e.message_vi}", f"Feature {feature_id}: {e.message_en}")
                     for e in errors]
    wanted = layer.geometry_type if layer.geometry_type not in ("", "Geometry") else None
    cursor.execute(
        "SELECT feature_id FROM revert_to WHERE op <> 'delete' AND (ST_NPoints(geom) > %s OR NOT ST_IsValid(geom) "
        "OR (%s::text IS NOT NULL AND GeometryType(geom) <> upper(%s::text))) ORDER BY feature_id",
        [MAX_VERTICES, wanted, wanted])
    problems += [Problem("geometry", f"Đối tượng {row[0]}: hình học không hợp lệ cho lớp này.",
                         f"Feature {row[0]}: the geometry is not valid for this layer.") for row in cursor.fetchall()]
    return problems[:50]


# Touched features with a version after the run's own last version of them that the run did not write: an
# editor's save, a feature revert, a later run, or this run's revert. Restoring the state before the run
# would silently undo those (a lost update).
CHANGED_SINCE_RUN_SQL = """
WITH last AS (
    SELECT DISTINCT ON (feature_id) feature_id, changed_at, id FROM layers_featureversion
    WHERE run_id = %(run)s AND layer_id = %(layer)s ORDER BY feature_id, changed_at DESC, id DESC)
SELECT count(DISTINCT v.feature_id) FROM layers_featureversion v JOIN last l ON l.feature_id = v.feature_id
WHERE (v.changed_at, v.id) > (l.changed_at, l.id) AND v.run_id IS DISTINCT FROM %(run)s
"""


class RunChangedSince(StaleVersion):
    """A run revert would overwrite edits made after the run."""

    def __init__(self, count: int):
        super().__init__(
            f"{count} đối tượng do lần nạp này thay đổi đã được sửa sau đó; hoàn tác lần nạp sẽ xóa mất các sửa đổi ấy. "
            "Hãy hoàn tác các sửa đổi đó trước, hoặc nhờ quản trị dữ liệu hoàn tác lần nạp với force.",
            f"{count} feature(s) this run touched were changed after it; undoing the run would overwrite those changes. "
            "Revert those changes first, or ask a data administrator to revert the run with force.")
        self.count = count


def _check_unchanged_since(layer: Layer, run_id: int, *, user, force: bool) -> None:
    """RunChangedSince (409) when a touched feature changed after the run, unless a data administrator forces it."""
    if force and not is_data_admin(user):
        raise EditForbidden("Chỉ quản trị dữ liệu mới được hoàn tác lần nạp với force.",
                            "Only a data administrator may revert a run with force.")
    with db.cursor() as cursor:
        cursor.execute(CHANGED_SINCE_RUN_SQL, {"run": run_id, "layer": layer.pk})
        count = cursor.fetchone()[0]
    if count and not force:
        raise RunChangedSince(count)


@transaction.atomic
def run_revert(*, layer: Layer, run_id: int, user, comment: str = "", force: bool = False) -> int:
    """Undoes one ingest run: every feature it touched goes back to its state just before the run. Refused
    whole (403) unless every touched feature, as it is now and as it goes back, lies in the user's edit area;
    refused (409) when one changed after the run, unless a data administrator forces it (the later changes
    are then undone too, and stay in the history); the restored states are validated like any save."""
    authorize_edit(user, layer)
    started = FeatureVersion.objects.filter(run_id=run_id, layer=layer).order_by("changed_at").values_list("changed_at", flat=True).first()
    if started is None:
        raise NotFound("Lần nạp dữ liệu này không thay đổi gì trong lớp.", "This ingest run changed nothing in this layer.")
    before = started - dt.timedelta(microseconds=1)
    check_as_of(layer, before, parameter="run_id")  # 410: the states before the run were compacted away
    with db.cursor() as cursor:
        cursor.execute("SELECT DISTINCT feature_id FROM layers_featureversion WHERE run_id = %s AND layer_id = %s", [run_id, layer.pk])
        touched = [row[0] for row in cursor.fetchall()]
        # Every query names the layer: layers_feature is partitioned by layer, so only its partition is read.
        cursor.execute("SELECT id FROM layers_feature WHERE id = ANY(%s) AND layer_id = %s ORDER BY id FOR UPDATE",
                       [touched, layer.pk])
        _check_unchanged_since(layer, run_id, user=user, force=force)  # after the lock: no save slips in between
        # State before the run, per touched feature (none: the run created it).
        cursor.execute("DROP TABLE IF EXISTS revert_to")
        cursor.execute(
            "CREATE TEMP TABLE revert_to ON COMMIT DROP AS SELECT DISTINCT ON (feature_id) feature_id, op, "
            "ST_Force2D(geom) AS geom, properties "
            "FROM layers_featureversion WHERE feature_id = ANY(%s) AND changed_at <= %s ORDER BY feature_id, changed_at DESC, id DESC",
            [touched, before],
        )
        authorize_change_sql(user=user, layer=layer, params=[touched, layer.pk], geometries_sql=(
            "SELECT geom FROM layers_feature WHERE id = ANY(%s) AND layer_id = %s "
            "UNION ALL SELECT geom FROM revert_to WHERE op <> 'delete'"))
        problems = _restored_problems(layer, cursor)
        if problems:
            raise ValidationFailed(problems)
        change_context(user=user, comment=comment or f"revert ingest run {run_id}", kind="revert")
        cursor.execute("SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM (SELECT ST_Extent(geom) e FROM "
                       "(SELECT geom FROM layers_feature WHERE id = ANY(%s) AND layer_id = %s UNION ALL "
                       "SELECT geom FROM revert_to) g) s", [touched, layer.pk])
        box = cursor.fetchone()
        cursor.execute(
            "DELETE FROM layers_feature f WHERE f.id = ANY(%s) AND f.layer_id = %s AND NOT EXISTS "
            "(SELECT 1 FROM revert_to r WHERE r.feature_id = f.id AND r.op <> 'delete')", [touched, layer.pk])
        cursor.execute(
            "UPDATE layers_feature f SET geom = r.geom, properties = r.properties, updated_by_id = %s "
            "FROM revert_to r WHERE r.feature_id = f.id AND f.layer_id = %s AND r.op <> 'delete'",
            [user.pk if user else None, layer.pk])
        cursor.execute(
            "INSERT INTO layers_feature (id, layer_id, geom, properties, version, updated_at, updated_by_id) "
            "SELECT r.feature_id, %s, r.geom, r.properties, "
            "(SELECT max(version) + 1 FROM layers_featureversion v WHERE v.feature_id = r.feature_id), now(), %s "
            "FROM revert_to r WHERE r.op <> 'delete' AND NOT EXISTS (SELECT 1 FROM layers_feature f WHERE f.id = r.feature_id)",
            [layer.pk, user.pk if user else None])
    features_changed(layer=layer, bounds=[box] if box and box[0] is not None else [])
    layer_refresh_stats(layer=layer)
    return len(touched)
