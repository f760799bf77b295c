"""Vector tiles straight from PostGIS (ST_AsMVT): one MVT layer per catalog layer, SQL in sql/mvt.sql."""
import datetime as dt
import hashlib
import json
import math
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

from django.db import DataError, InterfaceError, OperationalError, connections
from psycopg2 import sql

from layers import db
from layers.history import as_of_sql
from layers.models import Layer
from layers.schemas import display_fields
from tiles import conf
from tiles.coords import Tile

EXTENT = 4096
BUFFER = 64
MARGIN = BUFFER / EXTENT  # the buffer as a fraction of the tile: features this close count as inside
# How close a change must come to a tile to change it: the buffer, plus half a grid unit, because
# ST_AsMVTGeom snaps to the 4096 grid before it clips, so a vertex that close outside can land on the edge.
REACH = (BUFFER + 0.5) / EXTENT
PIXELS = 256  # a tile's width on screen; "a pixel" below is 1/256 of the tile
_METRES_PER_DEGREE = 2 * math.pi * 6378137.0 / 360  # along the equator, in Web Mercator metres
_POINT_TYPES = {"Point", "MultiPoint"}
_CASTS = {"integer": "bigint", "number": "float8"}
_CAST_LIMITS = {"bigint": "9223372036854775807", "float8": "1e308"}  # beyond these a cast fails


@lru_cache(maxsize=1)
def _template() -> str:
    text = (Path(__file__).parent / "sql" / "mvt.sql").read_text()
    return "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("--"))


def tile_fields(layer: Layer) -> list[dict]:
    """The attributes a layer's tiles carry besides `id`: its display fields, with MVT value types."""
    out = []
    for spec in display_fields(layer.schema):
        if spec["name"] in ("id", "geom", "__fid"):
            continue
        out.append({"name": spec["name"], "type": spec["type"],
                    "mvt_type": "Number" if spec["type"] in _CASTS else "String"})
    return out


def layer_signature(layer: Layer) -> str:
    """A short hash of everything about a layer that shapes its tiles (not its features): a cache
    written under one signature is never read after the layer's fields or zoom range change.
    Remembered on the Layer object (catalog rows in memory are reused across requests)."""
    settings_part = (conf.full_detail_zoom(), conf.min_feature_pixels())
    memo = layer.__dict__.get("_tile_signature")
    if memo and memo[0] == settings_part:
        return memo[1]
    parts = [layer.pk, layer.slug, layer.geometry_type, layer.min_zoom, layer.max_zoom, layer.is_public,
             tile_fields(layer), *settings_part]
    signature = hashlib.blake2b(json.dumps(parts, sort_keys=True, default=str).encode(), digest_size=4).hexdigest()
    layer.__dict__["_tile_signature"] = (settings_part, signature)
    return signature


def _quoted(part: sql.Composable) -> sql.SQL:
    """A literal or identifier as fixed SQL text, its % signs doubled so they are not read as placeholders.
    Quoted against an opened connection of the read alias: psycopg2 needs one (its encoding) to quote."""
    return sql.SQL(part.as_string(_raw_connection()).replace("%", "%%"))


def _raw_connection():
    """The read alias's psycopg2 connection, opened if it was not yet (a fresh thread, after a restart)."""
    wrapper = connections[db.read_alias()]
    wrapper.ensure_connection()
    return wrapper.connection


def _columns(layer: Layer, guarded: bool) -> sql.Composable:
    """The display fields as typed attributes. Plain casts first (a sixth of a z16 tile's time cheaper);
    `guarded` turns a value of the wrong JSON type into NULL instead of an error (see render_tile)."""
    parts = []
    for spec in tile_fields(layer):
        key, alias = _quoted(sql.Literal(spec["name"])), _quoted(sql.Identifier(spec["name"]))
        cast = _CASTS.get(spec["type"])
        if cast and guarded:  # a value of the wrong type, or beyond the cast's range (1e30 as bigint), is NULL
            expr = sql.SQL("CASE WHEN jsonb_typeof(f.properties->{key}) = 'number' AND abs((f.properties->{key})::numeric) "
                           "< {limit} THEN (f.properties->{key})::numeric::{cast} END").format(
                key=key, cast=sql.SQL(cast), limit=sql.SQL(_CAST_LIMITS[cast]))
        elif cast:
            expr = sql.SQL("(f.properties->>{key})::{cast}").format(key=key, cast=sql.SQL(cast))
        else:
            expr = sql.SQL("f.properties->>{key}").format(key=key)
        parts.append(sql.SQL(", {expr} AS {alias}").format(expr=expr, alias=alias))
    return sql.Composed(parts)


