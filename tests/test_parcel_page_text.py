"""The parcel page's numbers, dates and units: one date format per language, units on every measure,
"not available" (never 0 m² or "no plan") for a layer the visitor may not see."""
import re

import pytest
from django.contrib.auth.models import User
from django.urls import reverse

from layers.models import Feature, Layer, LayerGrant

pytestmark = pytest.mark.django_db
VI_DATETIME = r"\d{2}/\d{2}/\d{4} \d{2}:\d{2}"
EN_DATETIME = r"\d{1,2} (?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4}, \d{2}:\d{2}"


@pytest.fixture
def parcel(demo_city):
    """A parcel that lies in a zone and in a road reserve (so both can be hidden)."""
    for feature in Feature.objects.filter(layer=demo_city["parcels"]).order_by("id")[150:400]:
        page = _text(_get(feature, "vi"))
        if "Nằm trong lộ giới 0,0" not in page and "Chưa có đồ án" not in page:
            return feature
    pytest.fail("no demo parcel in both a zone and a road reserve")


def _get(parcel, lang: str, client=None):
    from django.test import Client

    client = client or Client()
    client.cookies["django_language"] = lang
    p = parcel.properties
    url = reverse("parcel", kwargs={"ward": p["ward_code"], "sheet": p["map_sheet"], "number": p["parcel_no"]})
    response = client.get(url, HTTP_ACCEPT="text/html")
    assert response.status_code == 200
    return response.content.decode()


def _text(html: str) -> str:
    html = re.sub(r"<script.*?</script>", "", html, flags=re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def _testid(html: str, name: str) -> str:
    match = re.search(rf'data-testid="{name}"[^>]*>(.*?)</(?:p|dd|div)>', html, re.S)
    assert match, name
    return _text(match.group(1)).strip()


def test_vietnamese_dates_are_day_first_with_the_time_after(parcel):
    html = _get(parcel, "vi")
    assert re.fullmatch(rf"Thông tin tính đến {VI_DATETIME}\.", _testid(html, "as-of"))
    versions = _testid(html, "data-versions")
    assert len(re.findall(VI_DATETIME, versions)) >= 3
    text = _text(html)
    assert "tháng" not in text and "Ngày 0" not in text  # no "Ngày 02 tháng 12" beside dd/mm/yyyy
    assert not re.search(r"\b\d/\d{1,2}/\d{4}", text)  # nor a short 1/7/2025
    assert not re.search(r"\d{4}-\d{2}-\d{2}", text)  # decision dates too: no ISO date left raw
    assert re.search(r"Ngày phê duyệt \d{2}/\d{2}/\d{4}", text)


def test_english_dates_are_one_day_first_format_and_no_double_period(parcel):
    html = _get(parcel, "en")
    assert re.fullmatch(rf"Information as of {EN_DATETIME}\.", _testid(html, "as-of"))
    text = _text(html)
    assert len(re.findall(EN_DATETIME, _testid(html, "data-versions"))) >= 3
    assert not re.search(r"\b\d{1,2}/\d{1,2}/\d{4}\b", text)  # no month-first 12/02/2026
    assert "a.m." not in text and "p.m." not in text and ".." not in text.replace("…", "")
    assert re.search(r"Decision date \d{1,2} [A-Z][a-z]{2} \d{4}", text)


def test_elevation_has_its_unit_and_datum(parcel):
    vi, en = _get(parcel, "vi"), _get(parcel, "en")
    assert re.fullmatch(r"-?\d+,\d{2} m \(hệ cao độ Hòn Dấu\)", _testid(vi, "raster-value"))
    assert re.fullmatch(r"-?\d+\.\d{2} m \(Hòn Dấu height datum\)", _testid(en, "raster-value"))


def test_restricted_road_reserves_and_zones_are_not_available_not_zero(parcel, demo_city):
    assert re.fullmatch(r"[\d.]+,\d m²", _testid(_get(parcel, "vi"), "road-reserve"))  # public: a number
    Layer.objects.filter(slug__in=["road-reserves", "planning-zones"]).update(is_public=False)

    vi, en = _get(parcel, "vi"), _get(parcel, "en")
    assert _testid(vi, "road-reserve") == "Không có thông tin"
    assert _testid(en, "road-reserve") == "Not available"
    assert "0,0 m²" not in vi and "0.0 m²" not in en
    assert _testid(vi, "zones-unavailable") == "Không có thông tin quy hoạch phân khu."
    assert "Chưa có đồ án" not in vi  # "no plan" would be a false statement

    planner = User.objects.create_user("reserve-reader", password="x-pass-12345")
    for slug in ("road-reserves", "planning-zones"):
        LayerGrant.objects.create(layer=Layer.objects.get(slug=slug), user=planner)
    from django.test import Client

    client = Client()
    client.force_login(planner)
    granted = _get(parcel, "vi", client)
    assert re.fullmatch(r"[\d.]+,\d m²", _testid(granted, "road-reserve"))
    assert 'data-testid="zones"' in granted


def test_printed_page_carries_the_key_and_address(parcel):
    p = parcel.properties
    key = _testid(_get(parcel, "vi"), "print-key")
    assert f"{p['ward_code']} / {p['map_sheet']} / {p['parcel_no']}" in key
    assert key.endswith(f"/thua-dat/{p['ward_code']}/{p['map_sheet']}/{p['parcel_no']}/")
