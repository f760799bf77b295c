"""Reading vector files with pyogrio, through the GDAL drivers the formats need and nothing else."""
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyogrio
from pyproj import CRS

from layers.errors import IngestRejected

# Extension -> the one GDAL driver allowed to open it (no VRT, no network file systems).
DRIVERS = {
    ".shp": "ESRI Shapefile",
    ".gpkg": "GPKG",
    ".geojson": "GeoJSON",
    ".json": "GeoJSON",
    ".geojsonl": "GeoJSONSeq",
    ".geojsons": "GeoJSONSeq",
    ".kml": "KML",
    ".csv": "CSV",
    ".gdb": "OpenFileGDB",
}


@dataclass
class VectorData:
    """What a reader returns: geometries (shapely array), attributes, and the declared CRS."""

    geometries: np.ndarray
    attributes: pd.DataFrame
    crs: CRS | None
    source_layer: str | None


def _reject_remote(path: str) -> None:
    lowered = path.lower()
    if "://" in lowered or lowered.startswith("/vsi"):
        raise IngestRejected(
            "Chỉ nhận tệp trên máy chủ, không nhận URL hay /vsi….",
            "Only local files are accepted, not URLs or /vsi… paths.",
            parameter="path",
        )


def driver_for(path: Path) -> str:
    """The allowed driver for a path, or IngestRejected naming the formats we read."""
    driver = DRIVERS.get(path.suffix.lower())
    if driver is None:
        raise IngestRejected(
            f"Định dạng {path.suffix or '(không có phần mở rộng)'} không được hỗ trợ.",
            f"Unsupported format {path.suffix or '(no extension)'}; expected one of {', '.join(sorted(DRIVERS))}.",
            parameter="path",
        )
    return driver


def list_layers(path: Path) -> list[str]:
    """Names of the layers in a multi-layer file (GeoPackage, FileGDB)."""
    return [str(name) for name, _ in pyogrio.list_layers(path)]


def read_vector(path: Path, *, source_layer: str | None = None, encoding: str | None = None) -> VectorData:
    """Reads a vector file; a file with several layers needs source_layer."""
    _reject_remote(str(path))
    if not path.exists():
        raise IngestRejected(f"Không tìm thấy tệp {path.name}.", f"File not found: {path.name}.", parameter="path")
    driver = driver_for(path)
    if driver in ("GPKG", "OpenFileGDB") and source_layer is None:
        names = list_layers(path)
        if len(names) > 1:
            raise IngestRejected(
                f"Tệp có nhiều lớp ({', '.join(names)}); hãy chọn một lớp.",
                f"The file holds several layers ({', '.join(names)}); choose one.",
                parameter="layer",
            )
        source_layer = names[0] if names else None
    try:
        frame = pyogrio.read_dataframe(path, layer=source_layer, encoding=encoding)
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError) as exc:
        raise IngestRejected(f"Không đọc được tệp: {exc}", f"Could not read the file: {exc}", parameter="path") from None
    geometries = np.asarray(frame.geometry.array, dtype=object) if "geometry" in frame else np.array([], dtype=object)
    attributes = pd.DataFrame(frame.drop(columns="geometry", errors="ignore"))
    return VectorData(geometries=geometries, attributes=attributes, crs=frame.crs, source_layer=source_layer)
