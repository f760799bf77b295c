"""Row-by-row checks, done on whole arrays: geometry (reject or repair) and attributes against the layer's schema."""
import datetime as dt

import numpy as np
import pandas as pd
import shapely

from ingest.report import Report
from layers.validation import MAX_VERTICES
from layers.values import (DATE_MAX, DATE_MIN, MAX_EXTRA, TEXT_MAX_LENGTH, BadValue, case_clashes, check_name, number_bounds, parse_date,
                           text_limit)

# Control characters but tab and line breaks: the editor refuses them too (layers/values.py).
_CONTROL = r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]"


def is_text(column: pd.Series) -> bool:
    """Object or string columns (pandas 3 reads text as its own string dtype)."""
    return column.dtype == object or pd.api.types.is_string_dtype(column.dtype)

# Vietnam's mainland and islands, generously: coordinates outside are refused row by row.
VIETNAM_BOUNDS = (100.0, 6.0, 118.0, 24.5)

FAMILY = {"Point": 0, "MultiPoint": 0, "LineString": 1, "MultiLineString": 1, "Polygon": 2, "MultiPolygon": 2}
_TYPE_FAMILY = {0: 0, 4: 0, 1: 1, 2: 1, 5: 1, 3: 2, 6: 2}  # shapely type id -> family (2 = linear ring)
_MULTI_OF = {0: (4, shapely.multipoints), 1: (5, shapely.multilinestrings), 3: (6, shapely.multipolygons)}


def decode(wkb: np.ndarray, offset: int, report: Report) -> np.ndarray:
    """Shapely geometries from WKB; unreadable ones (an unclosed ring) are fixed where GEOS can, else None."""
    geoms = shapely.from_wkb(wkb, on_invalid="ignore")
    unreadable = np.flatnonzero(shapely.is_missing(geoms) & np.array([w is not None for w in wkb], dtype=bool))
    for i in unreadable:
        fixed = shapely.from_wkb(wkb[i], on_invalid="fix")
        if fixed is not None and not fixed.is_empty:
            geoms[i] = fixed
            report.repair(offset + i + 1, "close-ring", "unclosed ring or too few points")
    return geoms


def check_geometries(geoms: np.ndarray, offset: int, report: Report) -> np.ndarray:
    """A mask of usable rows: missing, empty and non-finite geometries are rejected."""
    missing = shapely.is_missing(geoms)
    empty = ~missing & shapely.is_empty(np.where(missing, None, geoms))
    for i in np.flatnonzero(missing | empty):
        report.reject(offset + i + 1, "Thiếu hoặc rỗng hình học.", "Missing or empty geometry.")
    ok = ~(missing | empty)
    coords, index = shapely.get_coordinates(np.where(ok, geoms, None), include_z=True, return_index=True)
    bad = np.unique(index[~np.isfinite(coords[:, :2]).all(axis=1) | np.isinf(coords[:, 2])])
    for i in bad:
        report.reject(offset + i + 1, "Tọa độ NaN hoặc vô hạn.", "NaN or infinite coordinates.")
    ok[bad] = False
    big = np.flatnonzero(ok & (shapely.get_num_coordinates(np.where(ok, geoms, None)) > MAX_VERTICES))
    for i in big:  # the editor's limit (layers.validation.MAX_VERTICES)
        report.reject(offset + i + 1, f"Hình học có quá nhiều đỉnh (tối đa {MAX_VERTICES}).",
                      f"The geometry has more than {MAX_VERTICES} vertices.")
    ok[big] = False
    return ok


def drop_z(geoms: np.ndarray, ok: np.ndarray, report: Report) -> None:
    """Layers store 2D: Z (and M) are dropped, counted once in the warnings."""
    subject = np.where(ok, geoms, None)
    has_m = shapely.has_m(subject) if hasattr(shapely, "has_m") else np.zeros(len(geoms), dtype=bool)
    has_z = ok & (shapely.has_z(subject) | has_m)
    if has_z.any():
        geoms[has_z] = shapely.force_2d(geoms[has_z])
        report.warn("Z/M coordinates dropped: layers store 2D geometries.")


def repair_invalid(geoms: np.ndarray, ok: np.ndarray, offset: int, report: Report) -> None:
    """make_valid for invalid geometries, keeping only parts of the input's dimension; unrepairable rows rejected."""
    invalid = np.flatnonzero(ok & ~shapely.is_valid(np.where(ok, geoms, None)))
    for i in invalid:
        reason = shapely.is_valid_reason(geoms[i])
        fixed = _make_valid(geoms[i])
        if fixed is None:
            ok[i] = False
            report.reject(offset + i + 1, f"Hình học không sửa được: {reason}.", f"Geometry cannot be repaired: {reason}.")
            continue
        geoms[i] = fixed
        report.repair(offset + i + 1, "make_valid", reason)


