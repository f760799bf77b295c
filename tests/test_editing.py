"""Planners' edits: grants and areas, validation, no lost updates, history written by the database."""
import datetime as dt

import pytest
from django.contrib.auth.models import Group, User
from django.contrib.gis.geos import LineString, MultiPolygon, Point, Polygon
from django.db import connection

from layers.editing import EditForbidden, FeatureNotFound, OutsideEditArea, NotSplittable, SplitMissed, StaleFeature, feature_create, \
    feature_delete, feature_revert, feature_split, feature_update, run_revert
from layers.history import feature_versions, layer_as_of, layer_diff
from layers.models import Feature, FeatureVersion, LayerGrant
from layers.selectors import layer_for, layers_visible_to
from layers.errors import InvalidParameter, UnknownLayer
from layers.validation import ValidationFailed
from tests.factories import age_history, make_feature, make_layer, make_parcel_layer, square

pytestmark = pytest.mark.django_db
LON, LAT = 106.7500, 10.8000
PARCEL = {"ward_code": "27088", "map_sheet": 1, "parcel_no": 1, "land_use": "ODT", "legal_area": 300.0}


@pytest.fixture
def layer():
    return make_parcel_layer(slug="edit-parcels")


@pytest.fixture
def planner(layer):
    user = User.objects.create_user("planner")
    LayerGrant.objects.create(layer=layer, user=user, can_edit=True)
    return user


def test_create_update_delete_are_versioned_by_the_database(layer, planner):
    feature = feature_create(layer=layer, geom=square(LON, LAT, 0.0002), properties=PARCEL, user=planner, comment="new")
    assert feature.version == 1
    moved = feature_update(layer=layer, feature_id=feature.pk, expected_version=1, user=planner,
                           geom=square(LON + 0.0001, LAT, 0.0002), comment="moved east")
    assert moved.version == 2
    feature_delete(layer=layer, feature_id=feature.pk, expected_version=2, user=planner, comment="gone")
    versions = feature_versions(feature.pk)
    assert [(v["op"], v["version"], v["changed_by"], v["comment"]) for v in versions] == [
        ("insert", 1, "planner", "new"), ("update", 2, "planner", "moved east"), ("delete", 2, "planner", "gone")]
    layer.refresh_from_db()
    assert layer.feature_count == 0


def test_a_stale_save_is_refused_and_shows_the_current_feature(layer, planner):
    feature = feature_create(layer=layer, geom=square(LON, LAT, 0.0002), properties=PARCEL, user=planner)
    feature_update(layer=layer, feature_id=feature.pk, expected_version=1, user=planner, properties={**PARCEL, "address": "A"})
    with pytest.raises(StaleFeature) as stale:
        feature_update(layer=layer, feature_id=feature.pk, expected_version=1, user=planner, properties={**PARCEL, "address": "B"})
    assert stale.value.status == 409 and stale.value.current.properties["address"] == "A"
    assert Feature.objects.get(pk=feature.pk).properties["address"] == "A"


def test_raw_sql_writes_are_recorded_too(layer):
    feature = make_feature(layer, square(LON, LAT), PARCEL)
    with connection.cursor() as cursor:
        cursor.execute("UPDATE layers_feature SET properties = properties || '{\"address\": \"raw\"}' WHERE id = %s", [feature.pk])
        cursor.execute("UPDATE layers_feature SET properties = properties WHERE id = %s", [feature.pk])  # no change
    ops = list(FeatureVersion.objects.filter(feature_id=feature.pk).values_list("op", "version"))
    assert ops == [("insert", 1), ("update", 2)]


def test_nobody_edits_without_a_grant_and_only_inside_the_granted_area(layer):
    stranger = User.objects.create_user("stranger")
    with pytest.raises(EditForbidden):
        feature_create(layer=layer, geom=square(LON, LAT, 0.0002), properties=PARCEL, user=stranger)
    ward_office = Group.objects.create(name="ward office")
    officer = User.objects.create_user("officer")
    officer.groups.add(ward_office)
    area = MultiPolygon(Polygon.from_bbox((LON - 0.001, LAT - 0.001, LON + 0.001, LAT + 0.001)), srid=4326)
    LayerGrant.objects.create(layer=layer, group=ward_office, can_edit=True, area=area, area_label="Thảo Điền")
    inside = feature_create(layer=layer, geom=square(LON, LAT, 0.0002), properties=PARCEL, user=officer)
    # Outside the area is a refusal of the right (403) with its own message, not a bad value (issue 11).
    with pytest.raises(OutsideEditArea) as outside:
        feature_create(layer=layer, geom=square(LON + 0.01, LAT, 0.0002), properties={**PARCEL, "parcel_no": 2}, user=officer)
    assert outside.value.status == 403 and "outside the area you may edit" in outside.value.message_en
    assert "ngoài khu vực bạn được phép chỉnh sửa" in outside.value.message_vi
    with pytest.raises(OutsideEditArea):  # moving its own parcel out of the area
        feature_update(layer=layer, feature_id=inside.pk, expected_version=1, user=officer, geom=square(LON + 0.01, LAT, 0.0002))
    assert Feature.objects.filter(layer=layer).count() == 1 and Feature.objects.get(pk=inside.pk).version == 1


