"""Restricted layers: invisible (404, nothing revealed) to the public and to users without a grant, everywhere."""
import pytest

from layers.models import LayerGrant

pytestmark = pytest.mark.django_db

PATHS = ["/data/secret-bunkers/", "/data/secret-bunkers.geojson", "/data/secret-bunkers.gpkg",
         "/ogc/collections/secret-bunkers", "/ogc/collections/secret-bunkers/items",
         "/ogc/collections/secret-bunkers/queryables"]
LISTINGS = ["/data/", "/data/?q=ham", "/ogc/collections", "/ogc/api", "/data/catalog.jsonld", "/data.json"]


def test_users_without_a_grant_see_nothing(client, django_user_model, parcels, secret):
    client.force_login(django_user_model.objects.create_user("nobody", password="x"))
    for path in PATHS:
        response = client.get(path)
        assert response.status_code == 404, path
        assert b"secret" not in response.content and "Hầm".encode() not in response.content
    for path in LISTINGS:
        assert b"secret-bunkers" not in client.get(path).content, path


def test_a_grant_opens_the_layer_but_never_the_harvest_documents(client, django_user_model, parcels, secret):
    user = django_user_model.objects.create_user("planner", password="x")
    LayerGrant.objects.create(layer=secret, user=user)
    client.force_login(user)
    for path in PATHS:
        assert client.get(path).status_code == 200, path
    assert b"secret-bunkers" in client.get("/ogc/collections").content
    assert "private" in client.get("/ogc/collections").headers["Cache-Control"]
    assert "private" in client.get("/ogc/collections/secret-bunkers/items").headers["Cache-Control"]
    for path in ("/data/catalog.jsonld", "/data.json"):
        assert b"secret-bunkers" not in client.get(path).content, path


def test_head_download_sends_headers_without_a_body(client, parcels):
    response = client.head("/data/parcels.geojson")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/geo+json"
    assert response.content == b""
