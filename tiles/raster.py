"""Raster tiles from a (Cloud-Optimized) GeoTIFF: open, warp the tile to Web Mercator, colour, encode.

No Django here (titiler's factory.tile is the model): tiles/raster_service.py checks the layer and
the path and calls `render_tile` / `value_at`; the benchmark calls them in a bare loop.
"""
import json
import struct
import threading
import warnings
import zlib
from collections import OrderedDict
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import rasterio
from rasterio.enums import Resampling
from rasterio.errors import NotGeoreferencedWarning
from rasterio.io import MemoryFile
from rasterio.transform import from_bounds
from rasterio.vrt import WarpedVRT
from rasterio.warp import transform as transform_points
from rasterio.warp import transform_bounds

TILE_SIZE = 256
FORMATS = ("png", "webp")

# Colour ramps as evenly spaced stops (low → high). A layer may also give its own list of "#rrggbb"
# stops, or [[value, "#rrggbb"], …] pairs in data units.
RAMPS = {
    "viridis": ["#440154", "#482878", "#3e4989", "#31688e", "#26828e", "#1f9e89", "#35b779", "#6ece58", "#b5de2b", "#fde725"],
    "terrain": ["#333399", "#0294fa", "#24d36d", "#b6f08a", "#dbd085", "#92735e", "#b6a29f", "#ffffff"],
    "blues": ["#f7fbff", "#c6dbef", "#6baed6", "#2171b5", "#08306b"],
    "greens": ["#f7fcf5", "#c7e9c0", "#74c476", "#238b45", "#00441b"],
    "reds": ["#fff5f0", "#fcbba1", "#fb6a4a", "#cb181d", "#67000d"],
    "greys": ["#000000", "#ffffff"],
    "spectral": ["#9e0142", "#f46d43", "#fee08b", "#e6f598", "#66c2a5", "#5e4fa2"],
}


class OutsideRaster(ValueError):
    """The point or tile lies outside the raster."""


@dataclass(frozen=True)
class Style:
    """How values become colours: the range stretched over the ramp, and the value meaning 'no data'."""

    vmin: float
    vmax: float
    nodata: float | None
    ramp: object = "viridis"

    @classmethod
    def from_info(cls, info: dict, stats: tuple[float, float], nodata: float | None) -> "Style":
        vmin = float(info.get("min", stats[0]))
        vmax = float(info.get("max", stats[1]))
        return cls(vmin, vmax if vmax > vmin else vmin + 1.0, info.get("nodata", nodata), info.get("ramp") or "viridis")


def _hex(colour: str) -> tuple[int, int, int, int]:
    text = str(colour).lstrip("#")
    if len(text) == 3:
        text = "".join(c * 2 for c in text)
    if len(text) not in (6, 8):
        raise ValueError(f"not a colour: {colour!r}")
    values = [int(text[i:i + 2], 16) for i in range(0, len(text), 2)]
    return tuple(values + [255] * (4 - len(values)))  # type: ignore[return-value]


def colour_table(ramp, vmin: float, vmax: float) -> np.ndarray:
    """A 256 × 4 uint8 table from a ramp name, a list of colours, or [value, colour] pairs."""
    return _colour_table(json.dumps(ramp), vmin, vmax)


@lru_cache(maxsize=64)
def _colour_table(ramp_json: str, vmin: float, vmax: float) -> np.ndarray:
    ramp = json.loads(ramp_json)
    if isinstance(ramp, str):
        ramp = RAMPS.get(ramp, RAMPS["viridis"])
    ramp = list(ramp)
    if ramp and isinstance(ramp[0], (list, tuple)):
        positions = np.array([(float(v) - vmin) / (vmax - vmin) for v, _ in ramp])
        colours = np.array([_hex(c) for _, c in ramp], dtype=float)
    else:
        colours = np.array([_hex(c) for c in ramp], dtype=float)
        positions = np.linspace(0.0, 1.0, len(colours))
    steps = np.linspace(0.0, 1.0, 256)
    table = np.stack([np.interp(steps, positions, colours[:, i]) for i in range(4)], axis=1)
    return np.round(table).astype(np.uint8)


