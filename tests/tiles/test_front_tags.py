"""Headers for shared caches (Cache-Control, xkey, Surrogate-Key) and the purge jobs a change queues."""
import json

import pytest
from django.contrib.auth.models import User
from django.db import connection

from layers.services import features_changed
from tests.factories import make_feature, make_layer, square
from tests.tiles.helpers import touched_by_postgis
from tiles import front
from tiles.coords import Tile, tiles_in
from tiles.mvt import REACH

pytestmark = pytest.mark.django_db

LON, LAT = 106.7700, 10.8500
FRONT = "http://127.0.0.1:9/"


def url(slugs, tile):
    return f"/tiles/{slugs}/{tile.z}/{tile.x}/{tile.y}.pbf"


def purge_jobs() -> list[dict]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT args FROM procrastinate_jobs WHERE task_name = 'tiles.purge_front' ORDER BY id")
        return [json.loads(a) if isinstance(a, str) else a for (a,) in cursor.fetchall()]


def purged_tags() -> set[str]:
    return {tag for job in purge_jobs() for tag in job["tags"].split()}


@pytest.fixture
def zones():
    layer = make_layer(slug="zones")
    make_feature(layer, square(LON, LAT))
    layer.refresh_from_db()
    return layer


def test_public_tile_is_tagged_per_layer_and_tile(client, zones):
    other = make_layer(slug="wards")
    make_feature(other, square(LON, LAT))
    tile = next(tiles_in(zones.extent.extent, 16))

    response = client.get(url("zones,wards", tile))

    assert response.status_code == 200
    assert response["Cache-Control"] == "public, max-age=0, s-maxage=86400"
    tags = set(response["xkey"].split())
    assert tags == {f"gp-t-{zones.pk}-16-{tile.x}-{tile.y}", f"gp-t-{other.pk}-16-{tile.x}-{tile.y}",
                    f"gp-l-{zones.pk}", f"gp-l-{other.pk}"}
    assert response["Surrogate-Key"] == response["xkey"]
    assert response["Vary"] == "Accept-Encoding"  # not Cookie: one copy serves every visitor (a CDN too)


def test_an_empty_tile_is_tagged_too(client, zones):
    response = client.get(url("zones", Tile(3, 0, 0)))

    assert response.status_code == 204 and f"gp-t-{zones.pk}-3-0-0" in response["xkey"].split()


def test_restricted_tiles_are_private_and_untagged(client, zones):
    secret = make_layer(slug="secret", is_public=False)
    make_feature(secret, square(LON, LAT))
    client.force_login(User.objects.create_superuser("admin"))
    tile = next(tiles_in(zones.extent.extent, 16))

    for slugs in ["secret", "zones,secret"]:
        response = client.get(url(slugs, tile))
        assert response.status_code == 200
        assert response["Cache-Control"].startswith("private") and "s-maxage" not in response["Cache-Control"]
        assert "xkey" not in response and "Surrogate-Key" not in response


def test_shared_max_age_setting(client, zones, settings):
    settings.GISPORTAL_TILE_SHARED_MAX_AGE = 600
    settings.GISPORTAL_TILE_MAX_AGE = 30

    response = client.get(url("zones", next(tiles_in(zones.extent.extent, 16))))

    assert response["Cache-Control"] == "public, max-age=30, s-maxage=600"


def test_no_front_configured_queues_nothing(zones, settings):
    settings.GISPORTAL_FRONT_PURGE_URLS = ""

    features_changed(layer=zones, bounds=[zones.extent.extent])

    assert purge_jobs() == []


def test_an_edit_queues_exactly_the_tiles_it_touches_at_every_zoom_of_the_layer(zones, settings):
    settings.GISPORTAL_FRONT_PURGE_URLS = FRONT
    zones.min_zoom, zones.max_zoom = 10, 18
    box = (LON, LAT, LON + 0.0005, LAT + 0.0005)

    features_changed(layer=zones, bounds=[box])

    tags = purged_tags()
    assert {job["url"] for job in purge_jobs()} == {FRONT}
    assert {int(tag.split("-")[3]) for tag in tags} == set(range(10, 19))
    for z in range(10, 19):  # exactly the tiles PostGIS says the box reaches (with the tile buffer)
        near = {t for t in tiles_in((LON - 0.2, LAT - 0.2, LON + 0.2, LAT + 0.2), z) if touched_by_postgis(box, z, t.x, t.y)}
        assert {tag for tag in tags if tag.split("-")[3] == str(z)} == {f"gp-t-{zones.pk}-{z}-{t.x}-{t.y}" for t in near}


