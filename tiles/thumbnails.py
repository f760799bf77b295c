"""Layer previews for the catalog: one PNG per layer, drawn on the server from its data and its style.

Why PNG (not SVG): one format for vector and raster layers; its size is bounded by its pixels, not by the
feature count (an SVG of a 300,000-parcel layer is megabytes a phone must parse and paint); and it is drawn
once per change of the layer, then served as bytes with an ETag like a tile.

Vector layers are drawn as a low-zoom tile is: features larger than a pixel go through ST_AsMVTGeom on a
grid of the image's pixels (clipped, snapped, simplified; at most MAX_SHAPES, the largest first), every other
feature leaves a dot at its centre, aggregated in SQL to one per pixel (so a dense parcel layer costs at most
one row per pixel beyond its MAX_SHAPES shapes, whatever its size); _VECTOR_SQL says how. Colours are the
map's (layers/styling.py). Only geometry and the style's attribute are read: the style names a displayed,
non-personal field, so a preview carries no personal data.
Raster layers are read through rio-tiler over the same frame and coloured with the tiles' ramp.

Cached as files under the tile cache folder, keyed by everything the drawing depends on (the layer's last
change, style, schema, extent, raster file; layers.styling.drawing_stamp) and this renderer's version: a
change makes a new key, so a new file, a new ETag and a new URL (`?v=` on the catalog pages). Each node
draws a layer once per change (a 300,000-parcel layer: about 3.5 s on a loaded 2-core machine).
"""
import json
import math
import os
import threading
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from layers import db
from layers.models import Layer
from layers.styling import LayerStyle, drawing_stamp, layer_style
from tiles import conf, raster, raster_service
from tiles.cache import CachedTile

WIDTH, HEIGHT = 640, 400  # shown at most 28rem (448 CSS px) wide: sharp on 1.5× screens
SCALE = 2                  # drawn at twice the size and reduced: antialiased edges from Pillow's plain polygons
MAX_SHAPES = 20_000        # features drawn as shapes (the largest); the others are dots
BACKGROUND = (246, 248, 249, 255)
RENDERER = "4"             # bump when the drawing changes: every cached preview is drawn anew
_EARTH = 6378137.0

# One scan of the layer's rows, keeping only their boxes and style values (small rows, materialised once), then:
# dots: the centre of each box not drawn as a shape, one per pixel of the image (a hash aggregate; Web Mercator
#   worked out by hand: a formula per row costs less than a transform);
# shapes: the largest features over a pixel, at most %(cap)s, their geometry read again by id and drawn as a
#   low-zoom tile is (ST_AsMVTGeom on a grid of the 2× canvas: clipped, snapped, simplified).
_VECTOR_SQL = """
WITH f AS MATERIALIZED (
    SELECT id, v, b, (ST_XMax(b) - ST_XMin(b) >= %(px)s OR ST_YMax(b) - ST_YMin(b) >= %(px)s) AS big
    FROM (SELECT id, properties->>%(attr)s AS v, Box2D(geom) AS b
          FROM layers_feature
          WHERE layer_id = %(layer)s AND geom && ST_MakeEnvelope(%(w)s, %(s)s, %(e)s, %(n)s, 4326)) boxes
), top AS (
    SELECT id, v FROM f WHERE big ORDER BY (ST_XMax(b) - ST_XMin(b)) * (ST_YMax(b) - ST_YMin(b)) DESC LIMIT %(cap)s
)
SELECT 'p', i, j, NULL, min(v)
FROM (
    SELECT floor((radians((ST_XMin(b) + ST_XMax(b)) / 2) * 6378137.0 - %(x0)s) / (%(x1)s - %(x0)s) * %(gw)s)::int AS i,
           floor((%(y1)s - ln(tan(pi() / 4 + radians((ST_YMin(b) + ST_YMax(b)) / 4))) * 6378137.0)
                 / (%(y1)s - %(y0)s) * %(gh)s)::int AS j, v
    FROM f
    WHERE NOT big OR %(all_dots)s OR id NOT IN (SELECT id FROM top)
) cells
WHERE i BETWEEN 0 AND %(gw)s - 1 AND j BETWEEN 0 AND %(gh)s - 1
GROUP BY i, j
UNION ALL
SELECT 'g', NULL, NULL, ST_AsGeoJSON(ST_AsMVTGeom(ST_Transform(g.geom, 3857),
           ST_MakeEnvelope(%(x0)s, %(y0)s, %(x1)s, %(y1)s, 3857), %(grid)s, 8, true), 0), top.v
FROM top JOIN layers_feature g ON g.id = top.id AND g.layer_id = %(layer)s
"""


