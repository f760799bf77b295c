"""Benchmark databases: one per demo-city size in the private cluster, built once and reused."""
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOCKET = ROOT / "var" / "pgsock"


def _psql(sql: str, db: str = "postgres") -> str:
    port = os.environ.get("GISPORTAL_PG_PORT", "54329")
    out = subprocess.run(["psql", "-h", str(SOCKET), "-p", port, "-U", "postgres", "-d", db, "-qtAX", "-c", sql],
                         capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(out.stderr.strip())
    return out.stdout.strip()


def bench_env(name: str) -> dict[str, str]:
    """The environment for manage.py or a worker on the named benchmark database."""
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env["GISPORTAL_DB_NAME"] = name
    return env


def manage(env: dict[str, str], *args: str) -> None:
    subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, check=True)


def parcel_count(name: str) -> int:
    return int(_psql("SELECT count(*) FROM layers_feature f JOIN layers_layer l ON l.id = f.layer_id "
                     "WHERE l.slug = 'parcels'", name) or 0)


def ensure_demo_db(parcels: int, seed: int = 2021) -> dict[str, str]:
    """A database holding the demo city with about `parcels` parcels (created on first use)."""
    if "DATABASE_URL" in os.environ:
        raise SystemExit("bench needs the private cluster (unset DATABASE_URL)")
    # GISPORTAL_BENCH_DB names the benchmark databases (gisportal_bench by default): this one adds its size.
    name = f"{os.environ.get('GISPORTAL_BENCH_DB', 'gisportal_bench')}_{parcels // 1000}k"
    if not _psql(f"SELECT 1 FROM pg_database WHERE datname = '{name}'"):
        _psql(f"CREATE DATABASE {name}")
    env = bench_env(name)
    manage(env, "migrate", "--noinput", "-v0")
    if parcel_count(name) < parcels * 0.95:
        started = time.perf_counter()
        print(f"  building {name}: demo city with {parcels:,} parcels (once) …", flush=True)
        manage(env, "make_demo_city", "--parcels", str(parcels), "--seed", str(seed))
        print(f"  built in {time.perf_counter() - started:.0f} s", flush=True)
    return env


def run_worker(module: str, env: dict[str, str], *args: str) -> str:
    """Runs `python -m module args` on a benchmark database; returns its standard output."""
    out = subprocess.run([sys.executable, "-m", module, *args], cwd=ROOT, env=env, capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(out.stderr[-2000:])
    return out.stdout
