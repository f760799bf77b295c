"""The planning information sheet (phiếu thông tin quy hoạch) as a PDF: content in vi and en, fonts, QR code,
personal data, restricted layers, bad input and fair use — through the real URL, read back from the PDF."""
import json

import pytest
import zxingcpp
from django.conf import settings
from django.contrib.auth.models import AnonymousUser, User
from django.test import override_settings
from django.db import connection
from django.urls import reverse

from layers.lookup import parcel_report
from layers.models import Feature
from layers.sheet_facts import max_floor_area
from layers.vn2000 import transformer
from portal.sheet_codes import display
from portal.sheet_map import sheet_svg
from portal.sheet_models import IssuedSheet
from portal.sheet_text import number
from tests.portal.sheet_helpers import issue, key, parcels_in_zones, pdf_fonts, pdf_images, pdf_text, sheet_url

pytestmark = pytest.mark.django_db
ANON = AnonymousUser()


@pytest.fixture
def parcel(demo_city):
    """A parcel meeting at least two planning zones."""
    found = parcels_in_zones(demo_city["parcels"], demo_city["planning-zones"], at_least=2, limit=1)
    assert found, "the demo has parcels across zone limits"
    return found[0]


def test_the_sheet_says_every_item_in_vietnamese(client, parcel):
    response, code = issue(client, parcel)
    sheet = IssuedSheet.objects.get(code=code)
    content, text = sheet.content, pdf_text(response.content)
    assert sheet.language == "vi" and content["parcel"]["id"] == parcel.pk
    for expected in ("PHIẾU THÔNG TIN QUY HOẠCH", f"Thửa đất số {parcel.properties['parcel_no']}",
                     f"Tờ bản đồ số {parcel.properties['map_sheet']}", f"({parcel.properties['ward_code']})",
                     "Đơn vị hành chính hiện nay", content["current_unit"]["name"],
                     f"Diện tích pháp lý {number(content['area_m2'], 'vi')} m²", "Loại đất",
                     "Tọa độ đỉnh thửa (VN-2000", "Quy hoạch phân khu tỷ lệ 1/2000", "Phiên bản dữ liệu",
                     "Dữ liệu tại thời điểm", "Thời điểm cấp phiếu", f"Mã xác minh {display(code)}",
                     "không phải văn bản pháp lý", "Diện tích trong lộ giới"):
        assert expected in text, expected
    assert len(content["zones"]) >= 2
    for zone in content["zones"]:
        assert zone["zone_code"] in text and number(zone["area_m2"], "vi") in text
        if zone["far"] is not None:
            assert f"S × hệ số SDĐ = {number(zone['area_m2'], 'vi')} × {number(zone['far'], 'vi', 2)}" in text
        if zone.get("plan_name"):
            assert zone["plan_name"][:30] in text and zone["decision_no"] in text
    assert f"{number(content['road_reserve_m2'], 'vi')} m²" in text
    for n, x, y, _edge in content["corners"]:
        assert f"{n} {number(x, 'vi', 3)} {number(y, 'vi', 3)}" in text


@pytest.mark.parametrize("how", ["param", "cookie"])
def test_the_sheet_in_english(client, parcel, how):
    if how == "cookie":
        client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
        response, code = issue(client, parcel)
    else:
        response, code = issue(client, parcel, lang="en")
    sheet, text = IssuedSheet.objects.get(code=code), pdf_text(response.content)
    assert sheet.language == "en"
    for expected in ("PLANNING INFORMATION SHEET", f"Parcel no. {parcel.properties['parcel_no']}",
                     f"Legal area {number(sheet.content['area_m2'], 'en')} m²", "Corner coordinates (VN-2000",
                     "Maximum floor area allowed", "not a legal document", "Data versions", "Issued at"):
        assert expected in text, expected
    assert "PHIẾU THÔNG TIN" not in text


def test_areas_are_the_parcel_pages_and_the_floor_area_is_computed_per_zone(parcel):
    from portal.sheets import sheet_issue

    sheet, _facts = sheet_issue(user=ANON, parcel=parcel, language="vi")
    report = parcel_report(ANON, parcel)
    assert sheet.content["area_m2"] == pytest.approx(report.area_m2, abs=0.05)
    assert sheet.content["road_reserve_m2"] == pytest.approx(report.road_reserve_m2, abs=0.05)
    assert [z["zone_code"] for z in sheet.content["zones"]] == [z.properties["zone_code"] for z in report.zones]
    for zone in sheet.content["zones"]:
        s, bound = zone["area_m2"], zone["max_floor_area"]
        expected = [v for v in (s * zone["far"] if zone["far"] is not None else None,
                                s * zone["max_density"] / 100 * zone["max_floors"]
                                if zone["max_density"] is not None and zone["max_floors"] is not None else None)
                    if v is not None]
        assert bound["allowed"] == pytest.approx(min(expected), abs=0.1)


