"""Catalog rows kept in memory between tile requests, per layer, dropped when the layer's generation moves on."""
import pytest
from django.db import connection

from layers.models import Layer
from tests.factories import make_feature, make_parcel_layer, square
from tiles import catalog
from tiles.coords import tiles_in

LON, LAT = 106.77, 10.85


@pytest.fixture
def committed_layer(transactional_db):
    layer = make_parcel_layer(slug="parcels")
    make_feature(layer, square(LON, LAT), {"ward_code": "1", "map_sheet": 1, "parcel_no": 1, "land_use": "ODT",
                                           "legal_area": 1.0})
    layer.refresh_from_db()
    yield layer
    catalog._rows.clear()


def _url(layer) -> str:
    tile = next(tiles_in(layer.extent.extent, 16))
    return f"/tiles/parcels/{tile.z}/{tile.x}/{tile.y}.pbf"


def test_cached_tile_needs_no_query_while_the_catalog_is_unchanged(client, committed_layer, django_assert_num_queries):
    url = _url(committed_layer)
    assert client.get(url).status_code == 200

    with django_assert_num_queries(0):
        assert client.get(url).status_code == 200


def test_any_committed_catalog_change_is_seen_at_once(client, committed_layer):
    url = _url(committed_layer)
    assert client.get(url).status_code == 200
    assert client.get(url).status_code == 200  # rows now in memory

    Layer.objects.filter(pk=committed_layer.pk).update(is_public=False)  # a bulk update: no model signal

    assert client.get(url).status_code == 404
    Layer.objects.filter(pk=committed_layer.pk).update(is_public=True, min_zoom=17)
    assert client.get(url).status_code == 204
    Layer.objects.filter(pk=committed_layer.pk).delete()
    assert client.get(url).status_code == 404


def test_inside_a_transaction_rows_are_always_read(db):
    make_parcel_layer(slug="parcels")

    assert connection.in_atomic_block
    assert catalog.catalog_rows(["parcels"], lambda slug, row: row)["parcels"][2] is True
    Layer.objects.filter(slug="parcels").update(is_public=False)
    assert catalog.catalog_rows(["parcels"], lambda slug, row: row)["parcels"][2] is False
