"""Harvesting: DCAT-AP JSON-LD and DCAT-US data.json list public layers with working download URLs."""
import pytest

pytestmark = pytest.mark.django_db


def test_dcat_ap_jsonld(client, admin_client, parcels, secret):
    response = client.get("/data/catalog.jsonld")
    assert response["Content-Type"] == "application/ld+json"
    assert response["Access-Control-Allow-Origin"] == "*"
    doc = response.json()
    assert doc["@type"] == "dcat:Catalog"
    assert [d["dct:identifier"] for d in doc["dcat:dataset"]] == ["parcels"]
    dataset = doc["dcat:dataset"][0]
    assert {"@value": "Thửa đất", "@language": "vi"} in dataset["dct:title"]
    assert "đất đai" in dataset["dcat:keyword"]
    assert "POLYGON((106.73" in dataset["dct:spatial"]["dcat:bbox"]["@value"]
    urls = [d["dcat:downloadURL"]["@id"] for d in dataset["dcat:distribution"]]
    assert len(urls) == 7  # GeoJSON, GeoPackage, Shapefile, CSV, KML, FlatGeobuf, GeoParquet
    for url in urls:
        path = url.replace("http://testserver", "")
        assert client.get(path).status_code == 200, path
    assert doc["dcat:service"][0]["dcat:endpointURL"]["@id"].endswith("/ogc/")
    # restricted layers stay out even when staff ask
    assert "secret" not in admin_client.get("/data/catalog.jsonld").content.decode()


def test_data_json_dcat_us(client, admin_client, parcels, secret):
    doc = client.get("/data.json").json()
    assert doc["conformsTo"] == "https://project-open-data.cio.gov/v1.1/schema"
    assert len(doc["dataset"]) == 1
    dataset = doc["dataset"][0]
    for key in ("title", "description", "keyword", "modified", "publisher", "contactPoint", "identifier", "accessLevel"):
        assert dataset[key], key
    assert dataset["contactPoint"]["hasEmail"].startswith("mailto:")
    assert any(d.get("mediaType") == "application/geo+json" for d in dataset["distribution"])
    assert any(d.get("format") == "API" for d in dataset["distribution"])
    assert "secret" not in admin_client.get("/data.json").content.decode()
