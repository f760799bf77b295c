"""The map page in a real browser: tiles drawn, click-to-see as text, layer switches, permalink,
locate-me, phone width, language. The map opens on a permalink showing only this test's layer."""
import pytest

from tests.factories import make_feature, make_parcel_layer, square

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SLUG = "browser-parcels"
LON, LAT = 106.75, 10.80
XSS = '<img src=x onerror="document.title=\'pwned\'">'


@pytest.fixture
def parcels():
    """A parcel layer with three parcels near Thu Duc, one whose address is an injection attempt."""
    layer = make_parcel_layer(slug=SLUG, title_vi="Thửa đất mẫu", title_en="Sample parcels",
                              style={"attribute": "land_use", "colors": {"ODT": "#d9480f", "CLN": "#2f9e44"},
                                     "default": "#868e96"})
    rows = [(0, 1, "ODT", XSS), (1, 2, "CLN", "12 Đường số 5"), (2, 3, "ODT", "14 Đường số 5")]
    for i, (offset, number, use, address) in enumerate(rows):
        make_feature(layer, square(LON + offset * 0.003, LAT, 0.002),
                     {"ward_code": "26800", "map_sheet": 7, "parcel_no": number, "land_use": use,
                      "legal_area": 200.0 + i, "address": address}, refresh=i == len(rows) - 1)
    return layer


def open_map(page, live_server, zoom: int = 12, lat: float = 10.82, lon: float = 106.79, layers: str = SLUG):
    """The map at a view, showing only the given layers (the permalink in the URL's fragment)."""
    page.goto(f"{live_server.url}/#{zoom}/{lat}/{lon}/{layers}")
    page.wait_for_function("() => window.gisportalMap !== undefined")


def toggle(page, title: str):
    return page.get_by_role("checkbox", name=title, exact=True)


def drawn_pixels(page) -> int:
    """Non-transparent pixels over this test layer's tile canvases (VectorGrid draws one canvas per tile)."""
    return page.evaluate(f"""() => {{
        let count = 0;
        for (const canvas of document.querySelectorAll('.layer-{SLUG} canvas')) {{
            if (!canvas.width || !canvas.height) continue;
            const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
            for (let i = 3; i < data.length; i += 4) if (data[i] > 0) count++;
        }}
        return count;
    }}""")


def test_map_draws_tiles_from_the_portal_only(page, live_server, parcels, screenshot):
    with page.expect_response(lambda r: f"/tiles/{SLUG}/" in r.url and r.url.endswith(".pbf") and r.status == 200):
        open_map(page, live_server)
    page.wait_for_function(f"() => document.querySelectorAll('.layer-{SLUG} canvas').length > 0")
    page.wait_for_load_state("networkidle")

    assert drawn_pixels(page) > 0, "the tile arrived but nothing was drawn"
    assert page.locator(".leaflet-control-scale").is_visible()
    assert page.locator(".leaflet-control-zoom-in").get_attribute("title") == "Phóng to"
    assert page.requests.outside(live_server.url) == []
    assert page.requests.console_errors == []  # CSP violations would show here
    screenshot("city")


def test_click_lists_features_from_the_server_as_text(page, live_server, parcels, screenshot):
    open_map(page, live_server, zoom=17, lat=LAT + 0.001, lon=LON + 0.001)
    page.wait_for_load_state("networkidle")
    box = page.locator("#map").bounding_box()
    with page.expect_response(lambda r: "/api/at?" in r.url and r.status == 200):
        page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)

    popup = page.locator(".leaflet-popup-content .feature-popup")
    popup.locator("dl").wait_for()
    text = popup.inner_text()
    assert "Thửa đất mẫu" in text and "Số thửa" in text and "Loại đất" in text
    assert XSS in text  # the address is shown as the characters it is made of
    assert "ODT – Đất ở tại đô thị" in text  # a coded value with its name from the legend
    assert popup.locator("img").count() == 0 and page.title() != "pwned"
    page.wait_for_function("() => getComputedStyle(document.querySelector('.leaflet-popup')).opacity === '1'")
    screenshot("popup")

    # Between parcels there is nothing: the popup says so.
    empty = page.evaluate(f"window.gisportalMap.latLngToContainerPoint([{LAT + 0.001}, {LON + 0.0025}])")
    with page.expect_response(lambda r: "/api/at?" in r.url and r.status == 200):
        page.mouse.click(box["x"] + empty["x"], box["y"] + empty["y"])
    expect_text = "Không có đối tượng nào của các lớp đang hiển thị tại điểm này."
    page.wait_for_function(f"() => document.querySelector('.leaflet-popup-content').textContent.includes({expect_text!r})")


