"""Filing a report through the form and the app's API: one parser, one service; bad input stores nothing."""
import base64
import json

import pytest
from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile

from layers.models import Layer
from portal import codes
from portal.report_models import Report, Status
from tests.portal.conftest import jpeg_bytes, stored_files

pytestmark = pytest.mark.django_db


def post_api(client, body, **extra):
    return client.post("/api/reports", data=json.dumps(body) if not isinstance(body, (str, bytes)) else body,
                       content_type="application/json", **extra)


def assert_refused(response, status, media, before=0):
    """A 4xx with a message in both languages; no report row, no stored file."""
    assert response.status_code == status, response.content[:300]
    assert Report.objects.count() == before
    assert stored_files(media) == []


def vi_en(response) -> tuple[str, str]:
    body = response.json()
    assert body["description"] and body["description_vi"] and body["description"] != body["description_vi"]
    return body["description_vi"], body["description"]


def test_form_files_a_parcel_report_and_shows_the_receipt(client, parcel, media):
    page = client.get(f"/phan-anh/?layer=parcels&feature={parcel.pk}")
    assert page.status_code == 200
    assert f'name="feature" value="{parcel.pk}"' in page.content.decode()
    assert "gp_device" in page.cookies  # the device cookie the limits count by
    response = client.post("/phan-anh/", {
        "layer": "parcels", "feature": str(parcel.pk), "category": "area",
        "text": "Diện tích trên bản đồ nhỏ hơn sổ đỏ khoảng 12 m².", "contact": "0903 123 456",
        "photo": SimpleUploadedFile("a.jpg", jpeg_bytes(), content_type="image/jpeg"), "website": ""})
    assert response.status_code == 302
    report = Report.objects.get()
    assert response["Location"].endswith(f"/phan-anh/{report.code}/?moi=1")
    assert codes.normalize(report.code) == report.code
    assert (report.target_kind, report.layer.slug, report.feature_id) == ("parcel", "parcels", parcel.pk)
    assert report.moderation_layer.slug == "parcels"
    assert parcel.geom.covers(report.point)
    assert report.ward_code and report.ward_name  # derived from where the parcel lies
    assert report.contact == "0903 123 456" and report.status == Status.RECEIVED and not report.text_public
    assert [p.name for p in stored_files(media)] == [f"{report.code}.jpg"]
    receipt = client.get(response["Location"]).content.decode()
    assert codes.display(report.code) in receipt
    assert "Diện tích trên bản đồ" not in receipt  # not public before moderation
    assert "0903" not in receipt
    p = parcel.properties
    assert f'href="/thua-dat/{p["ward_code"]}/{p["map_sheet"]}/{p["parcel_no"]}/"' in receipt  # back to the parcel


def test_api_files_a_point_report_and_a_zone_report(client, zone, inside, media):
    response = post_api(client, {"category": "boundary", "text": "Ranh giới khu đất lệch sang đường.",
                                 "lon": inside[0], "lat": inside[1]}, HTTP_X_DEVICE_ID="app-device-0123456789")
    assert response.status_code == 201, response.content
    body = response.json()
    report = Report.objects.get(code=body["code"])
    assert body["status_url"].endswith(f"/phan-anh/{report.code}/") and response["Location"].endswith(f"/phan-anh/{report.code}/")
    assert report.target_kind == "point" and report.layer is None
    assert report.moderation_layer.slug == "parcels"  # a bare point is the parcels' editors' business
    assert report.ward_code
    zone_report = post_api(client, {"category": "planning", "text": "Chỉ tiêu mật độ xây dựng không đúng quyết định.",
                                    "layer": "planning-zones", "feature": zone.pk})
    assert zone_report.status_code == 201
    assert Report.objects.get(code=zone_report.json()["code"]).target_kind == "zone"


def test_api_takes_a_base64_photo_and_multipart(client, inside, media):
    photo = base64.b64encode(jpeg_bytes()).decode()
    response = post_api(client, {"category": "other", "text": "Ảnh chụp hiện trạng khác bản đồ.",
                                 "lon": inside[0], "lat": inside[1], "photo": "data:image/jpeg;base64," + photo})
    assert response.status_code == 201
    multipart = client.post("/api/reports", {"category": "other", "text": "Ảnh chụp hiện trạng khác bản đồ.",
                                             "lon": str(inside[0]), "lat": str(inside[1]),
                                             "photo": SimpleUploadedFile("p.png", jpeg_bytes(fmt="PNG"))})
    assert multipart.status_code == 201, multipart.content
    assert sorted(r.photo != "" for r in Report.objects.all()) == [True, True]
    assert len(stored_files(media)) == 2


