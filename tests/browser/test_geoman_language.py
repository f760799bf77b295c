"""The editor's drawing toolbar (Leaflet-Geoman) speaks the interface's language: Vietnamese from the vendored
dictionary, English from Geoman's own."""
import pytest
from django.contrib.auth.models import User

from layers.models import LayerGrant

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TITLES = "() => [...document.querySelectorAll('.leaflet-pm-toolbar [title]')].map(e => e.getAttribute('title'))"


@pytest.fixture
def planner(demo_city):
    user = User.objects.create_user("planner-g", password="planner-pass-123")
    LayerGrant.objects.create(layer=demo_city["parcels"], user=user, can_edit=True)
    return user


def _open_editor(page, live_server):
    page.goto(f"{live_server.url}/accounts/login/?next=/edit/parcels/")
    page.fill("#id_username", "planner-g")
    page.fill("#id_password", "planner-pass-123")
    with page.expect_navigation():
        page.click("form.lookup-form button[type=submit]")
    page.wait_for_selector(".leaflet-pm-toolbar [title]", state="attached")


def test_toolbar_tooltips_in_vietnamese_then_english(page, live_server, planner, screenshot):
    _open_editor(page, live_server)
    titles = page.evaluate(TITLES)
    assert "Vẽ đa giác" in titles and "Chỉnh sửa" in titles and "Xóa" in titles
    assert not {"Draw Polygons", "Edit Layers", "Remove Layers"} & set(titles)
    # The hint that follows the cursor while drawing is Vietnamese too.
    page.click(".leaflet-pm-toolbar [title='Vẽ đa giác'] a")
    page.mouse.move(400, 400)
    assert "Nhấp để đặt đỉnh đầu tiên" in page.inner_text(".leaflet-tooltip-pane")
    page.keyboard.press("Escape")
    screenshot("vi")

    page.click("button[name=language][value=en]")
    page.wait_for_selector(".leaflet-pm-toolbar [title]", state="attached")
    titles = page.evaluate(TITLES)
    assert "Draw Polygons" in titles and "Edit Layers" in titles
    assert "Vẽ đa giác" not in titles
    assert page.requests.outside(live_server.url) == []
