"""A GeoTIFF as a Web Mercator Cloud-Optimized GeoTIFF, in bounded memory, through GDAL (no Django here).

Two GDAL steps, as `gdalwarp` then `gdal_translate -of COG`: GDAL's warper, with the pinned VN-2000 shift,
writes a tiled scratch GeoTIFF chunk by chunk, then GDAL's COG driver writes tiles, overviews and the IFD
order. One warp, not two: the COG driver fed a warped VRT would warp once for the overviews and again for
the full resolution. rio-cogeo does the same two steps with more options than we need, so it does not pay
here. Memory is GDAL's block cache (CACHE_MB) plus the warper's chunk (WARP_MB), whatever the raster's size.
"""
import ctypes
import ctypes.util
import hashlib
import math
import os
from contextlib import contextmanager
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import rasterio
import rasterio.errors
from affine import Affine
from rasterio.crs import CRS
from rasterio.enums import ColorInterp, Resampling
from rasterio.shutil import copy as copy_dataset
from pyproj import Transformer
from rasterio.warp import calculate_default_transform, reproject, transform_bounds

WEB_MERCATOR = CRS.from_epsg(3857)
CACHE_MB = 256   # GDAL's block cache: its default is 5% of RAM (1.2 GB here), over the whole budget alone
WARP_MB = 128    # the warper's working chunk
THREADS = os.cpu_count() or 1  # the warper's and the COG driver's compression threads
FLOAT_NODATA = -9999.0  # float rasters without nodata get this one, so the area outside them stays transparent
GDAL_ENV = {"GDAL_CACHEMAX": CACHE_MB, "GDAL_NUM_THREADS": "ALL_CPUS", "GDAL_DISABLE_READDIR_ON_OPEN": "EMPTY_DIR"}


@dataclass(frozen=True)
class Plan:
    """The output's grid and masking, decided from the header alone (no pixel read)."""

    src_crs: CRS
    transform: Affine
    width: int
    height: int
    nodata: float | None     # the value meaning 'no data', in the source and the output
    src_alpha: int           # the source's alpha band (1-based), 0 when it has none
    add_alpha: bool          # integers without nodata: an alpha band marks the area outside the source
    lonlat: tuple[float, float, float, float]


class OutsideWebMercator(ValueError):
    """The raster's corners are not places Web Mercator can show (beyond ±85.06° or not on Earth at all)."""


def check_placement(src, src_crs: CRS) -> None:
    """The corners and centre, in lon/lat, lie within Web Mercator's range and map back to themselves
    (PROJ clamps absurd coordinates such as 1e30 to the pole, and GDAL's grid search then runs for ever)."""
    west, south, east, north = src.bounds
    xs = [west, east, west, east, (west + east) / 2]
    ys = [south, south, north, north, (south + north) / 2]
    if not all(math.isfinite(v) for v in xs + ys):
        raise OutsideWebMercator("non-finite bounds")
    lon, lat = Transformer.from_crs(src_crs, "EPSG:4326", always_xy=True).transform(xs, ys)
    if not all(math.isfinite(v) and -180 <= x <= 180 and -85.06 <= v <= 85.06 for x, v in zip(lon, lat)):
        raise OutsideWebMercator("beyond Web Mercator's range")
    back_x, back_y = Transformer.from_crs("EPSG:4326", src_crs, always_xy=True).transform(lon, lat)
    tolerance = max(abs(east - west), abs(north - south), 1e-9) * 0.01
    if any(abs(a - b) > tolerance for a, b in zip(list(back_x) + list(back_y), xs + ys)):
        raise OutsideWebMercator("coordinates that do not map back to themselves")


def plan(src, src_crs: CRS) -> Plan:
    """The Web Mercator grid of the source (its size checked by the caller before any pixel is read)."""
    check_placement(src, src_crs)
    transform, width, height = calculate_default_transform(src_crs, WEB_MERCATOR, src.width, src.height, *src.bounds)
    alpha = next((i + 1 for i, c in enumerate(src.colorinterp) if c == ColorInterp.alpha), 0)
    nodata = src.nodata
    if nodata is None and not alpha and src.dtypes[0].startswith("float"):
        nodata = FLOAT_NODATA
    return Plan(src_crs, transform, width, height, nodata, alpha, nodata is None and not alpha,
                transform_bounds(src_crs, "EPSG:4326", *src.bounds))


@contextmanager
def bounded_cache(megabytes: int = CACHE_MB) -> Iterator[None]:
    """GDAL's block cache capped while inside: GDAL reads GDAL_CACHEMAX only once per process, so a server that
    already read a raster keeps its default (5% of RAM) whatever the environment says later; restored after."""
    gdal = _gdal()
    before = gdal.GDALGetCacheMax64() if gdal else None
    if gdal:
        gdal.GDALSetCacheMax64(ctypes.c_int64(megabytes * 1024 * 1024))
    try:
        yield
    finally:
        if gdal:
            gdal.GDALSetCacheMax64(ctypes.c_int64(before))


