"""/ows against odd catalog data: property keys that clash or are no XML name, untyped layers, precision,
CRS of GeoJSON, BBOX spelling, the reader role's limits and errors at the /ows paths (issue 12)."""
import re
import xml.etree.ElementTree as ET

import pytest
from django.db import connection

from layers.models import Layer
from layers.vn2000 import proj_string

from tests.factories import make_feature, make_layer, square
from tests.opendata.test_ows import exception, geojson, get

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def ows_dir(settings, tmp_path):
    settings.OWS_DIR = tmp_path / "ows"
    return settings.OWS_DIR

ODD_KEYS = [{"Ten": "UPPER", "ten": "lower", "dien_tich": 12.5},
            {"feature_id": "888", "Feature_ID": "x", "FEATURE_ID": 5, "so": 7},
            {"ườ" * 21 + "a": "A", "ườ" * 21 + "b": "B", "a" * 70: "long"},
            {"Ten duong x": "spaced", "so-to": "hyphen", "2tang": "digit", "gml_id": "g", "msGeometry": "m",
             "geom": "gg", "fid": "f", "it's $k$ \\": "quoted"}]


def _gml_values(content: bytes) -> set[str]:
    return set(re.findall(r"<ms:\w+>([^<]*)</ms:\w+>", content.decode()))


@pytest.mark.parametrize("props", ODD_KEYS)
def test_every_key_is_served_once_under_its_own_unique_column(client, props):
    layer = make_layer(slug="odd")
    make_feature(layer, square(106.7, 10.8), props)
    feature = geojson(client, TYPENAMES="odd")["features"][0]
    properties = {k: v for k, v in feature["properties"].items() if k != "feature_id"}
    columns = [k.casefold() for k in properties]
    assert len(columns) == len(set(columns)), properties
    assert all(len(k.encode()) <= 63 and re.fullmatch(r"[^\W\d]\w*", k) for k in properties), properties
    assert sorted(map(str, properties.values())) == sorted(map(str, props.values()))  # nothing shifted, no 0
    capabilities = get(client, SERVICE="WFS", REQUEST="GetCapabilities").content.decode()
    for key, column in ((k, c) for c in properties for k in props if k != c and props[k] == properties[c]):
        assert f"{key} → {column}".replace('"', "”").replace("\\", "/") in capabilities  # aliases documented
    gml = get(client, SERVICE="WFS", VERSION="2.0.0", REQUEST="GetFeature", TYPENAMES="odd")
    assert gml.status_code == 200
    assert {str(v) for v in props.values()} <= _gml_values(gml.content)
    drawn = get(client, SERVICE="WMS", VERSION="1.3.0", REQUEST="GetMap", LAYERS="odd,gisportal", CRS="CRS:84",
                BBOX="106,10,107,11", WIDTH="10", HEIGHT="10", FORMAT="image/png")
    assert drawn.status_code == 200 and drawn["Content-Type"] == "image/png"


def test_aliased_columns_work_in_propertyname_and_sortby(client):
    layer = make_layer(slug="odd")
    make_feature(layer, square(106.7, 10.8), {"so-to": 2, "Ten": "b", "ten": "a"})
    make_feature(layer, square(106.71, 10.8), {"so-to": 1, "Ten": "a", "ten": "b"})
    described = get(client, SERVICE="WFS", VERSION="2.0.0", REQUEST="DescribeFeatureType", TYPENAMES="odd")
    names = re.findall(r'element name="(\w+)"', described.content.decode())
    columns = [n for n in names if n not in ("odd", "msGeometry", "feature_id")]
    assert len(columns) == 3 and len({c.casefold() for c in columns}) == 3, names
    hyphen = next(c for c in columns if c.startswith("so_to"))
    body = geojson(client, TYPENAMES="odd", SORTBY=f"{hyphen} DESC", PROPERTYNAME=hyphen)
    assert [f["properties"][hyphen] for f in body["features"]] == ["2", "1"]


MIXED = ["POINT(106.7 10.8)", "LINESTRING(106.7 10.8,106.8 10.9)", "MULTIPOINT((106.7 10.8),(106.71 10.81))",
         "POLYGON((106.7 10.8,106.71 10.8,106.71 10.81,106.7 10.8))",
         "MULTIPOLYGON(((106.7 10.8,106.71 10.8,106.71 10.81,106.7 10.8)))"]


def _hits(client, name: str) -> int:
    response = get(client, SERVICE="WFS", VERSION="2.0.0", REQUEST="GetFeature", TYPENAMES=name, RESULTTYPE="hits")
    return int(re.search(r'numberMatched="(\d+)"', response.content.decode()).group(1))


