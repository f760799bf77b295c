"""One feature query for downloads and OGC API: bbox, CQL2, field=value, properties, sortby, CRS.

Builds parameterised SQL over layers_feature. Field names only from the layer's allow-list (and even
those travel as parameters, `properties->%s`); values only as parameters.
"""
import math
import re
from dataclasses import dataclass, field
from datetime import datetime

import shapely
from psycopg2 import sql

from layers.compaction import check_as_of
from layers.errors import InvalidParameter
from layers.models import Layer
from layers.personal import personal_fields
from opendata.cql2 import _error
from layers.params import CRS84, GEOGRAPHIC_SRIDS, Crs, check_bbox, check_in_crs, parse_number

NUMERIC_TYPES = {"integer", "number"}
_COMPARE = {"=", "<>", "<", ">", "<=", ">="}


@dataclass
class FeatureQuery:
    """What to read from one layer, already parsed and checked."""

    layer: Layer
    fields: list[dict]
    crs: Crs = CRS84
    bbox: tuple[float, float, float, float] | None = None
    bbox_crs: Crs = CRS84
    cql: tuple | None = None
    filter_crs: Crs = CRS84
    equals: list[tuple[str, str]] = field(default_factory=list)
    properties: list[str] | None = None
    sortby: list[tuple[str, bool]] = field(default_factory=list)  # (name, descending)
    after_id: int | None = None  # keyset paging (id order only): features with a greater id
    as_of: datetime | None = None  # read the layer as it was then, from its history
    # Fields never output (personal ones the user may not see). None: the public's, every personal field,
    # so a query built without a user is safe; [] for those allowed to see them.
    hidden: list[str] | None = None

    def __post_init__(self):
        if self.hidden is None:
            self.hidden = personal_fields(self.layer)
        check_as_of(self.layer, self.as_of)  # 410 before the layer's compaction time: that past is gone

    @property
    def by_name(self) -> dict[str, dict]:
        return {spec["name"]: spec for spec in self.fields}

    @property
    def is_filtered(self) -> bool:
        """True when the result is not simply today's whole layer (whose size the catalog knows)."""
        return bool(self.bbox or self.cql or self.equals or self.as_of)


def _field(q: FeatureQuery, name: str, *, parameter: str = "filter") -> dict:
    spec = q.by_name.get(name) if name not in (q.hidden or ()) else None
    if spec is None:
        raise InvalidParameter(
            f"Trường không tồn tại trong lớp: {name[:100]}.", f"Unknown field for this layer: {name[:100]}.",
            parameter=parameter,
        )
    return spec


def _numeric(spec: dict) -> bool:
    return spec.get("type") in NUMERIC_TYPES


def _value(spec: dict, value, parameter: str = "filter"):
    """A literal coerced to the field's type (numbers for numeric fields, text otherwise)."""
    if isinstance(value, bool) and not _numeric(spec):  # text fields compare with the text jsonb gives ('true')
        return "true" if value else "false"
    if _numeric(spec):
        if isinstance(value, bool):  # TRUE is no number: refused like 'abc', not a query that matches nothing
            raise InvalidParameter(f"Trường {spec['name']} cần một số, không phải true/false.",
                                   f"Field {spec['name']} needs a number, not true/false.", parameter=parameter)
        if isinstance(value, int):
            return value
        try:  # text as the one number parser reads it: finite, no 1e999 that would match every row
            number = parse_number(value, parameter=parameter) if isinstance(value, str) else float(value)
        except (TypeError, ValueError, InvalidParameter):
            number = math.nan
        if not math.isfinite(number):
            raise InvalidParameter(
                f"Trường {spec['name']} cần một số hữu hạn.", f"Field {spec['name']} needs a finite number.",
                parameter=parameter,
            )
        return number
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _check_like(pattern: str) -> None:
    """Refuses a LIKE pattern PostgreSQL would fail on: one ending in an unpaired escape (backslash)."""
    trailing = len(pattern) - len(pattern.rstrip("\\"))
    if trailing % 2:
        raise _error("mẫu LIKE không hợp lệ (kết thúc bằng ký tự thoát \\).",
                     "invalid LIKE pattern (it ends with the escape character \\).")


