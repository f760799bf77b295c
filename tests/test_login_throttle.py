"""Sign-in throttling: per client IP whatever the usernames, and per username whatever the IPs; 429 saying how long."""
import pytest
from django.contrib.auth.models import User

pytestmark = pytest.mark.django_db
LOGIN = "/accounts/login/"


@pytest.fixture
def limit(settings):
    settings.AXES_FAILURE_LIMIT = 5
    settings.AXES_COOLOFF_TIME = 0.25  # 15 minutes
    return 5


def _try(client, username: str, password: str = "wrong-guess", ip: str = "203.0.113.7", **extra):
    return client.post(LOGIN, {"username": username, "password": password}, REMOTE_ADDR=ip, **extra)


def _assert_locked(response) -> None:
    assert response.status_code == 429
    assert response["Retry-After"] == "900"
    body = response.json()
    assert body["code"] == "login-locked"
    assert "15 phút" in body["description_vi"] and "15 minutes" in body["description"]


def test_many_usernames_from_one_ip_are_locked_out(client, limit):
    User.objects.create_user("planner-29", password="the-right-one-29")
    codes = [_try(client, f"planner-{n}").status_code for n in range(limit)]
    assert codes == [200] * (limit - 1) + [429]  # the form again with its error, then locked at the limit
    _assert_locked(_try(client, "planner-6"))
    # even the right password of another username is refused from that IP now
    _assert_locked(_try(client, "planner-29", "the-right-one-29"))
    assert "_auth_user_id" not in client.session
    assert _try(client, "planner-29", "the-right-one-29", ip="198.51.100.1").status_code == 302  # another IP may


def test_one_username_from_many_ips_is_locked_out(client, limit):
    User.objects.create_user("chief", password="the-right-one")
    codes = [_try(client, "chief", ip=f"198.51.100.{n}").status_code for n in range(1, limit + 1)]
    assert codes == [200] * (limit - 1) + [429]
    _assert_locked(_try(client, "chief", ip="192.0.2.200"))
    _assert_locked(_try(client, "chief", "the-right-one", ip="192.0.2.201"))
    assert _try(client, "someone-else", ip="192.0.2.202").status_code == 200  # other users are not locked


def test_lockout_page_for_a_browser_is_a_page_in_the_visitors_language(client, limit):
    for n in range(limit):
        _try(client, f"u{n}")
    page = _try(client, "u9", HTTP_ACCEPT="text/html")
    assert page.status_code == 429 and page["Content-Type"].startswith("text/html")
    assert "15 phút" in page.content.decode() and page["Retry-After"] == "900"
    client.cookies["django_language"] = "en"
    english = _try(client, "u9", HTTP_ACCEPT="text/html")
    assert "15 minutes" in english.content.decode()


def test_a_success_does_not_wipe_the_ips_failures(client, limit):
    User.objects.create_user("mine", password="my-own-password")
    for n in range(limit - 2):
        _try(client, f"victim-{n}")
    assert _try(client, "mine", "my-own-password").status_code == 302
    client.logout()
    assert _try(client, "victim-x").status_code == 200
    _assert_locked(_try(client, "victim-y"))