def test_layer_switch_and_opacity(page, live_server, parcels):
    open_map(page, live_server)
    page.wait_for_function(f"() => document.querySelectorAll('.layer-{SLUG} canvas').length > 0")

    checkbox = toggle(page, "Thửa đất mẫu")
    checkbox.focus()
    page.keyboard.press("Space")  # keyboard, as a user without a mouse would
    assert not checkbox.is_checked()
    assert page.locator(f".layer-{SLUG}").count() == 0

    page.keyboard.press("Space")
    assert page.locator(f".layer-{SLUG}").count() == 1
    page.get_by_label("Độ đậm của lớp Thửa đất mẫu").fill("30")
    opacity = page.evaluate(f"getComputedStyle(document.querySelector('.layer-{SLUG}')).opacity")
    assert float(opacity) == pytest.approx(0.3)


def test_phone_width_has_no_horizontal_scroll(page, live_server, parcels, screenshot):
    page.set_viewport_size({"width": 360, "height": 740})
    open_map(page, live_server)
    page.wait_for_load_state("networkidle")

    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0
    panel = page.locator("#layer-panel")
    assert panel.is_hidden()  # the map comes first on a phone
    screenshot("closed")

    button = page.locator(".panel-toggle")
    button.focus()
    page.keyboard.press("Enter")
    assert panel.is_visible() and button.get_attribute("aria-expanded") == "true"
    assert page.evaluate("document.activeElement.classList.contains('layer-toggle')")
    assert page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth") <= 0
    panel_box = panel.bounding_box()
    assert panel_box["x"] >= 0 and panel_box["x"] + panel_box["width"] <= 360
    screenshot("panel")

    page.keyboard.press("Escape")
    assert panel.is_hidden()


def test_language_switch_changes_the_page(page, live_server, parcels, screenshot):
    open_map(page, live_server)
    assert page.locator("html").get_attribute("lang") == "vi"
    assert page.locator(".site-name").inner_text() == "Cổng dữ liệu không gian thành phố"

    with page.expect_navigation():
        page.get_by_role("button", name="EN").click()
    page.wait_for_function("() => window.gisportalMap !== undefined")

    assert page.locator("html").get_attribute("lang") == "en"
    assert page.locator(".site-name").inner_text() == "City spatial data portal"
    assert toggle(page, "Sample parcels").is_checked()
    group = page.locator("fieldset.layer-group", has=page.locator(f'[data-slug="{SLUG}"]'))
    assert group.locator("legend").text_content().strip() == "Land"
    screenshot("english")

    with page.expect_navigation():
        page.get_by_role("button", name="VI").click()
    assert page.locator(".site-name").inner_text() == "Cổng dữ liệu không gian thành phố"
    assert page.requests.outside(live_server.url) == []


def test_permalink_carries_view_and_layers_across_the_language_switch(page, live_server, parcels):
    open_map(page, live_server, zoom=16, lat=LAT + 0.001, lon=LON + 0.001, layers="")  # every layer off
    assert page.evaluate("window.gisportalMap.getZoom()") == 16
    assert not toggle(page, "Thửa đất mẫu").is_checked()
    page.wait_for_load_state("networkidle")
    assert not page.requests.tiles, "a hidden layer asked for tiles"

    toggle(page, "Thửa đất mẫu").check()
    page.wait_for_function(f"() => location.hash.endsWith('/{SLUG}')")
    page.evaluate("window.gisportalMap.setZoom(17, {animate: false})")
    page.wait_for_function("() => location.hash.startsWith('#17/')")
    link = page.evaluate("location.hash")

    with page.expect_navigation():
        page.get_by_role("button", name="EN").click()
    page.wait_for_function("() => window.gisportalMap !== undefined")
    assert page.evaluate("location.hash") == link
    assert page.evaluate("window.gisportalMap.getZoom()") == 17
    assert toggle(page, "Sample parcels").is_checked()


def test_locate_me_asks_the_browser_and_shows_the_place(browser_context, page, live_server, parcels, screenshot):
    open_map(page, live_server)
    browser_context.grant_permissions(["geolocation"], origin=live_server.url)
    browser_context.set_geolocation({"latitude": LAT + 0.001, "longitude": LON + 0.001, "accuracy": 30})
    try:
        page.get_by_role("button", name="Hiện vị trí của tôi").click()
        page.wait_for_function("() => window.gisportalMap.getZoom() === 17")
        centre = page.evaluate("window.gisportalMap.getCenter()")
        assert centre["lat"] == pytest.approx(LAT + 0.001, abs=1e-4)
        assert centre["lng"] == pytest.approx(LON + 0.001, abs=1e-4)
        assert page.locator(".leaflet-overlay-pane path").count() == 1  # the accuracy circle
        screenshot("found")

        browser_context.clear_permissions()
        page.get_by_role("button", name="Hiện vị trí của tôi").click()
        status = page.get_by_role("status")
        status.wait_for()
        assert "Không xác định được vị trí" in status.inner_text()
        screenshot("refused")
    finally:
        browser_context.clear_permissions()


