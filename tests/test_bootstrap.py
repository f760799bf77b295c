"""The set-up script's answers to a machine it cannot use: a clear message, nothing half-made."""
import os
import shutil
import socket
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "bootstrap.sh"


def test_taken_web_port_names_the_port_and_the_variable():
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        out = subprocess.run(["bash", str(SCRIPT), "run"], env={**os.environ, "PORT": str(port)},
                             capture_output=True, text=True, timeout=60)
    assert out.returncode != 0
    assert f"Port {port}" in out.stderr and "PORT=" in out.stderr


@pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("runuser"), reason="needs root to act as an unprivileged user")
def test_missing_packages_without_root_are_named_not_half_installed(tmp_path):
    # A user with no root and no sudo: the script must name what to install and stop.
    out = subprocess.run(
        ["runuser", "-u", "nobody", "--", "env", "GISPORTAL_APT_PACKAGES=gisportal-no-such-package bash",
         "PATH=/usr/bin:/bin", "bash", str(SCRIPT), "deps"],
        capture_output=True, text=True, timeout=60,
    )
    if "Permission denied" in out.stderr and "bootstrap.sh" in out.stderr:
        pytest.skip("the checkout is not readable by 'nobody' here")
    assert out.returncode != 0
    assert "gisportal-no-such-package" in out.stderr and "apt-get install" in out.stderr
