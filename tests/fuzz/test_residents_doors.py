"""Issue 16's residents' doors under hostile input: POST /api/reports (arbitrary JSON, wrong types, huge numbers,
NaN/Infinity, deep nesting, unicode controls, base64 garbage, hostile photos), report and verification codes
(every length, every character, check-character flips), the sheet's ward/sheet/number and the lookup's fields.
Always an answer or a 4xx saying why in Vietnamese and English, never a 500, nothing stored by a refusal, and
the door keeps serving afterwards."""
import base64
import io
import json
import struct
import zlib

import pytest
from django.test import Client
from hypothesis import given
from hypothesis import strategies as st
from PIL import Image

from layers.models import Feature
from portal import codes as report_codes, sheet_codes
from portal.report_models import Report
from tests.authz_matrix import says_why_in_vi_and_en

pytestmark = pytest.mark.django_db

JSON_SCALARS = (st.none() | st.booleans() | st.integers(min_value=-(2**80), max_value=2**80)
                | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=40))
JSON_VALUES = st.recursive(JSON_SCALARS, lambda inner: st.lists(inner, max_size=4)
                           | st.dictionaries(st.text(max_size=10), inner, max_size=4), max_leaves=12)
FIELDS = ("category", "text", "layer", "feature", "lon", "lat", "contact", "phone", "email", "photo",
          "feature_id", "lng", "latitude", "description")
CONTROLS = st.text(st.sampled_from(["\u202e", "\u200b", "\ufeff", "\x85", "\x9b", "\u2028", "\x1b", "\r", "\t",
                                    "\x07", "\x00", "ạ", "a", "\U0001F600", "\ufffe", "<", "'"]), max_size=30)
HOSTILE = (JSON_VALUES | CONTROLS | st.sampled_from([
    "NaN", "Infinity", "-Infinity", "1e999", "-1e999", "0x10", "1_000", "٣", "５", " 1 ", "9" * 400, "1e-400",
    "data:image/png;base64,", "data:,", "====", "AAAA" * 3, "!!!!", "\n\n", "  ", "parcels", "../parcels"]))


@pytest.fixture(autouse=True)
def unthrottled(settings):
    """Fair use is tested elsewhere: here every door answers its input, however many are tried."""
    settings.OPENDATA_RATE_ANON = 10**7
    for bucket in ("SHEET", "HISTORY", "SEARCH"):
        setattr(settings, f"OPENDATA_RATE_{bucket}_ANON", 10**7)


