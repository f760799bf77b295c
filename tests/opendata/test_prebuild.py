"""Prebuilt downloads: a change to a public layer queues one low-priority build of its whole-layer files, in the
change's own transaction; the built file is the very one a public request is then served."""
import logging

import pytest
from django.contrib.auth.models import AnonymousUser, User
from django.http import QueryDict

from layers import editing
from layers.errors import DomainError
from layers.jobs import recent_jobs
from opendata.downloads import query_for
from opendata.files import cache_path
from opendata.tasks import prebuild_exports

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin(db):
    return User.objects.create_user("prebuild-admin", password="x", is_staff=True, is_superuser=True)


def _edit(layer, admin, land_use: str, *, version: int | None = None):
    feature = layer.features.order_by("id").first()
    return editing.feature_update(layer=layer, feature_id=feature.pk, user=admin,
                                  expected_version=feature.version if version is None else version,
                                  properties={**feature.properties, "land_use": land_use})


def _new_jobs(before: list) -> list:
    """Jobs queued since `before` (transactional tests elsewhere leave theirs: the queue is not flushed)."""
    seen = {job.id for job in before}
    return [job for job in recent_jobs(queue="exports") if job.id not in seen]


def test_edits_to_a_public_layer_queue_one_prebuild(parcels, secret, admin):
    before = recent_jobs(queue="exports")
    _edit(parcels, admin, "TMD")
    jobs = _new_jobs(before)
    assert [(job.task, job.status) for job in jobs] == [("opendata.prebuild_exports", "todo")]
    _edit(parcels, admin, "CLN")  # a burst of edits shares the waiting build
    assert len(_new_jobs(before)) == 1
    feature = secret.features.first()
    editing.feature_update(layer=secret, feature_id=feature.pk, expected_version=feature.version, user=admin,
                           properties={"name": "Hầm B"})
    assert len(_new_jobs(before)) == 1  # a layer hidden from the public has no public file to build


def test_a_refused_edit_queues_nothing(parcels, admin):
    before = recent_jobs(queue="exports")
    with pytest.raises(DomainError):
        _edit(parcels, admin, "TMD", version=999)  # stale: 409
    assert _new_jobs(before) == []


def test_the_prebuilt_file_is_served_to_the_public_without_a_build(client, parcels, caplog):
    assert prebuild_exports(layer_id=parcels.pk) == ["parcels.gpkg", "parcels.shp.zip", "parcels.csv", "parcels.fgb",
                                                     "parcels.parquet"]
    path = cache_path(query_for(QueryDict(""), parcels, AnonymousUser()), "gpkg")
    inode = path.stat().st_ino
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="opendata.files"):
        response = client.get("/data/parcels.gpkg")
        assert response.status_code == 200 and b"".join(response.streaming_content)[:16] == b"SQLite format 3\x00"
        assert not [r for r in caplog.records if "export built" in r.getMessage()]
    assert path.stat().st_ino == inode
    with caplog.at_level(logging.INFO, logger="opendata.files"):  # the check above can see a build
        assert client.get("/data/parcels.gpkg?crs=9210").status_code == 200
        assert [r for r in caplog.records if "export built" in r.getMessage()]


def test_a_layer_gone_private_is_not_prebuilt(secret):
    assert prebuild_exports(layer_id=secret.pk) == []


def test_flatgeobuf_and_geoparquet_are_prebuilt_and_served_as_built(client, parcels):
    prebuild_exports(layer_id=parcels.pk)
    for ext, magic in (("fgb", b"fgb"), ("parquet", b"PAR1")):
        path = cache_path(query_for(QueryDict(""), parcels, AnonymousUser()), ext)
        inode = path.stat().st_ino
        response = client.get(f"/data/parcels.{ext}")
        assert response.status_code == 200 and b"".join(response.streaming_content)[:len(magic)] == magic
        assert path.stat().st_ino == inode
