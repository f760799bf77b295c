"""The map in one hand (360 px) and on a desktop: the click result as a bottom sheet on phones (parcel facts
first, values on their own lines, links to the parcel page and its sheet, controls out of its way, Esc
closes it); on a desktop the popup clear of the controls and, in English, of the search box; the scale bar
clear of the attribution."""
import pytest

from layers.models import Feature, Layer
from tests.browser.test_map import LAT, LON, SLUG, XSS, parcels  # noqa: F401 (parcels: a fixture)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PHONE = {"width": 360, "height": 740}

# Boxes of what floats over the map, visible ones only (a control hidden with visibility: hidden has a box).
OVERLAY_BOXES = """() => [...document.querySelectorAll(
        '.leaflet-control-container .leaflet-control, .map-search, .as-of-banner, .map-status')]
    .filter(e => { const s = getComputedStyle(e); const r = e.getBoundingClientRect();
                   return s.visibility !== 'hidden' && s.display !== 'none' && r.width > 0 && r.height > 0
                          && e.closest('[hidden]') === null && getComputedStyle(e.parentElement).visibility !== 'hidden'; })
    .map(e => { const r = e.getBoundingClientRect();
                return {name: e.className, x: r.x, y: r.y, width: r.width, height: r.height}; })"""


def overlaps(a: dict, b: dict) -> bool:
    return (a["x"] < b["x"] + b["width"] and b["x"] < a["x"] + a["width"]
            and a["y"] < b["y"] + b["height"] and b["y"] < a["y"] + a["height"])


def covering(page, box: dict) -> list[str]:
    """The visible controls whose boxes meet `box`."""
    return [o["name"] for o in page.evaluate(OVERLAY_BOXES) if overlaps(o, box)]


@pytest.fixture
def parcel(demo_city):
    """A demo parcel inside a planning zone."""
    return Feature.objects.filter(layer=demo_city["parcels"]).order_by("id")[200]


def parcel_url(parcel) -> str:
    p = parcel.properties
    return f"/thua-dat/{p['ward_code']}/{p['map_sheet']}/{p['parcel_no']}/"


def open_at(page, live_server, parcel, zoom: int = 18):
    point = parcel.geom.point_on_surface
    page.goto(f"{live_server.url}/#{zoom}/{point.y:.6f}/{point.x:.6f}/planning-zones,parcels")
    page.wait_for_function("() => window.gisportalMap !== undefined")
    page.wait_for_load_state("networkidle")
    return point


def click_latlng(page, lat: float, lon: float):
    box = page.locator("#map").bounding_box()
    at = page.evaluate(f"window.gisportalMap.latLngToContainerPoint([{lat}, {lon}])")
    with page.expect_response(lambda r: "/api/at?" in r.url and r.status == 200):
        page.mouse.click(box["x"] + at["x"], box["y"] + at["y"])


def test_phone_click_opens_a_bottom_sheet_with_the_parcel_first(page, live_server, parcel, screenshot):
    page.set_viewport_size(PHONE)
    point = open_at(page, live_server, parcel)
    click_latlng(page, point.y, point.x)
    sheet = page.locator("#feature-sheet")
    sheet.locator(".result dl").first.wait_for()

    assert page.locator(".leaflet-popup").count() == 0  # a sheet, not a popup
    assert page.evaluate("document.activeElement.id") == "feature-sheet"  # focus moved to it
    layers = sheet.locator(".result").evaluate_all("nodes => nodes.map(n => n.dataset.layer)")
    assert layers[0] == "parcels" and "planning-zones" in layers  # the parcel's own facts first, then the zones
    text = sheet.inner_text()
    assert text.index("Số thửa") < text.index("Ký hiệu ô")

    # Each value on its own line, full width: none wrapped one word per line.
    lines = sheet.locator("dd").evaluate_all("""nodes => nodes.map(n => {
        const style = getComputedStyle(n);
        const range = document.createRange(); range.selectNodeContents(n);
        const tops = new Set([...range.getClientRects()].map(r => Math.round(r.top)));
        return {text: n.textContent, lines: tops.size, width: n.getBoundingClientRect().width};
    })""")
    assert lines and all(row["lines"] <= 2 for row in lines), lines
    assert all(row["width"] > 250 for row in lines), lines  # values use the sheet's width
    dt_box, dd_box = sheet.locator("dt").first.bounding_box(), sheet.locator("dd").first.bounding_box()
    assert dd_box["y"] >= dt_box["y"] + dt_box["height"] - 1  # the label above its value, not beside it

    url = parcel_url(parcel)
    assert sheet.locator("a.planning-link").get_attribute("href") == url
    assert sheet.locator("a.sheet-link").get_attribute("href") == url + "phieu.pdf"

    sheet_box = sheet.bounding_box()
    assert sheet_box["x"] >= 0 and sheet_box["x"] + sheet_box["width"] <= PHONE["width"]
    assert covering(page, sheet_box) == []  # no control over the sheet
    marker = page.locator(".leaflet-overlay-pane path[stroke='#b00020']").bounding_box()
    assert marker["y"] + marker["height"] <= sheet_box["y"]  # the clicked point stays in sight above it
    assert page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth") <= 0
    screenshot("sheet")

    # Tap the handle: the sheet fills the map, still clear of every control; Esc closes it.
    sheet.locator(".sheet-handle").click()
    map_box = page.locator("#map").bounding_box()
    expanded = sheet.bounding_box()
    assert expanded["height"] > 0.6 * map_box["height"] or expanded["height"] >= sheet.evaluate("n => n.scrollHeight") - 1
    assert covering(page, expanded) == []
    screenshot("sheet-expanded")
    page.keyboard.press("Escape")
    assert sheet.is_hidden()
    assert page.locator(".leaflet-control-zoom-in").is_visible() and page.locator("#map-search-input").is_visible()
    assert page.requests.console_errors == []


