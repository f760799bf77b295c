"""The editing doors: API, admin, history pages and audit — each refuses what it must, and says why."""
import json

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from layers.models import Feature, LayerGrant
from tests.factories import make_feature, make_parcel_layer, square

pytestmark = pytest.mark.django_db
LON, LAT = 106.7500, 10.8000
PARCEL = {"ward_code": "27088", "map_sheet": 1, "parcel_no": 1, "land_use": "ODT", "legal_area": 300.0}


def _geojson(poly) -> dict:
    return json.loads(poly.geojson)


@pytest.fixture
def layer():
    return make_parcel_layer(slug="api-parcels")


@pytest.fixture
def planner_client(layer):
    user = User.objects.create_user("planner", password="pw-planner-123")
    LayerGrant.objects.create(layer=layer, user=user, can_edit=True)
    client = Client()
    client.force_login(user)
    return client


def _put(client, url, body):
    return client.put(url, json.dumps(body), content_type="application/json")


def test_create_edit_and_a_stale_save_gets_409_with_the_current_feature(layer, planner_client):
    created = planner_client.post(reverse("api-features", args=[layer.slug]),
                                  json.dumps({"geometry": _geojson(square(LON, LAT, 0.0002)), "properties": PARCEL}),
                                  content_type="application/json")
    assert created.status_code == 201
    fid = created.json()["id"]
    url = reverse("api-feature", args=[layer.slug, fid])
    first = _put(planner_client, url, {"version": 1, "properties": {**PARCEL, "address": "12 Quốc Hương"}})
    assert first.status_code == 200 and first.json()["version"] == 2
    stale = _put(planner_client, url, {"version": 1, "properties": {**PARCEL, "address": "other"}})
    assert stale.status_code == 409 and stale.json()["current"]["properties"]["address"] == "12 Quốc Hương"
    assert stale.json()["description_vi"]
    assert Feature.objects.get(pk=fid).properties["address"] == "12 Quốc Hương"


def test_bad_input_is_refused_with_reasons_and_nothing_changes(layer, planner_client):
    feature = make_feature(layer, square(LON, LAT, 0.0002), PARCEL)
    url = reverse("api-feature", args=[layer.slug, feature.pk])
    bowtie = {"type": "Polygon", "coordinates": [[[LON, LAT], [LON + 0.001, LAT + 0.001], [LON + 0.001, LAT], [LON, LAT + 0.001], [LON, LAT]]]}
    cases = [
        ({"version": 1, "geometry": bowtie}, 400, "geometry"),
        ({"version": 1, "properties": {**PARCEL, "map_sheet": "twelve"}}, 400, "map_sheet"),
        ({"version": 1, "geometry": {"type": "Polygon", "coordinates": [[[500, 10], [1, 2], [3, 4], [500, 10]]]}}, 400, None),
        ({"version": 1, "geometry": "POLYGON((0 0, 1 1, 1 0, 0 0))"}, 400, None),
        ({"version": "x", "properties": PARCEL}, 400, None),
    ]
    for body, status, field in cases:
        response = _put(planner_client, url, body)
        assert response.status_code == status, body
        assert response.json()["description_vi"]
        if field:
            assert field in {p["field"] for p in response.json()["problems"]}
    assert planner_client.put(url, b"{not json", content_type="application/json").status_code == 400
    feature.refresh_from_db()
    assert feature.version == 1 and feature.properties["map_sheet"] == 1


def test_forged_layer_or_feature_ids_reveal_and_change_nothing(layer, planner_client):
    other = make_parcel_layer(slug="not-granted")
    victim = make_feature(other, square(LON, LAT), PARCEL)
    # The victim's id under the granted layer: not found; under its own layer: forbidden.
    assert _put(planner_client, reverse("api-feature", args=[layer.slug, victim.pk]), {"version": 1, "properties": PARCEL}).status_code == 404
    assert _put(planner_client, reverse("api-feature", args=[other.slug, victim.pk]), {"version": 1, "properties": PARCEL}).status_code == 403
    secret = make_parcel_layer(slug="secret-parcels", is_public=False)
    hidden = make_feature(secret, square(LON, LAT), PARCEL)
    for response in [planner_client.get(reverse("api-feature", args=[secret.slug, hidden.pk])),
                     planner_client.get(reverse("feature-history", args=[secret.slug, hidden.pk]), HTTP_ACCEPT="text/html"),
                     planner_client.get(reverse("layer-diff", args=[secret.slug]) + "?f=geojson")]:
        assert response.status_code == 404
    assert Feature.objects.get(pk=victim.pk).version == 1


