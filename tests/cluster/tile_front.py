"""Cluster pieces for the tile tests: web nodes on the test database with the Redis tile cache, a Varnish front
rendered from deploy/varnish (the cluster's own VCL), and one-shot runs of the real job worker.

Every process is started in its own session and stopped by its own process group's id (or pid file), never by name.
"""
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from bench.cluster_front import Front, varnish_available
from tests.faults.cluster import ROOT, Gunicorn, free_port


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


def start_front(node_ports: list[int]) -> Front:
    """The cluster's Varnish front (bench/cluster_front: the VCL `make cluster` renders) on a free port; stop() it."""
    if not varnish_available():
        pytest.skip("varnishd is not installed (scripts/bootstrap.sh cluster installs varnish, varnish-modules)")
    front = Front(free_port(), node_ports, memory="32m")
    try:
        front.__enter__()
    except BaseException:
        front.stop()
        raise
    return front


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
