"""Issue 11, item 3: personal fields never leave through a public door.

The demo city's parcels carry made-up owners (chu_su_dung) and CCCD numbers (so_cccd), marked personal.
For each door, the anonymous public and an editor without the personal grant never receive one (the raw
bytes of the response are searched; files are opened with GDAL), while a user whose grant includes
personal data, or a data administrator, does where the door serves them.
"""
import gzip
import io
import json
import re

import geopandas as gpd
import pyogrio
import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.test import Client

from ingest.services import ingest_file
from layers.models import Feature, LayerGrant, PermissionChange
from layers.personal import hidden_fields
from layers.services import grant_create
from tests.factories import make_feature, make_layer, square
from tests.ingest.conftest import parcels_frame, write
from tests.tiles.test_vector_tiles import tile_at, url

pytestmark = pytest.mark.django_db
PERSONAL = ("chu_su_dung", "so_cccd")
CCCD_RE = re.compile(rb"(?<!\d)079\d{9}(?!\d)")


@pytest.fixture(autouse=True)
def _private_caches(settings, tmp_path):
    settings.GISPORTAL_TILE_CACHE_DIR = str(tmp_path / "tiles")
    settings.OPENDATA_CACHE_DIR = tmp_path / "downloads"
    settings.OPENDATA_RATE_ANON = 100_000
    settings.OPENDATA_RATE_TOKEN = 100_000


@pytest.fixture
def parcels(demo_city):
    return demo_city["parcels"]


@pytest.fixture
def parcel(parcels) -> Feature:
    """A demo parcel whose owner's name appears nowhere in the layer's public text (no road is named so)."""
    for feature in Feature.objects.filter(layer=parcels).order_by("id")[:50]:
        owner = feature.properties["chu_su_dung"]
        if not Feature.objects.filter(layer=parcels, properties__address__icontains=owner).exists():
            return feature
    raise AssertionError("no demo parcel with a distinctive owner")


def _client(user=None) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


@pytest.fixture
def anonymous() -> Client:
    return _client()


@pytest.fixture
def editor(parcels) -> Client:
    """An editor of the parcels without the personal grant (an edit grant does not include it)."""
    user = User.objects.create_user("editor-no-personal")
    grant_create(layer=parcels, by=None, user=user, can_edit=True)
    return _client(user)


@pytest.fixture
def officer(parcels) -> Client:
    """A land officer whose grant includes personal data."""
    user = User.objects.create_user("land-officer")
    grant_create(layer=parcels, by=None, user=user, can_edit=True, can_see_personal=True)
    return _client(user)


@pytest.fixture
def admin() -> Client:
    return _client(User.objects.create_superuser("data-admin", "admin@example.invalid", "x"))


def _secrets(feature: Feature) -> list[bytes]:
    """Every way the parcel's personal values could be written: UTF-8, JSON escapes, field names."""
    out = []
    for name in PERSONAL:
        value = str(feature.properties[name])
        out += [value.encode(), json.dumps(value)[1:-1].encode()]
    return out + [name.encode() for name in PERSONAL]


def _body(response) -> bytes:
    body = b"".join(response.streaming_content) if response.streaming else response.content
    return gzip.decompress(body) if response.get("Content-Encoding") == "gzip" else body


def assert_no_personal(response, feature: Feature) -> bytes:
    assert response.status_code == 200, response.content[:300]
    body = _body(response)
    leaked = [secret for secret in _secrets(feature) if secret in body]
    assert not leaked, f"personal data leaked: {leaked}"
    return body


def _near(feature: Feature) -> tuple[float, float]:
    point = feature.geom.point_on_surface
    return point.x, point.y


# --- marking and the rule ---------------------------------------------------------------------------------------

def test_demo_parcels_carry_owners_marked_personal(parcels, parcel):
    personal = [spec["name"] for spec in parcels.schema if spec.get("personal")]
    assert personal == list(PERSONAL)
    assert parcel.properties["chu_su_dung"] and re.fullmatch(r"079\d{9}", parcel.properties["so_cccd"])


def test_only_admins_and_personal_grants_see_personal_fields(parcels):
    viewer, editor_user, officer_user = (User.objects.create_user(n) for n in ("v", "e", "o"))
    grant_create(layer=parcels, by=None, user=viewer)
    grant_create(layer=parcels, by=None, user=editor_user, can_edit=True)
    grant_create(layer=parcels, by=None, user=officer_user, can_see_personal=True)
    admin_user = User.objects.create_superuser("root", "r@example.invalid", "x")
    from django.contrib.auth.models import AnonymousUser

    assert hidden_fields(AnonymousUser(), parcels) == list(PERSONAL)
    assert hidden_fields(viewer, parcels) == list(PERSONAL)
    assert hidden_fields(editor_user, parcels) == list(PERSONAL)
    assert hidden_fields(officer_user, parcels) == []
    assert hidden_fields(admin_user, parcels) == []
    change = PermissionChange.objects.filter(subject="user:o").get()
    assert change.can_see_personal and not change.can_edit