def test_floor_area_bounds_say_which_binds():
    assert max_floor_area(100.0, {"far": 2.0, "max_density": 50.0, "max_floors": 3}) == {
        "by_far": 200.0, "by_density": 150.0, "binding": "density", "allowed": 150.0}
    assert max_floor_area(100.0, {"far": 1.2, "max_density": 60.0, "max_floors": 5})["binding"] == "far"
    assert max_floor_area(100.0, {"far": 2.5}) == {"by_far": 250.0, "by_density": None, "binding": "far", "allowed": 250.0}
    assert max_floor_area(100.0, {"max_density": 40.0})["allowed"] is None  # density without floors bounds nothing
    assert max_floor_area(100.0, {})["allowed"] is None


def test_a_zone_without_indicators_says_not_set(client, parcel, demo_city):
    zone_code = IssuedSheet.objects.get(code=issue(client, parcel)[1]).content["zones"][0]["zone_code"]
    zone = Feature.objects.get(layer=demo_city["planning-zones"], properties__zone_code=zone_code)
    for name in ("far", "max_density", "max_floors"):
        zone.properties.pop(name, None)
    zone.save(update_fields=["properties"])
    response, code = issue(client, parcel)
    content = IssuedSheet.objects.get(code=code).content
    first = next(z for z in content["zones"] if z["zone_code"] == zone_code)
    assert first["max_floor_area"]["allowed"] is None and "chưa có chỉ tiêu" in pdf_text(response.content)
    english = pdf_text(issue(client, parcel, lang="en")[0].content)
    assert "not set" in english


def test_corners_are_the_parcels_vertices_in_vn2000_tm3_105_45(client, parcel):
    content = IssuedSheet.objects.get(code=issue(client, parcel)[1]).content
    to_vn2000 = transformer(4326, 9210)
    ring = parcel.geom[0][0] if parcel.geom.geom_type == "MultiPolygon" else parcel.geom[0]
    expected = [(n, e) for e, n in (to_vn2000.transform(x, y) for x, y in ring.coords[:-1])]
    got = [(x, y) for _n, x, y, _edge in content["corners"]]
    assert [c[0] for c in content["corners"]] == list(range(1, len(content["corners"]) + 1))
    assert len(got) == len(expected)
    for x, y in expected:  # X is the northing, Y the easting, from the official shift (layers/vn2000.py), to 1 cm
        assert min(abs(x - gx) + abs(y - gy) for gx, gy in got) < 0.01
    assert all(1_000_000 < x < 1_300_000 and 500_000 < y < 700_000 for _n, x, y, _e in content["corners"])


def test_fonts_are_embedded(client, parcel):
    fonts = pdf_fonts(issue(client, parcel)[0].content)
    assert fonts and all(f["embedded"] for f in fonts), fonts
    assert all("DejaVu" in f["name"] for f in fonts), fonts


def test_the_qr_code_in_the_pdf_opens_the_verification_page(client, parcel):
    response, code = issue(client, parcel)
    decoded = [r.text for image in pdf_images(response.content) for r in zxingcpp.read_barcodes(image)]
    expected = settings.GISPORTAL_PUBLIC_URL.rstrip("/") + reverse("sheet-verify", kwargs={"code": code})
    assert decoded and set(decoded) == {expected}
    assert client.get(decoded[0].removeprefix(settings.GISPORTAL_PUBLIC_URL.rstrip("/"))).status_code == 200


@pytest.mark.parametrize("url", ["file:///etc/passwd", "http://169.254.169.254/latest", "https://example.com/a.css",
                                 "file:///usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"])
def test_the_pdf_maker_fetches_nothing_but_data_urls_and_the_vendored_fonts(url):
    from portal.sheet_pdf import FONTS, _weasyprint

    fetcher = _weasyprint()[2](allowed_protocols=("file", "data"), allow_redirects=False)
    with pytest.raises(ValueError):
        fetcher.fetch(url)
    assert fetcher.fetch((FONTS / "DejaVuSans.ttf").resolve().as_uri()) is not None
    assert (FONTS / "LICENSE-DejaVu.txt").is_file()


def test_the_map_is_drawn_on_the_server():
    corners = [[1, 1000100.0, 600000.0, 100.0], [2, 1000100.0, 600100.0, 100.0], [3, 1000000.0, 600100.0, 100.0],
               [4, 1000000.0, 600000.0, 100.0]]
    square = {"type": "Polygon", "coordinates": [[[600000, 1000100], [600100, 1000100], [600100, 1000000],
                                                  [600000, 1000000], [600000, 1000100]]]}
    svg = sheet_svg({"parcel": square, "own": 7, "neighbours": [("<b>8</b>", square)], "zones": [("A&1", square)],
                     "reserves": [square]}, corners, north_letter="B")
    assert svg.startswith("<svg") and svg.count("<circle") == 4 and ">B</text>" in svg
    assert "&lt;b&gt;8&lt;/b&gt;" in svg and "A&amp;1" in svg and "<b>" not in svg  # data is text, never markup
    assert " m</text>" in svg and 'stroke="#b00"' in svg  # the scale bar and the parcel's outline


