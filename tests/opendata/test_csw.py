"""/csw: OWSLib's CSW client harvests the demo city's catalog from a live server; ISO 19139 records carry the
QCVN 42:2020/BTNMT fields in Vietnamese and English; restricted layers are nowhere; hostile requests get a 400
ExceptionReport in both languages."""
from pathlib import Path

import pycsw
import pytest
from lxml import etree
from owslib import fes
from owslib.csw import CatalogueServiceWeb
from owslib.iso import MD_Metadata

from layers.models import Layer
from tests.factories import make_feature, make_layer, square

GMD = "http://www.isotc211.org/2005/gmd"
NS = {"gmd": GMD, "gco": "http://www.isotc211.org/2005/gco", "ows": "http://www.opengis.net/ows"}
GMD_XSD = (Path(pycsw.__file__).parent / "plugins/profiles/apiso/schemas/ogc/iso/19139/20060504/gmd/gmd.xsd")


@pytest.fixture
def hidden(db):
    """A restricted layer whose words and place overlap the public ones: it must still be found nowhere."""
    layer = make_layer(slug="secret-parcels", title_vi="Thửa đất mật", title_en="Secret land parcels",
                       description_vi="Thửa đất quốc phòng", keywords=["thửa đất", "parcels"], is_public=False)
    make_feature(layer, square(106.73, 10.80), {"name": "A"})
    return layer


def _harvest(csw: CatalogueServiceWeb, **kwargs) -> tuple[list[str], int]:
    """Every record, page by page (3 a page), as a harvester walks a catalogue."""
    seen, start = [], 1
    while True:
        csw.getrecords2(maxrecords=3, startposition=start, esn="full", **kwargs)
        seen += list(csw.records)
        matched = csw.results["matches"]
        if not csw.results["nextrecord"] or len(seen) >= matched:
            return seen, matched
        start = csw.results["nextrecord"]


def _public_slugs() -> set[str]:
    return set(Layer.objects.filter(is_public=True).values_list("slug", flat=True))


