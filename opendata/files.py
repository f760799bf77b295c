"""GPKG, Shapefile (zip), CSV and KML downloads, written by GDAL (pyogrio) and cached per layer version.

Built in the request that first asks (one build per file across every node: opendata.exportlimits), so GDAL,
QGIS, curl and browsers get a plain 200 file, as from any static URL; a 202 and a status URL would break them
all. The whole-layer public files are prebuilt by a low-priority job after each change (opendata.prebuild),
so the big ones are usually ready before anyone asks.

A file is keyed on the layer's last change, feature count and the request's parameters: a second
download of an unchanged layer is a plain file with a Content-Length. Rows are read in batches from
a server-side cursor and appended, so memory stays bounded on big layers.
"""
import hashlib
import json
import logging
import math
import os
import re
import shutil
import tempfile
import zipfile
from array import array
from pathlib import Path
from collections.abc import Iterator
from typing import BinaryIO

import numpy as np
from django.conf import settings
from django.db import connections
from psycopg2 import sql

from layers import db
from layers.errors import BadRequest, InvalidParameter
from layers.spreadsheet import safe_cell
from layers.values import NUMBER_LIMIT, parse_date
from opendata import exportlimits
from opendata.fields import FEATURE_ID, export_names, shapefile_names
from opendata.filecrs import named_wkt, shapefile_prj
from opendata.query import FeatureQuery, geometry_sql, source_sql, where_sql

log = logging.getLogger(__name__)
_KML_ID = re.compile(r'<SimpleData name="feature_id">(\d+)</SimpleData>')
FORMATS = {
    # ext: (GDAL driver, media type)
    "gpkg": ("GPKG", "application/geopackage+sqlite3"),
    "shp.zip": ("ESRI Shapefile", "application/zip"),
    "csv": ("CSV", "text/csv; charset=utf-8"),
    "kml": ("KML", "application/vnd.google-earth.kml+xml"),
    "fgb": ("FlatGeobuf", "application/vnd.flatgeobuf"),
    "parquet": ("Parquet", "application/vnd.apache.parquet"),  # written by pyarrow: no GDAL here has the driver
}
COLUMNAR = ("fgb", "parquet")  # written from Arrow batches (opendata/columnar.py)
BATCH = 10000  # rows per GDAL append: bounds memory on big layers
# Part of every cache key: bump when the bytes written for the same query change (2: safe CSV cells;
# 3: feature ids, dates, GPKG 1.2, geometry types, VN-2000 .prj with TOWGS84).
FILE_FORMAT = 3


def cache_dir() -> Path:
    """The built files, on the directory every node shares (settings: GISPORTAL_SHARED_DIR/exports)."""
    return Path(getattr(settings, "OPENDATA_CACHE_DIR", Path(settings.VAR_DIR) / "shared" / "exports"))


def version_stamp(q: FeatureQuery) -> str:
    """Changes whenever the layer's features change (last_changed is stamped by every write)."""
    changed = q.layer.last_changed.isoformat() if q.layer.last_changed else "never"
    return hashlib.sha1(f"{q.layer.pk}|{changed}|{q.layer.feature_count}".encode()).hexdigest()[:12]


def cache_path(q: FeatureQuery, ext: str) -> Path:
    """Where the file for this layer version and these parameters lives."""
    # The field set is part of the key: a file with personal fields is never served to the public.
    fields = [spec["name"] for spec in q.fields]
    key = json.dumps([FILE_FORMAT, ext, q.crs.srid, q.bbox, q.bbox_crs.srid, q.properties, q.equals, q.as_of, fields,
                      sorted(q.hidden or [])], default=str)
    digest = hashlib.sha1(key.encode()).hexdigest()[:16]
    return cache_dir() / q.layer.slug / f"{version_stamp(q)}-{digest}.{ext}"


def _int64(value) -> int | None:
    """An integer that fits GDAL's Integer64, else None."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    if isinstance(value, float) and not (math.isfinite(value) and value.is_integer()):
        return None
    return int(value) if -2**63 <= value < 2**63 else None


def _float(value) -> float | None:
    """A finite float within what a Shapefile's DBF keeps (layers.values.NUMBER_LIMIT), else None."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    try:
        number = float(value)
    except OverflowError:
        return None
    return number if math.isfinite(number) and abs(number) <= NUMBER_LIMIT else None


def _day(value) -> str | None:
    """A stored date as ISO text (YYYY-MM-DD), or None when it is no real date."""
    day = parse_date(value) if isinstance(value, str) else None
    return day.isoformat() if day is not None else None


