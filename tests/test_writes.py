"""Issue 11, items 1 and 5: one value check and one area rule for every write; reverts with versions;
consumers that survive a bad stored value; counts and extents right under concurrent edits."""
import json
import threading

import pytest
import shapely
from django.contrib.auth.models import User
from django.contrib.gis.geos import MultiPolygon, Polygon
from django.db import connection, connections
from django.urls import reverse

from ingest.services import ingest_file
from layers import services
from layers.admin import FeatureForm
from layers.editing import OutsideEditArea, feature_create, feature_update, run_revert
from layers.errors import IngestRejected
from layers.models import Feature, FeatureVersion, Layer, LayerGrant
from layers.schemas import PARCELS_SCHEMA, PLANNING_ZONES_SCHEMA
from tests.factories import age_history, make_feature, make_layer, make_parcel_layer, square
from tests.ingest.conftest import parcels_frame, write
from tests.tiles.helpers import decode
from tiles.coords import Tile, lonlat_to_mercator

LON, LAT = 106.7500, 10.8000
PARCEL = {"ward_code": "27088", "map_sheet": 1, "parcel_no": 1, "land_use": "ODT", "legal_area": 300.0}
ZONE = {"zone_code": "I.1", "function": "mixed-use", "max_floors": 9}
WARD = MultiPolygon(Polygon.from_bbox((LON - 0.001, LAT - 0.001, LON + 0.001, LAT + 0.001)), srid=4326)


@pytest.fixture
def zones(db):
    return make_layer(slug="w-zones", schema=PLANNING_ZONES_SCHEMA, geometry_type="Polygon")


def _client(user):
    from django.test import Client

    client = Client()
    client.force_login(user)
    return client


def _editor(layer, name="editor", area=None):
    user = User.objects.create_user(name)
    LayerGrant.objects.create(layer=layer, user=user, can_edit=True, area=area)
    return user


def _post(client, url, body):
    return client.post(url, json.dumps(body), content_type="application/json")


def _geojson(geom):
    return json.loads(geom.geojson)


BAD_VALUES = [
    ("max_floors", 1e30), ("max_floors", 2**63), ("max_floors", 1.5), ("max_floors", True), ("max_floors", "1e30"),
    ("far", 1e300), ("far", "NaN"), ("plan_name", "x" * 1_000_001), ("plan_name", {"nested": 1}),
    ("plan_name", "a\x00b"), ("decision_date", "2025-02-30"), ("decision_date", "0001-01-01"),
    ("decision_date", "2025-01-01garbage"), ("function", "casino"), ("extra name!", 1), ("notes", {"a": [1]}),
    ("notes", "y" * 5000),
]


@pytest.mark.django_db
@pytest.mark.parametrize("name,value", BAD_VALUES)
def test_the_editor_api_refuses_bad_values_in_vi_and_en_and_keeps_nothing(zones, name, value):
    client = _client(_editor(zones))
    response = _post(client, reverse("api-features", args=[zones.slug]),
                     {"geometry": _geojson(square(LON, LAT, 0.0002)), "properties": {**ZONE, name: value}})
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["description"] and body["description_vi"] and body["description"] != body["description_vi"]
    assert not Feature.objects.filter(layer=zones).exists()


@pytest.mark.django_db
def test_the_same_bad_value_is_refused_by_editor_admin_and_ingest(zones, tmp_path):
    editor = _editor(zones)
    response = _post(_client(editor), reverse("api-features", args=[zones.slug]),
                     {"geometry": _geojson(square(LON, LAT, 0.0002)), "properties": {**ZONE, "max_floors": 1e30}})
    api_problem = response.json()["problems"][0]
    assert response.status_code == 400 and api_problem["field"] == "max_floors"

    FeatureForm.request_user = editor
    form = FeatureForm(data={"layer": zones.pk, "geom": square(LON, LAT, 0.0002).ewkt,
                             "properties": json.dumps({**ZONE, "max_floors": 1e30})})
    assert not form.is_valid()
    assert f"{api_problem['message_en']} / {api_problem['message_vi']}" in form.errors["properties"]

    parcels = make_parcel_layer(slug="w-parcels")
    for column, value in (("parcel_no", 1e30), ("address", "x" * 1001)):
        frame = parcels_frame(2, **{column: [1, value] if column == "parcel_no" else ["ok", value]})
        with pytest.raises(IngestRejected):
            ingest_file(path=write(frame, tmp_path / f"{column}.gpkg"), layer=parcels, mode="append")
    assert not Feature.objects.filter(layer__in=[zones, parcels]).exists()


@pytest.mark.django_db
def test_a_polygon_with_z_is_stored_flat_by_the_editor_like_ingest(zones):
    ring = [[LON, LAT, 5], [LON + 0.0002, LAT, 5], [LON + 0.0002, LAT + 0.0002, 5], [LON, LAT, 5]]
    response = _post(_client(_editor(zones)), reverse("api-features", args=[zones.slug]),
                     {"geometry": {"type": "Polygon", "coordinates": [ring]}, "properties": ZONE})
    assert response.status_code == 201, response.content
    stored = Feature.objects.get(layer=zones)
    assert not stored.geom.hasz and len(response.json()["geometry"]["coordinates"][0][0]) == 2


