"""Issue 6's story end to end through the public doors: a planner's edit shows at once in the residents'
map (tiles from a warm cache, click-to-see), a second planner's stale save is refused, the history shows
both, the layer as of yesterday downloads as it was, and a revert puts it back."""
import json

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone

from layers.history import feature_versions
from layers.models import LayerGrant
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


def _planner(layer, name: str) -> Client:
    user = User.objects.create_user(name)
    LayerGrant.objects.create(layer=layer, user=user, can_edit=True)
    client = Client()
    client.force_login(user)
    return client


def test_edit_seen_at_once_stale_refused_history_as_of_and_revert(client):
    layer = make_parcel_layer(slug="parcels")
    parcel = make_feature(layer, square(LON, LAT, 0.0002), PARCEL)
    age_history(parcel.pk, 3)  # the parcel as loaded three days ago
    first, second = _planner(layer, "planner-a"), _planner(layer, "planner-b")
    tile = url("parcels", tile_at(LON + 0.0001, LAT + 0.0001, 17))
    point = {"lon": LON + 0.0001, "lat": LAT + 0.0001, "z": 18, "layers": "parcels"}

    def addresses_in_tile() -> list[str]:
        return [f["properties"]["address"] for f in decode(client.get(tile))["parcels"]["features"]]

    assert addresses_in_tile() == ["12 Võ Văn Ngân"]  # now cached
    api = f"/api/layers/parcels/features/{parcel.pk}"
    saved = first.put(api, json.dumps({"version": 1, "properties": {**PARCEL, "address": "14 Võ Văn Ngân"},
                                       "comment": "số nhà mới"}), content_type="application/json")
    assert saved.status_code == 200 and saved.json()["version"] == 2

    assert addresses_in_tile() == ["14 Võ Văn Ngân"]  # the residents' map at once
    fields = client.get("/api/at", point).json()["results"][0]["features"][0]["fields"]
    assert {"label": "Địa chỉ", "value": "14 Võ Văn Ngân"} in fields

    stale = second.put(api, json.dumps({"version": 1, "properties": {**PARCEL, "address": "16 Võ Văn Ngân"}}),
                       content_type="application/json")
    assert stale.status_code == 409 and stale.json()["current"]["properties"]["address"] == "14 Võ Văn Ngân"

    history = first.get(f"/history/parcels/{parcel.pk}/").content.decode()
    assert "số nhà mới" in history and "planner-a" in history and 'data-testid="revert-1"' in history

    yesterday = (timezone.localdate() - timezone.timedelta(days=1)).isoformat()
    download = client.get("/data/parcels.geojson", {"as_of": yesterday})
    body = b"".join(download.streaming_content) if download.streaming else download.content
    assert [f["properties"]["address"] for f in json.loads(body)["features"]] == ["12 Võ Văn Ngân"]

    back = first.post(f"/history/parcels/{parcel.pk}/revert/", {"version": 1, "expected_version": 2, "comment": "trả lại"})
    assert back.status_code == 302
    assert addresses_in_tile() == ["12 Võ Văn Ngân"]
    versions = [(v["version"], v["changed_by"], v["comment"]) for v in feature_versions(parcel.pk)]
    assert versions == [(1, None, ""), (2, "planner-a", "số nhà mới"), (3, "planner-a", "trả lại")]
