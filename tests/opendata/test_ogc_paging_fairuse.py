"""Fair use counts one sequential read by its features, a flood of distinct requests by requests.

GDAL 3.6 pages 10 features at a time by following next links; a per-request budget used to stop it after
OPENDATA_RATE_ANON pages. The limits are set low here, explicitly (tests/opendata/conftest.py raises them).
"""
import json
import re
import sqlite3
import urllib.error
import urllib.request

import pytest
from django.db import connection

from tests.clients import gdal, needs_gdal
from tests.factories import make_feature, make_layer, square

REQUESTS = 20  # the anonymous request budget of these tests
FEATURES = 250  # a layer bigger than that budget × GDAL's default page of 10


@pytest.fixture
def low_limits(opendata_settings):
    opendata_settings.OPENDATA_RATE_ANON = REQUESTS
    opendata_settings.OPENDATA_RATE_TOKEN = REQUESTS * 2
    opendata_settings.OPENDATA_RATE_WINDOW = 3600
    opendata_settings.OPENDATA_RATE_FEATURES_ANON = 1_000
    opendata_settings.OPENDATA_RATE_FEATURES_TOKEN = 2_000
    return opendata_settings


@pytest.fixture
def big(db):
    layer = make_layer(slug="wells-big", title_vi="Giếng khoan", title_en="Boreholes", geometry_type="Polygon")
    for i in range(FEATURES):
        make_feature(layer, square(106.70 + (i % 50) * 0.001, 10.80 + (i // 50) * 0.001),
                     {"tên": f"Giếng số {i}"}, refresh=i == FEATURES - 1)
    return layer


def fetch(url: str) -> tuple[int, dict, dict]:
    """(status, headers, JSON body) of a GET, 4xx included."""
    request = urllib.request.Request(url, headers={"Accept": "application/geo+json"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, dict(response.headers), json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), json.loads(error.read())


@needs_gdal
@pytest.mark.django_db(transaction=True)
def test_ogr2ogr_defaults_read_a_layer_past_the_request_budget_and_a_flood_is_still_429(live_server, low_limits, big,
                                                                                      tmp_path):
    out = tmp_path / "big.gpkg"
    gdal("ogr2ogr", "-f", "GPKG", str(out), f"OAPIF:{live_server.url}/ogc", "wells-big")  # no PAGE_SIZE: 10
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM layers_feature WHERE layer_id = %s", [big.pk])
        in_postgis = cursor.fetchone()[0]
    with sqlite3.connect(out) as db:
        assert db.execute('SELECT count(*) FROM "wells-big"').fetchone()[0] == in_postgis == FEATURES
        names = {row[0] for row in db.execute('SELECT "tên" FROM "wells-big"')}
    assert "Giếng số 0" in names and len(names) == FEATURES

    # Distinct requests (another offset each, as a scraper would send) still run out of the request budget.
    base = f"{live_server.url}/ogc/collections/wells-big/items"
    answers = [fetch(f"{base}?limit=1&offset={n}") for n in range(REQUESTS + 1)]
    status, headers, body = answers[-1]
    assert status == 429, [a[0] for a in answers]
    assert 0 < int(headers["Retry-After"]) <= 3600
    assert body["code"] == "rate-limited"
    assert "Too many requests" in body["description"] and "Quá nhiều yêu cầu" in body["description_vi"]


@pytest.mark.django_db
def test_following_next_links_counts_features_until_the_feature_budget_runs_out(client, low_limits, big):
    get = lambda url: client.get(url, HTTP_ACCEPT="application/geo+json")  # noqa: E731
    page = get("/ogc/collections/wells-big/items?limit=20").json()
    statuses = []
    for _ in range(FEATURES // 20 - 1):  # every page of the sequence, each link followed once
        nxt = next(link["href"] for link in page["links"] if link["rel"] == "next")
        assert "sig=" in nxt and nxt.startswith("http://testserver/")
        response = get(nxt)
        statuses.append(response.status_code)
        page = response.json()
    assert statuses == [200] * (FEATURES // 20 - 1)
    assert response["X-RateLimit-Limit"] == "1000"  # counted by features, not against the 20-request budget
    assert int(response["X-RateLimit-Remaining"]) == 1000 - 20 * (FEATURES // 20 - 1)
    low_limits.OPENDATA_RATE_FEATURES_ANON = 20 * (FEATURES // 20 - 1)  # the next page is one too many
    nxt = next(link["href"] for link in page["links"] if link["rel"] == "next")
    limited = get(nxt)
    assert limited.status_code == 429 and int(limited["Retry-After"]) > 0
    body = limited.json()
    assert "features read page by page" in body["description"] and "đối tượng" in body["description_vi"]
    # the request budget was spent once (the first page), not by the continuations
    assert get("/ogc/collections/wells-big/items?limit=5")["X-RateLimit-Remaining"] == str(REQUESTS - 2)


@pytest.mark.django_db
def test_a_replayed_next_link_counts_as_requests_after_a_retry(client, low_limits, big):
    """One page asked again and again is a flood, not a read: past one retry it spends the request budget."""
    get = lambda url: client.get(url, HTTP_ACCEPT="application/geo+json")  # noqa: E731
    first = get("/ogc/collections/wells-big/items?limit=1").json()
    nxt = next(link["href"] for link in first["links"] if link["rel"] == "next")
    answers = [get(nxt) for _ in range(REQUESTS + 2)]  # the first page spent one request of 20
    assert [a["X-RateLimit-Limit"] for a in answers[:2]] == ["1000", "1000"]  # the first use and a retry
    assert all(a["X-RateLimit-Limit"] == str(REQUESTS) for a in answers[2:-1])
    assert answers[-1].status_code == 429
    body = answers[-1].json()
    assert "Too many requests" in body["description"] and "Quá nhiều yêu cầu" in body["description_vi"]


@pytest.mark.django_db
@pytest.mark.parametrize("tamper", [
    lambda url: url.replace("limit=100", "limit=1000"),  # a bigger page than the server signed
    lambda url: url.replace("offset=100", "offset=150"),
    lambda url: url + "&tên=x",
    lambda url: url[:-4] + "abcd",  # a forged signature
    lambda url: re.sub(r"sig=\d*\.", "sig=1.", url),  # a forged numberMatched
])
def test_a_changed_next_link_is_a_distinct_request(client, low_limits, big, tamper):
    get = lambda url: client.get(url, HTTP_ACCEPT="application/geo+json")  # noqa: E731
    first = get("/ogc/collections/wells-big/items?limit=100").json()
    nxt = tamper(next(link["href"] for link in first["links"] if link["rel"] == "next"))
    response = get(nxt)
    assert response.status_code in (200, 400)
    assert response["X-RateLimit-Limit"] == str(REQUESTS)  # counted in the request budget, not by features
    assert int(response["X-RateLimit-Remaining"]) == REQUESTS - 2


def _counted_keys() -> set[str]:
    """The caller keys counted in Redis in any window (layers.rate_window.redis_key: rate:<seconds>:<key>)."""
    from layers import shared_store

    pattern = shared_store.key("rate", "*")
    head = len(shared_store.key("rate", ""))
    return {name.decode()[head:].split(":", 1)[1] for name in shared_store.client().scan_iter(match=pattern)}


@needs_gdal
@pytest.mark.django_db(transaction=True)
def test_gdal_with_a_token_in_the_address_or_a_header_counts_on_the_token(live_server, low_limits, big,
                                                                          django_user_model):
    from opendata.services import api_token_create

    token, key = api_token_create(user=django_user_model.objects.create_user("dev", password="x"), name="GDAL")
    data = json.loads(gdal("ogr2ogr", "-f", "GeoJSON", "/vsistdout/", f"OAPIF:{live_server.url}/ogc?api_key={key}",
                           "wells-big"))
    assert len(data["features"]) == FEATURES
    gdal("ogrinfo", "-ro", "-so", "--config", "GDAL_HTTP_HEADERS", f"Authorization: Bearer {key}",
         f"OAPIF:{live_server.url}/ogc", "wells-big")
    keys = _counted_keys()
    links = {key for key in keys if key.startswith(f"link|t:{token.pk}|")}  # each next link's uses
    assert len(links) >= FEATURES // 10 - 1  # GDAL follows 10-feature pages to the end
    assert keys - links == {f"t:{token.pk}", f"features|t:{token.pk}"}  # never counted on the IP


@pytest.mark.django_db
def test_a_signed_sequence_keeps_its_count_and_sorted_pages_are_not_signed(client, low_limits, big):
    get = lambda url, **q: client.get(url, q, HTTP_ACCEPT="application/geo+json").json()  # noqa: E731
    first = get("/ogc/collections/wells-big/items", limit=100)
    assert first["numberMatched"] == FEATURES
    make_feature(big, square(106.9, 10.9), {"tên": "Giếng mới"})  # the layer grows while a client reads it
    second = get(next(link["href"] for link in first["links"] if link["rel"] == "next"))
    assert second["numberMatched"] == FEATURES and second["numberReturned"] == 100  # the sequence's own count
    assert get("/ogc/collections/wells-big/items", limit=1)["numberMatched"] == FEATURES + 1  # a new read counts again
    seen = {f["id"] for page in (first, second) for f in page["features"]}
    assert len(seen) == 200
    ordered = get("/ogc/collections/wells-big/items", limit=100, sortby="-tên")
    nxt = next(link["href"] for link in ordered["links"] if link["rel"] == "next")
    assert "sig=" not in nxt  # offset paging re-sorts every page: a request each, not a discount