def _column(spec: dict) -> sql.Composable:
    # jsonb comparison for numbers (numeric order, and no cast error on odd data); text otherwise.
    return sql.SQL("(f.properties->%s)") if _numeric(spec) else sql.SQL("(f.properties->>%s)")


def _rhs(spec: dict, value) -> sql.Composable:
    return sql.SQL("to_jsonb(%s::numeric)") if _numeric(spec) else sql.SQL("%s")


def _geometry_param(wkt: str, crs: Crs, parameter: str) -> tuple[sql.Composable, list]:
    """A WKT literal (parsed by GEOS first) as SQL in WGS 84."""
    try:
        geom = shapely.from_wkt(wkt)
    except Exception:
        raise _error("WKT không đọc được.", "the WKT does not parse.") from None
    if geom is None or geom.is_empty:
        raise _error("hình học rỗng.", "empty geometry.")
    geom = shapely.force_2d(geom)  # POINT Z / M / ZM: the filter is planar, as every stored geometry
    if not shapely.is_valid(geom):  # a bow-tie or collapsed ring would give GEOS-dependent, wrong answers
        reason = shapely.is_valid_reason(geom)[:80]
        raise _error(f"hình học không hợp lệ ({reason}).", f"invalid geometry ({reason}).")
    if crs.lat_first:
        geom = shapely.transform(geom, lambda c: c[:, ::-1])
    # Finite and inside the CRS's area of use: PROJ cannot transform a point at 1e30 (a 500 before).
    check_in_crs(tuple(float(v) for v in geom.bounds), crs, parameter=parameter)
    expr = sql.SQL("ST_GeomFromText(%s, %s)")
    if crs.srid != 4326:
        expr = sql.SQL("ST_Transform(ST_GeomFromText(%s, %s), 4326)")
    return expr, [geom.wkt, crs.srid]


def compile_cql(q: FeatureQuery, node: tuple) -> tuple[sql.Composable, list]:
    """SQL and parameters for a CQL2 AST (see opendata.cql2)."""
    kind = node[0]
    if kind in ("and", "or"):
        parts, params = [], []
        for child in node[1]:
            part, child_params = compile_cql(q, child)
            parts.append(part)
            params += child_params
        joiner = sql.SQL(" AND " if kind == "and" else " OR ")
        return sql.SQL("({})").format(joiner.join(parts)), params
    if kind == "not":
        part, params = compile_cql(q, node[1])
        return sql.SQL("(NOT COALESCE({}, false))").format(part), params
    if kind == "spatial":
        geom_sql, params = _geometry_param(node[2], q.filter_crs, "filter")
        if node[1] == "S_DISJOINT":
            return sql.SQL("(NOT ST_Intersects(f.geom, {}))").format(geom_sql), params
        func = {"S_INTERSECTS": "ST_Intersects", "S_WITHIN": "ST_Within", "S_CONTAINS": "ST_Contains"}[node[1]]
        return sql.SQL("{}(f.geom, {})").format(sql.SQL(func), geom_sql), params
    spec = _field(q, node[1] if kind != "cmp" else node[2])
    name = spec["name"]
    col = _column(spec)
    if kind == "cmp":
        op, value = node[1], _value(spec, node[3])
        return sql.SQL("({} {} {})").format(col, sql.SQL(op), _rhs(spec, value)), [name, value]
    if kind == "like":
        _check_like(node[2])
        neg = sql.SQL(" NOT" if node[3] else "")
        return sql.SQL("((f.properties->>%s){} LIKE %s)").format(neg), [name, node[2]]
    if kind == "in":
        values = [_value(spec, v) for v in node[2]]
        neg = sql.SQL(" NOT" if node[3] else "")
        items = sql.SQL(", ").join(_rhs(spec, v) for v in values)
        return sql.SQL("({}{} IN ({}))").format(col, neg, items), [name, *values]
    if kind == "between":
        low, high = _value(spec, node[2]), _value(spec, node[3])
        neg = sql.SQL(" NOT" if node[4] else "")
        return (sql.SQL("({}{} BETWEEN {} AND {})").format(col, neg, _rhs(spec, low), _rhs(spec, high)),
                [name, low, high])
    if kind == "isnull":
        test = sql.SQL("IS NOT NULL" if node[2] else "IS NULL")
        return sql.SQL("(NULLIF(f.properties->%s, 'null'::jsonb) {})").format(test), [name]
    raise _error("biểu thức không hỗ trợ.", "unsupported expression.")


