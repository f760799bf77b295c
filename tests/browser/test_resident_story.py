"""Issue 16's story, end to end, as one resident on a 360 px phone (touch, Vietnamese) would live it:

1. types their address without accents (and the parcel key) in the map's search box: their parcel comes first;
2. taps the parcel on the map: a bottom sheet, the parcel's facts first, links to its page, sheet and the report
   form, no control over it;
3. downloads the planning information sheet (a PDF naming the parcel and its current ward) and prints the page;
4. scans the sheet's QR code: verified, unchanged; a planner edits the parcel: changed, the re-issue the same;
5. reports an error with a photo, follows it by its receipt code while a planner answers it, linking the edit;
6. reads one step in English, and finds the same choice in the lookup typed with or without accents.
"""
import io
import re
import unicodedata
from urllib.parse import parse_qs, urlsplit

import pypdf
import pytest
import zxingcpp
from django.contrib.auth.models import AnonymousUser, User
from PIL import Image
from playwright.sync_api import expect

from layers.models import Feature, LayerGrant
from portal.report_models import Report
from portal.sheet_models import IssuedSheet
from portal.sheets import content_hash, sheet_reissue

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PHONE = {"width": 360, "height": 740}
WARD, SHEET, NUMBER = "27088", 19, 1  # Thảo Điền 19/1 (the small demo has one parcel a sheet; other wards too)
PLANNER, PASSWORD = "story-planner", "story-pass-789"
NO_SIDEWAYS = "() => document.documentElement.scrollWidth <= window.innerWidth"
# Boxes of what floats over the map (visible ones only), as in test_map_phone.
CONTROL_BOXES = """() => [...document.querySelectorAll(
        '.leaflet-control-container .leaflet-control, .map-search, .as-of-banner, .map-status')]
    .filter(e => { const s = getComputedStyle(e); const r = e.getBoundingClientRect();
                   return s.visibility !== 'hidden' && s.display !== 'none' && r.width > 0 && r.height > 0
                          && e.closest('[hidden]') === null; })
    .map(e => { const r = e.getBoundingClientRect();
                return {name: e.className, x: r.x, y: r.y, width: r.width, height: r.height}; })"""


def plain(text: str) -> str:
    """Text as a resident types it on a phone: no accents, đ as d, lower case."""
    text = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    return "".join(c for c in text if not unicodedata.combining(c)).lower()


def overlaps(a: dict, b: dict) -> bool:
    return (a["x"] < b["x"] + b["width"] and b["x"] < a["x"] + a["width"]
            and a["y"] < b["y"] + b["height"] and b["y"] < a["y"] + a["height"])


def pdf_text(data: bytes) -> str:
    return "\n".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(data)).pages)


def compact(text: str) -> str:
    return "".join(text.split())


def gps_jpeg() -> bytes:
    """A small photo as a phone takes it: a camera name and the place it was taken in its EXIF."""
    image = Image.new("RGB", (96, 64), (180, 120, 60))
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"
    exif.get_ifd(0x8825).update({1: "N", 2: (10.0, 48.0, 20.0), 3: "E", 4: (106.0, 44.0, 1.0)})
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif)
    assert Image.open(io.BytesIO(out.getvalue())).getexif().get_ifd(0x8825)  # the test's photo does carry GPS
    return out.getvalue()


@pytest.fixture
def parcel(demo_city):
    return Feature.objects.get(layer=demo_city["parcels"], properties__ward_code=WARD,
                               properties__map_sheet=SHEET, properties__parcel_no=NUMBER)


@pytest.fixture
def planner(demo_city):
    user = User.objects.create_user(PLANNER, password=PASSWORD)
    LayerGrant.objects.create(layer=demo_city["parcels"], user=user, can_edit=True)
    return user


@pytest.fixture
def phone(browser, live_server):
    """The resident's phone: 360×740, touch, Vietnamese, downloads kept."""
    context = browser.new_context(viewport=PHONE, has_touch=True, is_mobile=True, device_scale_factor=2,
                                  locale="vi-VN", accept_downloads=True, service_workers="block")
    tab = context.new_page()
    tab.set_default_timeout(20_000)
    errors = []
    tab.on("pageerror", lambda error: errors.append(str(error)))
    tab.on("console", lambda message: message.type == "error" and errors.append(message.text))
    tab.errors = errors
    yield tab
    context.close()


@pytest.fixture
def desk(browser, live_server, planner):
    """The planner's desktop, logged in: another browser context (its own cookies)."""
    context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="vi-VN", service_workers="block")
    tab = context.new_page()
    tab.set_default_timeout(20_000)
    tab.goto(f"{live_server.url}/accounts/login/?next=/edit/parcels/")
    tab.fill("#id_username", PLANNER)
    tab.fill("#id_password", PASSWORD)
    with tab.expect_navigation():
        tab.click("form.lookup-form button[type=submit]")
    yield tab
    context.close()