@pytest.mark.django_db(transaction=True)
class TestOwslibHarvest:
    def test_every_public_layer_and_no_restricted_one(self, live_server, demo_city, hidden):
        csw = CatalogueServiceWeb(f"{live_server.url}/csw", version="2.0.2", timeout=60)
        assert "GetRecords" in [op.name for op in csw.operations]
        assert "Transaction" not in [op.name for op in csw.operations]
        seen, matched = _harvest(csw)
        assert sorted(seen) == sorted(_public_slugs()) and matched == len(_public_slugs())
        assert set(demo_city) <= set(seen) and "secret-parcels" not in seen
        iso, iso_matched = _harvest(csw, outputschema=GMD)
        assert sorted(iso) == sorted(seen) and iso_matched == matched
        assert all(isinstance(r, MD_Metadata) for r in csw.records.values())
        csw3 = CatalogueServiceWeb(f"{live_server.url}/csw", version="3.0.0", timeout=60)
        assert csw3.identification.title.startswith("Danh mục")

    def test_records_api_lists_what_csw_lists(self, live_server, client, demo_city, hidden):
        csw = CatalogueServiceWeb(f"{live_server.url}/csw", version="2.0.2", timeout=60)
        seen, _ = _harvest(csw)
        page = client.get("/records/collections/catalog/items?limit=100").json()
        assert sorted(f["id"] for f in page["features"]) == sorted(seen) and page["numberMatched"] == len(seen)
        parcels = next(f for f in page["features"] if f["id"] == "parcels")["properties"]
        assert parcels["lineage"].startswith("Nạp từ 1 tệp nguồn") and parcels["crs"] == "EPSG:9210"
        words = client.get("/records/collections/catalog/items?q=thua dat").json()
        assert [f["id"] for f in words["features"]] == ["parcels"]

    def test_restricted_record_by_id_is_not_found(self, live_server, demo_city, hidden):
        csw = CatalogueServiceWeb(f"{live_server.url}/csw", version="2.0.2", timeout=60)
        csw.getrecordbyid(id=["secret-parcels"])
        assert csw.records == {}
        csw.getrecordbyid(id=["parcels", "secret-parcels"], outputschema=GMD)
        assert list(csw.records) == ["parcels"]

    def test_iso19139_carries_the_qcvn_fields_in_both_languages(self, live_server, demo_city):
        parcels = Layer.objects.get(slug="parcels")
        csw = CatalogueServiceWeb(f"{live_server.url}/csw", version="2.0.2", timeout=60)
        csw.getrecordbyid(id=["parcels"], outputschema=GMD)
        md = csw.records["parcels"]
        assert md.identifier == "parcels" and md.languagecode == "vie" and md.charset == "utf8"
        ident = md.identification
        assert ident.title == parcels.title_vi and ident.abstract == parcels.description_vi
        assert set(parcels.keywords) <= {k for group in ident.keywords for k in group["keywords"]}
        assert [float(v) for v in (ident.bbox.minx, ident.bbox.miny, ident.bbox.maxx, ident.bbox.maxy)] == \
            pytest.approx(list(parcels.extent.extent), abs=1e-9)
        assert md.referencesystem.code == "EPSG:9210"
        assert {d.type for d in ident.date} == {"creation", "revision"}
        revision = next(d.date for d in ident.date if d.type == "revision")
        assert revision.startswith(parcels.last_changed.isoformat()[:19])
        assert ident.uselimitation and parcels.license in ident.uselimitation[0]
        assert "planningCadastre" in ident.topiccategory
        assert md.contact[0].organization and md.contact[0].email
        assert "VN-2000" in md.dataquality.lineage and "05/2007" in md.dataquality.lineage
        assert {"WWW:DOWNLOAD-1.0-http--download", "OGC:WMS", "OGC:WFS", "OGC:API-Features"} <= \
            {o.protocol for o in md.distribution.online}
        xml = md.xml if isinstance(md.xml, bytes) else md.xml.encode()
        tree = etree.fromstring(xml)
        english = tree.xpath("//gmd:LocalisedCharacterString[@locale='#locale-eng']/text()", namespaces=NS)
        assert parcels.title_en in english and parcels.description_en in english
        # lineage in English, derived from the layer's ingest run and its source CRS
        assert any(text.startswith("Loaded from 1 source file") and "VN-2000 / TM-3 105-45 (EPSG:9210)" in text
                   and "Decision 05/2007" in text for text in english)
        assert tree.xpath("//gmd:PT_Locale/gmd:languageCode/gmd:LanguageCode/@codeListValue", namespaces=NS) == ["eng"]
        assert tree.xpath("//gmd:MD_MaintenanceFrequencyCode/@codeListValue", namespaces=NS) == ["asNeeded"]
        assert "chu_su_dung" not in xml.decode() and "admin" not in xml.decode()  # no personal data, no editors
        schema = etree.XMLSchema(etree.parse(str(GMD_XSD)))
        assert schema.validate(tree), schema.error_log.last_error

    def test_getrecords_with_bbox_and_full_text(self, live_server, demo_city, hidden):
        csw = CatalogueServiceWeb(f"{live_server.url}/csw", version="2.0.2", timeout=60)
        w, s, e, n = Layer.objects.get(slug="parcels").extent.extent
        inside = fes.BBox([s, w, n, e])  # lat/lon, as EPSG:4326 in CSW 2.0.2 says
        words = fes.PropertyIsLike("csw:AnyText", "%thua dat%")  # no diacritics: still the parcels
        csw.getrecords2(constraints=[fes.And([inside, words])], esn="brief", maxrecords=50)
        assert list(csw.records) == ["parcels"] and csw.results["matches"] == 1
        far = fes.BBox([20.0, 100.0, 21.0, 101.0])
        csw.getrecords2(constraints=[far], esn="brief")
        assert csw.results["matches"] == 0
        csw.getrecords2(cql="csw:AnyText like '%Lộ giới%'", esn="brief")
        assert "road-reserves" in csw.records and "parcels" not in csw.records




