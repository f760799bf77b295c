"""Cluster pieces for the tile tests: web nodes on the test database with the Redis tile cache, a Varnish front
rendered from deploy/varnish (the cluster's own VCL), and one-shot runs of the real job worker.

Every process is started in its own session and stopped by its own process group's id, never by name.
"""
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from tests.faults.cluster import ROOT, Gunicorn, free_port, get

RENDER = ROOT / "deploy" / "varnish" / "render.py"


def node_env(folder: Path, **extra: str) -> dict[str, str]:
    """A web node's (or the worker's) environment: the test database, its Redis prefix, the Redis tile cache."""
    return {**os.environ, "DATABASE_URL": "", "GISPORTAL_DB_NAME": settings.DATABASES["default"]["NAME"],
            "GISPORTAL_CACHE_PREFIX": settings.CACHE_KEY_PREFIX, "GISPORTAL_TILE_CACHE_BACKEND": "tiles.redis_cache.RedisCache",
            "GISPORTAL_MEDIA_ROOT": str(folder / "media"), "GISPORTAL_TILE_CACHE_DIR": str(folder / "tiles"),
            **extra}


def start_node(env: dict[str, str]) -> Gunicorn:
    node = Gunicorn(env, workers=1)
    try:
        node.wait_ready()
    except AssertionError:
        node.stop()
        raise
    return node


class Varnish:
    """varnishd -F on a free port in front of the given node ports, its work folder under /tmp (reachable by the
    unprivileged users it drops to when started as root)."""

    def __init__(self, node_ports: list[int]):
        if shutil.which("varnishd") is None:
            pytest.skip("varnishd is not installed (scripts/bootstrap.sh cluster installs varnish, varnish-modules)")
        if not RENDER.exists():
            pytest.skip("deploy/varnish/render.py is missing (the cluster's front configuration)")
        self.folder = Path(tempfile.mkdtemp(prefix="gp-varnish-", dir="/tmp"))
        self.folder.chmod(0o755)
        self.vcl = self.folder / "gisportal.vcl"
        rendered = subprocess.run([sys.executable, str(RENDER), *map(str, node_ports)], capture_output=True, text=True,
                                  check=True, timeout=30)
        self.vcl.write_text(rendered.stdout)
        self.vcl.chmod(0o644)
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = self.folder / "varnish.log"
        self.start()

    def start(self) -> None:
        """varnishd in the foreground of its own session (an empty cache: Varnish keeps it in memory)."""
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                ["varnishd", "-F", "-n", str(self.folder / "work"), "-a", f"127.0.0.1:{self.port}", "-f", str(self.vcl),
                 "-T", "127.0.0.1:0", "-s", "malloc,32m"], stdout=out, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL, start_new_session=True)

    def wait_ready(self, seconds: float = 60) -> None:
        """Until a node answers through the front (the health probe has found it)."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            assert self.process.poll() is None, f"varnishd exited: {self.log.read_text()[-2000:]}"
            if get(self.base + "/healthz")[0] == 200:
                return
            time.sleep(0.2)
        raise AssertionError(f"no node answered through Varnish: {self.log.read_text()[-2000:]}")

    def halt(self) -> None:
        """Stops varnishd (its group), keeping the folder so start() brings it back on the same port."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()

    def stop(self) -> None:
        self.halt()
        shutil.rmtree(self.folder, ignore_errors=True)


def run_worker_once(env: dict[str, str]) -> str:
    """`manage.py procrastinate worker --one-shot` on the tiles queue: runs the jobs that are due, then exits."""
    result = subprocess.run([sys.executable, str(ROOT / "manage.py"), "procrastinate", "worker", "--one-shot",
                             "--queues", "tiles"], env=env, cwd=ROOT, capture_output=True, text=True, timeout=120,
                            start_new_session=True)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
    return result.stdout + result.stderr


def clear_tile_jobs() -> None:
    """No tiles job of an earlier test waits in the queue (procrastinate's tables are outside Django's flush)."""
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM procrastinate_jobs WHERE queue_name = 'tiles'")


def tile_jobs() -> list[tuple[str, str, int]]:
    """(task name, status, attempts) of the queued tiles jobs, oldest first."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT task_name, status, attempts FROM procrastinate_jobs WHERE queue_name = 'tiles' ORDER BY id")
        return cursor.fetchall()