class _Source:
    """An open dataset with what every tile needs from it, kept per process."""

    def __init__(self, path: str):
        self.dataset = rasterio.open(path)
        self.bounds_3857 = transform_bounds(self.dataset.crs, "EPSG:3857", *self.dataset.bounds, densify_pts=21)
        self.nodata = self.dataset.nodata
        self._stats: tuple[float, float] | None = None
        self.lock = threading.Lock()

    def stats(self) -> tuple[float, float]:
        """Min and max of band 1 from the coarsest overview (or the whole band when it has none)."""
        if self._stats is None:
            ds = self.dataset
            factor = max(1, max(ds.width, ds.height) // 512)
            data = ds.read(1, masked=True, out_shape=(max(1, ds.height // factor), max(1, ds.width // factor)))
            values = data.compressed()
            values = values[np.isfinite(values)]
            self._stats = (float(values.min()), float(values.max())) if values.size else (0.0, 1.0)
        return self._stats


_sources: "OrderedDict[tuple[str, float], _Source]" = OrderedDict()
_sources_lock = threading.Lock()


def open_source(path: str | Path) -> _Source:
    """The dataset at path, opened once per process and reopened when the file changes."""
    path = str(path)
    key = (path, Path(path).stat().st_mtime)
    with _sources_lock:
        source = _sources.get(key)
        if source is None:
            for old in [k for k in _sources if k[0] == path]:
                _sources.pop(old).dataset.close()
            source = _sources[key] = _Source(path)
            while len(_sources) > 32:
                _sources.popitem(last=False)[1].dataset.close()
        else:
            _sources.move_to_end(key)
        return source


def read_tile(source: _Source, bounds_3857: tuple[float, float, float, float], size: int = TILE_SIZE,
              nodata: float | None = None) -> np.ndarray | None:
    """Band 1 over the tile as float32 (NaN where no data); None when the tile misses the raster."""
    xmin, ymin, xmax, ymax = bounds_3857
    bx0, by0, bx1, by1 = source.bounds_3857
    if xmin >= bx1 or xmax <= bx0 or ymin >= by1 or ymax <= by0:
        return None
    src_nodata = nodata if nodata is not None else source.nodata
    with source.lock, WarpedVRT(
        source.dataset, crs="EPSG:3857", transform=from_bounds(xmin, ymin, xmax, ymax, size, size),
        width=size, height=size, resampling=Resampling.bilinear, src_nodata=src_nodata,
        nodata=np.nan, dtype="float32",
    ) as vrt:
        return vrt.read(1)


def colourise(data: np.ndarray, style: Style) -> np.ndarray:
    """RGBA uint8 (h × w × 4) from values: the ramp over [vmin, vmax], transparent where no data."""
    valid = np.isfinite(data)
    if style.nodata is not None:
        valid &= data != np.float32(style.nodata)
    scaled = (np.nan_to_num(data, nan=style.vmin) - style.vmin) * (255.0 / (style.vmax - style.vmin))
    index = np.clip(scaled, 0, 255).astype(np.uint8)
    rgba = colour_table(style.ramp, style.vmin, style.vmax)[index]
    rgba[..., 3] = np.where(valid, rgba[..., 3], 0)
    return rgba


def encode_png(rgba: np.ndarray, level: int = 3) -> bytes:
    """A minimal RGBA PNG (no filter, zlib level 3: a fraction of GDAL's PNG driver's time)."""
    height, width, _ = rgba.shape
    rows = np.empty((height, width * 4 + 1), dtype=np.uint8)
    rows[:, 0] = 0
    rows[:, 1:] = rgba.reshape(height, width * 4)

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows.tobytes(), level)) + chunk(b"IEND", b"")


def encode_webp(rgba: np.ndarray) -> bytes:
    """Lossless WebP through GDAL's WEBP driver."""
    height, width, _ = rgba.shape
    with warnings.catch_warnings(), MemoryFile() as memfile:
        warnings.simplefilter("ignore", NotGeoreferencedWarning)  # a picture, not a map: no transform wanted
        with memfile.open(driver="WEBP", width=width, height=height, count=4, dtype="uint8", LOSSLESS="TRUE") as out:
            out.write(np.moveaxis(rgba, 2, 0))
        return memfile.read()


def render_tile(path: str | Path, bounds_3857: tuple[float, float, float, float], info: dict,
                fmt: str = "png", size: int = TILE_SIZE) -> bytes | None:
    """The encoded tile of the raster at path over a 3857 box; None when the box misses the raster."""
    source = open_source(path)
    style = Style.from_info(info, source.stats() if ("min" not in info or "max" not in info) else (0, 1), source.nodata)
    data = read_tile(source, bounds_3857, size, style.nodata)
    if data is None:
        return None
    rgba = colourise(data, style)
    return encode_png(rgba) if fmt == "png" else encode_webp(rgba)


def value_at(path: str | Path, lon: float, lat: float, nodata: float | None = None) -> list[float | None]:
    """Every band's value at a WGS 84 point (None where no data); OutsideRaster when it misses."""
    source = open_source(path)
    ds = source.dataset
    xs, ys = transform_points("EPSG:4326", ds.crs, [lon], [lat])
    row, col = ds.index(xs[0], ys[0])
    if not (0 <= row < ds.height and 0 <= col < ds.width):
        raise OutsideRaster(f"({lon}, {lat}) is outside the raster")
    with source.lock:
        values = ds.read(window=((row, row + 1), (col, col + 1)))[:, 0, 0]
    missing = nodata if nodata is not None else ds.nodata
    out: list[float | None] = []
    for value in values.tolist():
        bad = value is None or (isinstance(value, float) and value != value) or (missing is not None and value == missing)
        out.append(None if bad else value)
    return out
