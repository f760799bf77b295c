"""FlatGeobuf and GeoParquet downloads: opendata.files' rows as Arrow record batches, then one writer each.

- FlatGeobuf: GDAL's driver through pyogrio.write_arrow (one dataset fed batch by batch; the driver cannot
  append to a file it closed), packed Hilbert R-tree on, CRS as opendata.filecrs declares it for the other
  GDAL formats (VN-2000: WKT1 with the official TOWGS84, no EPSG code).
- GeoParquet 1.1: written by pyarrow. Neither GDAL here has a Parquet driver (the system's 3.6 and
  pyogrio's bundled 3.12 are both built without Arrow/Parquet), so the `geo` metadata is ours, per the
  specification: WKB geometry, geometry_types, the CRS as PROJJSON (VN-2000: the same bound CRS with the
  official shift as the .prj), bbox, and a covering `bbox` struct column that lets readers skip row groups.
  Row groups of ROW_GROUP rows, zstd.

Memory: one BATCH of rows at a time for FlatGeobuf, at most one row group (plus a batch) for Parquet.
"""
import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import shapely
from pyproj import CRS

from layers.values import FEATURE_ID
from layers.vn2000 import VN2000_CRS
from opendata.fields import export_names
from opendata.filecrs import named_wkt, shapefile_prj
from opendata.query import FeatureQuery

ROW_GROUP = 65536  # rows per Parquet row group: what GDAL and DuckDB write, big enough for zstd to work well
GEOMETRY = "geometry"  # a reserved field name (layers.values.RESERVED_NAMES): no field can take it
GEOPARQUET_VERSION = "1.1.0"
_ARROW_TYPES = {"integer": pa.int64(), "number": pa.float64(), "date": pa.date32()}
_TYPE_NAMES = {"POINT": "Point", "LINESTRING": "LineString", "POLYGON": "Polygon",
               "GEOMETRYCOLLECTION": "GeometryCollection"}
_BOX = pa.struct([("xmin", pa.float64()), ("ymin", pa.float64()), ("xmax", pa.float64()), ("ymax", pa.float64())])


def write(q: FeatureQuery, ext: str, target: Path, *, names: list[str], geometry_type: str,
          found: set[tuple[str, bool]], batches: Iterator[list[tuple]]) -> None:
    """Writes the rows (opendata.files.row_batches) to target as FlatGeobuf ("fgb") or GeoParquet ("parquet")."""
    columns = [FEATURE_ID, *export_names(names).values()]
    if ext == "fgb":
        _write_flatgeobuf(q, target, names, columns, geometry_type, batches)
    else:
        _write_geoparquet(q, target, names, columns, geometry_type, found, batches)


def _schema(q: FeatureQuery, names: list[str], columns: list[str], box: str | None) -> pa.Schema:
    """feature_id, the fields typed by the layer's schema (text when it has none), the WKB geometry, the bbox."""
    types = {spec["name"]: spec.get("type", "text") for spec in q.fields}
    fields = [pa.field(FEATURE_ID, pa.int64(), nullable=False)]
    fields += [pa.field(column, _ARROW_TYPES.get(types.get(name, "text"), pa.string()))
               for name, column in zip(names, columns[1:])]
    fields.append(pa.field(GEOMETRY, pa.binary()))
    if box:
        fields.append(pa.field(box, _BOX))
    return pa.schema(fields)


def _record_batch(rows: list[tuple], q: FeatureQuery, names: list[str], schema: pa.Schema,
                  *, covering: bool = False) -> tuple[pa.RecordBatch, np.ndarray]:
    """One batch of rows as Arrow columns, values typed as the GDAL formats type them (opendata.files), and the
    rows' bounds ((n, 4), NaN for no geometry) when `covering` (then the batch carries them as its bbox column)."""
    from opendata.files import batch_columns

    geoms, data, masks = batch_columns(rows, q, names, spreadsheet=False)
    arrays = [pa.array(values, type=field.type, mask=None if mask is None else mask.astype(bool), from_pandas=True)
              for values, mask, field in zip(data, masks, schema)]  # an empty batch's masks come as float arrays
    arrays.append(pa.array(list(geoms), type=pa.binary()))
    bounds = np.empty((0, 4))
    if covering:
        bounds = shapely.bounds(shapely.from_wkb(geoms)) if len(geoms) else bounds
        arrays.append(pa.StructArray.from_arrays([pa.array(bounds[:, i], type=pa.float64()) for i in range(4)],
                                                 fields=list(_BOX), mask=pa.array(np.isnan(bounds[:, 0]))))
    return pa.RecordBatch.from_arrays(arrays, schema=schema), bounds


