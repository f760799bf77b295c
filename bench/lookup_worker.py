"""Inside Django on one benchmark database: times the planning lookup and click-to-see; prints JSON."""
import json
import os
import re
import statistics
import sys
import time

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gisportal.settings")
django.setup()

from django.contrib.auth.models import AnonymousUser  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402

from bench.report import SMOKE, smoke_or  # noqa: E402
from layers.lookup import features_at, parcel_by_key, parcel_report  # noqa: E402

SAMPLES = smoke_or(300, 30)
# A 5% sample of the table's pages is plenty at 100,000 parcels; a tiny smoke database may have no parcel in it.
SAMPLE_CLAUSE = "" if SMOKE else "TABLESAMPLE SYSTEM (5)"
CLICK_LAYERS = ["parcels", "planning-zones", "road-reserves", "admin-units"]


def _keys() -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT properties->>'ward_code', (properties->>'map_sheet')::int, (properties->>'parcel_no')::int, "
            f"ST_X(ST_PointOnSurface(geom)), ST_Y(ST_PointOnSurface(geom)) FROM layers_feature f {SAMPLE_CLAUSE} "
            "JOIN layers_layer l ON l.id = f.layer_id WHERE l.slug = 'parcels' LIMIT %s", [SAMPLES])
        keys = cursor.fetchall()
    if not keys:
        raise SystemExit("no parcel sampled: the benchmark database has no 'parcels' layer")
    return keys


def _ms(samples: list[float]) -> dict:
    samples = sorted(samples)
    return {"median_ms": statistics.median(samples) * 1000, "p95_ms": samples[int(0.95 * (len(samples) - 1))] * 1000,
            "n": len(samples)}


def _first_view_bytes() -> int:
    """The map page and every script and stylesheet it loads, as a first visit transfers them (before tiles)."""
    client = Client(HTTP_HOST="localhost")
    page = client.get("/")
    total = len(page.content)
    for url in re.findall(r'(?:src|href)="(/static/[^"]+)"', page.content.decode()):
        response = client.get(url)
        body = b"".join(response.streaming_content) if response.streaming else response.content
        total += len(body)
    return total


def main() -> None:
    user = AnonymousUser()
    keys = _keys()
    parcel_report(user, parcel_by_key(user, *keys[0][:3]))  # warm caches (wards, raster handles)
    lookup, click, page = [], [], []
    client = Client(HTTP_HOST="localhost")
    for ward, sheet, number, lon, lat in keys:
        started = time.perf_counter()
        response = client.get(f"/thua-dat/{ward}/{sheet}/{number}/", HTTP_ACCEPT="text/html")
        assert response.status_code == 200, response.status_code
        page.append(time.perf_counter() - started)
        started = time.perf_counter()
        parcel_report(user, parcel_by_key(user, ward, sheet, number))
        lookup.append(time.perf_counter() - started)
        started = time.perf_counter()
        features_at(user, lon=lon, lat=lat, zoom=17, slugs=CLICK_LAYERS)
        click.append(time.perf_counter() - started)
    json.dump({"lookup": _ms(lookup), "click": _ms(click), "page": _ms(page), "first_view_bytes": _first_view_bytes()},
              sys.stdout)


if __name__ == "__main__":
    main()
