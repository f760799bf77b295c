"""WMS 1.3.0 and WFS 2.0 at /ows (MapServer, run for real on committed data): public layers only, no
personal values, counts and coordinates as PostGIS has them, and every bad input an OGC exception report."""
import json
import os
from pathlib import Path
import re
import xml.etree.ElementTree as ET

import numpy as np
import pytest
import rasterio
from django.db import connection
from rasterio.io import MemoryFile

from layers.vn2000 import proj_string
from tests.factories import make_feature, square

pytestmark = pytest.mark.django_db(transaction=True)

OWNER = "Nguyễn Văn Bí Mật"
CCCD = "079201001234"
OWS = "http://www.opengis.net/ows/1.1"
WMS = "http://www.opengis.net/wms"


@pytest.fixture(autouse=True)
def ows_dir(settings, tmp_path):
    settings.OWS_DIR = tmp_path / "ows"
    if os.environ.get("OWS_DEBUG_DIR"):  # keep the mapfile to run MapServer by hand
        settings.OWS_DIR = Path(os.environ["OWS_DEBUG_DIR"])
    return settings.OWS_DIR


@pytest.fixture
def owned(parcels):
    """A parcel whose owner's name and ID number are personal (schema marks): never through /ows."""
    make_feature(parcels, square(106.733, 10.802), {"ward_code": "26794", "map_sheet": 13, "parcel_no": 8,
                                                    "land_use": "ODT", "legal_area": 99.0,
                                                    "chu_su_dung": OWNER, "so_cccd": CCCD})
    return parcels


def get(client, **params):
    return client.get("/ows", params)


def sql_count(sql: str, params=()) -> int:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()[0]


def geojson(client, **params) -> dict:
    response = get(client, SERVICE="WFS", VERSION="2.0.0", REQUEST="GetFeature", OUTPUTFORMAT="application/json",
                   **params)
    assert response.status_code == 200, response.content[:500]
    return json.loads(response.content)


def exception(response) -> tuple[str, str]:
    """(exception code, text) of an OGC exception report; asserts it is one, in vi and en, with no path."""
    assert response.status_code == 400, response.content[:500]
    body = response.content.decode()
    assert "/work" not in body and "var/" not in body and "mapserv" not in body.lower()
    root = ET.fromstring(response.content)
    if root.tag == "{http://www.opengis.net/ogc}ServiceExceptionReport":
        node = root.find("{http://www.opengis.net/ogc}ServiceException")
        code, text = node.get("code"), node.text
    else:
        node = root.find(f"{{{OWS}}}Exception")
        code = node.get("exceptionCode")
        text = "\n".join(t.text for t in node.findall(f"{{{OWS}}}ExceptionText"))
    assert re.search(r"[ạảãáàâấầẩẫậăắằẳẵặđêếềểễệôốồổỗộơớờởỡợưứừửữựíìỉĩịóòỏõọúùủũụýỳỷỹỵ]", text), text  # Vietnamese
    return code, text


def test_wms_capabilities_list_public_layers_in_vietnamese_and_english(client, parcels, points, secret):
    response = get(client, SERVICE="WMS", REQUEST="GetCapabilities")
    assert response.status_code == 200
    root = ET.fromstring(response.content)
    names = {n.text for n in root.iter(f"{{{WMS}}}Name")}
    titles = {t.text for t in root.iter(f"{{{WMS}}}Title")}
    assert {"parcels", "wells"} <= names and "secret-bunkers" not in names
    assert "Thửa đất" in titles and "Hầm bí mật" not in titles and "Secret bunkers" not in titles
    href = root.find(f".//{{{WMS}}}GetMap//{{{WMS}}}OnlineResource").get("{http://www.w3.org/1999/xlink}href")
    assert href.startswith("http://testserver/ows?")
    english = get(client, SERVICE="WMS", REQUEST="GetCapabilities", LANGUAGE="eng").content.decode()
    assert "<Title>Land parcels</Title>" in english and "Thửa đất" not in english
    assert "<inspire_common:Language>eng</inspire_common:Language>" in english  # languages declared
    assert "WARNING" not in english
    assert {"EPSG:9210", "EPSG:3857", "EPSG:4326", "CRS:84"} <= {c.text for c in root.iter(f"{{{WMS}}}CRS")}


