"""Data for bench/tiles: the 300,000-parcel city, a second large layer in the same area, a raster.

Runs inside Django (bench/tiles.py sets it up on the benchmark's own database).
"""
import math
import subprocess
import sys
import time
from pathlib import Path

from django.db import connection

ROOT = Path(__file__).resolve().parent.parent
CITY_BOX = (106.70, 10.75, 106.86, 10.90)  # Thu Duc, roughly: where the fallback generator puts parcels


def _no_history(cursor) -> None:
    """Benchmark rows skip the history triggers (this session only: replica role leaves others' triggers alone)."""
    cursor.execute("SET session_replication_role = replica")


def _history_again(cursor) -> None:
    cursor.execute("SET session_replication_role = DEFAULT")


def say(text: str) -> None:
    print(f"  {text}", flush=True)


def parcel_count() -> int:
    from layers.models import Feature, Layer

    layer = Layer.objects.filter(slug="parcels").first()
    return Feature.objects.filter(layer=layer).count() if layer else 0


def _demo_city(parcels: int) -> bool:
    """The lead's generator (manage.py make_demo_city), if it works here; False if it is missing or fails."""
    env_note = "make_demo_city"
    started = time.perf_counter()
    result = subprocess.run([sys.executable, "manage.py", "make_demo_city", "--parcels", str(parcels)],
                            cwd=ROOT, capture_output=True, text=True)
    if result.returncode != 0:
        tail = (result.stderr or result.stdout).strip().splitlines()[-1:] or ["?"]
        say(f"{env_note} failed ({tail[0][:160]}); generating parcels in SQL instead")
        return False
    say(f"{env_note} --parcels {parcels}: {time.perf_counter() - started:.0f} s")
    return parcel_count() >= parcels * 0.95


def _sql_parcels(parcels: int) -> None:
    """Fallback: a grid of slightly irregular parcels (5-vertex polygons) over the city, with attributes."""
    from layers.models import Layer
    from layers.schemas import PARCELS_SCHEMA
    from layers.services import layer_create, layer_refresh_stats

    layer = Layer.objects.filter(slug="parcels").first() or layer_create(
        slug="parcels", title_vi="Thửa đất", title_en="Land parcels", category="land",
        geometry_type="Polygon", schema=PARCELS_SCHEMA, min_zoom=15, max_zoom=22)
    west, south, east, north = CITY_BOX
    side = math.ceil(math.sqrt(parcels))
    dx, dy = (east - west) / side, (north - south) / side
    started = time.perf_counter()
    with connection.cursor() as cursor:
        _no_history(cursor)
        cursor.execute("DELETE FROM layers_feature WHERE layer_id = %s", [layer.pk])
        cursor.execute(
            """
            INSERT INTO layers_feature (layer_id, geom, properties, version, updated_at)
            SELECT %(layer)s,
                   ST_SetSRID(ST_MakePolygon(ST_MakeLine(ARRAY[
                       ST_MakePoint(x0, y0), ST_MakePoint(x0 + w, y0 + j1), ST_MakePoint(x0 + w + j2, y0 + h),
                       ST_MakePoint(x0 + j1, y0 + h), ST_MakePoint(x0, y0)])), 4326),
                   jsonb_build_object('ward_code', lpad((26700 + (i %% 34) * 3)::text, 5, '0'),
                                      'map_sheet', 1 + i / 4000, 'parcel_no', 1 + i %% 4000,
                                      'land_use', (ARRAY['ODT','ODT','ODT','CLN','TMD','DGT','LUK','SKC'])[1 + i %% 8],
                                      'legal_area', round((w * h * 1.2e10)::numeric, 1),
                                      'address', (i %% 300) || ' Đường số ' || (i %% 97)),
                   1, now()
            FROM (
                SELECT i,
                       %(west)s + (i %% %(side)s) * %(dx)s + %(dx)s * 0.05 AS x0,
                       %(south)s + (i / %(side)s) * %(dy)s + %(dy)s * 0.05 AS y0,
                       %(dx)s * (0.75 + 0.15 * ((i * 7919) %% 13) / 13.0) AS w,
                       %(dy)s * (0.75 + 0.15 * ((i * 104729) %% 11) / 11.0) AS h,
                       %(dx)s * 0.04 * (((i * 31) %% 5) - 2) / 2.0 AS j1,
                       %(dx)s * 0.03 * (((i * 17) %% 3) - 1) AS j2
                FROM generate_series(0::bigint, %(n)s - 1) AS i
            ) AS cells
            """,
            {"layer": layer.pk, "west": west, "south": south, "side": side, "dx": dx, "dy": dy, "n": parcels},
        )
        _history_again(cursor)
    layer_refresh_stats(layer=layer)
    say(f"generated {parcels} parcels in SQL in {time.perf_counter() - started:.0f} s")


def ensure_parcels(parcels: int) -> None:
    """At least `parcels` parcels in the benchmark database (the demo city if possible)."""
    have = parcel_count()
    if have >= parcels * 0.95:
        say(f"{have} parcels already in the benchmark database")
        return
    if not _demo_city(parcels):
        _sql_parcels(parcels)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE layers_feature")


def add_buildings(count: int, box: tuple[float, float, float, float]) -> int:
    """A second big layer ("bench-buildings"): `count` small footprints over the same area. Returns its id."""
    from layers.services import layer_create, layer_refresh_stats

    remove_buildings()
    layer = layer_create(slug="bench-buildings", title_vi="Nhà (thử tải)", title_en="Buildings (benchmark)",
                         category="other", geometry_type="Polygon", min_zoom=12, max_zoom=22)
    west, south, east, north = box
    side = math.ceil(math.sqrt(count))
    dx, dy = (east - west) / side, (north - south) / side
    with connection.cursor() as cursor:
        _no_history(cursor)
        cursor.execute(
            """
            INSERT INTO layers_feature (layer_id, geom, properties, version, updated_at)
            SELECT %(layer)s, ST_MakeEnvelope(x, y, x + %(dx)s * 0.5, y + %(dy)s * 0.5, 4326),
                   jsonb_build_object('floors', 1 + i %% 9), 1, now()
            FROM (SELECT i, %(west)s + (i %% %(side)s) * %(dx)s + %(dx)s * 0.3 AS x,
                         %(south)s + (i / %(side)s) * %(dy)s + %(dy)s * 0.3 AS y
                  FROM generate_series(0::bigint, %(n)s - 1) AS i) AS cells
            """,
            {"layer": layer.pk, "west": west, "south": south, "side": side, "dx": dx, "dy": dy, "n": count},
        )
        _history_again(cursor)
        cursor.execute("VACUUM ANALYZE layers_feature")
    layer_refresh_stats(layer=layer)
    return layer.pk


def remove_buildings() -> None:
    from layers.models import Layer

    layer = Layer.objects.filter(slug="bench-buildings").first()
    if layer is None:
        return
    with connection.cursor() as cursor:
        _no_history(cursor)
        cursor.execute("DELETE FROM layers_feature WHERE layer_id = %s", [layer.pk])
        _history_again(cursor)
    layer.delete()
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE layers_feature")

