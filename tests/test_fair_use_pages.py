"""The costly doors outside the open-data API: search, click-to-see, history and diff are rate-limited per caller,
and a layer's diff comes a page at a time."""
import datetime as dt
from urllib.parse import urlsplit

import pytest
from django.urls import reverse

from opendata.fairuse import count_of
from tests.factories import age_history, make_feature, make_parcel_layer, square

pytestmark = pytest.mark.django_db
PARCEL = {"ward_code": "27088", "map_sheet": 1, "land_use": "ODT", "legal_area": 100.0}


@pytest.fixture
def layer():
    layer = make_parcel_layer(slug="paged-parcels")
    for n in range(1, 6):
        feature = make_feature(layer, square(106.75 + n * 0.001, 10.80), {**PARCEL, "parcel_no": n}, refresh=False)
        age_history(feature.pk, 3)
    return layer


@pytest.fixture
def tight(settings):
    settings.OPENDATA_RATE_SEARCH_ANON = 3
    settings.OPENDATA_RATE_HISTORY_ANON = 2
    settings.OPENDATA_RATE_WINDOW = 3600
    return settings


def _assert_limited(response, window: int = 3600) -> None:
    assert response.status_code == 429
    assert 0 < int(response["Retry-After"]) <= window
    body = response.json()
    assert body["code"] == "rate-limited" and "giây" in body["description_vi"] and " s" in body["description"]
    assert response["X-RateLimit-Remaining"] == "0"


def test_search_and_click_to_see_share_a_limit_per_ip(client, layer, tight):
    at = {"lon": "106.7515", "lat": "10.8002", "layers": layer.slug}
    codes = [client.get(reverse("search-api"), {"q": "không có gì"}).status_code for _ in range(2)]
    codes.append(client.get(reverse("features-at"), at).status_code)
    assert codes == [200, 200, 200]
    _assert_limited(client.get(reverse("search-api"), {"q": "zzzz"}))
    _assert_limited(client.get(reverse("features-at"), at))
    assert client.get(reverse("search"), {"q": "abc"}, HTTP_ACCEPT="text/html").status_code == 429  # the page too
    assert client.get(reverse("search-api"), {"q": "zzzz"}, REMOTE_ADDR="10.1.2.3").status_code == 200  # another IP
    assert count_of("search|ip:127.0.0.1", "search") >= 4


def test_search_limit_never_exceeds_the_api_limit(client, layer, settings):
    settings.OPENDATA_RATE_ANON = 2
    settings.OPENDATA_RATE_WINDOW = 3600
    assert [client.get(reverse("search-api"), {"q": "abc"}).status_code for _ in range(3)] == [200, 200, 429]


def test_signed_in_users_get_a_higher_limit(client, layer, tight, django_user_model):
    client.force_login(django_user_model.objects.create_user("resident"))
    tight.OPENDATA_RATE_SEARCH_TOKEN = 5
    assert [client.get(reverse("search-api"), {"q": "abc"}).status_code for _ in range(6)] == [200] * 5 + [429]


def test_history_and_diff_pages_are_rate_limited(client, layer, tight):
    feature_id = layer.features.order_by("id").first().pk
    assert client.get(reverse("feature-history", args=[layer.slug, feature_id])).status_code == 200
    assert client.get(reverse("layer-diff", args=[layer.slug])).status_code == 200
    _assert_limited(client.get(reverse("layer-diff", args=[layer.slug]), {"from": "2000-01-01", "f": "geojson"}))
    assert client.get(reverse("feature-history", args=[layer.slug, feature_id])).status_code == 429


def test_diff_comes_a_page_at_a_time_with_next_links(client, layer):
    url = reverse("layer-diff", args=[layer.slug]) + "?from=2000-01-01&limit=2&f=geojson"
    seen, pages = [], 0
    while url:
        response = client.get(url)
        assert response.status_code == 200
        data = response.json()
        assert len(data["features"]) <= 2 and data["numberReturned"] == len(data["features"])
        seen += [f["id"] for f in data["features"]]
        nxt = [link["href"] for link in data["links"] if link["rel"] == "next"]
        url = (lambda parts: f"{parts.path}?{parts.query}")(urlsplit(nxt[0])) if nxt else None
        assert bool(nxt) == ("Link" in response)
        pages += 1
    assert pages == 3 and seen == sorted(seen) and sorted(seen) == sorted(layer.features.values_list("id", flat=True))


def test_diff_defaults_to_a_bounded_page(client, layer, monkeypatch):
    from editor import pages

    monkeypatch.setattr(pages, "DIFF_PAGE", 3)
    data = client.get(reverse("layer-diff", args=[layer.slug]), {"from": "2000-01-01", "f": "geojson"}).json()
    assert len(data["features"]) == 3 and data["links"]
    html = client.get(reverse("layer-diff", args=[layer.slug]), {"from": "2000-01-01"}).content.decode()
    assert 'rel="next"' in html and "after=" in html


def test_the_next_page_keeps_the_times_of_the_first(client, layer):
    data = client.get(reverse("layer-diff", args=[layer.slug]), {"from": "2000-01-01", "limit": 1, "f": "geojson"}).json()
    query = urlsplit(data["links"][0]["href"]).query
    assert "to=" in query and "from=2000-01-01" in query  # 'to' defaulted to now: pinned, not moving on


@pytest.mark.parametrize("query", ["limit=0", "limit=100000", "limit=abc", "limit=1.5", "after=-1", "after=x",
                                   "limit=" + "9" * 40, "limit=\u0661"])
def test_bad_page_parameters_are_400_in_both_languages(client, layer, query):
    response = client.get(reverse("layer-diff", args=[layer.slug]) + f"?from=2000-01-01&f=geojson&{query}")
    assert response.status_code == 400
    body = response.json()
    assert body["parameter"] == query.split("=")[0] and body["description_vi"] and body["description"]


def test_diff_of_a_page_matches_the_whole(layer):
    from layers.history import layer_diff

    since, until = dt.datetime(2000, 1, 1, tzinfo=dt.timezone.utc), dt.datetime.now(dt.timezone.utc)
    whole = layer_diff(layer, since, until)
    first = layer_diff(layer, since, until, limit=2)
    rest = layer_diff(layer, since, until, after=max(r["id"] for r in first["added"]))
    assert [r["id"] for r in first["added"] + rest["added"]] == [r["id"] for r in whole["added"]]
