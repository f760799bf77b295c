"""The tile cache: ETag, 304, gzip, separate keys for restricted layers, and exact invalidation."""
import gzip

import pytest
from django.contrib.auth.models import User
from django.contrib.gis.geos import Polygon

from layers.services import features_changed
from tests.factories import make_feature, make_layer, make_parcel_layer, square
from tests.tiles.helpers import decode, touched_by_postgis
from tiles.cache import CachedTile, DiskCache, MemoryCache, TileKey, get_cache
from tiles.coords import Tile, tiles_in
from tiles.mvt import render_tile

pytestmark = pytest.mark.django_db

LON, LAT = 106.7700, 10.8500


def url(slugs: str, tile: Tile) -> str:
    return f"/tiles/{slugs}/{tile.z}/{tile.x}/{tile.y}.pbf"


def first_tile(layer, z: int) -> Tile:
    return next(tiles_in(layer.extent.extent, z))


@pytest.fixture
def parcels():
    layer = make_parcel_layer(slug="parcels")
    make_feature(layer, square(LON, LAT), {"ward_code": "26800", "map_sheet": 1, "parcel_no": 1, "land_use": "ODT",
                                           "legal_area": 100.0})
    layer.refresh_from_db()
    return layer


def test_second_request_comes_from_the_cache(client, parcels, cache, django_assert_num_queries):
    tile = first_tile(parcels, 16)
    first = client.get(url("parcels", tile))

    with django_assert_num_queries(1):  # the catalog (access check) only
        second = client.get(url("parcels", tile))

    assert first.status_code == second.status_code == 200
    assert first.content == second.content and first["ETag"] == second["ETag"]
    assert len(list(cache.keys())) == 1


def test_gzip_when_accepted_identity_otherwise(client, parcels):
    tile = first_tile(parcels, 16)

    zipped = client.get(url("parcels", tile), HTTP_ACCEPT_ENCODING="gzip, deflate, br")
    plain = client.get(url("parcels", tile))
    refused = client.get(url("parcels", tile), HTTP_ACCEPT_ENCODING="gzip;q=0, identity")

    assert zipped["Content-Encoding"] == "gzip"
    assert "Content-Encoding" not in plain and "Content-Encoding" not in refused
    assert gzip.decompress(zipped.content) == plain.content == refused.content
    assert zipped["ETag"] != plain["ETag"]
    assert "Accept-Encoding" in zipped["Vary"] and "Accept-Encoding" in plain["Vary"]


def test_etag_gives_304(client, parcels):
    tile = first_tile(parcels, 16)
    first = client.get(url("parcels", tile), HTTP_ACCEPT_ENCODING="gzip")

    again = client.get(url("parcels", tile), HTTP_ACCEPT_ENCODING="gzip", HTTP_IF_NONE_MATCH=first["ETag"])
    other = client.get(url("parcels", tile), HTTP_ACCEPT_ENCODING="gzip", HTTP_IF_NONE_MATCH='"0000000000000000"')

    assert again.status_code == 304 and again.content == b""
    assert again["ETag"] == first["ETag"]
    assert other.status_code == 200
    assert first["Cache-Control"] == "public, max-age=0, s-maxage=86400"  # the front keeps it, browsers revalidate


def test_max_age_setting(client, parcels, settings):
    settings.GISPORTAL_TILE_MAX_AGE = 300

    response = client.get(url("parcels", first_tile(parcels, 16)))

    assert response["Cache-Control"] == "public, max-age=300, s-maxage=86400"


def test_tiles_are_files_under_the_cache_dir(client, parcels, tile_cache_dir):
    tile = first_tile(parcels, 16)
    client.get(url("parcels", tile))

    files = [p for p in tile_cache_dir.rglob("*.mvt")]

    assert len(files) == 1
    assert files[0].relative_to(tile_cache_dir).parts[0] == "public"
    assert files[0].relative_to(tile_cache_dir).parts[2:] == (str(tile.z), str(tile.x), f"{tile.y}.mvt")


def test_restricted_tiles_are_keyed_apart_and_never_served_to_others(client, tile_cache_dir):
    secret = make_layer(slug="secret", is_public=False)
    make_feature(secret, square(LON, LAT))
    secret.refresh_from_db()
    tile = first_tile(secret, 16)
    client.force_login(User.objects.create_superuser("admin"))
    assert client.get(url("secret", tile)).status_code == 200
    client.logout()

    assert client.get(url("secret", tile)).status_code == 404
    assert [p.relative_to(tile_cache_dir).parts[0] for p in tile_cache_dir.rglob("*.mvt")] == ["restricted"]


def test_layer_made_restricted_does_not_reach_its_public_copies(client, parcels):
    tile = first_tile(parcels, 16)
    assert client.get(url("parcels", tile)).status_code == 200

    parcels.is_public = False
    parcels.save()

    assert client.get(url("parcels", tile)).status_code == 404


