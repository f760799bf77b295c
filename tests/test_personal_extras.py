"""Issue 11, item 3 (red team): personal data outside the schema, names in other spellings, run reports, history.

Each case goes through a public door (HTTP with the Django test client, or ingest_file with a real file) and
asserts the personal values never reach the public and do reach a data administrator where the door serves them.
"""
import json
import re

import pytest
from django.contrib.auth.models import User
from django.test import Client

from ingest.services import ingest_file
from layers.errors import IngestRejected
from layers.models import Feature
from layers.personal import name_looks_personal, value_looks_personal, values_look_personal
from layers.schemas import PARCELS_SCHEMA, field
from layers.services import grant_create
from tests.factories import age_history, make_feature, make_layer, square
from tests.ingest.conftest import parcels_frame, write

pytestmark = pytest.mark.django_db

PHONES = ["0912345678", "0903111222", "0987654321"]
NAMES = ["Nguyễn Văn Tám", "Trần Thị Chín", "Lê Văn Mười"]
EMAILS = ["tam.nguyen@example.vn", "chin.tran@example.vn", "muoi.le@example.vn"]
CONTACTS = ["0977000111", "0977000222", "0977000333"]  # a column whose name says nothing: its values do
SECRETS = PHONES + NAMES + EMAILS + CONTACTS


@pytest.fixture(autouse=True)
def _private_caches(settings, tmp_path):
    settings.GISPORTAL_TILE_CACHE_DIR = str(tmp_path / "tiles")
    settings.OPENDATA_CACHE_DIR = tmp_path / "downloads"
    settings.OPENDATA_RATE_ANON = 100_000
    settings.OPENDATA_RATE_TOKEN = 100_000


def _client(user=None) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


@pytest.fixture
def admin() -> Client:
    return _client(User.objects.create_superuser("data-admin", "admin@example.invalid", "x"))


def _text(response) -> str:
    body = b"".join(response.streaming_content) if response.streaming else response.content
    return body.decode("utf-8", errors="replace")


def _leaks(text: str) -> list[str]:
    return [secret for secret in SECRETS + [json.dumps(n)[1:-1] for n in NAMES] if secret in text]


# --- the rule: names and values ----------------------------------------------------------------------------------

PERSONAL_NAMES = ["ChuSuDung", "HoTen", "HOTEN", "hoten", "chusudung", "TenChu", "TenChuSD", "TenCSD", "CHUSD",
                  "NguoiSuDung", "chu_so_huu", "nguoi_so_huu", "nguoi_dai_dien", "NgaySinh", "ngaysinh", "namsinh",
                  "DienThoai", "SoDT", "so_dt", "SoCCCD", "cccd1", "dia_chi_chu", "MaSoThue", "mst", "Họ_Tên",
                  "so_dien_thoai", "email_lien_he", "SO_CMND_2", "tenchusudung"]
PLATFORM_NAMES = ["ward_code", "map_sheet", "parcel_no", "land_use", "legal_area", "address", "zone_code", "function",
                  "max_density", "max_floors", "far", "plan_name", "decision_no", "decision_date", "road_name", "width_m",
                  "road_class", "name", "water_type", "level", "code", "parent_code", "valid_from", "valid_to",
                  "ghi_chu", "GhiChu", "dia_chi", "dien_tich", "thong_tin", "ten_duong", "microphone", "automobile"]


def test_names_in_every_spelling_look_personal_and_the_platforms_own_do_not():
    assert [n for n in PERSONAL_NAMES if not name_looks_personal(n)] == []
    assert [n for n in PLATFORM_NAMES if name_looks_personal(n)] == []


def test_values_cccd_without_its_leading_zero_phones_and_emails():
    assert values_look_personal(["79123456789", "79200000001"]) == "cccd"  # text that lost its leading zero
    assert values_look_personal([79123456789]) == "cccd"
    assert value_looks_personal("79123456789") == "cccd"
    assert value_looks_personal("Liên hệ 0912 345 678") == "phone"
    assert value_looks_personal("gửi tam.nguyen@example.vn") == "email"
    assert value_looks_personal("Quyết định 123/QĐ-UBND ngày 2024-01-15") is None
    assert value_looks_personal(400.5) is None and value_looks_personal("ODT") is None


# --- single writes: the editor refuses extra properties that look personal -----------------------------------------

@pytest.fixture
def plain_layer(demo_city):
    """A public layer whose schema has only `name`, near the demo parcels (inside the city)."""
    return make_layer(slug="plain", is_public=True, schema=[field("name", "text", "Tên", "Name", display=True)])


def _spot(demo_city):
    point = Feature.objects.filter(layer=demo_city["parcels"]).order_by("id").first().geom.point_on_surface
    return point.x, point.y