# --- the resident's steps ------------------------------------------------------------------------------------------

def search_first_hit(page, live_server, query: str) -> dict:
    """Types `query` in the map's search box; the first suggestion, as the page shows it."""
    page.goto(live_server.url + "/")
    page.wait_for_function("() => window.gisportalMap !== undefined")
    box = page.locator("#map-search-input")
    box.fill("")
    # Keystrokes, as on a phone keyboard; the box asks as it pauses: wait for the answer to the whole query.
    with page.expect_response(lambda r: "/api/search?" in r.url and parse_qs(urlsplit(r.url).query).get("q") == [query]
                              and r.status == 200) as answer:
        box.type(query)
    hits = answer.value.json()["results"]
    assert hits, query
    first = page.locator("#map-search-results li").first
    expect(first).to_contain_text(hits[0]["label"])  # the list shows this answer (not one to a shorter query)
    return hits[0]


def open_map_at(page, live_server, parcel) -> None:
    point = parcel.geom.point_on_surface
    page.goto(f"{live_server.url}/#18/{point.y:.6f}/{point.x:.6f}/planning-zones,parcels")
    page.wait_for_function("() => window.gisportalMap !== undefined")
    page.wait_for_load_state("networkidle")


def tap_parcel(page, parcel):
    """Taps the parcel's inside point on the map with a finger; the sheet's content once it is there."""
    point = parcel.geom.point_on_surface
    box = page.locator("#map").bounding_box()
    at = page.evaluate(f"window.gisportalMap.latLngToContainerPoint([{point.y}, {point.x}])")
    with page.expect_response(lambda r: "/api/at?" in r.url and r.status == 200):
        page.touchscreen.tap(box["x"] + at["x"], box["y"] + at["y"])
    sheet = page.locator("#feature-sheet")
    sheet.locator(".result dl").first.wait_for()
    return sheet


def first_qr_url(pdf: bytes) -> str:
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    found = {r.text for pg in reader.pages for image in pg.images for r in zxingcpp.read_barcodes(image.image)}
    assert len(found) == 1, found
    return found.pop()


def verify_state(page, url: str) -> str:
    page.goto(url)
    return page.locator("[data-testid=status]").get_attribute("data-state")


def planner_edits(desk, parcel) -> int:
    """The planner changes the parcel's land use through the editing API, as the editor's page does; the new version."""
    desk.goto(desk.url.split("/edit/")[0] + "/edit/parcels/")
    result = desk.evaluate("""async (id) => {
        const csrf = document.querySelector("input[name=csrfmiddlewaretoken]").value;
        const url = `/api/layers/parcels/features/${id}`;
        const headers = {"Content-Type": "application/json", "X-CSRFToken": csrf, "Accept": "application/json"};
        const current = await (await fetch(url, {headers, credentials: "same-origin"})).json();
        const properties = {...current.properties, land_use: current.properties.land_use === "ODT" ? "TMD" : "ODT"};
        const body = {properties, version: current.version, comment: "Phản ánh của người dân: sửa loại đất"};
        const response = await fetch(url, {method: "PUT", headers, credentials: "same-origin",
                                           body: JSON.stringify(body)});
        return {status: response.status, body: await response.json(), before: current.version};
    }""", parcel.pk)
    assert result["status"] == 200, result
    assert result["body"]["version"] == result["before"] + 1
    return result["body"]["version"]


def file_report(page, photo_path, text: str) -> str:
    """On the form for the parcel: a category, the text and a photo; the receipt code."""
    page.select_option("#report-category", "land_use")
    page.fill("#report-text", text)
    page.set_input_files("#report-photo", str(photo_path))
    page.fill("#report-contact", "0903 444 555")
    assert page.evaluate(NO_SIDEWAYS)
    with page.expect_navigation():
        page.click("form.report-form button[type=submit]")
    return page.inner_text("[data-testid=receipt-code]").strip()


def moderate(desk, live_server, code: str, *, answer: str, parcel, version: int) -> None:
    """The planner answers and resolves the report in the queue, linking the edit that fixed it."""
    desk.goto(live_server.url + "/phan-anh/quan-ly/")
    item = desk.locator(f"#r-{code.replace('-', '')}")
    assert "0903" not in item.inner_text()  # no personal-data grant: no contact
    item.locator("select[name=status]").select_option("resolved")
    item.locator("textarea[name=answer]").fill(answer)
    item.locator("details summary").click()
    item.locator("input[name=fixed_layer]").fill("parcels")
    item.locator("input[name=fixed_feature]").fill(str(parcel.pk))
    item.locator("input[name=fixed_version]").fill(str(version))
    with desk.expect_navigation():
        item.locator("button[type=submit]").click()


