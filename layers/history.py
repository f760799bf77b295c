"""Reading history: a feature's versions, a layer as of a past time, and the difference between two times.

Rows are written by triggers (migration 0004); change_context() tells them who and why.
"""
import datetime as dt
import json


from layers import db
from layers.compaction import check_as_of
from layers.errors import InvalidParameter
from layers.models import Layer
from layers.params import parse_moment  # noqa: F401 - doors import it from here too
from layers.vn2000 import LEGAL_AREA_SRID


MAX_COMMENT = 1000  # characters; the history page and the audit show comments whole
# Control characters other than tab, newline and carriage return: invisible in a page or a CSV cell, and
# NUL cannot be stored by PostgreSQL at all.
_CONTROL = {c for c in range(0x20) if c not in (0x09, 0x0A, 0x0D)} | {0x7F}


def _bad_comment(message_vi: str, message_en: str) -> InvalidParameter:
    return InvalidParameter(message_vi, message_en, parameter="comment")


def clean_comment(value: object) -> str:
    """An edit comment as it is stored: text of at most MAX_COMMENT characters without control characters
    (tab and newline kept), surrounding spaces removed; None is no comment. InvalidParameter (400) otherwise."""
    if value is None:
        return ""
    if not isinstance(value, str):  # a list or a number would be stored as its Python repr
        raise _bad_comment("Ghi chú (comment) phải là một chuỗi văn bản.", "The comment must be a text string.")
    if any(ord(c) in _CONTROL for c in value):
        raise _bad_comment("Ghi chú chứa ký tự điều khiển (ví dụ NUL), không được phép.",
                           "The comment contains a control character (e.g. NUL), which is not allowed.")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate: no UTF-8 text, so no database text either
        raise _bad_comment("Ghi chú không phải văn bản UTF-8 hợp lệ.", "The comment is not valid UTF-8 text.") from None
    value = value.strip()
    if len(value) > MAX_COMMENT:
        raise _bad_comment(f"Ghi chú dài quá {MAX_COMMENT} ký tự.", f"The comment is longer than {MAX_COMMENT} characters.")
    return value


CHANGE_KINDS = ("edit", "revert", "ingest", "harvest")


def change_context(*, user=None, comment: str = "", run_id: int | None = None, kind: str = "edit") -> None:
    """Who, why and what kind of change (CHANGE_KINDS) for the history triggers and the change listeners, for the
    rest of the current transaction (the comment checked by clean_comment here too, so no door can hand the
    database a comment it cannot hold). current_change_kind() reads the kind back."""
    if kind not in CHANGE_KINDS:
        raise ValueError(f"unknown change kind {kind!r}")
    with db.cursor() as cursor:
        cursor.execute(
            "SELECT set_config('gisportal.user_id', %s, true), set_config('gisportal.comment', %s, true), "
            "set_config('gisportal.run_id', %s, true), set_config('gisportal.kind', %s, true)",
            [str(user.pk) if user is not None and user.pk else "", clean_comment(comment), str(run_id) if run_id else "",
             kind],
        )


def current_change_kind() -> str:
    """The kind change_context set for the current transaction ("edit" when none was set)."""
    with db.cursor() as cursor:
        cursor.execute("SELECT coalesce(nullif(current_setting('gisportal.kind', true), ''), 'edit')")
        return cursor.fetchone()[0]


def _fetch(sql: str, params: dict) -> list[dict]:
    with db.cursor() as cursor:
        cursor.execute(sql, params)
        names = [c.name for c in cursor.description]
        rows = []
        for row in cursor.fetchall():
            item = dict(zip(names, row))
            if isinstance(item.get("properties"), str):
                item["properties"] = json.loads(item["properties"])
            rows.append(item)
        return rows


def feature_versions(feature_id: int) -> list[dict]:
    """Every version of a feature, oldest first, with who and the area in m² (VN-2000)."""
    return _fetch(
        "SELECT v.id, v.version, v.op, v.changed_at, u.username AS changed_by, v.comment, v.run_id, v.layer_id, "
        f"v.properties, ST_AsGeoJSON(v.geom, 7) AS geojson, ST_Area(ST_Transform(v.geom, {LEGAL_AREA_SRID})) AS area_m2 "
        "FROM layers_featureversion v LEFT JOIN auth_user u ON u.id = v.changed_by_id "
        "WHERE v.feature_id = %(id)s ORDER BY v.changed_at, v.id",
        {"id": feature_id},
    )