def test_wfs_capabilities_list_public_feature_types(client, parcels, points, secret):
    body = get(client, SERVICE="WFS", REQUEST="GetCapabilities").content.decode()
    assert "<Name>ms:parcels</Name>" in body and "ms:wells" in body
    assert "secret" not in body.lower() and "Hầm" not in body
    assert "urn:ogc:def:crs:EPSG::9210" in body and "<Title>Thửa đất</Title>" in body
    english = get(client, SERVICE="WFS", REQUEST="GetCapabilities", LANGUAGE="eng").content.decode()
    assert "<Title>Land parcels</Title>" in english and "Thửa đất" not in english


def test_getmap_draws_where_features_are_and_nothing_elsewhere(client, parcels):
    def image(bbox: str) -> np.ndarray:
        response = get(client, SERVICE="WMS", VERSION="1.3.0", REQUEST="GetMap", LAYERS="parcels", STYLES="",
                       CRS="EPSG:4326", BBOX=bbox, WIDTH=64, HEIGHT=64, FORMAT="image/png", TRANSPARENT="TRUE")
        assert response.status_code == 200 and response["Content-Type"] == "image/png", response.content[:300]
        with MemoryFile(response.content) as memory, memory.open() as png:
            return png.read()

    drawn = image("10.7995,106.7295,10.8025,106.7335")  # lat/lon: WMS 1.3.0's order for EPSG:4326
    assert drawn[3].max() > 0 and (drawn[3] > 0).mean() > 0.05
    empty = image("10.5,106.3,10.6,106.4")
    assert empty[3].max() == 0


def test_getmap_in_web_mercator_and_vn2000(client, parcels):
    for crs, bbox in (("EPSG:3857", "11881300,1209500,11881900,1210100"),
                      ("EPSG:9210", "606500,1194000,607500,1195000")):
        response = get(client, SERVICE="WMS", VERSION="1.3.0", REQUEST="GetMap", LAYERS="parcels", STYLES="",
                       CRS=crs, BBOX=bbox, WIDTH=128, HEIGHT=128, FORMAT="image/png", TRANSPARENT="TRUE")
        assert response.status_code == 200, response.content[:300]
        with MemoryFile(response.content) as memory, memory.open() as png:
            assert png.read(4).max() > 0, crs


def test_getfeature_counts_equal_postgis_in_full_paged_and_in_a_bbox(client, parcels, points, secret):
    total = sql_count("SELECT count(*) FROM layers_feature WHERE layer_id = %s", [parcels.pk])
    data = geojson(client, TYPENAMES="parcels")
    assert len(data["features"]) == total == data["numberMatched"]
    ids = set()
    for start in range(0, total, 2):
        page = geojson(client, TYPENAMES="ms:parcels", COUNT=2, STARTINDEX=start)
        ids |= {f["properties"]["feature_id"] for f in page["features"]}
    assert ids == {f["properties"]["feature_id"] for f in data["features"]}
    inside = sql_count("SELECT count(*) FROM layers_feature WHERE layer_id = %s AND "
                       "geom && ST_MakeEnvelope(106.72, 10.79, 106.74, 10.81, 4326)", [parcels.pk])
    boxed = geojson(client, TYPENAMES="parcels", BBOX="10.79,106.72,10.81,106.74,urn:ogc:def:crs:EPSG::4326")
    assert len(boxed["features"]) == inside == 3
    lonlat = geojson(client, TYPENAMES="parcels", BBOX="106.72,10.79,106.74,10.81,urn:ogc:def:crs:OGC:1.3:CRS84")
    assert len(lonlat["features"]) == inside
    filtered = geojson(client, TYPENAMES="parcels", FILTER=ENVELOPE.format("10.79 106.72", "10.81 106.74"))
    assert len(filtered["features"]) == inside
    hits = get(client, SERVICE="WFS", VERSION="2.0.0", REQUEST="GetFeature", TYPENAMES="parcels", RESULTTYPE="hits")
    assert f'numberMatched="{total}"' in hits.content.decode()


