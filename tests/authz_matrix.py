"""The authorization matrix's world and rules: roles, layer states, who may see and do what (issue 11, item 9).

The world is built once per module and committed (like the demo city): one small parcel-like layer per
state, each with a feature inside the area-limited editor's area, one outside, one another editor moved
out of it, and one real ingest run (a GeoJSON file through ingest_file) with a feature on each side.
The rules are the issue's, written as small functions so each cell's expectation reads like the issue.
"""
import datetime as dt
import gzip
import io
import json
import math
import time
import zipfile
from dataclasses import dataclass, field as dc_field
from pathlib import Path

from django.conf import settings
from django.contrib.auth.models import Permission, User
from django.contrib.sessions.models import Session
from django.contrib.gis.geos import MultiPolygon, Polygon
from django.db import connection, transaction
from django.test import Client
from django.utils import timezone

from ingest.models import IngestRun
from ingest.services import ingest_file
from layers import editing
from layers.models import Layer, LayerGrant
from layers.schemas import LAND_USE_CODES, field
from layers.services import layer_create
from tests.factories import square
from tests.opendata.feed_helpers import SETTLE_WAIT, settle

# ---- roles and states -------------------------------------------------------------------------------

ROLES = ("anonymous", "no_grant", "viewer", "viewer_personal", "editor", "area_editor", "staff", "data_admin", "admin")
# Who holds a grant on every state's layer (view, view with personal data, edit, edit in an area).
GRANTED = {"viewer", "viewer_personal", "editor", "area_editor"}
DATA_ADMINS = {"admin", "data_admin"}  # superuser; a user with layers.add_layer
EDITORS = {"editor", "area_editor"} | DATA_ADMINS
PERSONAL = {"viewer_personal"} | DATA_ADMINS  # a grant that includes personal data, or a data administrator
IDENTITY = {"staff"} | EDITORS  # who sees who changed a feature (username, comment) on history pages


@dataclass(frozen=True)
class State:
    key: str  # three letters, in every token of this state (no state's token is a part of another's)
    public: bool
    personal: bool

    @property
    def slug(self) -> str:
        return {"opn": "mx-public", "opp": "mx-pii-public", "cls": "mx-restricted", "clp": "mx-pii-restricted"}[self.key]


STATES = {
    "public": State("opn", public=True, personal=False),
    "public_personal": State("opp", public=True, personal=True),
    "restricted": State("cls", public=False, personal=False),
    "restricted_personal": State("clp", public=False, personal=True),
}


def sees(role: str, state: State) -> bool:
    """Public layers for everyone; restricted ones for data administrators and those granted."""
    return state.public or role in GRANTED or role in DATA_ADMINS


def sees_personal(role: str, state: State) -> bool:
    return sees(role, state) and role in PERSONAL


def write_status(role: str, state: State, *, ok: int, outside: bool = False) -> int:
    """A write: 404 where the layer is invisible, 403 without an edit grant or (area-limited) when the change
    touches anything outside the area, before or after; `ok` otherwise."""
    if not sees(role, state):
        return 404
    if role not in EDITORS or (outside and role == "area_editor"):
        return 403
    return ok


# ---- tokens: what a response may or may not carry --------------------------------------------------

HISTORIAN = "mx-historian"  # the editor and ingester whose identity history pages must keep from the public
PERSONAL_FIELDS = ("chu_su_dung", "so_cccd", "address")  # address is searchable: a search must not match it


def name_token(state: State) -> str:
    return f"Mxname{state.key}"


def title_token(state: State) -> str:
    return f"Mxtitle{state.key}"


def comment_token(state: State) -> str:
    return f"Mxwhy{state.key}"


def owner_token(state: State) -> str:
    return f"Mxowner{state.key}"


def address_token(state: State) -> str:
    return f"Qzwvkj{state.key}"


def cccd(state: State) -> str:
    return "0791900" + {"opn": "11111", "opp": "22222", "cls": "33333", "clp": "44444"}[state.key]


def personal_tokens(state: State) -> list[str]:
    return [owner_token(state), cccd(state), address_token(state)] if state.personal else []


# ---- the world --------------------------------------------------------------------------------------

AREA_BOX = (106.780, 10.815, 106.795, 10.830)  # the area-limited editor's ward
LAT = 10.822
SPOTS = {  # south-west corners of 0.0005° squares, 0.002° apart: none overlaps another
    "in": 106.782, "moved_from": 106.784, "run_in": 106.786,
    "out": 106.800, "moved_to": 106.802, "run_out": 106.804, "put_out": 106.806, "create_out": 106.808,
}
TILE_Z = 16


