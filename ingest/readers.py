"""Opening vector files with pyogrio through the one GDAL driver each format needs, and reading them in chunks."""
import csv
import io
import tempfile
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyogrio
from pyproj import CRS

from ingest import safety
from ingest.validate import is_text
from ingest.vnencodings import normalise_encoding
from layers.errors import IngestRejected

# Extension -> the one GDAL driver allowed to open it (no VRT, no network file systems).
DRIVERS = {
    ".shp": "ESRI Shapefile",
    ".gpkg": "GPKG",
    ".geojson": "GeoJSON",
    ".json": "GeoJSON",
    ".geojsonl": "GeoJSONSeq",
    ".geojsons": "GeoJSONSeq",
    ".kml": ("LIBKML", "KML"),
    ".csv": "CSV",
    ".gdb": "OpenFileGDB",
}
ARCHIVES = {".zip", ".kmz"}
MULTI_LAYER = {"GPKG", "OpenFileGDB", "LIBKML", "KML"}

# Column names for CSV coordinates, lower-case, as agencies write them.
LON_NAMES = ["lon", "long", "lng", "longitude", "kinh_do", "kinhdo", "kinh do", "kinh_độ", "kinh độ"]
LAT_NAMES = ["lat", "latitude", "vi_do", "vido", "vi do", "vĩ_độ", "vĩ độ"]
X_NAMES = ["x", "easting", "toa_do_x", "x_vn2000"]
Y_NAMES = ["y", "northing", "toa_do_y", "y_vn2000"]
WKT_NAMES = ["wkt", "geometry", "geom", "the_geom", "hinh_hoc"]


@dataclass
class Source:
    """A file made ready to read: the dataset path, its driver and layer, and how to decode its text."""

    path: Path
    driver: str
    layer: str | None
    info: dict
    crs: CRS | None
    read_encoding: str | None = None
    decode_with: str | None = None
    open_options: dict = field(default_factory=dict)
    csv_geometry: str | None = None
    warnings: list[str] = field(default_factory=list)
    tempdir: Path | None = None

    @property
    def feature_count(self) -> int | None:
        count = self.info.get("features", -1)
        return count if count is not None and count >= 0 else None

    def close(self) -> None:
        safety.remove_tree(self.tempdir)


def _unsupported(suffix: str) -> IngestRejected:
    known = ", ".join(sorted({*DRIVERS, *ARCHIVES, ".tif"}))
    return IngestRejected(
        f"Định dạng {suffix or '(không có phần mở rộng)'} không được hỗ trợ.",
        f"Unsupported format {suffix or '(no extension)'}; expected one of {known}.",
        parameter="path",
    )


def _datasets_in(folder: Path, kmz: bool) -> list[Path]:
    wanted = {".kml"} if kmz else set(DRIVERS)
    found = [p for p in sorted(folder.rglob("*")) if p.suffix.lower() in wanted and (p.is_file() or p.suffix.lower() == ".gdb")]
    found = [p for p in found if not any(parent.suffix.lower() == ".gdb" for parent in p.parents)]
    # A .csv or .json beside a shapefile or GeoPackage is usually a side table or metadata, not the data.
    primary = [p for p in found if p.suffix.lower() not in (".csv", ".json")]
    return primary or found


def _from_archive(path: Path, source_layer: str | None) -> tuple[Path, Path, str | None]:
    """Extracts a .zip/.kmz safely and picks the dataset inside; returns (dataset, tempdir, remaining layer choice)."""
    tempdir = Path(tempfile.mkdtemp(prefix="ingest-"))
    try:
        safety.extract_zip(path, tempdir)
        datasets = _datasets_in(tempdir, path.suffix.lower() == ".kmz")
        names = [str(p.relative_to(tempdir)) for p in datasets]
        if not datasets:
            raise IngestRejected("Tệp nén không chứa dữ liệu đọc được.", "The archive holds no readable dataset.",
                                 parameter="path")
        if len(datasets) == 1:
            return datasets[0], tempdir, source_layer
        chosen = [p for p, n in zip(datasets, names) if source_layer in (n, p.name, p.stem)]
        if len(chosen) == 1:
            return chosen[0], tempdir, None
        raise IngestRejected(
            f"Tệp nén chứa nhiều tập dữ liệu ({', '.join(names)}); hãy chọn một (--source-layer).",
            f"The archive holds several datasets ({', '.join(names)}); choose one with --source-layer.",
            parameter="source_layer",
        )
    except BaseException:
        safety.remove_tree(tempdir)
        raise


def _sibling(path: Path, suffix: str) -> Path | None:
    for candidate in (path.with_suffix(suffix), path.with_suffix(suffix.upper())):
        if candidate.exists():
            return candidate
    return None