def test_gml32_has_feature_ids(client, parcels):
    response = get(client, SERVICE="WFS", VERSION="2.0.0", REQUEST="GetFeature", TYPENAMES="parcels")
    assert response.status_code == 200
    body = response.content.decode()
    ids = sorted(int(i) for i in re.findall(r'gml:id="parcels\.([0-9]+)"', body))
    with connection.cursor() as cursor:
        cursor.execute("SELECT id FROM layers_feature WHERE layer_id = %s ORDER BY id", [parcels.pk])
        assert ids == [row[0] for row in cursor.fetchall()]
    assert "Thảo Điền" in body
    one = geojson(client, RESOURCEID=f"parcels.{ids[0]}")
    assert [f["properties"]["feature_id"] for f in one["features"]] == [ids[0]]


@pytest.mark.parametrize("srid", [9210, 5897, 3405, 3857])
def test_vn2000_coordinates_within_a_centimetre_of_postgis(client, parcels, srid):
    data = geojson(client, TYPENAMES="parcels", SRSNAME=f"EPSG:{srid}")
    target = proj_string(srid).replace(" +type=crs", "") if srid != 3857 else None
    with connection.cursor() as cursor:
        for feature in data["features"]:
            if target:
                cursor.execute("SELECT ST_AsGeoJSON(ST_Transform(geom, %s), 6) FROM layers_feature WHERE id = %s",
                               [target, feature["properties"]["feature_id"]])
            else:
                cursor.execute("SELECT ST_AsGeoJSON(ST_Transform(geom, 3857), 6) FROM layers_feature WHERE id = %s",
                               [feature["properties"]["feature_id"]])
            expected = np.array(json.loads(cursor.fetchone()[0])["coordinates"][0])
            got = np.array(feature["geometry"]["coordinates"][0])
            assert got.shape == expected.shape
            assert np.abs(got - expected).max() < 0.01, (srid, np.abs(got - expected).max())


def test_personal_values_never_leave(client, owned):
    data = geojson(client, TYPENAMES="parcels")
    assert data["features"] and all("chu_su_dung" not in f["properties"] for f in data["features"])
    gml = get(client, SERVICE="WFS", VERSION="2.0.0", REQUEST="GetFeature", TYPENAMES="parcels").content.decode()
    schema = get(client, SERVICE="WFS", VERSION="2.0.0", REQUEST="DescribeFeatureType", TYPENAMES="parcels")
    info = get(client, SERVICE="WMS", VERSION="1.3.0", REQUEST="GetFeatureInfo", LAYERS="parcels",
               QUERY_LAYERS="parcels", STYLES="", CRS="CRS:84", BBOX="106.733,10.802,106.7335,10.8025", WIDTH=10,
               HEIGHT=10, I=5, J=5, INFO_FORMAT="application/vnd.ogc.gml", FEATURE_COUNT=5)
    assert info.status_code == 200 and b"ODT" in info.content
    for body in (json.dumps(data, ensure_ascii=False), gml, schema.content.decode(), info.content.decode()):
        assert OWNER not in body and CCCD not in body and "chu_su_dung" not in body and "so_cccd" not in body
    refused = get(client, SERVICE="WFS", VERSION="2.0.0", REQUEST="GetFeature", TYPENAMES="parcels",
                  PROPERTYNAME="chu_su_dung")
    assert exception(refused)[0] == "InvalidParameterValue"


def _ghostly(text: str, name: str) -> str:
    return text.replace(name, "NAME")


