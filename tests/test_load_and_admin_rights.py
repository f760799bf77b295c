"""Issue 11, item 1 (one authorization for every write path), for the two doors beside the editor: a file load
(the upload page and the job that runs it) and the Django admin. Staff alone is no right to data."""
import json

import pytest
from django.contrib.auth.models import Permission, User
from django.contrib.gis.geos import MultiPolygon, Polygon
from django.test import Client

from ingest.models import IngestRun
from ingest.services import ingest_file
from layers.errors import DomainError
from layers.models import Feature, LayerGrant
from layers.schemas import PARCELS_SCHEMA, field
from tests.factories import make_feature, make_parcel_layer, square
from tests.ingest.conftest import parcels_frame, write

pytestmark = pytest.mark.django_db

LON, LAT = 106.7500, 10.8000
WARD = MultiPolygon(Polygon.from_bbox((LON - 0.001, LAT - 0.001, LON + 0.001, LAT + 0.001)), srid=4326)
OWNER = {"chu_su_dung": "Trần Thị Bímật", "so_cccd": "079123456789"}
PARCEL = {"ward_code": "27088", "map_sheet": 1, "parcel_no": 1, "land_use": "ODT", "legal_area": 300.0}
SCHEMA = PARCELS_SCHEMA + [{**field("chu_su_dung", "text", "Chủ sử dụng", "Land user"), "personal": True},
                           {**field("so_cccd", "text", "Số CCCD", "ID card no."), "personal": True}]


@pytest.fixture(autouse=True)
def jobs_dir(tmp_path, settings):
    settings.INGEST_JOBS_DIR = tmp_path / "jobs"


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _user(name, *, staff=True, perms=(), layer=None, area=None, personal=False):
    user = User.objects.create_user(name, is_staff=staff)
    for codename in perms:
        user.user_permissions.add(Permission.objects.get(codename=codename))
    if layer is not None:
        LayerGrant.objects.create(layer=layer, user=user, can_edit=True, area=area, can_see_personal=personal)
    return user


def _upload(client, tmp_path, slug, mode="replace"):
    path = write(parcels_frame(3), tmp_path / "thua.gpkg")
    with path.open("rb") as handle:
        return client.post("/ingest/", {"file": handle, "layer": slug, "mode": mode, "max_rejects": 0},
                           HTTP_ACCEPT="application/json")


def test_a_file_load_needs_an_edit_grant_on_the_whole_layer(tmp_path):
    public = make_parcel_layer(slug="load-public", is_public=True)
    make_parcel_layer(slug="load-hidden", is_public=False)
    before = make_feature(public, square(LON, LAT), PARCEL)
    staff = _client(_user("staff-only"))
    ward = _client(_user("ward-loader", perms=["add_ingestrun"], layer=public, area=WARD))
    cases = [(staff, "load-public", 403), (staff, "load-hidden", 404), (ward, "load-public", 403),
             (staff, "load-new", 403)]  # a new layer is for data administrators
    for client, slug, status in cases:
        response = _upload(client, tmp_path, slug, mode="create" if slug == "load-new" else "replace")
        assert response.status_code == status, (slug, response.content)
        assert response.json()["description_vi"] and response.json()["description"]
    assert "only for editors of the whole layer" in _upload(ward, tmp_path, "load-public").json()["description"]
    assert not IngestRun.objects.exists() and not any((tmp_path / "jobs").rglob("*.gpkg"))  # nothing kept
    assert list(Feature.objects.filter(layer=public).values_list("pk", flat=True)) == [before.pk]
    whole = _client(_user("whole-layer", perms=["add_ingestrun"], layer=public))
    assert _upload(whole, tmp_path, "load-public").status_code == 302  # queued for its job


def test_the_job_itself_refuses_a_load_the_user_may_not_make(tmp_path):
    """The rule holds where the load runs too (a queued run whose user lost the right, a script)."""
    layer = make_parcel_layer(slug="load-job", is_public=True)
    kept = make_feature(layer, square(LON + 0.01, LAT), PARCEL)
    ward = _user("ward-job", layer=layer, area=WARD)
    path = write(parcels_frame(3), tmp_path / "thua.gpkg")
    with pytest.raises(DomainError) as refused:
        ingest_file(path=path, layer="load-job", mode="replace", user=ward)
    assert refused.value.status == 403
    assert list(Feature.objects.filter(layer=layer).values_list("pk", flat=True)) == [kept.pk]
    assert IngestRun.objects.get(layer_slug="load-job").status == "failed"