@pytest.mark.parametrize("geometry_type", ["", "Geometry", "MultiPolygon", "LineString", "Point"])
def test_every_stored_feature_is_served_once_whatever_the_layers_type(client, geometry_type):
    layer = make_layer(slug="mixed", geometry_type=geometry_type)
    for wkt in MIXED:
        make_feature(layer, wkt, {"n": wkt.split("(")[0]})
    capabilities = get(client, SERVICE="WFS", REQUEST="GetCapabilities").content.decode()
    names = sorted(set(re.findall(r"<(?:wfs:)?Name>(?:ms:)?(mixed\w*)</(?:wfs:)?Name>", capabilities)))
    assert "mixed" in names and len(names) == 3, names
    served = []
    for name in names:
        features = geojson(client, TYPENAMES=name)["features"]
        assert _hits(client, name) == len(features) > 0
        served += [f["properties"]["n"] for f in features]
        drawn = get(client, SERVICE="WMS", VERSION="1.3.0", REQUEST="GetMap", LAYERS=name, CRS="CRS:84",
                    BBOX="106.6,10.7,106.9,11", WIDTH="64", HEIGHT="64", FORMAT="image/png")
        assert drawn.status_code == 200 and drawn["Content-Type"] == "image/png"
    assert sorted(served) == sorted(wkt.split("(")[0] for wkt in MIXED)


def test_layer_names_never_collide_with_each_other_or_the_root(client):
    slugs = ["5abc", "l_5abc", "gisportal", "wells_points", "wells"]
    for index, slug in enumerate(slugs):
        geometry = "POINT(106.7 10.8)" if slug == "wells" else square(106.7 + index / 100, 10.8)
        make_feature(make_layer(slug=slug, geometry_type="" if slug == "wells" else "Polygon"), geometry, {"s": slug})
    make_feature(Layer.objects.get(slug="wells"), square(106.8, 10.8), {"s": "wells polygon"})  # -> wells_polygons
    capabilities = get(client, SERVICE="WFS", REQUEST="GetCapabilities").content.decode()
    names = re.findall(r"<(?:wfs:)?Name>(?:ms:)?([\w.-]+)</(?:wfs:)?Name>", capabilities)
    assert len({n.casefold() for n in names}) == len(names) and "gisportal" not in names, names
    seen = {}
    for name in names:
        for feature in geojson(client, TYPENAMES=name)["features"]:
            seen.setdefault(feature["properties"]["s"], []).append(name)
    assert sorted(seen) == sorted(slugs + ["wells polygon"]) and all(len(v) == 1 for v in seen.values()), seen
    assert seen["l_5abc"] == ["l_5abc"] and seen["wells_points"] == ["wells_points"] and seen["wells"] == ["wells"]
    root = get(client, SERVICE="WMS", VERSION="1.3.0", REQUEST="GetMap", LAYERS="gisportal", CRS="CRS:84",
               BBOX="106.6,10.7,106.9,11", WIDTH="64", HEIGHT="64", FORMAT="image/png")
    assert root.status_code == 200 and root["Content-Type"] == "image/png"


@pytest.mark.parametrize("srid", [4326, 4756])
def test_gml_coordinates_in_degrees_within_a_millimetre_of_postgis(client, srid):
    feature = make_feature(make_layer(slug="pts", geometry_type="Point"), "POINT(106.70123456789 10.77654321987)")
    target = "+proj=longlat +datum=WGS84 +no_defs" if srid == 4326 else proj_string(srid).replace(" +type=crs", "")
    response = get(client, SERVICE="WFS", VERSION="2.0.0", REQUEST="GetFeature", TYPENAMES="pts", SRSNAME=f"EPSG:{srid}")
    lat, lon = map(float, re.search(r"<gml:pos[^>]*>([^<]+)<", response.content.decode()).group(1).split())
    with connection.cursor() as cursor:
        cursor.execute("SELECT ST_Y(ST_Transform(geom, %s)), ST_X(ST_Transform(geom, %s)) FROM layers_feature "
                       "WHERE id = %s", [target, target, feature.pk])
        want_lat, want_lon = cursor.fetchone()
    assert abs(lat - want_lat) * 111_320 < 0.001 and abs(lon - want_lon) * 109_000 < 0.001, (lat, lon, want_lat, want_lon)


@pytest.mark.parametrize("srsname", ["EPSG:4756", "urn:ogc:def:crs:EPSG::4756",
                                     "http://www.opengis.net/def/crs/EPSG/0/4756"])
