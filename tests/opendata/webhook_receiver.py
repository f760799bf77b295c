"""A real webhook receiver for tests (http.server in a thread) that verifies every delivery as opendata/README.md
tells receivers to (written here again, not imported: the documented algorithm is what is tested), and a real job
worker run (`manage.py procrastinate worker --one-shot` on the webhooks queue) in its own process."""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from django.db import connection

from tests.faults.cluster import ROOT
from tests.faults.helpers import child_env


def verify(secret: str, headers: dict[str, str], body: bytes) -> bool:
    """Standard Webhooks v1: HMAC-SHA256 over "{webhook-id}.{webhook-timestamp}.{body}", base64, timestamp within 5 min."""
    key = base64.b64decode(secret[len("whsec_"):]) if secret.startswith("whsec_") else secret.encode()
    stamp = headers.get("webhook-timestamp", "")
    if not stamp.isdigit() or abs(time.time() - int(stamp)) > 300:
        return False
    signed = f"{headers.get('webhook-id', '')}.{stamp}.".encode() + body
    expected = "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    return any(hmac.compare_digest(expected, given) for given in headers.get("webhook-signature", "").split())


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes
    verified: bool

    @property
    def event(self) -> dict:
        return json.loads(self.body)


@dataclass
class Receiver:
    """Answers each POST with the next planned (status, delay in seconds), then 200s."""

    secret: str
    plan: list[tuple[int, float]] = field(default_factory=list)
    received: list[Received] = field(default_factory=list)

    def __post_init__(self):
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                headers = {k.lower(): v for k, v in self.headers.items()}
                owner.received.append(Received(headers, body, verify(owner.secret, headers, body)))
                status, delay = owner.plan.pop(0) if owner.plan else (200, 0)
                time.sleep(delay)
                try:
                    self.send_response(status)
                    self.send_header("Content-Length", "2")
                    self.end_headers()
                    self.wfile.write(b"ok")
                except OSError:  # the sender gave up (time-out)
                    pass

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _due() -> int:
    """Webhooks jobs due now or within seconds (a dispatch waiting for an older transaction to end, anywhere in the
    cluster, re-queues itself a few seconds later); retries wait for their back-off and are not counted."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM procrastinate_jobs WHERE queue_name = 'webhooks' AND status = 'todo' "
                       "AND (scheduled_at IS NULL OR scheduled_at <= now() + interval '5 seconds')")
        return cursor.fetchone()[0]


def run_jobs(patience: float = 180) -> str:
    """A real worker on the webhooks queue that runs the jobs due now and exits (insecure mode: http, loopback),
    again while jobs it queued (a dispatch queues deliveries) are due."""
    output, deadline = "", time.monotonic() + patience
    while True:
        result = subprocess.run([sys.executable, str(ROOT / "manage.py"), "procrastinate", "worker", "--one-shot",
                                 "--queues", "webhooks"], env=child_env(GISPORTAL_WEBHOOK_ALLOW_INSECURE="1"), cwd=ROOT,
                                capture_output=True, text=True, timeout=300, start_new_session=True)
        output += result.stdout + result.stderr
        assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
        if not _due():
            return output
        if time.monotonic() > deadline:
            raise AssertionError(f"webhooks jobs still due after {patience} s of worker runs: {output[-3000:]}")
        time.sleep(1)


def clear_webhook_jobs() -> None:
    """No webhooks job of an earlier test waits (procrastinate's tables are outside Django's flush)."""
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM procrastinate_jobs WHERE queue_name = 'webhooks'")


def make_due() -> int:
    """Moves the scheduled webhooks jobs to now (time passing, for a retry's back-off); how many moved."""
    with connection.cursor() as cursor:
        cursor.execute("UPDATE procrastinate_jobs SET scheduled_at = now() WHERE queue_name = 'webhooks' "
                       "AND status = 'todo' AND scheduled_at > now()")
        return cursor.rowcount
