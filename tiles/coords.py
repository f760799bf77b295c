"""Tile arithmetic in Web Mercator (EPSG:3857), done in Python so SQL never transforms per geometry.

Pure functions, no Django: parsing z/x/y from a URL, tile bounds in metres and degrees, and the
tiles a WGS 84 box touches at a zoom (what invalidation deletes).
"""
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass

from layers.errors import InvalidTile

MAX_ZOOM = 24
EARTH_RADIUS = 6378137.0
ORIGIN = math.pi * EARTH_RADIUS  # 20037508.342789244: half the world's width in metres
MAX_LAT = 85.0511287798066  # Web Mercator's edge: the latitude whose y is ORIGIN
_DIGITS = re.compile(r"[0-9]{1,9}")


@dataclass(frozen=True, slots=True)
class Tile:
    z: int
    x: int
    y: int

    @property
    def size(self) -> float:
        """Width (= height) of the tile in metres."""
        return 2 * ORIGIN / (1 << self.z)

    def bounds_3857(self) -> tuple[float, float, float, float]:
        """(xmin, ymin, xmax, ymax) in metres; y counts down from the top as in XYZ URLs."""
        size = self.size
        xmin = -ORIGIN + self.x * size
        ymax = ORIGIN - self.y * size
        return xmin, ymax - size, xmin + size, ymax

    def bounds_4326(self, margin: float = 0.0) -> tuple[float, float, float, float]:
        """(west, south, east, north) in degrees, grown by `margin` tile widths on every side."""
        xmin, ymin, xmax, ymax = self.bounds_3857()
        grow = margin * self.size
        west, south = mercator_to_lonlat(xmin - grow, ymin - grow)
        east, north = mercator_to_lonlat(xmax + grow, ymax + grow)
        return west, south, east, north

    def __str__(self) -> str:
        return f"{self.z}/{self.x}/{self.y}"


def _bad(vi: str, en: str, parameter: str) -> InvalidTile:
    return InvalidTile(vi, en, parameter=parameter)


def parse_tile(z: str, x: str, y: str) -> Tile:
    """The Tile named by URL parts; InvalidTile (400) for anything that names no tile."""
    values = {}
    for name, raw in (("z", z), ("x", x), ("y", y)):
        raw = raw if isinstance(raw, str) else ""
        if not _DIGITS.fullmatch(raw):
            raise _bad(f"{name} phải là số nguyên không âm, không phải {raw[:20]!r}.",
                       f"{name} must be a non-negative whole number, not {raw[:20]!r}.", name)
        values[name] = int(raw)
    tile = Tile(values["z"], values["x"], values["y"])
    if tile.z > MAX_ZOOM:
        raise _bad(f"Mức thu phóng z phải từ 0 đến {MAX_ZOOM}.", f"Zoom z must be between 0 and {MAX_ZOOM}.", "z")
    limit = 1 << tile.z
    if tile.x >= limit or tile.y >= limit:
        raise _bad(f"Ô lưới không tồn tại: x và y phải nhỏ hơn {limit} ở mức {tile.z}.",
                   f"No such tile: x and y must be below {limit} at zoom {tile.z}.", "x/y")
    return tile


def lonlat_to_mercator(lon: float, lat: float) -> tuple[float, float]:
    """WGS 84 degrees to Web Mercator metres (latitude clamped to the projection's edge)."""
    lat = max(-MAX_LAT, min(MAX_LAT, lat))
    x = math.radians(lon) * EARTH_RADIUS
    y = math.log(math.tan(math.pi / 4 + math.radians(lat) / 2)) * EARTH_RADIUS
    return x, y


def mercator_to_lonlat(x: float, y: float) -> tuple[float, float]:
    """Web Mercator metres to WGS 84 degrees."""
    lon = math.degrees(x / EARTH_RADIUS)
    lat = math.degrees(math.atan(math.sinh(y / EARTH_RADIUS)))
    return lon, lat


def tile_range(bounds: tuple[float, float, float, float], z: int, margin: float = 0.0) -> tuple[int, int, int, int]:
    """(xmin, xmax, ymin, ymax), inclusive, of the tiles at zoom z whose area, grown by `margin`
    tile widths, meets the WGS 84 box (west, south, east, north)."""
    west, south, east, north = bounds
    x0, y0 = lonlat_to_mercator(west, north)
    x1, y1 = lonlat_to_mercator(east, south)
    n = 1 << z
    size = 2 * ORIGIN / n
    # A hair more than asked: the query's boxes go through other float arithmetic, and deleting a
    # neighbour in a tie is harmless where missing one would leave a stale tile.
    grow = margin * size + size * 1e-9
    # A tile [i*size, (i+1)*size) touches the box if the box comes within `grow` of it (edges included).
    xmin = math.floor((x0 - grow + ORIGIN) / size)
    xmax = math.ceil((x1 + grow + ORIGIN) / size) - 1
    ymin = math.floor((ORIGIN - y0 - grow) / size)
    ymax = math.ceil((ORIGIN - y1 + grow) / size) - 1
    # A box edge exactly on a tile edge touches the neighbour too (ST_Intersects counts boundaries).
    xmax = max(xmax, math.floor((x1 + grow + ORIGIN) / size))
    ymax = max(ymax, math.floor((ORIGIN - y1 + grow) / size))
    clamp = lambda v: max(0, min(n - 1, v))  # noqa: E731
    return clamp(xmin), clamp(xmax), clamp(ymin), clamp(ymax)


def tiles_in(bounds: tuple[float, float, float, float], z: int) -> Iterator[Tile]:
    """Every tile at zoom z that touches the WGS 84 box."""
    xmin, xmax, ymin, ymax = tile_range(bounds, z)
    for x in range(xmin, xmax + 1):
        for y in range(ymin, ymax + 1):
            yield Tile(z, x, y)


def boxes_meet(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> bool:
    """True when two (west, south, east, north) boxes overlap or touch."""
    return a[0] <= b[2] and b[0] <= a[2] and a[1] <= b[3] and b[1] <= a[3]
