"""Verifying an issued sheet (/xac-minh/{code}/): unchanged, changed (and what), unknown, mistyped or tampered
codes, re-issue from the history with the same content hash, and restricted layers never shown to a verifier."""
import datetime as dt

import pytest
import shapely
from django.contrib.auth.models import AnonymousUser, User
from django.contrib.gis.geos import GEOSGeometry
from django.urls import reverse
from django.utils import timezone
from shapely import affinity

from layers.models import Feature, LayerGrant
from portal.sheet_codes import ALPHABET, check_character, display, new_code, parse_code
from portal.sheet_models import IssuedSheet
from portal.sheet_text import number
from portal.sheets import content_hash, sheet_reissue
from layers.errors import InvalidParameter
from layers.sheet_facts import sheet_facts
from portal.sheets import sheet_layers
from tests.portal.sheet_helpers import history_mark, issue, later, parcels_in_zones, pdf_text

pytestmark = pytest.mark.django_db
HTML = {"HTTP_ACCEPT": "text/html"}
JSON = {"HTTP_ACCEPT": "application/json"}


@pytest.fixture
def parcel(demo_city):
    found = parcels_in_zones(demo_city["parcels"], demo_city["planning-zones"], at_least=2, limit=1)
    assert found
    return found[0]


def _verify(client, code: str, **extra):
    response = client.get(reverse("sheet-verify", kwargs={"code": code}), **HTML, **extra)
    assert response.status_code == 200, response.content[:300]
    html = response.content.decode()
    state = html.split('data-state="')[1].split('"')[0]
    return state, html


def _grown(geom):
    """The parcel a little larger (scaled about its centre by 1 %)."""
    grown = affinity.scale(shapely.from_wkt(geom.wkt), 1.01, 1.01, origin="centroid")
    return GEOSGeometry(grown.wkt, srid=4326)


def test_codes_catch_every_single_typo_and_every_neighbour_swap():
    code = new_code()
    assert parse_code(code) == code and parse_code(display(code).lower()) == code
    assert parse_code(code.replace("0", "O").replace("1", "I")) == code  # read aloud, typed back
    for i in range(len(code)):
        for symbol in ALPHABET:
            if symbol != code[i]:
                with pytest.raises(InvalidParameter):
                    parse_code(code[:i] + symbol + code[i + 1:])
        if i + 1 < len(code) and code[i] != code[i + 1]:
            with pytest.raises(InvalidParameter):
                parse_code(code[:i] + code[i + 1] + code[i] + code[i + 2:])
    for bad in ("", "ABC", "A" * 40, "ABCD-EFGH!", "ÀBCD-EFGHK", "ZZZZZZZZZ"):
        with pytest.raises(InvalidParameter):
            parse_code(bad)


def test_a_fresh_sheet_verifies_unchanged_and_shows_what_it_said(client, parcel):
    _response, code = issue(client, parcel)
    sheet = IssuedSheet.objects.get(code=code)
    state, html = _verify(client, code)
    assert state == "unchanged" and "không thay đổi" in html
    assert f"{number(sheet.content['area_m2'], 'vi')} m²" in html and sheet.content_hash in html
    assert all(zone["zone_code"] in html for zone in sheet.content["zones"])
    state, html = _verify(client, display(code).lower(), data={"lang": "en"})
    assert state == "unchanged" and "has not changed" in html
    assert client.get(reverse("sheet-verify-form"), {"code": display(code)}).url.endswith(f"/xac-minh/{code}/")


def test_after_an_edit_the_page_says_what_changed_and_the_reissue_keeps_the_hash(client, parcel, demo_city):
    response, code = issue(client, parcel)
    sheet = IssuedSheet.objects.get(code=code)
    original_text = pdf_text(response.content)
    mark = history_mark()
    parcel.geom = _grown(parcel.geom)
    parcel.save(update_fields=["geom"])
    zone = Feature.objects.get(layer=demo_city["planning-zones"], pk=sheet.content["zones"][0]["id"])
    zone.properties["far"] = 0.5
    zone.save(update_fields=["properties"])
    later(mark)

    state, html = _verify(client, code)
    assert state == "changed"
    changes = html.split('data-testid="changes">')[1].split("</ul>")[0]
    for part in ("diện tích", "tọa độ góc thửa", "chỉ tiêu quy hoạch", "diện tích từng phần"):
        assert part in changes
    assert "đồ án, số và ngày" not in changes  # the plan itself did not change
    assert "thửa liền kề" not in changes  # the neighbours did not change

    again = sheet_reissue(user=AnonymousUser(), sheet=sheet)
    assert content_hash(again.content) == sheet.content_hash  # the same sheet, from the history
    now = sheet_facts(parcel_id=parcel.pk, layers=sheet_layers(AnonymousUser()), at=timezone.now())
    assert content_hash(now.content) != sheet.content_hash
    reissued = client.get(reverse("sheet-reissue", kwargs={"code": code}))
    assert reissued.status_code == 200 and reissued["X-Sheet-Code"] == code
    text = pdf_text(reissued.content)
    assert f"Diện tích pháp lý {number(sheet.content['area_m2'], 'vi')} m²" in text
    assert text.split("Dữ liệu tại thời điểm")[1][:60] == original_text.split("Dữ liệu tại thời điểm")[1][:60]
    assert IssuedSheet.objects.count() == 1  # re-issuing stores nothing new