def _column(values: list, kind: str, *, spreadsheet: bool) -> tuple[np.ndarray, np.ndarray | None]:
    """One field's values as GDAL gets them (numpy array and null mask), typed by the schema.

    A stored value the type cannot hold (1e30 as an integer, put in before values were checked or by raw
    SQL) is written empty: one bad value must not fail the layer's download for everyone.
    """
    if kind == "integer":
        ints = [_int64(v) for v in values]
        return np.array([0 if v is None else v for v in ints], dtype="int64"), np.array([v is None for v in ints])
    if kind == "number":
        floats = [_float(v) for v in values]
        return np.array([0.0 if v is None else v for v in floats]), np.array([v is None for v in floats])
    if kind == "date" and not spreadsheet:  # a CSV has no date type: ISO text there
        return np.array([_day(v) or "NaT" for v in values], dtype="datetime64[D]"), None
    if kind == "date":
        return np.array([_day(v) for v in values], dtype=object), None
    text = [None if v is None else str(v) for v in values]
    return np.array([safe_cell(t) if spreadsheet and t is not None else t for t in text], dtype=object), None


def batch_columns(rows: list[tuple], q: FeatureQuery, names: list[str], *, spreadsheet: bool):
    """(WKB geometries, field arrays, masks) of one batch; the first field is the platform's feature id."""
    geoms = np.array([bytes(r[1]) if r[1] is not None else None for r in rows], dtype=object)
    records = [json.loads(r[2]) if isinstance(r[2], str) else (r[2] or {}) for r in rows]  # Django leaves jsonb as text
    types = {spec["name"]: spec.get("type", "text") for spec in q.fields}
    data = [np.array([r[0] for r in rows], dtype="int64")]
    masks: list = [None]
    for name in names:
        values, mask = _column([rec.get(name) for rec in records], types.get(name, "text"), spreadsheet=spreadsheet)
        data.append(values)
        masks.append(mask)
    return geoms, data, masks


_GDAL_TYPES = {"POINT": "Point", "LINESTRING": "LineString", "POLYGON": "Polygon"}


def geometry_kinds(q: FeatureQuery) -> set[tuple[str, bool]]:
    """The (kind, is multi) pairs the query's rows hold: ('POLYGON', True) for a MultiPolygon."""
    source, source_params = source_sql(q)
    where, where_params = where_sql(q)
    query = sql.SQL("SELECT DISTINCT replace(GeometryType(f.geom), 'MULTI', ''), GeometryType(f.geom) LIKE 'MULTI%%' "
                    "FROM {} WHERE {} AND f.geom IS NOT NULL").format(source, where)
    with db.cursor(read=True) as cursor:
        cursor.execute(query, source_params + where_params)
        return {(kind, is_multi) for kind, is_multi in cursor.fetchall()}


def output_geometry_type(q: FeatureQuery, found: set[tuple[str, bool]]) -> str:
    """The file's geometry type: the catalogued one, promoted to Multi when the rows mix single and multi;
    for a layer without one, what its rows hold; "Unknown" when they mix kinds."""
    declared = q.layer.geometry_type or ""
    kinds = {_GDAL_TYPES.get(kind, "Unknown") for kind, _ in found}
    if declared not in ("", "Geometry"):
        kinds.add(_GDAL_TYPES.get(declared.removeprefix("Multi").upper(), "Unknown"))
    if len(kinds) != 1 or "Unknown" in kinds:
        return "Unknown"
    multi = declared.startswith("Multi") or any(is_multi for _, is_multi in found)
    return ("Multi" if multi else "") + kinds.pop()


def _write(q: FeatureQuery, ext: str, target: Path) -> None:
    """Reads the layer in batches (id order) and writes them to the file at target (GDAL, or pyarrow for Parquet)."""
    from pyogrio.raw import write

    driver = FORMATS[ext][0]
    names = q.properties if q.properties is not None else [spec["name"] for spec in q.fields]
    found = geometry_kinds(q)
    kinds = {kind for kind, _ in found}
    # A Shapefile holds one of points, lines or polygons: a mix, or a GeometryCollection, cannot be written.
    if driver == "ESRI Shapefile" and (len(kinds) > 1 or not kinds <= set(_GDAL_TYPES)):
        raise BadRequest("Shapefile chỉ chứa một loại hình học (điểm, đường hoặc vùng), lớp này có nhiều loại "
                         "hoặc tập hình học: hãy tải GeoPackage, GeoJSON hoặc CSV.",
                         "A Shapefile holds one kind of geometry (points, lines or polygons) and this layer mixes "
                         "kinds or holds geometry collections: download GeoPackage, GeoJSON or CSV.")
    geometry_type = output_geometry_type(q, found)
    if ext in COLUMNAR:  # FlatGeobuf and GeoParquet: one stream of Arrow batches (opendata/columnar.py)
        from opendata import columnar

        columnar.write(q, ext, target, names=names, geometry_type=geometry_type, found=found,
                       batches=row_batches(q, geometry_type, target))
        return
    fields = [FEATURE_ID, *_export_columns(names, driver)]
    options = _writer_options(driver)
    crs_wkt = named_wkt(q.crs.srid)
    written = False
    for rows in row_batches(q, geometry_type, target):
        geoms, data, masks = batch_columns(rows, q, names, spreadsheet=driver == "CSV")
        write(target, geometry=geoms, field_data=data, fields=fields, field_mask=masks, layer=q.layer.slug,
              driver=driver, geometry_type=geometry_type, crs=crs_wkt, append=written,
              **(options if not written else {k: v for k, v in options.items() if k == "encoding"}))
        written = True
    _declare(q, driver, target, geometry_type)


