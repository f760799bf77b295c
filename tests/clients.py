"""The field's own clients, run for real: GDAL's command-line tools and QGIS 3.22's Python API.

QGIS's bindings belong to the distribution's Python (python3-qgis), not to the project's virtualenv, so a
QGIS check runs as a script under /usr/bin/python3 with an offscreen Qt and prints one JSON document.
"""
import json
import os
import shutil
import subprocess
import textwrap

import pytest

SYSTEM_PYTHON = "/usr/bin/python3"


def _clean_env() -> dict:
    """The environment without the project's GDAL/PROJ settings, as on a user's own machine."""
    return {k: v for k, v in os.environ.items()
            if not k.startswith(("CPL_", "GDAL_", "PROJ_", "PYTHON", "VIRTUAL_ENV", "DJANGO_"))}


def gdal(*args: str, timeout: int = 120) -> str:
    """Runs a GDAL command (ogr2ogr, ogrinfo, gdalinfo …) with its defaults; its stdout, or the test fails."""
    result = subprocess.run(args, capture_output=True, text=True, timeout=timeout, env=_clean_env())
    assert result.returncode == 0, f"{' '.join(args)}\n{result.stderr}"
    return result.stdout


def has_qgis() -> bool:
    """True when QGIS's Python API is installed for the system Python."""
    return os.path.exists(SYSTEM_PYTHON) and os.path.isdir("/usr/lib/python3/dist-packages/qgis")


needs_gdal = pytest.mark.skipif(not shutil.which("ogr2ogr"), reason="gdal-bin is not installed")
needs_qgis = pytest.mark.skipif(not has_qgis(), reason="python3-qgis is not installed (make test installs it)")

_PRELUDE = """
import json, sys
from qgis.core import QgsApplication
_app = QgsApplication([], False)
_app.initQgis()
def emit(value):
    sys.stdout.write("\\n@@QGIS@@" + json.dumps(value) + "\\n")
    sys.stdout.flush()  # a crash in QGIS's teardown (exit -11 with layers alive) must not lose the answer
"""


def qgis(script: str, *, timeout: int = 180):
    """Runs a script under QGIS's Python API (QgsApplication started; `emit(value)` returns value as JSON)."""
    code = _PRELUDE + textwrap.dedent(script) + "\n_app.exitQgis()\n"
    env = _clean_env() | {"QT_QPA_PLATFORM": "offscreen", "XDG_RUNTIME_DIR": "/tmp",
                          "QGIS_CUSTOM_CONFIG_PATH": os.environ.get("QGIS_TEST_HOME", "/tmp/gisportal-qgis-home")}
    result = subprocess.run([SYSTEM_PYTHON, "-c", code], capture_output=True, text=True, timeout=timeout, env=env)
    marker = [line for line in result.stdout.splitlines() if line.startswith("@@QGIS@@")]
    assert marker, f"QGIS script emitted nothing (exit {result.returncode}):\n{result.stdout}\n{result.stderr}"
    return json.loads(marker[-1][len("@@QGIS@@"):])