def test_the_upload_page_lists_only_runs_and_layers_the_user_may_see(tmp_path):
    hidden = make_parcel_layer(slug="secret-ingest", is_public=False)
    IngestRun.objects.create(layer=hidden, layer_slug="secret-ingest", file_name="ho_so_mat.gpkg", mode="replace",
                             status="succeeded", options={})
    page = _client(_user("staff-list")).get("/ingest/").content.decode()
    assert "secret-ingest" not in page and "ho_so_mat" not in page


def test_the_admin_shows_staff_nothing_and_editors_only_their_layers():
    mine = make_parcel_layer(slug="adm-mine", is_public=True, schema=SCHEMA)
    secret = make_parcel_layer(slug="adm-secret", is_public=False)
    boss = User.objects.create_user("boss_editor_name")
    make_feature(mine, square(LON, LAT), {**PARCEL, **OWNER})
    Feature.objects.create(layer=secret, geom=square(LON + 0.01, LAT), properties=PARCEL, updated_by=boss)
    staff = _client(_user("adm-staff", perms=["view_feature", "change_layergrant", "add_layergrant", "view_layer"]))
    for url in ("/admin/layers/feature/", "/admin/layers/layergrant/add/", "/admin/layers/layer/",
                "/admin/ingest/ingestrun/"):
        assert staff.get(url).status_code == 403, url
    editor = _client(_user("adm-editor", layer=mine))
    listing = editor.get("/admin/layers/feature/")
    assert listing.status_code == 200
    text = listing.content.decode()
    assert "adm-mine" in text and "adm-secret" not in text and "boss_editor_name" not in text
    # A filter on a value inside the properties would confirm guesses at an owner's ID number.
    assert editor.get("/admin/layers/feature/", {"properties__so_cccd": OWNER["so_cccd"]}).status_code == 400


def test_the_admin_form_hides_personal_fields_and_keeps_them_on_save():
    layer = make_parcel_layer(slug="adm-personal", is_public=True, schema=SCHEMA)
    feature = make_feature(layer, square(LON, LAT), {**PARCEL, **OWNER})
    editor = _client(_user("adm-no-personal", layer=layer))
    page = editor.get(f"/admin/layers/feature/{feature.pk}/change/").content.decode()
    assert OWNER["so_cccd"] not in page and "Bímật" not in page
    response = editor.post(f"/admin/layers/feature/{feature.pk}/change/", {
        "layer": layer.pk, "geom": feature.geom.geojson, "expected_version": feature.version,
        "properties": json.dumps({**PARCEL, "address": "12 Võ Văn Ngân"})})
    assert response.status_code == 302, response.content.decode()[:2000]
    saved = Feature.objects.get(pk=feature.pk).properties
    assert saved["address"] == "12 Võ Văn Ngân" and saved["so_cccd"] == OWNER["so_cccd"]  # not wiped


@pytest.mark.parametrize("properties", ['{"far": ' + "9" * 400 + "}", "[" * 5000 + "]" * 5000])
def test_the_admin_form_reads_properties_with_the_one_json_parser(properties):
    layer = make_parcel_layer(slug="adm-json", is_public=True)
    client = _client(_user("adm-json-editor", layer=layer))
    response = client.post("/admin/layers/feature/add/", {"layer": layer.pk, "geom": square(LON, LAT).geojson,
                                                          "properties": properties})
    assert response.status_code == 200 and "errorlist" in response.content.decode()  # a form error, not a 500
    assert not Feature.objects.filter(layer=layer).exists()


def test_an_admin_bulk_delete_is_all_or_nothing():
    layer = make_parcel_layer(slug="adm-bulk", is_public=True)
    outside = make_feature(layer, square(LON + 0.01, LAT), PARCEL)  # first, so the loop meets it first or last
    inside = make_feature(layer, square(LON, LAT, 0.0002), {**PARCEL, "parcel_no": 2})
    client = _client(_user("adm-ward", layer=layer, area=WARD))
    response = client.post("/admin/layers/feature/", {"action": "delete_selected", "post": "yes",
                                                      "_selected_action": [inside.pk, outside.pk]})
    assert response.status_code == 403
    assert set(Feature.objects.filter(layer=layer).values_list("pk", flat=True)) == {inside.pk, outside.pk}
