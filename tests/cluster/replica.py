"""The shared cluster's streaming replica for tests: started if needed, paused, stopped and started again, and the
statements each server really ran (the servers' own logs; only the portal processes under test log them)."""
import os
import re
import subprocess
import time
from pathlib import Path

import psycopg2
from django.conf import settings
from django.db import connection

from tests.faults.cluster import Gunicorn, _as_pg, pg_bindir
from tests.faults.helpers import wait_until

ROOT = Path(settings.BASE_DIR)
VAR = ROOT / "var"
SOCKET = str(VAR / "pgsock")
PRIMARY_PORT = settings.DATABASES["default"].get("PORT") or "54329"
REPLICA_PORT = os.environ.get("GISPORTAL_REPLICA_PORT", "54331")
LOGS = {"primary": VAR / "pglog" / "postgres.log", "replica": VAR / "pglog" / "replica.log"}
# The portal processes under test log every statement (their own sessions only: nobody else's is logged).
SESSION_OPTIONS = "-c jit=off -c max_parallel_workers_per_gather=0 -c log_statement=all"
_ENTRY = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", re.M)


def start_replica() -> None:
    """`scripts/bootstrap.sh replica`: idempotent, quick when the replica runs already."""
    result = subprocess.run(["bash", str(ROOT / "scripts" / "bootstrap.sh"), "replica"], cwd=ROOT,
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, f"the replica did not start: {result.stdout[-1500:]}{result.stderr[-1500:]}"


def stop_replica_immediately() -> None:
    """Like a crash of the replica's machine: every backend gone at once."""
    subprocess.run(_as_pg([str(pg_bindir() / "pg_ctl"), "-D", str(VAR / "pgreplica"), "-m", "immediate", "-w", "stop"]),
                   check=True, capture_output=True, timeout=120)


def replica_sql(query: str) -> tuple:
    """One statement on the replica's postgres database, its first row."""
    with psycopg2.connect(host=SOCKET, port=REPLICA_PORT, user="postgres", dbname="postgres") as conn:
        with conn.cursor() as cursor:
            cursor.execute(query)
            return cursor.fetchone()


def wait_replayed() -> None:
    """Until the replica has replayed everything the primary has written so far (committed test rows)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_current_wal_lsn()::text")
        lsn = cursor.fetchone()[0]
    wait_until(lambda: replica_sql(f"SELECT pg_last_wal_replay_lsn() >= '{lsn}'::pg_lsn")[0], seconds=30,
               what="the replica replays the test's rows")


def portal(tmp_path: Path, **extra: str) -> Gunicorn:
    """One gunicorn worker on the test database, reading from the replica, logging its statements."""
    name = connection.settings_dict["NAME"]
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "gisportal.settings", "GISPORTAL_DB_NAME": name,
           "GISPORTAL_CACHE_PREFIX": settings.CACHE_KEY_PREFIX, "GISPORTAL_REPLICA_PORT": REPLICA_PORT,
           "GISPORTAL_DB_SESSION_OPTIONS": SESSION_OPTIONS, "GISPORTAL_TILE_CACHE_DIR": str(tmp_path / "tiles"),
           "GISPORTAL_MEDIA_ROOT": str(tmp_path / "media"), "GUNICORN_THREADS": "1",
           "GISPORTAL_REPLICA_FRESH_WAIT": "2",  # the shared cluster is busy: a tile waits longer for the replica
           **extra}
    server = Gunicorn(env, workers=1)
    try:
        server.wait_ready()
    except BaseException:
        server.stop()
        raise
    return server


class Statements:
    """The statements each server logged between mark() and taken()."""

    def mark(self) -> "Statements":
        self.at = {name: path.stat().st_size for name, path in LOGS.items()}
        return self

    def taken(self) -> dict[str, list[str]]:
        out = {}
        for name, path in LOGS.items():
            with path.open("rb") as log:
                log.seek(self.at[name] if path.stat().st_size >= self.at[name] else 0)
                text = log.read().decode("utf-8", "replace")
            entries = [text[m.start():n.start() if n else len(text)]
                       for m, n in zip(_ENTRY.finditer(text), [*list(_ENTRY.finditer(text))[1:], None])]
            out[name] = [entry for entry in entries if "LOG:  statement: " in entry.split("\n", 1)[0]]
        return out


def served(run, *, pause: float = 0.0) -> dict[str, list[str]]:
    """The statements each server logged while run() ran."""
    statements = Statements().mark()
    run()
    time.sleep(pause)
    return statements.taken()


def ran(statements: list[str], needle: str) -> bool:
    return any(needle in statement for statement in statements)