def _report(response, status: int = 400) -> etree._Element:
    assert response.status_code == status, response.content[:500]
    root = etree.fromstring(response.content)
    assert etree.QName(root).localname == "ExceptionReport"
    texts = {t.get("{http://www.w3.org/XML/1998/namespace}lang"): t.text for t in root.iter("{*}ExceptionText")}
    assert texts.get("vi") and texts.get("en"), texts
    return root


KVP = "/csw?service=CSW&version=2.0.2&request=GetRecords&typenames=csw:Record&elementsetname=brief&resulttype=results"


@pytest.mark.django_db
class TestRefusals:
    def test_counts_and_domains_leave_out_restricted_layers(self, client, parcels, secret):
        hits = client.get("/csw?service=CSW&version=2.0.2&request=GetRecords&typenames=csw:Record"
                          "&elementsetname=brief&resulttype=hits")
        assert b'numberOfRecordsMatched="1"' in hits.content
        domain = client.get("/csw?service=CSW&version=2.0.2&request=GetDomain&propertyname=dc:title")
        assert "Thửa đất".encode() in domain.content and "Hầm".encode() not in domain.content
        words = client.get(KVP + "&constraintlanguage=CQL_TEXT&constraint=csw:AnyText%20like%20%27%25b%C3%AD%20m%E1%BA%ADt%25%27")
        assert b'numberOfRecordsMatched="0"' in words.content

    @pytest.mark.parametrize("body", [
        b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        b'<csw:GetRecords xmlns:csw="http://www.opengis.net/cat/csw/2.0.2" service="CSW" version="2.0.2">&x;</csw:GetRecords>',
        b'<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">'
        b'<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]><csw:GetCapabilities '
        b'xmlns:csw="http://www.opengis.net/cat/csw/2.0.2" service="CSW">&c;</csw:GetCapabilities>',
        b'<csw:GetRecords xmlns:csw="http://www.opengis.net/cat/csw/2.0.2" service="CSW"',
        b"\xff\xfe not xml",
        b'<csw:GetRecords xmlns:csw="http://www.opengis.net/cat/csw/2.0.2" service="CSW" version="2.0.2" '
        b'maxRecords="100000000"><csw:Query typeNames="csw:Record"><csw:ElementSetName>brief</csw:ElementSetName>'
        b'</csw:Query></csw:GetRecords>',
        b'<csw:GetRecords xmlns:csw="http://www.opengis.net/cat/csw/2.0.2" service="CSW" version="2.0.2" '
        b'outputSchema="http://example.com/evil"><csw:Query typeNames="csw:Record"/></csw:GetRecords>',
        b'<csw:Transaction xmlns:csw="http://www.opengis.net/cat/csw/2.0.2" service="CSW" version="2.0.2">'
        b'<csw:Delete><csw:Constraint version="1.1.0"><csw:CqlText>1=1</csw:CqlText></csw:Constraint></csw:Delete>'
        b'</csw:Transaction>',
        b'<csw:Harvest xmlns:csw="http://www.opengis.net/cat/csw/2.0.2" service="CSW" version="2.0.2">'
        b'<csw:Source>http://169.254.169.254/</csw:Source><csw:ResourceType>http://www.isotc211.org/2005/gmd'
        b'</csw:ResourceType></csw:Harvest>',
    ], ids=["xxe", "entity-expansion", "truncated", "not-xml", "huge-maxrecords", "unknown-schema", "transaction",
            "harvest"])
    def test_hostile_posts(self, client, parcels, secret, body):
        before = list(Layer.objects.order_by("pk").values_list("pk", "title_vi", "is_public"))
        root = _report(client.post("/csw", body, content_type="application/xml"))
        assert b"root:" not in etree.tostring(root)
        assert list(Layer.objects.order_by("pk").values_list("pk", "title_vi", "is_public")) == before

    @pytest.mark.parametrize("query", [
        "&maxrecords=1000000", "&maxrecords=-1", "&maxrecords=abc", "&startposition=0", "&startposition=1e9",
        "&outputschema=http://example.com/x", "&outputformat=text/html", "&elementsetname=everything",
        "&constraintlanguage=CQL_TEXT&constraint=title%20%3D%3D%3D%20(", "&constraintlanguage=CQL_TEXT&constraint=nope%20like%20%27x%27",
        "&constraintlanguage=FILTER&constraint=%3Cogc:Filter%3E", "&sortby=dc:nothing:A", "&responsehandler=mailto:x@example.com",
        "&bbox=1,2,3", "&bbox=0,0,1e400,1", "&mode=sru", "&typenames=csw:Record",
    ])
    def test_hostile_kvp(self, client, parcels, query):
        _report(client.get(KVP + query))

    def test_filter_with_bad_distance_and_geometry(self, client, parcels):
        body = ('<csw:GetRecords xmlns:csw="http://www.opengis.net/cat/csw/2.0.2" xmlns:ogc="http://www.opengis.net/ogc" '
                'xmlns:gml="http://www.opengis.net/gml" service="CSW" version="2.0.2" resultType="results">'
                '<csw:Query typeNames="csw:Record"><csw:ElementSetName>brief</csw:ElementSetName>'
                '<csw:Constraint version="1.1.0"><ogc:Filter><ogc:DWithin><ogc:PropertyName>ows:BoundingBox</ogc:PropertyName>'
                '<gml:Point><gml:pos>10.8 106.7</gml:pos></gml:Point><ogc:Distance units="m">{}</ogc:Distance>'
                '</ogc:DWithin></ogc:Filter></csw:Constraint></csw:Query></csw:GetRecords>')
        for distance in ("nan", "1); DROP TABLE layers_layer; --", "inf"):
            response = client.post("/csw", body.format(distance).encode(), content_type="application/xml")
            _report(response)
        assert Layer.objects.filter(slug="parcels").exists()

    def test_rate_limited_as_the_other_public_apis(self, client, parcels, opendata_settings):
        opendata_settings.OPENDATA_RATE_ANON = 2
        statuses = [client.get("/csw?service=CSW&request=GetCapabilities").status_code for _ in range(3)]
        assert statuses[:2] == [200, 200]
        _report(client.get("/csw?service=CSW&request=GetCapabilities"), 429)

    def test_large_pages_cost_more(self, client, parcels, opendata_settings):
        opendata_settings.OPENDATA_RATE_ANON = 5
        assert client.get(KVP + "&maxrecords=10").status_code == 200
        _report(client.get(KVP + "&maxrecords=500"), 429)  # 1 unit, then 1 + 4 more: 6 of 5

    def test_wrong_method_and_no_500(self, client, parcels):
        response = client.put("/csw", b"<x/>", content_type="application/xml")
        _report(response, 405)
        _report(client.post("/csw", {"service": "CSW", "request": "GetCapabilities"}))  # a form: XML only
        _report(client.post("/csw", b"", content_type="application/xml"))
        _report(client.get(KVP + "&constraintlanguage=FILTER&constraint=" + "%3Ca%3E" * 300 + "%3C/a%3E" * 300))
        ok = client.get("/csw?service=CSW&version=2.0.2&request=DescribeRecord")
        assert ok.status_code == 200 and b"DescribeRecordResponse" in ok.content
        slash = client.get("/csw/?service=CSW&version=2.0.2&request=GetCapabilities")
        assert slash.status_code == 200 and b"csw:Capabilities" in slash.content
        _report(client.get("/csw/?service=CSW&version=2.0.2&request=GetCapabilities&sections=a&sections=b"))