def _write_flatgeobuf(q: FeatureQuery, target: Path, names: list[str], columns: list[str], geometry_type: str,
                      batches: Iterator[list[tuple]]) -> None:
    from pyogrio.raw import write_arrow

    schema = _schema(q, names, columns, None)
    failed: list[BaseException] = []

    def produce() -> Iterator[pa.RecordBatch]:
        try:
            for rows in batches:
                yield _record_batch(rows, q, names, schema)[0]
        except BaseException as error:  # GDAL reports only "error while accessing batch": keep the real one
            failed.append(error)
            raise

    stream = pa.RecordBatchReader.from_batches(schema, produce())
    try:
        write_arrow(stream, str(target), layer=q.layer.slug, driver="FlatGeobuf", geometry_name=GEOMETRY,
                    geometry_type=geometry_type, crs=named_wkt(q.crs.srid), layer_options={"SPATIAL_INDEX": "YES"})
    except Exception:
        if failed:  # a database time-out or a replica gone stays the error it is (503, not 500)
            raise failed[0] from None
        raise


def _box_column(columns: list[str]) -> str:
    """The covering bbox column's name: "bbox" unless a field has it."""
    taken = {column.lower() for column in columns}
    name, number = "bbox", 0
    while name in taken:
        number += 1
        name = f"bbox_{number}"
    return name


def _write_geoparquet(q: FeatureQuery, target: Path, names: list[str], columns: list[str], geometry_type: str,
                      found: set[tuple[str, bool]], batches: Iterator[list[tuple]]) -> None:
    box = _box_column(columns)
    schema = _schema(q, names, columns, box)
    geo = geo_metadata(q.crs.srid, geometry_types(geometry_type, found), box)
    extent = [np.inf, np.inf, -np.inf, -np.inf]
    waiting: list[pa.RecordBatch] = []
    # No ARROW:schema copy of the schema: its metadata would keep the `geo` written before the bbox was known,
    # and pyarrow (so geopandas) reads that copy first. The Parquet types alone map back to the same Arrow types.
    with pq.ParquetWriter(target, schema, compression="zstd", store_schema=False) as writer:
        for rows in batches:
            batch, bounds = _record_batch(rows, q, names, schema, covering=True)
            if len(bounds) and not np.isnan(bounds[:, 0]).all():
                extent = [min(extent[0], np.nanmin(bounds[:, 0])), min(extent[1], np.nanmin(bounds[:, 1])),
                          max(extent[2], np.nanmax(bounds[:, 2])), max(extent[3], np.nanmax(bounds[:, 3]))]
            waiting.append(batch)
            if sum(batch.num_rows for batch in waiting) >= ROW_GROUP:
                writer.write_table(pa.Table.from_batches(waiting, schema), row_group_size=ROW_GROUP)
                waiting = []
        if waiting:
            writer.write_table(pa.Table.from_batches(waiting, schema), row_group_size=ROW_GROUP)
        if np.isfinite(extent).all():  # known only at the end: the footer's metadata is written last
            geo["columns"][GEOMETRY]["bbox"] = [float(v) for v in extent]
        writer.add_key_value_metadata({"geo": json.dumps(geo)})  # without store_schema, the only copy


def geometry_types(geometry_type: str, found: set[tuple[str, bool]]) -> list[str]:
    """GeoParquet's geometry_types: the file's one type, or those the rows hold ([]: any)."""
    if geometry_type != "Unknown":
        return [geometry_type]
    out = set()
    for kind, is_multi in found:
        if kind not in _TYPE_NAMES:
            return []  # a curve or surface GeoParquet has no name for: say nothing rather than something wrong
        out.add(("Multi" if is_multi and kind != "GEOMETRYCOLLECTION" else "") + _TYPE_NAMES[kind])
    return sorted(out)


def projjson(srid: int) -> dict:
    """The output CRS as PROJJSON: CRS84 for WGS 84 (files are longitude first), VN-2000 as the same bound CRS
    with the official TOWGS84 as the Shapefile's .prj (no EPSG id: with one, readers pick EPSG:5194), else EPSG."""
    if srid == 4326:
        return CRS.from_user_input("OGC:CRS84").to_json_dict()
    if srid in VN2000_CRS:
        return CRS.from_wkt(shapefile_prj(srid)).to_json_dict()
    return CRS.from_epsg(srid).to_json_dict()


def geo_metadata(srid: int, types: list[str], box: str) -> dict:
    """The `geo` key of a GeoParquet 1.1 file (bbox added when the rows are known)."""
    column = {"encoding": "WKB", "geometry_types": types, "crs": projjson(srid), "edges": "planar",
              "covering": {"bbox": {"xmin": [box, "xmin"], "ymin": [box, "ymin"],
                                    "xmax": [box, "xmax"], "ymax": [box, "ymax"]}}}
    return {"version": GEOPARQUET_VERSION, "primary_column": GEOMETRY, "columns": {GEOMETRY: column}}
