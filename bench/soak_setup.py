"""bench/soak's set-up, run on the soak database: two planners with an edit grant on the parcels, and the
plan of requests (tiles to keep cached, tiles that may be cold, OGC boxes, points, search words,
downloads, the parcels the planners edit). Prints the plan as JSON.

    python -m bench.soak_setup
"""
import json
import math
import random

import django

django.setup()

from django.contrib.auth.models import User  # noqa: E402

from layers.models import Feature, Layer, LayerGrant  # noqa: E402
from layers.services import grant_create  # noqa: E402

PLANNERS = ("soak-planner-1", "soak-planner-2")
PASSWORD = "soak-only-password-7f3"  # a bench database's own users, never the portal's
EDITED = 6  # parcels both planners edit: few, so their saves cross (409s expected)
SEED = 11


def _tile(lon: float, lat: float, z: int) -> tuple[int, int]:
    n = 2 ** z
    y = (1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n
    return int((lon + 180) / 360 * n), int(y)


def _tile_box(z: int, x: int, y: int) -> tuple[float, float, float, float]:
    n = 2 ** z

    def lat(t: float) -> float:
        return math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * t / n))))

    return x / n * 360 - 180, lat(y + 1), (x + 1) / n * 360 - 180, lat(y)


def _overlaps(a, b, margin: float = 0.002) -> bool:
    return not (a[2] + margin < b[0] or b[2] + margin < a[0] or a[3] + margin < b[1] or b[3] + margin < a[1])


def _planners(parcels: Layer) -> None:
    admin = User.objects.filter(is_superuser=True).first() or User.objects.create_superuser("soak-admin", password=PASSWORD)
    for name in PLANNERS:
        user, _ = User.objects.get_or_create(username=name)
        user.set_password(PASSWORD)
        user.save()
        if not LayerGrant.objects.filter(layer=parcels, user=user, can_edit=True).exists():
            grant_create(layer=parcels, by=admin, user=user, can_edit=True)


def _tiles(box, edited_boxes, rng: random.Random) -> tuple[list[str], list[str]]:
    """(tiles kept cached: z14–z16 clear of the edited parcels, tiles anywhere in the city at z12–z17)."""
    west, south, east, north = box
    warm, cold = [], []
    for z in (14, 15, 16):
        x0, y0 = _tile(west, north, z)
        x1, y1 = _tile(east, south, z)
        all_tiles = [(x, y) for x in range(x0, x1 + 1) for y in range(y0, y1 + 1)]
        rng.shuffle(all_tiles)
        clear = [t for t in all_tiles if not any(_overlaps(_tile_box(z, *t), e) for e in edited_boxes)]
        for x, y in clear[:150]:
            warm += [f"/tiles/parcels/{z}/{x}/{y}.pbf", f"/tiles/planning-zones/{z}/{x}/{y}.pbf"]
    for _ in range(3000):
        z = rng.choice((12, 13, 14, 15, 16, 17))
        x, y = _tile(rng.uniform(west, east), rng.uniform(south, north), z)
        cold.append(f"/tiles/{rng.choice(('parcels', 'planning-zones', 'parcels,planning-zones'))}/{z}/{x}/{y}.pbf")
    return warm, cold


def plan() -> dict:
    rng = random.Random(SEED)
    parcels = Layer.objects.get(slug="parcels")
    _planners(parcels)
    west, south, east, north = parcels.extent.extent
    ids = list(Feature.objects.filter(layer=parcels).order_by("id").values_list("id", flat=True)[:5000])
    edited = sorted(rng.sample(ids, EDITED))
    edited_boxes = [f.geom.extent for f in Feature.objects.filter(pk__in=edited)]
    warm, cold = _tiles((west, south, east, north), edited_boxes, rng)
    points = [(round(rng.uniform(west, east), 6), round(rng.uniform(south, north), 6)) for _ in range(500)]
    boxes = []
    for _ in range(300):
        lon, lat = rng.uniform(west, east - 0.01), rng.uniform(south, north - 0.01)
        boxes.append(f"{lon:.5f},{lat:.5f},{lon + 0.01:.5f},{lat + 0.01:.5f}")
    words = [str(v) for v in Feature.objects.filter(layer=parcels, pk__in=rng.sample(ids, 50))
             .values_list("properties__address", flat=True) if v]
    words = [" ".join(w.split()[1:4]) for w in words] + ["Linh Chiểu", "Thủ Đức", "ODT", "Võ Văn Ngân", "zzqxv"]
    small = [slug for slug in ("planning-zones", "roads", "water", "admin-units", "road-reserves")
             if Layer.objects.filter(slug=slug, is_public=True).exists()]
    downloads = [f"/data/{slug}.{fmt}" for slug in small for fmt in ("geojson", "csv", "gpkg")]
    downloads += [f"/data/parcels.geojson?bbox={b}" for b in boxes[:20]]
    return {"warm_tiles": warm, "cold_tiles": cold, "points": points, "ogc_boxes": boxes, "search": words,
            "downloads": downloads, "edited": edited, "planners": list(PLANNERS), "password": PASSWORD,
            "parcels": Feature.objects.filter(layer=parcels).count()}


if __name__ == "__main__":
    print(json.dumps(plan(), ensure_ascii=False))