def test_validation_names_each_problem(demo_city, layer, planner):
    bowtie = Polygon(((LON, LAT), (LON + 0.001, LAT + 0.001), (LON + 0.001, LAT), (LON, LAT + 0.001), (LON, LAT)), srid=4326)
    with pytest.raises(ValidationFailed) as invalid:
        feature_create(layer=layer, geom=bowtie, properties={**PARCEL, "land_use": "XXX", "map_sheet": "abc"}, user=planner)
    assert {p.field for p in invalid.value.problems} == {"geometry", "land_use", "map_sheet"}
    feature_create(layer=layer, geom=square(LON, LAT, 0.0002), properties=PARCEL, user=planner)
    with pytest.raises(ValidationFailed) as clash:  # same key, overlapping the first parcel
        feature_create(layer=layer, geom=square(LON + 0.0001, LAT, 0.0002), properties=PARCEL, user=planner)
    assert {p.field for p in clash.value.problems} == {"parcel_no", "geometry"}
    with pytest.raises(ValidationFailed) as far:
        feature_create(layer=layer, geom=square(105.0, 21.0, 0.0002), properties={**PARCEL, "parcel_no": 9}, user=planner)
    assert "outside the city" in far.value.message_en  # Hà Nội, far from the demo city's boundary


def test_a_feature_of_another_layer_is_not_found(layer, planner):
    other = make_parcel_layer(slug="other-parcels")
    stranger_feature = make_feature(other, square(LON, LAT), PARCEL)
    with pytest.raises(FeatureNotFound):
        feature_update(layer=layer, feature_id=stranger_feature.pk, expected_version=1, user=planner, properties=PARCEL)
    assert Feature.objects.get(pk=stranger_feature.pk).version == 1


def test_as_of_diff_and_revert(layer, planner):
    feature = feature_create(layer=layer, geom=square(LON, LAT, 0.0002), properties=PARCEL, user=planner)
    age_history(feature.pk, 2)
    feature_update(layer=layer, feature_id=feature.pk, expected_version=1, user=planner, geom=square(LON, LAT, 0.0003))
    added = feature_create(layer=layer, geom=square(LON + 0.001, LAT, 0.0002), properties={**PARCEL, "parcel_no": 2}, user=planner)
    yesterday = dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=1)
    past = layer_as_of(layer, yesterday)
    assert [(f["id"], f["version"]) for f in past] == [(feature.pk, 1)]
    now = dt.datetime.now(dt.timezone.utc) + dt.timedelta(seconds=1)
    diff = layer_diff(layer, yesterday, now)
    assert [r["id"] for r in diff["added"]] == [added.pk] and diff["removed"] == []
    changed = diff["changed"][0]
    assert changed["id"] == feature.pk and changed["area_after"] > changed["area_before"] * 2
    reverted = feature_revert(layer=layer, feature_id=feature.pk, to_version=1, expected_version=2, user=planner)
    assert reverted.version == 3 and reverted.geom.equals_exact(square(LON, LAT, 0.0002), 1e-12)


def test_a_deleted_feature_comes_back_with_its_history(layer, planner):
    feature = feature_create(layer=layer, geom=square(LON, LAT, 0.0002), properties=PARCEL, user=planner)
    feature_delete(layer=layer, feature_id=feature.pk, expected_version=1, user=planner)
    back = feature_revert(layer=layer, feature_id=feature.pk, to_version=1, expected_version=1, user=planner)
    assert back.pk == feature.pk and [v["op"] for v in feature_versions(feature.pk)] == ["insert", "delete", "insert"]