def _check_shapefile(path: Path) -> str | None:
    """Refuses a .shp without .shx or .dbf; returns the .cpg's encoding, if any."""
    missing = [s for s in (".shx", ".dbf") if _sibling(path, s) is None]
    if missing:
        raise IngestRejected(
            f"Shapefile thiếu tệp {', '.join(missing)} đi kèm.",
            f"The shapefile lacks its {', '.join(missing)} file(s).",
            parameter="path",
        )
    cpg = _sibling(path, ".cpg")
    return cpg.read_text(errors="replace")[:50] if cpg else None


def _choose_layer(path: Path, driver: str, source_layer: str | None) -> str | None:
    names = [str(name) for name, _ in pyogrio.list_layers(path)]
    if source_layer is not None:
        if source_layer not in names:
            raise IngestRejected(
                f"Không có lớp {source_layer}; tệp có: {', '.join(names)}.",
                f"No layer {source_layer} in the file; it holds: {', '.join(names)}.",
                parameter="source_layer",
            )
        return source_layer
    if len(names) > 1:
        raise IngestRejected(
            f"Tệp có nhiều lớp ({', '.join(names)}); hãy chọn một (--source-layer).",
            f"The file holds several layers ({', '.join(names)}); choose one with --source-layer.",
            parameter="source_layer",
        )
    if not names:
        raise IngestRejected("Tệp không có lớp dữ liệu nào.", "The file holds no layers.", parameter="path")
    return names[0]


def _csv_options(path: Path, encoding: str | None) -> tuple[dict, str]:
    """GDAL CSV open options for the coordinate columns found in the header, and their kind."""
    with path.open("rb") as handle:
        first = handle.readline(65536)
    text = first.decode(encoding or "utf-8", errors="replace").lstrip("\ufeff")
    header = next(csv.reader(io.StringIO(text)), [])
    lowered = {unicodedata.normalize("NFC", h.strip().lower()): h.strip() for h in header}

    def pick(names: list[str]) -> str | None:
        return next((lowered[n] for n in names if n in lowered), None)

    base = {"AUTODETECT_TYPE": "YES", "KEEP_GEOM_COLUMNS": "NO", "EMPTY_STRING_AS_NULL": "YES"}
    lon, lat = pick(LON_NAMES), pick(LAT_NAMES)
    if lon and lat:
        return {**base, "X_POSSIBLE_NAMES": lon, "Y_POSSIBLE_NAMES": lat}, "lonlat"
    x, y = pick(X_NAMES), pick(Y_NAMES)
    if x and y:
        return {**base, "X_POSSIBLE_NAMES": x, "Y_POSSIBLE_NAMES": y}, "xy"
    # GDAL's own convention too: a _WKT<type> column (our CSV downloads name theirs _WKT_POLYGON …).
    wkt = pick(WKT_NAMES) or next((h for low, h in lowered.items() if low.startswith("_wkt")), None)
    if wkt:
        return {**base, "GEOM_POSSIBLE_NAMES": wkt}, "wkt"
    raise IngestRejected(
        "CSV không có cột tọa độ (kinh_do/vi_do, lon/lat, X/Y) hay cột WKT.",
        "The CSV has no coordinate columns (lon/lat, kinh_do/vi_do, X/Y) nor a WKT column.",
        parameter="path",
    )


def _encoding_plan(driver: str, encoding: str | None, cpg: str | None, warnings: list[str]) -> tuple[str | None, str | None]:
    """(what pyogrio is told, what we decode with): legacy text is read as Latin-1, then decoded here byte-exactly."""
    wanted = encoding or cpg
    if not wanted:
        return None, None
    codec = normalise_encoding(wanted)
    if codec is None:
        if encoding:
            raise IngestRejected(
                f"Bảng mã {encoding} không được hỗ trợ (utf-8, cp1258, tcvn3).",
                f"Unsupported encoding {encoding}; use utf-8, cp1258 or tcvn3.",
                parameter="encoding",
            )
        warnings.append(f"The .cpg names an unknown encoding ({cpg.strip()}); read with the default.")
        return None, None
    if driver not in ("ESRI Shapefile", "CSV"):
        if encoding and codec != "utf-8":
            warnings.append(f"--encoding {encoding} ignored: this format is always UTF-8.")
        return None, None
    return "ISO-8859-1", codec  # a name both GDAL (iconv) and Python know


def open_source(path: Path, *, source_layer: str | None = None, encoding: str | None = None) -> Source:
    """Checks a file and prepares it for reading; the caller closes the Source (temporary files)."""
    safety.reject_remote(str(path))
    if source_layer:
        safety.reject_remote(source_layer, "source_layer")
    path = Path(path)
    if not path.exists():
        raise IngestRejected(f"Không tìm thấy tệp {path.name}.", f"File not found: {path.name}.", parameter="path")
    safety.check_size(path)
    suffix = path.suffix.lower()
    if suffix not in DRIVERS and suffix not in ARCHIVES:
        raise _unsupported(suffix)
    safety.check_content(path)
    tempdir = None
    if suffix in ARCHIVES:
        path, tempdir, source_layer = _from_archive(path, source_layer)
        suffix = path.suffix.lower()
        safety.check_content(path)
    try:
        return _prepare(path, suffix, source_layer, encoding, tempdir)
    except BaseException:
        safety.remove_tree(tempdir)
        raise


