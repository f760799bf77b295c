"""Issue 15's flows and personal data: the change feed (JSON, GeoJSONSeq, Atom) shows each role what its grant
allows, as every other read does; public documents (CSW, ISO 19139, OGC API – Records, webhook events) never carry
an owner's name, ID number or phone, nor who made a change, whoever asks.

Transactional: the feed serves only settled transactions, and a test's wrapping transaction would hold it back.
"""
import json

import pytest
from django.contrib.auth.models import User
from django.test import Client

from layers import changes
from layers.editing import feature_create, feature_update
from layers.models import Layer
from layers.schemas import PARCELS_SCHEMA, field
from layers.services import grant_create
from opendata import webhooks_events
from tiles import archives
from tests.authz_matrix import pmtiles_text
from tests.factories import make_parcel_layer, square
from tests.opendata.feed_helpers import RS, body, settle

pytestmark = pytest.mark.django_db(transaction=True)

EDITOR, WHY = "flowhistorian", "Flowwhy"  # who changed the features, and why: for no feed reader
OWNER, CCCD, PHONE = "Nguyễn Văn Flowowner", "079188877766", "0912000111"
SECRETS = [OWNER, CCCD, PHONE]
SCHEMA = PARCELS_SCHEMA + [field("so_dien_thoai", "text", "Số điện thoại chủ", "Owner's phone", personal=True)]


def _props(no: int, label: str) -> dict:
    return {"ward_code": "26794", "map_sheet": 7, "parcel_no": no, "land_use": "ODT", "legal_area": 120.0,
            "address": f"Flowaddr {label}", "chu_su_dung": OWNER, "so_cccd": CCCD, "so_dien_thoai": PHONE}


def _client(user=None) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


@pytest.fixture
def flow(settings, tmp_path):
    """A public and a restricted parcel layer with owners, each edited twice by a named editor with a comment;
    clients for the public, a viewer granted both, an officer granted their personal fields, a superuser."""
    settings.OPENDATA_CACHE_DIR = tmp_path / "downloads"
    settings.OPENDATA_RATE_ANON = settings.OPENDATA_RATE_TOKEN = 100_000
    chief = User.objects.create_superuser("flow-chief", password="x")
    editor = User.objects.create_user(EDITOR, password="x")
    viewer, officer = (User.objects.create_user(name, password="x") for name in ("flow-viewer", "flow-officer"))
    layers = {}
    for slug, public in (("flow-open", True), ("flow-shut", False)):
        layer = make_parcel_layer(slug=slug, is_public=public, schema=SCHEMA)
        grant_create(layer=layer, by=chief, user=editor, can_edit=True)
        grant_create(layer=layer, by=chief, user=viewer)
        grant_create(layer=layer, by=chief, user=officer, can_see_personal=True)
        made = feature_create(layer=layer, geom=square(106.70, 10.78), properties=_props(1, "Alpha"), user=editor,
                              comment=WHY)
        feature_update(layer=layer, feature_id=made.pk, expected_version=1, user=editor,
                       properties=_props(1, "Beta"), comment=f"{WHY} again")
        layers[slug] = (layer, made.pk)
    settle()
    clients = {"anonymous": _client(), "viewer": _client(viewer), "officer": _client(officer), "chief": _client(chief)}
    return layers, clients


def _feed(client: Client, slug: str) -> tuple[int, list[dict], bytes, bytes]:
    """The JSON page and the GeoJSONSeq stream of the same feed: (status, changes, the page, the stream)."""
    page = client.get(f"/data/{slug}/changes")
    seq = client.get(f"/data/{slug}/changes", {"f": "geojsonseq"})
    page_raw, seq_raw = body(page), body(seq)  # a stream is read once
    assert page.status_code == seq.status_code
    if page.status_code != 200:
        return page.status_code, [], page_raw, seq_raw
    records = [json.loads(part) for part in seq_raw.split(RS)[1:]][:-1]
    assert records == json.loads(page_raw)["features"]  # the stream and the page hand out the same changes
    return 200, records, page_raw, seq_raw


def _contains(raw: bytes, text: str) -> bool:
    return text.encode() in raw or json.dumps(text)[1:-1].encode() in raw