def test_revert_a_whole_ingest_run(layer, planner):
    kept = make_feature(layer, square(LON, LAT), PARCEL)
    age_history(kept.pk, 1)
    with connection.cursor() as cursor:  # what an ingest run does, tagged with its run id
        cursor.execute("SELECT set_config('gisportal.run_id', '4242', true)")
        cursor.execute("UPDATE layers_feature SET properties = properties || '{\"address\": \"from run\"}' WHERE id = %s", [kept.pk])
        cursor.execute(
            "INSERT INTO layers_feature (layer_id, geom, properties, version, updated_at) "
            "SELECT layer_id, ST_Translate(geom, 0.002, 0), properties || '{\"parcel_no\": 77}', 1, now() FROM layers_feature WHERE id = %s",
            [kept.pk])
        cursor.execute("SELECT set_config('gisportal.run_id', '', true)")
    assert Feature.objects.filter(layer=layer).count() == 2
    assert run_revert(layer=layer, run_id=4242, user=planner) == 2
    assert list(Feature.objects.filter(layer=layer).values_list("pk", flat=True)) == [kept.pk]
    assert "address" not in Feature.objects.get(pk=kept.pk).properties


def test_restricted_layers_only_for_those_granted(layer):
    layer.is_public = False
    layer.save()
    staff = User.objects.create_user("staffer", is_staff=True)
    reader = User.objects.create_user("reader")
    LayerGrant.objects.create(layer=layer, user=reader)
    assert layer not in layers_visible_to(staff)
    with pytest.raises(UnknownLayer):
        layer_for(staff, layer.slug)
    assert layer_for(reader, layer.slug) == layer and layer in layers_visible_to(reader)


# Split: a cutting line makes parts; the original keeps the largest, the others are new parcels.

def test_a_retired_number_is_not_given_again(layer, planner):
    feature = feature_create(layer=layer, geom=square(LON, LAT, 0.0004), properties={**PARCEL, "parcel_no": 5}, user=planner)
    last = feature_create(layer=layer, geom=square(LON + 0.001, LAT, 0.0002), properties={**PARCEL, "parcel_no": 9}, user=planner)
    feature_delete(layer=layer, feature_id=last.pk, expected_version=1, user=planner)  # number 9 is retired with it
    parts = feature_split(layer=layer, feature_id=feature.pk, expected_version=1, line=_across(feature.geom), user=planner)
    assert [p.properties["parcel_no"] for p in parts] == [10, 11]
    back = feature_revert(layer=layer, feature_id=last.pk, to_version=1, expected_version=1, user=planner)
    assert back.properties["parcel_no"] == 9  # and bringing the deleted parcel back finds its number free


def test_a_revert_is_checked_like_a_save(layer, planner):
    feature = feature_create(layer=layer, geom=square(LON, LAT, 0.0004), properties=PARCEL, user=planner)
    parts = feature_split(layer=layer, feature_id=feature.pk, expected_version=1, line=_across(feature.geom), user=planner)
    with pytest.raises(ValidationFailed) as refused:  # the whole old parcel would lie over its new neighbour
        feature_revert(layer=layer, feature_id=feature.pk, to_version=1, expected_version=parts[0].version, user=planner)
    assert "chồng" in refused.value.message_vi.lower() or "overlap" in refused.value.message_en.lower()
    assert Feature.objects.get(pk=feature.pk).version == parts[0].version
    feature_delete(layer=layer, feature_id=parts[1].pk, expected_version=1, user=planner)
    assert feature_revert(layer=layer, feature_id=feature.pk, to_version=1, expected_version=parts[0].version, user=planner).properties["parcel_no"] == 1

def _area_m2(geom) -> float:
    with connection.cursor() as cursor:
        cursor.execute("SELECT ST_Area(ST_Transform(%s::geometry, 9210))", [geom.ewkt])
        return cursor.fetchone()[0]


def _across(geom, *, at: float = 0.5, vertical: bool = False) -> LineString:
    """A straight line crossing the geometry's box at a share `at` of its height (or width), overshooting both sides."""
    xmin, ymin, xmax, ymax = geom.extent
    pad = 0.0002
    if vertical:
        x = xmin + (xmax - xmin) * at
        return LineString((x, ymin - pad), (x, ymax + pad), srid=4326)
    y = ymin + (ymax - ymin) * at
    return LineString((xmin - pad, y), (xmax + pad, y), srid=4326)


@pytest.fixture
def demo_planner(demo_city):
    user = User.objects.create_user("demo-planner")
    LayerGrant.objects.create(layer=demo_city["parcels"], user=user, can_edit=True)
    return user


