"""A layer as of a past time through every reading door: the history query, vector tiles, click-to-see."""
import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth.models import User

from layers.history import layer_as_of
from layers.models import Feature
from tests.factories import age_history, make_feature, make_parcel_layer, square
from tests.tiles.helpers import decode
from tests.tiles.test_vector_tiles import tile_at, url

pytestmark = pytest.mark.django_db
LON, LAT = 106.7700, 10.8500
PARCEL = {"ward_code": "26800", "map_sheet": 12, "parcel_no": 345, "land_use": "ODT", "legal_area": 120.5,
          "address": "12 Võ Văn Ngân"}


@pytest.fixture(autouse=True)
def _own_tile_cache(settings, tmp_path):
    settings.GISPORTAL_TILE_CACHE_DIR = str(tmp_path / "tile-cache")


def _change(feature: Feature, **fields) -> None:
    """A change written the way any other writer would (the triggers record it)."""
    for name, value in fields.items():
        setattr(feature, name, value)
    feature.save()


@pytest.fixture
def parcels():
    return make_parcel_layer(slug="parcels")


@pytest.fixture
def yesterday():
    return (dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=1)).isoformat()


def test_a_feature_moved_out_of_the_box_is_not_there_any_more(parcels):
    feature = make_feature(parcels, square(LON, LAT, 0.0002), PARCEL)
    age_history(feature.pk, 2)
    _change(feature, geom=square(LON + 0.01, LAT, 0.0002))  # moved far east, out of the box below
    box = (LON - 0.001, LAT - 0.001, LON + 0.001, LAT + 0.001)
    now = dt.datetime.now(dt.timezone.utc) + dt.timedelta(seconds=1)
    before = dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=1)

    assert [f["id"] for f in layer_as_of(parcels, before, box)] == [feature.pk]
    assert layer_as_of(parcels, now, box) == []  # not its older version, which was in the box
    assert [f["version"] for f in layer_as_of(parcels, now, (LON + 0.009, LAT - 0.001, LON + 0.011, LAT + 0.001))] == [2]


def test_a_tile_as_of_yesterday_shows_the_layer_as_it_was(client, parcels, yesterday):
    kept = make_feature(parcels, square(LON, LAT, 0.0002), PARCEL)
    gone = make_feature(parcels, square(LON + 0.0003, LAT, 0.0002), {**PARCEL, "parcel_no": 346})
    for feature in (kept, gone):
        age_history(feature.pk, 2)
    _change(kept, properties={**PARCEL, "address": "14 Võ Văn Ngân"})
    gone_id = gone.pk
    gone.delete()
    added = make_feature(parcels, square(LON, LAT + 0.0003, 0.0002), {**PARCEL, "parcel_no": 347})
    tile = tile_at(LON + 0.0001, LAT + 0.0001, 16)

    now = decode(client.get(url("parcels", tile)))["parcels"]["features"]
    then = decode(client.get(url("parcels", tile), {"as_of": yesterday}))["parcels"]["features"]

    assert {f["id"]: f["properties"]["address"] for f in now} == {kept.pk: "14 Võ Văn Ngân", added.pk: "12 Võ Văn Ngân"}
    assert {f["id"]: f["properties"]["address"] for f in then} == {kept.pk: "12 Võ Văn Ngân", gone_id: "12 Võ Văn Ngân"}
    assert then[0]["properties"].keys() == now[0]["properties"].keys()  # the same fields, typed the same


def test_a_tile_before_the_layer_existed_is_empty_and_bad_dates_are_400(client, parcels):
    make_feature(parcels, square(LON, LAT, 0.0002), PARCEL)
    tile = tile_at(LON, LAT, 16)

    assert client.get(url("parcels", tile), {"as_of": "2001-01-01"}).status_code == 204
    bad = client.get(url("parcels", tile), {"as_of": "hôm qua"})
    assert bad.status_code == 400 and bad.json()["parameter"] == "as_of"
    assert "ISO 8601" in bad.json()["description"]