@pytest.mark.django_db
def test_outside_the_edit_area_is_403_with_its_own_message(zones):
    client = _client(_editor(zones, area=WARD))
    response = _post(client, reverse("api-features", args=[zones.slug]),
                     {"geometry": _geojson(square(LON + 0.01, LAT, 0.0002)), "properties": ZONE})
    assert response.status_code == 403 and response.json()["code"] == "outside-edit-area"
    assert "outside the area you may edit" in response.json()["description"]
    assert not Feature.objects.filter(layer=zones).exists()
    stranger = _client(User.objects.create_user("stranger"))
    other = _post(stranger, reverse("api-features", args=[zones.slug]),
                  {"geometry": _geojson(square(LON, LAT, 0.0002)), "properties": ZONE})
    assert other.status_code == 403 and "may not edit this layer" in other.json()["description"]


def _revert_url(layer, feature):
    return reverse("api-feature-revert", args=[layer.slug, feature.pk])


@pytest.mark.django_db
def test_a_revert_cannot_pull_back_a_feature_moved_out_of_the_area(zones):
    ward_editor = _editor(zones, "ward", area=WARD)
    boss = _editor(zones, "boss")
    feature = feature_create(layer=zones, geom=square(LON, LAT, 0.0002), properties=ZONE, user=ward_editor)
    feature_update(layer=zones, feature_id=feature.pk, expected_version=1, user=boss, geom=square(LON + 0.01, LAT, 0.0002))
    response = _post(_client(ward_editor), _revert_url(zones, feature), {"version": 1, "expected_version": 2})
    assert response.status_code == 403 and response.json()["code"] == "outside-edit-area"
    current = Feature.objects.get(pk=feature.pk)
    assert current.version == 2 and current.geom.equals_exact(square(LON + 0.01, LAT, 0.0002), 1e-12)


@pytest.mark.django_db
@pytest.mark.parametrize("body", [{"version": 1.5, "expected_version": 2}, {"version": True, "expected_version": 2},
                                  {"version": "1", "expected_version": 2}, {"expected_version": 2},
                                  {"version": 1}, {"version": 1, "expected_version": 2.0000001}])
def test_a_revert_takes_integer_versions_only(zones, body):
    editor = _editor(zones)
    feature = feature_create(layer=zones, geom=square(LON, LAT, 0.0002), properties=ZONE, user=editor)
    feature_update(layer=zones, feature_id=feature.pk, expected_version=1, user=editor, properties={**ZONE, "max_floors": 3})
    response = _post(_client(editor), _revert_url(zones, feature), body)
    assert response.status_code == 400 and response.json()["description_vi"]
    assert Feature.objects.get(pk=feature.pk).version == 2


@pytest.mark.django_db
def test_a_stale_revert_is_409_and_changes_nothing_a_good_one_invalidates_both_places(zones):
    editor = _editor(zones)
    feature = feature_create(layer=zones, geom=square(LON, LAT, 0.0002), properties=ZONE, user=editor)
    feature_update(layer=zones, feature_id=feature.pk, expected_version=1, user=editor, geom=square(LON + 0.005, LAT, 0.0002))
    stale = _post(_client(editor), _revert_url(zones, feature), {"version": 1, "expected_version": 1})
    assert stale.status_code == 409 and stale.json()["current"]["version"] == 2
    assert Feature.objects.get(pk=feature.pk).version == 2
    heard = []
    services.register_change_listener(listener := lambda layer, bounds: heard.extend(bounds))
    try:
        done = _post(_client(editor), _revert_url(zones, feature), {"version": 1, "expected_version": 2})
    finally:
        services._change_listeners.remove(listener)
    assert done.status_code == 200 and done.json()["version"] == 3
    assert sorted(heard) == sorted([square(LON + 0.005, LAT, 0.0002).extent, square(LON, LAT, 0.0002).extent])


