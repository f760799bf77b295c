"""manage.py history_compact: per feature, the versions at or before a time folded into the latest (a feature deleted
by then loses its history before it), the horizon recorded; as-of reads and diffs from after it unchanged, before it
410 at every door that reads the past (downloads, OGC API, editor API and diff page, tiles, click-to-see)."""
import datetime as dt
import io
import json

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.utils import timezone

from layers.compaction import HistoryCompacted, check_position, history_compact
from layers.changes import Position, START
from layers.editing import feature_create, feature_delete, feature_update
from layers.history import layer_as_of, layer_diff
from layers.models import FeatureVersion, HistoryHorizon
from tests.factories import make_layer, square

pytestmark = pytest.mark.django_db
LON, LAT = 106.7500, 10.8000
NOW = timezone.now()


def _date_versions(feature_id: int, *days_ago: float) -> None:
    """Gives a feature's versions, oldest first, these ages (a test runs in one transaction: one now())."""
    ids = list(FeatureVersion.objects.filter(feature_id=feature_id).order_by("id").values_list("id", flat=True))
    assert len(ids) == len(days_ago)
    with connection.cursor() as cursor:
        for version_id, age in zip(ids, days_ago):
            cursor.execute("UPDATE layers_featureversion SET changed_at = %s WHERE id = %s",
                           [NOW - dt.timedelta(days=age), version_id])


@pytest.fixture
def story():
    """A: three versions (3 and 2 days ago, today); B: inserted 3 days ago, deleted 2 days ago; C: one old version."""
    admin = User.objects.create_superuser("compactor", password="x")
    layer = make_layer(slug="compact-me", schema=[])
    a = feature_create(layer=layer, geom=square(LON, LAT), properties={"n": 1}, user=admin)
    feature_update(layer=layer, feature_id=a.pk, expected_version=1, user=admin, properties={"n": 2})
    feature_update(layer=layer, feature_id=a.pk, expected_version=2, user=admin, properties={"n": 3})
    b = feature_create(layer=layer, geom=square(LON + 0.001, LAT), properties={"n": 10}, user=admin)
    feature_delete(layer=layer, feature_id=b.pk, expected_version=1, user=admin)
    c = feature_create(layer=layer, geom=square(LON + 0.002, LAT), properties={"n": 20}, user=admin)
    _date_versions(a.pk, 3, 2, 0)
    _date_versions(b.pk, 3, 2)
    _date_versions(c.pk, 3)
    return layer, admin, a, b, c


def test_compaction_folds_old_versions_and_keeps_the_answers_after_the_time(story):
    layer, _, a, b, c = story
    cut = NOW - dt.timedelta(days=1)
    states = {at: layer_as_of(layer, at) for at in (cut, NOW)}
    diff = layer_diff(layer, cut, NOW)
    result = history_compact(layer=layer, before=cut)
    assert result.rows_removed == 3  # A's first version, B's insert and delete
    left = sorted(FeatureVersion.objects.filter(layer=layer).values_list("feature_id", "version"))
    assert left == sorted([(a.pk, 2), (a.pk, 3), (c.pk, 1)])
    assert {at: layer_as_of(layer, at) for at in states} == states
    assert layer_diff(layer, cut, NOW) == diff
    horizon = HistoryHorizon.objects.get(layer=layer)
    assert horizon.before == cut and horizon.rows_removed == 3
    for old in (cut - dt.timedelta(seconds=1), NOW - dt.timedelta(days=5)):
        with pytest.raises(HistoryCompacted) as gone:
            layer_as_of(layer, old)
        assert gone.value.status == 410 and gone.value.message_vi and "at or after" in gone.value.message_en
        with pytest.raises(HistoryCompacted):
            layer_diff(layer, old, NOW)
    # a cursor below the largest removed position is too old; the start and a cursor past it are fine
    with pytest.raises(HistoryCompacted):
        check_position(layer, Position(horizon.xact, horizon.row_id - 1))
    check_position(layer, START)
    check_position(layer, Position(horizon.xact, horizon.row_id))
    # compacting again at the same time removes nothing and keeps the horizon
    assert history_compact(layer=layer, before=cut).rows_removed == 0
    assert HistoryHorizon.objects.get(layer=layer).rows_removed == 3


