"""CQL2-JSON (filter-lang=cql2-json): read into the same AST as CQL2 text (opendata.cql2), so one compiler,
one allow-list and one set of limits serve both. Nesting is capped before parsing (layers.params.parse_json)
and counted again per operator here; numbers, dates, boxes and geometries pass the same checks as in text.
"""
import json

import shapely

from layers.errors import InvalidParameter
from layers.params import parse_json
from opendata.cql2 import GEOMETRY_NAMES, MAX_DEPTH, MAX_WKT_DEPTH, _error, bbox_wkt, temporal_value

_COMPARISONS = {"=", "<>", "<", ">", "<=", ">="}
_SPATIAL = {"s_intersects": "S_INTERSECTS", "s_within": "S_WITHIN", "s_contains": "S_CONTAINS", "s_disjoint": "S_DISJOINT"}
_GEOJSON_TYPES = {"Point", "MultiPoint", "LineString", "MultiLineString", "Polygon", "MultiPolygon", "GeometryCollection"}


def parse(text: str) -> tuple:
    """The AST of a CQL2-JSON filter; InvalidParameter(filter) when it is not one we can run."""
    try:
        value = parse_json(text, parameter="filter", max_depth=2 * MAX_DEPTH + MAX_WKT_DEPTH)
    except InvalidParameter as error:
        raise _error(error.message_vi, error.message_en) from None
    return _expr(value, 0)


def _args(node: dict, count: int | None = None) -> list:
    args = node.get("args")
    if not isinstance(args, list) or (count is not None and len(args) != count):
        raise _error(f"phép {str(node.get('op'))[:20]} cần {count or 'các'} đối số.",
                     f"operator {str(node.get('op'))[:20]} needs {count or 'its'} arguments.")
    return args


def _expr(node, depth: int) -> tuple:
    if depth > MAX_DEPTH:
        raise _error(f"lồng quá sâu (tối đa {MAX_DEPTH} cấp).", f"nested too deeply (at most {MAX_DEPTH} levels).")
    if not isinstance(node, dict) or not isinstance(node.get("op"), str):
        raise _error("cần một biểu thức {\"op\": …, \"args\": […]}.", "expected an expression {\"op\": …, \"args\": […]}.")
    op = node["op"]
    low = op.lower()
    if low in ("and", "or"):
        items = [_expr(child, depth + 1) for child in _args(node)]
        if len(items) < 2:
            raise _error(f"{op} cần ít nhất hai đối số.", f"{op} needs at least two arguments.")
        return (low, items)
    if low == "not":
        return ("not", _expr(_args(node, 1)[0], depth + 1))
    if low in _SPATIAL:
        return _spatial(_SPATIAL[low], _args(node, 2))
    if op in _COMPARISONS:
        name, value = _args(node, 2)
        return ("cmp", op, _property(name), _literal(value))
    if low == "like":
        name, pattern = _args(node, 2)
        if not isinstance(pattern, str):
            raise _error("like cần một chuỗi.", "like needs a string.")
        return ("like", _property(name), pattern, False)
    if low == "in":
        name, values = _args(node, 2)
        if not isinstance(values, list) or not values:
            raise _error("in cần một danh sách giá trị.", "in needs a list of values.")
        return ("in", _property(name), [_literal(v) for v in values], False)
    if low == "between":
        name, lower, upper = _args(node, 3)
        return ("between", _property(name), _literal(lower), _literal(upper), False)
    if low == "isnull":
        return ("isnull", _property(_args(node, 1)[0]), False)
    raise _error(f"phép không hỗ trợ: {op[:40]}.", f"unsupported operator: {op[:40]}.")


def _property(node) -> str:
    if isinstance(node, dict) and set(node) == {"property"} and isinstance(node["property"], str):
        return node["property"]
    raise _error("cần {\"property\": tên trường}.", "expected {\"property\": field name}.")


def _literal(value):
    if isinstance(value, (bool, int, float, str)):  # numbers already finite (parse_json)
        return value
    if isinstance(value, dict) and len(value) == 1:
        key, text = next(iter(value.items()))
        if key in ("date", "timestamp"):
            return temporal_value(key.upper(), text, "filter", "filter")
    raise _error("cần một giá trị (số, chuỗi, true/false, {\"date\"} hoặc {\"timestamp\"}).",
                 "expected a value (number, text, true/false, {\"date\"} or {\"timestamp\"}).")


def _spatial(name: str, args: list) -> tuple:
    kinds = ["geom" if isinstance(a, dict) and isinstance(a.get("property"), str) and a["property"].lower() in GEOMETRY_NAMES
             else "wkt" for a in args]
    if sorted(kinds) != ["geom", "wkt"]:
        raise _error("hàm không gian cần một thuộc tính hình học và một hình.",
                     "a spatial function needs the geometry property and one geometry.")
    value = args[kinds.index("wkt")]
    op = name if kinds[0] == "geom" else {"S_WITHIN": "S_CONTAINS", "S_CONTAINS": "S_WITHIN"}.get(name, name)
    return ("spatial", op, _geometry_wkt(value))


def _geometry_wkt(value) -> str:
    """A {"bbox": [...]} or a GeoJSON geometry as WKT (coordinates are checked against the filter-crs later)."""
    if isinstance(value, dict) and set(value) == {"bbox"} and isinstance(value["bbox"], list):
        numbers = value["bbox"]
        if not all(isinstance(n, (int, float)) and not isinstance(n, bool) for n in numbers):
            raise _error("BBOX cần các số.", "BBOX needs numbers.")
        return bbox_wkt([float(n) for n in numbers])
    if not isinstance(value, dict) or not isinstance(value.get("type"), str) or value["type"] not in _GEOJSON_TYPES:
        raise _error("cần một hình GeoJSON hoặc {\"bbox\": […]}.", "expected a GeoJSON geometry or {\"bbox\": […]}.")
    try:
        return shapely.from_geojson(json.dumps(value)).wkt
    except (shapely.errors.GEOSException, ValueError, TypeError):
        raise _error("hình GeoJSON không đọc được.", "the GeoJSON geometry does not parse.") from None
