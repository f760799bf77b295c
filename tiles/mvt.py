"""Vector tiles straight from PostGIS (ST_AsMVT), with SQL in sql/mvt.sql."""
from functools import lru_cache
from pathlib import Path

from django.db import connection
from psycopg2 import sql

from layers.errors import InvalidTile
from layers.models import Layer
from layers.schemas import display_fields

EXTENT = 4096
BUFFER = 64
MAX_ZOOM = 24


@lru_cache(maxsize=1)
def _template() -> str:
    return (Path(__file__).parent / "sql" / "mvt.sql").read_text()


def check_tile(z: int, x: int, y: int) -> None:
    """InvalidTile (400) for numbers that name no tile."""
    if not 0 <= z <= MAX_ZOOM:
        raise InvalidTile(f"Mức thu phóng z phải từ 0 đến {MAX_ZOOM}.", f"Zoom z must be between 0 and {MAX_ZOOM}.", parameter="z")
    limit = 1 << z
    if not (0 <= x < limit and 0 <= y < limit):
        raise InvalidTile(
            f"Ô lưới không tồn tại: x và y phải nhỏ hơn {limit} ở mức {z}.",
            f"No such tile: x and y must be below {limit} at zoom {z}.",
            parameter="x/y",
        )


_CASTS = {"integer": "::bigint", "number": "::float8"}


def _columns(layer: Layer) -> sql.Composable:
    """The layer's display fields as typed tile attributes (identifiers quoted from the catalog)."""
    parts = []
    for spec in display_fields(layer.schema):
        cast = _CASTS.get(spec["type"], "")
        parts.append(
            sql.SQL(", (f.properties->>{key}){cast} AS {alias}").format(
                key=sql.Literal(spec["name"]), cast=sql.SQL(cast), alias=sql.Identifier(spec["name"])
            )
        )
    return sql.Composed(parts)


def render_tile(layer: Layer, z: int, x: int, y: int) -> bytes:
    """The layer's MVT bytes for one tile (empty bytes when no feature falls in it)."""
    query = sql.SQL(_template()).format(columns=_columns(layer))
    with connection.cursor() as cursor:
        cursor.execute(
            query,
            {"z": z, "x": x, "y": y, "layer_id": layer.pk, "name": layer.slug,
             "extent": EXTENT, "buffer": BUFFER, "margin": BUFFER / EXTENT},
        )
        row = cursor.fetchone()
    return bytes(row[0]) if row and row[0] else b""
