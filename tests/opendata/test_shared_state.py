"""Rate counters, token use and page cursors in Redis: shared by every node, failing open when Redis is down."""
import logging
import time

import pytest
from django.core.management import call_command

from layers import rate_window, shared_store
from opendata import fairuse, seek, tokenuse
from opendata.models import ApiToken
from opendata.services import api_token_create

pytestmark = pytest.mark.django_db
GEOJSON = {"HTTP_ACCEPT": "application/geo+json"}


@pytest.fixture
def tight(opendata_settings):
    opendata_settings.OPENDATA_RATE_ANON = 3
    opendata_settings.OPENDATA_RATE_WINDOW = 3600
    return opendata_settings


@pytest.fixture
def redis_down(settings, tmp_path):
    """The process's Redis client pointed at a socket with no server behind it."""
    settings.REDIS_URL = f"unix://{tmp_path / 'no-redis.sock'}"
    return settings


def test_the_count_is_one_key_per_caller_whose_window_opens_at_its_first_request(client, parcels, tight):
    client.get("/ogc/conformance")
    client.get("/ogc/conformance")
    redis = shared_store.client()
    names = list(redis.scan_iter(match=shared_store.key("rate", "*")))
    assert names == [rate_window.redis_key("rate", "ip:127.0.0.1", 3600).encode()]
    assert int(redis.get(names[0])) == 2
    assert 3600 - 30 < redis.ttl(names[0]) <= 3600  # opened by the first request, not by the clock's hour
    assert fairuse.count_of("ip:127.0.0.1") == 2


def test_a_window_ends_with_its_key_and_the_next_count_opens_a_new_one(tight):
    redis = shared_store.client()
    first = rate_window.hit("rate", "ip:192.0.2.7", 3600, cost=3)
    assert (first.count, 3600 - 30 < first.resets_in <= 3600) == (3, True)
    name = rate_window.redis_key("rate", "ip:192.0.2.7", 3600)
    redis.pexpire(name, 50)  # the window closes
    time.sleep(0.2)
    again = rate_window.hit("rate", "ip:192.0.2.7", 3600)
    assert again.count == 1 and 3600 - 30 < redis.ttl(name) <= 3600  # a fresh window, never one without an end


def test_counts_are_atomic_across_clients(tight):
    # Two clients (two nodes' connection pools) counting the same key never lose an increment.
    import redis as redis_py
    from django.conf import settings

    other = redis_py.Redis.from_url(settings.REDIS_URL)
    rate_window.hit("rate", "ip:192.0.2.1", 3600)
    other.incrby(rate_window.redis_key("rate", "ip:192.0.2.1", 3600), 5)
    assert rate_window.hit("rate", "ip:192.0.2.1", 3600, cost=2).count == 8


def test_redis_down_admits_every_request_logs_once_and_never_fails(client, parcels, tight, redis_down, caplog):
    with caplog.at_level(logging.ERROR, logger="opendata.sharedstate"):
        codes = [client.get("/ogc/conformance").status_code for _ in range(5)]
        search = client.get("/api/search", {"q": "Thảo"})
        items = client.get("/ogc/collections/parcels/items", {"limit": 2, "offset": 2}, **GEOJSON)
    assert codes == [200] * 5  # past the limit of 3: fail open
    assert search.status_code == 200 and items.status_code == 200 and items.json()["numberReturned"] == 2
    assert search["X-RateLimit-Limit"] and items["X-RateLimit-Remaining"]
    logged = [record for record in caplog.records if record.name == "opendata.sharedstate"]
    assert len(logged) == 1 and "fails open" in logged[0].getMessage()


def test_a_token_in_use_is_recorded_in_redis_and_saved_by_the_operator(client, parcels, django_user_model):
    user = django_user_model.objects.create_user("dev", password="x")
    token, key = api_token_create(user=user, name="QGIS")
    assert client.get("/ogc/conformance", HTTP_AUTHORIZATION=f"Bearer {key}").status_code == 200
    token.refresh_from_db()
    assert token.last_used_at is None and token.pk in tokenuse.last_used([token.pk])  # no UPDATE on the GET
    client.force_login(user)
    page = client.get("/data/tokens/").content.decode()
    row = next(line for line in page.splitlines() if "<tr><td>QGIS</td>" in line)
    assert "—" not in row  # the token page shows the use Redis saw, not "never"
    call_command("token_last_use", stdout=open("/dev/null", "w"))
    assert ApiToken.objects.get(pk=token.pk).last_used_at == tokenuse.last_used([token.pk])[token.pk]


def test_a_token_with_redis_down_still_works(client, parcels, django_user_model, redis_down):
    _, key = api_token_create(user=django_user_model.objects.create_user("dev"), name="QGIS")
    assert client.get("/ogc/conformance", HTTP_AUTHORIZATION=f"Bearer {key}").status_code == 200
    assert client.get("/ogc/conformance", HTTP_AUTHORIZATION="Bearer gp_nope").status_code == 401


def test_a_page_cursor_is_remembered_for_a_while_not_stored(client, parcels):
    first = client.get("/ogc/collections/parcels/items", {"limit": 2}, **GEOJSON).json()
    redis = shared_store.client()
    (name,) = redis.scan_iter(match=seek.redis_key("*"))
    assert int(redis.get(name)) == first["features"][-1]["id"]
    redis.set(name, first["features"][0]["id"], ex=60)  # read on from where the memory says
    second = client.get("/ogc/collections/parcels/items", {"limit": 2, "offset": 2}, **GEOJSON).json()
    assert second["features"][0]["id"] == first["features"][1]["id"]