def test_restricted_layer_is_answered_as_a_ghost_everywhere(client, parcels, secret):
    feature_id = secret.features.first().pk
    cases = [
        dict(SERVICE="WMS", VERSION="1.3.0", REQUEST="GetMap", LAYERS="{}", STYLES="", CRS="EPSG:4326",
             BBOX="10.8,106.7,10.9,106.8", WIDTH=10, HEIGHT=10, FORMAT="image/png"),
        dict(SERVICE="WMS", VERSION="1.3.0", REQUEST="GetLegendGraphic", LAYER="{}", FORMAT="image/png"),
        dict(SERVICE="WFS", VERSION="2.0.0", REQUEST="GetFeature", TYPENAMES="{}"),
        dict(SERVICE="WFS", VERSION="2.0.0", REQUEST="DescribeFeatureType", TYPENAMES="{}"),
        dict(SERVICE="WFS", VERSION="2.0.0", REQUEST="GetFeature", RESOURCEID="{}." + str(feature_id)),
    ]
    for case in cases:
        restricted = get(client, **{k: str(v).replace("{}", "secret-bunkers") for k, v in case.items()})
        ghost = get(client, **{k: str(v).replace("{}", "no-such-layer") for k, v in case.items()})
        assert exception(restricted) == exception(ghost) or (
            _ghostly(exception(restricted)[1], "secret-bunkers") == _ghostly(exception(ghost)[1], "no-such-layer"))
        assert exception(restricted)[0] in ("LayerNotDefined", "InvalidParameterValue")
    everything = geojson(client, TYPENAMES="parcels", BBOX="-90,-180,90,180,urn:ogc:def:crs:EPSG::4326")
    assert "Hầm A" not in json.dumps(everything, ensure_ascii=False)


def test_the_ows_role_cannot_read_restricted_rows_or_personal_values(owned, secret):
    import psycopg2

    db = connection.settings_dict
    conn = psycopg2.connect(host=db["HOST"], port=db["PORT"], dbname=db["NAME"], user="gisportal_ows")
    try:
        conn.autocommit = True
        with conn.cursor() as cursor:
            for table in ("layers_feature", "layers_layer", "layers_featureversion", "auth_user"):
                with pytest.raises(psycopg2.errors.InsufficientPrivilege):
                    cursor.execute(f"SELECT 1 FROM {table} LIMIT 1")
            cursor.execute("SELECT count(*) FROM ows_features WHERE layer_id = %s", [secret.pk])
            assert cursor.fetchone()[0] == 0
            cursor.execute("SELECT count(*), bool_or(properties ? 'chu_su_dung' OR properties ? 'so_cccd'), "
                           "bool_or(properties::text LIKE %s) FROM ows_features WHERE layer_id = %s",
                           [f"%{CCCD}%", owned.pk])
            count, has_key, has_value = cursor.fetchone()
            assert count == 6 and not has_key and not has_value
            with pytest.raises(psycopg2.errors.InsufficientPrivilege):
                cursor.execute("DELETE FROM layers_feature")
    finally:
        conn.close()


def test_getfeatureinfo_and_legend(client, parcels):
    info = get(client, SERVICE="WMS", VERSION="1.3.0", REQUEST="GetFeatureInfo", LAYERS="parcels",
               QUERY_LAYERS="parcels", STYLES="", CRS="EPSG:4326", BBOX="10.8,106.73,10.8005,106.7305", WIDTH=10,
               HEIGHT=10, I=5, J=5, INFO_FORMAT="application/json")
    assert info.status_code == 200, info.content[:300]
    features = json.loads(info.content)["features"]
    assert [f["properties"]["parcel_no"] for f in features] == [1]
    legend = get(client, SERVICE="WMS", VERSION="1.3.0", REQUEST="GetLegendGraphic", LAYER="parcels", FORMAT="image/png")
    assert legend.status_code == 200 and legend["Content-Type"] == "image/png"
    with MemoryFile(legend.content) as memory, memory.open() as png:
        assert png.width > 20 and png.read().std() > 0


