"""The change feed on the demo city's parcels (loaded once, committed): the load reads as inserts, page by page,
without the owners' data, and the Atom feed shows the load as one entry. Transactional: the feed never shows a
running transaction, and a plain test's wrapping one may hold the city's load."""
import json
import xml.etree.ElementTree as ET

import pytest

from layers.personal import personal_fields
from tests.opendata.feed_helpers import settle

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_demo_parcels_feed_pages_through_the_load_without_personal_data(client, demo_city):
    parcels = demo_city["parcels"]
    hidden = personal_fields(parcels)
    assert hidden  # the demo's parcels carry owners: the feed must leave them out
    settle()
    first = json.loads(client.get("/data/parcels/changes", {"limit": 100}).content)
    assert first["numberReturned"] == 100 and first["more"] is True
    assert {c["change"]["kind"] for c in first["features"]} == {"insert"}
    assert all(not set(hidden) & set(c["properties"]) and c["geometry"]["type"] for c in first["features"])
    second = json.loads(client.get("/data/parcels/changes", {"limit": 100, "since": first["next_cursor"]}).content)
    ids = [c["id"] for c in first["features"] + second["features"]]
    assert len(set(ids)) == 200
    item = client.get(f"/ogc/collections/parcels/items/{ids[0]}")
    assert item.status_code == 200
    assert json.loads(item.content)["properties"] == first["features"][0]["properties"]
    atom = ET.fromstring(client.get("/data/parcels/changes.atom").content)
    titles = [e.findtext("{http://www.w3.org/2005/Atom}title") for e in atom.iter("{http://www.w3.org/2005/Atom}entry")]
    assert any(t.startswith("Nhập dữ liệu lần ") and "thêm mới / Ingest run " in t for t in titles)