def row_batches(q: FeatureQuery, geometry_type: str, target: Path) -> Iterator[list[tuple]]:
    """(id, WKB in the output CRS, properties) rows in id order, BATCH at a time from a server-side cursor;
    at least one batch (empty for an empty result), so every file gets its layer and geometry type."""
    geom = geometry_sql(q)
    if geometry_type.startswith("Multi"):
        geom = sql.SQL("ST_Multi({})").format(geom)
    source, source_params = source_sql(q)
    where, where_params = where_sql(q)
    query = sql.SQL("SELECT f.id, ST_AsBinary({geom}), f.properties FROM {source} WHERE {where} ORDER BY f.id").format(
        geom=geom, source=source, where=where)
    with db.read_transaction() as alias:
        connections[alias].ensure_connection()
        cursor = connections[alias].connection.cursor(name=f"opendata_file_{os.getpid()}_{id(target)}")
        cursor.itersize = BATCH
        try:
            cursor.execute(query, source_params + where_params)
            rows = cursor.fetchmany(BATCH)
            yield rows
            while rows:
                rows = cursor.fetchmany(BATCH)
                if rows:
                    yield rows
        finally:
            cursor.close()


def _writer_options(driver: str) -> dict:
    """GDAL creation options of the file (given with its first batch)."""
    if driver == "ESRI Shapefile":
        return {"encoding": "UTF-8"}  # writes the .cpg
    if driver == "CSV":
        return {"layer_options": {"GEOMETRY": "AS_WKT", "WRITE_BOM": "YES"}}
    if driver == "GPKG":  # 1.2: GDAL 3.6 and QGIS 3.22 warn on 1.4; the platform's id is the fid
        return {"dataset_options": {"VERSION": "1.2"}, "layer_options": {"FID": FEATURE_ID}}
    return {}


def _export_columns(names: list[str], driver: str) -> list[str]:
    """The file's column names for the layer's fields (feature_id is reserved for the platform's id)."""
    if driver == "ESRI Shapefile":
        mapping = shapefile_names(names)
    else:  # a schemaless layer's names come from its data: a CSV header is a cell like any other
        mapping = {n: safe_cell(e) if driver == "CSV" else e for n, e in export_names(names).items()}
    return [mapping[n] for n in names]


def _declare(q: FeatureQuery, driver: str, target: Path, geometry_type: str) -> None:
    """What GDAL's writers leave out and the user's GDAL and QGIS read: the VN-2000 .prj with the official shift
    (see opendata.filecrs), the CSV's geometry type, the KML placemarks' feature ids."""
    prj = shapefile_prj(q.crs.srid) if driver == "ESRI Shapefile" else None
    if prj is not None:
        target.with_suffix(".prj").write_text(prj)
    elif driver == "CSV" and geometry_type != "Unknown" and " Z" not in geometry_type:
        _csv_geometry_header(target, geometry_type)
    elif driver == "KML":
        _kml_ids(q, target)


def _csv_geometry_header(target: Path, geometry_type: str) -> None:
    """Names the WKT column _WKT_<TYPE>: GDAL's CSV reader then reports the layer's type, not "Unknown (any)"."""
    typed = target.with_suffix(".typed")
    with open(target, "rb") as source, open(typed, "wb") as out:
        header = source.readline()
        bom = header[:3] if header.startswith(b"\xef\xbb\xbf") else b""
        if header[len(bom):len(bom) + 4] == b"WKT,":  # GDAL's CSV writer puts the WKT column first
            header = bom + f"_WKT_{geometry_type.upper()}".encode() + header[len(bom) + 3:]
        out.write(header)
        shutil.copyfileobj(source, out)
    os.replace(typed, target)


