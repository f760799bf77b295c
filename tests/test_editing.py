"""Planners' edits: grants and areas, validation, no lost updates, history written by the database."""
import datetime as dt

import pytest
from django.contrib.auth.models import Group, User
from django.contrib.gis.geos import MultiPolygon, Polygon
from django.db import connection

from layers.editing import EditForbidden, FeatureNotFound, StaleFeature, feature_create, feature_delete, \
    feature_revert, feature_update, run_revert
from layers.history import feature_versions, layer_as_of, layer_diff
from layers.models import Feature, FeatureVersion, LayerGrant
from layers.selectors import layer_for, layers_visible_to
from layers.errors import UnknownLayer
from layers.validation import ValidationFailed
from tests.factories import make_feature, make_parcel_layer, square

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


def _shift_history(feature_id: int, days: int) -> None:
    """Moves a feature's recorded versions into the past (tests run inside one transaction, one now())."""
    with connection.cursor() as cursor:
        cursor.execute("UPDATE layers_featureversion SET changed_at = changed_at - %s * interval '1 day' WHERE feature_id = %s",
                       [days, feature_id])


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
    with pytest.raises(ValidationFailed) as outside:
        feature_create(layer=layer, geom=square(LON + 0.01, LAT, 0.0002), properties={**PARCEL, "parcel_no": 2}, user=officer)
    assert "outside the area" in outside.value.message_en
    with pytest.raises(ValidationFailed):  # moving its own parcel out of the area
        feature_update(layer=layer, feature_id=inside.pk, expected_version=1, user=officer, geom=square(LON + 0.01, LAT, 0.0002))


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
    _shift_history(feature.pk, 2)
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
    reverted = feature_revert(layer=layer, feature_id=feature.pk, to_version=1, user=planner)
    assert reverted.version == 3 and reverted.geom.equals_exact(square(LON, LAT, 0.0002), 1e-12)


def test_a_deleted_feature_comes_back_with_its_history(layer, planner):
    feature = feature_create(layer=layer, geom=square(LON, LAT, 0.0002), properties=PARCEL, user=planner)
    feature_delete(layer=layer, feature_id=feature.pk, expected_version=1, user=planner)
    back = feature_revert(layer=layer, feature_id=feature.pk, to_version=1, user=planner)
    assert back.pk == feature.pk and [v["op"] for v in feature_versions(feature.pk)] == ["insert", "delete", "insert"]


def test_revert_a_whole_ingest_run(layer, planner):
    kept = make_feature(layer, square(LON, LAT), PARCEL)
    _shift_history(kept.pk, 1)
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
