"""Addresses clients can follow: absolute redirects on every door, every OGC path with and without its
trailing slash, absolute links in every OGC document, and the server's page maximum honoured and announced."""
import pytest

pytestmark = pytest.mark.django_db
HOST = "http://testserver/"
JSON = {"HTTP_ACCEPT": "application/json"}


def test_ogc_without_slash_is_the_landing_page_not_a_redirect(client, parcels):
    bare, slashed = client.get("/ogc", **JSON), client.get("/ogc/", **JSON)
    assert bare.status_code == slashed.status_code == 200
    assert bare.json() == slashed.json()
    assert client.get("/ogc?f=html").status_code == 200


@pytest.mark.parametrize("path", [
    "/ogc/conformance", "/ogc/api", "/ogc/docs", "/ogc/collections", "/ogc/collections/parcels",
    "/ogc/collections/parcels/queryables", "/ogc/collections/parcels/items",
])
def test_every_ogc_path_answers_with_and_without_trailing_slash(client, parcels, path):
    plain, slashed = client.get(path, **JSON), client.get(path + "/", **JSON)
    assert plain.status_code == slashed.status_code == 200, path
    assert plain["Content-Type"] == slashed["Content-Type"]
    if "json" in plain["Content-Type"]:
        a, b = plain.json(), slashed.json()
        a.pop("timeStamp", None), b.pop("timeStamp", None)
        assert a == b


def test_one_item_with_and_without_slash_and_unknown_paths_stay_404(client, parcels, secret):
    fid = client.get("/ogc/collections/parcels/items", **JSON).json()["features"][0]["id"]
    assert client.get(f"/ogc/collections/parcels/items/{fid}/", **JSON).json()["id"] == fid
    for path in ("/ogc/nope", "/ogc/nope/", "/ogc/collections/secret-bunkers/", "/ogc/collections/parcels/items/x/"):
        response = client.get(path, **JSON)
        assert response.status_code == 404 and "Location" not in response, path


def _links(doc) -> list[str]:
    """Every href in a JSON document, however deep."""
    if isinstance(doc, dict):
        return ([doc["href"]] if isinstance(doc.get("href"), str) else []) + [h for v in doc.values() for h in _links(v)]
    if isinstance(doc, list):
        return [h for v in doc for h in _links(v)]
    return []


def test_every_link_of_every_ogc_document_is_absolute(client, parcels, points):
    fid = client.get("/ogc/collections/parcels/items", **JSON).json()["features"][0]["id"]
    seen = 0
    for path in ("/ogc", "/ogc/conformance", "/ogc/collections", "/ogc/collections/parcels",
                 "/ogc/collections/parcels/queryables", "/ogc/collections/parcels/items?limit=2&offset=2",
                 f"/ogc/collections/parcels/items/{fid}", "/ogc/collections/wells/items"):
        doc = client.get(path, **JSON).json()
        for href in _links(doc):
            assert href.startswith(HOST), (path, href)
            seen += 1
        if "$id" in doc:
            assert doc["$id"].startswith(HOST)
    assert seen > 20
    api = client.get("/ogc/api").json()
    assert all(server["url"].startswith(HOST) for server in api["servers"])


def test_links_follow_the_proxy_settings_django_honours(client, parcels, settings):
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    settings.USE_X_FORWARDED_HOST = True
    settings.ALLOWED_HOSTS = ["testserver", "gis.example.vn"]
    settings.GISPORTAL_TRUSTED_PROXIES = ["127.0.0.0/8"]  # the test client's peer is the trusted front
    proxied = {"HTTP_X_FORWARDED_PROTO": "https", "HTTP_X_FORWARDED_HOST": "gis.example.vn"}
    doc = client.get("/ogc/collections", **JSON, **proxied).json()
    assert all(href.startswith("https://gis.example.vn/ogc/") for href in _links(doc) if "/ogc/" in href)
    assert client.get("/tra-cuu", **proxied)["Location"] == "https://gis.example.vn/tra-cuu/"


def test_proxy_headers_from_an_untrusted_peer_are_ignored(client, parcels, settings):
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    settings.USE_X_FORWARDED_HOST = True
    settings.ALLOWED_HOSTS = ["testserver", "gis.example.vn", "evil.example"]
    settings.GISPORTAL_TRUSTED_PROXIES = ["10.0.0.0/8"]
    spoofed = {"HTTP_X_FORWARDED_PROTO": "https", "HTTP_X_FORWARDED_HOST": "evil.example", "REMOTE_ADDR": "203.0.113.9"}
    doc = client.get("/ogc/collections", **JSON, **spoofed).json()
    links = [href for href in _links(doc) if "/ogc/" in href]
    assert links and all(href.startswith("http://testserver/ogc/") for href in links)
    assert client.get("/tra-cuu", **spoofed)["Location"] == "http://testserver/tra-cuu/"
    through_front = {**spoofed, "REMOTE_ADDR": "10.1.2.3", "HTTP_X_FORWARDED_HOST": "gis.example.vn"}
    assert client.get("/tra-cuu", **through_front)["Location"] == "https://gis.example.vn/tra-cuu/"


@pytest.mark.parametrize("method, path, data, target", [
    ("get", "/tra-cuu", None, "/tra-cuu/"),  # APPEND_SLASH
    ("get", "/data", None, "/data/"),
    ("get", "/data/tokens/", None, "/accounts/login/?next=/data/tokens/"),  # login required
    ("get", "/admin/", None, "/admin/login/?next=/admin/"),
    ("post", "/i18n/setlang/", {"language": "en", "next": "/data/"}, "/data/"),  # the language switch
])
def test_every_redirect_carries_an_absolute_location(client, parcels, method, path, data, target):
    response = getattr(client, method)(path, data) if data else getattr(client, method)(path)
    assert response.status_code in (301, 302), (path, response.status_code)
    assert response["Location"] == HOST.rstrip("/") + target


def test_a_limit_above_the_maximum_is_clamped_and_said(client, parcels, settings):
    settings.OPENDATA_OGC_MAX_LIMIT = 3
    response = client.get("/ogc/collections/parcels/items", {"limit": 1000}, HTTP_ACCEPT="application/geo+json")
    assert response.status_code == 200
    data = response.json()
    assert data["numberReturned"] == 3 and data["limitApplied"] == 3 and data["numberMatched"] == 5
    links = {link["rel"]: link["href"] for link in data["links"]}
    assert "limit=3" in links["next"] and "limit=3" in links["self"] and "1000" not in links["next"]
    rest = client.get(links["next"], HTTP_ACCEPT="application/geo+json").json()
    assert rest["numberReturned"] == 2 and "limitApplied" not in rest
    huge = client.get("/ogc/collections/parcels/items", {"limit": "9" * 30}, HTTP_ACCEPT="application/geo+json")
    assert huge.status_code == 200 and huge.json()["numberReturned"] == 3
    limit = next(p for p in client.get("/ogc/api").json()["paths"]["/collections/{collectionId}/items"]["get"]
                 ["parameters"] if p["name"] == "limit")
    assert limit["schema"]["maximum"] == 3 and limit["schema"]["default"] == 3
    assert client.get("/ogc/collections/parcels/items", HTTP_ACCEPT="application/geo+json").json()["numberReturned"] == 3
    docs = client.get("/ogc/docs").content.decode()
    assert "Mỗi trang tối đa 3 đối tượng" in docs and "At most 3 features a page" in docs
