"""Nothing a public GET writes to PostgreSQL (issue 14): rate counts, token use and page cursors are in Redis.

The proof: the requests run in a transaction set READ ONLY, where PostgreSQL refuses every INSERT, UPDATE,
DELETE, COPY FROM, CREATE… (the test client re-raises the error); every statement the default connection
sends is also read, so a write swallowed by some fail-open handler is still seen; and the transaction's own
tuple counters (pg_stat_xact_user_tables, current and synchronous, unlike pg_stat_database) must not move.
"""
import math
import re
from contextlib import contextmanager

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from opendata.services import api_token_create

pytestmark = pytest.mark.django_db

WRITE = re.compile(r"^\s*(INSERT|UPDATE|DELETE|MERGE|TRUNCATE|CREATE|DROP|ALTER|COPY\s+\S+\s+FROM|LOCK|"
                   r"SELECT\s[^;]*\bFOR\s+(NO\s+KEY\s+)?UPDATE)\b", re.IGNORECASE)
GEOJSON = {"HTTP_ACCEPT": "application/geo+json"}


def _tile(lon: float, lat: float, z: int) -> tuple[int, int]:
    n = 2 ** z
    y = (1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n
    return int((lon + 180) / 360 * n), int(y)


def _tuples_written() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT coalesce(sum(n_tup_ins + n_tup_upd + n_tup_del), 0) FROM pg_stat_xact_user_tables")
        return int(cursor.fetchone()[0])


@contextmanager
def _read_only():
    """The test's transaction READ ONLY inside a savepoint, rolled back after (the test's teardown writes)."""
    savepoint = transaction.savepoint()
    with connection.cursor() as cursor:
        cursor.execute("SET TRANSACTION READ ONLY")
    try:
        with CaptureQueriesContext(connection) as captured:
            yield captured
    finally:
        transaction.savepoint_rollback(savepoint)


def _next(doc: dict) -> str:
    return next(link["href"] for link in doc["links"] if link["rel"] == "next")


def _public_gets(client, token: str) -> list[tuple[str, int]]:
    """A resident's and a harvester's reads: (url, status) of each."""
    x, y = _tile(106.7305, 10.8005, 16)
    items = "/ogc/collections/parcels/items"
    urls = ["/", "/ogc/", "/ogc/collections", "/ogc/collections/parcels", f"{items}?limit=2",
            f"{items}?limit=2&offset=2", f"{items}?limit=2&offset=4",  # a plain offset walker: cursors remembered
            f"{items}?limit=2&f=html", "/data/", "/data/parcels/", "/data/parcels.geojson", "/data/parcels.csv",
            f"/tiles/parcels/16/{x}/{y}.pbf", f"/tiles/parcels/16/{x}/{y}.pbf", "/tiles/parcels.json",
            "/api/search?q=Th%E1%BA%A3o", "/api/at?lon=106.7305&lat=10.8005&layers=parcels"]
    seen = [(url, client.get(url, **GEOJSON).status_code) for url in urls]
    first = client.get(f"{items}?limit=2", **GEOJSON).json()
    seen.append(("next link", client.get(_next(first), **GEOJSON).status_code))  # a signed continuation
    seen.append(("token", client.get(f"{items}?limit=2", HTTP_AUTHORIZATION=f"Bearer {token}").status_code))
    return seen


def test_public_gets_write_nothing_to_postgresql(client, parcels, django_user_model):
    _, token = api_token_create(user=django_user_model.objects.create_user("harvester"), name="QGIS")
    client.get("/data/parcels.csv")  # the export file is built once (a file on disk, not a row)
    before = _tuples_written()
    with _read_only() as captured:
        seen = _public_gets(client, token)
        after = _tuples_written()
    assert all(status == 200 for _, status in seen), seen
    writes = [query["sql"][:120] for query in captured.captured_queries if WRITE.match(query["sql"])]
    assert writes == []
    assert len(captured.captured_queries) > 20  # the requests really read the database here
    assert after == before


def test_a_signed_in_user_reading_the_map_writes_no_session(client, parcels, django_user_model):
    client.force_login(django_user_model.objects.create_user("planner"))
    before = _tuples_written()
    with _read_only() as captured:
        assert client.get("/").status_code == 200
        assert client.get("/ogc/collections/parcels/items?limit=2", **GEOJSON).status_code == 200
        after = _tuples_written()
    assert [q["sql"] for q in captured.captured_queries if WRITE.match(q["sql"])] == []
    assert after == before


def _city_gets(client, demo_city) -> list[tuple[str, int]]:
    """The residents' pages on the demo city, raster and OGC tiles, WMS/WFS: (url, status) of each."""
    from layers.models import Feature

    parcel = Feature.objects.filter(layer=demo_city["parcels"]).order_by("id")[200]
    p, point = parcel.properties, parcel.geom.point_on_surface
    doc = client.get("/ogc/collections/elevation/map/tiles/WebMercatorQuad").json()
    limit = doc["tileMatrixSetLimits"][4]
    z, x, y = int(limit["tileMatrix"]), (limit["minTileCol"] + limit["maxTileCol"]) // 2, \
        (limit["minTileRow"] + limit["maxTileRow"]) // 2
    vx, vy = _tile(point.x, point.y, 16)
    html = {"HTTP_ACCEPT": "text/html"}
    urls = ["/", f"/thua-dat/{p['ward_code']}/{p['map_sheet']}/{p['parcel_no']}/", "/tim-kiem/?q=Th%E1%BA%A3o",
            f"/api/at?lon={point.x}&lat={point.y}&z=17&layers=parcels,planning-zones", "/ogc/tiles", "/data.json",
            "/data/catalog.jsonld", "/ogc/api", "/ogc/docs", f"/tiles/raster/elevation/{z}/{x}/{y}.png",
            f"/ogc/collections/elevation/map/tiles/WebMercatorQuad/{z}/{y}/{x}", f"/tiles/parcels/16/{vx}/{vy}.pbf",
            "/tiles/style.json", "/ows?service=WMS&request=GetCapabilities"]
    return [(url, client.get(url, **html).status_code) for url in urls]


def test_the_residents_pages_tiles_and_ows_write_nothing(client, demo_city):
    before = _tuples_written()
    with _read_only() as captured:
        seen = _city_gets(client, demo_city)
        after = _tuples_written()
    assert [(url, status) for url, status in seen if status != 200] == []
    assert [q["sql"][:120] for q in captured.captured_queries if WRITE.match(q["sql"])] == []
    assert after == before
