"""Hostile path and query values on every OGC API – Tiles / Styles door and the MapLibre assets: never a 500,
every refusal a 4xx that says why in Vietnamese and English."""
import pytest

from tests.factories import make_layer, make_parcel_layer

pytestmark = pytest.mark.django_db

HOSTILE = ["", "%20", "..", "%2e%2e", "ư", "a" * 70, "1e9", "0x10", "-0", "+1", "１", "٣", "1%0a", "NaN", "%ff",
           "16.0", "%2016", "9" * 40]
TEMPLATES = [
    "/ogc/tileMatrixSets/{v}", "/ogc/collections/{v}/tiles", "/ogc/collections/parcels/tiles/{v}",
    "/ogc/collections/parcels/tiles/WebMercatorQuad/{v}/0/0", "/ogc/collections/parcels/tiles/WebMercatorQuad/1/{v}/0",
    "/ogc/collections/dem/map/tiles/WebMercatorQuad/1/0/{v}", "/ogc/collections/secret/tiles/WebMercatorQuad/{v}/0/0",
    "/ogc/tiles/{v}/WebMercatorQuad", "/ogc/tiles/land/WebMercatorQuad/{v}/0/0", "/ogc/styles/{v}",
    "/ogc/styles/parcels?f={v}", "/tiles/preview?style={v}", "/tiles/fonts/{v}/0-255.pbf",
    "/tiles/fonts/DejaVu%20Sans/{v}.pbf", "/tiles/sprite/{v}", "/ogc/collections/parcels/tiles/WebMercatorQuad/16/1/1?as_of={v}",
]


@pytest.mark.parametrize("template", TEMPLATES)
def test_hostile_values_get_a_reasoned_4xx(client, template):
    make_parcel_layer(slug="parcels")
    make_layer(slug="secret", is_public=False)
    make_layer(slug="dem", kind="raster")

    for value in HOSTILE:
        path = template.format(v=value)
        for method in (client.get, client.head):
            response = method(path, HTTP_ACCEPT="application/json")
            assert response.status_code < 500, (path, response.status_code)
        response = client.get(path, HTTP_ACCEPT="application/json")
        if response.status_code >= 400:
            assert response.status_code < 500
            body = response.json()
            assert body["description_vi"] and body["description"], path