def test_phone_sheet_scrolls_closes_and_gives_way_to_the_layer_panel(page, live_server, parcel):
    page.set_viewport_size(PHONE)
    point = open_at(page, live_server, parcel)
    click_latlng(page, point.y, point.x)
    sheet = page.locator("#feature-sheet")
    sheet.locator(".result dl").first.wait_for()
    body = sheet.locator(".sheet-body")
    assert body.evaluate("n => getComputedStyle(n).overflowY") == "auto"
    # A second click elsewhere updates the same sheet; the close button closes it.
    click_latlng(page, point.y + 0.00002, point.x + 0.00002)
    assert sheet.is_visible() and page.locator(".leaflet-popup").count() == 0
    sheet.locator(".sheet-close").click()
    assert sheet.is_hidden()
    # Dragged up by its handle it fills the map; dragged down low it closes.
    click_latlng(page, point.y, point.x)
    sheet.locator(".result dl").first.wait_for()
    handle = sheet.locator(".sheet-handle").bounding_box()
    x, y = handle["x"] + handle["width"] / 2, handle["y"] + handle["height"] / 2
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x, 120, steps=8)
    page.mouse.up()
    assert "is-expanded" in sheet.get_attribute("class")
    handle = sheet.locator(".sheet-handle").bounding_box()
    page.mouse.move(x, handle["y"] + handle["height"] / 2)
    page.mouse.down()
    page.mouse.move(x, PHONE["height"] - 20, steps=8)
    page.mouse.up()
    assert sheet.is_hidden()
    # One bottom sheet at a time: the layer panel closes the click result and the other way round.
    click_latlng(page, point.y, point.x)
    sheet.locator(".result dl").first.wait_for()
    page.click(".panel-toggle")
    assert sheet.is_hidden() and page.locator("#layer-panel").is_visible()
    click_latlng(page, point.y, point.x)
    assert sheet.is_visible() and page.locator("#layer-panel").is_hidden()


def test_phone_scale_bar_clear_of_a_long_attribution(page, live_server, parcel, screenshot):
    Layer.objects.filter(slug__in=["parcels", "planning-zones"]).update(
        attribution="Sở Quy hoạch – Kiến trúc Thành phố Hồ Chí Minh; Sở Tài nguyên và Môi trường, dữ liệu 2024")
    page.set_viewport_size(PHONE)
    open_at(page, live_server, parcel)
    scale = page.locator(".leaflet-control-scale").bounding_box()
    attribution = page.locator(".leaflet-control-attribution").bounding_box()
    assert "Kiến trúc" in page.inner_text(".leaflet-control-attribution")
    assert not overlaps(scale, attribution), (scale, attribution)
    switcher = page.locator(".leaflet-control-layers").bounding_box()
    assert not overlaps(switcher, attribution)
    screenshot("scale")


def test_desktop_popup_in_english_is_clear_of_search_box_and_controls(page, live_server, parcel, screenshot):
    page.set_viewport_size({"width": 1024, "height": 700})
    point = open_at(page, live_server, parcel, zoom=19)
    page.click("button[name=language][value=en]")
    page.wait_for_function("() => window.gisportalMap !== undefined && document.documentElement.lang === 'en'")
    page.wait_for_load_state("networkidle")
    search = page.locator("#map-search").bounding_box()
    # Click just under the search box, at its left (by the zoom buttons): a popup opened there as it is
    # would have its title under the search box.
    map_box = page.locator("#map").bounding_box()
    x, y = search["x"] + 40, search["y"] + search["height"] + 12
    latlng = page.evaluate(f"window.gisportalMap.containerPointToLatLng([{x - map_box['x']}, {y - map_box['y']}])")
    click_latlng(page, latlng["lat"], latlng["lng"])
    popup = page.locator(".leaflet-popup-content-wrapper")
    popup.locator(".feature-popup").first.wait_for()
    page.wait_for_timeout(400)  # Leaflet's pan to fit the popup is animated
    box = popup.bounding_box()
    assert covering(page, box) == [], covering(page, box)
    title = page.locator(".leaflet-popup-content h3").first.bounding_box()
    assert not overlaps(title, page.locator("#map-search").bounding_box())
    assert page.locator(".leaflet-popup-content h3").first.inner_text() in ("Land parcels", "Zoning plan 1/2000")
    panel = page.locator("#layer-panel")
    if panel.is_visible():
        assert not overlaps(box, panel.bounding_box())
    assert page.locator("#feature-sheet").is_hidden()  # no sheet on a wide screen
    screenshot("popup-en")


def test_phone_sheet_shows_data_as_text(page, live_server, parcels):  # noqa: F811
    page.set_viewport_size(PHONE)
    page.goto(f"{live_server.url}/#17/{LAT + 0.001}/{LON + 0.001}/{SLUG}")
    page.wait_for_function("() => window.gisportalMap !== undefined")
    page.wait_for_load_state("networkidle")
    click_latlng(page, LAT + 0.001, LON + 0.001)
    sheet = page.locator("#feature-sheet")
    sheet.locator("dl").first.wait_for()
    assert XSS in sheet.inner_text() and sheet.locator("img").count() == 0 and page.title() != "pwned"
    assert "ODT – Đất ở tại đô thị" in sheet.inner_text()