def _make_valid(geom):
    dim = shapely.get_dimensions(geom)
    fixed = shapely.make_valid(geom)
    if shapely.get_dimensions(fixed) != dim or fixed.geom_type == "GeometryCollection":
        parts = [p for p in shapely.get_parts(fixed) if shapely.get_dimensions(p) == dim]
        fixed = shapely.union_all(parts) if parts else None
    if fixed is None or fixed.is_empty or not fixed.is_valid:
        return None
    return fixed


def conform_type(geoms: np.ndarray, ok: np.ndarray, geometry_type: str, offset: int, report: Report) -> None:
    """Rows of another geometry family rejected; single vs multi made as the layer wants."""
    if not geometry_type or geometry_type == "Geometry":
        return
    family = FAMILY[geometry_type]
    type_ids = shapely.get_type_id(np.where(ok, geoms, None))
    fam = np.array([_TYPE_FAMILY.get(t, -1) for t in type_ids.tolist()])
    wrong = ok & (fam != family)
    for i in np.flatnonzero(wrong):
        report.reject(offset + i + 1, f"Kiểu hình học {geoms[i].geom_type} không hợp với lớp {geometry_type}.",
                      f"Geometry type {geoms[i].geom_type} does not fit the layer's {geometry_type}.")
    ok &= ~wrong
    single_id = {0: 0, 1: 1, 2: 3}[family]
    multi_id, build = _MULTI_OF[single_id]
    if geometry_type.startswith("Multi"):
        single = np.flatnonzero(ok & (type_ids == single_id))
        if single.size:
            geoms[single] = build(geoms[single], indices=np.arange(single.size))
            for i in single[:200]:
                report.repair(offset + i + 1, "to-multi", f"{geometry_type} layer")
            report.repaired_count += max(single.size - 200, 0)
    else:
        multi = np.flatnonzero(ok & (type_ids == multi_id) & (shapely.get_num_geometries(np.where(ok, geoms, None)) == 1))
        if multi.size:
            geoms[multi] = shapely.get_geometry(geoms[multi], 0)
            for i in multi[:200]:
                report.repair(offset + i + 1, "to-single", f"{geometry_type} layer")
            report.repaired_count += max(multi.size - 200, 0)


def inside_vietnam(geoms: np.ndarray, ok: np.ndarray, offset: int, report: Report) -> None:
    """Rows whose WGS 84 bounds leave Vietnam's box are rejected."""
    west, south, east, north = VIETNAM_BOUNDS
    b = shapely.bounds(np.where(ok, geoms, None))
    with np.errstate(invalid="ignore"):
        inside = (b[:, 0] >= west) & (b[:, 2] <= east) & (b[:, 1] >= south) & (b[:, 3] <= north)
    for i in np.flatnonzero(ok & ~inside):
        report.reject(offset + i + 1, "Tọa độ nằm ngoài Việt Nam (kiểm tra hệ tọa độ).",
                      "Coordinates lie outside Vietnam (check the CRS).")
    ok &= inside


def _empty(column: pd.Series) -> pd.Series:
    empty = column.isna()
    if is_text(column):
        if pd.api.types.infer_dtype(column, skipna=True) == "string":
            empty |= column.str.strip().eq("").fillna(False).astype(bool)
        else:
            empty |= column.map(lambda v: isinstance(v, str) and v.strip() == "")
    return empty


def _text_bad(values: pd.Series, limit: int) -> pd.Series:
    """Texts longer than the limit or holding control characters (the editor's clean_text, on a column)."""
    text = values.astype(object).astype(str)
    return (text.str.len() > limit) | text.str.contains(_CONTROL, regex=True)


def _as_date(value) -> str | None:
    """One value as an ISO date within the years every door accepts (layers.values), else None."""
    day = parse_date(value)
    return day.isoformat() if day is not None and DATE_MIN <= day <= DATE_MAX else None


def _coerce(spec: dict, values: pd.Series) -> tuple[pd.Series, pd.Series]:
    """(converted values, failure mask) for the non-empty values of one field; the limits are
    layers.values' (the editor's), checked on whole columns."""
    kind = spec["type"]
    if kind in ("text", "code"):
        if pd.api.types.infer_dtype(values, skipna=True) == "string":
            out = values.astype(object)
        else:
            out = values.map(lambda v: v if isinstance(v, str) else (str(int(v)) if isinstance(v, float) and v.is_integer() else str(v)))
        bad = ~out.isin(spec.get("choices", [])) if kind == "code" else pd.Series(False, index=values.index)
        return out, bad | _text_bad(out, text_limit(spec))
    if kind in ("integer", "number"):
        numbers = pd.to_numeric(values, errors="coerce").astype("float64")
        low, high = number_bounds(spec)
        bad = ~np.isfinite(numbers) | (numbers < low) | (numbers > high)
        if kind == "integer":
            bad |= numbers % 1 != 0
            return numbers.where(~bad, 0).astype("int64"), bad
        return numbers, bad
    if kind == "date":
        out = values.map(_as_date)
        return out, out.isna()
    raise ValueError(f"unknown field type {kind}")