# --- the public doors -------------------------------------------------------------------------------------------

def test_tiles_never_carry_personal_fields(anonymous, officer, parcel):
    lon, lat = _near(parcel)
    tile_url = url("parcels", tile_at(lon, lat, 17))
    for client in (officer, anonymous):  # the cache is shared: even a granted user's tile carries none
        body = assert_no_personal(client.get(tile_url), parcel)
        assert str(parcel.properties["parcel_no"]).encode() in body or b"parcels" in body
    assert_no_personal(anonymous.get(tile_url, {"as_of": "2099-01-01"}), parcel)


def test_click_to_see_shows_no_personal_values(anonymous, editor, parcel):
    lon, lat = _near(parcel)
    for client in (anonymous, editor):
        response = client.get("/api/at", {"lon": lon, "lat": lat, "z": 19, "layers": "parcels"})
        body = assert_no_personal(response, parcel)
        assert parcel.properties["address"].encode() in body  # the parcel itself was found


def test_ogc_items_item_and_queryables_hide_personal_fields(anonymous, editor, officer, admin, parcel):
    lon, lat = _near(parcel)
    bbox = f"{lon - 0.0001},{lat - 0.0001},{lon + 0.0001},{lat + 0.0001}"
    base = "/ogc/collections/parcels"
    for client in (anonymous, editor):
        items = assert_no_personal(client.get(f"{base}/items", {"bbox": bbox, "f": "json"}), parcel)
        assert json.loads(items)["features"]
        assert_no_personal(client.get(f"{base}/items", {"bbox": bbox, "f": "html"}), parcel)
        assert_no_personal(client.get(f"{base}/items/{parcel.pk}", {"f": "json"}), parcel)
        assert_no_personal(client.get(f"{base}/items/{parcel.pk}", {"f": "html"}), parcel)
        assert_no_personal(client.get(f"{base}/queryables", {"f": "json"}), parcel)
    for client in (officer, admin):
        item = client.get(f"{base}/items/{parcel.pk}", {"f": "json"})
        assert item.json()["properties"]["so_cccd"] == parcel.properties["so_cccd"]
        assert item["Cache-Control"] == "private, no-store"
        assert "chu_su_dung" in client.get(f"{base}/queryables", {"f": "json"}).json()["properties"]


@pytest.mark.parametrize("params", [
    {"filter": "so_cccd LIKE '079%'"},
    {"filter": "chu_su_dung IS NULL"},
    {"sortby": "-so_cccd"},
    {"properties": "address,chu_su_dung"},
    {"chu_su_dung": "x"},
])
def test_ogc_refuses_personal_fields_as_unknown_for_the_public(anonymous, editor, officer, parcel, params):
    for client in (anonymous, editor):
        response = client.get("/ogc/collections/parcels/items", {**params, "f": "json"})
        assert response.status_code == 400
        body = response.json()
        assert body.get("description") and body != {}
        assert parcel.properties["so_cccd"] not in response.content.decode()
    assert officer.get("/ogc/collections/parcels/items", {**params, "f": "json", "limit": 1}).status_code == 200


def test_ogc_filter_by_owner_works_for_the_personal_grant(officer, parcel):
    response = officer.get("/ogc/collections/parcels/items",
                           {"filter": f"so_cccd = '{parcel.properties['so_cccd']}'", "f": "json"})
    assert [f["id"] for f in response.json()["features"]] == [parcel.pk]


def _read_file(body: bytes, fmt: str, tmp_path) -> gpd.GeoDataFrame:
    path = tmp_path / f"download.{fmt}"
    path.write_bytes(body)
    if fmt == "parquet":  # no Parquet driver in either GDAL here
        return gpd.read_parquet(path)
    return pyogrio.read_dataframe(f"/vsizip/{path}" if fmt == "shp.zip" else path)