def test_anonymous_and_csrf_less_writes_are_refused(layer):
    feature = make_feature(layer, square(LON, LAT), PARCEL)
    url = reverse("api-feature", args=[layer.slug, feature.pk])
    assert Client().put(url, json.dumps({"version": 1, "properties": PARCEL}), content_type="application/json").status_code == 403
    user = User.objects.create_user("csrf-victim")
    LayerGrant.objects.create(layer=layer, user=user, can_edit=True)
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(user)
    assert strict.put(url, json.dumps({"version": 1, "properties": PARCEL}), content_type="application/json").status_code == 403
    assert Client().get(reverse("editor", args=[layer.slug])).status_code == 302  # to the login page


def test_history_page_and_diff_geojson(layer, planner_client):
    feature = make_feature(layer, square(LON, LAT, 0.0002), PARCEL)
    _put(planner_client, reverse("api-feature", args=[layer.slug, feature.pk]), {"version": 1, "geometry": _geojson(square(LON, LAT, 0.0003)), "comment": "grew"})
    page = planner_client.get(reverse("feature-history", args=[layer.slug, feature.pk]))
    assert page.status_code == 200 and page.content.decode().count("<li class=\"op-") == 2 and "grew" in page.content.decode()
    diff = planner_client.get(reverse("layer-diff", args=[layer.slug]), {"from": "2000-01-01", "f": "geojson"}).json()
    assert [f["properties"]["change"] for f in diff["features"]] == ["added"]
    assert planner_client.get(reverse("layer-diff", args=[layer.slug]), {"from": "yesterday"}).status_code == 400


def test_editor_page_renders_for_the_granted_only(layer, planner_client):
    page = planner_client.get(reverse("editor", args=[layer.slug]))
    assert page.status_code == 200 and 'id="editor-config"' in page.content.decode()
    outsider = Client()
    outsider.force_login(User.objects.create_user("outsider"))
    assert outsider.get(reverse("editor", args=[layer.slug])).status_code == 403


def test_audit_is_for_data_admins_and_exports_csv(layer, planner_client):
    make_feature(layer, square(LON, LAT), PARCEL)
    assert planner_client.get(reverse("audit")).status_code == 403
    admin = Client()
    admin.force_login(User.objects.create_superuser("chief", password="x-chief-pw-1"))
    page = admin.get(reverse("audit"), {"kind": "permission"})
    assert page.status_code == 200
    csv = admin.get(reverse("audit"), {"format": "csv"})
    assert csv.status_code == 200 and csv["Content-Type"].startswith("text/csv") and b"at,kind,layer,user,what" in csv.content


def test_admin_refuses_edits_outside_a_grant(layer):
    feature = make_feature(layer, square(LON, LAT), PARCEL)
    staff = User.objects.create_user("staff-no-grant", is_staff=True)
    client = Client()
    client.force_login(staff)
    response = client.post(reverse("admin:layers_feature_change", args=[feature.pk]),
                           {"geom": square(LON, LAT, 0.0009).geojson, "properties": json.dumps(PARCEL), "expected_version": 1})
    assert response.status_code in (302, 403) and Feature.objects.get(pk=feature.pk).version == 1


def test_login_failures_are_rate_limited(db):
    User.objects.create_user("someone", password="right-password-1")
    client = Client(REMOTE_ADDR="10.9.8.7")
    statuses = [client.post(reverse("login"), {"username": "someone", "password": "wrong"}).status_code for _ in range(7)]
    assert statuses[0] == 200 and statuses[-1] == 429
    # Even the right password waits for the cool-off.
    assert client.post(reverse("login"), {"username": "someone", "password": "right-password-1"}).status_code == 429


def test_the_api_serves_a_layer_as_of_a_past_time(layer, planner_client):
    from django.db import connection

    feature = make_feature(layer, square(LON, LAT, 0.0002), PARCEL)
    with connection.cursor() as cursor:  # the creation happened two days ago
        cursor.execute("UPDATE layers_featureversion SET changed_at = changed_at - interval '2 days' WHERE feature_id = %s", [feature.pk])
    _put(planner_client, reverse("api-feature", args=[layer.slug, feature.pk]), {"version": 1, "properties": {**PARCEL, "address": "new"}})
    bbox = f"{LON - 0.01},{LAT - 0.01},{LON + 0.01},{LAT + 0.01}"
    url = reverse("api-features", args=[layer.slug])
    import datetime as dt
    yesterday = (dt.date.today() - dt.timedelta(days=1)).isoformat()
    past = planner_client.get(url, {"bbox": bbox, "as_of": yesterday}).json()["features"]
    now = planner_client.get(url, {"bbox": bbox}).json()["features"]
    assert [(f["id"], f["version"], f["properties"].get("address")) for f in past] == [(feature.pk, 1, None)]
    assert [(f["id"], f["version"], f["properties"]["address"]) for f in now] == [(feature.pk, 2, "new")]
    bad = planner_client.get(url, {"bbox": bbox, "as_of": "last tuesday"})
    assert bad.status_code == 400 and bad.json()["parameter"] == "as_of"