def check_extra_columns(frame: pd.DataFrame, schema: list[dict], ok: np.ndarray, offset: int, report: Report) -> None:
    """Columns outside the layer's schema go in as extra properties: named and limited as in the editor."""
    known = {spec["name"] for spec in schema}
    extra = [name for name in frame.columns if name not in known]
    if len(extra) > MAX_EXTRA:
        raise BadValue(f"Tệp có {len(extra)} cột ngoài lược đồ của lớp (tối đa {MAX_EXTRA}).",
                       f"The file has {len(extra)} columns outside the layer's schema (at most {MAX_EXTRA}).")
    clashes = case_clashes(frame.columns)
    if clashes:
        raise BadValue(f"Cột trùng tên với cột khác, chỉ khác chữ hoa/thường: {', '.join(clashes)[:200]}.",
                       f"Columns repeat another's name but for upper/lower case: {', '.join(clashes)[:200]}.")
    for name in extra:
        check_name(name)
        column = frame[name]
        if is_text(column):
            present = column.notna().to_numpy()
            bad = np.zeros(len(column), dtype=bool)
            if present.any():
                bad[present] = _text_bad(column[present], TEXT_MAX_LENGTH).to_numpy()
        elif pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column):
            numbers = column.astype("float64")
            low, high = number_bounds({"type": "number"})
            bad = ((numbers < low) | (numbers > high)).to_numpy()
        else:
            continue
        for i in np.flatnonzero(ok & bad):
            report.reject(offset + i + 1, f"Giá trị không hợp lệ ở cột {name}.", f"Not a valid value in column {name}.",
                          name, column.iloc[i])
        ok &= ~bad


def check_attributes(frame: pd.DataFrame, schema: list[dict], ok: np.ndarray, offset: int, report: Report) -> pd.DataFrame:
    """Attributes coerced to the schema's types; failing rows rejected, naming row, field and value."""
    frame = frame.copy()
    for spec in schema:
        name = spec["name"]
        column = frame[name] if name in frame else pd.Series([None] * len(frame), index=frame.index, dtype=object)
        empty = _empty(column).to_numpy()
        if spec.get("required"):
            for i in np.flatnonzero(ok & empty):
                report.reject(offset + i + 1, f"Thiếu giá trị bắt buộc ở trường {name}.",
                              f"A required value is missing in field {name}.", name, None)
            ok &= ~empty
        present = ~empty
        # Typed columns (nullable Int64, float64) let pandas write the JSON without a Python call per value.
        dtype = {"integer": "Int64", "number": "float64"}.get(spec["type"], object)
        converted = pd.Series(None, index=frame.index, dtype=dtype)
        if present.any():
            values, bad = _coerce(spec, column[present])
            bad_rows = np.flatnonzero(present)[bad.to_numpy()]
            for i in bad_rows:
                if ok[i]:
                    report.reject(offset + i + 1, f"Giá trị không hợp lệ cho trường {name} (kiểu {spec['type']}).",
                                  f"Not a valid {spec['type']} value for field {name}.", name, column.iloc[i])
            ok[bad_rows] = False
            converted[present] = values.to_numpy() if dtype != object else values.astype(object).to_numpy()
        frame[name] = converted
    return frame


def properties_json(frame: pd.DataFrame) -> list[str]:
    """Each row's properties as a JSON object, built by pandas in C (nulls are stripped in the database)."""
    if frame.shape[1] == 0:
        return ["{}"] * len(frame)
    frame = frame.copy()
    for name in frame.columns:
        if frame[name].dtype.kind == "M":
            frame[name] = frame[name].dt.strftime("%Y-%m-%dT%H:%M:%S")
        elif is_text(frame[name]) and pd.api.types.infer_dtype(frame[name], skipna=True) != "string":
            frame[name] = frame[name].map(_jsonable)
    text = frame.to_json(orient="records", lines=True, force_ascii=False, double_precision=15, date_format="iso")
    return text.rstrip("\n").split("\n")


def _jsonable(value):
    if isinstance(value, (bytes, bytearray)):
        return value.hex()
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value
