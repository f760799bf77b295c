"""The parcel page printed: no controls or site chrome, the neighbours map fitted to the printed size and
drawn whole, the parcel's key, address and time on the paper; and on a 360 px phone, labels above values."""
import io

import pytest
from pypdf import PdfReader

from layers.models import Feature

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
BOXES = """() => {
    const map = document.querySelector('#parcel-map').getBoundingClientRect();
    const parcel = document.querySelector('#parcel-map path.parcel-outline').getBoundingClientRect();
    const drawn = [...document.querySelectorAll('#parcel-map .leaflet-overlay-pane path')]
        .map(p => p.getBoundingClientRect()).filter(r => r.width > 0 && r.height > 0
            && r.right > map.left && r.left < map.right && r.bottom > map.top && r.top < map.bottom).length;
    return {map: {x: map.x, y: map.y, w: map.width, h: map.height},
            parcel: {x: parcel.x, y: parcel.y, w: parcel.width, h: parcel.height}, drawn};
}"""


@pytest.fixture
def parcel(demo_city):
    return Feature.objects.filter(layer=demo_city["parcels"]).order_by("id")[150]


def _url(live_server, parcel) -> str:
    p = parcel.properties
    return f"{live_server.url}/thua-dat/{p['ward_code']}/{p['map_sheet']}/{p['parcel_no']}/"


def _inside(inner: dict, outer: dict, slack: float = 1.0) -> bool:
    return (inner["x"] >= outer["x"] - slack and inner["y"] >= outer["y"] - slack
            and inner["x"] + inner["w"] <= outer["x"] + outer["w"] + slack
            and inner["y"] + inner["h"] <= outer["y"] + outer["h"] + slack)


def test_print_view_hides_controls_and_draws_the_whole_map(page, live_server, parcel, screenshot):
    page.set_viewport_size({"width": 1024, "height": 900})
    page.goto(_url(live_server, parcel))
    page.wait_for_function("() => window.gisportalParcelMap !== undefined")
    on_screen = page.evaluate(BOXES)
    assert page.locator("#parcel-map .leaflet-control-zoom").is_visible()

    page.emulate_media(media="print")
    page.wait_for_function("(w) => document.querySelector('#parcel-map').getBoundingClientRect().width !== w",
                           arg=on_screen["map"]["w"])
    page.wait_for_timeout(300)  # the fit after the media change
    printed = page.evaluate(BOXES)
    assert printed["map"]["w"] > on_screen["map"]["w"]  # the map takes the page's width in print
    assert _inside(printed["parcel"], printed["map"])  # fitted again to its printed size
    assert printed["parcel"]["w"] > 0.2 * printed["map"]["w"] or printed["parcel"]["h"] > 0.2 * printed["map"]["h"]
    centre = {k: printed["parcel"][k] + printed["parcel"][d] / 2 - printed["map"][k] - printed["map"][d] / 2
              for k, d in (("x", "w"), ("y", "h"))}
    assert abs(centre["x"]) < 0.15 * printed["map"]["w"] and abs(centre["y"]) < 0.15 * printed["map"]["h"]  # centred
    # The neighbours are drawn across the printed map, not only where the screen map was.
    right_half = page.evaluate("""() => {
        const map = document.querySelector('#parcel-map').getBoundingClientRect();
        return [...document.querySelectorAll('#parcel-map .leaflet-overlay-pane path')]
            .some(p => { const r = p.getBoundingClientRect(); return r.width > 0 && r.right > map.left + 0.8 * map.width
                                                                   && r.left < map.right; });
    }""")
    assert printed["drawn"] >= 3 and right_half
    for hidden in (".leaflet-control-zoom", ".leaflet-control-scale", ".site-header", "#print-button", ".crumbs"):
        assert page.locator(hidden).first.is_hidden(), hidden
    key = page.locator("[data-testid=print-key]")
    assert key.is_visible() and _url(live_server, parcel) in key.inner_text()
    assert page.locator("[data-testid=as-of]").is_visible()
    screenshot("print")

    pdf = PdfReader(io.BytesIO(page.pdf(format="A4", print_background=True)))
    text = "".join(p.extract_text() for p in pdf.pages)
    compact = "".join(text.split())
    assert "Thôngtintínhđến" in compact and "Khóathửađất" in compact
    assert "Phóngto" not in compact and "In" != text.strip()[-2:]  # no zoom button titles, no Print button


def test_parcel_page_on_a_phone_puts_labels_above_values(page, live_server, parcel, screenshot):
    page.set_viewport_size({"width": 360, "height": 740})
    page.goto(_url(live_server, parcel))
    page.wait_for_function("() => window.gisportalParcelMap !== undefined")
    assert page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth") <= 0
    dt, dd = page.locator(".facts dt").first.bounding_box(), page.locator(".facts dd").first.bounding_box()
    assert dd["y"] >= dt["y"] + dt["height"] - 1 and dd["width"] > 250
    screenshot("phone")