@dataclass(frozen=True)
class Frame:
    """What the image shows: a Web Mercator box with the image's proportions, and the same box in degrees."""

    x0: float
    y0: float
    x1: float
    y1: float

    @property
    def degrees(self) -> tuple[float, float, float, float]:
        return (*_lonlat(self.x0, self.y0), *_lonlat(self.x1, self.y1))


def _mercator(lon: float, lat: float) -> tuple[float, float]:
    lat = max(min(lat, 85.0), -85.0)
    return math.radians(lon) * _EARTH, math.log(math.tan(math.pi / 4 + math.radians(lat) / 2)) * _EARTH


def _lonlat(x: float, y: float) -> tuple[float, float]:
    return math.degrees(x / _EARTH), math.degrees(2 * math.atan(math.exp(y / _EARTH)) - math.pi / 2)


def frame_of(layer: Layer) -> Frame | None:
    """The layer's extent, padded by 5 % and widened to the image's proportions (at least 200 m across)."""
    if layer.extent is None:
        return None
    west, south, east, north = layer.extent.extent
    x0, y0 = _mercator(west, south)
    x1, y1 = _mercator(east, north)
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    width = max(x1 - x0, (y1 - y0) * WIDTH / HEIGHT, 200.0) * 1.1
    height = width * HEIGHT / WIDTH
    return Frame(cx - width / 2, cy - height / 2, cx + width / 2, cy + height / 2)


def preview_key(layer: Layer) -> str:
    """The preview's key: the layer's drawing stamp (layers/styling.py) and this renderer's version."""
    return f"{drawing_stamp(layer)}{RENDERER}"


def _rgba(colour: str, alpha: int = 255) -> tuple[int, int, int, int]:
    text = colour.lstrip("#")
    if len(text) == 3:
        text = "".join(c * 2 for c in text)
    return int(text[0:2], 16), int(text[2:4], 16), int(text[4:6], 16), alpha


def _vector_rows(layer: Layer, style: LayerStyle, frame: Frame) -> list[tuple]:
    """(kind, i, j, geojson, value) rows: 'p' a dot at pixel (i, j) of the image, 'g' a shape on the 2× grid."""
    west, south, east, north = frame.degrees
    params = {"attr": style.attribute or "", "layer": layer.pk, "w": west, "s": south, "e": east, "n": north,
              "x0": frame.x0, "y0": frame.y0, "x1": frame.x1, "y1": frame.y1, "grid": WIDTH * SCALE,
              "gw": WIDTH, "gh": HEIGHT, "px": (east - west) / WIDTH, "cap": MAX_SHAPES,
              # Filled areas cover their own centre: every feature may leave a dot (none is lost past the cap).
              # Lines and outlines would show a stray dot at the centre of a box they do not cross.
              "all_dots": style.kind == "fill" and style.fill}
    with db.cursor(read=True) as cursor:
        cursor.execute(_VECTOR_SQL, params)
        return cursor.fetchall()


def _dots(rows: list[tuple], colour_of, alpha: int) -> Image.Image:
    """One dot (2 × 2 pixels of the image) per row, painted at once with numpy on the 2× canvas."""
    canvas = np.zeros((HEIGHT * SCALE, WIDTH * SCALE, 4), dtype=np.uint8)
    if rows:
        i = np.fromiter((row[1] for row in rows), dtype=np.int64, count=len(rows)) * SCALE
        j = np.fromiter((row[2] for row in rows), dtype=np.int64, count=len(rows)) * SCALE
        colours = np.array([_rgba(colour_of(row[4]), alpha) for row in rows], dtype=np.uint8)
        for dy in range(-1, SCALE + 1):
            for dx in range(-1, SCALE + 1):
                canvas[np.clip(j + dy, 0, HEIGHT * SCALE - 1), np.clip(i + dx, 0, WIDTH * SCALE - 1)] = colours
    return Image.fromarray(canvas, "RGBA")


def _draw_vector(layer: Layer, frame: Frame) -> Image.Image:
    """The features over the background: dots first, then shapes, lines and points in the layer's colours."""
    style = layer_style(layer)
    colours = {rule.value: rule.color for rule in style.rules}

    def colour_of(value: str | None) -> str:
        return colours.get(value, style.default) if value is not None else style.default

    rows = _vector_rows(layer, style, frame)
    overlay = _dots([row for row in rows if row[0] == "p"], colour_of, 150 if style.kind == "fill" and style.fill else 255)
    draw = ImageDraw.Draw(overlay)
    yscale = HEIGHT / WIDTH  # the MVT grid is square (grid × grid) over a frame of the image's proportions
    for kind, _, _, shape, value in rows:
        if kind == "g" and shape:
            _draw_shape(draw, json.loads(shape), colour_of(value), style, yscale)
    image = Image.new("RGBA", overlay.size, BACKGROUND)
    image.alpha_composite(overlay)
    return image


