"""/records/: OGC API – Records from the same record builder as /csw: paging, bbox, q, one record (JSON, HTML,
ISO 19139), restricted layers nowhere, bad input a 400 with vi/en messages."""
import pytest
from owslib.iso import MD_Metadata
from lxml import etree

from layers.models import Layer
from tests.factories import make_feature, make_layer, square

pytestmark = pytest.mark.django_db

ITEMS = "/records/collections/catalog/items"


@pytest.fixture
def more(db):
    """Two more public layers, one far from the others, so pages and boxes have something to tell apart."""
    near = make_layer(slug="wards-old", title_vi="Phường cũ", title_en="Former wards", keywords=["phường"])
    make_feature(near, square(106.75, 10.82), {"name": "A"})
    far = make_layer(slug="islands", title_vi="Đảo Côn Sơn", title_en="Con Son island", keywords=["đảo"])
    make_feature(far, square(106.60, 8.68), {"name": "B"})
    return near, far


def _error(response, status: int = 400, parameter: str | None = None) -> dict:
    assert response.status_code == status, response.content[:300]
    body = response.json()
    assert body["description"] and body["description_vi"] and body["description"] != body["description_vi"]
    if parameter:
        assert body["parameter"] == parameter
    return body


def test_landing_conformance_collection(client, parcels):
    landing = client.get("/records/").json()
    assert {"conformance", "data"} <= {link["rel"] for link in landing["links"]}
    assert any(link["href"].endswith("/csw") for link in landing["links"])
    conformance = client.get("/records/conformance").json()["conformsTo"]
    assert "http://www.opengis.net/spec/ogcapi-records-1/1.0/conf/record-core" in conformance
    collections = client.get("/records/collections").json()["collections"]
    assert [c["id"] for c in collections] == ["catalog"] and collections[0]["itemType"] == "record"
    assert client.get("/records/collections/catalog").json()["id"] == "catalog"
    assert client.get("/records/?f=html").status_code == 200


def test_paging_walks_every_public_record_once(client, parcels, points, secret, more):
    seen, url, pages = [], f"{ITEMS}?limit=2", 0
    while url:
        page = client.get(url).json()
        assert page["numberMatched"] == 4 and page["numberReturned"] == len(page["features"]) <= 2
        seen += [f["id"] for f in page["features"]]
        url = next((link["href"] for link in page["links"] if link["rel"] == "next"), None)
        pages += 1
    assert pages == 2 and sorted(seen) == sorted(Layer.objects.filter(is_public=True).values_list("slug", flat=True))
    assert "secret-bunkers" not in seen
    second = client.get(f"{ITEMS}?limit=2&offset=2").json()
    assert [f["id"] for f in second["features"]] == seen[2:]
    assert any(link["rel"] == "prev" for link in second["links"])


def test_record_shape(client, parcels):
    feature = client.get(f"{ITEMS}/parcels").json()
    props = feature["properties"]
    assert feature["type"] == "Feature" and feature["id"] == "parcels"
    assert props["title"] == "Thửa đất / Land parcels" and props["title_vi"] == "Thửa đất"
    assert props["type"] == "dataset" and props["keywords"] == ["đất đai", "cadastre"]
    assert props["themes"][0]["concepts"] == [{"id": "planningCadastre"}]
    assert props["contacts"][0]["organization"] and props["license"] == "CC BY 4.0"
    assert props["time"] == feature["time"] and feature["time"]["interval"][0]
    w, s, e, n = parcels.extent.extent
    assert feature["geometry"]["coordinates"][0][0] == [w, s] and feature["geometry"]["coordinates"][0][2] == [e, n]
    rels = {link["rel"] for link in feature["links"]}
    assert {"self", "collection", "enclosure", "describedby"} <= rels
    assert client.get(f"{ITEMS}/parcels?f=html").status_code == 200


def test_iso_of_one_record_reads_in_owslib(client, parcels):
    response = client.get(f"{ITEMS}/parcels?f=iso")
    assert response.status_code == 200 and response["Content-Type"].startswith("application/xml")
    md = MD_Metadata(etree.fromstring(response.content))
    assert md.identifier == "parcels" and md.identification.title == "Thửa đất"
    assert md.referencesystem.code == "EPSG:4326"  # no source CRS recorded: the storage CRS
    assert md.dataquality.lineage.startswith("Tạo và cập nhật trực tiếp trên cổng")  # no ingest run


