"""Raster tiles from a Cloud-Optimized GeoTIFF through rio-tiler: read the tile, stretch, colour, encode.

No Django here (titiler's factory.tile is the model): tiles/raster_service.py checks the layer and the path
and calls `render_tile` / `value_at`; the benchmark calls the same functions. rio-tiler reads the tile
(Reader.tile: the right overview, warped to Web Mercator), rescales it and renders it through GDAL with our
ramp as its colour map; what is ours is the ramp table, one open Reader per file and process, and the
encoders' speed settings (same pixels as rio-tiler's defaults, less compression effort).
"""
import json
import threading
from collections import OrderedDict
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Protocol

import numpy as np
import rasterio
from rio_tiler.errors import PointOutsideBounds, TileOutsideBounds
from rio_tiler.io import Reader
from rio_tiler.models import ImageData

TILE_SIZE = 256
FORMATS = ("png", "webp")
RESAMPLING = "bilinear"  # heights and other continuous values: bilinear between pixels, in overviews and the warp
# Lossless both (same pixels as rio-tiler's defaults), less effort: measured on terrain tiles, PNG at zlib level 3
# encodes 1.8× faster than GDAL's default 6 for 25% more bytes; lossless WebP at method 1 / quality 25 2× faster
# than its default (4 / 75) for 9% more bytes. The ramp's colours stay exact.
ENCODING = {"png": {"img_format": "PNG", "ZLEVEL": 3},
            "webp": {"img_format": "WEBP", "LOSSLESS": "TRUE", "METHOD": 1, "QUALITY": 25}}

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


class TileIndex(Protocol):
    """A tile's numbers (tiles.coords.Tile has them; no Django needed here)."""

    z: int
    x: int
    y: int


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


def colour_map(ramp, vmin: float, vmax: float) -> dict[int, tuple[int, int, int, int]]:
    """The ramp as rio-tiler's 256-entry colour map (values rescaled to 0–255 index it)."""
    return _colour_map(json.dumps(ramp), vmin, vmax)


@lru_cache(maxsize=64)
def _colour_map(ramp_json: str, vmin: float, vmax: float) -> dict[int, tuple[int, int, int, int]]:
    return {i: tuple(int(c) for c in row) for i, row in enumerate(_colour_table(ramp_json, vmin, vmax))}


class _Source:
    """An open rio-tiler Reader with what every tile needs from it, kept per process."""

    def __init__(self, path: str):
        # Opened inside an Env of our own: left to itself, rasterio ties the dataset to this thread's GDAL
        # environment, and closing it from another thread (a file replaced while another request serves) fails.
        with rasterio.Env():
            self.dataset = rasterio.open(path)
        self.reader = Reader(path, dataset=self.dataset)
        self.nodata = self.reader.dataset.nodata
        self.floating = self.reader.dataset.dtypes[0].startswith("float")
        self._stats: tuple[float, float] | None = None
        self.lock = threading.Lock()  # one GDAL dataset handle: one thread at a time

    def close(self) -> None:
        self.dataset.close()

    def stats(self) -> tuple[float, float]:
        """Min and max of band 1 from a preview read of at most 512 pixels a side (the overviews)."""
        if self._stats is None:
            with self.lock:
                preview = self.reader.preview(indexes=1, max_size=512)
            values = preview.array.compressed()
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
                _sources.pop(old).close()
            source = _sources[key] = _Source(path)
            while len(_sources) > 32:
                _sources.popitem(last=False)[1].close()
        else:
            _sources.move_to_end(key)
        return source


def _mask_nan(data: np.ma.MaskedArray) -> np.ma.MaskedArray:
    """NaN is 'no data' too, whatever the file declares."""
    return np.ma.masked_invalid(data, copy=False)


def read_tile(source: _Source, tile: TileIndex, size: int = TILE_SIZE, nodata: float | None = None) -> ImageData | None:
    """Band 1 over the tile (masked where no data); None when the tile misses the raster."""
    options = {"nodata": nodata} if nodata is not None else {}
    if source.floating:
        options["post_process"] = _mask_nan
    try:
        with source.lock:
            return source.reader.tile(tile.x, tile.y, tile.z, tilesize=size, indexes=1, resampling_method=RESAMPLING,
                                      reproject_method=RESAMPLING, **options)
    except TileOutsideBounds:
        return None


def render_tile(path: str | Path, tile: TileIndex, info: dict, fmt: str = "png", size: int = TILE_SIZE) -> bytes | None:
    """The encoded tile of the raster at path; None when the tile misses the raster."""
    source = open_source(path)
    style = Style.from_info(info, source.stats() if ("min" not in info or "max" not in info) else (0, 1), source.nodata)
    image = read_tile(source, tile, size, style.nodata)
    if image is None:
        return None
    image.rescale(in_range=((style.vmin, style.vmax),))
    return image.render(colormap=colour_map(style.ramp, style.vmin, style.vmax), **ENCODING[fmt])


def value_at(path: str | Path, lon: float, lat: float, nodata: float | None = None) -> list[float | None]:
    """Every band's value at a WGS 84 point (None where no data; alpha bands left out); OutsideRaster when it misses."""
    source = open_source(path)
    options = {"nodata": nodata} if nodata is not None else {}
    try:
        with source.lock:
            point = source.reader.point(lon, lat, **options)
    except PointOutsideBounds:
        raise OutsideRaster(f"({lon}, {lat}) is outside the raster") from None
    masked = np.ma.getmaskarray(point.array).tolist()
    out: list[float | None] = []
    for value, missing in zip(point.array.data.tolist(), masked):
        bad = missing or (isinstance(value, float) and value != value)
        out.append(None if bad else value)
    return out


def render_part(path: str | Path, bbox: tuple[float, float, float, float], info: dict, width: int, height: int) -> bytes | None:
    """A PNG of the raster over a WGS 84 box, in Web Mercator at width × height, coloured as its tiles are
    (the catalog's preview, tiles/thumbnails.py); None when the box misses the raster."""
    source = open_source(path)
    style = Style.from_info(info, source.stats() if ("min" not in info or "max" not in info) else (0, 1), source.nodata)
    options = {"nodata": style.nodata} if style.nodata is not None else {}
    if source.floating:
        options["post_process"] = _mask_nan
    try:
        with source.lock:
            image = source.reader.part(bbox, dst_crs=rasterio.crs.CRS.from_epsg(3857), width=width, height=height,
                                       indexes=1, resampling_method=RESAMPLING, reproject_method=RESAMPLING, **options)
    except TileOutsideBounds:
        return None
    image.rescale(in_range=((style.vmin, style.vmax),))
    return image.render(colormap=colour_map(style.ramp, style.vmin, style.vmax), **ENCODING["png"])