@pytest.mark.parametrize("fmt", ["geojson", "gpkg", "shp.zip", "csv", "kml", "fgb", "parquet"])
def test_downloads_hide_personal_fields_and_cache_per_field_set(anonymous, editor, officer, parcel, fmt, tmp_path):
    lon, lat = _near(parcel)
    params = {"bbox": f"{lon - 0.0003},{lat - 0.0003},{lon + 0.0003},{lat + 0.0003}"}
    granted = _body(officer.get(f"/data/parcels.{fmt}", params))  # written first: the cache must not hand it out
    (tmp_path / "granted").mkdir()
    frame = _read_file(granted, fmt, tmp_path / "granted")
    columns = [c.lower() for c in frame.columns]
    assert "so_cccd" in columns and parcel.properties["so_cccd"] in frame.astype(str).to_string()
    for name, client in (("anon", anonymous), ("editor", editor)):
        response = client.get(f"/data/parcels.{fmt}", params)
        body = _body(response)
        assert response.status_code == 200
        if fmt not in ("gpkg", "shp.zip", "parquet"):  # text formats (and FlatGeobuf): the bytes themselves
            assert not [s for s in _secrets(parcel) if s in body] and not CCCD_RE.search(body)
        (tmp_path / name).mkdir()
        frame = _read_file(body, fmt, tmp_path / name)
        assert len(frame) >= 1
        text = frame.astype(str).to_string()
        assert not {"chu_su_dung", "so_cccd", "chu_su_dun"} & {c.lower() for c in frame.columns}
        assert parcel.properties["so_cccd"] not in text and parcel.properties["chu_su_dung"] not in text
        if fmt == "gpkg":
            assert parcel.properties["so_cccd"].encode() not in body


def test_whole_layer_geojson_has_no_cccd_at_all(anonymous, parcel):
    body = _body(anonymous.get("/data/parcels.geojson"))
    assert b'"features"' in body and not CCCD_RE.search(body)
    assert b"chu_su_dung" not in body


def test_search_neither_matches_nor_shows_personal_values(anonymous, editor, admin, parcel):
    owner = parcel.properties["chu_su_dung"]
    for client in (anonymous, editor):
        for q in (owner, parcel.properties["so_cccd"]):
            assert_no_personal(client.get("/api/search", {"q": q}), parcel)
            page = client.get("/tim-kiem/", {"q": q})
            body = page.content.decode().replace(q, "")  # the page repeats what was typed: not a leak
            assert page.status_code == 200 and owner not in body and parcel.properties["so_cccd"] not in body
    # A layer whose searchable `name` is personal: not searched for the public, searched for an admin.
    people = make_layer(slug="residents", schema=[{"name": "name", "type": "text", "label_vi": "Tên", "label_en": "Name",
                                                   "display": True, "personal": True}])
    make_feature(people, square(106.75, 10.82), {"name": "Trương Thị Xuyến"})
    assert anonymous.get("/api/search", {"q": "Trương Thị Xuyến"}).json()["results"] == []
    assert "Trương Thị Xuyến" not in anonymous.get("/api/search", {"q": "Xuyen"}).content.decode()
    assert any(hit["label"] == "Trương Thị Xuyến"
               for hit in admin.get("/api/search", {"q": "Trương Thị Xuyến"}).json()["results"])


def test_parcel_page_and_lookup_show_no_owner(anonymous, editor, parcel):
    props = parcel.properties
    page = f"/thua-dat/{props['ward_code']}/{props['map_sheet']}/{props['parcel_no']}/"
    for client in (anonymous, editor):
        body = assert_no_personal(client.get(page), parcel)
        assert str(props["parcel_no"]).encode() in body
        lookup = client.get("/tra-cuu/", {"ward": props["ward_code"], "sheet": props["map_sheet"],
                                          "parcel": props["parcel_no"]}, follow=True)
        assert_no_personal(lookup, parcel)


def test_dcat_catalog_and_layer_page_carry_no_personal_values(anonymous, officer, parcel):
    officer.get("/data/parcels/")  # a granted visit first: nothing of it may stay for the public
    for path in ("/data/catalog.jsonld", "/data.json", "/data/", "/data/parcels/", "/ogc/collections/parcels"):
        body = assert_no_personal(anonymous.get(path), parcel)
        assert not CCCD_RE.search(body)


# --- history, diff, editing -------------------------------------------------------------------------------------

def _edit(client: Client, feature: Feature, properties: dict, comment: str = "") -> dict:
    response = client.put(f"/api/layers/parcels/features/{feature.pk}",
                          json.dumps({"version": feature.version, "properties": properties, "comment": comment}),
                          content_type="application/json")
    assert response.status_code == 200, response.content
    return response.json()


def test_editing_api_hides_personal_values_and_keeps_them_on_save(anonymous, editor, officer, parcel):
    api = f"/api/layers/parcels/features/{parcel.pk}"
    for client in (anonymous, editor):
        assert_no_personal(client.get(api), parcel)
    lon, lat = _near(parcel)
    listing = editor.get("/api/layers/parcels/features", {"bbox": f"{lon - 0.0002},{lat - 0.0002},{lon + 0.0002},{lat + 0.0002}"})
    assert_no_personal(listing, parcel)
    seen = editor.get(api).json()["properties"]
    saved = _edit(editor, parcel, {**seen, "address": "99 Đường Mới", "chu_su_dung": "Kẻ Mạo Danh"}, "địa chỉ mới")
    assert "chu_su_dung" not in saved["properties"]
    parcel.refresh_from_db()
    assert parcel.properties["address"] == "99 Đường Mới"
    assert parcel.properties["chu_su_dung"] != "Kẻ Mạo Danh" and parcel.properties["so_cccd"]
    assert officer.get(api).json()["properties"]["so_cccd"] == parcel.properties["so_cccd"]