def test_mapfile_follows_the_catalog(client, parcels, secret):
    parcels.title_vi = "Thửa đất (mới)"
    parcels.save()
    assert "Thửa đất (mới)" in get(client, SERVICE="WMS", REQUEST="GetCapabilities").content.decode()
    secret.is_public = True
    secret.save()
    assert "secret-bunkers" in get(client, SERVICE="WFS", REQUEST="GetCapabilities").content.decode()
    secret.is_public = False
    secret.save()
    assert "secret-bunkers" not in get(client, SERVICE="WFS", REQUEST="GetCapabilities").content.decode()
    assert geojson(client, TYPENAMES="parcels")["features"]


MAP = dict(SERVICE="WMS", VERSION="1.3.0", REQUEST="GetMap", LAYERS="parcels", STYLES="", CRS="EPSG:4326",
           BBOX="10.8,106.7,10.9,106.8", WIDTH="100", HEIGHT="100", FORMAT="image/png")
ENVELOPE = ('<Filter xmlns="http://www.opengis.net/fes/2.0" xmlns:gml="http://www.opengis.net/gml/3.2"><BBOX>'
            '<ValueReference>msGeometry</ValueReference><gml:Envelope><gml:lowerCorner>{}</gml:lowerCorner>'
            '<gml:upperCorner>{}</gml:upperCorner></gml:Envelope></BBOX></Filter>')
FEATURE = dict(SERVICE="WFS", VERSION="2.0.0", REQUEST="GetFeature", TYPENAMES="parcels")


