"""Shared by the fault tests: a layer's fingerprint, subprocess environments, bounded waits, a small disk."""
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

MANAGE = [sys.executable, str(Path(settings.BASE_DIR) / "manage.py")]


def layer_fingerprint(layer_id: int) -> dict:
    """Everything a load could change about a layer: every feature's id, version, geometry and properties,
    its history rows, and the catalog row's count, extent and change stamp."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*), md5(string_agg(id || ':' || version || ':' || md5(ST_AsEWKB(geom)) || ':' || properties::text, "
            "',' ORDER BY id)) FROM layers_feature WHERE layer_id = %s", [layer_id])
        features = cursor.fetchone()
        cursor.execute("SELECT count(*), max(id) FROM layers_featureversion WHERE layer_id = %s", [layer_id])
        history = cursor.fetchone()
        cursor.execute("SELECT feature_count, ST_AsText(extent), last_changed FROM layers_layer WHERE id = %s", [layer_id])
        catalog = cursor.fetchone()
    return {"features": features, "history": history, "catalog": catalog}


def child_env(**extra: str) -> dict[str, str]:
    """The environment of a manage.py child on this test's database."""
    return {**os.environ, "GISPORTAL_DB_NAME": connection.settings_dict["NAME"],
            "DJANGO_SETTINGS_MODULE": "gisportal.settings", **extra}


def wait_until(check: Callable[[], bool], *, seconds: float, what: str) -> None:
    """Polls until check() holds; fails naming what never happened (bounds a wait, asserts no speed)."""
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"never happened within {seconds} s: {what}")
        time.sleep(0.1)


@contextmanager
def small_file_system(folder: Path, size: str) -> Iterator[Path]:
    """A tmpfs of `size` (e.g. "64k") mounted on a new `folder`, unmounted afterwards: a disk that really fills.
    Skips the test where it cannot mount (needs root and mount permission)."""
    folder.mkdir()
    result = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=0755", "tmpfs", str(folder)],
                            capture_output=True, text=True)
    if result.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here (needs root and mount permission): {result.stderr.strip()}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=True)
