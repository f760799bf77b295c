"""A planner edits a parcel in the browser; a second planner's stale save is refused and shown."""
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