@pytest.mark.parametrize(("slug", "role", "status", "personal"), [
    ("flow-open", "anonymous", 200, False),
    ("flow-shut", "anonymous", 404, False),
    ("flow-shut", "viewer", 200, False),
    ("flow-shut", "officer", 200, True),
    ("flow-open", "officer", 200, True),
])
def test_the_feed_shows_each_role_what_its_grant_allows(flow, slug, role, status, personal):
    layers, clients = flow
    code, records, page, seq = _feed(clients[role], slug)
    raw = page + seq
    assert code == status
    atom = clients[role].get(f"/data/{slug}/changes.atom")
    assert atom.status_code == status
    if status == 404:  # as a layer that does not exist, saying why in both languages
        ghost = json.loads(body(clients[role].get("/data/flow-no-such/changes")))
        assert json.loads(page) == json.loads(seq) == ghost and ghost["description"] and ghost["description_vi"]
        assert not any(_contains(raw + atom.content, token) for token in ["Flowaddr", *SECRETS])
        return
    layer, fid = layers[slug]
    assert [(r["id"], r["change"]["kind"], r["change"]["version"]) for r in records] == [(fid, "insert", 1),
                                                                                       (fid, "update", 2)]
    assert records[-1]["properties"]["address"] == "Flowaddr Beta"
    for token in SECRETS:
        assert _contains(raw, token) == personal, token
    assert {"chu_su_dung", "so_cccd", "so_dien_thoai"} <= set(records[-1]["properties"]) or not personal
    # the Atom feed is one document for all: no properties, no personal value, for anyone
    assert b"<entry>" in atom.content and not any(_contains(atom.content, token) for token in SECRETS)
    for text in (raw, atom.content):  # nobody learns from the feed who made a change, or why
        assert not _contains(text, EDITOR) and not _contains(text, WHY)


def test_public_documents_never_carry_personal_values_or_editors(flow, settings, tmp_path):
    """CSW, ISO 19139, OGC API – Records, PMTiles and webhook events, asked by a superuser: the public layer, no
    secret."""
    layers, clients = flow
    settings.GISPORTAL_PMTILES_DIR, settings.GISPORTAL_PMTILES_MAX_ZOOM = tmp_path / "pmtiles", 16
    archives.build_archive("flow-open")
    archive = clients["chief"].get("/tiles/flow-open.pmtiles")
    decoded = pmtiles_text(body(archive))
    tiles = json.loads(decoded)["tiles"]
    assert archive.status_code == 200 and any(t.get("flow-open", {}).get("features") for t in tiles.values())
    assert not [t for t in [*SECRETS, EDITOR, WHY] if _contains(decoded, t)]
    assert clients["chief"].get("/tiles/flow-shut.pmtiles").status_code == 404
    chief = clients["chief"]
    csw = "/csw?service=CSW&version=2.0.2&request="
    paths = [f"{csw}GetRecords&typenames=csw:Record&elementsetname=full&resulttype=results&maxrecords=100",
             f"{csw}GetRecordById&id=flow-open&outputschema=http://www.isotc211.org/2005/gmd&elementsetname=full",
             "/records/collections/catalog/items?limit=100", "/records/collections/catalog/items/flow-open"]
    for path in paths:
        response = chief.get(path)
        raw = body(response)
        assert response.status_code == 200 and b"flow-open" in raw and b"flow-shut" not in raw, path
        assert not [t for t in [*SECRETS, EDITOR, WHY] if _contains(raw, t)], path
    layer, fid = layers["flow-open"]
    last = changes.transactions_after(layer, changes.START)[-1]
    event = webhooks_events.changed_event(layer, last, "edit")
    sent = webhooks_events.body(event)
    assert [f["id"] for f in event["data"]["features"]] == [fid]
    assert event["data"]["features"][0]["properties"]["address"] == "Flowaddr Beta"
    assert not [t for t in [*SECRETS, EDITOR, WHY] if _contains(sent, t)]