INJECTIONS = [
    # pycsw 2.6 writes gml coordinates into its SQL as text (after its own schema check): refused before either
    "<gml:Point><gml:pos>10.8 106.7)',4326))OR(true)OR(st_intersects(wkb_geometry,st_geomfromtext('POINT(1'||chr(32)||'1"
    "</gml:pos></gml:Point>",
    "<gml:Point><gml:pos>1 2)',4326)))OR(1=1)OR((st_intersects(wkb_geometry,st_geomfromtext('POINT(1</gml:pos></gml:Point>",
    "<gml:Polygon><gml:exterior><gml:LinearRing><gml:posList>1 2 3 4 5 6 1 2');SELECT(pg_sleep(0));--</gml:posList>"
    "</gml:LinearRing></gml:exterior></gml:Polygon>",
    "<gml:Envelope><gml:lowerCorner>10 106</gml:lowerCorner><gml:upperCorner>11 nan</gml:upperCorner></gml:Envelope>",
    "<gml:Point><gml:pos>１０ 106</gml:pos></gml:Point>",
]


@pytest.mark.django_db
@pytest.mark.parametrize("geometry", INJECTIONS)
def test_sql_in_filter_geometries_is_refused(client, parcels, secret, geometry):
    constraint = (f'<ogc:Filter xmlns:ogc="http://www.opengis.net/ogc" xmlns:gml="http://www.opengis.net/gml">'
                  f'<ogc:Intersects><ogc:PropertyName>ows:BoundingBox</ogc:PropertyName>{geometry}'
                  f'</ogc:Intersects></ogc:Filter>')
    body = ('<csw:GetRecords xmlns:csw="http://www.opengis.net/cat/csw/2.0.2" service="CSW" version="2.0.2" '
            'resultType="results"><csw:Query typeNames="csw:Record"><csw:ElementSetName>brief</csw:ElementSetName>'
            f'<csw:Constraint version="1.1.0">{constraint}</csw:Constraint></csw:Query></csw:GetRecords>')
    root = _report(client.post("/csw", body.encode(), content_type="application/xml"))
    assert b"secret-bunkers" not in etree.tostring(root)
    from urllib.parse import quote

    _report(client.get(KVP + "&constraintlanguage=FILTER&constraint_language_version=1.1.0&constraint=" + quote(constraint)))