@pytest.mark.parametrize("extra", [
    {"so_dien_thoai": "0912345678"}, {"ho_ten": "Nguyễn Văn Tám"}, {"so_cccd": "079123456789"},
    {"HoTen": "Nguyễn Văn Tám"}, {"ghi_chu": "0912 345 678"}, {"lien_lac": "tam.nguyen@example.vn"},
    {"ma": "79123456789"}, {"ma": 79123456789},
])
def test_editor_refuses_extra_properties_that_look_personal(demo_city, plain_layer, admin, extra):
    lon, lat = _spot(demo_city)
    geometry = json.loads(square(lon, lat, 0.0001).geojson)
    body = {"geometry": geometry, "properties": {"name": "Ao sen", **extra}}
    response = admin.post("/api/layers/plain/features", json.dumps(body), content_type="application/json")
    assert response.status_code == 400, response.content
    answer = response.json()
    message = json.dumps(answer, ensure_ascii=False)
    assert "dữ liệu cá nhân" in message and "personal data" in message and "schema" in message
    assert str(list(extra.values())[0]) not in message  # the refusal does not echo the personal value
    assert not Feature.objects.filter(layer=plain_layer).exists()
    feature = make_feature(plain_layer, square(lon, lat, 0.0001), {"name": "Ao sen"})
    response = admin.put(f"/api/layers/plain/features/{feature.pk}",
                         json.dumps({"version": feature.version, "properties": {"name": "Ao sen", **extra}}),
                         content_type="application/json")
    assert response.status_code == 400
    feature.refresh_from_db()
    assert feature.properties == {"name": "Ao sen"}


def test_editor_still_takes_plain_extra_properties(demo_city, plain_layer, admin):
    lon, lat = _spot(demo_city)
    body = {"geometry": json.loads(square(lon, lat, 0.0001).geojson),
            "properties": {"name": "Ao sen", "ghi_chu": "gần chợ", "so_tang": 3, "address": "12 Lê Lợi"}}
    response = admin.post("/api/layers/plain/features", json.dumps(body), content_type="application/json")
    assert response.status_code == 201, response.content
    assert response.json()["properties"]["ghi_chu"] == "gần chợ"


# --- ingest into an existing layer: personal-looking extra columns become personal fields -------------------------

def _owners_file(tmp_path, name="owners.gpkg", **extra):
    frame = parcels_frame(3, so_dien_thoai=PHONES, ho_ten=NAMES, email_lien_he=EMAILS, lien_lac=CONTACTS,
                          ghi_chu=["góc", "giữa", "góc"], **extra)
    return write(frame, tmp_path / name, layer="owners")


@pytest.fixture
def existing(tmp_path):
    """A public parcels-like layer made by ingest, without any personal column."""
    run = ingest_file(path=write(parcels_frame(3), tmp_path / "plain.gpkg", layer="plain"), layer="land", mode="create")
    run.layer.is_public = True
    run.layer.save()
    return run.layer


def test_ingest_adds_personal_extra_columns_to_the_schema_and_keeps_them_from_the_public(tmp_path, existing, admin):
    run = ingest_file(path=_owners_file(tmp_path), layer="land", mode="replace")
    assert run.status == "succeeded" and run.loaded_count == 3
    existing.refresh_from_db()
    schema = {spec["name"]: spec for spec in existing.schema}
    personal = {"so_dien_thoai", "ho_ten", "email_lien_he", "lien_lac"}
    assert {n for n, spec in schema.items() if spec.get("personal")} == personal
    assert "ghi_chu" not in schema  # a plain extra column stays an extra property
    assert {p["field"] for p in run.report["personal_fields"]} == personal
    assert any("so_dien_thoai" in w and "personal" in w for w in run.report["warnings"])
    feature = Feature.objects.filter(layer=existing).order_by("id").first()
    assert feature.properties["so_dien_thoai"] in PHONES  # stored …
    anonymous = Client()
    for path in ("/ogc/collections/land/items?f=json", f"/ogc/collections/land/items/{feature.pk}?f=json",
                 "/data/land.geojson", "/data/land.csv", f"/history/land/{feature.pk}/",
                 "/history/land/diff/?f=geojson&from=2000-01-01T00:00:00Z"):
        response = anonymous.get(path)
        assert response.status_code == 200, (path, response.status_code)
        text = _text(response)
        assert not _leaks(text), (path, _leaks(text))  # … but never served to the public
    assert "góc" in _text(anonymous.get("/data/land.geojson"))
    granted = _text(admin.get("/ogc/collections/land/items?f=json"))
    assert PHONES[0] in granted and EMAILS[0] in granted and "0977000111" in granted


def test_ingest_can_be_told_an_extra_column_is_not_personal(tmp_path, existing):
    run = ingest_file(path=_owners_file(tmp_path), layer="land", mode="replace", not_personal=["lien_lac"])
    existing.refresh_from_db()
    assert "lien_lac" not in {spec["name"] for spec in existing.schema}
    assert "lien_lac" not in {p["field"] for p in run.report["personal_fields"]}


