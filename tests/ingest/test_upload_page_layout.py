"""/ingest/ in the site's look: the shared base and stylesheet, its form's errors readable in both languages,
wide tables in their own scroll box (the browser walk in tests/browser/test_no_sideways_scroll.py measures it)."""
import pytest
from django.contrib.auth.models import User

from ingest.models import IngestRun

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client, tmp_path, settings):
    settings.INGEST_JOBS_DIR = tmp_path / "jobs"
    client.force_login(User.objects.create_user("dataadmin", password="x", is_staff=True, is_superuser=True))
    return client


def test_the_upload_page_uses_the_site_frame_and_stylesheet(admin_client):
    html = admin_client.get("/ingest/").content.decode()
    assert 'class="site-header"' in html and "/static/css/site.css" in html
    assert 'class="ingest-form"' in html
    assert '<div class="table-scroll"' in html and 'class="ingest-runs"' in html


def test_a_form_with_errors_says_so_in_both_languages_and_queues_nothing(admin_client):
    before = IngestRun.objects.count()
    response = admin_client.post("/ingest/", {"layer": "parcels", "mode": "append", "max_rejects": "-1",
                                              "column_map": "no pairs here"})
    html = response.content.decode()
    assert response.status_code == 400  # bad input: a 4xx, the form shown again with its errors
    assert 'data-testid="form-errors"' in html and 'role="alert"' in html
    assert "Biểu mẫu có lỗi" in html and "The form has errors" in html
    assert html.count('class="errorlist') >= 2  # the file and the bad column map, each under its field
    assert "Viết các cặp nguồn=đích" in html and "Write src=dst pairs" in html
    assert IngestRun.objects.count() == before