# The state at a time: per feature, the latest version at or before it, unless that is a delete.
AS_OF_SQL = """
SELECT id AS version_id, feature_id, version, geom, properties FROM (
    SELECT DISTINCT ON (feature_id) id, feature_id, version, op, geom, properties
    FROM layers_featureversion
    WHERE layer_id = %(layer)s::bigint AND changed_at <= %(at)s
    ORDER BY feature_id, changed_at DESC, id DESC
) latest WHERE op <> 'delete'
"""

# The same state within a box. The box cannot filter before the latest version is chosen (a feature
# moved out of the box would show its older shape there), so versions in the box are kept only when
# no later version of the feature exists by then: the GiST finds candidates, (feature_id, changed_at, id)
# answers the check.
AS_OF_BOX_SQL = """
SELECT v.id AS version_id, v.feature_id, v.version, v.geom, v.properties
FROM layers_featureversion v
WHERE v.layer_id = %(layer)s::bigint AND v.changed_at <= %(at)s AND v.op <> 'delete'
  AND v.geom && ST_MakeEnvelope(%(west)s, %(south)s, %(east)s, %(north)s, 4326)
  AND NOT EXISTS (
      SELECT 1 FROM layers_featureversion later
      WHERE later.feature_id = v.feature_id AND later.changed_at <= %(at)s
        AND (later.changed_at, later.id) > (v.changed_at, v.id))
"""


def as_of_sql(*, bbox: bool) -> str:
    """The as-of query (parameters: layer, at, and west/south/east/north when bbox) for other apps to wrap."""
    return AS_OF_BOX_SQL if bbox else AS_OF_SQL


def layer_as_of(layer: Layer, at: dt.datetime, bbox: tuple[float, float, float, float] | None = None) -> list[dict]:
    """The layer's features as they were at a time (optionally within a WGS 84 box); 410 before its compaction."""
    check_as_of(layer, at)
    params = {"layer": layer.pk, "at": at}
    if bbox:
        params.update(dict(zip(("west", "south", "east", "north"), bbox)))
    return _fetch(
        f"SELECT feature_id AS id, version, properties, ST_AsGeoJSON(geom, 7) AS geojson FROM ({as_of_sql(bbox=bool(bbox))}) s "
        "ORDER BY feature_id",
        params,
    )


# The as-of state of the features after a feature id: a diff page only reads the histories it shows.
_AS_OF_AFTER_SQL = AS_OF_SQL.replace("WHERE layer_id = %(layer)s::bigint",
                                     "WHERE layer_id = %(layer)s::bigint AND feature_id > %(after)s::bigint")
assert "%(after)s" in _AS_OF_AFTER_SQL, "AS_OF_SQL changed: keep the page filter inside both states"


def layer_diff(layer: Layer, since: dt.datetime, until: dt.datetime, *, after: int = 0,
               limit: int | None = None) -> dict[str, list[dict]]:
    """Features added, removed and changed between two times, with areas (m², VN-2000) before and after;
    a page of them (feature id > after, at most limit, in id order) when limit is given; 410 before its compaction."""
    check_as_of(layer, since, parameter="from")
    check_as_of(layer, until, parameter="to")
    rows = _fetch(
        f"""
        WITH a AS ({_AS_OF_AFTER_SQL}),
             b AS ({_AS_OF_AFTER_SQL.replace("%(at)s", "%(until)s")})
        SELECT coalesce(a.feature_id, b.feature_id) AS id,
               CASE WHEN a.feature_id IS NULL THEN 'added' WHEN b.feature_id IS NULL THEN 'removed' ELSE 'changed' END AS change,
               a.version AS version_before, b.version AS version_after,
               a.properties AS properties_before, b.properties AS properties,
               ST_Area(ST_Transform(a.geom, {LEGAL_AREA_SRID})) AS area_before,
               ST_Area(ST_Transform(b.geom, {LEGAL_AREA_SRID})) AS area_after,
               ST_AsGeoJSON(coalesce(b.geom, a.geom), 7) AS geojson,
               coalesce(a.geom = b.geom, false) AS same_geom
        FROM a FULL JOIN b ON a.feature_id = b.feature_id
        WHERE a.feature_id IS NULL OR b.feature_id IS NULL OR a.version_id <> b.version_id
        ORDER BY 1 LIMIT %(limit)s
        """,
        {"layer": layer.pk, "at": since, "until": until, "after": after, "limit": limit},
    )
    out: dict[str, list[dict]] = {"added": [], "removed": [], "changed": []}
    for row in rows:
        if isinstance(row.get("properties_before"), str):
            row["properties_before"] = json.loads(row["properties_before"])
        out[row["change"]].append(row)
    return out
