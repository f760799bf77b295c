"""Vary: Accept on every answer whose format follows the Accept header (a shared cache must keep them apart),
and only there: tiles and downloads answer the same bytes whatever Accept says."""
import pytest

pytestmark = pytest.mark.django_db
HTML, JSON = {"HTTP_ACCEPT": "text/html"}, {"HTTP_ACCEPT": "application/json"}


def _vary(response) -> set[str]:
    return {part.strip().lower() for part in response.get("Vary", "").split(",") if part.strip()}


@pytest.mark.parametrize("path", ["/ogc/", "/ogc/conformance", "/ogc/collections", "/ogc/collections/parcels",
                                  "/ogc/collections/parcels/queryables", "/ogc/collections/parcels/items?limit=1"])
def test_ogc_answers_chosen_by_accept_vary_on_it_and_on_the_language_cookie(client, parcels, path):
    page, doc = client.get(path, **HTML), client.get(path, **JSON)
    assert page["Content-Type"].startswith("text/html") and not doc["Content-Type"].startswith("text/html")
    for response in (page, doc):
        assert response.status_code == 200
        assert {"accept", "cookie"} <= _vary(response), (path, response.get("Vary"))  # titles follow the language


def test_an_explicit_format_does_not_vary_on_accept(client, parcels):
    response = client.get("/ogc/collections?f=json", **HTML)
    assert response.status_code == 200 and "accept" not in _vary(response)


def test_a_page_error_chosen_by_accept_varies_on_it(client, parcels):
    page, doc = client.get("/thua-dat/99999/1/1/", **HTML), client.get("/thua-dat/99999/1/1/", **JSON)
    assert page.status_code == doc.status_code == 404
    assert page["Content-Type"].startswith("text/html") and doc["Content-Type"].startswith("application/json")
    assert "accept" in _vary(page) and "accept" in _vary(doc)


def test_tiles_and_downloads_do_not_vary_on_accept(client, parcels):
    tile = client.get("/tiles/parcels/14/13049/7668.pbf", **HTML)
    download = client.get("/data/parcels.geojson", **HTML)
    assert tile.status_code in (200, 204) and download.status_code == 200
    assert "accept" not in _vary(tile) and "accept" not in _vary(download)
