"""The residents' lookup pages and JSON APIs, through Django's test client."""
import re

import pytest
from django.urls import reverse

from layers.models import Feature

pytestmark = pytest.mark.django_db
HTML = {"HTTP_ACCEPT": "text/html"}


@pytest.fixture
def parcel(demo_city):
    return Feature.objects.filter(layer=demo_city["parcels"]).order_by("id")[200]


def _url(parcel):
    p = parcel.properties
    return reverse("parcel", kwargs={"ward": p["ward_code"], "sheet": p["map_sheet"], "number": p["parcel_no"]})


def test_lookup_by_former_ward_without_diacritics_redirects_to_the_parcel(client, parcel):
    from layers.wards import fold, ward_by_code

    ward = ward_by_code(None, parcel.properties["ward_code"])
    response = client.get(reverse("lookup"), {"ward": fold(ward.name), "sheet": parcel.properties["map_sheet"],
                                              "parcel": parcel.properties["parcel_no"]})
    assert response.status_code == 302 and response["Location"] == "http://testserver" + _url(parcel)


def test_parcel_page_shows_zones_adding_up_to_the_area(client, parcel):
    response = client.get(_url(parcel), **HTML)
    assert response.status_code == 200
    html = response.content.decode()
    areas = [float(a) for a in re.findall(r'data-area="([0-9.]+)"', html)]
    assert areas and sum(areas) == pytest.approx(parcel.properties["legal_area"], rel=0.01)
    assert "không phải" in html.lower() or "not a legal certificate" in html  # the disclaimer, in either language
    assert 'id="parcel-data"' in html and "<script>" not in html.replace('<script src=', '')


def test_letters_where_numbers_belong_get_a_message_not_a_500(client):
    response = client.get(reverse("lookup"), {"ward": "Thảo Điền", "sheet": "mười hai", "parcel": "5"}, **HTML)
    assert response.status_code == 400
    assert 'id="sheet-error"' in response.content.decode()


def test_unknown_ward_and_unknown_parcel(client, demo_city):
    response = client.get(reverse("lookup"), {"ward": "Phường Không Có", "sheet": "1", "parcel": "1"}, **HTML)
    assert response.status_code == 400 and 'id="ward-error"' in response.content.decode()
    response = client.get(reverse("lookup"), {"ward": "Thảo Điền", "sheet": "1", "parcel": "999999"}, **HTML)
    assert response.status_code == 404 and 'role="alert"' in response.content.decode()
    response = client.get(reverse("parcel", kwargs={"ward": "27088", "sheet": 1, "number": 999999}), **HTML)
    assert response.status_code == 404 and b"<h1>" in response.content


def test_data_values_are_escaped_in_the_parcel_page(client, parcel):
    parcel.properties["address"] = '<img src=x onerror="alert(1)">'
    parcel.save(update_fields=["properties"])
    html = client.get(_url(parcel), **HTML).content.decode()
    assert '<img src=x' not in html and "&lt;img src=x" in html


def test_click_api_lists_layers_and_refuses_bad_numbers(client, parcel):
    point = parcel.geom.point_on_surface
    response = client.get(reverse("features-at"), {"lon": point.x, "lat": point.y, "z": 17, "layers": "parcels,planning-zones"})
    assert response.status_code == 200
    results = response.json()["results"]
    assert results[0]["layer"] == "parcels" and results[0]["features"][0]["id"] == parcel.pk
    for bad in [{"lon": "abc", "lat": "10.8"}, {"lon": "inf", "lat": "10.8"}, {"lon": "106.7", "lat": "10.8", "z": "-1"},
                {"lon": "106.7", "lat": "10.8", "layers": ""}]:
        response = client.get(reverse("features-at"), {"layers": "parcels", **bad})
        assert response.status_code == 400 and response.json()["description_vi"]


def test_search_api_and_page_survive_injection(client, demo_city):
    for q in ["thao dien", "' OR 1=1 --", "<script>alert(1)</script>", "%_%"]:
        api = client.get(reverse("search-api"), {"q": q})
        page = client.get(reverse("search"), {"q": q}, **HTML)
        assert api.status_code == 200 and page.status_code == 200
        assert "<script>alert(1)</script>" not in page.content.decode()
    assert client.get(reverse("search-api"), {"q": "thao dien"}).json()["results"][0]["label"] == "Thảo Điền"