def test_where_text_stays_inside_its_parentheses():
    from opendata.csw_repository import check_where

    check_where("title ilike %s and (st_intersects(wkb_geometry, st_geomfromtext('POINT(1 2)',4326)) = 'true')")
    for where in ("1=1) OR (1=1", "x = 1; DROP TABLE layers_layer", "a = 1 -- ", "a = '1", "(a = 1", "a /* */ = 1"):
        with pytest.raises(ValueError):
            check_where(where)


@pytest.mark.django_db
def test_bbox_keeps_full_precision(client, parcels):
    """pycsw 2.6 wrote envelopes rounded to 0.01° (about 1 km): a box just east of the layer matched it."""
    east = parcels.extent.extent[2]
    body = ('<csw:GetRecords xmlns:csw="http://www.opengis.net/cat/csw/2.0.2" xmlns:ogc="http://www.opengis.net/ogc" '
            'xmlns:gml="http://www.opengis.net/gml" service="CSW" version="2.0.2" resultType="hits">'
            '<csw:Query typeNames="csw:Record"><csw:ElementSetName>brief</csw:ElementSetName>'
            '<csw:Constraint version="1.1.0"><ogc:Filter><ogc:BBOX><ogc:PropertyName>ows:BoundingBox</ogc:PropertyName>'
            '<gml:Envelope srsName="urn:ogc:def:crs:EPSG::4326"><gml:lowerCorner>10.80 {}</gml:lowerCorner>'
            '<gml:upperCorner>10.81 {}</gml:upperCorner></gml:Envelope></ogc:BBOX></ogc:Filter></csw:Constraint>'
            '</csw:Query></csw:GetRecords>')
    beside = client.post("/csw", body.format(east + 0.0004, east + 0.0024).encode(), content_type="application/xml")
    assert b'numberOfRecordsMatched="0"' in beside.content, beside.content[-400:]
    over = client.post("/csw", body.format(east - 0.0004, east + 0.0024).encode(), content_type="application/xml")
    assert b'numberOfRecordsMatched="1"' in over.content, over.content[-400:]


@pytest.mark.django_db
def test_publisher_text_is_not_a_template(client, parcels, settings, monkeypatch):
    monkeypatch.setenv("GISPORTAL_CSW_PROBE", "leaked")
    settings.OPENDATA_PUBLISHER = "Sở 100% $GISPORTAL_CSW_PROBE"
    response = client.get("/csw?service=CSW&version=2.0.2&request=GetCapabilities")
    assert response.status_code == 200
    assert "Sở 100% $GISPORTAL_CSW_PROBE".encode() in response.content and b"leaked" not in response.content