def test_changing_display_fields_gives_new_keys(client, parcels):
    tile = first_tile(parcels, 16)
    before = decode(client.get(url("parcels", tile)))["parcels"]["features"][0]["properties"]

    parcels.schema = [dict(spec, display=spec["name"] == "land_use") for spec in parcels.schema]
    parcels.save()
    after = decode(client.get(url("parcels", tile)))["parcels"]["features"][0]["properties"]

    assert "ward_code" in before and set(after) <= {"id", "land_use"}


def test_bad_requests_make_no_cache_entry(client, parcels, tile_cache_dir):
    for path in ["parcels/1/0/5", "parcels/a/0/0", "nope/1/0/0", "parcels,parcels/16/0/0"]:
        assert client.get(f"/tiles/{path}.pbf").status_code in (400, 404)
    assert client.get(url("parcels", Tile(3, 0, 0))).status_code == 204  # outside the extent

    assert not any(tile_cache_dir.rglob("*.mvt"))


# --- exact invalidation ------------------------------------------------------------------------------

def _seed(client, slugs: str, boxes, zooms) -> set[Tile]:
    """Requests every tile over the boxes at the zooms (so the cache holds them); returns them."""
    tiles = set()
    for z in zooms:
        for box in boxes:
            tiles.update(tiles_in(box, z))
    for tile in tiles:
        assert client.get(url(slugs, tile)).status_code in (200, 204)
    return tiles


def _cached(cache) -> dict[tuple[str, Tile], CachedTile]:
    return {(key.layers, Tile(key.z, key.x, key.y)): cache.get(key) for key in cache.keys()}


def test_editing_one_parcel_removes_exactly_the_tiles_it_touches(client, cache):
    """The acceptance test: a neighbourhood of parcels cached at z12–z19, one parcel moved; the
    tiles removed are exactly those PostGIS says the old or new outline reaches (with the tile
    buffer), at every zoom; every tile left in the cache is byte-identical to a fresh render."""
    layer = make_parcel_layer(slug="parcels")
    props = {"ward_code": "26800", "map_sheet": 1, "land_use": "ODT", "legal_area": 100}
    parcels = [make_feature(layer, square(LON + i * 0.0011, LAT + j * 0.0011, 0.001), {**props, "parcel_no": i * 10 + j},
                            refresh=False) for i in range(6) for j in range(6)]
    from layers.services import layer_refresh_stats

    layer = layer_refresh_stats(layer=layer)
    area = layer.extent.extent
    seeded = _seed(client, "parcels", [area], range(12, 20))
    cached_before = _cached(cache)
    assert len(cached_before) == len([t for t in seeded if client.get(url("parcels", t)).status_code == 200]) > 100

    target = parcels[14]
    old_box = target.geom.extent
    target.geom = square(old_box[0] + 0.0002, old_box[1] + 0.0001, 0.0009)
    target.save()
    new_box = target.geom.extent
    features_changed(layer=layer, bounds=[old_box, new_box])

    cached_after = _cached(cache)
    removed = {tile for (_, tile) in cached_before} - {tile for (_, tile) in cached_after}
    expected = {tile for (_, tile) in cached_before
                if touched_by_postgis(old_box, tile.z, tile.x, tile.y) or touched_by_postgis(new_box, tile.z, tile.x, tile.y)}
    assert removed == expected
    assert {t.z for t in removed} == set(range(12, 20))  # at every zoom
    assert len(removed) < len(cached_before) / 4  # never a whole-layer wipe
    layer.refresh_from_db()
    for (_, tile), entry in cached_after.items():  # nothing stale is left
        assert gzip.decompress(entry.body) == render_tile([layer], tile), tile
    for tile in removed:  # and the removed ones are re-rendered with the change
        assert client.get(url("parcels", tile)).status_code in (200, 204)


def test_editing_one_layer_removes_its_multi_layer_tiles_only(client, cache):
    parcels = make_parcel_layer(slug="parcels")
    zones = make_layer(slug="zones")
    wards = make_layer(slug="wards")
    moved = make_feature(parcels, square(LON, LAT))
    make_feature(zones, square(LON, LAT))
    make_feature(wards, square(LON, LAT))
    tile = next(tiles_in(square(LON, LAT).extent, 16))
    for slugs in ["parcels", "zones", "parcels,zones", "zones,parcels", "zones,wards"]:
        assert client.get(url(slugs, tile)).status_code == 200

    features_changed(layer=parcels, bounds=[moved.geom.extent])

    left = sorted(key.layer_ids for key in cache.keys())
    assert left == sorted([(zones.pk,), (zones.pk, wards.pk)])