def _demo_parcel(demo_city, index: int = 20) -> Feature:
    return Feature.objects.filter(layer=demo_city["parcels"]).order_by("id")[index]


def _sheet_numbers(layer, props) -> list[int]:
    return sorted(int(n) for n in Feature.objects.filter(
        layer=layer, properties__ward_code=props["ward_code"], properties__map_sheet=props["map_sheet"],
    ).values_list("properties__parcel_no", flat=True))


def test_split_a_demo_parcel_numbers_the_new_part_and_records_history(demo_city, demo_planner):
    parcels = demo_city["parcels"]
    parcel = _demo_parcel(demo_city)
    before_area, before_count, before_numbers = _area_m2(parcel.geom), parcels.feature_count, _sheet_numbers(parcels, parcel.properties)
    parts = feature_split(layer=parcels, feature_id=parcel.pk, expected_version=parcel.version, line=_across(parcel.geom, at=0.4),
                          user=demo_planner, comment="tách thửa theo hồ sơ 12/2025")
    assert len(parts) == 2 and parts[0].pk == parcel.pk and parts[0].version == parcel.version + 1
    areas = [_area_m2(p.geom) for p in parts]
    assert sum(areas) == pytest.approx(before_area, abs=0.01)
    assert areas[0] >= areas[1] > 0
    assert [p.properties["legal_area"] for p in parts] == [round(a, 1) for a in areas]
    new = parts[1]
    # Both parts are numbered after the sheet's last number; the split parcel's number is retired.
    assert [p.properties["parcel_no"] for p in parts] == [max(before_numbers) + 1, max(before_numbers) + 2]
    assert {k: v for k, v in new.properties.items() if k not in ("parcel_no", "legal_area")} == \
        {k: v for k, v in parcel.properties.items() if k not in ("parcel_no", "legal_area")}
    numbers = _sheet_numbers(parcels, parcel.properties)
    assert len(numbers) == len(set(numbers)) == len(before_numbers) + 1
    assert parcel.properties["parcel_no"] not in numbers
    assert [(v["op"], v["comment"]) for v in feature_versions(parcel.pk)][-1] == ("update", "tách thửa theo hồ sơ 12/2025")
    assert [(v["op"], v["version"], v["changed_by"]) for v in feature_versions(new.pk)] == [("insert", 1, "demo-planner")]
    parcels.refresh_from_db()
    assert parcels.feature_count == before_count + 1


def test_a_line_that_crosses_twice_makes_three_parts_numbered_in_order(layer, planner):
    feature = feature_create(layer=layer, geom=square(LON, LAT, 0.0004), properties={**PARCEL, "parcel_no": 5}, user=planner)
    feature_create(layer=layer, geom=square(LON + 0.001, LAT, 0.0002), properties={**PARCEL, "parcel_no": 9}, user=planner)
    zigzag = LineString((LON - 0.0001, LAT + 0.00005), (LON + 0.0005, LAT + 0.00005), (LON + 0.0005, LAT + 0.00025),
                        (LON - 0.0001, LAT + 0.00025), srid=4326)
    parts = feature_split(layer=layer, feature_id=feature.pk, expected_version=1, line=zigzag, user=planner)
    assert [p.properties["parcel_no"] for p in parts] == [10, 11, 12]
    assert [round(p.geom.area / 1e-8) for p in parts] == [8, 6, 2]  # 0.0004 wide × 0.0002, 0.00015, 0.00005 tall


def test_a_stale_or_missing_split_changes_nothing(demo_city, demo_planner):
    parcels = demo_city["parcels"]
    parcel = _demo_parcel(demo_city, 21)
    count = Feature.objects.filter(layer=parcels).count()
    with pytest.raises(StaleFeature) as stale:
        feature_split(layer=parcels, feature_id=parcel.pk, expected_version=parcel.version + 1, line=_across(parcel.geom),
                      user=demo_planner)
    assert stale.value.status == 409 and stale.value.current.pk == parcel.pk
    xmin, ymin, xmax, ymax = parcel.geom.extent
    far_away = LineString((xmax + 0.001, ymin), (xmax + 0.001, ymax), srid=4326)
    stops_inside = LineString((xmin - 0.0002, (ymin + ymax) / 2), parcel.geom.centroid.coords, srid=4326)
    for line in (far_away, stops_inside):
        with pytest.raises(SplitMissed) as missed:
            feature_split(layer=parcels, feature_id=parcel.pk, expected_version=parcel.version, line=line, user=demo_planner)
        assert missed.value.status == 400 and "hai phần" in missed.value.message_vi and "two parts" in missed.value.message_en
    with pytest.raises(InvalidParameter):
        feature_split(layer=parcels, feature_id=parcel.pk, expected_version=parcel.version, line=parcel.geom, user=demo_planner)
    assert Feature.objects.filter(layer=parcels).count() == count
    unchanged = Feature.objects.get(pk=parcel.pk)
    assert unchanged.version == parcel.version and unchanged.geom.equals_exact(parcel.geom, 0)