def _parts(geometry: dict) -> tuple[str, list]:
    kind = geometry.get("type", "")
    coords = geometry.get("coordinates") or []
    if kind.startswith("Multi"):
        return kind[5:], coords
    return kind, [coords]


def _draw_shape(draw: ImageDraw.ImageDraw, geometry: dict, colour: str, style: LayerStyle, yscale: float) -> None:
    kind, parts = _parts(geometry)
    line_width = 2 * SCALE if style.kind == "line" else SCALE

    def points(ring) -> list[tuple[float, float]]:
        return [(x, y * yscale) for x, y in ring]

    for part in parts:
        if kind == "Polygon":
            outer, holes = points(part[0]), [points(ring) for ring in part[1:]]
            if len(outer) < 3:
                continue
            draw.polygon(outer, fill=_rgba(colour, 150) if style.fill else None, outline=_rgba(colour), width=line_width)
            for hole in holes:
                if len(hole) >= 3:
                    draw.polygon(hole, fill=(0, 0, 0, 0), outline=_rgba(colour), width=line_width)
        elif kind == "LineString" and len(part) >= 2:
            draw.line(points(part), fill=_rgba(colour), width=line_width, joint="curve")
        elif kind == "Point" and part:
            x, y = points([part])[0]
            draw.ellipse((x - 2 * SCALE, y - 2 * SCALE, x + 2 * SCALE, y + 2 * SCALE), fill=_rgba(colour))


def _draw_raster(layer: Layer, frame: Frame) -> Image.Image:
    """The raster over the frame, coloured by the layer's ramp as its tiles are (tiles/raster.py)."""
    body = raster.render_part(raster_service.raster_file(layer), frame.degrees, layer.raster_info or {},
                              WIDTH * SCALE, HEIGHT * SCALE)
    image = Image.new("RGBA", (WIDTH * SCALE, HEIGHT * SCALE), BACKGROUND)
    if body:
        image.alpha_composite(Image.open(BytesIO(body)).convert("RGBA"))
    return image


def draw(layer: Layer) -> bytes:
    """The layer's preview as PNG bytes (an empty background when it has no extent yet)."""
    frame = frame_of(layer)
    if frame is None:
        image = Image.new("RGBA", (WIDTH * SCALE, HEIGHT * SCALE), BACKGROUND)
    elif layer.kind == "raster":
        image = _draw_raster(layer, frame)
    else:
        image = _draw_vector(layer, frame)
    image = image.resize((WIDTH, HEIGHT), Image.Resampling.LANCZOS).convert("RGB")
    if layer.kind != "raster":
        # Flat style colours and their edges fit a 256-colour palette: a third of the bytes, no visible change
        # (a raster's smooth ramp would band: it stays true colour).
        image = image.quantize(256, method=Image.Quantize.FASTOCTREE, dither=Image.Dither.NONE)
    out = BytesIO()
    image.save(out, "PNG", optimize=True)
    return out.getvalue()


def _folder() -> Path:
    return Path(conf.cache_dir()) / "thumbnails"


_drawing: dict[int, threading.Lock] = {}
_drawing_guard = threading.Lock()


def _lock_for(layer_id: int) -> threading.Lock:
    with _drawing_guard:
        return _drawing.setdefault(layer_id, threading.Lock())


def _cached(path: Path, key: str) -> CachedTile | None:
    try:
        return CachedTile(path.read_bytes(), key)
    except FileNotFoundError:
        return None


def thumbnail(layer: Layer) -> CachedTile:
    """The layer's preview: from the file cache when drawn for this key, else drawn and kept (older ones removed).
    One drawing per layer at a time in a process: visitors arriving together after a change wait for it."""
    key = preview_key(layer)
    folder = _folder()
    path = folder / f"{layer.pk}-{key}.png"
    found = _cached(path, key)
    if found is not None:
        return found
    with _lock_for(layer.pk):
        found = _cached(path, key)
        if found is not None:
            return found
        body = draw(layer)
        folder.mkdir(parents=True, exist_ok=True)
        temporary = folder / f".{layer.pk}-{key}.{os.getpid()}.{threading.get_ident()}.tmp"
        temporary.write_bytes(body)
        os.replace(temporary, path)  # atomic: a reader sees the whole file or none
        for old in folder.glob(f"{layer.pk}-*.png"):
            if old != path:
                old.unlink(missing_ok=True)
    return CachedTile(body, key)
