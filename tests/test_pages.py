"""The map page through Django's test client: layers, legends, escaping, no outside host, CSP, language."""
import gettext
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.staticfiles import finders
from django.contrib.auth.models import User
from django.test import override_settings

from tests.factories import make_feature, make_layer, make_parcel_layer, square

pytestmark = pytest.mark.django_db
LOCALE = Path(settings.BASE_DIR) / "locale"
PARCEL_STYLE = {"attribute": "land_use", "colors": {"ODT": "#e8a33d", "CLN": "#6aa84f"}, "default": "#bbbbbb"}


def json_script(html: str, element_id: str):
    """The value Django's json_script wrote into the page under this id."""
    match = re.search(rf'<script id="{element_id}" type="application/json">(.*?)</script>', html, re.S)
    assert match, f"no json_script {element_id!r}"
    return json.loads(match.group(1))


@pytest.fixture
def parcels():
    layer = make_parcel_layer(slug="parcels", title_vi="Thửa đất", title_en="Land parcels",
                              style=PARCEL_STYLE, min_zoom=15, max_zoom=22)
    make_feature(layer, square(106.75, 10.80), {"ward_code": "26800", "map_sheet": 12, "parcel_no": 34,
                                                "land_use": "ODT", "legal_area": 120.5})
    return layer


def test_map_page_lists_public_layers_grouped_with_legend(client, parcels):
    make_layer(slug="zones", title_vi="Ô quy hoạch", title_en="Planning zones", category="planning")
    make_layer(slug="secret", title_vi="Lớp nội bộ", title_en="Internal layer", is_public=False)

    response = client.get("/")

    assert response.status_code == 200
    html = response.content.decode()
    assert "Thửa đất" in html and "Ô quy hoạch" in html
    assert "Lớp nội bộ" not in html and "secret" not in html  # restricted layers stay hidden
    assert "<legend>Đất đai</legend>" in html and "<legend>Quy hoạch</legend>" in html
    assert "ODT – Đất ở tại đô thị" in html  # the legend names the national land-use code
    layers = json_script(html, "map-layers")
    by_slug = {layer["slug"]: layer for layer in layers}
    assert set(by_slug) == {"parcels", "zones"}
    assert by_slug["parcels"]["tile_url"] == "/tiles/parcels/{z}/{x}/{y}.pbf"
    assert (by_slug["parcels"]["min_zoom"], by_slug["parcels"]["max_zoom"]) == (15, 22)
    assert {e["value"]: e["color"] for e in by_slug["parcels"]["legend"]["entries"]} == PARCEL_STYLE["colors"]
    assert [f["label"] for f in by_slug["parcels"]["fields"]][:3] == ["Mã phường/xã", "Số tờ bản đồ", "Số thửa"]
    # Categories keep the catalog's order (administrative, planning, land, …).
    assert html.index("<legend>Quy hoạch</legend>") < html.index("<legend>Đất đai</legend>")


def test_raster_layer_starts_hidden_under_the_vectors_with_its_ramp(client, parcels):
    make_layer(slug="elevation", kind="raster", title_vi="Cao độ", title_en="Elevation", category="environment",
               geometry_type="", raster_info={"ramp": "terrain", "min": -0.6, "max": 20.2})

    html = client.get("/").content.decode()

    layers = {layer["slug"]: layer for layer in json_script(html, "map-layers")}
    elevation = layers["elevation"]
    assert elevation["tile_url"] == "/tiles/raster/elevation/{z}/{x}/{y}.png"
    assert elevation["visible"] is False and layers["parcels"]["visible"] is True
    assert elevation["z_index"] < layers["parcels"]["z_index"]
    assert elevation["legend"]["ramp"][0] == "#333399" and len(elevation["legend"]["ramp"]) > 2
    assert 'data-slug="elevation">' in html  # its checkbox is not checked
    assert "<span>-0,6</span><span>20,2</span>" in html  # the range, in Vietnamese number format


def test_frame_navigation_and_click_to_see_endpoint(client, parcels):
    html = client.get("/").content.decode()
    assert '<nav class="site-nav" aria-label="Điều hướng chính">' in html
    assert '<a href="/" aria-current="page">Bản đồ</a>' in html
    assert '<a class="skip-link" href="#main">' in html and '<main id="main"' in html
    assert json_script(html, "map-urls") == {"features_at": "/api/at", "search": "/api/search",
                                             "report_form": "/phan-anh/"}
    assert json_script(html, "map-strings")["zoom_in"] == "Phóng to"


def test_map_page_with_no_layers_says_so(client):
    response = client.get("/")
    assert response.status_code == 200
    assert "Chưa có lớp bản đồ nào được công bố." in response.content.decode()
    assert json_script(response.content.decode(), "map-layers") == []


def test_catalog_text_is_escaped_and_bad_colours_dropped(client):
    make_layer(slug="evil", title_vi='<img src=x onerror="alert(1)">', title_en="x",
               attribution="<script>alert(2)</script>",
               schema=[{"name": "kind", "type": "text", "label_vi": "Loại", "label_en": "Kind", "display": True}],
               style={"attribute": "kind", "colors": {"<b>v</b>": "#123456", "ok": "red;background:url(/x)"},
                      "default": "expression(alert(3))"})

    html = client.get("/").content.decode()

    assert "<img src=x" not in html and "<script>alert" not in html and "<b>v</b>" not in html
    assert "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;" in html  # shown as text
    assert "red;background" not in html and "expression(" not in html
    layer = json_script(html, "map-layers")[0]
    assert layer["legend"]["entries"] == [{"value": "<b>v</b>", "label": "<b>v</b>", "color": "#123456"}]
    assert layer["legend"]["default"] == "#3388ff"


