"""A planner edits a parcel in the browser; a second planner's stale save is refused and shown; a parcel is split
with a drawn line; an edit is reverted from the history page."""
import json

import pytest
from django.contrib.auth.models import User

from layers.models import Feature, FeatureVersion, LayerGrant

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def planner(demo_city):
    user = User.objects.create_user("planner-b", password="planner-pass-123")
    LayerGrant.objects.create(layer=demo_city["parcels"], user=user, can_edit=True)
    return user


def _login(page, live_server, next_url):
    page.goto(f"{live_server.url}/accounts/login/?next={next_url}")
    page.fill("#id_username", "planner-b")
    page.fill("#id_password", "planner-pass-123")
    with page.expect_navigation():
        page.click("form.lookup-form button[type=submit]")


def test_edit_then_a_stale_save_is_refused_and_both_are_in_history(page, live_server, demo_city, planner, screenshot):
    parcel = Feature.objects.filter(layer=demo_city["parcels"]).order_by("id")[10]
    _login(page, live_server, f"/edit/parcels/%3Ffeature%3D{parcel.pk}")
    page.wait_for_selector("#field-address")
    page.fill("#field-address", "25 Quốc Hương")
    page.fill("#edit-comment", "số nhà mới")
    page.click("#feature-form button[type=submit]")
    page.wait_for_function(r"() => /(phiên bản|version) 2$/.test(document.querySelector('.feature-id').textContent)")
    assert Feature.objects.get(pk=parcel.pk).properties["address"] == "25 Quốc Hương"

    # Another planner saved meanwhile (the database numbers the versions).
    from django.db import connection
    with connection.cursor() as cursor:
        cursor.execute("UPDATE layers_feature SET properties = properties || %s::jsonb WHERE id = %s",
                       [json.dumps({"address": "27 Quốc Hương"}), parcel.pk])
    page.fill("#field-address", "29 Quốc Hương")
    page.click("#feature-form button[type=submit]")
    page.wait_for_selector("#conflict:not([hidden])")
    theirs = page.inner_text("#conflict tbody")
    assert "27 Quốc Hương" in theirs and "29 Quốc Hương" in theirs
    assert Feature.objects.get(pk=parcel.pk).properties["address"] == "27 Quốc Hương"
    ops = list(FeatureVersion.objects.filter(feature_id=parcel.pk).order_by("id").values_list("op", "version"))
    assert ops[-2:] == [("update", 2), ("update", 3)]
    assert page.requests.outside(live_server.url) == []
    assert [e for e in page.requests.console_errors if "409" not in e] == []  # the browser logs the refused save
    screenshot("conflict")


def _selected_box(page) -> dict:
    """The selected feature's outline on screen (the editor draws it in red)."""
    outline = page.locator("#editor-map path.leaflet-interactive[stroke='#b00020']")
    outline.wait_for()
    return outline.bounding_box()


def test_split_a_parcel_with_a_drawn_line(page, live_server, demo_city, planner, screenshot):
    parcels = demo_city["parcels"]
    parcel = Feature.objects.filter(layer=parcels).order_by("id")[40]
    sheet = {"layer": parcels, "properties__ward_code": parcel.properties["ward_code"],
             "properties__map_sheet": parcel.properties["map_sheet"]}
    numbers = [int(n) for n in Feature.objects.filter(**sheet).values_list("properties__parcel_no", flat=True)]
    _login(page, live_server, f"/edit/parcels/%3Ffeature%3D{parcel.pk}")
    page.wait_for_selector("#field-address")
    page.wait_for_load_state("networkidle")
    assert page.is_enabled("#split-feature")
    box = _selected_box(page)
    page.click("#split-feature")
    assert page.get_attribute("#split-feature", "aria-pressed") == "true"
    y = box["y"] + box["height"] / 2
    start, end = box["x"] - 40, box["x"] + box["width"] + 40
    page.mouse.click(start, y)
    page.mouse.move(end, y, steps=5)
    page.mouse.click(end, y)
    with page.expect_response(lambda r: r.url.endswith(f"/features/{parcel.pk}/split")) as answer:
        page.mouse.click(end, y)  # the last point again finishes the line
    assert answer.value.status == 200
    page.wait_for_function(r"() => /\(/.test(document.getElementById('editor-status').textContent)")
    status = page.inner_text("#editor-status")
    original = Feature.objects.get(pk=parcel.pk)
    new = Feature.objects.get(**sheet, properties__parcel_no=max(numbers) + 2)  # both parts get new numbers
    assert original.version == parcel.version + 1 and original.properties["parcel_no"] == max(numbers) + 1
    assert str(new.pk) in status and str(max(numbers) + 2) in status
    assert original.properties["legal_area"] + new.properties["legal_area"] == pytest.approx(parcel.properties["legal_area"], abs=0.2)
    assert Feature.objects.filter(**sheet).count() == len(numbers) + 1
    assert page.get_attribute("#split-feature", "aria-pressed") == "false"
    assert page.locator("#editor-map path.leaflet-interactive").count() >= 2
    assert page.requests.outside(live_server.url) == [] and page.requests.console_errors == []
    screenshot("split")


def test_revert_from_the_history_page(page, live_server, demo_city, planner, screenshot):
    from layers.editing import feature_update

    parcels = demo_city["parcels"]
    parcel = Feature.objects.filter(layer=parcels).order_by("id")[12]
    old = dict(parcel.properties)
    feature_update(layer=parcels, feature_id=parcel.pk, expected_version=parcel.version, user=planner,
                   properties={**old, "address": "99 Đường sai"}, comment="nhập nhầm")
    _login(page, live_server, f"/history/parcels/{parcel.pk}/")
    page.wait_for_selector("[data-testid=timeline]")
    assert page.locator("form.revert-form").count() == 1  # the older version only, not the current one
    page.fill(f"[data-testid=revert-{parcel.version}] input[name=comment]", "trả lại địa chỉ cũ")
    with page.expect_navigation():
        page.click(f"[data-testid=revert-{parcel.version}] button[type=submit]")
    assert page.locator(".message-success").is_visible()
    restored = Feature.objects.get(pk=parcel.pk)
    assert restored.properties == old and restored.version == parcel.version + 2
    timeline = page.locator("[data-testid=timeline] > li")
    assert timeline.count() == 3 and "trả lại địa chỉ cũ" in timeline.nth(2).inner_text()
    assert page.requests.outside(live_server.url) == [] and page.requests.console_errors == []
    screenshot("reverted")