@pytest.mark.django_db  # refused before MapServer runs: no need for committed data
@pytest.mark.parametrize("params,code", [
    (dict(MAP, LAYERS="nope"), "LayerNotDefined"),
    (dict(MAP, LAYERS="parcels,,"), "InvalidParameterValue"),
    (dict(MAP, WIDTH="100000"), "InvalidParameterValue"),
    (dict(MAP, WIDTH="4096", HEIGHT="4096", ), None),
    (dict(MAP, WIDTH="-5"), "InvalidParameterValue"),
    (dict(MAP, WIDTH="１００"), "InvalidParameterValue"),
    (dict(MAP, CRS="EPSG:2000"), "InvalidCRS"),
    (dict(MAP, CRS="EPSG:4326'--"), "InvalidCRS"),
    (dict(MAP, BBOX="10.9,106.7,10.8,106.8"), "InvalidParameterValue"),
    (dict(MAP, BBOX="106.7,10.8,106.8,10.9"), "InvalidParameterValue"),  # lon/lat where 1.3.0 wants lat/lon
    (dict(MAP, BBOX="nan,106.7,10.8,106.8"), "InvalidParameterValue"),
    (dict(MAP, BBOX="1e30,106.7,10.8,106.8"), "InvalidParameterValue"),
    (dict(MAP, BBOX="10.8,106.7,10.9"), "InvalidParameterValue"),
    (dict(MAP, BBOX="10.8,106.7,10.8,106.7"), "InvalidParameterValue"),
    (dict(MAP, FORMAT="image/gif"), "InvalidFormat"),
    (dict(MAP, STYLES="fancy"), "StyleNotDefined"),
    (dict(MAP, SLD="http://evil.example/x.sld"), "OperationNotSupported"),
    (dict(MAP, VERSION="1.1.1"), "InvalidParameterValue"),
    (dict(MAP, TRANSPARENT="maybe"), "InvalidParameterValue"),
    (dict(MAP, REQUEST="GetStyles"), "OperationNotSupported"),
    ({k: v for k, v in MAP.items() if k != "BBOX"}, "MissingParameterValue"),
    ({k: v for k, v in MAP.items() if k != "LAYERS"}, "MissingParameterValue"),
    (dict(MAP, LAYERS=""), "MissingParameterValue"),
    (dict(MAP, REQUEST="GetFeatureInfo", I="1", J="1"), "MissingParameterValue"),  # no QUERY_LAYERS
    (dict(SERVICE="WMS", VERSION="1.3.0", REQUEST="GetLegendGraphic"), "MissingParameterValue"),
    (dict(MAP, REQUEST="GetFeatureInfo", QUERY_LAYERS="parcels", I="100", J="1"), "InvalidParameterValue"),
    (dict(MAP, REQUEST="GetFeatureInfo", QUERY_LAYERS="parcels", I="1", J="1", FEATURE_COUNT="1000"),
     "InvalidParameterValue"),
    (dict(MAP, BBOX="10.8,106.7,10.9,106.8,EPSG:4326"), "InvalidParameterValue"),
    (dict(FEATURE, COUNT="99999999999999999999"), "InvalidParameterValue"),
    (dict(FEATURE, RESOURCEID="parcels.99999999999999999999"), "InvalidParameterValue"),
    (dict(FEATURE, OUTPUTFORMAT="text/xml; subtype=gml/3.1.1"), "InvalidParameterValue"),
    (dict(SERVICE="WPS", REQUEST="Execute"), "InvalidParameterValue"),
    (dict(REQUEST="GetCapabilities"), "MissingParameterValue"),
    (dict(FEATURE, TYPENAMES="nope"), "InvalidParameterValue"),
    (dict(FEATURE, COUNT="-1"), "InvalidParameterValue"),
    (dict(FEATURE, STARTINDEX="x"), "InvalidParameterValue"),
    (dict(FEATURE, SRSNAME="EPSG:99999"), "InvalidParameterValue"),
    (dict(FEATURE, BBOX="1,2,3"), "InvalidParameterValue"),
    (dict(FEATURE, BBOX="10.8,106.7,10.9,106.8,EPSG:1234"), "InvalidParameterValue"),
    (dict(FEATURE, FILTER="<Filter><PropertyIsEqualTo/></Filter>"), "OperationNotSupported"),
    (dict(FEATURE, CQL_FILTER="1=1"), "OperationNotSupported"),
    (dict(FEATURE, FILTER='<!DOCTYPE x [<!ENTITY a "b">]><Filter/>'), "InvalidParameterValue"),
    (dict(FEATURE, FILTER="<Filter><BBOX>"), "InvalidParameterValue"),
    (dict(FEATURE, FILTER=ENVELOPE.format("10.8 106.7", "10.9")), "InvalidParameterValue"),
    (dict(FEATURE, FILTER=ENVELOPE.format("10.9 106.8", "10.8 106.7")), "InvalidParameterValue"),
    (dict(FEATURE, FILTER=ENVELOPE.format("nan 106.7", "10.9 106.8")), "InvalidParameterValue"),
    (dict(FEATURE, FILTER=ENVELOPE.format("10.8 106.7", "10.9 106.8"), BBOX="10,106,11,107"), "InvalidParameterValue"),
    (dict(FEATURE, RESOURCEID="parcels.1;DROP"), "InvalidParameterValue"),
    (dict(FEATURE, PROPERTYNAME="land_use,(select 1)"), "InvalidParameterValue"),
    (dict(FEATURE, SORTBY="land_use SIDEWAYS"), "InvalidParameterValue"),
    (dict(FEATURE, OUTPUTFORMAT="shape-zip"), "InvalidParameterValue"),
    (dict(FEATURE, STOREDQUERY_ID="urn:evil"), "InvalidParameterValue"),
    (dict(FEATURE, VERSION="1.1.0"), "InvalidParameterValue"),
    (dict(FEATURE, SRSNAME="urn:ogc:def:crs:OGC:1.3:CRS84"), "InvalidParameterValue"),
    (dict(FEATURE, TYPENAMES="parcels,wells", OUTPUTFORMAT="application/json"), "InvalidParameterValue"),
    (dict(MAP, CRS="EPSG:9210", BBOX="-1000000,-1000000,2000000,3000000"), "InvalidParameterValue"),
    (dict(FEATURE, MAP="/etc/passwd"), "InvalidParameterValue"),
    (dict(FEATURE, TYPENAMES="parcels\x01"), "InvalidParameterValue"),
    (dict(FEATURE, TYPENAMES="p" * 5000), "InvalidParameterValue"),
])
def test_bad_input_gets_an_ogc_exception_report(client, parcels, settings, params, code):
    settings.OWS_MAX_PIXELS = 2048 * 2048
    response = get(client, **params)
    assert exception(response)[0] == (code or "InvalidParameterValue")


