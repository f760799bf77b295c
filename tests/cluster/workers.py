"""A real job worker (`manage.py procrastinate worker`) on the test database, in its own process group: stopped by
that group's id only (the ingest children it starts go with it), never left behind; a web node with its log."""
import os
import signal
import subprocess
from pathlib import Path

from django.db import connection

from tests.faults.cluster import Gunicorn
from tests.faults.helpers import MANAGE, child_env
from bench.processes import stop_group


def clear_queue() -> None:
    """No job of an earlier test waits in the queue (procrastinate's tables are outside Django's flush)."""
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE procrastinate_events, procrastinate_periodic_defers, procrastinate_jobs, "
                       "procrastinate_workers RESTART IDENTITY CASCADE")


class Worker:
    """`manage.py procrastinate worker` with the portal's worker settings and the given environment."""

    def __init__(self, log: Path, *args: str, **env: str):
        self.log = log
        with log.open("ab") as out:
            self.process = subprocess.Popen([*MANAGE, "procrastinate", "worker", *args], env=child_env(**env),
                                            stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                            start_new_session=True)

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-4000:]

    def kill(self, sig: int = signal.SIGKILL) -> None:
        """The worker and its children, by the group's id."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, sig)
        self.process.wait(timeout=60)

    def stop(self) -> None:
        """SIGTERM (a graceful stop), then SIGKILL if it lingers; also kills what it started."""
        stop_group(self.process)


class LoggedGunicorn(Gunicorn):
    """A web node like tests.faults.cluster.Gunicorn, its log (the portal's INFO lines) kept in a file."""

    def __init__(self, env: dict[str, str], log: Path, workers: int = 1):
        super().__init__(env, workers, log)
        self.log = log

    def output(self) -> str:
        return self.log.read_text(errors="replace")
