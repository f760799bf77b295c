"""A resident on a 360 px phone reports wrong data from the form, gets a receipt code; a planner answers it in
the moderation queue; the resident opens the code's page and reads the answer."""
import pytest
from django.contrib.auth.models import User

from layers.models import Feature, LayerGrant
from portal.report_models import Report

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PHONE = {"width": 360, "height": 740}
NO_SIDEWAYS = "() => document.documentElement.scrollWidth <= window.innerWidth"


@pytest.fixture
def planner(demo_city):
    user = User.objects.create_user("report-planner-b", password="planner-pass-456")
    LayerGrant.objects.create(layer=demo_city["parcels"], user=user, can_edit=True)
    return user


def test_report_receipt_answer_on_a_phone(page, live_server, demo_city, planner, settings, tmp_path, screenshot):
    settings.MEDIA_ROOT = tmp_path / "media"
    page.set_viewport_size(PHONE)
    page.goto(live_server.url + "/phan-anh/")
    assert page.locator("html").get_attribute("lang") == "vi"
    page.wait_for_selector("#report-map .leaflet-overlay-pane path")  # the wards to pick on
    box = page.locator("#report-map").bounding_box()
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)  # pick the place by tapping
    assert page.input_value("#report-lon") and page.input_value("#report-lat")
    page.select_option("#report-category", "land_use")
    text = "Thửa đất này là đất ở, bản đồ ghi đất nông nghiệp."
    page.fill("#report-text", text)
    page.fill("#report-contact", "0903 111 222")
    assert page.evaluate(NO_SIDEWAYS)
    trap = page.locator("#report-website").bounding_box()
    assert trap is None or trap["x"] + trap["width"] <= 0  # the honeypot is off screen: not for people
    screenshot("form")
    with page.expect_navigation():
        page.click("form.report-form button[type=submit]")
    code = page.inner_text("[data-testid=receipt-code]").strip()
    report = Report.objects.get()
    assert code.replace("-", "") == report.code
    assert page.evaluate(NO_SIDEWAYS)
    screenshot("receipt")

    page.context.clear_cookies()  # the planner, on another phone
    page.goto(f"{live_server.url}/accounts/login/?next=/phan-anh/quan-ly/")
    page.fill("#id_username", "report-planner-b")
    page.fill("#id_password", "planner-pass-456")
    with page.expect_navigation():
        page.click("form.lookup-form button[type=submit]")
    item = page.locator(f"#r-{report.code}")
    assert text in item.inner_text() and "0903" not in item.inner_text()  # no personal-data grant: no contact
    assert page.locator("#queue-map path.leaflet-interactive").count() == 1  # its dot (ward outlines are not interactive)
    answer = "Đã kiểm tra hồ sơ; sẽ cập nhật loại đất trong tuần này."
    item.locator("select[name=status]").select_option("answered")
    item.locator("textarea[name=answer]").fill(answer)
    with page.expect_navigation():
        item.locator("button[type=submit]").click()
    assert page.evaluate(NO_SIDEWAYS)
    screenshot("queue")

    page.context.clear_cookies()  # the resident again, with the code
    page.goto(live_server.url + "/phan-anh/")
    page.fill("#report-code", code.lower())
    with page.expect_navigation():
        page.click("form.report-follow button[type=submit]")
    assert page.inner_text("[data-testid=report-answer]") == answer
    assert page.inner_text("[data-testid=report-text]") == text
    assert "0903" not in page.content() and "report-planner-b" not in page.content()
    assert page.evaluate(NO_SIDEWAYS)
    assert page.requests.outside(live_server.url) == [] and page.requests.console_errors == []
    screenshot("answered")


def test_the_parcel_page_links_to_a_prefilled_form(page, live_server, demo_city):
    parcel = Feature.objects.filter(layer=demo_city["parcels"]).order_by("id")[20]
    p = parcel.properties
    page.set_viewport_size(PHONE)
    page.goto(f"{live_server.url}/thua-dat/{p['ward_code']}/{p['map_sheet']}/{p['parcel_no']}/")
    with page.expect_navigation():
        page.click("[data-testid=report-link]")
    assert page.inner_text("[data-testid=report-target]") == f"parcels #{parcel.pk}"
    assert page.locator("#report-map").count() == 0  # the place is the parcel: nothing to pick
