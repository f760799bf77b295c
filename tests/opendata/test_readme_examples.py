"""The developers' examples in opendata/README.md run as written: the change-feed follower keeps an exact copy of a
layer through edits, and the webhook receiver accepts a delivery signed by the platform and refuses a forged one."""
import json
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from django.contrib.auth.models import User

from layers.editing import feature_create, feature_delete, feature_update
from layers.models import Feature
from opendata import webhooks_signing
from tests.factories import make_layer, square
from tests.opendata.feed_helpers import settle

README = Path(__file__).resolve().parents[2] / "opendata" / "README.md"


def python_block(starting: str) -> str:
    """The README's ```python block whose first line starts with `starting`."""
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)
    found = [block for block in blocks if block.startswith(starting)]
    assert len(found) == 1, f"one python block starting {starting!r} in opendata/README.md"
    return found[0]


@pytest.mark.django_db(transaction=True)
def test_the_feed_follower_keeps_an_exact_copy(live_server, tmp_path, monkeypatch):
    code = python_block("import json, pathlib, requests")
    assert 'BASE, LAYER = "https://<host>", "parcels"' in code
    layer = make_layer(slug="readme-follow")
    admin = User.objects.create_superuser("readme-admin")
    made = [feature_create(layer=layer, geom=square(106.70 + i * 0.001, 10.80), properties={}, user=admin)
            for i in range(4)]
    monkeypatch.chdir(tmp_path)

    def follow():
        settle()
        exec(compile(code.replace('"https://<host>", "parcels"', f'"{live_server.url}", "{layer.slug}"'),
                     str(README), "exec"), {})
        return json.loads((tmp_path / "parcels.state.json").read_text())

    first = follow()
    assert sorted(first["features"]) == sorted(str(f.pk) for f in made)
    feature_delete(layer=layer, feature_id=made[0].pk, expected_version=1, user=admin)
    feature_update(layer=layer, feature_id=made[1].pk, expected_version=1, user=admin, geom=square(106.75, 10.85))
    second = follow()  # from the stored cursor
    assert sorted(second["features"]) == sorted(str(f.pk) for f in Feature.objects.filter(layer=layer))
    moved = second["features"][str(made[1].pk)]["geometry"]["coordinates"][0]
    assert min(x for x, _ in moved) == pytest.approx(106.75)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_the_webhook_receiver_accepts_a_signed_delivery_and_refuses_a_forged_one(tmp_path):
    secret, port = webhooks_signing.generate_secret(), _free_port()
    code = python_block("import base64, hashlib, hmac, json, time")
    assert 'SECRET = "whsec_…"' in code and 'HTTPServer(("", 8080), Hook)' in code
    script = tmp_path / "receiver.py"
    script.write_text(code.replace('"whsec_…"', repr(secret)).replace('("", 8080)', f'("127.0.0.1", {port})'))
    receiver = subprocess.Popen([sys.executable, "-u", str(script)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        body = json.dumps({"id": "evt-1", "type": "vn.gisportal.layer.changed",
                           "data": {"layer": "parcels", "kind": "edit", "counts": {"update": 1}}}).encode()
        url = f"http://127.0.0.1:{port}/"
        for _ in range(100):  # until it listens
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.1).close()
                break
            except OSError:
                time.sleep(0.05)
        signed = webhooks_signing.headers(secret, "evt-1", body)
        assert requests.post(url, data=body, headers=signed, timeout=5).status_code == 204
        forged = {**signed, "webhook-signature": webhooks_signing.signature("whsec_" + "A" * 44, "evt-1",
                                                                             int(signed["webhook-timestamp"]), body)}
        assert requests.post(url, data=body, headers=forged, timeout=5).status_code == 401
        stale = webhooks_signing.headers(secret, "evt-1", body, now=time.time() - 3600)  # a replay an hour later
        assert requests.post(url, data=body, headers=stale, timeout=5).status_code == 401
        tampered = body.replace(b'"update": 1', b'"update": 9')
        assert requests.post(url, data=tampered, headers=signed, timeout=5).status_code == 401
    finally:
        receiver.terminate()
        output = receiver.communicate(timeout=10)[0].decode()
    assert "vn.gisportal.layer.changed parcels edit" in output
