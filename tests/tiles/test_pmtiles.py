"""PMTiles archives: opened by pyogrio's GDAL (PMTiles driver) and the `pmtiles` reader, each tile equal to the live
/tiles/ tile, rebuilt by the job queue after an edit, served by byte ranges, none for restricted layers."""
import gzip
import io
import json

import mapbox_vector_tile
import pyogrio
import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command
from pmtiles.reader import MmapSource, Reader, all_tiles
from pmtiles.tile import Compression, TileType

from layers import editing
from tiles import archives
from tiles.tasks import build_pmtiles
from tests.factories import make_feature, make_layer, make_parcel_layer, square

pytestmark = pytest.mark.django_db
LON, LAT = 106.7300, 10.8000
PARCEL = {"ward_code": "26794", "map_sheet": 12, "parcel_no": 1, "land_use": "ODT", "legal_area": 120.5}


@pytest.fixture(autouse=True)
def archive_settings(settings, tmp_path, db):
    settings.GISPORTAL_PMTILES_DIR = tmp_path / "pmtiles"
    settings.GISPORTAL_PMTILES_MAX_ZOOM = 15
    from django.db import connection

    with connection.cursor() as cursor:  # builds left waiting by transactional tests elsewhere (rolled back after)
        cursor.execute("DELETE FROM procrastinate_jobs WHERE task_name = 'tiles.build_pmtiles' AND status = 'todo'")
    return settings


@pytest.fixture
def parcels(db):
    layer = make_parcel_layer(slug="parcels", min_zoom=12, max_zoom=20, attribution="Sở TN&MT TP.HCM")
    for n in range(4):
        make_feature(layer, square(LON + n * 0.004, LAT + n * 0.001), {**PARCEL, "parcel_no": n + 1}, refresh=False)
    from layers.services import layer_refresh_stats

    return layer_refresh_stats(layer=layer)


@pytest.fixture
def admin(db):
    return User.objects.create_user("pmtiles-admin", password="x", is_staff=True, is_superuser=True)


