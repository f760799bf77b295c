"""Compacting a layer's history, and the horizon it leaves: what came before it can no longer be answered.

history_compact folds, per feature, the versions at or before a time into the latest of them (a feature deleted by
then loses its whole history before the time), in one transaction. What stays still answers every as-of read at
or after the time, and a change feed replayed from its start still ends equal to the layer (each feature's last
state is kept; a deleted feature simply never appears). What is gone: states before the time, and the feed
positions of the removed rows. The horizon records both, so those questions get 410 Gone with what to do instead
of a silently wrong answer: as-of reads and diffs before the time (check_as_of, called wherever an as-of moment
meets a layer) and feed cursors below the largest position removed (check_position).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from layers import db
from layers.errors import DomainError, InvalidParameter
from layers.models import HistoryHorizon, Layer


class HistoryCompacted(DomainError):
    """A question about history that compaction removed (an old feed cursor, an as-of before the horizon)."""

    status = 410
    code = "history-compacted"


@dataclass(frozen=True)
class Compaction:
    """What one history_compact did."""

    rows_removed: int
    horizon: HistoryHorizon | None  # None: nothing was removed, and the layer had no horizon before


def horizon_of(layer: Layer) -> HistoryHorizon | None:
    """The layer's compaction horizon, or None when its history is whole."""
    return HistoryHorizon.objects.using(db.write_alias()).filter(layer_id=layer.pk).first()


def _local(moment: dt.datetime) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M:%S %Z")


def check_as_of(layer: Layer, at: dt.datetime | None, *, parameter: str = "as_of") -> None:
    """Refuses (410) a past state the layer's history no longer holds: a moment before its compaction time."""
    if at is None:
        return
    horizon = horizon_of(layer)
    if horizon is not None and at < horizon.before:
        when = _local(horizon.before)
        raise HistoryCompacted(
            f"Lịch sử của lớp {layer.slug} trước {when} đã được thu gọn: không còn trạng thái tại thời điểm "
            f"{parameter} đã cho. Hãy chọn thời điểm từ {when} trở về sau.",
            f"The history of layer {layer.slug} before {when} was compacted: the state at the given {parameter} no "
            f"longer exists. Choose a moment at or after {when}.", parameter=parameter)


def check_position(layer: Layer, position, *, parameter: str = "since") -> None:
    """Refuses (410) a feed position below the horizon: changes after it were removed, so following on from it
    would miss them. The start (no position) is always fine: a replay from it still ends equal to the layer."""
    if position.xact == 0 and position.id == 0:
        return
    horizon = horizon_of(layer)
    if horizon is not None and (position.xact, position.id) < (horizon.xact, horizon.row_id):
        when, slug = _local(horizon.before), layer.slug
        raise HistoryCompacted(
            f"Con trỏ ({parameter}) quá cũ: lịch sử của lớp {slug} trước {when} đã được thu gọn. "
            f"Hãy tải lại toàn bộ lớp (/data/{slug}.geojson) rồi theo dõi tiếp từ con trỏ trong tiêu đề "
            "X-Changes-Cursor của bản tải, hoặc đọc lại nguồn cấp từ đầu (bỏ since).",
            f"The cursor ({parameter}) is too old: the history of layer {slug} before {when} was compacted. "
            f"Download the whole layer again (/data/{slug}.geojson) and follow on from the cursor in the "
            "download's X-Changes-Cursor header, or read the feed again from its start (omit since).",
            parameter=parameter)


# Per feature, its latest version at or before the time (AS_OF_SQL's order): kept unless it is a delete.
_KEEP_SQL = """
CREATE TEMP TABLE compact_keep ON COMMIT DROP AS
SELECT DISTINCT ON (feature_id) id, op FROM layers_featureversion
WHERE layer_id = %(layer)s::bigint AND changed_at <= %(before)s
ORDER BY feature_id, changed_at DESC, id DESC
"""
# Every other version at or before the time goes; the total and the largest position removed come back.
_REMOVE_SQL = """
WITH gone AS (
    DELETE FROM layers_featureversion v
    WHERE v.layer_id = %(layer)s::bigint AND v.changed_at <= %(before)s
      AND NOT EXISTS (SELECT 1 FROM compact_keep k WHERE k.id = v.id AND k.op <> 'delete')
    RETURNING v.xact, v.id)
SELECT count(*) OVER (), xact::text::bigint, id FROM gone ORDER BY xact DESC, id DESC LIMIT 1
"""


@transaction.atomic
def history_compact(*, layer: Layer, before: dt.datetime) -> Compaction:
    """Folds the layer's versions at or before `before` into one per feature (none for a feature deleted by then),
    in one transaction, and moves the layer's horizon; a time in the future is refused (400)."""
    if before > timezone.now():
        raise InvalidParameter("Chỉ thu gọn được lịch sử đã qua: thời điểm --before nằm ở tương lai.",
                               "Only past history can be compacted: the --before time is in the future.",
                               parameter="before")
    Layer.objects.select_for_update().filter(pk=layer.pk).first()  # one compaction of a layer at a time
    params = {"layer": layer.pk, "before": before}
    with db.cursor() as cursor:
        cursor.execute(_KEEP_SQL, params)
        cursor.execute(_REMOVE_SQL, params)
        row = cursor.fetchone()
        cursor.execute("DROP TABLE compact_keep")
    if row is None:
        return Compaction(0, horizon_of(layer))
    removed, xact, row_id = row
    horizon, created = HistoryHorizon.objects.get_or_create(
        layer=layer, defaults={"before": before, "xact": xact, "row_id": row_id, "rows_removed": removed})
    if not created:
        horizon.before = max(horizon.before, before)
        horizon.xact, horizon.row_id = max((horizon.xact, horizon.row_id), (xact, row_id))
        horizon.rows_removed += removed
        horizon.save()
    return Compaction(removed, horizon)
