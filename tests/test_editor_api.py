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


# Split through the API, and reverts from the history and ingest run pages.

def _across(poly, share: float = 0.5) -> dict:
    xmin, ymin, xmax, ymax = poly.extent
    y = ymin + (ymax - ymin) * share
    return {"type": "LineString", "coordinates": [[xmin - 0.0001, y], [xmax + 0.0001, y]]}


def _split(client, layer, feature_id, body):
    return client.post(reverse("api-feature-split", args=[layer.slug, feature_id]), json.dumps(body), content_type="application/json")


def test_split_through_the_api_answers_the_parts_original_first(layer, planner_client):
    feature = make_feature(layer, square(LON, LAT, 0.0004), PARCEL)
    make_feature(layer, square(LON + 0.001, LAT, 0.0002), {**PARCEL, "parcel_no": 7})
    response = _split(planner_client, layer, feature.pk, {"line": _across(feature.geom, 0.3), "version": 1, "comment": "tách"})
    assert response.status_code == 200
    parts = response.json()["features"]
    assert [(p["id"], p["version"], p["properties"]["parcel_no"]) for p in parts] == [(feature.pk, 2, 8), (parts[1]["id"], 1, 9)]
    assert parts[0]["properties"]["legal_area"] > parts[1]["properties"]["legal_area"] > 0
    assert Feature.objects.filter(layer=layer).count() == 3


def test_split_refusals_change_nothing(layer, planner_client):
    feature = make_feature(layer, square(LON, LAT, 0.0004), PARCEL)
    other = make_parcel_layer(slug="split-elsewhere")
    foreign = make_feature(other, square(LON, LAT, 0.0004), PARCEL)
    miss = {"type": "LineString", "coordinates": [[LON + 0.01, LAT], [LON + 0.01, LAT + 0.001]]}
    cases = [
        (feature.pk, {"line": _across(feature.geom), "version": 2}, 409),
        (feature.pk, {"line": miss, "version": 1}, 400),
        (feature.pk, {"line": {"type": "Point", "coordinates": [LON, LAT]}, "version": 1}, 400),
        (feature.pk, {"version": 1}, 400),
        (feature.pk, {"line": _across(feature.geom)}, 400),
        (foreign.pk, {"line": _across(feature.geom), "version": 1}, 404),
    ]
    for feature_id, body, status in cases:
        response = _split(planner_client, layer, feature_id, body)
        assert response.status_code == status, body
        assert response.json()["description_vi"]
    assert _split(planner_client, layer, feature.pk, {"line": _across(feature.geom), "version": 2}).json()["current"]["id"] == feature.pk
    missed = _split(planner_client, layer, feature.pk, {"line": miss, "version": 1}).json()
    assert missed["code"] == "split-missed" and missed["description_vi"] == "Đường cắt phải cắt ngang đối tượng thành ít nhất hai phần."
    assert _split(planner_client, other, foreign.pk, {"line": _across(foreign.geom), "version": 1}).status_code == 403
    outsider = Client()
    outsider.force_login(User.objects.create_user("split-outsider"))
    assert _split(outsider, layer, feature.pk, {"line": _across(feature.geom), "version": 1}).status_code == 403
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(User.objects.get(username="planner"))
    assert _split(strict, layer, feature.pk, {"line": _across(feature.geom), "version": 1}).status_code == 403
    assert Feature.objects.filter(layer__in=[layer, other]).count() == 2
    assert Feature.objects.get(pk=feature.pk).version == 1 and Feature.objects.get(pk=foreign.pk).version == 1


def _history(client, layer, feature):
    return client.get(reverse("feature-history", args=[layer.slug, feature.pk])).content.decode()