def build_jobs(after: int = 0) -> list[tuple]:
    """(status, args, lock, queueing_lock) of the archive jobs with an id above `after`."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT status::text, args, lock, queueing_lock FROM procrastinate_jobs "
                       "WHERE task_name = 'tiles.build_pmtiles' AND id > %s ORDER BY id", [after])
        return [(status, json.loads(args) if isinstance(args, str) else args, lock, queueing)
                for status, args, lock, queueing in cursor.fetchall()]


def last_job_id() -> int:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT coalesce(max(id), 0) FROM procrastinate_jobs")
        return cursor.fetchone()[0]


def read_archive(name: str) -> tuple[Reader, dict, dict]:
    """(reader, header, {(z, x, y): tile bytes}) of a built archive."""
    handle = open(archives.archive_path(name), "rb")
    source = MmapSource(handle)
    reader = Reader(source)
    return reader, reader.header(), dict(all_tiles(source))


def live(client, slugs: str, z: int, x: int, y: int):
    return client.get(f"/tiles/{slugs}/{z}/{x}/{y}.pbf", HTTP_ACCEPT_ENCODING="gzip")


def test_archive_opens_in_pmtiles_reader_and_gdal_with_every_tile_equal_to_the_live_one(client, parcels):
    report = build_pmtiles(name="parcels")  # the job's function, run here
    assert report["tiles"] > 0
    reader, header, tiles = read_archive("parcels")
    assert header["tile_type"] == TileType.MVT and header["tile_compression"] == Compression.GZIP
    assert (header["min_zoom"], header["max_zoom"]) == (12, 15)
    assert header["clustered"] and len(tiles) == report["tiles"] == header["addressed_tiles_count"]
    assert 106.72 < header["min_lon_e7"] / 1e7 < LON + 0.0001 and header["max_lat_e7"] / 1e7 > LAT + 0.003
    meta = reader.metadata()
    assert meta["name"] == parcels.title and meta["attribution"] == "Sở TN&MT TP.HCM"
    assert [v["id"] for v in meta["vector_layers"]] == ["parcels"] and meta["center"][2] >= 12
    assert "parcel_no" in meta["vector_layers"][0]["fields"]
    for (z, x, y), data in tiles.items():  # every archived tile is byte-equal to the live gzip answer
        response = live(client, "parcels", z, x, y)
        assert response.status_code == 200 and response["Content-Encoding"] == "gzip"
        assert response.content == data, (z, x, y)
    assert all(z >= 12 for z, _, _ in tiles) and {z for z, _, _ in tiles} == {12, 13, 14, 15}
    # GDAL's PMTiles driver (pyogrio's GDAL 3.12; the system's 3.6 has none) reads the layer and the ids.
    path = str(archives.archive_path("parcels"))
    assert pyogrio.list_layers(path)[:, 0].tolist() == ["parcels"]
    frame = pyogrio.read_dataframe(path, layer="parcels")  # at the archive's deepest zoom
    assert set(frame["mvt_id"]) == set(parcels.features.values_list("id", flat=True))  # the MVT feature id
    assert set(frame["parcel_no"]) == {1, 2, 3, 4}


def test_an_edit_queues_one_rebuild_and_the_changed_tile_differs(client, parcels, admin):
    build_pmtiles(name="parcels")
    _, _, old = read_archive("parcels")
    before = last_job_id()
    feature = parcels.features.order_by("id").first()
    for use in ("TMD", "CLN"):  # a burst of edits shares one waiting build
        feature.refresh_from_db()
        editing.feature_update(layer=parcels, feature_id=feature.pk, user=admin, expected_version=feature.version,
                               properties={**feature.properties, "land_use": use})
    assert build_jobs(before) == [("todo", {"name": "parcels"}, "pmtiles-build:parcels", "pmtiles:parcels")]
    build_pmtiles(name="parcels")
    _, _, new = read_archive("parcels")
    assert set(new) == set(old)
    changed = [key for key in new if new[key] != old[key]]
    assert changed  # the tiles that show the parcel
    for z, x, y in changed:
        decoded = mapbox_vector_tile.decode(gzip.decompress(new[(z, x, y)]))["parcels"]["features"]
        assert {f["properties"]["land_use"] for f in decoded if f["id"] == feature.pk} == {"CLN"}
        assert live(client, "parcels", z, x, y).content == new[(z, x, y)]


def test_range_requests(client, parcels):
    build_pmtiles(name="parcels")
    data = archives.archive_path("parcels").read_bytes()
    size = len(data)
    whole = client.get("/tiles/parcels.pmtiles")
    assert whole.status_code == 200 and b"".join(whole.streaming_content) == data
    assert whole["Accept-Ranges"] == "bytes" and whole["Content-Length"] == str(size)
    assert whole["Content-Type"] == "application/vnd.pmtiles"
    assert whole["Access-Control-Allow-Origin"] == "*" and "Content-Range" in whole["Access-Control-Expose-Headers"]
    assert "s-maxage" in whole["Cache-Control"] and whole["xkey"] == "gp-pm-parcels"
    etag = whole["ETag"]
    for header, first, last in (("bytes=0-126", 0, 126), ("bytes=127-", 127, size - 1), ("bytes=-10", size - 10, size - 1),
                                ("bytes=5-5", 5, 5), (f"bytes=100-{size + 500}", 100, size - 1)):
        part = client.get("/tiles/parcels.pmtiles", HTTP_RANGE=header)
        assert part.status_code == 206, header
        assert b"".join(part.streaming_content) == data[first:last + 1], header
        assert part["Content-Range"] == f"bytes {first}-{last}/{size}" and part["Content-Length"] == str(last - first + 1)
        assert part["ETag"] == etag
    for header in (f"bytes={size}-", f"bytes={size + 10}-{size + 20}", "bytes=9-2", "bytes=abc", "bytes=-0", "bytes=-",
                   "bytes=1-2-3", "bytes=" + "9" * 30 + "-"):
        refused = client.get("/tiles/parcels.pmtiles", HTTP_RANGE=header)
        assert refused.status_code == 416, header
        assert refused["Content-Range"] == f"bytes */{size}"
        assert refused.json()["description_vi"] and refused.json()["description"]
    for header in ("bytes=0-1,5-9", "items=0-5"):  # several ranges, or another unit: the whole archive
        simple = client.get("/tiles/parcels.pmtiles", HTTP_RANGE=header)
        assert simple.status_code == 200 and b"".join(simple.streaming_content) == data
    kept = client.get("/tiles/parcels.pmtiles", HTTP_RANGE="bytes=0-9", HTTP_IF_RANGE=etag)
    assert kept.status_code == 206
    stale = client.get("/tiles/parcels.pmtiles", HTTP_RANGE="bytes=0-9", HTTP_IF_RANGE='"pm-old"')
    assert stale.status_code == 200 and b"".join(stale.streaming_content) == data  # never bytes of two builds
    assert client.get("/tiles/parcels.pmtiles", HTTP_IF_NONE_MATCH=etag).status_code == 304
    head = client.head("/tiles/parcels.pmtiles", HTTP_RANGE="bytes=0-126")
    assert head.status_code == 206 and head["Content-Length"] == "127"


def test_the_old_archive_is_served_until_the_new_one_lands(client, parcels, admin):
    build_pmtiles(name="parcels")
    old = archives.archive_path("parcels").read_bytes()
    response = client.get("/tiles/parcels.pmtiles")  # opened, not yet read
    feature = parcels.features.order_by("id").first()
    editing.feature_update(layer=parcels, feature_id=feature.pk, user=admin, expected_version=feature.version,
                           properties={**feature.properties, "land_use": "TMD"})
    build_pmtiles(name="parcels")
    assert b"".join(response.streaming_content) == old
    new = client.get("/tiles/parcels.pmtiles")
    assert b"".join(new.streaming_content) == archives.archive_path("parcels").read_bytes() != old
    assert new["ETag"] != response["ETag"]
    assert not list(archives.archive_dir().glob(".*.tmp"))  # no temporary file left behind


def test_not_built_yet_is_a_clear_uncached_404_and_the_get_writes_nothing(client, parcels):
    """The build is queued by what made it due (a change, a publication, the release step): a public GET writes
    nothing to the database (issue 14), not even a job."""
    before = last_job_id()
    response = client.get("/tiles/parcels.pmtiles")
    assert response.status_code == 404 and response["Cache-Control"] == "no-store"
    body = response.json()
    assert "PMTiles" in body["description_vi"] and "not built yet" in body["description"]
    assert build_jobs(before) == []
    call_command("pmtiles", "build", "--all", "--queue", stdout=io.StringIO())  # the release step's line
    assert {"name": "parcels"} in [job[1] for job in build_jobs(before)]


def test_restricted_layers_have_no_archive_and_the_same_404(client, admin_client, parcels, django_capture_on_commit_callbacks):
    secret = make_layer(slug="secret-bunkers", is_public=False)
    make_feature(secret, square(106.75, 10.82), {"name": "Hầm A"})
    assert build_pmtiles(name="secret-bunkers") == {"tiles": 0, "bytes": 0, "removed": False}
    assert not archives.archive_path("secret-bunkers").exists()
    unknown = client.get("/tiles/no-such-layer.pmtiles")
    for who in (client, admin_client):  # staff too: an archive is a public file
        hidden = who.get("/tiles/secret-bunkers.pmtiles")
        assert hidden.status_code == 404 and hidden.content == unknown.content
    for bad in ("/tiles/a%2Fb.pmtiles", "/tiles/" + "x" * 100 + ".pmtiles", "/tiles/p%00.pmtiles", "/tiles/elevation.pmtiles"):
        assert client.get(bad).status_code in (400, 404), bad
    build_pmtiles(name="parcels")
    assert archives.archive_path("parcels").exists()
    with django_capture_on_commit_callbacks(execute=True):
        parcels.is_public = False
        parcels.save()
    assert not archives.archive_path("parcels").exists()  # gone private: its archive goes at once
    assert client.get("/tiles/parcels.pmtiles").status_code == 404
    assert build_pmtiles(name="parcels")["tiles"] == 0
    water = make_layer(slug="canals")
    make_feature(water, square(106.76, 10.83), {})
    build_pmtiles(name="canals")
    assert archives.archive_path("canals").exists()
    with django_capture_on_commit_callbacks(execute=True):
        water.delete()
    assert not archives.archive_path("canals").exists()  # a deleted layer's archive goes with it


def test_an_empty_public_layer_gets_a_valid_empty_archive(parcels):
    make_layer(slug="empty-layer")
    report = archives.build_archive("empty-layer")
    assert report.tiles == 0 and report.bytes > 127
    reader, header, tiles = read_archive("empty-layer")
    assert tiles == {} and header["tile_type"] == TileType.MVT
    assert reader.metadata()["vector_layers"][0]["id"] == "empty-layer"


def test_the_basemap_archive_holds_the_live_basemap_tiles(client, demo_city, settings):
    settings.GISPORTAL_PMTILES_MAX_ZOOM = 11  # the demo city to z11: the test stays short
    report = archives.build_archive("basemap")
    assert report.tiles > 0
    reader, header, tiles = read_archive("basemap")
    slugs = [layer["id"] for layer in reader.metadata()["vector_layers"]]
    assert set(slugs) == {slug for slug, layer in demo_city.items() if layer.basemap_role}
    assert header["max_zoom"] == 11 and header["min_zoom"] == 9
    for (z, x, y), data in list(tiles.items())[::7]:
        response = client.get(f"/ogc/tiles/basemap/WebMercatorQuad/{z}/{y}/{x}", HTTP_ACCEPT_ENCODING="gzip")
        assert response.content == data, (z, x, y)
    frame = pyogrio.read_dataframe(str(archives.archive_path("basemap")), layer="water")
    assert len(frame) > 0


def test_manage_pmtiles_build(parcels, capsys):
    call_command("pmtiles", "build", "parcels")
    assert "parcels:" in capsys.readouterr().out and archives.archive_path("parcels").exists()
    call_command("pmtiles", "build", "--all")
    assert archives.archive_path("parcels").exists()
    for args in (("build",), ("build", "parcels", "--all"), ("build", "no-such-layer")):
        with pytest.raises(CommandError):
            call_command("pmtiles", *args)


def test_a_rebuild_purges_the_archive_from_the_front(parcels, settings):
    settings.GISPORTAL_FRONT_PURGE_URLS = "http://127.0.0.1:9/"
    before = last_job_id()
    build_pmtiles(name="parcels")
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT args FROM procrastinate_jobs WHERE task_name = 'tiles.purge_front' AND id > %s", [before])
        tags = [json.loads(a) if isinstance(a, str) else a for (a,) in cursor.fetchall()]
    assert {"url": "http://127.0.0.1:9/", "tags": "gp-pm-parcels"} in tags