def test_update_frequency_and_source_crs_follow_the_layer(client, parcels):
    Layer.objects.filter(pk=parcels.pk).update(update_frequency="monthly", source_crs="EPSG:5899")
    props = client.get(f"{ITEMS}/parcels").json()["properties"]
    assert props["updateFrequency"] == "monthly" and props["crs"] == "EPSG:5899"
    iso = etree.fromstring(client.get(f"{ITEMS}/parcels?f=iso").content)
    ns = {"gmd": "http://www.isotc211.org/2005/gmd", "gco": "http://www.isotc211.org/2005/gco"}
    assert iso.xpath("//gmd:MD_MaintenanceFrequencyCode/@codeListValue", namespaces=ns) == ["monthly"]
    assert iso.xpath("//gmd:RS_Identifier/gmd:code/gco:CharacterString/text()", namespaces=ns) == \
        ["EPSG:5899", "EPSG:4326"]
    assert "VN-2000 / TM-3 107-45" in props["lineage"]


def test_bbox_and_q(client, parcels, points, secret, more):
    near = client.get(f"{ITEMS}?bbox=106.7,10.7,106.9,10.9").json()
    assert "islands" not in [f["id"] for f in near["features"]] and "parcels" in [f["id"] for f in near["features"]]
    island = client.get(f"{ITEMS}?bbox=106.5,8.5,106.7,8.8").json()
    assert [f["id"] for f in island["features"]] == ["islands"] and island["numberMatched"] == 1
    words = client.get(f"{ITEMS}?q=dao con son").json()  # no diacritics, still found
    assert [f["id"] for f in words["features"]] == ["islands"]
    hidden = client.get(f"{ITEMS}?q=bí mật").json()
    assert hidden["numberMatched"] == 0 and hidden["features"] == []
    both = client.get(f"{ITEMS}?q=phuong&bbox=106.5,8.5,106.7,8.8").json()
    assert both["numberMatched"] == 0


def test_restricted_record_is_not_found(client, secret):
    body = _error(client.get(f"{ITEMS}/secret-bunkers"), 404)
    assert body["code"] == "not-found"
    _error(client.get(f"{ITEMS}/secret-bunkers?f=iso"), 404)
    _error(client.get(f"{ITEMS}/..%2F..%2Fetc"), 404)


@pytest.mark.parametrize("query, parameter", [
    ("limit=100000", "limit"), ("limit=0", "limit"), ("limit=abc", "limit"), ("offset=-1", "offset"),
    ("bbox=1,2,3", "bbox"), ("bbox=0,0,1e999,1", "bbox"), ("bbox=10,10,0,0", "bbox"), ("q=" + "x" * 300, "q"),
    ("f=xml", "f"), ("sortby=title", "sortby"), ("q=%00", "q"),
])
def test_bad_input_is_a_400_in_both_languages(client, parcels, query, parameter):
    _error(client.get(f"{ITEMS}?{query}"), 400, parameter)


def test_html_pages(client, parcels, more):
    for url in ("/records/?f=html", "/records/conformance?f=html", "/records/collections?f=html",
                "/records/collections/catalog?f=html", f"{ITEMS}?f=html&limit=1", f"{ITEMS}/parcels?f=html"):
        response = client.get(url)
        assert response.status_code == 200 and response["Content-Type"].startswith("text/html"), url
    page = client.get(f"{ITEMS}/parcels?f=html").content.decode()
    assert "Thửa đất" in page and "CC BY 4.0" in page


def test_linked_from_the_catalog_page_and_dcat(client, parcels):
    page = client.get("/data/").content.decode()
    assert "/csw?service=CSW" in page and "/records/" in page
    services = client.get("/data/catalog.jsonld").json()["dcat:service"]
    endpoints = [s["dcat:endpointURL"]["@id"] for s in services]
    assert endpoints[0].endswith("/ogc/") and any(e.endswith("/csw") for e in endpoints)
    assert any(e.endswith("/records/") for e in endpoints)