def test_geojson_in_vn2000_degrees_is_refused(client, srsname):
    make_feature(make_layer(slug="pts", geometry_type="Point"), "POINT(106.7 10.8)")
    code, text = exception(get(client, SERVICE="WFS", VERSION="2.0.0", REQUEST="GetFeature", TYPENAMES="pts",
                               OUTPUTFORMAT="application/json", SRSNAME=srsname))
    assert code == "InvalidParameterValue" and "RFC 7946" in text
    info = get(client, SERVICE="WMS", VERSION="1.3.0", REQUEST="GetFeatureInfo", LAYERS="pts", QUERY_LAYERS="pts",
               CRS=srsname, BBOX="10.7,106.6,10.9,106.8", WIDTH="10", HEIGHT="10", I="5", J="5",
               INFO_FORMAT="application/json")
    assert exception(info)[0] in ("InvalidParameterValue", "InvalidCRS")
    assert get(client, SERVICE="WFS", VERSION="2.0.0", REQUEST="GetFeature", TYPENAMES="pts",
               SRSNAME=srsname).status_code == 200  # GML names its CRS


@pytest.mark.parametrize("box", ["10.7,106.6,10.9,106.8,EPSG:4326,junk", "10.7,106.6,10.9,106.8,,",
                                 "10.7,106.6,10.9,106.8,", "10.7,,106.6,10.9,106.8", "10.7,106.6,10.9"])
def test_bbox_takes_exactly_four_numbers_and_one_crs(client, box):
    make_feature(make_layer(slug="pts", geometry_type="Point"), "POINT(106.7 10.8)")
    response = get(client, SERVICE="WFS", VERSION="2.0.0", REQUEST="GetFeature", TYPENAMES="pts", BBOX=box)
    code, _ = exception(response)
    assert code == "InvalidParameterValue" and 'locator="BBOX"' in response.content.decode()


def test_filter_envelope_srsname_with_a_comma_is_refused_as_filter(client):
    make_feature(make_layer(slug="pts", geometry_type="Point"), "POINT(106.7 10.8)")
    xml = ('<fes:Filter xmlns:fes="http://www.opengis.net/fes/2.0" xmlns:gml="http://www.opengis.net/gml/3.2">'
           '<fes:BBOX><gml:Envelope srsName="urn:ogc:def:crs:EPSG::4326,junk"><gml:lowerCorner>10.7 106.6'
           '</gml:lowerCorner><gml:upperCorner>10.9 106.8</gml:upperCorner></gml:Envelope></fes:BBOX></fes:Filter>')
    response = get(client, SERVICE="WFS", VERSION="2.0.0", REQUEST="GetFeature", TYPENAMES="pts", FILTER=xml)
    assert exception(response)[0] == "InvalidParameterValue" and 'locator="FILTER"' in response.content.decode()


@pytest.mark.parametrize("mark", [True, "true", "yes", 1, 0.5, "0.0", "[]", "{}", [1], {"a": 1}, "x"])
def test_the_ows_role_has_limits_no_temp_and_reads_personal_marks_as_the_catalog(client, settings, mark):
    import psycopg2

    from layers.schemas import is_personal
    from opendata.ows.mapfile import connection_string

    assert is_personal({"personal": mark})
    layer = make_layer(slug="marks", schema=[{"name": "ten", "type": "text", "label_vi": "a", "label_en": "a"},
                                             {"name": "rieng", "type": "text", "label_vi": "b", "label_en": "b",
                                              "personal": mark},
                                             {"name": "mo", "type": "text", "label_vi": "c", "label_en": "c",
                                              "personal": "no"}])
    make_feature(layer, square(106.7, 10.8), {"ten": "a", "rieng": "BÍ MẬT", "mo": "open"})
    settings.OWS_TIMEOUT = 7
    conn = psycopg2.connect(connection_string())
    try:
        conn.autocommit = True
        with conn.cursor() as cursor:
            cursor.execute("SELECT current_user, current_setting('statement_timeout'), "
                           "current_setting('idle_in_transaction_session_timeout'), current_setting('work_mem'), "
                           "current_setting('temp_file_limit'), has_database_privilege(current_database(), 'TEMP')")
            assert cursor.fetchone() == ("gisportal_ows", "7s", "30s", "16MB", "256MB", False)
            with pytest.raises(psycopg2.errors.InsufficientPrivilege):
                cursor.execute("CREATE TEMP TABLE t (x int)")
            cursor.execute("SELECT properties FROM ows_features WHERE layer_id = %s", [layer.pk])
            assert cursor.fetchone()[0] == {"ten": "a", "mo": "open"}
    finally:
        conn.close()
    assert "BÍ MẬT" not in get(client, SERVICE="WFS", VERSION="2.0.0", REQUEST="GetFeature",
                                TYPENAMES="marks").content.decode()


def _report(response, status: int) -> str:
    """The OGC exception code of a report with this status, in vi and en."""
    assert response.status_code == status, response.content[:300]
    assert response["Content-Type"].split(";")[0] in ("text/xml", "application/xml"), response["Content-Type"]
    body = response.content.decode()
    root = ET.fromstring(response.content)
    assert root.tag in ("{http://www.opengis.net/ogc}ServiceExceptionReport",
                        "{http://www.opengis.net/ows/1.1}ExceptionReport")
    assert re.search(r"[ạảãáàâấầẩẫậăắằẳẵặđêếềểễệôốồổỗộơớờởỡợưứừửữự]", body), body
    return re.search(r'(?:code|exceptionCode)="(\w+)"', body).group(1)


