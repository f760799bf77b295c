"""Tiny files made by code, one per edge case, in each test's own tmp_path."""
import zipfile
from pathlib import Path

import geopandas as gpd
import pyogrio
import pytest
import shapely
from pyproj import CRS

from layers.vn2000 import crs_for

# A few parcels in Thu Duc, in VN-2000 / TM-3 105-45 (EPSG:9210) metres.
X0, Y0 = 612_000.0, 1_196_000.0


def square_m(x: float, y: float, size: float = 20.0) -> shapely.Polygon:
    return shapely.box(x, y, x + size, y + size)


def parcels_frame(n: int = 3, crs=9210, **columns) -> gpd.GeoDataFrame:
    """n parcels with the core parcel schema's fields, in EPSG:9210 by default."""
    data = {
        "ward_code": ["26800"] * n, "map_sheet": [12] * n, "parcel_no": list(range(1, n + 1)),
        "land_use": ["ODT"] * n, "legal_area": [400.0 + i for i in range(n)],
        "address": [f"{i} Đường Võ Văn Ngân, Phường Linh Chiểu" for i in range(1, n + 1)],
    }
    data.update(columns)
    geoms = [square_m(X0 + 30 * i, Y0) for i in range(n)]
    return gpd.GeoDataFrame(data, geometry=geoms, crs=CRS.from_epsg(crs) if crs else None)


def write(frame: gpd.GeoDataFrame, path: Path, **kwargs) -> Path:
    pyogrio.write_dataframe(frame, path, **kwargs)
    return path


def zip_files(target: Path, members: dict[str, bytes | Path]) -> Path:
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in members.items():
            archive.writestr(name, content.read_bytes() if isinstance(content, Path) else content)
    return target


def shapefile_members(folder: Path, stem: str) -> dict[str, Path]:
    return {p.name: p for p in folder.glob(f"{stem}.*")}


@pytest.fixture
def parcels_gpkg(tmp_path) -> Path:
    return write(parcels_frame(), tmp_path / "parcels.gpkg", layer="parcels")


@pytest.fixture
def wgs84():
    return crs_for(4326)