def _bbox_sql(q: FeatureQuery) -> tuple[sql.Composable, list]:
    w, s, e, n = q.bbox
    srid = q.bbox_crs.srid
    if srid == 4326:
        if w > e:  # crosses the antimeridian: two boxes
            return (sql.SQL("(ST_Intersects(f.geom, ST_MakeEnvelope(%s, %s, 180, %s, 4326)) OR "
                            "ST_Intersects(f.geom, ST_MakeEnvelope(-180, %s, %s, %s, 4326)))"), [w, s, n, s, e, n])
        return sql.SQL("ST_Intersects(f.geom, ST_MakeEnvelope(%s, %s, %s, %s, 4326))"), [w, s, e, n]
    check_bbox([w, s, e, n], Crs(srid, q.bbox_crs.uri), antimeridian=False)  # also when built in code
    # A projected box's edges curve in WGS 84: densify before transforming.
    step = max(e - w, n - s) / 32 or 1
    return (sql.SQL("ST_Intersects(f.geom, ST_Transform(ST_Segmentize(ST_MakeEnvelope(%s, %s, %s, %s, %s), %s), 4326))"),
            [w, s, e, n, srid, step])


def where_sql(q: FeatureQuery) -> tuple[sql.Composable, list]:
    """The WHERE clause (without the keyword) and its parameters."""
    parts: list[sql.Composable] = [sql.SQL("f.layer_id = %s")]
    params: list = [q.layer.pk]
    if q.bbox:
        part, extra = _bbox_sql(q)
        parts.append(part)
        params += extra
    for name, raw in q.equals:
        spec = _field(q, name, parameter=name)
        value = _value(spec, raw, parameter=name)
        parts.append(sql.SQL("{} = {}").format(_column(spec), _rhs(spec, value)))
        params += [name, value]
    if q.cql:
        part, extra = compile_cql(q, q.cql)
        parts.append(sql.SQL("COALESCE({}, false)").format(part))
        params += extra
    if q.after_id is not None:
        parts.append(sql.SQL("f.id > %s"))
        params.append(q.after_id)
    return sql.SQL(" AND ").join(parts), params


def source_sql(q: FeatureQuery) -> tuple[sql.Composable, list]:
    """`layers_feature f`, or with as_of the layer's state then, from layers.history, under the same name."""
    if q.as_of is None:
        return sql.SQL("layers_feature f"), []
    from layers.history import as_of_sql

    text = as_of_sql(bbox=False)
    names = re.findall(r"%\((\w+)\)s", text)  # its named parameters, in order, as positional ones here
    values = {"layer": q.layer.pk, "at": q.as_of}
    query = sql.SQL("(SELECT feature_id AS id, %s::bigint AS layer_id, geom, properties FROM ({}) s) f").format(
        sql.SQL(re.sub(r"%\((\w+)\)s", "%s", text)))
    return query, [q.layer.pk, *[values[n] for n in names]]


def geometry_sql(q: FeatureQuery) -> sql.Composable:
    """The geometry in the output CRS and axis order."""
    expr = sql.SQL("f.geom")
    if q.crs.srid != 4326:
        expr = sql.SQL("ST_Transform(f.geom, {})").format(sql.Literal(q.crs.srid))
    if q.crs.lat_first:
        expr = sql.SQL("ST_FlipCoordinates({})").format(expr)
    return expr


