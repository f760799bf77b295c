"""Issue 16, item 3: every ward-name comparison of the lookup folds accents, đ, case, spaces and prefixes;
a lookup matching several wards or parcels offers the choices, never a guess; nothing says so."""
import re

import pytest
from django.contrib.auth.models import AnonymousUser
from django.db import connection
from django.urls import reverse

from layers import crosswalk
from layers.search import search
from layers.wards import fold, name_key, resolve_ward

ANON = AnonymousUser()
HTML = {"HTTP_ACCEPT": "text/html"}
THAO_DIEN_SPELLINGS = ["Thảo Điền", "thao dien", "THẢO ĐIỀN", "Thao Dien", "  thảo   điền ", "P. Thảo Điền",
                       "P.Thảo Điền", "p thao dien", "phuong thao dien", "Phường Thảo Điền", "PHƯỜNG THẢO ĐIỀN",
                       "Thao Dien ward", "Ward Thao Dien", "Thảo Ðiền", "Ｔｈａｏ Ｄｉｅｎ", "27088"]


@pytest.mark.parametrize("typed", THAO_DIEN_SPELLINGS)
def test_every_spelling_of_a_name_has_the_same_key(typed):
    assert name_key(typed) in ("thao dien", "27088")


def test_prefixes_are_only_taken_off_as_whole_words():
    assert name_key("Phú Hữu") == "phu huu" and name_key("Phước Long A") == "phuoc long a"
    assert name_key("P Phước Bình") == "phuoc binh" and name_key("phường") == "" and name_key("P.") == ""
    assert fold("Đặng  Văn\u00a0Bi") == "dang van bi"  # đ, a no-break space, doubled spaces


@pytest.mark.django_db
def test_python_and_sql_fold_agree_on_every_ward_name(demo_city):
    names = [r.former_name for r in crosswalk.rows()] + list(crosswalk.new_wards().values()) + ["ĐƯỜNG Số 14"]
    with connection.cursor() as cursor:
        cursor.execute("SELECT gisportal_fold(n) FROM unnest(%s::text[]) n", [names])
        assert [row[0] for row in cursor.fetchall()] == [fold(n) for n in names]


@pytest.mark.django_db
@pytest.mark.parametrize("typed", THAO_DIEN_SPELLINGS)
def test_the_resolver_finds_the_ward_however_it_is_typed(demo_city, typed):
    assert resolve_ward(ANON, typed)[0].name == "Thảo Điền"


def _lookup(client, ward, sheet, number):
    return client.get(reverse("lookup"), {"ward": ward, "sheet": sheet, "parcel": number}, **HTML)


def _choices(response) -> list[str]:
    html = response.content.decode()
    block = html.split('role="status"', 1)[1].split("</ul>", 1)[0] if 'role="status"' in html else ""
    return sorted(re.findall(r'href="(/thua-dat/[^"]+)"', block))