@pytest.fixture
def basemap_layers():
    """A city, a river and two roads, in layers marked as the basemap's."""
    from django.contrib.gis.geos import LineString, MultiLineString

    from tests.factories import make_layer

    boundaries = make_layer(slug="bm-boundaries", basemap_role="boundaries", category="administrative",
                            schema=[{"name": "level", "type": "text", "display": True, "label_vi": "Cấp", "label_en": "Level"}])
    water = make_layer(slug="bm-water", basemap_role="water", category="environment")
    roads = make_layer(slug="bm-roads", basemap_role="roads", geometry_type="MultiLineString",
                       schema=[{"name": "road_class", "type": "text", "display": True, "label_vi": "Cấp", "label_en": "Class"}])
    make_feature(boundaries, square(LON - 0.02, LAT - 0.02, 0.04), {"level": "city"})
    make_feature(water, square(LON - 0.03, LAT - 0.02, 0.01))
    for lat, road_class in ((LAT, "main"), (LAT + 0.005, "local")):
        line = MultiLineString(LineString((LON - 0.02, lat), (LON + 0.02, lat)), srid=4326)
        make_feature(roads, line, {"road_class": road_class})
    return boundaries, water, roads


def basemap_pixels(page) -> int:
    return page.evaluate("""() => {
        let count = 0;
        for (const canvas of document.querySelectorAll('.city-basemap canvas')) {
            if (!canvas.width || !canvas.height) continue;
            const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
            for (let i = 3; i < data.length; i += 4) if (data[i] > 0) count++;
        }
        return count;
    }""")


def test_the_city_basemap_is_drawn_from_its_own_layers(page, live_server, parcels, basemap_layers, screenshot):
    basemap_tiles = "/tiles/bm-boundaries,bm-water,bm-roads/"
    with page.expect_response(lambda r: basemap_tiles in r.url and r.status == 200):
        open_map(page, live_server, zoom=14, lat=LAT, lon=LON)
    page.wait_for_load_state("networkidle")

    assert basemap_pixels(page) > 0
    assert page.requests.outside(live_server.url) == []
    switcher = page.locator(".leaflet-control-layers")
    switcher.hover()
    names = switcher.locator(".leaflet-control-layers-base label").all_inner_texts()
    assert [n.strip() for n in names] == ["Bản đồ nền thành phố", "Không có nền"]  # no outside basemap configured
    screenshot("basemap")
    switcher.get_by_text("Không có nền").click()
    page.wait_for_function("() => document.querySelectorAll('.city-basemap canvas').length === 0")
    assert not page.locator("#map").evaluate("m => m.classList.contains('has-city-basemap')")


def test_the_map_as_of_a_past_day(page, live_server, parcels, screenshot):
    import datetime as dt

    from django.db import connection

    from layers.models import Feature

    feature = Feature.objects.filter(layer=parcels, properties__parcel_no=2).get()
    with connection.cursor() as cursor:  # its history moved three days back, then a change today
        cursor.execute("UPDATE layers_featureversion SET changed_at = changed_at - interval '3 days' WHERE layer_id = %s",
                       [parcels.pk])
    feature.properties = {**feature.properties, "address": "99 Đường mới"}
    feature.save()
    day = (dt.date.today() - dt.timedelta(days=1)).isoformat()

    open_map(page, live_server, zoom=17, lat=LAT + 0.001, lon=LON + 0.004)
    page.wait_for_load_state("networkidle")
    if page.locator(".panel-toggle").get_attribute("aria-expanded") == "false":
        page.click(".panel-toggle")
    with page.expect_response(lambda r: f"/tiles/{SLUG}/" in r.url and f"as_of={day}" in r.url):
        page.fill("#as-of", day)
        page.dispatch_event("#as-of", "change")
    banner = page.locator(".as-of-banner")
    assert banner.is_visible() and "cuối ngày" in banner.inner_text()
    assert dt.date.fromisoformat(day).strftime("%d/%m/%Y") in banner.inner_text()  # the one date format
    assert page.evaluate("() => window.location.hash").endswith("/" + day)

    box = page.locator("#map").bounding_box()
    with page.expect_response(lambda r: "/api/at?" in r.url and f"as_of={day}" in r.url and r.status == 200):
        page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    popup = page.locator(".leaflet-popup-content .feature-popup")
    popup.locator("dl").wait_for()
    assert "12 Đường số 5" in popup.inner_text() and "99 Đường mới" not in popup.inner_text()
    screenshot("as-of")

    page.click("#as-of-reset")
    assert banner.is_hidden() and not page.evaluate("() => window.location.hash").endswith("/" + day)
    with page.expect_response(lambda r: "/api/at?" in r.url and "as_of" not in r.url and r.status == 200):
        page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    # Leaflet fades the last day's popup out for 200 ms, so two popups may be in the page for a moment:
    # wait for today's, which names the new address.
    today = page.locator(".leaflet-popup-content .feature-popup", has_text="99 Đường mới")
    today.locator("dl").wait_for()
    assert "12 Đường số 5" not in today.inner_text()
