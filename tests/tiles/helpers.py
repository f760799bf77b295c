"""Decoding tiles in tests (mapbox-vector-tile) and the oracle for which tiles an area touches."""
import gzip

import mapbox_vector_tile
from django.db import connection


def decode(response) -> dict:
    """The MVT of a response as {layer name: {"features": [...]}} (gunzipped when needed)."""
    body = response.content
    if response.get("Content-Encoding") == "gzip":
        body = gzip.decompress(body)
    return mapbox_vector_tile.decode(body)


def touched_by_postgis(box, z, x, y, margin=(64 + 0.5) / 4096) -> bool:
    """PostGIS's own exact answer to 'does this WGS 84 box reach tile z/x/y (grown by its buffer and
    half a grid unit)?' (ST_Intersects, not &&: && compares float4-rounded boxes)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT ST_Intersects(ST_Transform(ST_MakeEnvelope(%s, %s, %s, %s, 4326), 3857), "
            "ST_TileEnvelope(%s, %s, %s, margin => %s))",
            [*box, z, x, y, margin],
        )
        return cursor.fetchone()[0]