def test_one_value_per_parameter_and_case_insensitive_keys(client, parcels):
    ok = client.get("/ows?service=wfs&request=getfeature&version=2.0.0&typeNames=parcels&count=1"
                    "&outputFormat=application/json")
    assert ok.status_code == 200 and len(json.loads(ok.content)["features"]) == 1
    twice = client.get("/ows?SERVICE=WFS&REQUEST=GetFeature&VERSION=2.0.0&TYPENAMES=parcels&typenames=wells")
    assert exception(twice)[0] == "InvalidParameterValue"


def test_page_size_is_the_servers_own_limit(client, parcels, settings):
    settings.OWS_MAX_FEATURES = 2
    data = geojson(client, TYPENAMES="parcels", COUNT=1000)
    assert len(data["features"]) == 2
    assert "<ows:DefaultValue>2</ows:DefaultValue>" in get(client, SERVICE="WFS", REQUEST="GetCapabilities").content.decode()


def test_cors_and_only_reads(client, parcels):
    response = get(client, SERVICE="WFS", REQUEST="GetCapabilities")
    assert response["Access-Control-Allow-Origin"] == "*"
    assert client.post("/ows", {"SERVICE": "WFS"}).status_code == 405



@pytest.mark.parametrize("program", ["/bin/false", "/nonexistent/mapserv", "slow"])
def test_a_failing_or_slow_mapserver_is_a_503_that_names_nothing(client, parcels, settings, tmp_path, program):
    if program == "slow":
        program = tmp_path / "slow-mapserv"
        program.write_text("#!/bin/sh\nsleep 30\n")
        program.chmod(0o755)
        settings.OWS_TIMEOUT = 1
    settings.OWS_MAPSERV = str(program)
    response = get(client, **FEATURE)
    assert response.status_code == 503 and response["Retry-After"]
    body = response.content.decode()
    node = ET.fromstring(response.content).find(f"{{{OWS}}}Exception")
    assert node.get("exceptionCode") == "NoApplicableCode"
    assert all("/" not in t.text and "mapserv" not in t.text for t in node.findall(f"{{{OWS}}}ExceptionText"))
    assert str(tmp_path) not in body


def test_busy_mapserver_slots_answer_503(client, parcels, settings):
    import psycopg2

    from opendata.ows.runner import SLOT_SPACE

    settings.OWS_SLOTS, settings.OWS_WAIT = 1, 0
    db = connection.settings_dict
    holder = psycopg2.connect(host=db["HOST"], port=db["PORT"], dbname=db["NAME"], user=db["USER"])
    try:
        with holder.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_lock(%s, 0)", [SLOT_SPACE])
        response = get(client, **FEATURE)
        assert response.status_code == 503 and "bận" in response.content.decode()
    finally:
        holder.close()
    assert get(client, **FEATURE).status_code == 200


