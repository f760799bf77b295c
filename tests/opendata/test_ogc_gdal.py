"""GDAL's OAPIF driver (gdal-bin's ogrinfo/ogr2ogr) reads every collection from a live server."""
import json

import pytest
from django.db import connection

from tests.clients import gdal, needs_gdal

pytestmark = [pytest.mark.django_db(transaction=True), needs_gdal]


def read(url: str, layer: str, *extra: str) -> dict:
    return json.loads(gdal("ogr2ogr", "-f", "GeoJSON", "/vsistdout/", f"OAPIF:{url}", layer, *extra))


def test_ogr_reads_every_collection_with_sql_counts(live_server, parcels, points, secret):
    url = f"{live_server.url}/ogc/"
    listing = gdal("ogrinfo", "-ro", "-q", f"OAPIF:{url}")
    assert "parcels" in listing and "wells" in listing and "secret" not in listing
    with connection.cursor() as cursor:
        cursor.execute("SELECT l.slug, count(f.id) FROM layers_layer l JOIN layers_feature f ON f.layer_id = l.id "
                       "WHERE l.is_public GROUP BY l.slug")
        counts = dict(cursor.fetchall())
    for slug, count in counts.items():
        data = read(url, slug)
        assert len(data["features"]) == count, slug
    paged = read(url, "parcels", "-oo", "PAGE_SIZE=2")  # follows our next links
    assert len({f["properties"]["parcel_no"] for f in paged["features"]}) == counts["parcels"]
    data = read(url, "parcels", "-where", "land_use = 'ODT'")
    assert len(data["features"]) == 2
    assert any("Thảo Điền" in (f["properties"].get("address") or "") for f in data["features"])
    data = read(url, "parcels", "-spat", "106.72", "10.79", "106.74", "10.81")
    assert len(data["features"]) == 3
    info = gdal("ogrinfo", "-ro", "-so", f"OAPIF:{url}", "parcels")
    assert "Feature Count: 5" in info


def test_ogr_opens_the_documented_address_without_and_with_slash(live_server, parcels, secret):
    for url in (f"{live_server.url}/ogc", f"{live_server.url}/ogc/"):
        listing = gdal("ogrinfo", "-ro", "-q", f"OAPIF:{url}")
        assert "parcels" in listing and "secret" not in listing, url
        assert len(read(url, "parcels")["features"]) == 5, url
