"""Inside Django on a benchmark database: the cost of history (ingest, as_of, one edit); prints JSON."""
import json
import os
import shutil
import statistics
import sys
import time
from pathlib import Path

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gisportal.settings")
django.setup()

from django.contrib.auth.models import User  # noqa: E402
from django.db import connection  # noqa: E402
from django.utils import timezone  # noqa: E402

from bench.report import SMOKE  # noqa: E402
from layers.editing import feature_update  # noqa: E402
from layers.history import as_of_sql  # noqa: E402
from layers.models import Feature, Layer  # noqa: E402
from layers.schemas import PARCELS_SCHEMA  # noqa: E402

HISTORY_TRIGGERS = ("feature_history_insert", "feature_history_update", "feature_history_delete")
# 2% of the table's pages finds 100 parcels in a big city; a tiny smoke city may have none in it.
SAMPLE_CLAUSE = "" if SMOKE else "TABLESAMPLE SYSTEM (2)"


def _history(enabled: bool) -> None:
    with connection.cursor() as cursor:
        for trigger in HISTORY_TRIGGERS:
            cursor.execute(f"ALTER TABLE layers_feature {'ENABLE' if enabled else 'DISABLE'} TRIGGER {trigger}")


def _parcel_file(parcels: int) -> Path:
    from demo.city import generate_city
    from demo.files import write_files

    out = Path("var/bench/history") / f"n{parcels}"
    if not (out / "parcels.gpkg").exists():
        partial = out.with_name(out.name + ".partial")  # renamed when whole: a crash leaves no half file cached
        shutil.rmtree(partial, ignore_errors=True)
        write_files(generate_city(parcels=parcels, seed=99), partial)
        shutil.rmtree(out, ignore_errors=True)
        partial.rename(out)
    return out / "parcels.gpkg"


def ingest(parcels: int) -> dict:
    """Ingest of the same file into an empty layer, history off and on, alternating (best of two each).

    A dry run first warms the file cache, so neither mode pays for the first read.
    """
    from ingest.services import ingest_file

    path = _parcel_file(parcels)
    layer, _ = Layer.objects.get_or_create(slug="bench-history", defaults={
        "title_vi": "bench", "title_en": "bench", "category": "land", "geometry_type": "Polygon", "schema": PARCELS_SCHEMA})
    times: dict[str, list[float]] = {"off": [], "on": []}
    try:
        ingest_file(path=path, layer=layer, mode="replace", dry_run=True)
        for label in ("off", "on", "on", "off"):
            _history(label == "on")
            Feature.objects.filter(layer=layer).delete()
            started = time.perf_counter()
            ingest_file(path=path, layer=layer, mode="replace")
            times[label].append(time.perf_counter() - started)
            layer_rows = Feature.objects.filter(layer=layer).count()
            if not layer_rows:
                raise SystemExit("the ingest left the bench layer empty")
    finally:
        _history(True)
        Feature.objects.filter(layer=layer).delete()
    return {"off": min(times["off"]), "on": min(times["on"]), "features": layer_rows}


def _median_ms(fn, items) -> tuple[float, float]:
    times = []
    for item in items:
        started = time.perf_counter()
        fn(item)
        times.append(time.perf_counter() - started)
    times.sort()
    return statistics.median(times) * 1000, times[int(0.95 * (len(times) - 1))] * 1000


def as_of() -> dict:
    """Current layer vs the layer as of now (through history), same z15-sized boxes."""
    layer = Layer.objects.get(slug="parcels")
    with connection.cursor() as cursor:  # some depth: one in ten parcels changed once
        cursor.execute("UPDATE layers_feature SET properties = properties || '{\"bench\": 1}' "
                       "WHERE layer_id = %s AND id %% 10 = 0 AND NOT properties ? 'bench'", [layer.pk])
        cursor.execute(f"SELECT ST_X(c), ST_Y(c) FROM (SELECT ST_Centroid(geom) c FROM layers_feature {SAMPLE_CLAUSE} "
                       "WHERE layer_id = %s LIMIT 100) s", [layer.pk])
        centres = cursor.fetchall()
    if not centres:
        raise SystemExit("no parcel sampled: the benchmark database has no parcels")
    half = 0.011 / 2  # a z15 tile is about 0.011° wide
    boxes = [(x - half, y - half, x + half, y + half) for x, y in centres]
    now = timezone.now()

    def current(box):
        with connection.cursor() as cursor:
            cursor.execute("SELECT id, ST_AsBinary(geom), properties FROM layers_feature WHERE layer_id = %s "
                           "AND geom && ST_MakeEnvelope(%s, %s, %s, %s, 4326)", [layer.pk, *box])
            cursor.fetchall()

    def past(box):
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT feature_id, ST_AsBinary(geom), properties FROM ({as_of_sql(bbox=True)}) s",
                           {"layer": layer.pk, "at": now, "west": box[0], "south": box[1], "east": box[2], "north": box[3]})
            cursor.fetchall()

    for fn in (current, past):  # warm the cache
        fn(boxes[0])
    cur, _ = _median_ms(current, boxes)
    old, _ = _median_ms(past, boxes)

    # The same places as z16 vector tiles (rendered, not from the tile cache), now and as of now.
    from tiles.coords import tiles_in
    from tiles.mvt import render_tile

    tiles = [next(tiles_in((x, y, x, y), 16)) for x, y in centres]
    render_tile([layer], tiles[0]), render_tile([layer], tiles[0], now)
    tile_cur, _ = _median_ms(lambda tile: render_tile([layer], tile), tiles)
    tile_old, _ = _median_ms(lambda tile: render_tile([layer], tile, now), tiles)
    return {"current_ms": cur, "as_of_ms": old, "boxes": len(boxes), "tile_current_ms": tile_cur, "tile_as_of_ms": tile_old}


def edit() -> dict:
    """Saving one edited parcel through the service (validation, history, tile invalidation)."""
    user, _ = User.objects.get_or_create(username="bench-admin", defaults={"is_superuser": True})
    layer = Layer.objects.get(slug="parcels")
    ids = list(Feature.objects.filter(layer=layer).order_by("?").values_list("id", flat=True)[:60])

    def save(fid):
        feature = Feature.objects.get(pk=fid)
        feature_update(layer=layer, feature_id=fid, expected_version=feature.version, user=user,
                       properties={**feature.properties, "address": f"bench {time.time()}"}, comment="bench")

    save(ids[0])
    median, p95 = _median_ms(save, ids[1:])
    return {"median_ms": median, "p95_ms": p95, "n": len(ids) - 1}


if __name__ == "__main__":
    task = sys.argv[1]
    result = {"ingest": lambda: ingest(int(sys.argv[2])), "as_of": as_of, "edit": edit}[task]()
    json.dump(result, sys.stdout, default=str)