def test_history_and_diff_hide_personal_values_and_editors_from_the_public(anonymous, editor, officer, admin, parcel):
    seen = editor.get(f"/api/layers/parcels/features/{parcel.pk}").json()["properties"]
    _edit(editor, parcel, {**seen, "address": "7 Đường Số 9"}, "sửa theo biên bản 42")
    history = f"/history/parcels/{parcel.pk}/"
    viewer = User.objects.create_user("viewer")
    LayerGrant.objects.create(layer=parcel.layer, user=viewer)
    for client in (anonymous, _client(viewer)):
        body = assert_no_personal(client.get(history), parcel).decode()
        assert "7 Đường Số 9" in body  # the change is shown …
        assert "editor-no-personal" not in body and "biên bản 42" not in body  # … without who and why
    body = assert_no_personal(editor.get(history), parcel).decode()
    assert "editor-no-personal" in body and "biên bản 42" in body
    staff = User.objects.create_user("staffer", is_staff=True)
    assert "editor-no-personal" in _client(staff).get(history).content.decode()
    assert parcel.properties["so_cccd"] in officer.get(history).content.decode()
    for client in (anonymous, editor):
        diff = client.get("/history/parcels/diff/", {"f": "geojson"})
        assert json.loads(_body(diff))["features"] and assert_no_personal(diff, parcel)
        assert_no_personal(client.get("/history/parcels/diff/"), parcel)
    assert parcel.properties["so_cccd"] in admin.get("/history/parcels/diff/", {"f": "geojson"}).content.decode()


# --- ingest -----------------------------------------------------------------------------------------------------

def _people_file(tmp_path):
    frame = parcels_frame(4, **{
        "Họ tên chủ": ["Nguyễn Văn A", "Trần Thị B", "Lê C", "Phạm D"],
        "ma_so": ["079201001234", "079199004321", "079088000001", "079300123456"],  # CCCD-like values
        "lien_he": ["0912 345 678", "+84 903 111 222", "0287 300 1234", "0987654321"],  # phone-like values
        "ghi_chu": ["góc", "giữa", "giữa", "góc"],
    })
    return write(frame, tmp_path / "owners.gpkg", layer="owners")


def test_ingest_marks_personal_fields_and_reports_them(tmp_path, admin):
    run = ingest_file(path=_people_file(tmp_path), layer="owners", mode="create")
    schema = {spec["name"]: spec for spec in run.layer.schema}
    marked = {name for name, spec in schema.items() if spec.get("personal")}
    assert marked == {"họ tên chủ", "ma_so", "lien_he"}
    assert not schema["address"].get("personal") and not schema["ghi_chu"].get("personal")
    reported = {item["field"]: item["reason_en"] for item in run.report["personal_fields"]}
    assert set(reported) == marked and "citizen ID" in reported["ma_so"] and "phone" in reported["lien_he"]
    page = admin.get(f"/ingest/runs/{run.pk}/").content.decode()
    assert 'data-testid="personal-fields"' in page and "ma_so" in page
    assert "ma_so" in admin.get(f"/ingest/runs/{run.pk}.json").content.decode()
    run.layer.is_public = True
    run.layer.save()
    body = _body(Client().get("/data/owners.geojson"))
    assert b"079201001234" not in body and "Nguyễn Văn A".encode() not in body and b"ghi_chu" in body


def test_ingest_option_unmarks_a_field(tmp_path):
    run = ingest_file(path=_people_file(tmp_path), layer="owners-2", mode="create", not_personal=["ghi_chu", "lien_he"])
    marked = {spec["name"] for spec in run.layer.schema if spec.get("personal")}
    assert marked == {"họ tên chủ", "ma_so"}
    out = io.StringIO()
    call_command("ingest", str(_people_file(tmp_path)), "--layer", "owners-3", "--mode", "create",
                 "--not-personal", "ma_so", stdout=out)
    assert "personal field: họ tên chủ" in out.getvalue() and "personal field: ma_so" not in out.getvalue()
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="not-personal"):
        call_command("ingest", str(_people_file(tmp_path)), "--layer", "owners-4", "--mode", "create",
                     "--not-personal", "no_such_field", stdout=io.StringIO())