def _kml_ids(q: FeatureQuery, target: Path) -> None:
    """Placemark ids carry the platform's feature id (GDAL's KML writer numbers them 1, 2, …), line by line."""
    ids = array("q")
    with open(target, encoding="utf-8") as source:
        for line in source:
            found = _KML_ID.search(line)
            if found:
                ids.append(int(found[1]))
    placemark = re.compile(r'<Placemark id="' + re.escape(q.layer.slug) + r'\.\d+">')
    numbered = target.with_suffix(".ids")
    counter = iter(ids)
    with open(target, encoding="utf-8") as source, open(numbered, "w", encoding="utf-8") as out:
        for line in source:
            out.write(placemark.sub(lambda _: f'<Placemark id="{q.layer.slug}.{next(counter)}">', line))
    os.replace(numbered, target)


def _zip_shapefile(folder: Path, slug: str, q: FeatureQuery, target: Path) -> None:
    names = q.properties if q.properties is not None else [spec["name"] for spec in q.fields]
    mapping = shapefile_names(names)
    labels = {spec["name"]: spec for spec in q.fields}
    prj_note = ", WKT1 + TOWGS84: tham số chính thức / official VN-2000 shift" if shapefile_prj(q.crs.srid) else ""
    lines = [
        f"{slug}.shp — {q.layer.title_vi} / {q.layer.title_en}",
        f"CRS: EPSG:{q.crs.srid} (.prj{prj_note}); text encoding UTF-8 (.cpg).",
        f"{FEATURE_ID}: mã đối tượng trên nền tảng / the platform's feature id (API, feeds, editor).",
        "DBF field names are limited to 10 characters: field name mapping below",
        "(rule: keep A-Z a-z 0-9 _, cut to 10; on a clash cut shorter and add _1, _2, …).",
        "Tên trường DBF tối đa 10 ký tự: bảng đối chiếu bên dưới.",
        "",
        "shapefile_field\tfield\ttype\tlabel_vi\tlabel_en",
        f"{FEATURE_ID}\t{FEATURE_ID}\tinteger\tMã đối tượng\tFeature id",
    ]
    for name in names:
        spec = labels.get(name, {})
        lines.append("\t".join(safe_cell(str(v)) for v in [mapping[name], name, spec.get("type", "text"),
                                                           spec.get("label_vi", name), spec.get("label_en", name)]))
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        for part in sorted(folder.iterdir()):
            archive.write(part, part.name)
        archive.writestr("fields.txt", "\n".join(lines) + "\n")


def export_file(q: FeatureQuery, ext: str) -> BinaryIO:
    """The cached file for this query, open for reading; built first if missing, one build per file and at
    most OPENDATA_EXPORT_BUILDS at once (503 beyond), then the cache is trimmed to its cap."""
    if ext == "kml" and q.crs.srid != 4326:
        raise InvalidParameter("KML luôn dùng WGS 84 (crs=4326).", "KML is always WGS 84 (crs=4326).", parameter="crs")
    path = cache_path(q, ext)
    handle = _open_cached(path)
    if handle is not None:
        return handle
    with exportlimits.file_lock(path):
        handle = _open_cached(path)  # built by the request we waited for
        if handle is None:
            with exportlimits.build_slot():
                _build(q, ext, path)
            handle = open(path, "rb")  # opened before eviction: still readable if the cap removes it
    exportlimits.evict(cache_dir())
    return handle


def _open_cached(path: Path) -> BinaryIO | None:
    """The cached file, open and marked as just used, or None."""
    try:
        handle = open(path, "rb")
    except FileNotFoundError:
        return None
    exportlimits.touch(path)
    return handle


def _build(q: FeatureQuery, ext: str, path: Path) -> None:
    """Writes the file in a work folder beside it and renames it into place; older layer versions go."""
    path.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="export-", dir=path.parent))
    try:
        if ext == "shp.zip":
            folder = work / "shp"
            folder.mkdir()
            _write(q, ext, folder / f"{q.layer.slug}.shp")
            _zip_shapefile(folder, q.layer.slug, q, work / "out.zip")
            built = work / "out.zip"
        else:
            built = work / f"{q.layer.slug}.{ext}"
            _write(q, ext, built)
        os.replace(built, path)
        log.info("export built: %s/%s (%d bytes)", q.layer.slug, path.name, path.stat().st_size)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    _release_memory()
    stamp = version_stamp(q)
    for old in path.parent.glob("*"):  # files of older layer versions are never served again
        if old.is_file() and not old.name.startswith(stamp):
            old.unlink(missing_ok=True)


def _release_memory() -> None:
    """Gives the export's freed heap back to the OS, so a long-lived worker does not keep the peak."""
    import ctypes
    import gc

    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc: nothing to trim
        pass


def cached_size(q: FeatureQuery, ext: str) -> int | None:
    """The size of the cached file for this query, or None when not written yet."""
    path = cache_path(q, ext)
    return path.stat().st_size if path.exists() else None