def test_a_deleted_parcel_and_a_tampered_record_say_so(client, parcel):
    code = issue(client, parcel)[1]
    sheet = IssuedSheet.objects.get(code=code)
    sheet.content["area_m2"] += 1000
    sheet.save(update_fields=["content"])
    state, html = _verify(client, code)
    assert state == "tampered" and "không khớp mã băm" in html
    code2 = issue(client, parcel)[1]
    mark = history_mark()
    Feature.objects.filter(pk=parcel.pk).delete()
    later(mark)
    state, html = _verify(client, code2)
    assert state == "gone" and "không còn" in html


def test_unknown_mistyped_and_malformed_codes(client, demo_city):
    body = "ABCDEFGH"
    unknown = body + check_character(body)
    response = client.get(reverse("sheet-verify", kwargs={"code": unknown}), **JSON)
    assert response.status_code == 404 and "Không có phiếu" in response.json()["description_vi"]
    assert "No sheet" in response.json()["description"]
    typo = unknown[:3] + ("X" if unknown[3] != "X" else "Y") + unknown[4:]
    response = client.get(reverse("sheet-verify", kwargs={"code": typo}), **JSON)
    assert response.status_code == 400 and "ký tự kiểm tra" in response.json()["description_vi"]
    assert "check character" in response.json()["description"]
    for bad in ("abc", "A" * 30, "%3Cscript%3E", "ABCD-EFGH%00K"):
        response = client.get(f"/xac-minh/{bad}/", **JSON)
        assert response.status_code == 400, bad
    assert client.get(reverse("sheet-reissue", kwargs={"code": unknown}), **JSON).status_code == 404
    assert client.get(reverse("sheet-verify-form"), {"code": "nope"}, **JSON).status_code == 400
    page = client.get(reverse("sheet-verify", kwargs={"code": typo}), **HTML)
    assert page.status_code == 400 and "ký tự kiểm tra" in page.content.decode()


@pytest.fixture
def restricted_zones(demo_city):
    zones = demo_city["planning-zones"]
    zones.is_public = False
    zones.save(update_fields=["is_public"])
    planner = User.objects.create_user("zone-planner")
    LayerGrant.objects.create(layer=zones, user=planner)
    return zones, planner


def test_a_planners_sheet_shows_restricted_zones_only_to_who_may_see_them(client, parcel, restricted_zones):
    zones, planner = restricted_zones
    client.force_login(planner)
    code = issue(client, parcel)[1]
    sheet = IssuedSheet.objects.get(code=code)
    assert "planning-zones" in sheet.content["layers"] and sheet.content["zones"]
    zone_codes = [z["zone_code"] for z in sheet.content["zones"]]
    state, html = _verify(client, code)
    assert state == "unchanged" and all(c in html for c in zone_codes)
    assert client.get(reverse("sheet-reissue", kwargs={"code": code})).status_code == 200

    client.logout()
    mark = history_mark()
    zone = Feature.objects.get(pk=sheet.content["zones"][0]["id"])
    zone.properties["max_floors"] = 99
    zone.save(update_fields=["properties"])
    later(mark)
    state, html = _verify(client, code)
    assert state == "changed" and 'data-testid="withheld"' in html and 'data-testid="zones-hidden"' in html
    assert not any(c in html for c in zone_codes) and "chỉ tiêu" not in html.split('data-testid="changes">')[1]
    assert "một phần bạn không có quyền xem" in html
    refused = client.get(reverse("sheet-reissue", kwargs={"code": code}), **JSON)
    assert refused.status_code == 403 and refused.json()["description_vi"] and refused.json()["description"]


def test_an_anonymous_sheet_leaves_restricted_layers_out(client, parcel, restricted_zones):
    response, code = issue(client, parcel)
    content = IssuedSheet.objects.get(code=code).content
    assert "zones" not in content and "planning-zones" not in content["layers"]
    text = pdf_text(response.content)
    assert "không có thông tin (lớp dữ liệu không công khai)" in text


def test_a_sheet_of_a_restricted_parcels_layer_shows_a_verifier_nothing_of_it(client, parcel, demo_city):
    parcels = demo_city["parcels"]
    parcels.is_public = False
    parcels.save(update_fields=["is_public"])
    officer = User.objects.create_user("land-officer-sheet")
    LayerGrant.objects.create(layer=parcels, user=officer)
    client.force_login(officer)
    code = issue(client, parcel)[1]
    sheet = IssuedSheet.objects.get(code=code)
    client.logout()
    mark = history_mark()
    parcel.geom = _grown(parcel.geom)
    parcel.save(update_fields=["geom"])
    later(mark)
    response = client.get(reverse("sheet-verify", kwargs={"code": code}), **HTML)
    html = response.content.decode()
    assert response.status_code == 200 and 'data-state="changed"' in html and "private" in response["Cache-Control"]
    assert 'data-testid="said"' not in html and number(sheet.content["area_m2"], "vi") not in html
    assert "diện tích" not in html.split('data-testid="changes">')[1].split("</ul>")[0]
    assert "một phần bạn không có quyền xem" in html


def test_a_sheets_moment_waits_for_transactions_still_open(db):
    """A version is dated at its transaction's start but seen at its commit: a sheet's moment is before any open
    transaction, so re-reading that moment later finds nothing new (the same content hash)."""
    import psycopg2
    from django.db import connection

    from layers.sheet_facts import settled_moment

    assert settled_moment() <= timezone.now()
    other = psycopg2.connect(**connection.get_connection_params())
    try:
        with other.cursor() as cursor:
            cursor.execute("SELECT now()")  # opens a transaction (psycopg2 does not autocommit)
            started = cursor.fetchone()[0]
        assert settled_moment() < started
        assert settled_moment() >= started - dt.timedelta(seconds=600)  # an abandoned transaction holds it back so far
    finally:
        other.rollback()
        other.close()