def test_a_change_to_hidden_fields_alone_is_not_in_their_feed(flow):
    """As history pages: the public does not learn when an owner changed; the cursor still moves past it."""
    layers, clients = flow
    layer, fid = layers["flow-open"]
    chief = User.objects.get(username="flow-chief")
    end = json.loads(body(clients["anonymous"].get("/data/flow-open/changes")))["next_cursor"]
    atom_before = clients["anonymous"].get("/data/flow-open/changes.atom").content.count(b"<entry>")
    feature_update(layer=layer, feature_id=fid, expected_version=2, user=chief,
                   properties={**_props(1, "Beta"), "chu_su_dung": "Trần Thị Flownew"})
    settle()
    for role, shown in (("anonymous", False), ("viewer", False), ("officer", True)):
        page = json.loads(body(clients[role].get("/data/flow-open/changes", {"since": end})))
        seq = [json.loads(p) for p in body(clients[role].get("/data/flow-open/changes",
                                                             {"since": end, "f": "geojsonseq"})).split(RS)[1:]]
        assert [c["id"] for c in page["features"]] == [c["id"] for c in seq[:-1]] == ([fid] if shown else []), role
        assert page["next_cursor"] == seq[-1]["next_cursor"] != end  # past the change, seen or not
        again = json.loads(body(clients[role].get("/data/flow-open/changes", {"since": page["next_cursor"]})))
        assert again["features"] == []
    # the Atom feed (one document for all) and the webhook event (sent to other agencies) do not tell it either
    for role in ("anonymous", "officer"):
        assert clients[role].get("/data/flow-open/changes.atom").content.count(b"<entry>") == atom_before == 2
    last = changes.transactions_after(layer, changes.START)[-1]
    assert last.counts["update"] == 1 and webhooks_events.changed_event(layer, last, "edit") is None


def test_a_field_marked_personal_leaves_the_pmtiles_archive_at_once(flow, settings, tmp_path):
    """As from the live tiles and downloads: the archive built before is not served until it is rebuilt without it."""
    layers, clients = flow
    settings.GISPORTAL_PMTILES_DIR, settings.GISPORTAL_PMTILES_MAX_ZOOM = tmp_path / "pmtiles", 16
    layer, _ = layers["flow-open"]
    archives.build_archive("flow-open")
    assert b"Flowaddr Beta" in pmtiles_text(body(clients["anonymous"].get("/tiles/flow-open.pmtiles")))
    layer.schema = [{**f, "personal": True} if f["name"] == "address" else f for f in layer.schema]
    layer.save()
    gone = clients["anonymous"].get("/tiles/flow-open.pmtiles")
    assert gone.status_code == 404 and gone.json()["description_vi"] and gone["Cache-Control"] == "no-store"
    archives.build_archive("flow-open")  # the queued rebuild
    assert b"Flowaddr" not in pmtiles_text(body(clients["anonymous"].get("/tiles/flow-open.pmtiles")))
    layer.title_en = "Renamed"  # a change that takes no field away keeps the archive served meanwhile
    layer.save()
    assert clients["anonymous"].get("/tiles/flow-open.pmtiles").status_code == 200


def test_a_basemap_layer_made_restricted_leaves_the_basemap_archive_at_once(flow, settings, tmp_path):
    layers, clients = flow
    settings.GISPORTAL_PMTILES_DIR, settings.GISPORTAL_PMTILES_MAX_ZOOM = tmp_path / "pmtiles", 16
    layer, _ = layers["flow-open"]
    Layer.objects.filter(pk=layer.pk).update(basemap_role="roads")
    archives.build_archive("basemap")
    assert b'"flow-open"' in pmtiles_text(body(clients["anonymous"].get("/tiles/basemap.pmtiles")))
    layer.refresh_from_db()
    layer.is_public = False
    layer.save()
    assert clients["anonymous"].get("/tiles/basemap.pmtiles").status_code == 404  # no other basemap layer here
    Layer.objects.filter(pk=layers["flow-shut"][0].pk).update(is_public=True, basemap_role="water")
    assert clients["anonymous"].get("/tiles/basemap.pmtiles").status_code == 404  # not built yet: not the old one
    archives.build_archive("basemap")
    rebuilt = pmtiles_text(body(clients["anonymous"].get("/tiles/basemap.pmtiles")))
    assert b'"flow-shut"' in rebuilt and b'"flow-open"' not in rebuilt
