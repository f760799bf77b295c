"""Benchmark databases: one per demo-city size in the private cluster, built once and reused while the demo
generator that built them is unchanged."""
import hashlib
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


def demo_revision() -> str:
    """A digest of the demo generator and its ward table: a database another generator built is rebuilt (the 2025
    crosswalk changed ward codes and boundaries; an old city would measure a city that no longer exists)."""
    files = sorted((ROOT / "demo").glob("*.py")) + [ROOT / "layers" / "data" / "ward_crosswalk_2025.csv"]
    return hashlib.sha256(b"".join(path.read_bytes() for path in files)).hexdigest()[:16]


def _built_by(name: str) -> str:
    """The demo revision recorded on the database when its city was built (its comment)."""
    return _psql(f"SELECT coalesce(shobj_description(oid, 'pg_database'), '') FROM pg_database WHERE datname = '{name}'")


def is_current(name: str, parcels: int) -> bool:
    """The database holds a whole city of about that size from today's generator."""
    return parcel_count(name) >= parcels * 0.95 and _built_by(name) == f"demo {demo_revision()}"


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
    if not is_current(name, parcels):
        started = time.perf_counter()
        print(f"  building {name}: demo city with {parcels:,} parcels (once per demo revision) …", flush=True)
        manage(env, "make_demo_city", "--parcels", str(parcels), "--seed", str(seed))
        _psql(f"COMMENT ON DATABASE {name} IS 'demo {demo_revision()}'")
        print(f"  built in {time.perf_counter() - started:.0f} s", flush=True)
    return env


def run_worker(module: str, env: dict[str, str], *args: str) -> str:
    """Runs `python -m module args` on a benchmark database; returns its standard output."""
    out = subprocess.run([sys.executable, "-m", module, *args], cwd=ROOT, env=env, capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(out.stderr[-2000:])
    return out.stdout
