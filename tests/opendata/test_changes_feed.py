"""The change feed door (/data/{layer}/changes): a consumer replaying it ends with exactly the layer, after editor
edits, splits, an upsert, a bulk replace and a run revert; continuing from a cursor gives each change once;
GeoJSONSeq gives the same changes; the same access and personal-data rules as every door; compaction keeps the
replay equal and turns old cursors and old as-of reads into 410.

Transactional: the feed serves only settled transactions, and a test's wrapping transaction would hold it back."""
import json

import pytest
from django.contrib.auth.models import User
from django.contrib.gis.geos import LineString
from django.utils import timezone

from ingest.services import ingest_file
from layers import changes
from layers.compaction import history_compact
from layers.editing import feature_create, feature_delete, feature_split, feature_update
from layers.history import layer_as_of
from layers.compaction import HistoryCompacted
from layers.models import LayerGrant
from layers.runs import run_revert
from tests.factories import make_feature, make_layer, make_parcel_layer, square
from tests.ingest.conftest import parcels_frame, write
from tests.opendata.feed_helpers import apply, assert_same_layer, download, read_pages, read_seq, settle

pytestmark = pytest.mark.django_db(transaction=True)
LON, LAT = 106.7500, 10.8000


def _parcel(no: int, **extra) -> dict:
    return {"ward_code": "27088", "map_sheet": 1, "parcel_no": no, "land_use": "ODT", "legal_area": 300.0, **extra}


def _across(geom) -> LineString:
    xmin, ymin, xmax, ymax = geom.extent
    y = (ymin + ymax) / 2
    return LineString((xmin - 0.0002, y), (xmax + 0.0002, y), srid=4326)


@pytest.fixture
def story(tmp_path, settings):
    """A public parcel layer with owners' names (personal), through every kind of write the platform has."""
    admin = User.objects.create_superuser("feed-chief", password="x")
    layer = make_parcel_layer(slug="feed-story", is_public=True)
    owners = {"chu_su_dung": [f"Nguyễn Văn {c}" for c in "ABCDEF"], "key": list("abcdef")}
    ingest_file(path=write(parcels_frame(6, **owners), tmp_path / "v1.gpkg"), layer=layer, mode="upsert", key="key",
                user=admin)
    changed = parcels_frame(7, land_use=["ODT", "CLN", "ODT", "ODT", "TMD", "ODT", "ODT"], key=list("abcdefg"),
                            chu_su_dung=[f"Trần Thị {c}" for c in "ABCDEFG"])
    ingest_file(path=write(changed, tmp_path / "v2.gpkg"), layer=layer, mode="upsert", key="key", user=admin)
    made = [feature_create(layer=layer, geom=square(LON + 0.001 * i, LAT, 0.0004), properties=_parcel(100 + i),
                           user=admin) for i in range(4)]
    feature_update(layer=layer, feature_id=made[0].pk, expected_version=1, user=admin,
                   properties=_parcel(100, address="Số 5 đường Võ Văn Ngân", chu_su_dung="Lê Văn C"))
    feature_update(layer=layer, feature_id=made[1].pk, expected_version=1, user=admin,
                   geom=square(LON + 0.0012, LAT + 0.0001, 0.0004))
    feature_delete(layer=layer, feature_id=made[2].pk, expected_version=1, user=admin)
    feature_split(layer=layer, feature_id=made[3].pk, expected_version=1, line=_across(made[3].geom), user=admin)
    settings.INGEST_BULK_MIN_ROWS = 0  # the bulk path: a new partition and a history segment of its own
    replaced = ingest_file(path=write(parcels_frame(5, key=list("abcde")), tmp_path / "v3.gpkg"), layer=layer,
                           mode="replace", user=admin)
    bulk = ingest_file(path=write(parcels_frame(3, key=list("xyz"), parcel_no=[51, 52, 53]), tmp_path / "v4.gpkg"),
                       layer=layer, mode="replace", user=admin)
    run_revert(layer=layer, run_id=bulk.pk, user=admin)
    assert replaced.status == bulk.status == "succeeded"
    return layer, admin


def test_a_consumer_replaying_the_feed_ends_with_exactly_the_layer(client, story):
    layer, admin = story
    changes, last_cursor, cursors = read_pages(client, layer.slug, limit=3)
    kinds = {c["change"]["kind"] for c in changes}
    assert kinds == {"insert", "update", "delete"} and len(cursors) > 5
    downloaded, _ = download(client, layer.slug)
    assert_same_layer(apply(changes), downloaded)
    # the public never sees the owners, nor who edited
    assert all("chu_su_dung" not in (c["properties"] or {}) for c in changes)
    assert all(set(c["change"]) == {"kind", "version", "time", "cursor"} for c in changes)
    assert all(c["change"]["time"].endswith("Z") for c in changes)
    # a data administrator's replay carries them, and equals the layer as they download it
    client.force_login(admin)
    own, _, _ = read_pages(client, layer.slug, limit=1000)
    assert any("chu_su_dung" in (c["properties"] or {}) for c in own)
    assert_same_layer(apply(own), download(client, layer.slug)[0])


