"""The one outbound check (opendata/outbound.py), against real local HTTP servers: allow-lists, private
addresses, redirects to other hosts, size caps and slow answers."""
import http.server
import threading
import time

import pytest

from opendata import outbound
from opendata.outbound import OutboundFailed, OutboundRefused, Policy


class _Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args):  # quiet test output
        pass

    def do_GET(self):
        if self.path == "/big":
            self._answer(200, b"x" * 5000)
        elif self.path == "/slow":
            self.send_response(200)
            self.end_headers()
            for _ in range(20):
                self.wfile.write(b"." * 10)
                self.wfile.flush()
                time.sleep(0.1)
        elif self.path.startswith("/to-other"):
            self._redirect(f"http://localhost:{self.server.server_port}/ok")  # same port, other host name
        elif self.path.startswith("/to-same"):
            self._redirect("/ok")
        elif self.path.startswith("/loop"):
            self._redirect("/loop")
        else:
            self._answer(200, f"ok {self.headers['Host']}".encode())

    def do_POST(self):
        self._redirect("/ok") if self.path == "/moved" else self._answer(204, b"")

    def _answer(self, status, body):
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _redirect(self, where):
        self.send_response(302)
        self.send_header("Location", where)
        self.send_header("Content-Length", "0")
        self.end_headers()


@pytest.fixture(scope="module")
def server():
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"127.0.0.1:{httpd.server_port}"
    httpd.shutdown()


def _listed(server, **kw):
    return Policy(name="harvest", hosts=frozenset({server}), setting="GISPORTAL_HARVEST_HOSTS", private_if_listed=True, **kw)


def test_a_listed_loopback_host_is_reached_and_the_host_header_is_kept(server):
    answer = outbound.get(f"http://{server}/ok", _listed(server))
    assert answer.status == 200 and answer.content == f"ok {server}".encode()


@pytest.mark.parametrize("url", [
    "http://127.0.0.2:1/ok",            # not listed
    "file:///etc/passwd",               # not http
    "gopher://127.0.0.1/",              # not http
    "http://user:pw@127.0.0.1/",        # user info
    "http://[::1]:1/",                  # not listed
    "http:///nohost",                   # no host
    "http://exa mple.org/",             # a space
    "http://" + "a" * 3000 + ".org/",   # too long
])
def test_urls_off_the_list_or_malformed_are_refused_with_both_languages(server, url):
    with pytest.raises(OutboundRefused) as refused:
        outbound.check_url(url, _listed(server))
    assert refused.value.status == 400 and refused.value.message_vi and refused.value.message_en


def test_without_a_listing_private_and_loopback_addresses_are_refused(settings):
    settings.GISPORTAL_WEBHOOK_ALLOW_INSECURE = False
    for url in ("https://127.0.0.1/hook", "https://10.0.0.7/hook", "https://169.254.169.254/latest",
                "https://[::ffff:127.0.0.1]/hook", "https://localhost/hook", "https://0.0.0.0/"):
        with pytest.raises(OutboundRefused):
            outbound.check_url(url, outbound.webhook_policy())
    with pytest.raises(OutboundRefused, match="https"):
        outbound.check_url("http://example.org/hook", outbound.webhook_policy())


def test_harvest_refuses_every_host_until_the_administrator_lists_it(settings, server):
    settings.GISPORTAL_HARVEST_HOSTS = []
    with pytest.raises(OutboundRefused, match="GISPORTAL_HARVEST_HOSTS"):
        outbound.check_url(f"http://{server}/ok", outbound.harvest_policy())
    settings.GISPORTAL_HARVEST_HOSTS = [server]
    assert outbound.check_url(f"http://{server}/ok", outbound.harvest_policy()).address == "127.0.0.1"


def test_insecure_webhook_mode_admits_loopback_http(settings, server):
    settings.GISPORTAL_WEBHOOK_ALLOW_INSECURE = True
    assert outbound.post(f"http://{server}/hook", outbound.webhook_policy(), body=b"{}").status == 204


def test_redirects_only_to_the_same_host_and_never_for_posts(server):
    policy = _listed(server)
    assert outbound.get(f"http://{server}/to-same", policy).content.startswith(b"ok")
    with pytest.raises(OutboundRefused):
        outbound.get(f"http://{server}/to-other", policy)
    with pytest.raises(OutboundRefused):
        outbound.get(f"http://{server}/loop", policy)
    assert outbound.post(f"http://{server}/moved", policy, body=b"").status == 302


def test_answers_over_the_cap_or_too_slow_fail(server):
    with pytest.raises(OutboundFailed, match="4000"):
        outbound.get(f"http://{server}/big", _listed(server, max_bytes=4000))
    with pytest.raises(OutboundFailed):
        outbound.get(f"http://{server}/slow", _listed(server, total_timeout=0.5))
    with pytest.raises(OutboundFailed):
        outbound.get(f"http://{server}/slow", _listed(server, read_timeout=0.05, total_timeout=5))  # 0.1 s between writes