def spot(name: str) -> Polygon:
    return square(SPOTS[name], LAT)


def tile_of(lon: float, lat: float, z: int = TILE_Z) -> tuple[int, int, int]:
    n = 2 ** z
    x = int((lon + 180.0) / 360.0 * n)
    y = int((1.0 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2.0 * n)
    return z, x, y


def schema(state: State) -> list[dict]:
    fields = [
        field("ward_code", "text", "Mã phường/xã", "Ward code", required=True, display=True),
        field("map_sheet", "integer", "Số tờ bản đồ", "Map sheet no.", required=True, display=True),
        field("parcel_no", "integer", "Số thửa", "Parcel no.", required=True, display=True),
        field("land_use", "code", "Loại đất", "Land-use code", required=True, choices=list(LAND_USE_CODES), display=True),
        field("legal_area", "number", "Diện tích pháp lý (m²)", "Legal area (m²)", display=True),
        field("name", "text", "Tên", "Name", display=True),
    ]
    if state.personal:  # the design of the `personal` branch: "personal": true on a schema field
        fields += [{**field("chu_su_dung", "text", "Chủ sử dụng", "Land user", display=True), "personal": True},
                   {**field("so_cccd", "text", "Số CCCD", "ID card no.", display=True), "personal": True},
                   {**field("address", "text", "Địa chỉ thường trú", "Home address", display=True), "personal": True}]
    return fields


def props(state: State, number: int, label: str) -> dict:
    out = {"ward_code": "26794", "map_sheet": 90, "parcel_no": number, "land_use": "ODT", "legal_area": 250.0,
           "name": f"{name_token(state)} {label}"}
    if state.personal:
        out.update(chu_su_dung=f"Nguyễn Văn {owner_token(state)}", so_cccd=cccd(state),
                   address=f"Số 5 hẻm {address_token(state)}")
    return out


def visible_props(role: str, state: State, properties: dict) -> dict:
    """What a role sends back when it saves: the properties as it may see them."""
    if sees_personal(role, state):
        return dict(properties)
    return {k: v for k, v in properties.items() if k not in PERSONAL_FIELDS}


@dataclass
class StateWorld:
    state: State
    layer: Layer
    ids: dict[str, int] = dc_field(default_factory=dict)  # in, out, moved, run_in, run_out
    run_id: int = 0


@dataclass
class World:
    users: dict[str, User]
    historian: User
    states: dict[str, StateWorld]
    since: str  # ISO time before anything was written: the diff pages' "from"
    tile: tuple[int, int, int]
    sessions: dict[str, str] = dc_field(default_factory=dict)  # role -> session key, logged in once
    # One test client per role: a new client loads the middleware again (WhiteNoise scans the static files).
    clients: dict[str, Client] = dc_field(default_factory=dict)

    @property
    def layer_ids(self) -> list[int]:
        return [sw.layer.pk for sw in self.states.values()]


def _grant_personal_supported() -> bool:
    return any(f.name == "can_see_personal" for f in LayerGrant._meta.get_fields())


def make_users() -> tuple[dict[str, User], User]:
    users = {}
    for role in ROLES[1:]:
        users[role] = User.objects.create_user(f"mx-{role.replace('_', '-')}", password="mx-unused-9")
    users["staff"].is_staff = True
    users["staff"].save(update_fields=["is_staff"])
    users["admin"].is_superuser = users["admin"].is_staff = True
    users["admin"].save(update_fields=["is_superuser", "is_staff"])
    users["data_admin"].user_permissions.add(Permission.objects.get(codename="add_layer", content_type__app_label="layers"))
    return users, User.objects.create_user(HISTORIAN, password="mx-unused-9")


def _grants(layer: Layer, users: dict[str, User], historian: User) -> None:
    area = MultiPolygon(Polygon.from_bbox(AREA_BOX), srid=4326)
    personal = {"can_see_personal": True} if _grant_personal_supported() else {}
    LayerGrant.objects.create(layer=layer, user=users["viewer"])
    LayerGrant.objects.create(layer=layer, user=users["viewer_personal"], **personal)
    LayerGrant.objects.create(layer=layer, user=users["editor"], can_edit=True)
    LayerGrant.objects.create(layer=layer, user=users["area_editor"], can_edit=True, area=area, area_label="Mx ward")
    LayerGrant.objects.create(layer=layer, user=historian, can_edit=True)


def _history(sw: StateWorld, historian: User) -> None:
    """Edits by the historian (with comments), so history pages have identities to keep or show."""
    s, layer, why = sw.state, sw.layer, comment_token(sw.state)
    f_in = editing.feature_create(layer=layer, geom=spot("in"), properties=props(s, 1, "Alpha"), user=historian, comment=why)
    f_in = editing.feature_update(layer=layer, feature_id=f_in.pk, expected_version=1, user=historian,
                                  properties=props(s, 1, "Alpha v2"), comment=f"{why} đổi tên")
    f_out = editing.feature_create(layer=layer, geom=spot("out"), properties=props(s, 2, "Bravo"), user=historian, comment=why)
    moved = editing.feature_create(layer=layer, geom=spot("moved_from"), properties=props(s, 3, "Charlie"),
                                   user=historian, comment=why)
    editing.feature_update(layer=layer, feature_id=moved.pk, expected_version=1, user=historian, geom=spot("moved_to"),
                           comment=f"{why} dời ra ngoài")
    sw.ids.update({"in": f_in.pk, "out": f_out.pk, "moved": moved.pk})


def _geojson_file(sw: StateWorld, folder: Path) -> Path:
    s = sw.state
    features = [{"type": "Feature", "geometry": json.loads(spot(where).geojson), "properties": props(s, number, label)}
                for where, number, label in (("run_in", 4, "Delta"), ("run_out", 5, "Echo"))]
    path = folder / f"mx-run-{s.key}.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}, ensure_ascii=False), encoding="utf-8")
    return path


def _ingest(sw: StateWorld, historian: User, folder: Path) -> None:
    """A real ingest run (append) that adds one feature inside the area and one outside."""
    before = set(sw.layer.features.values_list("pk", flat=True))
    run = ingest_file(path=_geojson_file(sw, folder), layer=sw.layer, mode="append", user=historian)
    assert run.status == "succeeded" and run.loaded_count == 2, run.report
    new = {f.properties["parcel_no"]: f.pk for f in sw.layer.features.exclude(pk__in=before)}
    sw.ids.update({"run_in": new[4], "run_out": new[5]})
    sw.run_id = run.pk


def build_world(folder: Path) -> World:
    """Users, grants, four layers with history and an ingest run each; committed."""
    since = (timezone.now() - dt.timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    users, historian = make_users()
    states = {}
    for name, s in STATES.items():
        layer = layer_create(slug=s.slug, title_vi=f"{title_token(s)} lớp", title_en=f"{title_token(s)} layer",
                             category="land", geometry_type="Polygon", is_public=s.public, schema=schema(s))
        _grants(layer, users, historian)
        sw = StateWorld(s, layer)
        with transaction.atomic():
            _history(sw, historian)
        _ingest(sw, historian, folder)
        sw.layer.refresh_from_db()
        states[name] = sw
    world = World(users, historian, states, since, tile_of(SPOTS["in"] + 0.00025, LAT + 0.00025))
    world.clients["anonymous"] = Client()
    for role, user in users.items():  # one login per role for the whole matrix (a login costs more than a cell)
        world.clients[role] = Client()
        world.clients[role].force_login(user)
        world.sessions[role] = world.clients[role].cookies[settings.SESSION_COOKIE_NAME].value
    return world


def settle_feed(world: World) -> None:
    """Waits until the change feed serves every state's world (the feed holds back what is not yet settled
    everywhere in the shared cluster, and reads may go to the replica): a sync point, not a timing."""
    settle()
    client = world.clients["admin"]
    deadline = time.monotonic() + SETTLE_WAIT
    for sw in world.states.values():
        while True:
            response = client.get(f"/data/{sw.layer.slug}/changes", {"limit": 100})
            assert response.status_code == 200, response.content[:300]
            if sw.ids["run_out"] in {f["id"] for f in json.loads(response.content)["features"]}:
                break
            assert time.monotonic() < deadline, f"the feed of {sw.layer.slug} never served the world"
            time.sleep(0.05)


def build_archives(world: World) -> None:
    """The PMTiles archives, built once for the whole matrix: each state's layer (restricted ones get none) and a
    basemap drawn from the four layers for the while (built from the public ones only). A restricted layer is
    then given a stale archive on disk (as one made private before its file was removed) to show that it is
    still never served."""
    from tiles import archives

    ids = world.layer_ids
    Layer.objects.filter(pk__in=ids).update(basemap_role="roads")  # update(): no signal queues a build
    try:
        for name in [sw.layer.slug for sw in world.states.values()] + [archives.BASEMAP]:
            archives.build_archive(name)
    finally:
        Layer.objects.filter(pk__in=ids).update(basemap_role="")
    public = world.states["public_personal"].layer.slug
    for key in ("restricted", "restricted_personal"):
        stale = archives.archive_path(world.states[key].layer.slug)
        assert not stale.exists(), f"an archive was built for {stale.name}"
        stale.write_bytes(archives.archive_path(public).read_bytes())


def tear_down(world: World) -> None:
    """Removes everything the world committed (features first: the history triggers record their deletion)."""
    ids = world.layer_ids
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM layers_feature WHERE layer_id = ANY(%s)", [ids])
        cursor.execute("DELETE FROM layers_featureversion WHERE layer_id = ANY(%s)", [ids])
        IngestRun.objects.filter(pk__in=[sw.run_id for sw in world.states.values()]).delete()
        Layer.objects.filter(pk__in=ids).delete()
        Session.objects.filter(session_key__in=world.sessions.values()).delete()
        User.objects.filter(pk__in=[u.pk for u in world.users.values()] + [world.historian.pk]).delete()


# ---- reading responses --------------------------------------------------------------------------------

def body_bytes(response) -> bytes:
    """Everything a response carries, readable: streamed bodies joined, gzip undone, zip members concatenated,
    a GeoParquet file's metadata and rows as JSON, a PMTiles archive's metadata and every tile decoded."""
    if getattr(response, "_mx_body", None) is not None:  # a stream is read once: keep what it gave
        return response._mx_body
    data = b"".join(response.streaming_content) if response.streaming else response.content
    if response.get("Content-Encoding") == "gzip":
        data = gzip.decompress(data)
    if data[:4] == b"PK\x03\x04":
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            data = b"".join(archive.read(name) for name in archive.namelist())
    elif data[:4] == b"PAR1" and response.status_code == 200:  # a part (206) is read as bytes
        data = parquet_text(data)
    elif data[:7] == b"PMTiles" and response.status_code == 200:
        data = pmtiles_text(data)
    response._mx_body = data
    return data


def parquet_text(data: bytes) -> bytes:
    """A Parquet file as text: its key-value metadata (GeoParquet's "geo"), column names and rows (zstd undone)."""
    import pyarrow.parquet as pq

    table = pq.read_table(io.BytesIO(data))
    meta = {k.decode(): v.decode("utf-8", "replace") for k, v in (table.schema.metadata or {}).items()}
    rows = table.drop_columns([c for c in table.column_names if c == "geometry"]).to_pylist()
    return json.dumps({"metadata": meta, "columns": table.column_names, "rows": rows}, default=str,
                      ensure_ascii=False).encode()


def pmtiles_text(data: bytes) -> bytes:
    """A PMTiles archive as text: its header, JSON metadata and every tile decoded (gzip undone, MVT read)."""
    import mapbox_vector_tile
    from pmtiles.reader import MemorySource, Reader, all_tiles

    source = MemorySource(data)
    reader = Reader(source)
    tiles = {}
    for (z, x, y), tile in all_tiles(source):
        tile = gzip.decompress(tile) if tile[:2] == b"\x1f\x8b" else tile
        tiles[f"{z}/{x}/{y}"] = mapbox_vector_tile.decode(tile)
    return json.dumps({"header": reader.header(), "metadata": reader.metadata(), "tiles": tiles}, default=str,
                      ensure_ascii=False).encode()


def contains(data: bytes, token: str) -> bool:
    return token.encode() in data


VIETNAMESE_LETTERS = "ăâđêôơưạảấầẩẫậắằẳẵặẹẻẽếềểễệỉịọỏốồổỗộớờởỡợụủứừửữựỳỵỷỹáàãéèíìóòõúùý"


def says_why_in_vi_and_en(response, data: bytes) -> bool:
    """A refusal a person understands: JSON with both messages, or a page with Vietnamese text on it."""
    if response.get("Content-Type", "").startswith("application/json"):
        try:
            body = json.loads(data)
        except ValueError:
            return False
        return bool(body.get("description")) and bool(body.get("description_vi"))
    text = data.decode("utf-8", "replace").lower()
    return any(letter in text for letter in VIETNAMESE_LETTERS)