def test_platform_refusals_at_ows_are_ogc_exception_reports(client, settings):
    assert _report(client.get("/ows?SERVICE=WMS&REQUEST=GetMap&SERVICE=WMS"), 400) == "InvalidParameterValue"
    assert _report(client.get("/ows?SERVICE=WFS&REQUEST=GetCapabilities&X=a%00b"), 400) in (
        "InvalidParameterValue", "NoApplicableCode")
    assert _report(client.get("/ows/x?SERVICE=WFS&REQUEST=GetCapabilities"), 404) == "NoApplicableCode"
    assert _report(client.post("/ows?SERVICE=WFS&REQUEST=GetCapabilities"), 405) == "OperationNotSupported"
    settings.OPENDATA_RATE_ANON = 1
    client.get("/ows?SERVICE=WFS&REQUEST=GetCapabilities")
    limited = client.get("/ows?SERVICE=WMS&REQUEST=GetCapabilities")
    assert _report(limited, 429) == "NoApplicableCode" and limited["Retry-After"]
    assert "ServiceExceptionReport" in limited.content.decode()  # the WMS caller reads a WMS report
    assert client.get("/api/nope").get("Content-Type", "").startswith("application/json")  # other doors unchanged


@pytest.mark.parametrize("query, code", [
    ("REQUEST=GetFeatureInfo&LAYERS=nope", "LayerNotDefined"), ("REQUEST=GetLegendGraphic&LAYER=x", "LayerNotDefined"),
    ("SERVICE=WFS&REQUEST=GetCapabilities&ACCEPTVERSIONS=1.0.0,1.1.0", "VersionNegotiationFailed"),
    ("\u017fERVICE=WFS&REQUEST=GetCapabilities", "MissingParameterValue")])
def test_wms_only_operations_imply_wms_and_versions_are_negotiated(client, query, code):
    response = client.get("/ows?" + query)
    assert exception(response)[0] == code
    if code == "LayerNotDefined":
        assert "ServiceExceptionReport" in response.content.decode()


def test_control_characters_in_stored_text_never_break_the_xml(client):
    layer = make_layer(slug="ctl", title_vi="Lớp\x07 điều khiển", title_en="Control\x1b layer")
    make_feature(layer, square(106.7, 10.8), {"ten": "a\x01b\x0bc\x1fd\ufffe", "so": 3})
    body = get(client, SERVICE="WFS", VERSION="2.0.0", REQUEST="GetFeature", TYPENAMES="ctl")
    assert body.status_code == 200
    ET.fromstring(body.content)  # well-formed
    assert "<ms:ten>abcd</ms:ten>" in body.content.decode()
    for service in ("WMS", "WFS"):
        capabilities = get(client, SERVICE=service, REQUEST="GetCapabilities")
        assert "Lớp điều khiển" in ET.tostring(ET.fromstring(capabilities.content), encoding="unicode")
    info = get(client, SERVICE="WMS", VERSION="1.3.0", REQUEST="GetFeatureInfo", LAYERS="ctl", QUERY_LAYERS="ctl",
               CRS="CRS:84", BBOX="106.69,10.79,106.72,10.82", WIDTH="30", HEIGHT="30", I="15", J="15",
               INFO_FORMAT="application/vnd.ogc.gml")
    ET.fromstring(info.content)


def test_a_large_wfs_page_costs_as_many_requests_as_its_pages_of_100(client, settings):
    make_feature(make_layer(slug="pts", geometry_type="Point"), "POINT(106.7 10.8)")
    settings.OPENDATA_RATE_ANON = 10
    settings.OWS_MAX_FEATURES = 5000
    query = dict(SERVICE="WFS", VERSION="2.0.0", REQUEST="GetFeature", TYPENAMES="pts")
    assert get(client, **query, COUNT="500").status_code == 200  # 1 + 4 units
    assert get(client, **query, COUNT="500").status_code == 200  # 10 units: the limit
    assert _report(get(client, **query, COUNT="1"), 429) == "NoApplicableCode"


def test_get_feature_by_id_of_an_id_not_served_is_a_404(client):
    make_feature(make_layer(slug="pts", geometry_type="Point"), "POINT(106.7 10.8)")
    hidden = make_feature(make_layer(slug="hidden", is_public=False), "POINT(106.7 10.8)")
    for number in (hidden.pk, 999_999_999):
        response = get(client, SERVICE="WFS", VERSION="2.0.0", REQUEST="GetFeature",
                       STOREDQUERY_ID="urn:ogc:def:query:OGC-WFS::GetFeatureById", ID=f"pts.{number}")
        assert _report(response, 404) == "NotFound"
