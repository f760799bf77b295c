"""A resident on a phone: the parcel page → its planning information sheet (PDF) → the QR code on it → the
verification page says the sheet is genuine and the data unchanged."""
import io

import pypdf
import pytest
import zxingcpp

from layers.models import Feature

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PHONE = {"width": 360, "height": 740}


def test_download_the_sheet_scan_its_qr_code_and_see_it_verified(page, live_server, demo_city, settings, screenshot):
    settings.GISPORTAL_PUBLIC_URL = live_server.url  # the QR code leads to this server, as in production to the portal
    parcel = Feature.objects.filter(layer=demo_city["parcels"]).order_by("id")[150]
    p = parcel.properties
    page.set_viewport_size(PHONE)
    page.goto(f"{live_server.url}/thua-dat/{p['ward_code']}/{p['map_sheet']}/{p['parcel_no']}/")
    link = page.locator("[data-testid=sheet-link]")
    assert link.is_visible()
    response = page.request.get(live_server.url + link.get_attribute("href"))
    assert response.status == 200 and response.headers["content-type"] == "application/pdf"
    reader = pypdf.PdfReader(io.BytesIO(response.body()))
    scanned = {r.text for pg in reader.pages for image in pg.images for r in zxingcpp.read_barcodes(image.image)}
    assert len(scanned) == 1
    url = scanned.pop()
    assert url.startswith(live_server.url + "/xac-minh/")
    page.goto(url)
    status = page.locator("[data-testid=status]")
    assert status.get_attribute("data-state") == "unchanged"
    assert "không thay đổi" in status.inner_text()
    assert page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth")
    assert page.requests.outside(live_server.url) == [] and page.requests.console_errors == []
    screenshot("sheet-verified-phone")
