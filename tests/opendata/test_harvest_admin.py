"""The harvest sources in the admin: the same checks as the command (the allow-list, the schedule) and the
"harvest now" action, which runs the same service."""
import pytest
from django.contrib.auth.models import User

from opendata.harvest_models import HarvestRun, HarvestSource
from tests.opendata.test_harvest_failures import Source, server  # noqa: F401  (the local OGC API source)

pytestmark = pytest.mark.django_db
ADD = "/admin/opendata/harvestsource/add/"


@pytest.fixture
def admin_client(client):
    client.force_login(User.objects.create_superuser("harvest-admin", password="x"))
    return client


def _form(**fields):
    return {"layer_slug": "khu", "url": "http://127.0.0.1:9/", "kind": "ogcapi", "remote_layer": "z",
            "key_field": "", "every": "", "active": "on", "runs-TOTAL_FORMS": "0", "runs-INITIAL_FORMS": "0",
            **fields}


def test_the_admin_refuses_a_host_off_the_allow_list_and_a_short_schedule(admin_client, settings):
    settings.GISPORTAL_HARVEST_HOSTS = ["127.0.0.1:9"]
    page = admin_client.post(ADD, _form(url="http://data.example.gov.vn/ogc"))
    assert page.status_code == 200 and "GISPORTAL_HARVEST_HOSTS" in page.content.decode()
    page = admin_client.post(ADD, _form(every="00:01:00"))
    assert page.status_code == 200 and "at least 5 minutes" in page.content.decode()
    assert not HarvestSource.objects.exists()
    assert admin_client.post(ADD, _form(every="01:00:00")).status_code == 302
    source = HarvestSource.objects.get()
    assert source.key_field == "id" and source.next_run_at is not None


def test_harvest_now_runs_the_source_and_logs_the_run(admin_client, settings, server):  # noqa: F811
    settings.GISPORTAL_HARVEST_HOSTS = [f"127.0.0.1:{server}"]
    Source.mode = "good"
    assert admin_client.post(ADD, _form(url=f"http://127.0.0.1:{server}")).status_code == 302
    source = HarvestSource.objects.get()
    page = admin_client.post("/admin/opendata/harvestsource/", {"action": "harvest_now", "_selected_action": [source.pk]},
                             follow=True)
    assert "inserted 3" in page.content.decode()
    run = HarvestRun.objects.get(source=source)
    assert run.status == "succeeded" and run.ingest_run.loaded_count == 3
    assert "succeeded" in admin_client.get(f"/admin/opendata/harvestsource/{source.pk}/change/").content.decode()