@pytest.fixture
def api(settings, demo_city, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.GISPORTAL_REPORTS_PER_IP = settings.GISPORTAL_REPORTS_PER_DEVICE = 10**7
    parcel = Feature.objects.filter(layer=demo_city["parcels"]).order_by("pk").first()
    point = parcel.geom.point_on_surface
    return Client(), {"category": "area", "text": "Diện tích sai", "layer": "parcels", "feature": parcel.pk}, point


def _refusal_says_why(response) -> None:
    status = response.status_code
    assert status < 500, (status, response.content[:300])
    if status >= 400 and not response["Content-Type"].startswith("application/json"):  # a page (back to the queue)
        assert says_why_in_vi_and_en(response, response.content), response.content[:300]
    elif status >= 400:
        body = json.loads(response.content)
        assert body["description"] and body["description_vi"] and body["description"] != body["description_vi"], body


def _post(client: Client, body, *, raw: bytes | None = None, content_type="application/json"):
    before = Report.objects.count()
    data = raw if raw is not None else json.dumps(body, ensure_ascii=False).encode("utf-8", "surrogatepass")
    response = client.generic("POST", "/api/reports", data, content_type=content_type)
    _refusal_says_why(response)
    assert response.status_code in (201, 400, 404, 413, 415), (response.status_code, response.content[:300])
    assert Report.objects.count() == before + (response.status_code == 201), "a refusal stored a report"
    return response


def _still_serving(client: Client, valid: dict) -> None:
    response = client.post("/api/reports", json.dumps(valid), content_type="application/json")
    assert response.status_code == 201, response.content[:300]


@given(st.dictionaries(st.sampled_from(FIELDS) | st.text(max_size=8), HOSTILE, max_size=8))
def test_arbitrary_objects(api, body):
    client, valid, _ = api
    _post(client, body)


@given(st.sampled_from(FIELDS), HOSTILE)
def test_one_hostile_field_in_a_valid_report(api, name, value):
    client, valid, _ = api
    _post(client, {**valid, name: value})


@given(JSON_VALUES)
def test_any_json_document(api, body):
    _post(api[0], body)


@given(st.binary(max_size=200))
def test_raw_bytes(api, raw):
    _post(api[0], None, raw=raw)


RAW_BODIES = [b'{"category": "area", "text": "x", "lon": NaN, "lat": 10.8}',
              b'{"category": "area", "text": "x", "lon": Infinity, "lat": -Infinity}',
              b'{"category": "area", "text": "x", "lon": 1e999, "lat": 10.8}',
              b'{"category": "area", "text": "x", "layer": "parcels", "feature": 1e30}',
              b'{"category": "area", "text": "x", "layer": "parcels", "feature": 99999999999999999999999999}',
              b'{"category": "area", "text": "x", "layer": "parcels", "feature": -1}',
              b'{"category": "area", "text": "\\ud800", "lon": 106.7, "lat": 10.8}',
              b'{"category": "area", "text": "a\\u0000b", "lon": 106.7, "lat": 10.8}',
              b'{"category": "area", "category": "other", "text": "x", "lon": 106.7, "lat": 10.8}',
              b"[" * 5000 + b"]" * 5000, b'{"a":' * 3000 + b"1" + b"}" * 3000,
              b'{"category": "area", "text": "' + b"a" * 300_000 + b'", "lon": 106.7, "lat": 10.8}',
              b"\xef\xbb\xbf{}", b"\xff\xfe{\x00}\x00", b"", b"null", b"1", b'"x"', b"{"]


@pytest.mark.parametrize("raw", RAW_BODIES, ids=range(len(RAW_BODIES)))
def test_hostile_raw_bodies(api, raw):
    client, valid, _ = api
    response = _post(client, None, raw=raw)
    assert response.status_code >= 400
    _still_serving(client, valid)


@pytest.mark.parametrize("content_type", ["text/plain", "application/xml", "application/json; charset=latin-1",
                                          "multipart/form-data; boundary=x", "application/x-www-form-urlencoded"])
def test_other_content_types(api, content_type):
    client, valid, _ = api
    response = client.generic("POST", "/api/reports", b"--x\r\n\x00\xff garbage", content_type=content_type)
    _refusal_says_why(response)
    assert response.status_code in (400, 415)


# ---- photos ------------------------------------------------------------------------------------------------

def _image(mode: str, fmt: str, size=(40, 30), **save) -> bytes:
    out = io.BytesIO()
    Image.new(mode, size).save(out, fmt, **save)
    return out.getvalue()


def _png_declaring(width: int, height: int) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")


def _gif_animated() -> bytes:
    out = io.BytesIO()
    frames = [Image.new("P", (20, 20), i) for i in range(3)]
    frames[0].save(out, "GIF", save_all=True, append_images=frames[1:], duration=50, loop=0)
    return out.getvalue()


def _jpeg_bad_exif() -> bytes:
    """A JPEG whose EXIF block is garbage (orientation tag pointing nowhere)."""
    exif = b"Exif\0\0MM\0*\0\0\0\x08\0\x01\x01\x12\0\x03\0\0\0\x01\0\x09\0\0\xff\xff\xff\xff"
    good = _image("RGB", "JPEG")
    return good[:2] + b"\xff\xe1" + struct.pack(">H", len(exif) + 2) + exif + good[2:]


PHOTOS = {
    "random": bytes(range(256)) * 8,
    "truncated-jpeg": _image("RGB", "JPEG")[:120],
    "truncated-png": _image("RGB", "PNG")[:60],
    "png-50000x50000": _png_declaring(50_000, 50_000),
    "png-65535x1": _png_declaring(65_535, 1),
    "svg": b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
    "polyglot": _image("RGB", "JPEG") + b"<?php echo 1; ?><script>alert(1)</script>",
    "gif-animated": _gif_animated(),
    "cmyk-jpeg": _image("CMYK", "JPEG"),
    "png-16bit": _image("I;16", "PNG"),
    "png-1bit": _image("1", "PNG"),
    "jpeg-bad-exif": _jpeg_bad_exif(),
    "webp": _image("RGBA", "WEBP"),
    "empty": b"",
    "html": b"<html><img src=x onerror=alert(1)></html>",
}


@pytest.mark.parametrize("name", PHOTOS)
def test_hostile_photos_by_json_and_form(api, name):
    client, valid, _ = api
    photo = PHOTOS[name]
    for body in ({**valid, "photo": base64.b64encode(photo).decode()},
                 {**valid, "photo": "data:image/jpeg;base64," + base64.b64encode(photo).decode()}):
        response = _post(client, body)
        if response.status_code == 201:  # what is kept is a clean JPEG, whatever came in
            report = Report.objects.get(code=response.json()["code"])
            if report.photo:
                from django.core.files.storage import default_storage
                with default_storage.open(report.photo, "rb") as stored:
                    assert stored.read(3) == b"\xff\xd8\xff"
    form = client.post("/api/reports", {**valid, "photo": io.BytesIO(photo)}, format="multipart")
    _refusal_says_why(form)
    _still_serving(client, valid)


@given(st.text(max_size=300))
def test_base64_garbage(api, text):
    client, valid, _ = api
    _post(client, {**valid, "photo": text})


# ---- codes -------------------------------------------------------------------------------------------------

CODE_CHARS = st.text(st.characters(blacklist_categories=("Cs",)), max_size=40)


@given(CODE_CHARS)
def test_any_text_as_a_report_or_verification_code(db, text):
    client = Client()
    for path in (f"/phan-anh/{text}/", f"/api/reports/{text}", f"/xac-minh/{text}/", f"/xac-minh/{text}/phieu.pdf",
                 f"/phan-anh/{text}/anh.jpg"):
        response = client.get(path.replace("?", "%3F").replace("#", "%23"), HTTP_ACCEPT="application/json")
        assert response.status_code in (200, 301, 302, 400, 404), (path, response.status_code)
        if response.status_code >= 400:
            _refusal_says_why(response)
    for params in ({"ma": text}, {"code": text}):
        response = Client().get("/phan-anh/theo-doi/" if "ma" in params else "/xac-minh/", params,
                                HTTP_ACCEPT="application/json")
        assert response.status_code in (200, 301, 302, 400, 404), (params, response.status_code)


@pytest.mark.parametrize("module", [report_codes, sheet_codes], ids=["report", "sheet"])
def test_every_length_and_every_flipped_character_is_refused_cleanly(db, module):
    """A code one character off (any position, any other character) never names another report or sheet, and
    every length from 0 to 40 is answered with a 4xx, never a 500."""
    code = module.new_code()
    path = "/api/reports/{}" if module is report_codes else "/xac-minh/{}/"
    client = Client()
    for n in range(0, 41):
        response = client.get(path.format((code * 5)[:n]), HTTP_ACCEPT="application/json")
        assert response.status_code in (400, 404) or (n == 0 and response.status_code in (200, 301, 302)), n
    alphabet = module.ALPHABET
    for i in range(len(code)):
        for c in alphabet:
            if c != code[i]:
                typo = code[:i] + c + code[i + 1:]
                checker = report_codes.normalize if module is report_codes else _sheet_code_or_none
                assert checker(typo) is None, f"{typo} (from {code}) passes the check"


def _sheet_code_or_none(text: str):
    try:
        return sheet_codes.parse_code(text)
    except Exception as error:  # noqa: BLE001 - the refusal is what is expected
        assert getattr(error, "status", None) == 400, error
        return None


# ---- the sheet's and the lookup's fields --------------------------------------------------------------------

@given(st.text(max_size=30), st.text(max_size=30), st.text(max_size=30))
def test_sheet_ward_sheet_number(demo_city, ward, sheet, number):
    client = Client()
    for w, s, n in ((ward, "1", "1"), ("26794", sheet, "1"), ("26794", "1", number)):
        path = "/thua-dat/{}/{}/{}/phieu.pdf".format(*(part.replace("/", "%2F").replace("?", "%3F").replace("#", "%23")
                                                    for part in (w, s, n)))
        response = client.get(path, HTTP_ACCEPT="application/json")
        assert response.status_code in (200, 400, 404), (path, response.status_code)
        if response.status_code >= 400:
            _refusal_says_why(response)


@given(st.dictionaries(st.sampled_from(["ward", "sheet", "number", "address", "q", "parcel"]),
                       CONTROLS | st.text(max_size=60) | st.sampled_from(["1/" * 3000, "hẻm " * 1500, "9" * 500]),
                       max_size=4))
def test_lookup_fields(demo_city, params):
    response = Client().get("/tra-cuu/", params, HTTP_ACCEPT="text/html")
    assert response.status_code in (200, 302, 400, 404), (params, response.status_code)


# ---- moderation --------------------------------------------------------------------------------------------

@given(st.dictionaries(st.sampled_from(["status", "answer", "text_public", "fixed_layer", "fixed_feature",
                                        "fixed_version"]),
                       CONTROLS | st.text(max_size=30) | st.sampled_from(
                           ["resolved", "answered", "rejected", "received", "NaN", "-1", "0", "1e9", "9" * 40,
                            "parcels", "../parcels", "1.5", " 1 ", "٣"]), max_size=6))
def test_moderation_form_fields(api, django_user_model, fields):
    """A planner's answer with any field values: done (302) or a 4xx saying why, and a refusal changes nothing."""
    client, valid, _ = api
    created = client.post("/api/reports", json.dumps(valid), content_type="application/json")
    report = Report.objects.get(code=created.json()["code"])
    admin, _ = django_user_model.objects.get_or_create(username="fuzz-moderator", defaults={"is_superuser": True})
    client.force_login(admin)
    try:
        response = client.post(f"/phan-anh/quan-ly/{report.code}/", fields, HTTP_ACCEPT="application/json")
    finally:
        client.logout()
    assert response.status_code in (302, 400, 404), (fields, response.status_code, response.content[:300])
    report.refresh_from_db()
    if response.status_code != 302:
        _refusal_says_why(response)
        assert report.status == "received" and not report.moderations.exists(), fields


@given(st.dictionaries(st.sampled_from(FIELDS + ("website",)), CONTROLS | st.text(max_size=40)
                       | st.sampled_from(["area", "parcels", "106.7", "10.8", "NaN", "inf", "9" * 40]), max_size=8))
def test_the_form_door(api, fields):
    """The form (/phan-anh/) reads the same fields through the same parser: filed (302) or refused with a page
    that says why, and nothing stored."""
    client, _, _ = api
    before = Report.objects.count()
    response = client.post("/phan-anh/", fields, HTTP_ACCEPT="text/html")
    assert response.status_code in (302, 400, 404, 413), (fields, response.status_code)
    if response.status_code != 302:
        assert says_why_in_vi_and_en(response, response.content), response.content[:300]
        assert Report.objects.count() == before, fields
