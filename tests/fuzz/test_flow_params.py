"""Issue 15's doors under hostile parameters: the change feed (since, limit, crs, f), its Atom feed (limit),
OGC API – Records (bbox, q, limit, offset, f) and CSW key-value requests. Any value gives an answer or a 4xx that
says why in Vietnamese and English, never a 500, and the door keeps serving afterwards."""
import json

import pytest
from django.test import Client
from hypothesis import given
from hypothesis import strategies as st

from layers import changes
from tests.factories import make_feature, make_parcel_layer, square

pytestmark = pytest.mark.django_db

TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=60)  # lone surrogates cannot be sent at all
NUMBERISH = st.text(alphabet="0123456789+-.eEinfaNx ,٣５\x00", max_size=25)
CRS_TEXT = st.sampled_from(["EPSG:9210", "http://www.opengis.net/def/crs/EPSG/0/9210", "CRS84", "4326",
                            "http://www.opengis.net/def/crs/EPSG/0/4326?x", "urn:ogc:def:crs:EPSG::4326"])
BBOX = st.lists(st.floats(allow_nan=True, allow_infinity=True) | st.integers(-400, 400), min_size=0, max_size=7).map(
    lambda v: ",".join(repr(x) for x in v))


@pytest.fixture
def layer(settings):
    settings.OPENDATA_RATE_ANON = settings.OPENDATA_RATE_TOKEN = 10**7
    made = make_parcel_layer(slug="fuzzflow", is_public=True)
    make_feature(made, square(106.70, 10.80), {"ward_code": "26794", "map_sheet": 1, "parcel_no": 1, "land_use": "ODT"})
    return made