def _geometry_parts(layer: Layer, detailed: bool) -> tuple[sql.Composable, sql.Composable]:
    """(geometry expression, size filter) for full detail or for a generalised zoom."""
    if detailed or layer.geometry_type in _POINT_TYPES:
        return sql.SQL("ST_Transform(f.geom, 3857)"), sql.SQL("")
    # Below full detail: drop vertices closer than half a pixel, then snap (ST_AsMVTGeom) to the grid.
    # Simplified in the stored degrees first, so only the vertices that stay are transformed (a 3,000-
    # vertex ward at z12: 4.3 ms instead of 30 ms of database time, the same tile to a few bytes).
    geom = sql.SQL("ST_Transform(ST_Simplify(ST_RemoveRepeatedPoints(f.geom, %(tolerance_deg)s), "
                   "%(tolerance_deg)s, true), 3857)")
    # A feature whose box fits in one pixel both ways is left out; the box comes from the stored
    # geometry's cached bbox (no detoasting of coordinates, no transform).
    size = sql.SQL(
        "AND (ST_XMax(f.geom::box2d) - ST_XMin(f.geom::box2d) >= %(pixel_lon)s "
        "OR ST_YMax(f.geom::box2d) - ST_YMin(f.geom::box2d) >= %(pixel_lat)s"
        "{points})"
    ).format(points=sql.SQL("" if layer.geometry_type not in ("", "Geometry") else " OR ST_Dimension(f.geom) = 0"))
    return geom, size


def is_detailed(layer: Layer, z: int) -> bool:
    """True at zooms where the layer's tiles keep every vertex and every feature."""
    return z >= min(conf.full_detail_zoom(), layer.max_zoom)


_SQL_CACHE: dict[tuple, str] = {}
# Layers (id, signature) seen holding a value that does not cast (a field retyped after data was loaded):
# their tiles use the guarded casts from then on, in this process.
_GUARDED: set[tuple[int, str]] = set()


_CURRENT_SOURCE = ("layers_feature f WHERE f.layer_id = {layer_id}::bigint "
                   "AND f.geom && ST_MakeEnvelope(%(west)s, %(south)s, %(east)s, %(north)s, 4326)")


def _source(layer: Layer, past: bool) -> sql.Composable:
    """The layer's features in the tile's filter box: now, or (past) as they were at %(at)s."""
    layer_id = sql.Literal(int(layer.pk))
    if not past:
        return sql.SQL(_CURRENT_SOURCE).format(layer_id=layer_id)
    # The history query names its layer %(layer)s: here each sub-query gets its own layer as a literal.
    history = as_of_sql(bbox=True).replace("%(layer)s", "{layer_id}")
    return sql.SQL("(SELECT feature_id AS id, geom, properties FROM (" + history + ") h) f WHERE true").format(
        layer_id=layer_id)


def _layer_sql(layer: Layer, detailed: bool, past: bool = False) -> str:
    """The scalar sub-query of one layer as SQL text with %(…)s placeholders (cached per layer shape)."""
    # Inside a transaction a failed statement would abort it (a savepoint per tile costs two more round
    # trips), so there the guarded casts are used from the start.
    guarded = connections[db.read_alias()].in_atomic_block or (layer.pk, layer_signature(layer)) in _GUARDED
    key = (layer.pk, layer_signature(layer), detailed, guarded, past)
    text = _SQL_CACHE.get(key)
    if text is None:
        geom, size_filter = _geometry_parts(layer, detailed)
        composed = sql.SQL(_template()).format(
            name=_quoted(sql.Literal(layer.slug)), source=_source(layer, past),
            columns=_columns(layer, guarded), geom=geom, size_filter=size_filter,
        )
        text = composed.as_string(_raw_connection())
        if len(_SQL_CACHE) > 512:
            _SQL_CACHE.clear()
        _SQL_CACHE[key] = text
    return text


