"""Numbers that name no tile, bad layer lists: 4xx with a short message in both languages, no cache entry."""
import pytest

from tests.factories import make_feature, make_parcel_layer, square

pytestmark = pytest.mark.django_db


@pytest.fixture
def parcels():
    layer = make_parcel_layer(slug="parcels")
    make_feature(layer, square(106.77, 10.85))
    return layer


@pytest.mark.parametrize("path", [
    "parcels/-1/0/0", "parcels/1/-1/0", "parcels/1/0/-1",  # negative
    "parcels/1/2/0", "parcels/1/0/2", "parcels/0/1/0",  # x or y >= 2^z
    "parcels/25/0/0", "parcels/99999999999/0/0",  # z > 24
    "parcels/1.5/0/0", "parcels/1/0.5/0", "parcels/1/0/0.0",  # not integers
    "parcels/a/0/0", "parcels/1/b/0", "parcels/1/0/c", "parcels/+1/0/0", "parcels/1e1/0/0", "parcels/%20/0/0",
])
def test_numbers_that_name_no_tile_are_400(client, parcels, tile_cache_dir, path):
    response = client.get(f"/tiles/{path}.pbf")

    assert response.status_code == 400, path
    body = response.json()
    assert body["code"] == "invalid-tile"
    assert body["description"] and body["description_vi"] and body["description"] != body["description_vi"]
    assert not tile_cache_dir.exists() or not any(p.is_file() for p in tile_cache_dir.rglob("*.mvt"))


def test_english_message_when_english_is_chosen(client, parcels):
    client.cookies["django_language"] = "en"

    response = client.get("/tiles/parcels/1/5/0.pbf", HTTP_ACCEPT="text/plain")

    assert response.status_code == 400
    assert "No such tile" in response.content.decode()


@pytest.mark.parametrize("names,status", [
    ("parcels,parcels", 400),
    (",".join(["parcels"] * 50), 400),
    (",".join(f"l{i}" for i in range(21)), 400),
    (",".join(f"l{i}" for i in range(50)), 400),
    ("parcels,,parcels", 400),
    ("parcels,", 400),
    ("nope", 404),
    ("parcels,nope", 404),
    ("par%27cels", 404),
])
def test_bad_layer_lists(client, parcels, tile_cache_dir, names, status):
    response = client.get(f"/tiles/{names}/16/52210/30579.pbf")

    assert response.status_code == status
    assert response.json()["description_vi"]
    assert not tile_cache_dir.exists() or not any(p.is_file() for p in tile_cache_dir.rglob("*.mvt"))


def test_post_is_not_allowed_head_is(client, parcels):
    assert client.post("/tiles/parcels/1/0/0.pbf").status_code == 405
    assert client.head("/tiles/parcels/16/52210/30579.pbf").status_code in (200, 204)


def test_bad_input_answers_at_once_and_never_500(client, parcels, django_assert_max_num_queries):
    # "At once": no tile query runs for numbers that name no tile (at most the catalog row is read).
    for path in ["parcels/30/0/0", "parcels/x/y/z", "a" * 3000 + "/1/0/0", "parcels/1/0/0/extra"]:
        with django_assert_max_num_queries(1):
            assert 400 <= client.get(f"/tiles/{path}.pbf").status_code < 500
