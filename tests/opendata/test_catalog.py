"""The catalog pages: listing, filters, diacritic-insensitive search, preview, sizes, no leaks, no outside host."""
import re

import pytest

from tests.factories import make_layer

pytestmark = pytest.mark.django_db


def slugs(response) -> list[str]:
    return re.findall(r'<section class="od-layer" data-slug="([^"]+)"', response.content.decode())


@pytest.fixture
def zones(db):
    return make_layer(slug="planning-zones", title_vi="Quy hoạch phân khu 1/2000", title_en="Zoning plans",
                      category="planning", keywords=["quy hoạch"], description_vi="Khu Thủ Thiêm")


def test_lists_visible_layers_with_metadata(client, parcels, zones, secret):
    response = client.get("/data/")
    assert response.status_code == 200
    html = response.content.decode()
    assert slugs(response) == ["parcels", "planning-zones"]
    assert "secret" not in html and "Hầm" not in html
    for text in ("Thửa đất", "CC BY 4.0", "Sở Tài nguyên và Môi trường", "/data/parcels.gpkg", "/data/parcels.shp.zip",
                 'class="od-count">5<', 'class="od-thumb" src="/tiles/thumbnail/parcels.png?v='):
        assert text in html, text
    assert not re.search(r'(src|href)="(https?:)?//', html)  # no outside host


@pytest.mark.parametrize("query, expected", [
    ("q=thao dien", ["parcels"]),
    ("q=THẢO ĐIỀN", ["parcels"]),
    ("q=thu thiem", ["planning-zones"]),
    ("q=quy hoach", ["planning-zones"]),
    ("q=nothing-like-this", []),
    ("category=planning", ["planning-zones"]),
    ("category=land", ["parcels"]),
    ("keyword=cadastre", ["parcels"]),
    ("category=bogus", ["parcels", "planning-zones"]),
    ("q=hầm bí mật", []),
])
def test_filters_and_search(client, parcels, zones, secret, query, expected):
    assert slugs(client.get(f"/data/?{query}")) == expected


def test_layer_page_has_preview_and_sizes(client, parcels):
    client.get("/data/parcels.gpkg")  # now cached: its size is known
    html = client.get("/data/parcels/").content.decode()
    assert "Số 1 đường Thảo Điền" in html and "Diện tích pháp lý" in html
    assert html.count("<tr>") == 1 + 5
    assert re.search(r'data-format="gpkg">GeoPackage <small>\(\d', html)
    assert re.search(r'data-format="geojson">GeoJSON <small>\(≈ ', html)


def test_preview_is_capped_at_50_rows(client, db):
    from tests.factories import make_feature, square

    layer = make_layer(slug="many")
    for i in range(60):
        make_feature(layer, square(106.7 + i * 0.001, 10.8), {"n": i}, refresh=(i == 59))
    html = client.get("/data/many/").content.decode()
    assert html.count("<tr>") == 1 + 50


def test_restricted_layer_page_is_404_like_unknown(client, admin_client, secret):
    assert client.get("/data/secret-bunkers/").status_code == 404
    assert client.get("/data/secret-bunkers/").content == client.get("/data/no-such/").content
    assert admin_client.get("/data/secret-bunkers/").status_code == 200
    assert "secret-bunkers" in admin_client.get("/data/").content.decode()


def test_markup_in_metadata_is_escaped(client, db):
    make_layer(slug="xss", title_vi="<script>alert(1)</script>", description_vi="<img src=x onerror=alert(1)>")
    html = client.get("/data/").content.decode()
    assert "<script>alert(1)</script>" not in html and "<img src=x" not in html
