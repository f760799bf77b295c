"""Sessions on Redis, written through to PostgreSQL (cached_db): every node sees a login at once without a
query per request, and a session Redis lost (eviction, restart) is read back from the table."""
import pytest
from django.contrib.sessions.backends.cached_db import KEY_PREFIX
from django.contrib.sessions.models import Session
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

pytestmark = pytest.mark.django_db
PAGE = "/data/tokens/"  # signed-in only


def test_a_login_is_in_redis_for_every_node_and_survives_losing_it(client, django_user_model):
    django_user_model.objects.create_user("planner", password="a-long-pass-phrase")
    assert client.post("/accounts/login/", {"username": "planner", "password": "a-long-pass-phrase"}).status_code == 302
    key = client.cookies["sessionid"].value
    assert cache.get(KEY_PREFIX + key) is not None and Session.objects.filter(session_key=key).exists()
    other_node = Client()  # another process's handler, the same cookie
    other_node.cookies["sessionid"] = key
    with CaptureQueriesContext(connection) as captured:
        assert other_node.get(PAGE).status_code == 200
    assert not any("django_session" in query["sql"] for query in captured.captured_queries)  # read from Redis
    cache.delete(KEY_PREFIX + key)  # evicted, or Redis restarted empty
    assert other_node.get(PAGE).status_code == 200
    assert client.post("/accounts/logout/").status_code in (200, 302)
    assert cache.get(KEY_PREFIX + key) is None and not Session.objects.filter(session_key=key).exists()
    assert other_node.get(PAGE).status_code == 302  # signed out everywhere


def test_with_redis_down_a_signed_in_editor_reads_the_table_and_can_sign_out(client, django_user_model, settings,
                                                                              tmp_path):
    user = django_user_model.objects.create_user("planner", password="a-long-pass-phrase")
    client.force_login(user)
    dead = f"unix://{tmp_path / 'no-redis.sock'}"
    settings.CACHES = {"default": {**settings.CACHES["default"], "LOCATION": dead}}  # sessions' cache
    settings.REDIS_URL = dead  # rate counters, token use
    assert client.get(PAGE).status_code == 200  # from the table, no 500
    assert client.post("/accounts/logout/").status_code in (200, 302)
    assert not Session.objects.exists()
    assert client.get(PAGE).status_code == 302