def properties_sql(q: FeatureQuery) -> tuple[sql.Composable, list]:
    """The properties object, whole or cut to the requested fields."""
    if q.properties is None:
        if q.hidden:  # every property but the hidden ones (extra attributes outside the schema included)
            return sql.SQL("(f.properties - %s::text[])"), [list(q.hidden)]
        return sql.SQL("f.properties"), []
    if not q.properties:
        return sql.SQL("'{}'::jsonb"), []
    names = [name for name in q.properties if name not in (q.hidden or ())]
    if not names:
        return sql.SQL("'{}'::jsonb"), []
    pairs = sql.SQL(", ").join(sql.SQL("%s::text, f.properties->%s") for _ in names)
    params = [p for name in names for p in (name, name)]
    return sql.SQL("jsonb_strip_nulls(jsonb_build_object({}))").format(pairs), params


def order_sql(q: FeatureQuery) -> tuple[sql.Composable, list]:
    parts, params = [], []
    for name, desc in q.sortby:
        spec = _field(q, name, parameter="sortby")
        parts.append(sql.SQL("{} {} NULLS LAST").format(_column(spec), sql.SQL("DESC" if desc else "ASC")))
        params.append(name)
    parts.append(sql.SQL("f.id"))
    return sql.SQL(", ").join(parts), params


def _feature_text(q: FeatureQuery) -> tuple[sql.Composable, list]:
    """The SQL expression of one GeoJSON Feature as text, over `f`."""
    precision = 7 if q.crs.srid in GEOGRAPHIC_SRIDS else 3
    props, props_params = properties_sql(q)
    text = sql.SQL(
        "'{{\"type\":\"Feature\",\"id\":' || f.id || ',\"geometry\":' || "
        "COALESCE(ST_AsGeoJSON({geom}, {precision}, 0), 'null') || ',\"properties\":' || {props}::text || '}}'"
    ).format(geom=geometry_sql(q), precision=sql.Literal(precision), props=props)
    return text, props_params


def geojson_rows_sql(q: FeatureQuery) -> tuple[sql.Composable, list]:
    """SELECT of one GeoJSON Feature text per row, built by PostGIS (ST_AsGeoJSON), in no particular order."""
    text, text_params = _feature_text(q)
    source, source_params = source_sql(q)
    where, where_params = where_sql(q)
    query = sql.SQL("SELECT {} FROM {} WHERE {}").format(text, source, where)
    return query, text_params + source_params + where_params


def geojson_page_sql(q: FeatureQuery, limit: int, offset: int) -> tuple[sql.Composable, list]:
    """One page of Feature texts in sortby/id order.

    The page's ids are chosen first and only those rows are turned into GeoJSON: with a plain
    LIMIT/OFFSET, PostgreSQL would build the JSON of every skipped row too.
    """
    text, text_params = _feature_text(q)
    where, where_params = where_sql(q)
    order, order_params = order_sql(q)
    if q.as_of is not None:  # a past state is read once, from history: one plain page of it
        source, source_params = source_sql(q)
        query = sql.SQL("SELECT {text} FROM {source} WHERE {where} ORDER BY {order} LIMIT %s OFFSET %s").format(
            text=text, source=source, where=where, order=order)
        return query, text_params + source_params + where_params + order_params + [limit, offset]
    query = sql.SQL(
        "WITH page AS MATERIALIZED (SELECT f.id FROM layers_feature f WHERE {where} ORDER BY {order} LIMIT %s OFFSET %s) "
        "SELECT {text} FROM page JOIN layers_feature f ON f.id = page.id AND f.layer_id = %s ORDER BY {order}"
    ).format(where=where, order=order, text=text)
    # The layer named in the join too: layers_feature is partitioned by layer, so only its partition is read.
    return query, where_params + order_params + [limit, offset] + text_params + [q.layer.pk] + order_params


def count_sql(q: FeatureQuery, *, rows: bool = False) -> tuple[sql.Composable, list]:
    """count(*) of the matches, or with rows=True a plain SELECT of them (for the planner's estimate)."""
    source, source_params = source_sql(q)
    where, params = where_sql(q)
    select = "SELECT 1" if rows else "SELECT count(*)"
    return sql.SQL(select + " FROM {} WHERE {}").format(source, where), source_params + params
