"""The client's address behind proxies (gisportal.clientip): X-Forwarded-For is read only from trusted proxies,
right to left, so a spoofed left-most entry escapes neither the fair-use limit nor the login lockout."""
import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import RequestFactory

from gisportal.clientip import client_ip, parse_networks

FRONT = "10.0.0.2"  # the caching front; 10.0.0.1 a load balancer before it


@pytest.fixture
def trusted(settings):
    settings.GISPORTAL_TRUSTED_PROXIES = ["10.0.0.0/24", "::1"]
    return settings


def _ip(remote: str, forwarded: str | None = None) -> str:
    extra = {"HTTP_X_FORWARDED_FOR": forwarded} if forwarded is not None else {}
    return client_ip(RequestFactory().get("/", REMOTE_ADDR=remote, **extra))


@pytest.mark.parametrize("remote, forwarded, expected", [
    (FRONT, "198.51.100.7", "198.51.100.7"),  # one trusted proxy
    (FRONT, "198.51.100.7, 10.0.0.1", "198.51.100.7"),  # a chain through two trusted proxies
    (FRONT, "1.2.3.4, 198.51.100.7, 10.0.0.1", "198.51.100.7"),  # the client's own header on the left is skipped
    (FRONT, "198.51.100.7 ,10.0.0.1,", "10.0.0.2"),  # an empty right-most entry is malformed: the front itself
    (FRONT, "198.51.100.7, not-an-ip, 10.0.0.1", "10.0.0.1"),  # malformed: stop at the last trusted hop
    (FRONT, "198.51.100.7, 10.0.0.1:8080", "10.0.0.2"),  # a port is not an address
    (FRONT, "10.0.0.9, 10.0.0.1", "10.0.0.9"),  # every hop trusted: the farthest one
    (FRONT, None, FRONT),  # no header: the proxy's own address
    (FRONT, "2001:db8::5", "2001:db8::5"),
    ("::ffff:10.0.0.2", "198.51.100.7", "198.51.100.7"),  # an IPv4-mapped peer is the IPv4 one
    ("::1", "198.51.100.7", "198.51.100.7"),
    ("203.0.113.9", "198.51.100.7", "203.0.113.9"),  # an untrusted peer's header is ignored
    ("10.0.1.2", "198.51.100.7", "10.0.1.2"),  # outside the trusted network
    (FRONT, "198.51.100.7, " + "x" * 5000, FRONT),  # an oversized entry is malformed, not parsed
])
def test_the_client_is_the_first_untrusted_hop_from_the_right(trusted, remote, forwarded, expected):
    assert _ip(remote, forwarded) == expected


def test_without_trusted_proxies_the_header_is_never_read(settings):
    settings.GISPORTAL_TRUSTED_PROXIES = []
    assert _ip("127.0.0.1", "198.51.100.7") == "127.0.0.1"


def test_a_bad_trusted_proxy_setting_is_refused_by_name():
    with pytest.raises(ImproperlyConfigured, match="GISPORTAL_TRUSTED_PROXIES.*10.0.0.300"):
        parse_networks(["10.0.0.0/8", "10.0.0.300"])


@pytest.mark.django_db
def test_a_spoofed_left_most_address_cannot_escape_the_limit(client, trusted, settings):
    settings.OPENDATA_RATE_ANON = 3
    settings.OPENDATA_RATE_WINDOW = 3600
    codes = [client.get("/ogc/conformance", REMOTE_ADDR=FRONT,
                        HTTP_X_FORWARDED_FOR=f"192.0.2.{n}, 198.51.100.7, 10.0.0.1").status_code for n in range(5)]
    assert codes == [200, 200, 200, 429, 429]
    # another resident behind the same front has a budget of their own
    response = client.get("/ogc/conformance", REMOTE_ADDR=FRONT, HTTP_X_FORWARDED_FOR="198.51.100.8, 10.0.0.1")
    assert response.status_code == 200 and response["X-RateLimit-Remaining"] == "2"
    # without trusting the peer, the header changes nothing: every spoof counts on the peer
    codes = [client.get("/ogc/conformance", REMOTE_ADDR="203.0.113.50", HTTP_X_FORWARDED_FOR=f"192.0.2.{n}").status_code
             for n in range(4)]
    assert codes == [200, 200, 200, 429]


@pytest.mark.django_db
def test_the_login_lockout_counts_the_same_client(client, trusted, settings, django_user_model):
    settings.AXES_FAILURE_LIMIT = 3
    django_user_model.objects.create_user("planner", password="the-right-one")

    def attempt(forwarded: str, username: str, password: str = "wrong"):
        return client.post("/accounts/login/", {"username": username, "password": password},
                           REMOTE_ADDR=FRONT, HTTP_X_FORWARDED_FOR=forwarded)

    codes = [attempt(f"192.0.2.{n}, 198.51.100.7", f"user-{n}").status_code for n in range(3)]
    assert codes == [200, 200, 429]  # spoofing the left-most entry did not spread the failures over addresses
    assert attempt("198.51.100.99", "planner", "the-right-one").status_code == 302  # another client is not locked