def test_split_needs_a_grant_and_stays_inside_the_granted_area(demo_city):
    parcels = demo_city["parcels"]
    parcel, elsewhere = _demo_parcel(demo_city, 30), _demo_parcel(demo_city, 2500)
    stranger = User.objects.create_user("split-stranger")
    with pytest.raises(EditForbidden):
        feature_split(layer=parcels, feature_id=parcel.pk, expected_version=parcel.version, line=_across(parcel.geom), user=stranger)
    officer = User.objects.create_user("split-officer")
    LayerGrant.objects.create(layer=parcels, user=officer, can_edit=True,
                              area=MultiPolygon(parcel.geom.buffer(0.0001), srid=4326), area_label="one block")
    with pytest.raises(EditForbidden):
        feature_split(layer=parcels, feature_id=elsewhere.pk, expected_version=elsewhere.version, line=_across(elsewhere.geom),
                      user=officer)
    assert Feature.objects.get(pk=elsewhere.pk).version == elsewhere.version
    assert len(feature_split(layer=parcels, feature_id=parcel.pk, expected_version=parcel.version, line=_across(parcel.geom),
                             user=officer)) == 2


def test_split_parts_are_validated_like_any_save(layer, planner):
    feature = feature_create(layer=layer, geom=square(LON, LAT, 0.0004), properties=PARCEL, user=planner)
    # Someone else's parcel laid over the future second part (raw SQL: no validation), so that part overlaps it.
    make_feature(layer, square(LON, LAT + 0.0003, 0.0004), {**PARCEL, "parcel_no": 2})
    with pytest.raises(ValidationFailed) as overlap:
        feature_split(layer=layer, feature_id=feature.pk, expected_version=1, line=_across(feature.geom, at=0.6), user=planner)
    assert "overlaps" in overlap.value.message_en
    assert Feature.objects.filter(layer=layer).count() == 2 and Feature.objects.get(pk=feature.pk).version == 1


def test_a_multipolygon_keeps_its_untouched_parts_and_lines_split_too(planner):
    multi_layer = make_layer(slug="blocks", geometry_type="MultiPolygon")
    LayerGrant.objects.create(layer=multi_layer, user=planner, can_edit=True)
    two = MultiPolygon(square(LON, LAT, 0.0004), square(LON + 0.001, LAT, 0.0002), srid=4326)
    block = feature_create(layer=multi_layer, geom=two, properties={"name": "A"}, user=planner)
    parts = feature_split(layer=multi_layer, feature_id=block.pk, expected_version=1,
                          line=_across(square(LON, LAT, 0.0004), vertical=True, at=0.75), user=planner)
    assert [p.geom.geom_type for p in parts] == ["MultiPolygon", "MultiPolygon"]
    assert [len(p.geom) for p in parts] == [2, 1] and parts[1].properties == {"name": "A"}
    roads = make_layer(slug="centre-lines", geometry_type="LineString")
    LayerGrant.objects.create(layer=roads, user=planner, can_edit=True)
    road = feature_create(layer=roads, geom=LineString((LON, LAT), (LON + 0.001, LAT), srid=4326), properties={}, user=planner)
    pieces = feature_split(layer=roads, feature_id=road.pk, expected_version=1,
                           line=LineString((LON + 0.0003, LAT - 0.0001), (LON + 0.0003, LAT + 0.0001), srid=4326), user=planner)
    assert [round(p.geom.length, 7) for p in pieces] == [0.0007, 0.0003]


def test_points_cannot_be_split(planner):
    wells = make_layer(slug="wells", geometry_type="Point")
    LayerGrant.objects.create(layer=wells, user=planner, can_edit=True)
    well = feature_create(layer=wells, geom=Point(LON, LAT, srid=4326), properties={}, user=planner)
    with pytest.raises(NotSplittable):
        feature_split(layer=wells, feature_id=well.pk, expected_version=1,
                      line=LineString((LON - 0.001, LAT), (LON + 0.001, LAT), srid=4326), user=planner)
    assert Feature.objects.filter(layer=wells).count() == 1
