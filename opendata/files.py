"""GPKG, Shapefile (zip), CSV and KML downloads, written by GDAL (pyogrio) and cached per layer version.

A file is keyed on the layer's last change, feature count and the request's parameters: a second
download of an unchanged layer is a plain file with a Content-Length. Rows are read in batches from
a server-side cursor and appended, so memory stays bounded on big layers.
"""
import hashlib
import json
import math
import os
import shutil
import tempfile
import zipfile
from pathlib import Path
from typing import BinaryIO

import shapely
from django.conf import settings
from django.db import connection, transaction
from psycopg2 import sql

from layers.errors import InvalidParameter
from layers.spreadsheet import safe_cell
from layers.values import NUMBER_LIMIT
from layers.vn2000 import VN2000_CRS, crs_for
from opendata import exportlimits
from opendata.fields import export_names, shapefile_names
from opendata.query import FeatureQuery, geometry_sql, source_sql, where_sql

FORMATS = {
    # ext: (GDAL driver, media type)
    "gpkg": ("GPKG", "application/geopackage+sqlite3"),
    "shp.zip": ("ESRI Shapefile", "application/zip"),
    "csv": ("CSV", "text/csv; charset=utf-8"),
    "kml": ("KML", "application/vnd.google-earth.kml+xml"),
}
BATCH = 10000  # rows per GDAL append: bounds memory on big layers
FILE_FORMAT = 2  # part of every cache key: bump when the bytes written for the same query change (2: safe CSV cells)


def cache_dir() -> Path:
    return Path(getattr(settings, "OPENDATA_CACHE_DIR", settings.VAR_DIR / "opendata-cache"))


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


def named_wkt(srid: int, *, esri: bool = False) -> str:
    """WKT1 of the output CRS; VN-2000 codes keep the official +towgs84 and carry their names.

    GDAL recognises a datum named Vietnam_2000 as EPSG:6756 and drops TOWGS84 (readers would then
    pick their default shift, 0.8 m off), so GPKG/CSV/KML get a distinct datum name that keeps it.
    A Shapefile .prj is ESRI WKT, which has no TOWGS84 at all: there the standard name is best.
    """
    crs = crs_for(srid)
    wkt = crs.to_wkt("WKT1_GDAL")
    if srid not in VN2000_CRS:
        return wkt
    name = VN2000_CRS[srid][0]
    wkt = wkt.replace('PROJCS["unknown"', f'PROJCS["{name}"', 1).replace('GEOGCS["unknown"', 'GEOGCS["VN-2000"', 1)
    start = wkt.index('DATUM["') + 7
    datum = "Vietnam_2000" if esri else "VN-2000 (official towgs84, QD 05/2007/QD-BTNMT)"
    return wkt[:start] + datum + wkt[wkt.index('"', start):]


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


def _frame(rows: list[tuple], q: FeatureQuery, names: list[str], crs_wkt: str, *, spreadsheet: bool = False):
    """A GeoDataFrame of one batch, columns typed by the schema; text made formula-safe for a spreadsheet (CSV)."""
    import geopandas as gpd  # imported on first export only: keeps every worker ~100 MB lighter
    import pandas as pd

    geoms = shapely.from_wkb([bytes(r[0]) if r[0] is not None else None for r in rows])
    records = [json.loads(r[1]) if isinstance(r[1], str) else (r[1] or {}) for r in rows]  # Django leaves jsonb as text
    data = {}
    types = {spec["name"]: spec.get("type", "text") for spec in q.fields}
    for name in names:
        values = [rec.get(name) for rec in records]
        kind = types.get(name, "text")
        # A stored value the type cannot hold (1e30 as an integer, put in before values were checked or by
        # raw SQL) is written empty: one bad value must not fail the layer's download for everyone.
        if kind == "integer":
            data[name] = pd.array([_int64(v) for v in values], dtype="Int64")
        elif kind == "number":
            data[name] = pd.array([_float(v) for v in values], dtype="Float64")
        else:
            text = [None if v is None else str(v) for v in values]
            data[name] = pd.array([safe_cell(t) for t in text] if spreadsheet else text, dtype="object")
    return gpd.GeoDataFrame(data, geometry=list(geoms), crs=crs_wkt)


def _write(q: FeatureQuery, ext: str, target: Path) -> None:
    """Reads the layer in batches and appends them to a GDAL dataset at target."""
    import pyogrio
    driver = FORMATS[ext][0]
    names = q.properties if q.properties is not None else [spec["name"] for spec in q.fields]
    if driver == "ESRI Shapefile":
        rename = shapefile_names(names)
    else:  # a schemaless layer's names come from its data: a CSV header is a cell like any other
        rename = {n: safe_cell(e) if driver == "CSV" else e for n, e in export_names(names).items()}
    options: dict = {}
    if driver == "ESRI Shapefile":
        options["encoding"] = "UTF-8"  # writes the .cpg
    elif driver == "CSV":
        options["layer_options"] = {"GEOMETRY": "AS_WKT", "WRITE_BOM": "YES"}
    source, source_params = source_sql(q)
    where, where_params = where_sql(q)
    query = sql.SQL("SELECT ST_AsBinary({geom}), f.properties FROM {source} WHERE {where} ORDER BY f.id").format(
        geom=geometry_sql(q), source=source, where=where)
    params = source_params + where_params
    crs_wkt = named_wkt(q.crs.srid, esri=driver == "ESRI Shapefile")
    written = False
    connection.ensure_connection()
    with transaction.atomic():
        cursor = connection.connection.cursor(name=f"opendata_file_{os.getpid()}_{id(target)}")
        cursor.itersize = BATCH
        try:
            cursor.execute(query, params)
            while True:
                rows = cursor.fetchmany(BATCH)
                if not rows and written:
                    break
                frame = _frame(rows, q, names, crs_wkt, spreadsheet=driver == "CSV").rename(columns=rename)
                pyogrio.write_dataframe(frame, target, driver=driver, layer=q.layer.slug, append=written,
                                        promote_to_multi=True if driver == "ESRI Shapefile" else None, **options)
                written = True
                if not rows:
                    break
        finally:
            cursor.close()


def _zip_shapefile(folder: Path, slug: str, q: FeatureQuery, target: Path) -> None:
    names = q.properties if q.properties is not None else [spec["name"] for spec in q.fields]
    mapping = shapefile_names(names)
    labels = {spec["name"]: spec for spec in q.fields}
    lines = [
        f"{slug}.shp — {q.layer.title_vi} / {q.layer.title_en}",
        f"CRS: EPSG:{q.crs.srid} (.prj); text encoding UTF-8 (.cpg).",
        "DBF field names are limited to 10 characters: field name mapping below",
        "(rule: keep A-Z a-z 0-9 _, cut to 10; on a clash cut shorter and add _1, _2, …).",
        "Tên trường DBF tối đa 10 ký tự: bảng đối chiếu bên dưới.",
        "",
        "shapefile_field\tfield\ttype\tlabel_vi\tlabel_en",
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
