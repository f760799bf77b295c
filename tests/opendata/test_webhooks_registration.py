"""Registering webhooks: one check for the command and the admin (https to public addresses unless insecure mode,
public layers only, secrets of 16+ characters), refusals in Vietnamese and English, nothing saved by a refusal."""
import re
from io import StringIO

import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command

from layers import changes
from opendata import webhooks_signing as signing
from opendata.webhooks_models import Webhook, WebhookDelivery, WebhookPosition

pytestmark = pytest.mark.django_db
SECRET = "a-long-enough-secret-16+"


def _add(*args: str) -> str:
    out = StringIO()
    call_command("webhooks", "add", *args, stdout=out)
    return out.getvalue()


@pytest.mark.parametrize("url, reason", [
    ("http://93.184.216.34/hook", "https://"),                  # plain http outside insecure mode
    ("https://127.0.0.1/hook", "private or loopback"),            # loopback
    ("https://10.1.2.3/hook", "private or loopback"),             # private
    ("https://[::1]/hook", "private or loopback"),
    ("https://169.254.169.254/latest/meta-data", "private or loopback"),  # cloud metadata
    ("https://localhost/hook", "private or loopback"),
    ("ftp://example.org/hook", "http:// or https://"),
    ("https://user:pw@93.184.216.34/hook", "user name"),
    ("https://no-such-host.invalid/hook", "does not resolve"),
])
def test_the_command_refuses_unsafe_receivers_in_both_languages(parcels, url, reason):
    with pytest.raises(CommandError) as refused:
        _add(url, "--layers", "parcels", "--secret", SECRET)
    assert reason in str(refused.value) and " / " in str(refused.value)
    assert not Webhook.objects.exists()


@pytest.mark.parametrize("args, reason", [
    (["--layers", "secret-bunkers", "--secret", SECRET], "restricted"),
    (["--layers", "parcels,secret-bunkers", "--secret", SECRET], "restricted"),
    (["--layers", "no-such-layer", "--secret", SECRET], "There is no layer"),
    (["--layers", ",", "--secret", SECRET], "at least one layer"),
    (["--layers", "parcels", "--secret", "short"], "16 to 200"),
    (["--layers", "parcels", "--secret", "sixteen chars with spaces"], "without spaces"),
    (["--layers", "parcels", "--secret", "x" * 201], "16 to 200"),
    (["--layers", "parcels", "--secret", "mật-khẩu-tiếng-việt-dài"], "ASCII"),
    (["--layers", "parcels", "--secret", SECRET, "--description", "one\nline"], "one line"),
    (["--layers", "parcels", "--secret", SECRET, "--description", "d" * 301], "at most 300"),
])
def test_the_command_refuses_restricted_layers_and_weak_secrets(parcels, secret, settings, args, reason):
    settings.GISPORTAL_WEBHOOK_ALLOW_INSECURE = True  # the URL passes: the other checks refuse
    with pytest.raises(CommandError) as refused:
        _add("http://127.0.0.1:9/hook", *args)
    assert reason in str(refused.value) and " / " in str(refused.value)
    assert not Webhook.objects.exists()


def test_insecure_mode_admits_http_and_loopback_and_the_host_list_narrows(parcels, settings):
    settings.GISPORTAL_WEBHOOK_ALLOW_INSECURE = True
    _add("http://127.0.0.1:9/hook", "--layers", "parcels", "--secret", SECRET)
    settings.GISPORTAL_WEBHOOK_HOSTS = ["receiver.example"]
    with pytest.raises(CommandError, match="allow-list"):
        _add("http://127.0.0.1:9/other", "--layers", "parcels", "--secret", SECRET)
    assert Webhook.objects.count() == 1


def test_add_generates_a_secret_once_starts_at_the_latest_change_and_list_remove_work(parcels, settings):
    settings.GISPORTAL_WEBHOOK_ALLOW_INSECURE = True
    out = _add("http://127.0.0.1:9/hook", "--layers", "parcels", "--description", "Sở Xây dựng")
    hook = Webhook.objects.get()
    printed = re.search(r"secret: (\S+)", out).group(1)
    assert printed == hook.secret and printed.startswith("whsec_") and len(signing.secret_key(printed)) == 32
    position = WebhookPosition.objects.get(webhook=hook, layer=parcels)
    assert changes.Position(position.xact, position.row) == changes.latest_position(parcels)
    assert "secret:" not in _add("http://127.0.0.1:9/b", "--layers", "parcels", "--secret", SECRET)  # given: not echoed
    listed = StringIO()
    call_command("webhooks", "list", stdout=listed)
    assert f"#{hook.pk}" in listed.getvalue() and "layers=parcels" in listed.getvalue()
    assert hook.secret not in listed.getvalue()
    call_command("webhooks", "remove", str(hook.pk), stdout=StringIO())
    assert not Webhook.objects.filter(pk=hook.pk).exists()
    for bad in ("999999", "abc", "-1"):
        with pytest.raises(CommandError, match="There is no webhook"):
            call_command("webhooks", "deliveries", bad, stdout=StringIO())