def _gdal():
    """The libgdal that rasterio uses (wheels bundle their own; already loaded, so CDLL shares it), or None."""
    for lib in _gdal_libraries():
        try:
            handle = ctypes.CDLL(lib)
            handle.GDALGetCacheMax64.restype = ctypes.c_int64
            handle.GDALSetCacheMax64.argtypes = [ctypes.c_int64]
            return handle
        except (OSError, AttributeError):
            continue
    return None


def _gdal_libraries() -> list[str]:
    """rasterio's own libgdal (wheels bundle one), else the system's."""
    libs = sorted(str(p) for p in (Path(rasterio.__file__).parent.parent / "rasterio.libs").glob("libgdal*.so*"))
    system = ctypes.util.find_library("gdal")
    return libs + ([system] if system else [])


def write_cog(src, plan_: Plan, out: Path, workdir: Path) -> tuple[float | None, float | None]:
    """Writes the COG of an open source to out (scratch files in workdir); band 1's (min, max) over valid pixels."""
    warped = workdir / "warped.tif"
    check_readable(src)
    _warp(src, plan_, warped)
    with rasterio.open(warped) as scratch:
        value_range = _band_range(scratch)
    copy_dataset(str(warped), str(out), driver="COG", compress="DEFLATE", predictor="YES", blocksize=512,
                 overview_resampling="AVERAGE", num_threads="ALL_CPUS", bigtiff="IF_SAFER")
    warped.unlink()
    return value_range


def _warp(src, plan_: Plan, warped: Path) -> None:
    """gdalwarp's way, dataset to dataset: GDAL warps chunk by chunk (WARP_MB each) into a tiled scratch file,
    uncompressed (written once, read twice). A WarpedVRT copied block by block was 2-4× slower: every small
    block warped on its own."""
    data = [i for i in src.indexes if i != plan_.src_alpha]
    count = src.count + (1 if plan_.add_alpha else 0)
    alpha = plan_.src_alpha or (count if plan_.add_alpha else 0)
    profile = {"driver": "GTiff", "width": plan_.width, "height": plan_.height, "count": count,
               "dtype": src.dtypes[0], "crs": WEB_MERCATOR, "transform": plan_.transform, "nodata": plan_.nodata,
               "tiled": True, "blockxsize": 512, "blockysize": 512, "bigtiff": "IF_SAFER"}
    with rasterio.open(warped, "w", **profile) as dst:
        if alpha:
            dst.colorinterp = [ColorInterp.alpha if i == alpha else c
                               for i, c in enumerate(list(src.colorinterp) + [ColorInterp.alpha], start=1)][:count]
        reproject(rasterio.band(src, data), rasterio.band(dst, data), src_crs=plan_.src_crs,
                  src_transform=src.transform, dst_crs=WEB_MERCATOR, dst_transform=plan_.transform,
                  src_nodata=plan_.nodata, dst_nodata=plan_.nodata, src_alpha=plan_.src_alpha, dst_alpha=alpha,
                  resampling=Resampling.bilinear, warp_mem_limit=WARP_MB, num_threads=THREADS,
                  # rasterio takes a band's CRS from its dataset, whatever src_crs says: pinned via GDAL's override
                  SRC_SRS=plan_.src_crs.to_wkt())


def check_readable(src, budget: int = 64 << 20) -> None:
    """Reads the source strip by strip (budget bytes each), so a damaged file raises here: GDAL's warper only
    logs a block that fails to read and goes on, which would leave a hole of nodata in a 'successful' COG."""
    row_bytes = src.width * src.count * np.dtype(src.dtypes[0]).itemsize
    rows = max(1, budget // max(1, row_bytes))
    for top in range(0, src.height, rows):
        src.read(window=((top, min(src.height, top + rows)), (0, src.width)))


def _band_range(dataset) -> tuple[float | None, float | None]:
    """Exact min and max of band 1 (nodata, NaN and alpha-masked pixels left out), read block by block."""
    try:
        stats = dataset.stats(indexes=[1], approx=False)[0]
    except rasterio.errors.RasterioError:  # no valid pixel at all
        return None, None
    return float(stats.min), float(stats.max)


def file_chunks(path: Path, size: int = 8 << 20) -> Iterator[bytes]:
    """The file's bytes in chunks (to write_atomically without holding it whole)."""
    with path.open("rb") as handle:
        while chunk := handle.read(size):
            yield chunk


def file_digest(path: Path) -> str:
    """The first 12 hex digits of the file's SHA-256 (the COG's name: same pixels, same name)."""
    digest = hashlib.sha256()
    for chunk in file_chunks(path):
        digest.update(chunk)
    return digest.hexdigest()[:12]
