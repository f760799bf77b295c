"""/data/{layer}/changes.atom: one entry per transaction (an ingest of many rows is one entry), newest first, stable
tag: ids, Vietnamese then English, escaped XML, links to the JSON feed and the features' OGC API items.
Transactional: the feed serves only settled transactions."""
import datetime as dt
import json
import xml.etree.ElementTree as ET

import pytest
from django.contrib.auth.models import User

from ingest.services import ingest_file
from layers.changes import Position, Transaction
from layers.editing import feature_update
from layers.models import Feature
from opendata.atom import entry_title
from tests.factories import make_parcel_layer
from tests.ingest.conftest import parcels_frame, write
from tests.opendata.feed_helpers import settle

pytestmark = pytest.mark.django_db(transaction=True)
NS = {"a": "http://www.w3.org/2005/Atom"}


def _feed(client, slug: str, **params) -> ET.Element:
    settle()
    response = client.get(f"/data/{slug}/changes.atom", params)
    assert response.status_code == 200 and response["Content-Type"].startswith("application/atom+xml")
    return ET.fromstring(response.content)


def _entries(feed: ET.Element) -> list[dict]:
    return [{"id": e.find("a:id", NS).text, "title": e.find("a:title", NS).text, "updated": e.find("a:updated", NS).text,
             "summary": e.find("a:summary", NS).text,
             "links": [(link.get("rel"), link.get("href")) for link in e.findall("a:link", NS)]}
            for e in feed.findall("a:entry", NS)]


def test_an_ingest_is_one_entry_and_an_edit_lists_its_feature(client, tmp_path):
    admin = User.objects.create_superuser("atom-chief", password="x")
    layer = make_parcel_layer(slug="atom-parcels", title_vi='Thửa <b>&"đất"', title_en="Parcels <i>")
    run = ingest_file(path=write(parcels_frame(25), tmp_path / "p.gpkg"), layer=layer, mode="replace", user=admin)
    feature = Feature.objects.filter(layer=layer).order_by("id").first()
    feature_update(layer=layer, feature_id=feature.pk, expected_version=feature.version, user=admin,
                   properties={**feature.properties, "land_use": "CLN"}, comment="bí mật của biên tập viên")
    feed = _feed(client, layer.slug)
    assert feed.find("a:title", NS).text == 'Thay đổi của lớp Thửa <b>&"đất" / Changes to layer Parcels <i>'
    edit, load = _entries(feed)  # newest first, one entry per transaction
    assert load["title"] == f"Nhập dữ liệu lần {run.pk}: 25 thêm mới / Ingest run {run.pk}: 25 inserted"
    assert edit["title"] == "Chỉnh sửa: 1 cập nhật / Edit: 1 updated"
    assert edit["summary"].startswith(f"Đối tượng {feature.pk}: cập nhật") and f"Feature {feature.pk}: updated" in edit["summary"]
    assert ("related", f"http://testserver/ogc/collections/{layer.slug}/items/{feature.pk}") in edit["links"]
    assert "biên tập" not in edit["summary"] and "atom-chief" not in ET.tostring(feed, encoding="unicode")
    assert load["id"].startswith("tag:testserver,2025:data/atom-parcels/changes/") and load["updated"].endswith("Z")
    # the load's link reads the JSON feed from its first change: its 25 inserts, then the edit
    start = dict(load["links"])["alternate"]
    page = json.loads(client.get(start.removeprefix("http://testserver")).content)
    assert [c["change"]["kind"] for c in page["features"]] == ["insert"] * 25 + ["update"]
    # ids stay what they were when more happens
    feature_update(layer=layer, feature_id=feature.pk, expected_version=feature.version + 1, user=admin,
                   properties={**feature.properties, "land_use": "ODT"})
    newer = _entries(_feed(client, layer.slug))
    assert [e["id"] for e in newer[1:]] == [edit["id"], load["id"]] and newer[0]["id"] not in (edit["id"], load["id"])
    assert len(_entries(_feed(client, layer.slug, limit=1))) == 1
    assert client.get(f"/data/{layer.slug}/changes.atom", {"limit": "0"}).status_code == 400
    assert client.get(f"/data/{layer.slug}/changes.atom", {"since": "x"}).status_code == 400


def test_entry_titles_count_in_each_language_s_own_digits():
    big = Transaction(7, Position(7, 1), Position(7, 300_000), {"insert": 300_000, "update": 0, "delete": 2}, 12,
                      dt.datetime(2025, 7, 1, tzinfo=dt.timezone.utc))
    assert entry_title(big) == "Nhập dữ liệu lần 12: 300.000 thêm mới, 2 xóa / Ingest run 12: 300,000 inserted, 2 deleted"


def test_the_feed_keeps_its_default_namespace_whatever_else_registers_prefixes(client, demo_city):
    """ElementTree's prefix registry is global: WeasyPrint (the sheets' PDFs) registers '' when imported."""
    from xml.etree.ElementTree import register_namespace

    import weasyprint.pdf.metadata  # noqa: F401

    register_namespace("", "")  # as WeasyPrint does, whatever the import order
    body = client.get("/data/planning-zones/changes.atom").content
    assert b'<feed xmlns="http://www.w3.org/2005/Atom"' in body and b"ns0:" not in body
