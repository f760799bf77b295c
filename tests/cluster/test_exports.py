"""One new export asked for at once through two web nodes is built once, on the shared directory, and both get it."""
import threading

import pytest
import requests
from django.db import connection, connections

from layers.services import layer_refresh_stats
from opendata import exportlimits
from tests.cluster.workers import LoggedGunicorn
from tests.factories import make_feature, make_parcel_layer, square
from tests.faults.helpers import child_env, wait_until

pytestmark = pytest.mark.django_db(transaction=True)


def _polling(space: int) -> int:
    """Sessions of the nodes whose last statement tried a lock of this space (psycopg2 sends values inline)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE pid <> pg_backend_pid() AND datname = current_database() "
                       "AND query LIKE %s", [f"SELECT pg_try_advisory_xact_lock({space},%"])
        return cursor.fetchone()[0]


def test_two_nodes_asking_for_one_new_file_at_once_build_it_once(tmp_path):
    layer = make_parcel_layer(slug="cluster-export")
    for n in range(5):
        make_feature(layer, square(106.73 + n / 1000, 10.80), {"ward_code": "26794", "map_sheet": 1, "parcel_no": n + 1,
                                                              "land_use": "ODT", "legal_area": 100.0}, refresh=False)
    layer_refresh_stats(layer=layer)
    env = child_env(GISPORTAL_SHARED_DIR=str(tmp_path / "shared"), GISPORTAL_TILE_CACHE_DIR=str(tmp_path / "tiles"),
                    OPENDATA_EXPORT_BUILDS="1", OPENDATA_EXPORT_WAIT="120")
    nodes = [LoggedGunicorn(env, tmp_path / f"node-{n}.log") for n in "ab"]
    holder = connections.create_connection("default")
    answers: dict[str, tuple[int, bytes]] = {}

    def fetch(node) -> None:
        response = requests.get(f"{node.base}/data/cluster-export.gpkg", timeout=180)
        answers[node.base] = (response.status_code, response.content)

    threads = [threading.Thread(target=fetch, args=(node,)) for node in nodes]
    try:
        for node in nodes:
            node.wait_ready()
        with holder.cursor() as cursor:  # the only build slot, busy: the first request holds the file and waits
            cursor.execute("SELECT pg_advisory_lock(%s, 0)", [exportlimits.SLOT_SPACE])
        for thread in threads:
            thread.start()
        wait_until(lambda: _polling(exportlimits.SLOT_SPACE) == 1 and _polling(exportlimits.FILE_SPACE) == 2,
                   seconds=120, what="one node waiting for a slot, the other for the file")
        holder.close()  # the slot comes free: one build, then the waiting node finds the file
        for thread in threads:
            thread.join(timeout=180)
    finally:
        for node in nodes:  # first: nothing left running, whatever else fails
            node.stop()
        holder.close()
    statuses = {status for status, _ in answers.values()}
    bodies = {body for _, body in answers.values()}
    assert len(answers) == 2 and statuses == {200} and len(bodies) == 1, answers.keys()
    assert next(iter(bodies))[:16] == b"SQLite format 3\x00"
    logs = "".join(node.output() for node in nodes)
    assert logs.count("export built: cluster-export/") == 1, logs[-3000:]
    assert len(list((tmp_path / "shared" / "exports" / "cluster-export").glob("*.gpkg"))) == 1
