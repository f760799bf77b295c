"""A PMTiles archive through the Varnish front and the real job worker: read by byte ranges (206 from the front's
copy), an edit queues the rebuild, the worker writes the new archive and purges it from the front, and the next
range reads the new archive (its tile shows the edit), never a mix of the two."""
import gzip
import subprocess
import sys

import mapbox_vector_tile
import pytest
from django.contrib.auth.models import User
from django.db import connection
from pmtiles.reader import MemorySource, Reader, all_tiles

from bench.cluster_front import get
from layers.editing import feature_update
from layers.models import Feature
from tests.cluster.tile_front import clear_tile_jobs, node_env, start_front, start_node
from tests.factories import make_feature, make_layer, square
from tests.faults.cluster import ROOT
from tiles import archives
from tiles.redis_cache import RedisCache

pytestmark = pytest.mark.django_db(transaction=True)
LON, LAT = 106.7700, 10.8500


def clear_archive_jobs() -> None:
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM procrastinate_jobs WHERE task_name = 'tiles.build_pmtiles'")


def run_archive_worker(env: dict[str, str]) -> None:
    """The real worker, once, on the archives' queue and the tiles' (the purges a build queues)."""
    result = subprocess.run([sys.executable, str(ROOT / "manage.py"), "procrastinate", "worker", "--one-shot",
                             "--queues", "pmtiles,tiles"], env=env, cwd=ROOT, capture_output=True, text=True,
                            timeout=180, start_new_session=True)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]


def ranged(base: str, first: int, last: int, **headers: str) -> tuple[int, dict, bytes]:
    return get(f"{base}/tiles/zones.pmtiles", {"Range": f"bytes={first}-{last}", **headers})


def archive_via_ranges(base: str) -> Reader:
    """The archive as a client reads it: header first, then the rest, by two range requests."""
    status, headers, head = ranged(base, 0, 126)
    assert status == 206 and len(head) == 127, (status, headers)
    size = int(headers["Content-Range"].rsplit("/", 1)[1])
    status, _, rest = ranged(base, 127, size - 1)
    assert status == 206
    return Reader(MemorySource(head + rest))


def land_uses(reader: Reader) -> set[str]:
    found = set()
    for _, data in all_tiles(reader.get_bytes):
        for feature in mapbox_vector_tile.decode(gzip.decompress(data))["zones"]["features"]:
            found.add(feature["properties"].get("land_use"))
    return found


@pytest.fixture
def cluster(tmp_path, settings):
    RedisCache().clear()
    clear_tile_jobs()
    clear_archive_jobs()
    archives = tmp_path / "pmtiles"
    node = start_node(node_env(tmp_path, GISPORTAL_PMTILES_DIR=str(archives)))
    varnish = None
    try:
        varnish = start_front([node.port])
        settings.GISPORTAL_FRONT_PURGE_URLS = varnish.base + "/"
        settings.GISPORTAL_PMTILES_DIR = archives
        settings.GISPORTAL_PMTILES_DELAY = 0
        settings.GISPORTAL_PMTILES_MAX_ZOOM = 15
        worker = node_env(tmp_path, GISPORTAL_PMTILES_DIR=str(archives), GISPORTAL_PMTILES_MAX_ZOOM="15",
                          GISPORTAL_FRONT_PURGE_URLS=varnish.base + "/", GISPORTAL_FRONT_PURGE_TIMEOUT="2")
        yield varnish, worker
    finally:
        if varnish is not None:
            varnish.stop()
        node.stop()
        clear_tile_jobs()
        clear_archive_jobs()
        RedisCache().clear()


def test_archive_through_the_front_is_rebuilt_and_purged_after_an_edit(cluster):
    varnish, worker = cluster
    layer = make_layer(slug="zones", min_zoom=12, max_zoom=18,
                       schema=[{"name": "land_use", "type": "text", "label_vi": "Loại đất", "label_en": "Land use",
                                "display": True}])
    feature = make_feature(layer, square(LON, LAT, 0.0004), {"land_use": "ODT"})

    status, headers, body = get(f"{varnish.base}/tiles/zones.pmtiles")
    assert status == 404 and headers["Cache-Control"] == "no-store"  # not built yet (a GET queues nothing)
    archives.queue_build("zones", delay=0)  # as the release step's `pmtiles build --all --queue` does
    run_archive_worker(worker)
    first = archive_via_ranges(varnish.base)
    assert land_uses(first) == {"ODT"}
    status, headers, _ = ranged(varnish.base, 0, 126)
    assert status == 206 and headers.get("X-Cache") == "HIT"  # the front serves ranges of its copy
    etag = headers["ETag"]

    admin = User.objects.create_superuser("pmtiles-front-admin")
    current = Feature.objects.get(pk=feature.pk)
    feature_update(layer=layer, feature_id=feature.pk, expected_version=current.version, user=admin,
                   properties={"land_use": "TMD"})
    assert land_uses(archive_via_ranges(varnish.base)) == {"ODT"}  # the old archive until the new one lands
    run_archive_worker(worker)  # builds, then (same run) purges the front
    status, headers, _ = ranged(varnish.base, 0, 126)
    assert status == 206 and headers["ETag"] != etag
    assert land_uses(archive_via_ranges(varnish.base)) == {"TMD"}
    stale = ranged(varnish.base, 0, 126, **{"If-Range": etag})  # a client holding the old ETag
    assert stale[0] == 200 or stale[1]["ETag"] != etag  # never old-archive bytes under a range of the new