CASES = {
    "no text": ({"category": "area"}, 400, "text"),
    "blank text": ({"category": "area", "text": "   \n  "}, 400, "text"),
    "too much text": ({"category": "area", "text": "x" * 2001}, 400, "text"),
    "control character": ({"category": "area", "text": "Diện tích sai\x07 rồi đó"}, 400, "text"),
    "unknown category": ({"category": "ufo", "text": "Diện tích sai rồi đó"}, 400, "category"),
    "category not text": ({"category": ["area"], "text": "Diện tích sai rồi đó"}, 400, "category"),
    "text not text": ({"category": "area", "text": 12345678901}, 400, "text"),
    "lon as bool": ({"category": "area", "text": "Diện tích sai rồi đó", "lon": True, "lat": 10.8}, 400, "lon"),
    "no place": ({"category": "area", "text": "Diện tích sai rồi đó"}, 400, "lon"),
    "lon out of range": ({"category": "area", "text": "Diện tích sai rồi đó", "lon": 500, "lat": 10.8}, 400, "lon/lat"),
    "outside the city": ({"category": "area", "text": "Diện tích sai rồi đó", "lon": 105.0, "lat": 10.0}, 400, "lon"),
    "feature without layer": ({"category": "area", "text": "Diện tích sai rồi đó", "feature": 1}, 400, "feature"),
    "unknown layer": ({"category": "area", "text": "Diện tích sai rồi đó", "layer": "nope", "feature": 1}, 400, "feature"),
    "unknown feature": ({"category": "area", "text": "Diện tích sai rồi đó", "layer": "parcels", "feature": 2**62}, 400, "feature"),
    "feature not a number": ({"category": "area", "text": "Diện tích sai rồi đó", "layer": "parcels", "feature": "1; drop"}, 400, "feature"),
    "bad contact": ({"category": "area", "text": "Diện tích sai rồi đó", "lon": 106.7, "lat": 10.8, "contact": "call me"}, 400, "contact"),
    "bad e-mail": ({"category": "area", "text": "Diện tích sai rồi đó", "lon": 106.7, "lat": 10.8, "contact": "a@b"}, 400, "contact"),
    "phone not a phone": ({"category": "area", "text": "Diện tích sai rồi đó", "lon": 106.7, "lat": 10.8, "phone": "a@b.vn"}, 400, "phone"),
    "email not an email": ({"category": "area", "text": "Diện tích sai rồi đó", "lon": 106.7, "lat": 10.8, "email": "0903123456"}, 400, "email"),
    "contacts too long together": ({"category": "area", "text": "Diện tích sai", "lon": 106.7, "lat": 10.8,
                                    "phone": "0903123456", "email": "a" * 60 + "@" + "b" * 60 + ".example.vn" + "c" * 60}, 400, "contact"),
    "field twice under two names": ({"category": "area", "text": "Diện tích sai", "description": "khác", "lon": 106.7, "lat": 10.8}, 400, "text"),
    "photo not base64": ({"category": "area", "text": "Diện tích sai rồi đó", "lon": 106.7, "lat": 10.8, "photo": "%%%"}, 400, "photo"),
    "photo not an image": ({"category": "area", "text": "Diện tích sai rồi đó", "lon": 106.7, "lat": 10.8,
                            "photo": base64.b64encode(b"%PDF-1.4 not an image").decode()}, 400, "photo"),
}


@pytest.mark.parametrize("name", list(CASES))
def test_bad_input_is_refused_in_both_languages_and_stores_nothing(client, demo_city, media, name):
    body, status, parameter = CASES[name]
    response = post_api(client, body)
    assert_refused(response, status, media)
    vi_en(response)
    assert response.json().get("parameter") == parameter


@pytest.mark.parametrize("raw", [b"{not json", b"[1, 2]", b'{"text": "a", "text": "b"}', b"\xff\xfe"])
def test_malformed_json_is_400(client, demo_city, media, raw):
    assert_refused(post_api(client, raw), 400, media)


def test_a_restricted_layer_answers_exactly_like_a_missing_one(client, demo_city, parcel, media):
    Layer.objects.filter(slug="road-reserves").update(is_public=False)
    road = demo_city["road-reserves"].features.order_by("pk").first()
    text = "Lộ giới ở đây không đúng thực tế."
    restricted = post_api(client, {"category": "other", "text": text, "layer": "road-reserves", "feature": road.pk})
    missing = post_api(client, {"category": "other", "text": text, "layer": "no-such-layer", "feature": road.pk})
    no_feature = post_api(client, {"category": "other", "text": text, "layer": "parcels", "feature": 2**40})
    assert restricted.status_code == missing.status_code == no_feature.status_code == 400
    assert restricted.json() == missing.json() == no_feature.json()
    # Even a planner who may see the restricted layer cannot file on it: the status page is public.
    viewer = User.objects.create_user("viewer")
    demo_city["road-reserves"].grants.create(user=viewer)
    client.force_login(viewer)
    assert post_api(client, {"category": "other", "text": text, "layer": "road-reserves",
                             "feature": road.pk}).json() == missing.json()
    assert_refused(restricted, 400, media)