def _key_in_several(former_codes: list[str]) -> tuple[int, int, list[str]]:
    """A sheet and number that parcels of several of these former wards have (sheet numbers restart per ward)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT properties->>'map_sheet', properties->>'parcel_no', array_agg(properties->>'ward_code') "
            "FROM layers_feature f JOIN layers_layer l ON l.id = f.layer_id AND l.slug = 'parcels' "
            "WHERE properties->>'ward_code' = ANY(%s) GROUP BY 1, 2 HAVING count(*) >= 3 "
            "ORDER BY count(*) DESC, 1, 2 LIMIT 1", [former_codes])
        sheet, number, wards = cursor.fetchone()
    return int(sheet), int(number), wards


AN_KHANH_AREA = ["27088", "27091", "27094", "27115", "27118"]  # Thảo Điền, An Phú, An Khánh, An Lợi Đông, Thủ Thiêm


@pytest.mark.django_db
def test_an_khanh_with_and_without_accents_offers_the_same_choice(client, demo_city):
    sheet, number, _wards = _key_in_several(AN_KHANH_AREA)
    accented = _lookup(client, "An Khánh", sheet, number)
    assert accented.status_code == 200 and len(_choices(accented)) >= 2  # former An Khánh and the new ward's others
    for typed in ["An Khanh", "an khanh", "AN KHÁNH", "  An   Khánh ", "P. An Khánh", "phuong an khanh", "Phường An Khanh"]:
        response = _lookup(client, typed, sheet, number)
        assert response.status_code == 200 and _choices(response) == _choices(accented), typed


@pytest.mark.django_db
@pytest.mark.parametrize("typed", ["Thảo Điền", "thao dien", "P. Thảo Điền", "phuong thao dien", "THAO  DIEN", "27088"])
def test_a_single_match_goes_straight_to_the_parcel(client, demo_city, typed):
    response = _lookup(client, typed, 1, 1)
    assert response.status_code == 302 and response["Location"].endswith("/thua-dat/27088/1/1/")


@pytest.mark.django_db
def test_a_near_spelling_offers_a_choice_instead_of_guessing(client, demo_city):
    response = _lookup(client, "thao dienn", 1, 1)
    assert response.status_code == 200 and _choices(response) == ["/thua-dat/27088/1/1/"]


@pytest.mark.django_db
def test_nothing_found_says_so(client, demo_city):
    response = _lookup(client, "Thao Dien", 1, 999999)
    assert response.status_code == 404 and 'role="alert"' in response.content.decode()
    assert _lookup(client, "Phường Không Có", 1, 1).status_code == 400


@pytest.mark.django_db
def test_a_split_former_ward_offers_both_new_wards(client, demo_city):
    response = _lookup(client, "linh tay", 1, 999999)
    html = response.content.decode()
    assert response.status_code == 404
    suggested = html.split('role="alert"', 1)[1].split("</div>", 1)[0]
    assert "Linh Xuân" in suggested and "Thủ Đức" in suggested
    assert resolve_ward(ANON, "Linh Tay")[0].current_name == "Thủ Đức / Linh Xuân"
    ward_hit = next(h for h in search(ANON, "P. Linh Tay") if h.kind == "ward")  # the search box names both too
    assert ward_hit.label == "Linh Tây" and "Thủ Đức" in ward_hit.detail and "Linh Xuân" in ward_hit.detail
    form = client.get(reverse("lookup"), **HTML).content.decode()  # and the form's list of wards
    assert re.search(r'<option value="Linh Tây">[^<]*Thủ Đức / Linh Xuân', form)


def _parcels_in(new_code: str, former_code: str) -> list[tuple[int, int]]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT (p.properties->>'map_sheet')::int, (p.properties->>'parcel_no')::int "
            "FROM layers_feature p JOIN layers_layer l ON l.id = p.layer_id AND l.slug = 'parcels' "
            "JOIN layers_feature w ON w.layer_id = (SELECT id FROM layers_layer WHERE slug = 'admin-units') "
            "AND w.properties->>'level' = 'ward' AND w.properties->>'valid_to' IS NULL AND w.properties->>'code' = %s "
            "AND ST_Intersects(w.geom, ST_PointOnSurface(p.geom)) WHERE p.properties->>'ward_code' = %s ORDER BY 1, 2",
            [new_code, former_code])
        return cursor.fetchall()


@pytest.mark.django_db
def test_a_new_ward_name_searches_its_former_wards_and_only_its_part_of_a_split_one(client, demo_city):
    inside = _parcels_in("26824", "26818")  # Linh Tây's part in Thủ Đức
    outside = _parcels_in("26800", "26818")  # and its part in Linh Xuân
    assert inside and outside
    sheet, number = inside[0]
    response = _lookup(client, "thu duc", sheet, number)
    urls = [response["Location"]] if response.status_code == 302 else _choices(response)
    assert f"/thua-dat/26818/{sheet}/{number}/" in "".join(urls)
    sheet, number = outside[0]
    response = _lookup(client, "Phường Thủ Đức", sheet, number)
    urls = [response["Location"]] if response.status_code == 302 else _choices(response)
    assert f"/thua-dat/26818/{sheet}/{number}/" not in "".join(urls)
    response = _lookup(client, "Linh Xuân", sheet, number)  # a former and a new ward's name: both searched
    urls = [response["Location"]] if response.status_code == 302 else _choices(response)
    assert f"/thua-dat/26818/{sheet}/{number}/" in "".join(urls)