def _run(layer, run_id, *, moves):
    """What an ingest run does (tagged rows): moves each feature by (dx, 0) and adds one new feature."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT set_config('gisportal.run_id', %s, true)", [str(run_id)])
        for feature, dx in moves:
            cursor.execute("UPDATE layers_feature SET geom = ST_Translate(geom, %s, 0) WHERE id = %s", [dx, feature.pk])
        cursor.execute("INSERT INTO layers_feature (layer_id, geom, properties, version, updated_at) "
                       "VALUES (%s, ST_GeomFromText(%s, 4326), %s, 1, now())",
                       [layer.pk, square(LON + 0.0005, LAT, 0.0002).wkt, json.dumps({**PARCEL, "parcel_no": run_id})])
        cursor.execute("SELECT set_config('gisportal.run_id', '', true)")


@pytest.mark.django_db
def test_an_area_limited_editor_reverts_a_run_only_when_every_touched_feature_is_inside():
    layer = make_parcel_layer(slug="w-run-parcels")
    ward = _editor(layer, "ward", area=WARD)
    near = make_feature(layer, square(LON, LAT, 0.0002), PARCEL)
    far = make_feature(layer, square(LON + 0.01, LAT, 0.0002), {**PARCEL, "parcel_no": 2})
    age_history(near.pk, 1)
    age_history(far.pk, 1)
    _run(layer, 901, moves=[(near, 0.0001), (far, 0.0001)])
    before = sorted(Feature.objects.filter(layer=layer).values_list("pk", "version"))
    with pytest.raises(OutsideEditArea):
        run_revert(layer=layer, run_id=901, user=ward)
    assert sorted(Feature.objects.filter(layer=layer).values_list("pk", "version")) == before
    url = reverse("api-run-revert", args=[layer.slug, 901])
    assert _client(ward).post(url).status_code == 403
    assert sorted(Feature.objects.filter(layer=layer).values_list("pk", "version")) == before
    # A run that touched only features inside the ward is the ward editor's to undo.
    age_history(near.pk, 1)  # one test is one transaction, one now(): the runs' history apart in time
    _run(layer, 902, moves=[(near, 0.0001)])
    assert _client(ward).post(reverse("api-run-revert", args=[layer.slug, 902])).status_code == 200
    assert Feature.objects.get(pk=near.pk).geom.extent == pytest.approx(square(LON + 0.0001, LAT, 0.0002).extent)


@pytest.mark.django_db
def test_a_run_moving_a_feature_out_of_the_area_is_not_the_ward_editors_to_undo():
    layer = make_parcel_layer(slug="w-run-out")
    ward = _editor(layer, "ward", area=WARD)
    near = make_feature(layer, square(LON, LAT, 0.0002), PARCEL)
    _run(layer, 903, moves=[(near, 0.01)])  # now outside: its after-state is not in the ward
    with pytest.raises(OutsideEditArea):
        run_revert(layer=layer, run_id=903, user=ward)
    assert FeatureVersion.objects.filter(feature_id=near.pk).count() == 2


def _tile_at(lon, lat, z):
    x, y = lonlat_to_mercator(lon, lat)
    size = 2 * 20037508.342789244 / 2**z
    return Tile(z, int((x + 20037508.342789244) // size), int((20037508.342789244 - y) // size))


@pytest.mark.django_db
def test_a_bad_value_put_in_by_raw_sql_breaks_no_tile_and_no_download(client, zones):
    zones.is_public = True
    zones.save()
    make_feature(zones, square(LON, LAT, 0.0002), ZONE)
    bad = make_feature(zones, square(LON + 0.0003, LAT, 0.0002), ZONE)
    with connection.cursor() as cursor:
        cursor.execute("UPDATE layers_feature SET properties = properties || '{\"max_floors\": 1e30, \"far\": 1e400}'::jsonb "
                       "WHERE id = %s", [bad.pk])
    services.layer_refresh_stats(layer=zones)
    tile = _tile_at(LON + 0.0001, LAT + 0.0001, 16)
    response = client.get(f"/tiles/{zones.slug}/{tile.z}/{tile.x}/{tile.y}.pbf")
    assert response.status_code == 200
    floors = sorted((f["properties"].get("max_floors") for f in decode(response)[zones.slug]["features"]), key=str)
    assert 9 in floors and len(floors) == 2
    for ext in ("gpkg", "csv", "shp.zip", "kml", "geojson"):
        download = client.get(f"/data/{zones.slug}.{ext}")
        assert download.status_code == 200, ext
        b"".join(download.streaming_content) if download.streaming else download.content


def _create_many(layer_id: int, user_id: int, lon: float, n: int, errors: list) -> None:
    try:
        layer, user = Layer.objects.get(pk=layer_id), User.objects.get(pk=user_id)
        for i in range(n):
            feature_create(layer=layer, geom=square(lon, LAT + i * 0.0003, 0.0002), properties={"n": i}, user=user)
    except Exception as error:  # noqa: BLE001 - reported to the test thread
        errors.append(error)
    finally:
        connections.close_all()


@pytest.mark.django_db(transaction=True)
def test_concurrent_edits_keep_the_count_and_extent_right():
    layer = make_layer(slug="w-busy", geometry_type="Polygon")
    user = _editor(layer, "busy")
    errors: list = []
    threads = [threading.Thread(target=_create_many, args=(layer.pk, user.pk, LON + k * 0.001, 6, errors)) for k in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    layer.refresh_from_db()
    assert layer.feature_count == Feature.objects.filter(layer=layer).count() == 24
    box = shapely.box(*layer.extent.extent)
    assert box.covers(shapely.box(LON, LAT, LON + 0.003 + 0.0002, LAT + 5 * 0.0003 + 0.0002).buffer(-1e-9))