def test_the_history_page_reverts_for_editors_only(layer, planner_client):
    feature = make_feature(layer, square(LON, LAT, 0.0002), PARCEL)
    _put(planner_client, reverse("api-feature", args=[layer.slug, feature.pk]), {"version": 1, "properties": {**PARCEL, "address": "new"}})
    page = _history(planner_client, layer, feature)
    assert page.count('class="inline-form revert-form"') == 1 and 'data-testid="revert-1"' in page  # not on the current version
    url = reverse("feature-history-revert", args=[layer.slug, feature.pk])
    reader = Client()
    reader.force_login(User.objects.create_user("reader"))
    assert "revert-form" not in _history(reader, layer, feature) and "revert-form" not in _history(Client(), layer, feature)
    for stranger in (reader, Client()):
        assert stranger.post(url, {"version": 1}).status_code == 403
    assert Feature.objects.get(pk=feature.pk).version == 2
    response = planner_client.post(url, {"version": 1, "expected_version": 2, "comment": "nhầm địa chỉ"}, follow=True)
    assert response.redirect_chain == [("http://testserver" + reverse("feature-history", args=[layer.slug, feature.pk]), 302)]
    restored = Feature.objects.get(pk=feature.pk)
    assert restored.version == 3 and "address" not in restored.properties
    html = response.content.decode()
    assert 'class="message message-success"' in html and "nhầm địa chỉ" in html and html.count('<li class="op-') == 3
    # A refusal is its own status on an error page that leads back to the history (not a 302 that hides it).
    refused = planner_client.post(url, {"version": 99, "expected_version": 3})
    page = refused.content.decode()
    assert refused.status_code == 404 and "Không tìm thấy đối tượng trong lớp này." in page
    assert f'href="{reverse("feature-history", args=[layer.slug, feature.pk])}" data-testid="error-back"' in page
    stale = planner_client.post(url, {"version": 1, "expected_version": 2})
    assert stale.status_code == 409 and 'data-testid="error-back"' in stale.content.decode()
    assert Feature.objects.get(pk=feature.pk).version == 3
    assert planner_client.get(url).status_code == 405


def test_the_ingest_run_page_reverts_the_run_for_editors_only(layer):
    from django.db import connection

    from ingest.models import IngestRun

    kept = make_feature(layer, square(LON, LAT), PARCEL)
    with connection.cursor() as cursor:  # history before the run
        cursor.execute("UPDATE layers_featureversion SET changed_at = changed_at - interval '1 day' WHERE feature_id = %s", [kept.pk])
    run = IngestRun.objects.create(layer=layer, layer_slug=layer.slug, file_name="p.gpkg", mode="upsert", status="succeeded",
                                   report={"inserted": 1, "updated": 1, "unchanged": 0, "deleted": 0})
    with connection.cursor() as cursor:  # what the run did, tagged with its id
        cursor.execute("SELECT set_config('gisportal.run_id', %s, true)", [str(run.pk)])
        cursor.execute("UPDATE layers_feature SET properties = properties || '{\"address\": \"from run\"}' WHERE id = %s", [kept.pk])
        cursor.execute("SELECT set_config('gisportal.run_id', '', true)")
    page_url, revert_url = reverse("ingest-run", args=[run.pk]), reverse("ingest-run-revert", args=[run.pk])
    staff = Client()
    staff.force_login(User.objects.create_user("staff-viewer", is_staff=True))  # sees the run page, may not edit the layer
    assert staff.get(page_url).status_code == 200 and 'data-testid="run-revert"' not in staff.get(page_url).content.decode()
    assert staff.post(revert_url).status_code == 403 and Client().post(revert_url).status_code == 403
    assert Feature.objects.get(pk=kept.pk).properties["address"] == "from run"
    editor = Client()
    editor.force_login(User.objects.create_user("staff-editor", is_staff=True))
    LayerGrant.objects.create(layer=layer, user=User.objects.get(username="staff-editor"), can_edit=True)
    page = editor.get(page_url).content.decode()
    assert 'data-testid="run-revert"' in page and "data-confirm=" in page and "js/confirm.js" in page
    response = editor.post(revert_url, {"comment": "nạp nhầm tệp"}, follow=True)
    assert response.redirect_chain == [("http://testserver" + page_url, 302)] and 'class="message message-success"' in response.content.decode()
    assert "address" not in Feature.objects.get(pk=kept.pk).properties