def test_no_personal_data_on_a_sheet_whoever_asks(client, parcel):
    parcel.properties.update({"chu_su_dung": "Nguyễn Văn Riêng Tư", "so_cccd": "079123456789"})
    parcel.save(update_fields=["properties"])
    client.force_login(User.objects.create_superuser("sheet-admin", "a@example.invalid", "x"))
    response, code = issue(client, parcel)
    stored = json.dumps(IssuedSheet.objects.get(code=code).content, ensure_ascii=False)
    text = pdf_text(response.content)
    for secret in ("Riêng Tư", "079123456789", "chu_su_dung", "so_cccd"):
        assert secret not in text and secret not in stored


def test_a_restricted_road_reserve_layer_says_not_available_never_zero(client, parcel, demo_city):
    reserves = demo_city["road-reserves"]
    reserves.is_public = False
    reserves.save(update_fields=["is_public"])
    response, code = issue(client, parcel)
    content = IssuedSheet.objects.get(code=code).content
    text = pdf_text(response.content)
    assert "road_reserve_m2" not in content and "road-reserves" not in content["layers"]
    assert "Diện tích trong lộ giới không có thông tin" in text and "Lộ giới:" not in text
    assert "Area inside road reserves not available" in pdf_text(issue(client, parcel, lang="en")[0].content)


@pytest.mark.parametrize("path", [
    "/thua-dat/27088/1/999999/phieu.pdf",  # no such parcel
    "/thua-dat/'%3BDROP%20TABLE/1/1/phieu.pdf",
    "/thua-dat/" + "9" * 40 + "/1/1/phieu.pdf",
    "/thua-dat/27088/0/1/phieu.pdf",
    "/thua-dat/27088/1/99999999999999999999999/phieu.pdf",
    "/thua-dat/27088/-1/1/phieu.pdf",
    "/thua-dat/27088/1/1.5/phieu.pdf",
])
def test_bad_parcel_keys_get_a_404_in_both_languages_and_store_nothing(client, demo_city, path):
    response = client.get(path, HTTP_ACCEPT="application/json")
    assert response.status_code == 404, response.content[:300]
    body = response.json()
    assert body["description"] and body["description_vi"] and body["description"] != body["description_vi"]
    assert not IssuedSheet.objects.exists()


def test_unknown_parcel_page_names_it_in_vietnamese(client, demo_city):
    response = client.get("/thua-dat/27088/1/999999/phieu.pdf", HTTP_ACCEPT="text/html")
    assert response.status_code == 404 and "Không tìm thấy thửa số 999999" in response.content.decode()


@override_settings(OPENDATA_RATE_SHEET_ANON=2, OPENDATA_RATE_WINDOW=3600)  # no window ends between the requests
def test_sheets_count_in_fair_use_with_a_clear_429(client, parcel):
    assert client.get(sheet_url(parcel)).status_code == 200
    assert client.get(sheet_url(parcel)).status_code == 200
    refused = client.get(sheet_url(parcel), HTTP_ACCEPT="application/json")
    assert refused.status_code == 429 and int(refused["Retry-After"]) > 0
    body = refused.json()
    assert "Quá nhiều" in body["description_vi"] and "Too many" in body["description"]
    assert IssuedSheet.objects.count() == 2


def test_the_parcel_key_in_the_url_is_the_sheets(client, parcel):
    response, code = issue(client, parcel)
    sheet = IssuedSheet.objects.get(code=code)
    assert (sheet.ward_code, sheet.map_sheet, sheet.parcel_no) == tuple(key(parcel).values())
    assert response["Cache-Control"] == "private, no-store" and code in response["Content-Disposition"]


def test_the_parcel_page_links_to_its_sheet(client, parcel):
    html = client.get(reverse("parcel", kwargs=key(parcel)), HTTP_ACCEPT="text/html").content.decode()
    assert f'data-testid="sheet-link" href="{sheet_url(parcel)}"' in html and "Phiếu thông tin quy hoạch (PDF)" in html


def test_data_is_text_on_the_sheet_never_markup(client, parcel):
    parcel.properties["address"] = '<img src="file:///etc/passwd"> <b>12/3A</b> & "Lê Lợi"'
    parcel.save(update_fields=["properties"])
    text = pdf_text(issue(client, parcel)[0].content)
    assert '<img src="file:///etc/passwd"> <b>12/3A</b> & "Lê Lợi"' in text


@pytest.mark.parametrize("far", ["2,5", -1, "", [3], True])
def test_an_unusable_indicator_sets_no_bound(client, parcel, far):
    zone = IssuedSheet.objects.get(code=issue(client, parcel)[1]).content["zones"][0]
    with connection.cursor() as cursor:  # stored data the schema would refuse today (an old load, a hand edit)
        cursor.execute("UPDATE layers_feature SET properties = jsonb_set(properties, '{far}', %s::jsonb) WHERE id = %s",
                       [json.dumps(far), zone["id"]])
    content = IssuedSheet.objects.get(code=issue(client, parcel)[1]).content
    again = next(z for z in content["zones"] if z["id"] == zone["id"])
    assert again["far"] is None and again["max_floor_area"]["by_far"] is None