def tile_params(tile: Tile) -> dict:
    """The query's parameters: the tile's box in 3857, its buffered box in 4326, the pixel sizes."""
    xmin, ymin, xmax, ymax = tile.bounds_3857()
    west, south, east, north = tile.bounds_4326(margin=MARGIN)
    pixel = tile.size / PIXELS
    smallest = pixel * conf.min_feature_pixels()
    # Mercator stretches north-south by 1/cos(lat): a pixel spans fewer degrees of latitude than of longitude.
    lat = math.radians((south + north) / 2)
    # The simplification tolerance in degrees: half a pixel measured the short way (latitude, at the
    # tile's edge farthest from the equator), so no vertex moves more than half a pixel either way.
    stretch = math.cos(math.radians(max(abs(south), abs(north))))
    return {
        "xmin": xmin, "ymin": ymin, "xmax": xmax, "ymax": ymax,
        "west": west, "south": south, "east": east, "north": north,
        "tolerance_deg": pixel / 2 * stretch / _METRES_PER_DEGREE,
        "pixel_lon": smallest / _METRES_PER_DEGREE, "pixel_lat": smallest * math.cos(lat) / _METRES_PER_DEGREE,
    }


# JIT and parallel workers are off on every connection (settings: OPTIONS): the planner prices ST_AsMVTGeom
# high, so a low-zoom tile compiled for seconds, and a z16 tile started workers that cost 6× its own work. The tile query used to repeat it with SET LOCAL; a second
# statement in every tile's query string is work pgbench's reference never did, so it is gone.
SESSION = ""


def tile_query(layers: Sequence[Layer], tile: Tile, at: dt.datetime | None = None) -> tuple[str, dict]:
    """(SQL, parameters) of one tile holding one MVT layer per catalog layer, in the order given;
    with `at`, the layers as they were then (from their history)."""
    parts = [_layer_sql(layer, is_detailed(layer, tile.z), past=at is not None) for layer in layers]
    params = tile_params(tile)
    if at is not None:
        params["at"] = at
    return "SELECT " + "\n || ".join(parts), params


def render_tile(layers: Sequence[Layer], tile: Tile, at: dt.datetime | None = None) -> bytes:
    """The MVT bytes of one tile (b"" when no feature of any layer falls in it). A value that does not
    cast to its field's type, or is out of its range (DataError), switches the layers to guarded casts
    and renders again."""
    if not layers:
        return b""
    try:
        return _fetch_tile(layers, tile, at)
    except DataError:
        _GUARDED.update((layer.pk, layer_signature(layer)) for layer in layers)
        return _fetch_tile(layers, tile, at)


def _fetch_tile(layers: Sequence[Layer], tile: Tile, at: dt.datetime | None) -> bytes:
    query, params = tile_query(layers, tile, at)
    # A present tile goes into the shared cache: it is read where every commit made before it is visible.
    alias = db.fresh_read_alias() if at is None else db.read_alias()
    connection = connections[alias]
    if connection.in_atomic_block or connection.connection is None:
        return _execute(query, params, alias)
    # The tile query is its own health check: Django's (CONN_HEALTH_CHECKS) is one more round trip per
    # request, a tenth of a small cold tile's time. A connection found dead (database restarted) is
    # replaced and the tile asked once more, as the health check would have done.
    connection.health_check_done = True
    try:
        return _execute(query, params, alias)
    except (OperationalError, InterfaceError):
        if connection.connection is not None and not connection.connection.closed:
            raise  # a live connection's error (a time-out): not retried
        connection.close()
    return _execute(query, params, alias)


def _execute(query: str, params: dict, alias: str) -> bytes:
    with connections[alias].cursor() as cursor:
        cursor.execute(query, params)
        row = cursor.fetchone()
    return bytes(row[0]) if row and row[0] else b""