def test_page_loads_nothing_from_outside(client, parcels):
    response = client.get("/")
    html = response.content.decode()

    assert not re.findall(r"(?:https?:)?//[a-z0-9.-]+\.[a-z]{2,}", html, re.I), "an outside URL in the page"
    assets = re.findall(r'<(?:script|link)[^>]+(?:src|href)="([^"]+)"', html)
    assert any(a.endswith("Leaflet.VectorGrid.bundled.min.js") for a in assets)
    assert any(a.endswith("leaflet/leaflet.js") for a in assets)
    for url in assets:
        assert url.startswith(settings.STATIC_URL), url
        assert finders.find(url.removeprefix(settings.STATIC_URL)), f"{url} is not vendored"
    assert json_script(html, "map-options")["layers"] == []
    assert json_script(html, "map-basemaps")["outside"] is None  # no outside basemap unless configured


def test_no_inline_script_and_csp_header(client, parcels):
    response = client.get("/")
    html = response.content.decode()

    policy = response["Content-Security-Policy"]
    script_src = re.search(r"script-src ([^;]*)", policy).group(1).split()
    assert script_src == ["'self'"]
    assert "connect-src 'self'" in policy
    for tag in re.findall(r"<script\b[^>]*>", html):
        assert "src=" in tag or 'type="application/json"' in tag, f"inline script: {tag}"


@override_settings(GISPORTAL_BASEMAP_URL="https://tiles.example.org/{z}/{x}/{y}.png")
def test_outside_basemap_only_when_configured(client):
    html = client.get("/").content.decode()
    assert json_script(html, "map-basemaps")["outside"]["tile_url"] == "https://tiles.example.org/{z}/{x}/{y}.png"
    options = json_script(html, "map-options")
    assert options["center"] and options["scale"] == "metric"


def test_the_city_basemap_is_made_of_public_layers_with_a_role(client):
    make_layer(slug="wards-b", basemap_role="boundaries", category="administrative")
    make_layer(slug="rivers", basemap_role="water", category="environment")
    make_layer(slug="streets", basemap_role="roads", geometry_type="MultiLineString", min_zoom=11)
    make_layer(slug="secret-pipes", basemap_role="roads", is_public=False)
    make_layer(slug="plain")
    staff = User.objects.create_user("root", is_staff=True, is_superuser=True)
    client.force_login(staff)  # sees the restricted layer, which still stays out of the basemap

    html = client.get("/").content.decode()

    city = json_script(html, "map-basemaps")["city"]
    assert city["tile_url"] == "/tiles/wards-b,rivers,streets/{z}/{x}/{y}.pbf"  # drawn bottom to top
    assert city["roles"] == {"wards-b": "boundaries", "rivers": "water", "streets": "roads"}
    assert city["min_zoom"] == 0
    visible = {layer["slug"]: layer["visible"] for layer in json_script(html, "map-layers")}
    assert visible == {"wards-b": False, "rivers": False, "streets": False, "secret-pipes": True, "plain": True}
    assert 'id="as-of"' in html and "max=" in html


def test_vietnamese_by_default_whatever_the_browser_says(client, parcels):
    response = client.get("/", HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9")
    html = response.content.decode()
    assert '<html lang="vi">' in html
    assert "Cổng dữ liệu không gian thành phố" in html and "Các lớp bản đồ" in html
    assert "City spatial data portal" not in html


def test_english_by_cookie(client, parcels):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    html = client.get("/").content.decode()
    assert '<html lang="en">' in html
    assert "City spatial data portal" in html and "Map layers" in html and "Land parcels" in html
    assert "ODT – Urban residential land" in html and "<legend>Land</legend>" in html
    assert "Cổng dữ liệu" not in html
    assert json_script(html, "map-layers")[0]["fields"][0]["label"] == "Ward code"


def test_language_switch_sets_the_cookie_the_middleware_reads(client, parcels):
    assert settings.LANGUAGE_COOKIE_NAME == "django_language"
    page = client.get("/").content.decode()
    assert 'action="/i18n/setlang/"' in page and 'name="language" value="en"' in page

    response = client.post("/i18n/setlang/", {"language": "en", "next": "/"})

    assert response.status_code == 302 and response["Location"] == "http://testserver/"
    assert response.cookies[settings.LANGUAGE_COOKIE_NAME].value == "en"
    assert "City spatial data portal" in client.get("/").content.decode()
    client.post("/i18n/setlang/", {"language": "vi", "next": "/"})
    assert "Cổng dữ liệu không gian thành phố" in client.get("/").content.decode()


@pytest.mark.skipif(not shutil.which("msgfmt"), reason="msgfmt (Debian package gettext) is not installed")
@pytest.mark.parametrize("language", ["vi", "en"])
def test_catalogue_complete_and_compiled(language, tmp_path):
    po = LOCALE / language / "LC_MESSAGES" / "django.po"
    stats = subprocess.run(["msgfmt", "--check", "--statistics", "-o", str(tmp_path / "fresh.mo"), str(po)],
                           capture_output=True, text=True, check=True).stderr
    assert "untranslated" not in stats and "fuzzy" not in stats, stats
    # The committed .mo says what the .po says (someone edited the .po and forgot compilemessages?).
    with open(tmp_path / "fresh.mo", "rb") as fresh, open(po.with_suffix(".mo"), "rb") as committed:
        assert gettext.GNUTranslations(committed)._catalog == gettext.GNUTranslations(fresh)._catalog