def test_a_huge_change_purges_the_layer_tag(zones, settings):
    settings.GISPORTAL_FRONT_PURGE_URLS = FRONT

    features_changed(layer=zones, bounds=[(100.0, 0.0, 120.0, 30.0)])

    assert purged_tags() == {f"gp-l-{zones.pk}"}


def test_batches_fit_a_header_and_each_front_gets_every_batch(zones, settings):
    settings.GISPORTAL_FRONT_PURGE_URLS = f"{FRONT}, http://127.0.0.1:10/"
    tags = [f"gp-t-1-20-{x}-1" for x in range(1500)]

    assert front.queue_purge(tags) == 2 * len(front.batches(tags))

    jobs = purge_jobs()
    assert all(len(job["tags"]) <= 4000 for job in jobs)
    for target in (FRONT, "http://127.0.0.1:10/"):
        assert sorted(t for job in jobs if job["url"] == target for t in job["tags"].split()) == sorted(tags)


def test_layer_settings_change_purges_the_layer_stats_do_not(zones, settings):
    from layers.services import layer_refresh_stats

    settings.GISPORTAL_FRONT_PURGE_URLS = FRONT
    layer_refresh_stats(layer=zones)
    assert purge_jobs() == []

    zones.is_public = False
    zones.save()
    assert purged_tags() == {f"gp-l-{zones.pk}"}

    pk = zones.pk
    zones.delete()
    assert [job["tags"] for job in purge_jobs()] == [f"gp-l-{pk}", f"gp-l-{pk}"]


def test_purge_tags_margin_matches_the_cache(zones):
    box = (LON, LAT, LON + 0.0001, LAT + 0.0001)

    tags = front.purge_tags(zones.pk, [box], REACH, range(16, 17))

    assert tags and all(touched_by_postgis(box, 16, int(t.split("-")[4]), int(t.split("-")[5])) for t in tags)


def test_with_a_replica_a_second_pass_is_queued_for_after_the_lag_bound(zones, settings):
    from django.utils import timezone

    from tiles.cache_jobs import settle_change

    settings.GISPORTAL_TILE_SETTLE_SECONDS = 11.0
    settings.GISPORTAL_FRONT_PURGE_URLS = FRONT
    box = (LON, LAT, LON + 0.0005, LAT + 0.0005)

    features_changed(layer=zones, bounds=[box])

    with connection.cursor() as cursor:
        cursor.execute("SELECT args, scheduled_at FROM procrastinate_jobs WHERE task_name = 'tiles.settle_change'")
        (args, scheduled_at), = cursor.fetchall()
    args = json.loads(args) if isinstance(args, str) else args
    assert 9 < (scheduled_at - timezone.now()).total_seconds() <= 11
    assert args["layer_id"] == zones.pk and args["boxes"] == [list(box)] and set(args["tags"]) == purged_tags()

    first_jobs = len(purge_jobs())
    settle_change(**args)  # what the worker runs then: the purges again
    assert len(purge_jobs()) == 2 * first_jobs


def test_the_second_pass_follows_the_replica_setting(zones, settings):
    from tiles import conf

    settings.DATABASES = {**settings.DATABASES, "replica": dict(settings.DATABASES["default"])}
    settings.GISPORTAL_REPLICA_MAX_LAG = 4.0
    assert conf.settle_seconds() == 5.0
    settings.DATABASES = {k: v for k, v in settings.DATABASES.items() if k != "replica"}
    assert conf.settle_seconds() == 0.0

    features_changed(layer=zones, bounds=[zones.extent.extent])

    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM procrastinate_jobs WHERE task_name = 'tiles.settle_change'")
        assert cursor.fetchone()[0] == 0