def _prepare(path: Path, suffix: str, source_layer: str | None, encoding: str | None, tempdir: Path | None) -> Source:
    warnings: list[str] = []
    expected = DRIVERS[suffix]
    cpg = _check_shapefile(path) if suffix == ".shp" else None
    expected_names = expected if isinstance(expected, tuple) else (expected,)
    read_encoding, decode_with = _encoding_plan(expected_names[0], encoding, cpg, warnings)
    options, csv_geometry = ({}, None)
    if suffix == ".csv":
        options, csv_geometry = _csv_options(path, decode_with)
    try:
        layer = _choose_layer(path, expected_names[0], source_layer) if expected_names[0] in MULTI_LAYER else None
        info = pyogrio.read_info(path, layer=layer, encoding=read_encoding, **options)
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError) as exc:
        raise IngestRejected(f"Không đọc được tệp: {str(exc)[:200]}", f"Could not read the file: {str(exc)[:200]}",
                             parameter="path") from None
    if info.get("driver") not in expected_names:
        raise IngestRejected(
            f"Tệp {path.name} không phải định dạng {expected_names[0]}.",
            f"{path.name} opened as {info.get('driver')}, not {expected_names[0]}: refused.",
            parameter="path",
        )
    crs = CRS.from_user_input(info["crs"]) if info.get("crs") else None
    if suffix in (".kml",):
        crs = CRS.from_epsg(4326)  # KML is WGS 84 by definition
    if csv_geometry == "lonlat" and crs is None:
        crs = CRS.from_epsg(4326)
        warnings.append("CSV longitude/latitude read as WGS 84 (EPSG:4326); give --crs EPSG:4756 for VN-2000 degrees.")
    return Source(path=path, driver=info["driver"], layer=layer, info=info, crs=crs, read_encoding=read_encoding,
                  decode_with=decode_with, open_options=options, csv_geometry=csv_geometry, warnings=warnings,
                  tempdir=tempdir)


def _redecode(value, codec: str):
    if not isinstance(value, str):
        return value
    return unicodedata.normalize("NFC", value.encode("latin-1", "replace").decode(codec, "replace"))


def _decode_text(frame: pd.DataFrame, codec: str) -> pd.DataFrame:
    """Re-decodes Latin-1-read text columns with the real codec, composed (NFC) as Vietnamese is stored."""
    for name in frame.columns:
        if is_text(frame[name]):
            frame[name] = frame[name].astype(object).map(lambda v: _redecode(v, codec))
    frame.columns = [_redecode(str(c), codec) for c in frame.columns]
    return frame


def read_chunks(source: Source, chunk_size: int = 50_000) -> Iterator[tuple[int, np.ndarray, pd.DataFrame]]:
    """Yields (offset, WKB array, attributes) chunks; offset is the 0-based index of the chunk's first row."""
    offset = 0
    while True:
        try:
            meta, _, wkb, fields = pyogrio.raw.read(
                source.path, layer=source.layer, encoding=source.read_encoding, skip_features=offset,
                max_features=chunk_size, datetime_as_string=True, **source.open_options,
            )
        except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError, pyogrio.errors.FieldError) as exc:
            raise IngestRejected(f"Lỗi khi đọc tệp: {str(exc)[:200]}", f"Error while reading the file: {str(exc)[:200]}",
                                 parameter="path") from None
        count = len(wkb) if wkb is not None else (len(fields[0]) if fields else 0)
        if count == 0:
            return
        frame = pd.DataFrame({str(name): values for name, values in zip(meta["fields"], fields)}, index=range(count))
        if source.decode_with:
            frame = _decode_text(frame, source.decode_with)
        if wkb is None:
            wkb = np.full(count, None, dtype=object)
        yield offset, wkb, frame
        offset += count
        if count < chunk_size:
            return


def read_geometries(source: Source, chunk_size: int = 100_000) -> Iterator[np.ndarray]:
    """The file's geometries only (WKB), chunk by chunk: a cheap first pass to learn what types it holds."""
    offset = 0
    while True:
        try:
            _, _, wkb, _ = pyogrio.raw.read(source.path, layer=source.layer, encoding=source.read_encoding, columns=[],
                                            skip_features=offset, max_features=chunk_size, **source.open_options)
        except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError, pyogrio.errors.FieldError) as exc:
            raise IngestRejected(f"Lỗi khi đọc tệp: {str(exc)[:200]}", f"Error while reading the file: {str(exc)[:200]}",
                                 parameter="path") from None
        if wkb is None or len(wkb) == 0:
            return
        yield wkb
        offset += len(wkb)
        if len(wkb) < chunk_size:
            return
