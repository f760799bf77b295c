"""Export builds cannot be turned against the server: a bounded LRU cache, N builds at once, one build per file."""
import os
import threading

import psycopg2
import pytest
from django.db import connection

from opendata import exportlimits
from opendata.downloads import download_query
from opendata.files import cache_path

pytestmark = pytest.mark.django_db

WHOLE = [f"106.{i},10.0,107.0,11.0" for i in range(5)]  # five boxes around every parcel: five files of one size


def body(response) -> bytes:
    return b"".join(response.streaming_content)


@pytest.fixture
def other_session():
    """A second database session (another worker or node) that can hold advisory locks."""
    conn = psycopg2.connect(**connection.get_connection_params())
    conn.autocommit = True
    yield conn
    conn.close()


def _hold(conn, space: int, keys: list[int]) -> None:
    with conn.cursor() as cursor:
        for key in keys:
            cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", [space, key])
            assert cursor.fetchone()[0]


def _cached_files(settings) -> list:
    return [p for p in settings.OPENDATA_CACHE_DIR.rglob("*") if p.is_file()]


def _age(paths) -> None:
    """Gives the cached files distinct use times in list order (oldest first), whatever the clock's grain."""
    for i, path in enumerate(paths):
        if path.exists():
            os.utime(path, (1_000_000 + i, 1_000_000 + i))


def _total(settings) -> int:
    return sum(p.stat().st_size for p in _cached_files(settings))


def test_cache_never_exceeds_its_cap_and_evicts_the_least_recently_used(client, parcels, opendata_settings):
    paths = [cache_path_for(parcels, box) for box in WHOLE]
    assert client.get(f"/data/parcels.csv?bbox={WHOLE[0]}").status_code == 200
    size = paths[0].stat().st_size
    opendata_settings.OPENDATA_CACHE_MAX_BYTES = 3 * size + size // 2  # room for three files
    for n, box in enumerate(WHOLE[1:], start=1):
        _age(paths[:n])
        response = client.get(f"/data/parcels.csv?bbox={box}")
        assert response.status_code == 200 and len(body(response)) == size
        assert _total(opendata_settings) <= opendata_settings.OPENDATA_CACHE_MAX_BYTES
    assert [p.exists() for p in paths] == [False, False, True, True, True]
    # a cache hit counts as a use: the file read last survives the next eviction, the least recently used goes
    _age(paths)
    body(client.get(f"/data/parcels.csv?bbox={WHOLE[2]}"))
    body(client.get(f"/data/parcels.csv?bbox={WHOLE[0]}"))
    assert [p.exists() for p in paths] == [True, False, True, False, True]
    assert _total(opendata_settings) <= opendata_settings.OPENDATA_CACHE_MAX_BYTES


def cache_path_for(layer, box: str):
    from django.contrib.auth.models import AnonymousUser
    from django.test import RequestFactory

    request = RequestFactory().get("/data/parcels.csv", {"bbox": box})
    request.user = AnonymousUser()  # the public's file: personal fields are part of the cache key
    return cache_path(download_query(request, layer), "csv")


def test_a_file_bigger_than_the_cap_is_served_and_not_kept(client, parcels, opendata_settings):
    opendata_settings.OPENDATA_CACHE_MAX_BYTES = 10
    response = client.get("/data/parcels.gpkg")
    assert response.status_code == 200 and body(response)[:16] == b"SQLite format 3\x00"
    assert _cached_files(opendata_settings) == []


def test_builds_beyond_the_slots_get_503_with_retry_after(client, parcels, opendata_settings, other_session):
    opendata_settings.OPENDATA_EXPORT_BUILDS = 2
    opendata_settings.OPENDATA_EXPORT_WAIT = 0
    opendata_settings.OPENDATA_EXPORT_RETRY_AFTER = 45
    assert client.get("/data/parcels.gpkg").status_code == 200  # cached before the slots fill
    _hold(other_session, exportlimits.SLOT_SPACE, [0, 1])  # two builds run elsewhere
    busy = client.get("/data/parcels.gpkg?bbox=106.72,10.79,106.74,10.81")
    assert busy.status_code == 503 and busy["Retry-After"] == "45"
    assert busy.json()["code"] == "service-unavailable"
    assert "thử lại" in busy.json()["description_vi"] and "try again" in busy.json()["description"]
    assert busy["Access-Control-Allow-Origin"] == "*"
    assert len(_cached_files(opendata_settings)) == 1  # nothing half-built left behind
    assert client.get("/data/parcels.gpkg").status_code == 200  # a cached file needs no slot
    with other_session.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_unlock(%s, 1)", [exportlimits.SLOT_SPACE])
    assert client.get("/data/parcels.gpkg?bbox=106.72,10.79,106.74,10.81").status_code == 200
    with connection.cursor() as cursor:  # the build gave its slot back
        cursor.execute("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND classid = %s AND pid = pg_backend_pid()",
                       [exportlimits.SLOT_SPACE])
        assert cursor.fetchone()[0] == 0


def test_slot_count_is_a_setting(client, parcels, opendata_settings, other_session):
    opendata_settings.OPENDATA_EXPORT_BUILDS = 3
    opendata_settings.OPENDATA_EXPORT_WAIT = 0
    _hold(other_session, exportlimits.SLOT_SPACE, [0, 1])
    assert client.get("/data/parcels.kml").status_code == 200  # the third slot is free


def test_a_file_being_built_elsewhere_is_not_built_twice(client, parcels, opendata_settings, other_session):
    opendata_settings.OPENDATA_EXPORT_WAIT = 0
    path = cache_path_for(parcels, WHOLE[0])
    _hold(other_session, exportlimits.FILE_SPACE, [exportlimits.file_key(str(path))])
    busy = client.get(f"/data/parcels.csv?bbox={WHOLE[0]}")
    assert busy.status_code == 503 and int(busy["Retry-After"]) > 0
    assert not path.exists()


@pytest.mark.django_db(transaction=True)  # the waiting request runs in its own thread and connection
def test_a_request_waits_for_the_same_files_build_and_serves_its_result(parcels, opendata_settings, other_session):
    from django.test import Client

    opendata_settings.OPENDATA_EXPORT_WAIT = 60
    path = cache_path_for(parcels, WHOLE[0])
    _hold(other_session, exportlimits.FILE_SPACE, [exportlimits.file_key(str(path))])  # "another worker builds it"
    result = {}

    def fetch():
        try:
            response = Client().get(f"/data/parcels.csv?bbox={WHOLE[0]}")
            result["status"], result["body"] = response.status_code, body(response)
        finally:
            connection.close()

    waiter = threading.Thread(target=fetch)
    waiter.start()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"built by the other worker\n")  # its build finishes ...
    with other_session.cursor() as cursor:  # ... and it lets go of the file
        cursor.execute("SELECT pg_advisory_unlock_all()")
    waiter.join(timeout=60)
    assert result == {"status": 200, "body": b"built by the other worker\n"}
