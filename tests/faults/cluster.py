"""A throw-away PostgreSQL + PostGIS cluster and a gunicorn serving the portal on it (never the shared cluster).

Same binaries as scripts/bootstrap.sh (the newest PostgreSQL with PostGIS beside it); as the 'postgres'
user when we are root, since PostgreSQL refuses to run as root.
"""
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from django.conf import settings
from bench.cluster_front import get as http_get
from bench.processes import stop_group

ROOT = Path(settings.BASE_DIR)


def pg_bindir() -> Path | None:
    """Like bootstrap.sh's pg_bindir: the newest /usr/lib/postgresql/N/bin with PostGIS installed for N."""
    for bindir in sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: int(p.parent.name), reverse=True):
        if Path(f"/usr/share/postgresql/{bindir.parent.name}/extension/postgis.control").exists():
            return bindir
    return None


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _as_pg(command: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command


class Cluster:
    """initdb into a temporary folder, start/stop on a free port; remove() deletes everything."""

    def __init__(self, bindir: Path):
        self.bindir, self.port = bindir, free_port()
        self.root = Path(tempfile.mkdtemp(prefix="gp-faults-pg-", dir="/tmp"))
        self.root.chmod(0o755)
        self.data, self.log = self.root / "data", self.root / "postgres.log"
        if os.geteuid() == 0:
            shutil.chown(self.root, "postgres", "postgres")
        self._pg("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8",
                 "--locale=C.UTF-8", "--no-sync")

    def _pg(self, tool: str, *args: str) -> None:
        subprocess.run(_as_pg([str(self.bindir / tool), *args]), check=True, capture_output=True, timeout=120)

    @property
    def url(self) -> str:
        return f"postgis://postgres@127.0.0.1:{self.port}/gp_faults"

    def start(self) -> None:
        options = (f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.root} -c fsync=off "
                   "-c max_connections=40 -c shared_buffers=32MB")
        self._pg("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-w", "-t", "60", "-o", options, "start")

    def stop_immediately(self) -> None:
        """Like a crash or a failover: every backend dies at once, no checkpoint."""
        self._pg("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")

    def remove(self) -> None:
        subprocess.run(_as_pg([str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "stop"]),
                       capture_output=True, timeout=60)
        shutil.rmtree(self.root, ignore_errors=True)

    def createdb(self) -> None:
        self._pg("createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "gp_faults")

    def backup_env(self, backup_dir: Path) -> dict[str, str]:
        """The environment of scripts/backup.sh for this cluster (what bootstrap.sh gives it for var/pgdata)."""
        return {**os.environ, "GP_PG_BIN": str(self.bindir), "GP_PG_DATA": str(self.data), "GP_PG_HOST": str(self.root),
                "GP_PG_PORT": str(self.port), "GP_BACKUP_DIR": str(backup_dir)}

    def backup_script(self, backup_dir: Path, *args: str) -> subprocess.CompletedProcess:
        """scripts/backup.sh ARGS on this cluster (configure-archive before start(), then backup, restore)."""
        return subprocess.run(["bash", str(ROOT / "scripts" / "backup.sh"), *args], env=self.backup_env(backup_dir),
                              capture_output=True, text=True, timeout=600)


def portal_env(database_url: str, folder: Path, **extra: str) -> dict[str, str]:
    """The portal's environment on that database, with its files (tiles, media) in the test's folder."""
    return {**os.environ, "DATABASE_URL": database_url, "DJANGO_SETTINGS_MODULE": "gisportal.settings",
            "GISPORTAL_TILE_CACHE_DIR": str(folder / "tiles"), "GISPORTAL_MEDIA_ROOT": str(folder / "media"),
            **extra}


def manage(env: dict[str, str], *args: str) -> None:
    result = subprocess.run([sys.executable, str(ROOT / "manage.py"), *args], env=env, cwd=ROOT,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, f"manage.py {' '.join(args)}: {result.stdout[-1500:]}{result.stderr[-3000:]}"


class Gunicorn:
    """gunicorn with the project's config, in its own process group (stopped by that group's id only), output to
    `log` when given. Its socket is bound here and handed over (fd://): a port chosen first and bound later could
    be taken in between, even by the other node, which then answers for both."""

    def __init__(self, env: dict[str, str], workers: int = 2, log: Path | None = None):
        with socket.socket() as listener, (log.open("ab") if log else open(os.devnull, "wb")) as out:
            listener.bind(("127.0.0.1", 0))
            listener.listen(128)
            self.port = listener.getsockname()[1]
            self.process = subprocess.Popen(
                [str(Path(sys.executable).parent / "gunicorn"), "gisportal.wsgi:application", "--config",
                 str(ROOT / "gisportal" / "gunicorn.conf.py"), "--bind", f"fd://{listener.fileno()}"],
                env={**env, "GUNICORN_WORKERS": str(workers)}, cwd=ROOT, start_new_session=True,
                pass_fds=(listener.fileno(),), stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT)
        self.base = f"http://127.0.0.1:{self.port}"

    def wait_ready(self, seconds: float = 60) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            assert self.process.poll() is None, "gunicorn exited"
            if get(self.base + "/healthz")[0] == 200:
                return
            time.sleep(0.2)
        raise AssertionError("gunicorn never answered /healthz")

    def stop(self) -> None:
        stop_group(self.process, timeout=20)


def get(url: str, accept: str = "*/*") -> tuple[int, dict[str, str], bytes]:
    """(status, headers, body) of a GET; connection failures as status 0."""
    return http_get(url, {"Accept": accept})