def test_invalidation_runs_again_after_commit(client, parcels, cache, django_capture_on_commit_callbacks):
    tile = first_tile(parcels, 16)
    assert client.get(url("parcels", tile)).status_code == 200

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        features_changed(layer=parcels, bounds=[parcels.extent.extent])
    assert not list(cache.keys())
    assert client.get(url("parcels", tile)).status_code == 200  # re-cached before the "commit"
    assert len(list(cache.keys())) == 1
    for callback in callbacks:
        callback()

    assert not list(cache.keys())


def test_edit_far_away_leaves_the_tile(client, parcels, cache):
    tile = first_tile(parcels, 16)
    client.get(url("parcels", tile))

    features_changed(layer=parcels, bounds=[(LON + 0.5, LAT + 0.5, LON + 0.501, LAT + 0.501)])

    assert len(list(cache.keys())) == 1


def test_nonsense_bounds_invalidate_the_whole_layer(client, parcels, cache):
    client.get(url("parcels", first_tile(parcels, 16)))

    features_changed(layer=parcels, bounds=[(float("nan"), 0, 1, 1)])

    assert not list(cache.keys())


@pytest.mark.parametrize("backend", [DiskCache, MemoryCache])
def test_a_render_older_than_an_invalidation_is_not_stored(tmp_path, backend):
    cache = backend(tmp_path)
    key = TileKey(False, "7-abc", 16, 1, 2)
    started = cache.token(key)
    cache.invalidate(7, [(-180, -85, 180, 85)], 0.0)  # a commit lands while the render runs

    assert cache.put(key, CachedTile.from_body(b"old"), started) is False
    assert cache.get(key) is None
    assert cache.put(key, CachedTile.from_body(b"new"), cache.token(key)) is True
    assert cache.get(key).body == b"new"


@pytest.mark.parametrize("backend", [DiskCache, MemoryCache])
def test_big_area_at_deep_zoom_removes_only_what_is_cached(tmp_path, backend):
    cache = backend(tmp_path)
    inside = [TileKey(False, "7-abc", 20, 843000 + i, 492000) for i in range(3)]
    outside = TileKey(False, "7-abc", 20, 10, 10)
    for key in inside + [outside]:
        cache.put(key, CachedTile.from_body(b"x"), cache.token(key))

    # Millions of z20 tiles lie in this box: invalidation must walk what is cached, not the box
    # (enumerating the box would not finish; the speed itself is bench/'s business).
    removed = cache.invalidate(7, [(100.0, 0.0, 120.0, 30.0)], 64 / 4096)

    assert sorted(removed, key=lambda k: k.x) == inside
    assert [k for k in cache.keys()] == [outside]


def test_memory_backend_setting(client, parcels, settings):
    settings.GISPORTAL_TILE_CACHE_BACKEND = "tiles.cache.MemoryCache"
    tile = first_tile(parcels, 16)

    client.get(url("parcels", tile))

    assert isinstance(get_cache(), MemoryCache) and len(list(get_cache().keys())) == 1


def test_no_cache_backend(client, parcels, settings, django_assert_num_queries):
    settings.GISPORTAL_TILE_CACHE_BACKEND = "tiles.cache.NoCache"
    tile = first_tile(parcels, 16)
    client.get(url("parcels", tile))

    with django_assert_num_queries(2):
        assert client.get(url("parcels", tile)).status_code == 200


def test_zone_edit_through_features_changed_in_a_transaction(client, cache):
    from django.db import transaction

    zones = make_layer(slug="zones")
    zone = make_feature(zones, Polygon.from_bbox((LON, LAT, LON + 0.01, LAT + 0.01)))
    zones.refresh_from_db()
    tile = first_tile(zones, 15)
    client.get(url("zones", tile))

    with transaction.atomic():
        features_changed(layer=zones, bounds=[zone.geom.extent])
        assert not list(cache.keys())  # before commit


def test_restricted_tile_cached_for_a_granted_user_is_not_served_to_another_user(client, tile_cache_dir):
    from layers.models import LayerGrant

    secret = make_layer(slug="secret", is_public=False)
    make_feature(secret, square(LON, LAT))
    secret.refresh_from_db()
    tile = first_tile(secret, 16)
    planner, other = User.objects.create_user("planner"), User.objects.create_user("other")
    LayerGrant.objects.create(layer=secret, user=planner)

    client.force_login(planner)
    assert client.get(url("secret", tile)).status_code == 200
    assert client.get(url("secret", tile)).status_code == 200  # from the cache
    client.force_login(other)
    assert client.get(url("secret", tile)).status_code == 404
    client.logout()
    assert client.get(url("secret", tile)).status_code == 404
    assert len(list(tile_cache_dir.rglob("*.mvt"))) == 1
