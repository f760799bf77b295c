"""Stopping what a benchmark or a test started in a session of its own: by that process group's id, never by name."""
import os
import signal
import subprocess


def stop_group(process: subprocess.Popen, timeout: float = 30) -> None:
    """SIGTERM to the process's group (a graceful stop), SIGKILL to whatever is left of it after `timeout` seconds."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            pass
    try:
        os.killpg(process.pid, signal.SIGKILL)  # children that outlived their parent, if any
    except (ProcessLookupError, PermissionError):
        pass
    process.wait(timeout=timeout)