def test_mapserver_exceptions_become_ours_without_its_text():
    from opendata.ows.runner import _mapserver_exception

    body = (b'<?xml version="1.0"?><ows:ExceptionReport xmlns:ows="http://www.opengis.net/ows/1.1"><ows:Exception '
            b'exceptionCode="InvalidParameterValue"><ows:ExceptionText>msPostGISLayerOpen(): host=/work/var/pgsock '
            b'password=x</ows:ExceptionText></ows:Exception></ows:ExceptionReport>')
    error = _mapserver_exception({"content-type": "text/xml"}, body)
    assert error.ogc_code == "InvalidParameterValue" and error.status == 400
    assert "/work" not in error.message_en + error.message_vi
    failure = _mapserver_exception({"content-type": "text/xml"}, body.replace(b"InvalidParameterValue", b"NoApplicableCode"))
    assert failure.status == 503
    assert _mapserver_exception({"content-type": "image/png"}, b"\x89PNG ExceptionReport") is None


def test_root_layer_draws_every_public_layer_and_slash_spelling(client, parcels, points, secret):
    response = client.get("/ows/", dict(MAP, LAYERS="gisportal", BBOX="10.7995,106.7295,10.8025,106.7335",
                                        TRANSPARENT="TRUE", WIDTH="32", HEIGHT="32"))
    assert response.status_code == 200 and response["Content-Type"] == "image/png"
    with MemoryFile(response.content) as memory, memory.open() as png:
        assert png.read(4).max() > 0


@pytest.mark.parametrize("params,content_type", [
    (dict(FEATURE, TYPENAMES="parcels,wells"), "text/xml; subtype=\"gml/3.2.1\""),
    (dict(FEATURE, SORTBY="legal_area DESC", PROPERTYNAME="land_use,legal_area", OUTPUTFORMAT="application/json",
          COUNT="2"), "application/json"),
    (dict(FEATURE, TYPENAMES="wells", SRSNAME="EPSG:9210", OUTPUTFORMAT="application/json"), "application/json"),
    (dict(FEATURE, BBOX="606000,1193000,608000,1196000,urn:ogc:def:crs:EPSG::9210"), "text/xml"),
    (dict(SERVICE="WFS", VERSION="2.0.0", REQUEST="ListStoredQueries"), "text/xml"),
    (dict(SERVICE="WFS", VERSION="2.0.0", REQUEST="DescribeStoredQueries"), "text/xml"),
    (dict(SERVICE="WFS", VERSION="2.0.0", REQUEST="DescribeFeatureType"), "application/gml+xml"),
    (dict(SERVICE="WMS", VERSION="1.3.0", REQUEST="GetLegendGraphic", LAYER="wells", FORMAT="image/png", WIDTH="30",
          HEIGHT="30"), "image/png"),
    (dict(MAP, LAYERS="parcels,wells", STYLES="default,", CRS="EPSG:4756", BBOX="10.7,106.6,10.9,106.9",
          FORMAT="image/jpeg"), "image/jpeg"),
    (dict(MAP, CRS="EPSG:3405", BBOX="600000,1190000,610000,1200000", BGCOLOR="0xFF0000"), "image/png"),
    (dict(MAP, CRS="EPSG:3857", BBOX="-20037508,-20037508,20037508,20037508"), "image/png"),
    (dict(MAP, REQUEST="GetFeatureInfo", QUERY_LAYERS="parcels", BBOX="10.8,106.73,10.8005,106.7305", WIDTH="10",
          HEIGHT="10", I="9", J="0", INFO_FORMAT="text/plain"), "text/plain"),
])
def test_every_operation_answers(client, parcels, points, params, content_type):
    response = get(client, **params)
    assert response.status_code == 200, response.content[:300]
    assert response["Content-Type"].startswith(content_type)
    if content_type == "application/json":
        assert json.loads(response.content)["features"]


def test_get_feature_by_id(client, parcels):
    feature_id = parcels.features.order_by("pk").first().pk
    response = get(client, SERVICE="WFS", VERSION="2.0.0", REQUEST="GetFeature", ID=f"parcels.{feature_id}",
                   STOREDQUERY_ID="urn:ogc:def:query:OGC-WFS::GetFeatureById")
    assert response.status_code == 200 and f'gml:id="parcels.{feature_id}"'.encode() in response.content