def _body(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


def answered(client: Client, path: str, params: dict, allowed=(200,)) -> bytes:
    """A status of `allowed` or a 4xx saying why in both languages (JSON, or an OWS report for /csw)."""
    response = client.get(path, params)
    data = _body(response)
    status = response.status_code
    assert status in allowed or 400 <= status < 500, f"{path} {params!r}: {status} {data[:300]!r}"
    if 400 <= status < 500 and status not in allowed:
        if response["Content-Type"].startswith("application/json"):
            body = json.loads(data)
            assert body["description"] and body["description_vi"], data[:300]
        else:
            assert b'xml:lang="vi"' in data and b'xml:lang="en"' in data, data[:300]
    return data


def keeps_serving(client: Client, path: str) -> None:
    assert client.get(path).status_code == 200


@given(since=TEXT | NUMBERISH, limit=NUMBERISH | TEXT, crs=CRS_TEXT | TEXT, f=st.sampled_from(["json", "geojson",
       "geojsonseq", "", "GEOJSONSEQ", "xml"]) | TEXT)
def test_the_change_feed_answers_or_refuses_any_parameters(client, layer, since, limit, crs, f):
    for key, value in (("since", since), ("limit", limit), ("crs", crs), ("f", f)):
        answered(client, "/data/fuzzflow/changes", {key: value}, allowed=(200, 410))
    answered(client, "/data/fuzzflow/changes", {"since": since, "limit": limit, "crs": crs, "f": f},
             allowed=(200, 410))
    answered(client, "/data/fuzzflow/changes.atom", {"limit": limit})
    keeps_serving(client, "/data/fuzzflow/changes")


@given(position=st.tuples(st.integers(-2**70, 2**70), st.integers(-2**70, 2**70)), cut=st.integers(0, 40),
       extra=st.sampled_from(["", ".", "=", "==", "A", "%00", ".x"]))
def test_altered_and_out_of_range_cursors_are_refused(client, layer, position, cut, extra):
    """Cursors of any position, signed or cut short or extended: a page, or a 400 naming since (never a 500)."""
    try:
        token = changes.encode_cursor(layer, changes.Position(*position))
    except (OverflowError, ValueError):
        return
    for since in (token, token[:cut] + extra, token + extra):
        answered(client, "/data/fuzzflow/changes", {"since": since}, allowed=(200, 410))
    keeps_serving(client, "/data/fuzzflow/changes")


@given(bbox=BBOX | TEXT, q=TEXT, limit=NUMBERISH, offset=NUMBERISH, f=st.sampled_from(["json", "html", "iso"]) | TEXT)
def test_records_answer_or_refuse_any_parameters(client, layer, bbox, q, limit, offset, f):
    items = "/records/collections/catalog/items"
    for key, value in (("bbox", bbox), ("q", q), ("limit", limit), ("offset", offset), ("f", f)):
        answered(client, items, {key: value})
    answered(client, items, {"bbox": bbox, "q": q, "limit": limit, "offset": offset})
    answered(client, f"{items}/fuzzflow", {"f": f})
    answered(client, f"{items}/{q or 'x'}".replace("?", "%3F").replace("#", "%23"), {}, allowed=(200, 404))
    keeps_serving(client, items)


CSW_KEYS = ["maxrecords", "startposition", "bbox", "constraint", "constraintlanguage", "elementsetname",
            "outputschema", "outputformat", "resulttype", "typenames", "sortby", "namespace", "elementname", "id",
            "version", "request", "constraint_language_version", "hopcount", "distributedsearch", "propertyname",
            "parametername", "acceptversions", "sections", "acceptformats"]
CSW_VALUES = TEXT | NUMBERISH | BBOX | st.sampled_from(
    ["application/json", "application/xml", "full", "brief", "hits", "validate", "CQL_TEXT", "FILTER",
     "http://www.isotc211.org/2005/gmd", "csw:Record", "gmd:MD_Metadata", "dc:title:D", "2.0.2", "3.0.0",
     "AnyText like '%a%'", "<ogc:Filter/>", "xmlns(csw=http://www.opengis.net/cat/csw/2.0.2)"])


@given(pairs=st.dictionaries(st.sampled_from(CSW_KEYS), CSW_VALUES, min_size=1, max_size=4),
       request=st.sampled_from(["GetRecords", "GetRecordById", "GetDomain", "DescribeRecord", "GetCapabilities"]),
       version=st.sampled_from(["2.0.2", "3.0.0"]))
def test_csw_key_value_requests_answer_or_refuse(client, layer, pairs, request, version):
    params = {"service": "CSW", "version": version, "request": request, "typenames": "csw:Record",
              "elementsetname": "full", **pairs}
    answered(client, "/csw", params, allowed=(200, 404))
    keeps_serving(client, "/csw?service=CSW&request=GetCapabilities")


# ---- bulk formats: FlatGeobuf / GeoParquet parameters, and Range on the files they and PMTiles are served from ----

@given(fmt=st.sampled_from(["fgb", "parquet"]), crs=CRS_TEXT | TEXT, bbox=BBOX | TEXT,
       properties=st.sampled_from(["land_use", "land_use,parcel_no", "nosuch", "", ",", "land_use,land_use"]) | TEXT,
       as_of=st.sampled_from(["2025-07-01T10:00:00Z", "2025-07-01", "20261205", "9999-12-31T23:59:59Z"]) | TEXT)
def test_bulk_downloads_answer_or_refuse_any_parameters(client, layer, fmt, crs, bbox, properties, as_of):
    path = f"/data/fuzzflow.{fmt}"
    for key, value in (("crs", crs), ("bbox", bbox), ("properties", properties), ("as_of", as_of)):
        answered(client, path, {key: value}, allowed=(200, 410))
    keeps_serving(client, path)


@pytest.fixture
def archive(layer, settings, tmp_path):
    """The layer's PMTiles archive, built now (its bytes, to compare every ranged answer with)."""
    from tiles import archives

    settings.GISPORTAL_PMTILES_DIR, settings.GISPORTAL_PMTILES_MAX_ZOOM = tmp_path / "pmtiles", 14
    archives.build_archive("fuzzflow")
    return archives.archive_path("fuzzflow").read_bytes()


def ranged(client: Client, path: str, header: str, whole: bytes):
    """A Range answer as RFC 9110 allows: 206 with the exact bytes, 200 with the whole file, or 416 saying why."""
    response = client.get(path, HTTP_RANGE=header)
    data = _body(response)
    size = len(whole)
    assert response.status_code in (200, 206, 416), f"{header!r}: {response.status_code} {data[:200]!r}"
    if response.status_code == 200:
        assert data == whole
    elif response.status_code == 206:
        first, last = (int(v) for v in response["Content-Range"].removeprefix("bytes ").split("/")[0].split("-"))
        assert response["Content-Range"].endswith(f"/{size}") and 0 <= first <= last < size, response["Content-Range"]
        assert data == whole[first:last + 1] and response["Content-Length"] == str(len(data))
    else:
        assert response["Content-Range"] == f"bytes */{size}"
        body = json.loads(data)
        assert body["description"] and body["description_vi"]
    return response


SPEC = st.one_of(st.integers(0, 10**6).map(str), st.integers(0, 10**25).map(str), st.just(""),
                 st.sampled_from(["-1", "0x10", "1.5", "١٢", "٣", "1e3", " 5", "+3"]))
RANGE = st.one_of(
    st.tuples(SPEC, SPEC).map(lambda t: f"bytes={t[0]}-{t[1]}"),
    st.lists(st.tuples(SPEC, SPEC).map(lambda t: f"{t[0]}-{t[1]}"), min_size=2, max_size=300).map(
        lambda r: "bytes=" + ",".join(r)),
    st.sampled_from(["bytes=", "bytes=-", "bytes=-0", "bytes=0-0", "Bytes=0-9", "bytes = 0-9", "items=0-9",
                     "bytes=5-2", "bytes=-99999999", "bytes=0-9,", "bytes=,0-9", "bytes=0-9, 20-29", "bytes=0--9",
                     "bytes=0-9-", "bytes=\t0-9", "bytes=0-" + "9" * 19, "bytes=" + "9" * 20 + "-"]),
    TEXT, TEXT.map(lambda t: "bytes=" + t))


@given(header=RANGE)
def test_range_headers_get_206_200_or_416_never_a_500(client, archive, header):
    ranged(client, "/tiles/fuzzflow.pmtiles", header, archive)
    keeps_serving(client, "/tiles/fuzzflow.pmtiles")


def test_ranges_as_rfc_9110_reads_them(client, archive):
    size = len(archive)
    assert ranged(client, "/tiles/fuzzflow.pmtiles", "bytes=0-126", archive).status_code == 206
    suffix = ranged(client, "/tiles/fuzzflow.pmtiles", "bytes=-10", archive)
    assert suffix.status_code == 206 and suffix["Content-Range"] == f"bytes {size - 10}-{size - 1}/{size}"
    longer = ranged(client, "/tiles/fuzzflow.pmtiles", f"bytes=-{size * 2}", archive)  # all of it, as 206
    assert longer["Content-Range"] == f"bytes 0-{size - 1}/{size}"
    beyond = ranged(client, "/tiles/fuzzflow.pmtiles", f"bytes=10-{size * 5}", archive)
    assert beyond["Content-Range"] == f"bytes 10-{size - 1}/{size}"
    for unsatisfiable in (f"bytes={size}-", f"bytes={size + 5}-{size + 9}", "bytes=-0", "bytes=9-3"):
        assert ranged(client, "/tiles/fuzzflow.pmtiles", unsatisfiable, archive).status_code == 416, unsatisfiable
    for ignored in ("items=0-9", "bytes=0-9,20-29", "bytes=" + ",".join(f"{i}-{i}" for i in range(500))):
        assert ranged(client, "/tiles/fuzzflow.pmtiles", ignored, archive).status_code == 200, ignored[:40]
    # only ASCII digits are numbers (RFC 9110's DIGIT), as in every other parameter
    for foreign in ("bytes=٠-٩", "bytes=-٣", "bytes=１-２"):
        assert ranged(client, "/tiles/fuzzflow.pmtiles", foreign, archive).status_code in (200, 416), foreign
