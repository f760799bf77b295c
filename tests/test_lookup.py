"""Planning lookup, click-to-see, wards across the 2025 merger, and the search box (layers/)."""
import pytest
from django.contrib.auth.models import AnonymousUser
from django.db import connection

from layers.errors import InvalidParameter, NotFound
from layers.lookup import features_at, parcel_by_key, parcel_report
from layers.models import Feature
from layers.search import LABEL_SQL, HAS_LABEL, search
from layers.wards import fold, resolve_ward

pytestmark = pytest.mark.django_db
ANON = AnonymousUser()


@pytest.fixture
def parcel(demo_city):
    return Feature.objects.filter(layer=demo_city["parcels"]).order_by("id")[100]


def _key(parcel):
    p = parcel.properties
    return p["ward_code"], p["map_sheet"], p["parcel_no"]


def test_fold_drops_vietnamese_diacritics():
    assert fold("Thảo Điền") == "thao dien" and fold("  HIỆP   Bình Chánh ") == "hiep binh chanh"


def test_former_ward_names_lead_to_the_current_unit(demo_city):
    thao_dien = resolve_ward(ANON, "thao dien")[0]
    assert thao_dien.name == "Thảo Điền" and thao_dien.former and thao_dien.current_name == "An Khánh"
    assert resolve_ward(ANON, "Phường Thủ Thiêm")[0].current_name == "An Khánh"
    assert resolve_ward(ANON, "thao dienn")[0].name == "Thảo Điền"  # a typo
    assert resolve_ward(ANON, "Linh Trung")[0].current_name == "Linh Xuân"
    assert resolve_ward(ANON, "no such ward at all") == []


def test_parcel_by_key_and_unknown_keys(parcel):
    assert parcel_by_key(ANON, *_key(parcel)).pk == parcel.pk
    ward, sheet, _ = _key(parcel)
    with pytest.raises(NotFound) as missing:
        parcel_by_key(ANON, ward, sheet, 99999)
    assert "99999" in missing.value.message_vi and "99999" in missing.value.message_en


def test_zone_areas_add_up_to_the_legal_area(parcel):
    report = parcel_report(ANON, parcel)
    assert report.area_m2 == pytest.approx(parcel.properties["legal_area"], abs=0.06)
    assert report.zones, "zones tile the city, so every parcel meets at least one"
    assert sum(z.area_m2 for z in report.zones) == pytest.approx(report.area_m2, rel=0.01)
    assert sum(z.percent for z in report.zones) == pytest.approx(100.0, abs=1.0)
    assert all(z.properties["zone_code"] and z.function_label[0] for z in report.zones)
    assert report.ward.code == parcel.properties["ward_code"] and report.ward.current_name
    assert report.land_use[0] and report.raster_values and report.raster_values[0]["layer"].slug == "elevation"
    assert len(report.neighbours_geojson["features"]) >= 1
    assert {layer.slug for layer in report.data_versions} >= {"parcels", "planning-zones", "road-reserves"}


def test_road_reserve_area_is_the_overlap_with_the_strips(demo_city):
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT p.id FROM layers_feature p JOIN layers_feature r ON r.layer_id = %s AND p.geom && r.geom "
            "AND ST_Area(ST_Intersection(p.geom, r.geom)) > 0 WHERE p.layer_id = %s LIMIT 1",
            [demo_city["road-reserves"].pk, demo_city["parcels"].pk],
        )
        row = cursor.fetchone()
    assert row, "the demo's parcels reach into some road reserves"
    report = parcel_report(ANON, Feature.objects.get(pk=row[0]))
    assert 0 < report.road_reserve_m2 < report.area_m2


def test_restricted_zones_never_reach_the_lookup(parcel, demo_city):
    zones = demo_city["planning-zones"]
    zones.is_public = False
    zones.save(update_fields=["is_public"])
    try:
        report = parcel_report(ANON, parcel)
        assert report.zones == [] and zones not in report.data_versions
        point = parcel.geom.point_on_surface
        found = features_at(ANON, lon=point.x, lat=point.y, zoom=17, slugs=["parcels", "planning-zones"])
        assert [r["layer"].slug for r in found] == ["parcels"]
    finally:
        zones.is_public = True
        zones.save(update_fields=["is_public"])


def test_click_lists_each_visible_layer_at_the_point(parcel):
    point = parcel.geom.point_on_surface
    found = features_at(ANON, lon=point.x, lat=point.y, zoom=17, slugs=["parcels", "planning-zones", "admin-units"])
    by_layer = {r["layer"].slug: r for r in found}
    assert [f["id"] for f in by_layer["parcels"]["features"]] == [parcel.pk]
    assert by_layer["planning-zones"]["features"] and by_layer["admin-units"]["features"]
    assert features_at(ANON, lon=105.0, lat=20.0, zoom=17, slugs=["parcels"]) == []  # outside the city: nothing
    with pytest.raises(InvalidParameter):
        features_at(ANON, lon=float("nan"), lat=10.8, zoom=17, slugs=["parcels"])


def test_search_finds_parcels_wards_and_labels(parcel):
    ward_code, sheet, number = _key(parcel)
    ward = next(w for w in resolve_ward(ANON, ward_code))
    hits = search(ANON, f"{fold(ward.name)} / {sheet} / {number}")
    assert hits[0].kind == "parcel" and hits[0].feature_id == parcel.pk
    assert search(ANON, "thu thiem")[0].label == "Thủ Thiêm"
    address = parcel.properties["address"]
    assert any(h.feature_id == parcel.pk for h in search(ANON, fold(address), limit=10))


@pytest.mark.parametrize("hostile", ["'; DROP TABLE layers_feature; --", "%%%%", "_", "\\", "\x00\x01", "ä" * 5000, "<script>"])
def test_search_survives_hostile_input(demo_city, hostile):
    search(ANON, hostile)  # no exception
    assert Feature.objects.filter(layer=demo_city["parcels"]).exists()


def test_label_search_uses_the_trigram_index(demo_city):
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN SELECT id FROM layers_feature WHERE {HAS_LABEL} AND {LABEL_SQL} LIKE %s", ["%thao dien%"])
        plan = "\n".join(row[0] for row in cursor.fetchall())
        # layers_feature is partitioned by layer: the plan names each partition's copy of the index.
        cursor.execute("SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
                       "WHERE i.inhparent = 'feature_label_trgm'::regclass")
        copies = [row[0] for row in cursor.fetchall()]
    assert copies and any(name in plan for name in copies)
