"""Abuse limits: per client address and per device, 429 with Retry-After and a vi/en message; nothing stored."""
import json

import pytest

from portal.report_models import Report
from tests.portal.conftest import stored_files

pytestmark = pytest.mark.django_db


def body(inside):
    return json.dumps({"category": "other", "text": "Thông tin ở đây chưa đúng.", "lon": inside[0], "lat": inside[1]})


def test_per_device_limit(client, inside, media, settings):
    settings.GISPORTAL_REPORTS_PER_DEVICE, settings.GISPORTAL_REPORTS_PER_IP = 2, 100
    device = {"HTTP_X_DEVICE_ID": "device-aaaaaaaaaaaaaaaa"}
    for _ in range(2):
        assert client.post("/api/reports", body(inside), content_type="application/json", **device).status_code == 201
    refused = client.post("/api/reports", body(inside), content_type="application/json", **device)
    assert refused.status_code == 429
    assert settings.GISPORTAL_REPORTS_WINDOW - 60 < int(refused["Retry-After"]) <= settings.GISPORTAL_REPORTS_WINDOW
    assert "phản ánh" in refused.json()["description_vi"] and "reports" in refused.json()["description"]
    assert Report.objects.count() == 2
    other = client.post("/api/reports", body(inside), content_type="application/json",
                        HTTP_X_DEVICE_ID="device-bbbbbbbbbbbbbbbb")
    assert other.status_code == 201  # another device on the same address still may


def test_per_address_limit_holds_whatever_device_id_is_sent(client, inside, media, settings):
    settings.GISPORTAL_REPORTS_PER_DEVICE, settings.GISPORTAL_REPORTS_PER_IP = 100, 3
    statuses = [client.post("/api/reports", body(inside), content_type="application/json",
                            HTTP_X_DEVICE_ID=f"fresh-device-{i:08d}").status_code for i in range(5)]
    assert statuses == [201, 201, 201, 429, 429]
    assert Report.objects.count() == 3
    elsewhere = client.post("/api/reports", body(inside), content_type="application/json", REMOTE_ADDR="203.0.113.9")
    assert elsewhere.status_code == 201


def test_form_counts_by_its_device_cookie_and_says_so_on_the_page(client, inside, media, settings):
    settings.GISPORTAL_REPORTS_PER_DEVICE, settings.GISPORTAL_REPORTS_PER_IP = 1, 100
    client.get("/phan-anh/")  # sets the device cookie
    form = {"category": "other", "text": "Thông tin ở đây chưa đúng.", "lon": str(inside[0]), "lat": str(inside[1])}
    assert client.post("/phan-anh/", form).status_code == 302
    refused = client.post("/phan-anh/", form, HTTP_ACCEPT="text/html")
    assert refused.status_code == 429 and refused["Retry-After"]
    assert "1022" in refused.content.decode()
    assert Report.objects.count() == 1 and len(stored_files(media)) == 0