def test_continuing_from_an_earlier_cursor_gives_each_change_once(client, story):
    layer, admin = story
    everything, _, _ = read_pages(client, layer.slug, limit=1000)
    first = json.loads(client.get(f"/data/{layer.slug}/changes", {"limit": 4}).content)
    rest, _, _ = read_pages(client, layer.slug, limit=5, since=first["next_cursor"])
    seen = [(c["id"], c["change"]["version"], c["change"]["kind"]) for c in first["features"] + rest]
    assert seen == [(c["id"], c["change"]["version"], c["change"]["kind"]) for c in everything]
    assert len(set(c["change"]["cursor"] for c in everything)) == len(everything)
    # a new edit after the end shows up once, from the last cursor
    end = json.loads(client.get(f"/data/{layer.slug}/changes", {"since": everything[-1]["change"]["cursor"]}).content)
    assert end["features"] == [] and end["more"] is False and end["next_cursor"] == everything[-1]["change"]["cursor"]
    new = feature_create(layer=layer, geom=square(LON, LAT + 0.01, 0.0004), properties=_parcel(300), user=admin)
    settle()
    after = json.loads(client.get(f"/data/{layer.slug}/changes", {"since": end["next_cursor"]}).content)
    assert [(c["id"], c["change"]["kind"]) for c in after["features"]] == [(new.pk, "insert")]


def test_geojsonseq_gives_the_same_changes_as_the_pages(client, story):
    layer, _ = story
    pages, last_cursor, _ = read_pages(client, layer.slug, limit=7)
    records, trailer = read_seq(client, layer.slug, limit=10000)
    assert records == pages
    assert trailer == {"type": "next_cursor", "next_cursor": last_cursor, "more": False, "numberReturned": len(pages)}
    # by Accept too, and the answer says it varied on it
    response = client.get(f"/data/{layer.slug}/changes", {"limit": 2}, HTTP_ACCEPT="application/geo+json-seq")
    assert response["Content-Type"] == "application/geo+json-seq" and "Accept" in response["Vary"]
    part, part_trailer = read_seq(client, layer.slug, limit=2)
    assert part == pages[:2] and part_trailer["more"] is True and part_trailer["next_cursor"] == pages[1]["change"]["cursor"]


def test_the_feed_in_vn2000_uses_the_download_crs_parser(client, story):
    layer, _ = story
    wgs, _, _ = read_pages(client, layer.slug, limit=1000)
    vn, _, _ = read_pages(client, layer.slug, limit=1000, crs="9210")
    x, y = vn[0]["geometry"]["coordinates"][0][0]
    assert 500_000 < x < 700_000 and 1_000_000 < y < 1_400_000
    response = client.get(f"/data/{layer.slug}/changes", {"crs": "9210", "limit": 1})
    assert response["Content-Crs"] == "<http://www.opengis.net/def/crs/EPSG/0/9210>"
    assert json.loads(response.content)["crs"]["properties"]["name"] == "urn:ogc:def:crs:EPSG::9210"
    assert [c["id"] for c in vn] == [c["id"] for c in wgs]
    assert client.get(f"/data/{layer.slug}/changes", {"crs": "1234"}).status_code == 400


def test_compaction_keeps_the_replay_equal_and_old_cursors_and_as_of_get_410(client, story):
    layer, admin = story
    client.force_login(admin)  # every change counted: the public does not see those of the owners' names alone
    before_rows, _, _ = read_pages(client, layer.slug, limit=1000)
    early = before_rows[2]["change"]["cursor"]
    latest = before_rows[-1]["change"]["cursor"]
    moment = timezone.now()
    result = history_compact(layer=layer, before=moment)
    assert result.rows_removed > 0
    after_rows, _, _ = read_pages(client, layer.slug, limit=4)
    assert len(after_rows) == len(before_rows) - result.rows_removed
    assert_same_layer(apply(after_rows), download(client, layer.slug)[0])
    gone = client.get(f"/data/{layer.slug}/changes", {"since": early})
    assert gone.status_code == 410
    error = json.loads(gone.content)
    assert error["code"] == "history-compacted" and "X-Changes-Cursor" in error["description"]
    assert "tải lại" in error["description_vi"]
    assert client.get(f"/data/{layer.slug}/changes", {"since": latest}).status_code == 200
    # a read racing the compaction (checked before it committed) gets nothing rather than a gap
    position = changes.decode_cursor(layer, early)
    assert changes.changes_after(layer, position, limit=100, read=False) == []
    assert len(changes.changes_after(layer, changes.START, limit=100, read=False)) == len(after_rows)
    earlier = (moment - timezone.timedelta(hours=1)).isoformat()
    assert client.get(f"/data/{layer.slug}.geojson", {"as_of": earlier}).status_code == 410
    assert client.get(f"/ogc/collections/{layer.slug}/items", {"as_of": earlier}).status_code == 410
    assert client.get(f"/data/{layer.slug}.geojson", {"as_of": moment.isoformat()}).status_code == 200
    with pytest.raises(HistoryCompacted):
        layer_as_of(layer, moment - timezone.timedelta(seconds=1))


