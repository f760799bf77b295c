"""Issue 16's reports: what a resident typed and what a planner answered is shown as text wherever it appears (the
status page and its JSON, the moderation queue and its map's data, the counts, the form shown again after a
refusal); and a resident's contact details never leave through a public door (the API's own answer included)."""
import json
import re

import pytest
from django.contrib.auth.models import User
from django.test import Client

from layers.models import Feature, LayerGrant
from portal.report_models import Report

pytestmark = pytest.mark.django_db

PAYLOADS = ['<script>alert("x1")</script>', '"><img src=x onerror=alert(2)>', "javascript:alert(3)",
            "</script><script>alert(4)</script>", "<svg/onload=alert(5)>", "{{ 7*7 }}{% debug %}",
            "'; alert(6); //", "<a href=\"javascript:alert(7)\">bấm</a>"]
RAW = [re.compile(p) for p in (r"<script>alert", r"<img src=x", r"<svg/onload", r'href="javascript:', r"href='javascript:",
                               r"</script><script>")]
CONTACT = "0909123456"


@pytest.fixture
def setting(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.GISPORTAL_REPORTS_PER_IP = settings.GISPORTAL_REPORTS_PER_DEVICE = 10**6
    return settings


@pytest.fixture
def filed(setting, demo_city) -> tuple[Report, Feature]:
    parcel = Feature.objects.filter(layer=demo_city["parcels"]).order_by("pk").first()
    text = " | ".join(PAYLOADS)
    response = Client().post("/api/reports", json.dumps({"category": "area", "text": text, "layer": "parcels",
                                                          "feature": parcel.pk, "contact": CONTACT}),
                             content_type="application/json")
    assert response.status_code == 201, response.content[:300]
    assert CONTACT not in response.content.decode(), "the API's answer carries the contact"
    return Report.objects.get(code=response.json()["code"]), parcel


def _no_raw_markup(html: str, where: str) -> None:
    for pattern in RAW:
        assert not pattern.search(html), f"{where}: unescaped {pattern.pattern!r}"


def _planner(demo_city, name: str, *, personal: bool) -> User:
    user = User.objects.create_user(name)
    LayerGrant.objects.create(layer=demo_city["parcels"], user=user, can_edit=True, can_see_personal=personal)
    return user


def test_report_text_and_answers_are_shown_as_text_everywhere(client, demo_city, filed):
    report, _ = filed
    planner = _planner(demo_city, "safety-planner", personal=True)
    client.force_login(planner)
    queue = client.get("/phan-anh/quan-ly/").content.decode()
    assert report.code in queue and "&lt;script&gt;alert" in queue
    _no_raw_markup(queue, "queue")
    points = json.loads(queue.split('id="queue-points" type="application/json">')[1].split("</script>")[0])
    assert any(p["code"] == report.code for p in points)
    answer = " ".join(PAYLOADS)
    moderated = client.post(f"/phan-anh/quan-ly/{report.code}/", {"status": "answered", "answer": answer,
                                                                   "text_public": "1"})
    assert moderated.status_code == 302, moderated.content[:300]
    _no_raw_markup(client.get("/phan-anh/quan-ly/").content.decode(), "queue after the answer")
    client.logout()
    page = client.get(f"/phan-anh/{report.code}/").content.decode()
    assert "&lt;script&gt;alert" in page and "onerror=alert(2)" in page  # shown, as text
    _no_raw_markup(page, "status page")
    data = client.get(f"/api/reports/{report.code}")
    assert data["Content-Type"].startswith("application/json") and data.json()["text"] == report.text
    assert data.json()["answer"] == answer
    for path in ("/phan-anh/thong-ke/", "/api/reports/stats"):
        _no_raw_markup(client.get(path).content.decode(), path)


def test_the_form_shown_again_after_a_refusal_escapes_what_was_typed(setting, demo_city):
    client = Client()
    text = " ".join(PAYLOADS)
    response = client.post("/phan-anh/", {"category": "no-such", "text": text, "lon": "106.7", "lat": "10.8",
                                          "layer": '"><script>alert(8)</script>'})
    assert response.status_code == 400
    html = response.content.decode()
    assert "&lt;script&gt;" in html
    _no_raw_markup(html, "the form again")
    assert not Report.objects.exists()


def test_contact_details_never_leave_through_a_public_door_nor_to_a_planner_without_a_personal_grant(
        client, demo_city, filed):
    report, _ = filed
    planner = _planner(demo_city, "plain-planner", personal=False)
    client.force_login(planner)
    client.post(f"/phan-anh/quan-ly/{report.code}/", {"status": "answered", "answer": "Đã xem", "text_public": "1"})
    queue = client.get("/phan-anh/quan-ly/").content.decode()
    assert report.code in queue and CONTACT not in queue
    client.logout()
    for path in (f"/phan-anh/{report.code}/", f"/api/reports/{report.code}", "/phan-anh/thong-ke/",
                 "/api/reports/stats", f"/phan-anh/{report.code}/anh.jpg", "/phan-anh/"):
        body = client.get(path).content.decode("utf-8", "replace")
        assert CONTACT not in body and "plain-planner" not in body, path
    client.force_login(_planner(demo_city, "personal-planner", personal=True))
    assert CONTACT in client.get("/phan-anh/quan-ly/").content.decode(), "a planner with the grant sees it"


def test_a_catalog_thumbnail_is_never_coloured_by_a_personal_field(client, settings, tmp_path):
    """A style naming a personal field (the owner) is drawn as the layer's unstyled preview: no owner's colour."""
    import io

    from django.contrib.auth.models import User as Users
    from PIL import Image

    from tests.authz_matrix import State, schema
    from tests.factories import make_feature, make_parcel_layer, square

    layer = make_parcel_layer(slug="thumb-pii", is_public=True, schema=schema(State("thp", True, True)))
    for i, owner in enumerate(("Nguyễn Văn Thumbred", "Trần Thị Thumbgreen")):
        make_feature(layer, square(106.70 + i * 0.001, 10.80), {"ward_code": "26794", "map_sheet": 1, "parcel_no": i + 1,
                                                                "land_use": "ODT", "chu_su_dung": owner})
    client.force_login(Users.objects.create_superuser("thumb-admin"))

    def pixels(style: dict) -> set:
        layer.style = style
        layer.save(update_fields=["style"])
        response = client.get(f"/tiles/thumbnail/{layer.slug}.png")
        assert response.status_code == 200, response.content[:200]
        with Image.open(io.BytesIO(b"".join(response.streaming_content) if response.streaming
                                   else response.content)) as image:
            return set(image.convert("RGB").getdata())

    plain = pixels({})
    owned = pixels({"attribute": "chu_su_dung", "colors": {"Nguyễn Văn Thumbred": "#ff0000",
                                                           "Trần Thị Thumbgreen": "#00ff00"}})
    assert owned == plain and (255, 0, 0) not in owned and (0, 255, 0) not in owned
