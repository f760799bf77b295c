"""Fill the disk during an upload: a clear 507 in vi/en or a failed run that says so, nothing half-written,
no run left running, the layer unchanged.

The full disk is real: a small tmpfs mounted for the test (root and mount permission needed; the test
says so when it cannot mount).
"""
from pathlib import Path

import numpy as np
import pytest
import rasterio
from django.contrib.auth.models import User
from rasterio.transform import from_origin

from ingest.jobs import run_job
from ingest.models import IngestRun
from tests.factories import make_layer
from tests.faults.helpers import small_file_system
from tests.ingest.conftest import parcels_frame, write

pytestmark = [pytest.mark.faults, pytest.mark.django_db]


@pytest.fixture
def small_disk(tmp_path):
    """A 512 KiB file system of its own, unmounted after the test."""
    with small_file_system(tmp_path / "disk", "512k") as mount:
        yield mount


@pytest.fixture
def admin_client(client):
    client.force_login(User.objects.create_user("disk-admin", password="x", is_staff=True, is_superuser=True))
    return client


def _files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file())


def _noise_tiff(path: Path, size: int) -> Path:
    """Random heights: deflate cannot shrink them, so the COG is about as big as the pixels."""
    profile = {"driver": "GTiff", "width": size, "height": size, "count": 1, "dtype": "float32",
               "crs": "EPSG:9210", "transform": from_origin(612000, 1196000, 5, 5), "nodata": -9999.0}
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(np.random.default_rng(7).uniform(0, 30, (size, size)).astype("float32"), 1)
    return path


def test_upload_larger_than_the_free_space(admin_client, small_disk, settings, tmp_path):
    """The upload itself does not fit where uploads wait: 507 with vi/en, no half file, no run."""
    settings.INGEST_JOBS_DIR = small_disk
    make_layer(slug="roads-x")
    big = write(parcels_frame(4000), tmp_path / "big.gpkg")
    assert big.stat().st_size > 512 * 1024
    with big.open("rb") as handle:
        response = admin_client.post("/ingest/", {"file": handle, "layer": "roads-x", "mode": "replace", "max_rejects": 0})
    assert response.status_code == 507, response.content[:500]
    body = response.json()
    assert body["code"] == "insufficient-storage" and "đầy" in body["description_vi"] and "full" in body["description"]
    assert _files(small_disk) == [] and not IngestRun.objects.exists()

    with big.open("rb") as handle:
        html = admin_client.post("/ingest/", {"file": handle, "layer": "roads-x", "mode": "replace", "max_rejects": 0},
                                 HTTP_ACCEPT="text/html")
    assert html.status_code == 507 and "đầy" in html.content.decode() and _files(small_disk) == []


def test_raster_that_does_not_fit_the_media_disk(admin_client, small_disk, settings, tmp_path):
    """A GeoTIFF upload whose COG fills MEDIA_ROOT: the run fails saying so, the old raster stays, no partial file."""
    settings.INGEST_JOBS_DIR = tmp_path / "jobs"
    settings.MEDIA_ROOT = small_disk
    layer = make_layer(kind="raster", geometry_type="", slug="dem-x")

    def upload_and_run(path: Path) -> IngestRun:
        with path.open("rb") as handle:
            admin_client.post("/ingest/", {"file": handle, "layer": "dem-x", "mode": "replace", "max_rejects": 0})
        return run_job(IngestRun.objects.latest("id").pk)  # the job runner, in this process (the test's transaction)

    assert upload_and_run(_noise_tiff(tmp_path / "small.tif", 64)).status == "succeeded"
    layer.refresh_from_db()
    before = (layer.raster_path, layer.raster_info, layer.extent.wkt, layer.last_changed)
    files_before = [(p, p.read_bytes()) for p in _files(small_disk)]
    assert len(files_before) == 1

    run = upload_and_run(_noise_tiff(tmp_path / "big.tif", 600))
    assert run.status == "failed" and run.finished_at is not None
    assert "đầy" in run.report["error"]["vi"] and "full" in run.report["error"]["en"]
    layer.refresh_from_db()
    assert (layer.raster_path, layer.raster_info, layer.extent.wkt, layer.last_changed) == before
    assert [(p, p.read_bytes()) for p in _files(small_disk)] == files_before  # no partial COG beside it
    assert not _files(tmp_path / "jobs")  # the upload is removed after its run, as after any run
    page = admin_client.get(f"/ingest/runs/{run.pk}/").content.decode()
    assert "đầy" in page or "full" in page