def test_a_restricted_layer_as_of_any_time_is_404_for_visitors(client, yesterday):
    hidden = make_parcel_layer(slug="hidden", is_public=False)
    make_feature(hidden, square(LON, LAT, 0.0002), PARCEL)
    tile = tile_at(LON, LAT, 16)
    assert client.get(url("hidden", tile), {"as_of": yesterday}).status_code == 404
    assert client.get("/api/at", {"lon": LON + 0.0001, "lat": LAT + 0.0001, "layers": "hidden",
                                  "as_of": yesterday}).json()["results"] == []
    staff = User.objects.create_user("admin-x", is_staff=True, is_superuser=True)
    client.force_login(staff)
    assert client.get(url("hidden", tile), {"as_of": "2999-01-01"}).status_code == 200


def test_click_to_see_as_of_a_past_time(client, parcels, yesterday):
    feature = make_feature(parcels, square(LON, LAT, 0.0002), PARCEL)
    age_history(feature.pk, 2)
    _change(feature, properties={**PARCEL, "address": "14 Võ Văn Ngân"})
    point = {"lon": LON + 0.0001, "lat": LAT + 0.0001, "z": 18, "layers": "parcels"}

    def address(answer) -> str:
        (result,) = answer.json()["results"]
        (found,) = result["features"]
        return {row["label"]: row["value"] for row in found["fields"]}["Địa chỉ"]

    assert address(client.get("/api/at", point)) == "14 Võ Văn Ngân"
    assert address(client.get("/api/at", {**point, "as_of": yesterday})) == "12 Võ Văn Ngân"
    assert client.get("/api/at", {**point, "as_of": "2001-01-01"}).json()["results"] == []
    assert client.get("/api/at", {**point, "as_of": "x"}).status_code == 400


def test_ogc_items_and_downloads_as_of_a_day(client, parcels, yesterday):
    import json as _json

    kept = make_feature(parcels, square(LON, LAT, 0.0002), PARCEL)
    gone = make_feature(parcels, square(LON + 0.0003, LAT, 0.0002), {**PARCEL, "parcel_no": 346})
    for feature in (kept, gone):
        age_history(feature.pk, 2)
    gone_id = gone.pk
    gone.delete()
    _change(kept, properties={**PARCEL, "address": "14 Võ Văn Ngân"})
    day = yesterday[:10]  # a date alone: the end of that day

    ogc = client.get("/ogc/collections/parcels/items", {"as_of": day, "limit": 1}, HTTP_ACCEPT="application/geo+json")
    page = ogc.json()
    assert page["numberMatched"] == 2 and page["numberReturned"] == 1
    following = client.get({link["rel"]: link["href"] for link in page["links"]}["next"],
                           HTTP_ACCEPT="application/geo+json").json()
    assert {f["id"] for f in page["features"] + following["features"]} == {kept.pk, gone_id}
    assert client.get("/ogc/collections/parcels/items", HTTP_ACCEPT="application/geo+json").json()["numberMatched"] == 1

    download = client.get("/data/parcels.geojson", {"as_of": day})
    body = b"".join(download.streaming_content) if download.streaming else download.content
    addresses = sorted(f["properties"]["address"] for f in _json.loads(body)["features"])
    assert addresses == ["12 Võ Văn Ngân", "12 Võ Văn Ngân"]
    assert client.get("/ogc/collections/parcels/items", {"as_of": "01/07/2025"},
                      HTTP_ACCEPT="application/geo+json").status_code == 400


def test_a_date_alone_means_the_end_of_that_day_at_every_door():
    from layers.history import parse_moment
    from opendata.params import parse_datetime_param

    for moment in (parse_moment("2025-07-01"), parse_datetime_param("2025-07-01", parameter="as_of")):
        local = moment.astimezone(ZoneInfo("Asia/Ho_Chi_Minh"))
        assert (local.date().isoformat(), local.hour, local.minute) == ("2025-07-01", 23, 59)
    offset = parse_moment("2025-07-01T08:00:00 07:00")  # a '+' that arrived unencoded
    assert offset.utcoffset() == dt.timedelta(hours=7) and offset.hour == 8