def test_a_restricted_layer_feed_is_404_to_the_public_and_200_to_a_granted_user(client):
    layer = make_layer(slug="feed-secret", is_public=False)
    make_feature(layer, square(LON, LAT), {"name": "Hầm A"})
    settle()
    for path in (f"/data/{layer.slug}/changes", f"/data/{layer.slug}/changes.atom",
                 f"/data/{layer.slug}/changes?f=geojsonseq"):
        assert client.get(path).status_code == 404
    user = User.objects.create_user("granted")
    LayerGrant.objects.create(layer=layer, user=user)
    client.force_login(user)
    response = client.get(f"/data/{layer.slug}/changes")
    assert response.status_code == 200 and response["Cache-Control"] == "private, no-store"
    assert [f["properties"] for f in json.loads(response.content)["features"]] == [{"name": "Hầm A"}]
    assert client.get(f"/data/{layer.slug}/changes.atom").status_code == 200


def test_a_download_says_where_to_follow_on(client):
    layer = make_layer(slug="feed-follow")
    first = make_feature(layer, square(LON, LAT), {"name": "a"})
    settle()  # else the cursor is earlier still (which is allowed) and the page below would show `first` again
    downloaded, cursor = download(client, layer.slug)
    assert list(downloaded) == [first.pk] and cursor
    second = make_feature(layer, square(LON + 0.001, LAT), {"name": "b"})
    settle()
    page = json.loads(client.get(f"/data/{layer.slug}/changes", {"since": cursor}).content)
    assert [c["id"] for c in page["features"]] == [second.pk]
    assert_same_layer(apply(page["features"], downloaded), download(client, layer.slug)[0])
    boxed = client.get(f"/data/{layer.slug}.geojson", {"bbox": "106,10,107,11"})
    assert "X-Changes-Cursor" not in boxed and "X-Changes-Cursor" in boxed["Access-Control-Expose-Headers"]


def test_pages_carry_links_etags_and_cache_rules(client):
    layer = make_layer(slug="feed-cache")
    for i in range(3):
        make_feature(layer, square(LON + 0.001 * i, LAT), {"n": i})
    settle()
    head = client.get(f"/data/{layer.slug}/changes", {"limit": 2})
    page = json.loads(head.content)
    assert {link["rel"] for link in page["links"]} >= {"self", "next", "collection", "enclosure"}
    assert head["Link"].startswith("<http://testserver/data/feed-cache/changes?since=") and 'rel="next"' in head["Link"]
    assert head["Cache-Control"] == "public, max-age=10"  # from the start: compaction may rewrite it
    full = client.get(f"/data/{layer.slug}/changes", {"limit": 1, "since": page["features"][0]["change"]["cursor"]})
    assert full["Cache-Control"] == "public, max-age=300"
    tail = client.get(f"/data/{layer.slug}/changes", {"limit": 5, "since": page["next_cursor"]})
    assert json.loads(tail.content)["more"] is False and tail["Cache-Control"] == "public, max-age=10"
    again = client.get(f"/data/{layer.slug}/changes", {"limit": 2}, HTTP_IF_NONE_MATCH=head["ETag"])
    assert again.status_code == 304 and again["ETag"] == head["ETag"]


@pytest.mark.parametrize("query, status, parameter", [
    ("since=abc", 400, "since"), ("since=" + "x" * 300, 400, "since"), ("since=a.b", 400, "since"),
    ("limit=0", 400, "limit"), ("limit=10001", 400, "limit"), ("limit=-1", 400, "limit"), ("limit=1e3", 400, "limit"),
    ("f=xml", 400, "f"), ("bbox=1,2,3,4", 400, "bbox"), ("limit=1&limit=2", 400, "limit"), ("crs=EPSG:1", 400, "crs"),
])
def test_bad_feed_parameters_are_400_with_both_languages(client, query, status, parameter):
    layer = make_layer(slug="feed-bad")
    response = client.get(f"/data/{layer.slug}/changes?{query}")
    assert response.status_code == status
    error = json.loads(response.content)
    assert error["parameter"] == parameter and error["description_vi"] and error["description"]


def test_a_cursor_of_another_layer_or_altered_is_400(client):
    one, other = make_layer(slug="feed-one"), make_layer(slug="feed-other")
    make_feature(one, square(LON, LAT))
    settle()
    cursor = json.loads(client.get(f"/data/{one.slug}/changes").content)["next_cursor"]
    moved = client.get(f"/data/{other.slug}/changes", {"since": cursor})
    assert moved.status_code == 400 and "another layer" in json.loads(moved.content)["description"]
    body_part, mac = cursor.split(".")
    altered = client.get(f"/data/{one.slug}/changes", {"since": body_part + "." + mac[::-1]})
    assert altered.status_code == 400
    assert client.get(f"/data/{one.slug}/changes", {"since": cursor}).status_code == 200
    assert client.post(f"/data/{one.slug}/changes").status_code == 405
    assert client.get("/data/no-such-layer/changes").status_code == 404
