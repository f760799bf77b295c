"""bench/cluster's set-up, run on its benchmark database: two planners with an edit grant on the parcels (as
bench/soak_setup makes them), and the plan as JSON: tiles at z17 over the city in a fixed random order (cold
slices and the cached set are disjoint), OGC boxes, parcels each edit thread owns, and one parcel whose tile shows
an edit (its land use is the tile's style attribute).

    python -m bench.cluster_setup
"""
import json
import math
import random

import django

django.setup()

from layers.models import Feature, Layer  # noqa: E402

from bench.soak_setup import PASSWORD, PLANNERS, _planners  # noqa: E402

SEED = 14
ZOOM = 17


def _tile(lon: float, lat: float, z: int) -> tuple[int, int]:
    n = 2 ** z
    return int((lon + 180) / 360 * n), int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)


def plan() -> dict:
    rng = random.Random(SEED)
    parcels = Layer.objects.get(slug="parcels")
    _planners(parcels)
    west, south, east, north = parcels.extent.extent
    x0, y0 = _tile(west, north, ZOOM)
    x1, y1 = _tile(east, south, ZOOM)
    tiles = [f"/tiles/parcels/{ZOOM}/{x}/{y}.pbf" for x in range(x0, x1 + 1) for y in range(y0, y1 + 1)]
    rng.shuffle(tiles)
    boxes = []
    for _ in range(2000):
        lon, lat = rng.uniform(west, east - 0.005), rng.uniform(south, north - 0.005)
        boxes.append(f"{lon:.5f},{lat:.5f},{lon + 0.005:.5f},{lat + 0.005:.5f}")
    ids = list(Feature.objects.filter(layer=parcels).order_by("id").values_list("id", flat=True)[:4000])
    chosen = rng.sample(ids, 81)
    shown = Feature.objects.get(pk=chosen[0])
    centre = shown.geom.point_on_surface
    x, y = _tile(centre.x, centre.y, 17)
    return {"tiles": tiles, "ogc_boxes": boxes, "edit_ids": chosen[1:], "shown_id": shown.pk,
            "shown_tile": f"/tiles/parcels/17/{x}/{y}.pbf", "planners": list(PLANNERS), "password": PASSWORD,
            "parcels": Feature.objects.filter(layer=parcels).count()}


if __name__ == "__main__":
    print(json.dumps(plan(), ensure_ascii=False))