# --- the story -----------------------------------------------------------------------------------------------------

def test_a_resident_on_a_phone_from_search_to_an_answered_report(
        phone, desk, live_server, parcel, settings, tmp_path):
    settings.GISPORTAL_PUBLIC_URL = live_server.url  # the QR code leads to this server
    settings.MEDIA_ROOT = tmp_path / "media"
    page = phone
    p = parcel.properties
    parcel_path = f"/thua-dat/{WARD}/{SHEET}/{NUMBER}/"

    # 1. The address as residents write it (no accents, "p." for phường, the city), then the key: their parcel first.
    number, street_and_ward = p["address"].split(" ", 1)
    street, ward = street_and_ward.split(", phường ")
    typed = f"{number} {plain(street)}, p. {plain(ward)}, tp. thu duc"
    assert typed != p["address"].lower() and "đ" not in typed
    hit = search_first_hit(page, live_server, typed)
    assert hit["kind"] == "parcel" and hit["url"] == parcel_path, (typed, hit)
    hit = search_first_hit(page, live_server, f"thao dien {SHEET} {NUMBER}")
    assert hit["kind"] == "parcel" and hit["url"] == parcel_path, hit
    with page.expect_navigation():
        page.locator("#map-search-results li a").first.click()  # choosing it shows it
    assert page.url == live_server.url + parcel_path
    assert f"số {NUMBER}, tờ bản đồ số {SHEET}" in page.inner_text("h1") and "Thảo Điền" in page.inner_text("body")
    assert "An Khánh" in page.inner_text("[data-testid=current-ward]")  # the 2025 ward it lies in
    assert page.evaluate(NO_SIDEWAYS)

    # 2. Tapping the parcel on the map: the bottom sheet, the parcel's facts first, then zones; links; nothing over it.
    open_map_at(page, live_server, parcel)
    sheet = tap_parcel(page, parcel)
    assert page.locator(".leaflet-popup").count() == 0
    layers = sheet.locator(".result").evaluate_all("nodes => nodes.map(n => n.dataset.layer)")
    assert layers[0] == "parcels" and "planning-zones" in layers, layers
    text = sheet.inner_text()
    assert text.index("Số thửa") < text.index("Ký hiệu ô")
    assert sheet.locator("a.planning-link").get_attribute("href") == parcel_path
    assert sheet.locator("a.sheet-link").get_attribute("href") == parcel_path + "phieu.pdf"
    report_form = f"/phan-anh/?layer=parcels&feature={parcel.pk}"
    assert sheet.locator(".result[data-layer=parcels] a.report-link").get_attribute("href") == report_form
    zone_report = sheet.locator(".result[data-layer=planning-zones] a.report-link").first.get_attribute("href")
    assert zone_report.startswith("/phan-anh/?layer=planning-zones&feature=")  # a zone can be reported too
    sheet_box = sheet.bounding_box()
    assert [c["name"] for c in page.evaluate(CONTROL_BOXES) if overlaps(c, sheet_box)] == []
    assert sheet_box["x"] >= 0 and sheet_box["x"] + sheet_box["width"] <= PHONE["width"]

    # 3. The sheet, downloaded from the bottom sheet: a PDF naming the parcel's key and its current ward.
    with page.expect_download() as download:
        sheet.locator("a.sheet-link").click(modifiers=["Alt"])  # Alt+click: save the link, as "Download" does
    pdf = open(download.value.path(), "rb").read()
    assert pdf.startswith(b"%PDF-")
    words = compact(pdf_text(pdf))
    assert f"Thửađấtsố{NUMBER}Tờbảnđồsố{SHEET}" in words, words[:600]  # the parcel's key
    assert re.search(r"Phường/xã\(trước01/07/2025\).{0,20}ThảoĐiền", words)  # its former ward
    assert re.search(r"Đơnvịhànhchínhhiệnnay.{0,20}AnKhánh", words), words[:600]  # the 2025 ward it lies in
    # The parcel page printed: no controls, a drawn map.
    page.goto(live_server.url + parcel_path)
    page.wait_for_function("() => window.gisportalParcelMap !== undefined")
    page.emulate_media(media="print")
    for hidden in (".leaflet-control-zoom", ".site-header", "[data-testid=sheet-link]", "[data-testid=report-link]"):
        assert page.locator(hidden).first.is_hidden(), hidden
    assert page.locator("#parcel-map path.parcel-outline").count() == 1
    assert page.locator("#parcel-map .leaflet-overlay-pane path").count() >= 3  # the parcel and its neighbours
    printed = compact(pdf_text(page.pdf(format="A4", print_background=True)))
    assert "Khóathửađất" in printed and "Phóngto" not in printed
    page.emulate_media(media="screen")

    # 4. The QR code on the sheet: verified, unchanged. A planner edits the parcel: changed; the re-issue the same.
    url = first_qr_url(pdf)
    assert url.startswith(live_server.url + "/xac-minh/")
    assert verify_state(page, url) == "unchanged"
    assert "không thay đổi" in page.inner_text("[data-testid=status]")
    said_hash = page.inner_text("[data-testid=hash]")
    version = planner_edits(desk, parcel)
    assert verify_state(page, url) == "changed"
    assert page.inner_text("[data-testid=hash]") == said_hash
    reissued = page.request.get(url.rstrip("/") + "/phieu.pdf")
    assert reissued.status == 200 and reissued.headers["content-type"] == "application/pdf"
    assert pdf_text(reissued.body()) == pdf_text(pdf)  # the same sheet: same facts, code and time of issue
    issued = IssuedSheet.objects.get(code=reissued.headers["x-sheet-code"])
    assert said_hash == issued.content_hash == content_hash(sheet_reissue(user=AnonymousUser(), sheet=issued).content)

    # 5. A report from the parcel page, with a photo carrying GPS; the receipt; the planner answers; the status.
    photo = tmp_path / "anh.jpg"
    photo.write_bytes(gps_jpeg())
    page.goto(live_server.url + parcel_path)
    assert page.locator("[data-testid=report-link]").get_attribute("href") == report_form  # the same form
    open_map_at(page, live_server, parcel)
    with page.expect_navigation():
        tap_parcel(page, parcel).locator(".result[data-layer=parcels] a.report-link").click()
    assert page.inner_text("[data-testid=report-target]") == f"parcels #{parcel.pk}"
    report_text = "Thửa đất nhà tôi là đất ở, bản đồ ghi sai loại đất."
    code = file_report(page, photo, report_text)
    assert re.fullmatch(r"[0-9A-Z]{4}-[0-9A-Z]{4,}", code), code
    status_url = page.url
    page.reload()
    assert page.locator("[data-testid=report-status]").get_attribute("class") == "status-received"
    assert "Đã tiếp nhận" in page.inner_text("[data-testid=report-status]")
    assert page.locator("[data-testid=report-text]").count() == 0 and report_text not in page.content()
    answer = "Đã kiểm tra hồ sơ và cập nhật loại đất của thửa."
    moderate(desk, live_server, code, answer=answer, parcel=parcel, version=version)
    page.goto(status_url)
    assert "Đã khắc phục" in page.inner_text("[data-testid=report-status]")
    assert page.inner_text("[data-testid=report-answer]") == answer
    fixed = " ".join(page.inner_text("[data-testid=report-fixed]").split())
    assert f"đối tượng {parcel.pk}, phiên bản {version}" in fixed, fixed
    assert "0903" not in page.content() and PLANNER not in page.content()
    stored = Report.objects.get()
    assert stored.fixed_version == version and stored.photo
    kept = Image.open(settings.MEDIA_ROOT / stored.photo)
    assert not kept.getexif() and "exif" not in kept.info
    shown = page.request.get(live_server.url + f"/phan-anh/{stored.code}/anh.jpg")
    assert shown.status == 200 and not Image.open(io.BytesIO(shown.body())).getexif()

    # 6. One step in English: the status page after the language switch; then the lookup, accents or none.
    page.click("button[name=language][value=en]")
    page.wait_for_function("() => document.documentElement.lang === 'en'")
    assert "Resolved" in page.inner_text("[data-testid=report-status]")
    assert page.inner_text("[data-testid=report-answer]") == answer
    page.click("button[name=language][value=vi]")
    page.wait_for_function("() => document.documentElement.lang === 'vi'")
    choices = {}
    for ward_typed in ("An Khánh", "An Khanh", "an khanh"):
        page.goto(f"{live_server.url}/tra-cuu/?ward={ward_typed}&sheet={SHEET}&parcel={NUMBER}")
        assert "/tra-cuu/" in page.url  # a choice offered, never a redirect to one guessed parcel
        choices[ward_typed] = page.locator("main a[href^='/thua-dat/']").evaluate_all(
            "links => links.map(a => a.getAttribute('href')).sort()")
    assert choices["An Khánh"] == choices["An Khanh"] == choices["an khanh"], choices
    assert parcel_path in choices["An Khanh"] and len(choices["An Khanh"]) > 1  # Thảo Điền's parcel among them
    # The lookup form's address field, typed with accents and without: the same parcel.
    for address in (p["address"], plain(p["address"])):
        page.goto(live_server.url + "/tra-cuu/")
        page.fill("#address", address)
        with page.expect_navigation():
            page.locator("form.lookup-form:has(#address) button[type=submit]").click()
        assert page.url == live_server.url + parcel_path, (address, page.url)
    assert page.errors == []