def test_every_door_that_reads_the_past_refuses_a_moment_before_the_compaction(client, story):
    layer, admin, *_ = story
    history_compact(layer=layer, before=NOW - dt.timedelta(days=1))
    old = (NOW - dt.timedelta(days=2)).isoformat()
    client.force_login(admin)
    for path, params in [
        (f"/data/{layer.slug}.geojson", {"as_of": old}),
        (f"/data/{layer.slug}.gpkg", {"as_of": old}),
        (f"/ogc/collections/{layer.slug}/items", {"as_of": old}),
        (f"/api/layers/{layer.slug}/features", {"as_of": old, "bbox": "106.7,10.7,106.8,10.9"}),
        (f"/history/{layer.slug}/diff/", {"from": old, "f": "geojson"}),
        (f"/tiles/{layer.slug}/14/13079/7688.pbf", {"as_of": old}),
        ("/api/at", {"lon": LON + 0.0001, "lat": LAT + 0.0001, "layers": layer.slug, "as_of": old}),
    ]:
        response = client.get(path, params, HTTP_ACCEPT="application/json")
        assert response.status_code == 410, (path, response.status_code)
        error = json.loads(response.content)
        assert error["code"] == "history-compacted" and error["description_vi"], path
    recent = (NOW - dt.timedelta(hours=1)).isoformat()
    assert client.get(f"/data/{layer.slug}.geojson", {"as_of": recent}).status_code == 200
    assert client.get(f"/history/{layer.slug}/diff/", {"from": recent, "f": "geojson"}).status_code == 200


def test_a_run_from_before_the_compaction_cannot_be_reverted(tmp_path):
    from ingest.services import ingest_file
    from layers.runs import run_revert
    from tests.factories import make_parcel_layer
    from tests.ingest.conftest import parcels_frame, write

    admin = User.objects.create_superuser("run-compactor", password="x")
    layer = make_parcel_layer(slug="compact-runs")
    first = ingest_file(path=write(parcels_frame(3), tmp_path / "a.gpkg"), layer=layer, mode="replace", user=admin)
    changed = parcels_frame(2, land_use=["CLN", "CLN"])
    second = ingest_file(path=write(changed, tmp_path / "b.gpkg"), layer=layer, mode="replace", user=admin)
    with connection.cursor() as cursor:  # the first load three days ago, the second two days ago
        for run, age in ((first, 3), (second, 2)):
            cursor.execute("UPDATE layers_featureversion SET changed_at = %s WHERE run_id = %s",
                           [NOW - dt.timedelta(days=age), run.pk])
    history_compact(layer=layer, before=NOW - dt.timedelta(days=1))
    with pytest.raises(HistoryCompacted):  # the state before it is gone: restoring it would be a guess
        run_revert(layer=layer, run_id=second.pk, user=admin)


def test_the_command_is_thin_and_refuses_bad_input(story):
    layer, *_ = story
    out = io.StringIO()
    call_command("history_compact", layer.slug, "--before", (NOW - dt.timedelta(days=1)).isoformat(), stdout=out)
    assert "3 history rows removed" in out.getvalue()
    for args, words in [
        (["no-such-layer", "--before", "2025-01-01"], "No layer"),
        (["../x", "--before", "2025-01-01"], "slug"),
        ([layer.slug, "--before", "yesterday"], "ISO 8601"),
        ([layer.slug, "--before", (NOW + dt.timedelta(days=1)).isoformat()], "future"),
    ]:
        with pytest.raises(CommandError, match=words):
            call_command("history_compact", *args, stdout=io.StringIO())


def test_the_help_says_what_compaction_frees():
    from layers.management.commands.history_compact import Command

    assert "segments" in Command.help and "410" in Command.help
