"""Moderation (who sees which report, answering, resolving with a real version, rejecting), the public status
page and counts: text public only after moderation, contact details and moderators never."""
import json

import pytest
from django.contrib.auth.models import User
from django.test import Client

from layers.models import FeatureVersion, LayerGrant
from layers.permissions import can_moderate_reports
from portal import codes
from portal.report_input import ReportInput
from portal.report_models import Report, ReportModeration
from portal.reports import report_create
from tests.portal.conftest import area_planner, jpeg_bytes

pytestmark = pytest.mark.django_db
SECRET_TEXT = "Ranh giới phía bắc lấn sang hẻm 12, nhà tôi bị vẽ thiếu."
CONTACT = "nguoidan@example.vn"


def file(*, layer=None, feature=None, lon=None, lat=None, photo=None, text=SECRET_TEXT) -> Report:
    return report_create(report=ReportInput(category="boundary", text=text, layer=layer, feature=feature, lon=lon,
                                            lat=lat, contact=CONTACT, photo=photo))


@pytest.fixture
def reports(parcel, zone, inside, media):
    far = parcel.layer.features.order_by("-pk").first()  # the last parcel: elsewhere in the city
    return {
        "parcel": file(layer="parcels", feature=parcel.pk, photo=jpeg_bytes()),
        "point": file(lon=inside[0], lat=inside[1]),
        "zone": file(layer="planning-zones", feature=zone.pk),
        "far": file(layer="parcels", feature=far.pk),
    }


def queue_codes(client, query="") -> set[str]:
    page = client.get(f"/phan-anh/quan-ly/{query}")
    assert page.status_code == 200
    return {r.code for r in Report.objects.all() if f'id="r-{r.code}"' in page.content.decode()}