def test_a_ping_is_queued_and_shown_in_the_delivery_log(parcels, settings):
    settings.GISPORTAL_WEBHOOK_ALLOW_INSECURE = True
    _add("http://127.0.0.1:9/hook", "--layers", "parcels", "--secret", SECRET)
    hook = Webhook.objects.get()
    call_command("webhooks", "ping", str(hook.pk), stdout=StringIO())
    delivery = WebhookDelivery.objects.get(webhook=hook)
    assert (delivery.event_type, delivery.status, delivery.attempts) == ("vn.gisportal.webhook.ping", "pending", 0)
    log = StringIO()
    call_command("webhooks", "deliveries", str(hook.pk), stdout=log)
    assert delivery.event_id in log.getvalue() and "pending" in log.getvalue()


def test_signatures_follow_the_standard_webhooks_scheme():
    secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"  # the specification's example secret
    body = b'{"test": 2432232314}'
    assert signing.signature(secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body) == \
        "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="  # the specification's own test vector
    headers = signing.headers(secret, "evt-1", body)
    assert signing.verify(secret, headers, body)
    assert not signing.verify(secret, headers, body + b" ")
    assert not signing.verify("whsec_" + "A" * 32, headers, body)
    assert not signing.verify(secret, {**headers, "webhook-timestamp": str(int(headers["webhook-timestamp"]) - 301)}, body)


@pytest.fixture
def data_admin(db):
    return User.objects.create_user("hooks-admin", password="x", is_staff=True, is_superuser=True)


def test_the_admin_checks_like_the_command_and_masks_the_secret(client, data_admin, parcels, secret, settings):
    client.force_login(data_admin)
    form = {"url": "http://93.184.216.34/hook", "layers": [parcels.pk], "active": "on", "description": "",
            "new_secret": SECRET}
    refused = client.post("/admin/opendata/webhook/add/", form)
    assert refused.status_code == 200 and "https://" in refused.content.decode() and not Webhook.objects.exists()
    refused = client.post("/admin/opendata/webhook/add/", {**form, "url": "https://93.184.216.34/hook",
                                                           "layers": [secret.pk]})
    assert "restricted" in refused.content.decode() and not Webhook.objects.exists()
    refused = client.post("/admin/opendata/webhook/add/", {**form, "url": "https://93.184.216.34/hook",
                                                           "new_secret": "short"})
    assert "16 to 200" in refused.content.decode() and not Webhook.objects.exists()
    saved = client.post("/admin/opendata/webhook/add/", {**form, "url": "https://93.184.216.34/hook"})
    assert saved.status_code == 302
    hook = Webhook.objects.get()
    assert hook.secret == SECRET and WebhookPosition.objects.filter(webhook=hook, layer=parcels).exists()
    page = client.get(f"/admin/opendata/webhook/{hook.pk}/change/").content.decode()
    assert SECRET not in page and SECRET[:6] + "…" in page
    log = client.get(f"/admin/opendata/webhookdelivery/?webhook__id__exact={hook.pk}")
    assert log.status_code == 200


def test_the_admin_retry_now_action_queues_an_attempt_for_a_failed_delivery(client, data_admin, parcels, settings):
    settings.GISPORTAL_WEBHOOK_ALLOW_INSECURE = True
    _add("http://127.0.0.1:9/hook", "--layers", "parcels", "--secret", SECRET)
    hook = Webhook.objects.get()
    failed = WebhookDelivery.objects.create(webhook=hook, event_id="evt-x", layer=parcels, event_type="vn.gisportal.layer.changed",
                                            payload={"id": "evt-x"}, status="failed", attempts=12, last_error="HTTP 500")
    client.force_login(data_admin)
    answer = client.post("/admin/opendata/webhookdelivery/", {"action": "retry_now", "_selected_action": [failed.pk]})
    assert answer.status_code == 302
    failed.refresh_from_db()
    assert failed.status == "pending" and failed.next_attempt_at is not None
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM procrastinate_jobs WHERE task_name = 'opendata.webhook_deliver' "
                       "AND status = 'todo' AND (args->>'delivery_id')::bigint = %s AND (args->>'attempt')::int = 12",
                       [failed.pk])
        assert cursor.fetchone()[0] == 1

