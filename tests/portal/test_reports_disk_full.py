"""A photo that fills the disk: 507 in both languages, no report row, no partial file left."""
import io

import numpy as np
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from portal.report_models import Report
from tests.faults.helpers import small_file_system
from tests.portal.conftest import stored_files

pytestmark = pytest.mark.django_db


@pytest.fixture
def small_media(settings, tmp_path):
    """MEDIA_ROOT on a 64 KiB file system of its own, unmounted after the test."""
    with small_file_system(tmp_path / "disk", "64k") as mount:
        settings.MEDIA_ROOT = mount
        yield mount


def test_a_photo_that_fills_the_disk_stores_nothing(client, inside, small_media):
    noise = np.random.default_rng(3).integers(0, 255, (900, 1200, 3), dtype=np.uint8)
    out = io.BytesIO()
    Image.fromarray(noise).save(out, "JPEG", quality=95)  # noise: the re-encoded JPEG stays far above 64 KiB
    response = client.post("/api/reports", {"category": "other", "text": "Ảnh hiện trường rất lớn đây.",
                                            "lon": str(inside[0]), "lat": str(inside[1]),
                                            "photo": SimpleUploadedFile("big.jpg", out.getvalue())})
    assert response.status_code == 507, response.content[:300]
    assert response.json()["description_vi"] and response.json()["description"]
    assert Report.objects.count() == 0
    assert stored_files(small_media) == []