def test_anonymous_visitors_are_sent_to_log_in(client, reports):
    response = client.get("/phan-anh/quan-ly/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    assert client.post(f"/phan-anh/quan-ly/{reports['point'].code}/", {"status": "answered", "answer": "x"}).status_code == 302
    assert Report.objects.get(pk=reports["point"].pk).status == "received"


def test_parcel_editors_moderate_parcel_and_point_reports_not_zone_ones(client, planner, reports):
    client.force_login(planner)
    assert queue_codes(client) == {reports[k].code for k in ("parcel", "point", "far")}
    zone = reports["zone"]
    refused = client.post(f"/phan-anh/quan-ly/{zone.code}/", {"status": "answered", "answer": "Đã kiểm tra."})
    assert refused.status_code == 404
    assert Report.objects.get(pk=zone.pk).status == "received"
    assert not ReportModeration.objects.exists()


def test_an_area_grant_limits_the_queue_and_the_writes(client, demo_city, parcel, reports):
    user = area_planner(demo_city["parcels"], parcel)
    client.force_login(user)
    assert queue_codes(client) == {reports["parcel"].code, reports["point"].code}
    far = reports["far"]
    assert not can_moderate_reports(user, far.moderation_layer, far.point)
    assert client.post(f"/phan-anh/quan-ly/{far.code}/", {"status": "rejected"}).status_code == 404
    assert Report.objects.get(pk=far.pk).status == "received"
    assert client.post(f"/phan-anh/quan-ly/{reports['parcel'].code}/", {"status": "rejected"}).status_code == 302


def test_filter_by_status(client, planner, reports):
    client.force_login(planner)
    client.post(f"/phan-anh/quan-ly/{reports['point'].code}/", {"status": "answered", "answer": "Đã ghi nhận."})
    assert queue_codes(client, "?status=answered") == {reports["point"].code}
    assert reports["point"].code not in queue_codes(client, "?status=received")
    bad = client.get("/phan-anh/quan-ly/?status=<script>", HTTP_ACCEPT="text/html")
    assert bad.status_code == 400 and "<script>" not in bad.content.decode()


def test_answer_publishes_the_text_never_the_contact_or_the_moderator(client, planner, reports):
    report = reports["point"]
    public = Client()
    page = public.get(f"/phan-anh/{report.code}/").content.decode()
    assert SECRET_TEXT not in page and CONTACT not in page
    client.force_login(planner)
    answer = "Cảm ơn bạn; chúng tôi sẽ đo đạc lại trong tháng này."
    response = client.post(f"/phan-anh/quan-ly/{report.code}/", {"status": "answered", "answer": answer, "text_public": "1"})
    assert response.status_code == 302
    report.refresh_from_db()
    assert (report.status, report.answer, report.text_public) == ("answered", answer, True)
    step = ReportModeration.objects.get(report=report)
    assert step.by == planner and step.at and step.status == "answered"
    page = public.get(f"/phan-anh/{report.code}/").content.decode()
    assert SECRET_TEXT in page and answer in page and "Đã trả lời" in page
    assert CONTACT not in page and planner.username not in page
    api = public.get(f"/api/reports/{report.code}").json()
    assert api["text"] == SECRET_TEXT and api["answer"] == answer and api["status"] == "answered"
    assert CONTACT not in json.dumps(api, ensure_ascii=False) and planner.username not in json.dumps(api)


def test_an_answer_needs_text_and_a_rejection_never_publishes(client, planner, reports):
    client.force_login(planner)
    report = reports["point"]
    refused = client.post(f"/phan-anh/quan-ly/{report.code}/", {"status": "answered", "answer": ""}, HTTP_ACCEPT="text/html")
    assert refused.status_code == 400 and "/phan-anh/quan-ly/" in refused.content.decode()
    for status in ("received", "deleted", ""):
        assert client.post(f"/phan-anh/quan-ly/{report.code}/", {"status": status, "answer": "x"}).status_code == 400
    assert Report.objects.get(pk=report.pk).status == "received"
    client.post(f"/phan-anh/quan-ly/{report.code}/", {"status": "rejected", "answer": "Không đúng vị trí.", "text_public": "1"})
    report.refresh_from_db()
    assert report.status == "rejected" and not report.text_public
    assert SECRET_TEXT not in Client().get(f"/phan-anh/{report.code}/").content.decode()


def test_resolving_names_a_version_that_exists(client, planner, parcel, reports):
    client.force_login(planner)
    report = reports["parcel"]
    missing = client.post(f"/phan-anh/quan-ly/{report.code}/", {"status": "resolved", "answer": "Đã sửa.",
                                                                 "fixed_version": "999"})
    assert missing.status_code == 400
    other_feature = client.post(f"/phan-anh/quan-ly/{report.code}/", {
        "status": "resolved", "answer": "Đã sửa.", "fixed_feature": str(2**40), "fixed_version": "1"})
    assert other_feature.status_code == 400
    assert Report.objects.get(pk=report.pk).status == "received"
    version = FeatureVersion.objects.filter(feature_id=parcel.pk).order_by("-version").first().version
    done = client.post(f"/phan-anh/quan-ly/{report.code}/", {"status": "resolved", "answer": "Đã sửa ranh giới.",
                                                              "text_public": "1", "fixed_version": str(version)})
    assert done.status_code == 302
    report.refresh_from_db()
    assert (report.status, report.fixed_layer.slug, report.fixed_feature_id, report.fixed_version) == (
        "resolved", "parcels", parcel.pk, version)
    page = Client().get(f"/phan-anh/{report.code}/").content.decode()
    assert f"/history/parcels/{parcel.pk}/" in page and f"{parcel.pk}" in page
    fixed = Client().get(f"/api/reports/{report.code}").json()["fixed"]
    assert fixed == {"layer": "parcels", "feature": parcel.pk, "version": version,
                     "history_url": f"/history/parcels/{parcel.pk}/"}


def test_moderation_writes_need_the_csrf_token(planner, reports):
    client = Client(enforce_csrf_checks=True)
    client.force_login(planner)
    response = client.post(f"/phan-anh/quan-ly/{reports['point'].code}/", {"status": "answered", "answer": "Đã nhận."})
    assert response.status_code == 403
    assert Report.objects.get(pk=reports["point"].pk).status == "received"


def test_contact_shown_only_with_a_personal_data_grant(client, planner, demo_city, reports):
    client.force_login(planner)
    assert CONTACT not in client.get("/phan-anh/quan-ly/").content.decode()
    LayerGrant.objects.filter(user=planner).update(can_see_personal=True)
    assert CONTACT in client.get("/phan-anh/quan-ly/").content.decode()
    viewer = User.objects.create_user("personal-viewer")  # personal data but no edit grant: no queue at all
    LayerGrant.objects.create(layer=demo_city["parcels"], user=viewer, can_see_personal=True)
    client.force_login(viewer)
    assert CONTACT not in client.get("/phan-anh/quan-ly/").content.decode()


def test_photo_is_public_only_with_the_text(client, planner, reports):
    report = reports["parcel"]
    url = f"/phan-anh/{report.code}/anh.jpg"
    assert Client().get(url).status_code == 404
    client.force_login(planner)
    seen = client.get(url)
    assert seen.status_code == 200 and seen["Content-Type"] == "image/jpeg"
    client.post(f"/phan-anh/quan-ly/{report.code}/", {"status": "answered", "answer": "Đã xem ảnh.", "text_public": "1"})
    assert Client().get(url).status_code == 200


def test_status_page_of_unknown_or_tampered_codes_is_404(client, reports):
    code = reports["point"].code
    tampered = code[:-1] + ("0" if code[-1] != "0" else "1")
    for typed in (tampered, "AAAAAAAAA", "nope", "x" * 50):
        assert client.get(f"/phan-anh/{typed}/").status_code == 404
        assert client.get(f"/api/reports/{typed}").status_code == 404
    typed = codes.display(code).lower()
    assert client.get(f"/phan-anh/{typed}/")["Location"].endswith(f"/phan-anh/{code}/")
    assert client.get(f"/phan-anh/theo-doi/?ma={typed}")["Location"].endswith(f"/phan-anh/{code}/")


def test_public_counts_by_ward_and_category_without_text(client, reports):
    data = client.get("/api/reports/stats").json()["counts"]
    assert sum(row["count"] for row in data) == 4
    assert {row["category"] for row in data} == {"boundary"}
    assert all(set(row) == {"ward_code", "ward_name", "category", "status", "count"} for row in data)
    page = client.get("/phan-anh/thong-ke/").content.decode()
    assert reports["point"].ward_name in page
    assert SECRET_TEXT not in page and CONTACT not in page and SECRET_TEXT not in json.dumps(data)


def test_data_administrators_moderate_everything():
    admin = User.objects.create_superuser("report-admin")
    assert can_moderate_reports(admin, None, None)
    assert not can_moderate_reports(User.objects.create_user("nobody"), None, None)