def test_oversized_photo_is_413_and_stores_nothing(client, inside, media, settings):
    settings.GISPORTAL_REPORTS_PHOTO_MAX_BYTES = 2000
    big = jpeg_bytes((400, 400))
    assert len(big) > 2000
    body = {"category": "other", "text": "Ảnh chụp hiện trạng khác bản đồ.", "lon": inside[0], "lat": inside[1]}
    assert_refused(post_api(client, {**body, "photo": base64.b64encode(big).decode()}), 413, media)
    form = client.post("/phan-anh/", {**body, "photo": SimpleUploadedFile("big.jpg", big)}, HTTP_ACCEPT="text/html")
    assert_refused(form, 413, media)
    assert "MB" in form.content.decode()


def test_form_refusal_keeps_what_was_typed_and_says_why(client, inside, media):
    response = client.post("/phan-anh/", {"category": "area", "text": " \n ", "lon": str(inside[0]),
                                          "lat": str(inside[1]), "contact": "0903123456"})
    assert_refused(response, 400, media)
    page = response.content.decode()
    assert "không được để trống" in page and "0903123456" in page and str(inside[0])[:8] in page


def test_honeypot_is_refused_quietly_and_stores_nothing(client, inside, media):
    body = {"category": "area", "text": "Diện tích sai rồi đó bạn ơi", "lon": str(inside[0]), "lat": str(inside[1]),
            "website": "http://spam.example"}
    assert_refused(client.post("/phan-anh/", body), 400, media)
    assert_refused(post_api(client, body), 400, media)
    assert "website" not in post_api(client, body).content.decode()


def test_the_api_takes_only_post_and_json_or_forms(client, demo_city, media):
    assert client.get("/api/reports").status_code == 405
    assert_refused(client.post("/api/reports", data="category=area", content_type="text/plain"), 400, media)


def test_the_stored_photo_has_no_gps_and_the_answer_echoes_no_contact(client, inside, media):
    from PIL import Image

    response = client.post("/api/reports", {"category": "other", "text": "Ảnh chụp hiện trạng khác bản đồ.",
                                            "lon": str(inside[0]), "lat": str(inside[1]), "contact": "0903 555 777",
                                            "photo": SimpleUploadedFile("gps.jpg", jpeg_bytes(gps=True))})
    assert response.status_code == 201 and "0903" not in response.content.decode()
    [stored] = stored_files(media)
    with Image.open(stored) as image:
        assert image.format == "JPEG" and len(image.getexif()) == 0 and "icc_profile" not in image.info
    assert b"PhoneMaker" not in stored.read_bytes()


@pytest.mark.parametrize("door", ["/api/reports", "/phan-anh/"])
def test_a_broken_multipart_body_is_400(client, demo_city, media, door):
    response = client.generic("POST", door, b"--xx\r\nContent-Disposition: form-data; name=\"text\"\r\n\r\nabc",
                              content_type="multipart/form-data; boundary=xx")
    assert 400 <= response.status_code < 500
    assert_refused(response, response.status_code, media)


def test_the_form_speaks_english_when_asked(client, demo_city, media):
    client.cookies["django_language"] = "en"
    page = client.get("/phan-anh/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Report wrong data" in page and "Wrong boundary" in page
    refused = client.post("/phan-anh/", {"category": "area", "text": ""}, HTTP_ACCEPT_LANGUAGE="en")
    assert refused.status_code == 400 and "may not be empty" in refused.content.decode()


def test_a_short_text_is_enough(client, inside, media):
    response = post_api(client, {"category": "area", "text": "Sai", "lon": inside[0], "lat": inside[1]})
    assert response.status_code == 201 and Report.objects.get().text == "Sai"


def test_other_names_apps_use_are_read_and_unknown_fields_are_never_stored(client, parcel, media):
    response = post_api(client, {"category": "Wrong-Land-Use", "description": "Đất ở, không phải đất lúa.",
                                 "layer": "parcels", "feature_id": parcel.pk, "phone": "0903 123 456",
                                 "email": "dan@example.vn", "owner_name": "Nguyễn Văn A"})
    assert response.status_code == 201, response.content
    report = Report.objects.get()
    assert (report.category, report.text, report.feature_id) == ("land_use", "Đất ở, không phải đất lúa.", parcel.pk)
    assert report.contact == "0903 123 456 · dan@example.vn"
    assert "Nguyễn Văn A" not in str(Report.objects.values().get())
