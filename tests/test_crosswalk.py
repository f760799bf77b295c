"""The 2025 ward crosswalk: the reviewed table, the demo city against it row by row, split wards divided."""
import pytest
from django.contrib.auth.models import AnonymousUser
from django.db import connection
from django.urls import reverse

from demo.city import generate_city
from demo.wards import FORMER_WARDS, NEW_WARDS, SUCCESSORS
from layers import crosswalk
from layers.lookup import parcel_report
from layers.models import Feature
from layers.wards import all_wards, former_wards_of, resolve_ward

ANON = AnonymousUser()
SPLITS = {  # the four splits, by name
    "Linh Tây": {"Linh Xuân", "Thủ Đức"},
    "Linh Đông": {"Hiệp Bình", "Thủ Đức"},
    "Long Thạnh Mỹ": {"Long Bình", "Tăng Nhơn Phú"},
    "An Phú": {"An Khánh", "Bình Trưng"},
}
NEW_CODES = {  # the statistics office's codes of the 12 wards since 1 July 2025
    "26800": "Linh Xuân", "26803": "Tam Bình", "26809": "Hiệp Bình", "26824": "Thủ Đức", "26833": "Long Bình",
    "26842": "Tăng Nhơn Phú", "26848": "Phước Long", "26857": "Long Phước", "26860": "Long Trường",
    "27094": "An Khánh", "27097": "Bình Trưng", "27112": "Cát Lái",
}


def test_the_table_has_34_former_wards_12_new_ones_and_exactly_the_four_splits():
    rows = crosswalk.rows()
    assert len(rows) == 34 and len({r.former_code for r in rows}) == 34
    assert crosswalk.new_wards() == NEW_CODES
    assert {r.former_name: {s.name for s in r.successors} for r in rows if r.split} == SPLITS
    assert all(len(r.successors) == (2 if r.split else 1) for r in rows)
    by_name = {r.former_name: r for r in rows}
    assert by_name["Cát Lái"].former_code == "27109" and "27106" not in crosswalk.by_former_code()
    assert by_name["An Khánh"].former_code == "27094" and by_name["Thủ Thiêm"].successors[0].code == "27094"
    assert by_name["Hiệp Bình Chánh"].successors == (crosswalk.Successor("26809", "Hiệp Bình"),)
    # Every new ward takes at least one former ward whole (the demo builds it around them).
    assert {r.successors[0].code for r in rows if not r.split} == set(NEW_CODES)


def test_the_demo_wards_follow_the_table():
    table = crosswalk.by_former_code()
    assert [(code, name) for code, name, _, _ in FORMER_WARDS] == [(r.former_code, r.former_name) for r in crosswalk.rows()]
    assert NEW_WARDS == NEW_CODES
    assert all(SUCCESSORS[code] == tuple(s.code for s in table[code].successors) for code in table)


def test_the_generated_new_wards_are_the_former_wards_and_the_parts_of_split_ones():
    city = generate_city(parcels=800, seed=5, zones=40)
    new = {w["code"]: w["geom"] for w in city.new_wards}
    assert set(new) == set(NEW_CODES) and all(g.geom_type == "Polygon" for g in new.values())  # each in one piece
    for ward in city.wards:
        shares = {code: g.intersection(ward["geom"]).area / ward["geom"].area for code, g in new.items()}
        holders = {code for code, share in shares.items() if share > 0.01}
        assert holders == set(ward["new_codes"]), ward["name"]
        assert sum(shares.values()) == pytest.approx(1.0, abs=1e-6)


def _rows(sql: str, params=None) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params or [])
        return cursor.fetchall()


_UNITS = ("SELECT f.geom, f.properties p FROM layers_feature f JOIN layers_layer l ON l.id = f.layer_id "
          "WHERE l.slug = 'admin-units' AND f.properties->>'level' = 'ward'")


@pytest.mark.django_db
def test_the_loaded_admin_units_agree_with_the_table_row_by_row(demo_city):
    former = dict(_rows(f"SELECT p->>'code', p->>'name' FROM ({_UNITS}) w WHERE p->>'valid_to' IS NOT NULL"))
    current = dict(_rows(f"SELECT p->>'code', p->>'name' FROM ({_UNITS}) w WHERE p->>'valid_to' IS NULL"))
    assert former == {r.former_code: r.former_name for r in crosswalk.rows()}
    assert current == NEW_CODES
    overlaps = _rows(
        f"SELECT o.p->>'code', array_agg(n.p->>'code' ORDER BY n.p->>'code') FROM ({_UNITS}) o JOIN ({_UNITS}) n "
        "ON o.p->>'valid_to' IS NOT NULL AND n.p->>'valid_to' IS NULL AND ST_Intersects(o.geom, n.geom) "
        "AND ST_Area(ST_Intersection(o.geom, n.geom)) > 0.01 * ST_Area(o.geom) GROUP BY 1")
    for code, holders in overlaps:  # row by row: the boundaries say what the table says
        assert holders == sorted(s.code for s in crosswalk.successors_of(code)), code
    assert len(overlaps) == 34
    wards = {w.code: w for w in all_wards(ANON) if w.former}
    assert {w.name: {s.name for s in w.successors} for w in wards.values() if w.split} == SPLITS
    assert {w.name for w in former_wards_of(ANON, "26824")} == {"Linh Chiểu", "Linh Tây", "Linh Đông", "Bình Thọ", "Trường Thọ"}
    assert resolve_ward(ANON, "Linh Tây")[0].current_name == "Thủ Đức / Linh Xuân"  # the source's main one first


_SPLIT_PARCELS = f"""
SELECT p.id, p.properties->>'ward_code', n.p->>'code'
FROM layers_feature p JOIN layers_layer l ON l.id = p.layer_id AND l.slug = 'parcels'
JOIN ({_UNITS}) n ON n.p->>'valid_to' IS NULL AND ST_Intersects(n.geom, ST_PointOnSurface(p.geom))
WHERE p.properties->>'ward_code' = ANY(%s)
"""


@pytest.mark.django_db
def test_each_split_wards_parcels_lie_in_both_new_wards_and_the_page_names_the_right_one(client, demo_city):
    splits = [r for r in crosswalk.rows() if r.split]
    rows = _rows(_SPLIT_PARCELS, [[r.former_code for r in splits]])
    for row in splits:
        mine = [(pk, now) for pk, former, now in rows if former == row.former_code]
        for successor in row.successors:
            inside = [pk for pk, now in mine if now == successor.code]
            assert inside, f"no parcel of {row.former_name} lies in {successor.name}"
            parcel = Feature.objects.get(pk=inside[0])
            assert parcel_report(ANON, parcel).current_ward.code == successor.code
            p = parcel.properties
            html = client.get(reverse("parcel", kwargs={"ward": p["ward_code"], "sheet": p["map_sheet"],
                                                        "number": p["parcel_no"]}), HTTP_ACCEPT="text/html").content.decode()
            assert f'data-code="{successor.code}"' in html and successor.name in html
            other = next(s for s in row.successors if s != successor)
            assert f'data-code="{other.code}"' not in html
        assert {now for _pk, now in mine} == {s.code for s in row.successors}  # nowhere else