# --- run reports: rejected rows' personal values only for the granted ----------------------------------------------

def test_run_report_hides_rejected_personal_values_from_staff_without_the_grant(tmp_path, admin):
    ingest_file(path=_owners_file(tmp_path, so_cccd=["079123456789", "079555555555", "079987654321"]),
                layer="owners", mode="create")
    cccd = ["079123456789", "079123456789", "079987654321"]  # the second row repeats the first's key
    path = write(parcels_frame(3, so_cccd=cccd, ho_ten=NAMES, so_dien_thoai=PHONES, email_lien_he=EMAILS,
                               lien_lac=CONTACTS, ghi_chu=["a", "b", "c"]), tmp_path / "again.gpkg", layer="owners")
    run = ingest_file(path=path, layer="owners", mode="upsert", key="so_cccd", max_rejects=5)
    assert run.rejected_count == 1 and run.report["rejected"][0]["value"] == "079123456789"  # kept for administrators
    staff = User.objects.create_user("ingest-staff", is_staff=True)
    grant_create(layer=run.layer, by=None, user=staff, can_edit=True)  # may edit, not see personal data
    viewer = _client(staff)
    for url in (f"/ingest/runs/{run.pk}/", f"/ingest/runs/{run.pk}.json"):
        response = viewer.get(url)
        assert response.status_code == 200
        text = _text(response)
        assert "079123456789" not in text and "hidden: personal data" in text
        assert "079123456789" in _text(admin.get(url))
    officer = User.objects.create_user("officer", is_staff=True)
    grant_create(layer=run.layer, by=None, user=officer, can_see_personal=True)
    assert "079123456789" in _text(_client(officer).get(f"/ingest/runs/{run.pk}.json"))


def test_failed_run_report_hides_values_of_columns_that_look_personal(tmp_path, existing, admin):
    long_phone = "0912345678 " + "x" * 1200  # too long for a text: the row is rejected with its value
    path = write(parcels_frame(3, so_dien_thoai=[long_phone, PHONES[1], PHONES[2]]), tmp_path / "bad.gpkg", layer="bad")
    with pytest.raises(IngestRejected):
        ingest_file(path=path, layer="land", mode="replace", max_rejects=0)
    from ingest.models import IngestRun

    run = IngestRun.objects.filter(layer_slug="land").order_by("-pk").first()
    assert run.status == "failed" and run.report["rejected"]
    staff = User.objects.create_user("ingest-staff", is_staff=True)
    text = _text(_client(staff).get(f"/ingest/runs/{run.pk}.json"))
    assert "0912345678" not in text and "hidden: personal data" in text
    assert "0912345678" in _text(admin.get(f"/ingest/runs/{run.pk}.json"))


# --- history and diff: a change of hidden fields only is not shown -------------------------------------------------

def _shows_version(page: str, version: int) -> bool:
    return re.search(rf"(Version|Phiên bản) {version}(?!\d)", page) is not None


def test_history_and_diff_do_not_tell_when_a_hidden_field_changed(demo_city, admin):
    parcels = demo_city["parcels"]
    assert [s["name"] for s in parcels.schema] == [s["name"] for s in PARCELS_SCHEMA]
    feature = Feature.objects.filter(layer=parcels).order_by("id").first()
    age_history(feature.pk, 2)  # loaded two days ago: the diff of the last day shows the edit as a change
    api = f"/api/layers/parcels/features/{feature.pk}"
    current = admin.get(api).json()
    response = admin.put(api, json.dumps({"version": current["version"],
                                          "properties": {**current["properties"], "chu_su_dung": "Chủ Mới Toanh"}}),
                         content_type="application/json")
    assert response.status_code == 200, response.content
    history = f"/history/parcels/{feature.pk}/"
    full = _text(admin.get(history))
    assert "Chủ Mới Toanh" in full and _shows_version(full, current["version"] + 1)
    for client in (Client(), _client(User.objects.create_user("viewer-1"))):
        text = _text(client.get(history))
        assert "Chủ Mới Toanh" not in text and not _shows_version(text, current["version"] + 1)
        assert _shows_version(text, current["version"])
        diff = json.loads(_text(client.get("/history/parcels/diff/", {"f": "geojson"})))
        assert diff["features"] and feature.pk not in [f["id"] for f in diff["features"]]
    diff = json.loads(_text(admin.get("/history/parcels/diff/", {"f": "geojson"})))
    changed = [f for f in diff["features"] if f["id"] == feature.pk]
    assert changed and changed[0]["properties"]["change"] == "changed"
    assert changed[0]["properties"]["chu_su_dung"] == "Chủ Mới Toanh"
