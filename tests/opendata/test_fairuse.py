"""Fair use: per-IP limits with 429 + Retry-After, tokens that raise them, CORS, and the token page."""
import re

import pytest

from opendata.fairuse import count_of
from opendata.models import ApiToken
from opendata.tokenuse import last_used

pytestmark = pytest.mark.django_db


@pytest.fixture
def tight(opendata_settings):
    opendata_settings.OPENDATA_RATE_ANON = 3
    opendata_settings.OPENDATA_RATE_TOKEN = 6
    opendata_settings.OPENDATA_RATE_WINDOW = 3600
    return opendata_settings


def test_anonymous_callers_get_429_with_retry_after(client, parcels, tight):
    codes = [client.get("/ogc/collections").status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    limited = client.get("/ogc/collections")
    assert limited.status_code == 429
    assert 3600 - 60 < int(limited["Retry-After"]) <= 3600  # the window opened at the first request
    assert limited.json()["code"] == "rate-limited"
    assert limited["Access-Control-Allow-Origin"] == "*"
    # another IP has its own budget
    assert client.get("/ogc/collections", REMOTE_ADDR="10.0.0.9").status_code == 200


def test_counter_is_shared_in_redis(client, parcels, tight):
    client.get("/data/parcels.geojson")
    client.get("/ogc/")
    assert count_of("ip:127.0.0.1") == 2


def test_token_raises_the_limit_and_bad_token_is_401(client, django_user_model, parcels, tight):
    from opendata.services import api_token_create

    user = django_user_model.objects.create_user("dev", password="x")
    _, key = api_token_create(user=user, name="laptop")
    codes = [client.get("/ogc/collections", HTTP_AUTHORIZATION=f"Bearer {key}").status_code for _ in range(7)]
    assert codes == [200] * 6 + [429]
    assert client.get("/ogc/collections", HTTP_X_API_KEY=key).status_code == 429  # same token, same budget
    assert client.get("/ogc/collections", HTTP_AUTHORIZATION="Bearer nope").status_code == 401
    token = ApiToken.objects.get()
    assert token.pk in last_used([token.pk]) and token.last_used_at is None  # in Redis, no UPDATE on a GET


def test_cors_and_preflight(client, parcels):
    response = client.options("/ogc/collections/parcels/items")
    assert response.status_code == 204
    assert "Authorization" in response["Access-Control-Allow-Headers"]
    response = client.get("/data/parcels.geojson")
    assert response["Access-Control-Allow-Origin"] == "*"
    assert "Content-Crs" in response["Access-Control-Expose-Headers"]
    assert client.post("/ogc/collections").status_code == 405


def test_token_page_creates_shows_once_and_revokes(client, django_user_model, parcels):
    assert client.get("/data/tokens/").status_code == 302  # login first
    user = django_user_model.objects.create_user("dev", password="x")
    client.force_login(user)
    html = client.post("/data/tokens/", {"name": "QGIS"}).content.decode()
    key = re.search(r'<code id="new-token">([^<]+)</code>', html).group(1)
    assert key.startswith("gp_")
    token = ApiToken.objects.get()
    assert token.key_hash != key and key not in client.get("/data/tokens/").content.decode()
    client.logout()
    assert client.get("/ogc/", HTTP_AUTHORIZATION=f"Bearer {key}").status_code == 200
    client.force_login(user)
    client.post("/data/tokens/", {"revoke": str(token.pk)})
    client.logout()
    assert client.get("/ogc/", HTTP_AUTHORIZATION=f"Bearer {key}").status_code == 401


def test_cannot_revoke_someone_elses_token(client, django_user_model):
    from opendata.services import api_token_create

    owner = django_user_model.objects.create_user("a", password="x")
    token, _ = api_token_create(user=owner, name="mine")
    client.force_login(django_user_model.objects.create_user("b", password="x"))
    assert client.post("/data/tokens/", {"revoke": str(token.pk)}).status_code == 404
    assert not ApiToken.objects.get().revoked
