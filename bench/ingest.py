"""bench/ingest: our ingest of a 300,000-parcel GeoPackage (EPSG:9210) against ogr2ogr and geopandas.to_postgis.

All three run in the same database (GISPORTAL_BENCH_DB, default gisportal_bench), one after another, each in
its own process (wall time and peak RSS from wait4). Ours is the whole pipeline through `manage.py ingest`:
sniffing, validation, pinned VN-2000 reprojection, COPY, the shared layers_feature table with its indexes
and history triggers, stats and the run record. ogr2ogr (PG_USE_COPY=YES, GIST index) and to_postgis load a
plain table of their own, reprojected with PROJ's default VN-2000 operation. "Replace" rewrites only rows
that differ, so it is timed with the same file and with another city's file (every row deleted and
inserted, each with its history row). Then peak memory for 1,000,000 parcels (BENCH_INGEST_BIG=0 skips it).
Files are generated once by the demo generator and cached under var/bench/ingest/.
"""
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
DB = os.environ.get("GISPORTAL_BENCH_DB", "gisportal_bench")
SOCKET = ROOT / "var" / "pgsock"
PORT = os.environ.get("GISPORTAL_PG_PORT", "54329")
N = int(os.environ.get("BENCH_INGEST_PARCELS", "300000"))
N_BIG = int(os.environ.get("BENCH_INGEST_BIG", "1000000"))
SEED = 2026
SLUG = "bench-ingest-parcels"
OUT = ROOT / "var" / "bench" / "ingest"


def _env() -> dict[str, str]:
    return {**os.environ, "GISPORTAL_DB_NAME": DB, "PYTHONPATH": str(ROOT), "DJANGO_SETTINGS_MODULE": "gisportal.settings"}


def timed(cmd: list[str], label: str, env: dict[str, str] | None = None) -> tuple[float, float]:
    """Runs a command; returns (wall seconds, peak RSS in MB of that process). Fails loudly with its log."""
    log = OUT / f"{label}.log"
    with log.open("w") as out:
        started = time.perf_counter()
        process = subprocess.Popen(cmd, cwd=ROOT, env=env or _env(), stdout=out, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"{label} failed:\n{log.read_text()[-3000:]}")
    return wall, usage.ru_maxrss / 1024


def psql(sql: str, db: str = DB) -> str:
    return subprocess.run(["psql", "-h", str(SOCKET), "-p", PORT, "-U", "postgres", "-d", db, "-tAc", sql],
                          check=True, capture_output=True, text=True).stdout.strip()


def ensure_database() -> None:
    if psql(f"SELECT 1 FROM pg_database WHERE datname = '{DB}'", db="postgres") != "1":
        psql(f'CREATE DATABASE "{DB}"', db="postgres")
    subprocess.run([PYTHON, "manage.py", "migrate", "--skip-checks", "-v", "0"], cwd=ROOT, env=_env(), check=True)


def dataset(n: int, seed: int = SEED) -> Path:
    """The demo generator's parcels GeoPackage for n parcels (EPSG:9210), made once and cached."""
    folder = OUT / f"seed{seed}-n{n}"
    path = folder / "parcels.gpkg"
    if not path.exists():
        code = ("from pathlib import Path; from demo.city import generate_city; from demo.files import write_files; "
                f"write_files(generate_city(parcels={n}, seed={seed}), Path({str(folder)!r}))")
        wall, _ = timed([PYTHON, "-c", code], f"generate-{n}")
        print(f"generated {n:,} parcels in {wall:.0f} s -> {path}", flush=True)
    return path


def count(path: Path) -> int:
    code = f"import pyogrio; print(pyogrio.read_info({str(path)!r})['features'])"
    return int(subprocess.run([PYTHON, "-c", code], capture_output=True, text=True, check=True).stdout)


def ensure_layer(slug: str) -> None:
    """A parcel layer with the core parcel schema (created untimed), emptied so each run starts alike."""
    code = ("from layers.models import Layer; from layers.schemas import PARCELS_SCHEMA; "
            f"Layer.objects.get_or_create(slug={slug!r}, defaults=dict(title_vi='Bench', title_en='Bench', "
            "category='land', geometry_type='Polygon', schema=PARCELS_SCHEMA))")
    subprocess.run([PYTHON, "manage.py", "shell", "-c", code], cwd=ROOT, env=_env(), check=True)
    empty(slug)


def empty(slug: str) -> None:
    psql(f"DELETE FROM layers_feature WHERE layer_id = (SELECT id FROM layers_layer WHERE slug = '{slug}')")
    psql("VACUUM ANALYZE layers_feature")


def ours(path: Path, slug: str, label: str, *extra: str) -> tuple[float, float]:
    return timed([PYTHON, "manage.py", "ingest", str(path), "--layer", slug, "--mode", "replace", "--skip-checks",
                  *extra], label)


def ogr2ogr(path: Path) -> tuple[float, float]:
    dsn = f"PG:dbname={DB} host={SOCKET} port={PORT} user=postgres"
    return timed(["ogr2ogr", "-f", "PostgreSQL", dsn, str(path), "parcels", "-nln", "bench_ogr2ogr_parcels",
                  "-overwrite", "-t_srs", "EPSG:4326", "-lco", "GEOMETRY_NAME=geom", "-lco", "SPATIAL_INDEX=GIST",
                  "-nlt", "PROMOTE_TO_MULTI"], "ogr2ogr", env={**os.environ, "PG_USE_COPY": "YES"})


def to_postgis(path: Path) -> tuple[float, float]:
    code = f"""
import geopandas as gpd, pyogrio
from sqlalchemy import create_engine, text
frame = pyogrio.read_dataframe({str(path)!r}).to_crs(4326)
engine = create_engine("postgresql+psycopg2://postgres@/{DB}?host={SOCKET}&port={PORT}")
frame.to_postgis("bench_gpd_parcels", engine, if_exists="replace", index=False, chunksize=50000)
with engine.begin() as conn:
    conn.execute(text("CREATE INDEX ON bench_gpd_parcels USING gist (geometry)"))
"""
    return timed([PYTHON, "-c", code], "to_postgis")


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    ensure_database()
    path = dataset(N)
    other = dataset(N, seed=SEED + 1)
    n = count(path)
    load = os.getloadavg()[0]
    print(f"{n:,} parcels, {path.stat().st_size / 2**20:.0f} MB GeoPackage, EPSG:9210; database {DB}; "
          f"{os.cpu_count()} cores, load average {load:.1f} at start", flush=True)
    ensure_layer(SLUG)
    results = {}
    results["ours: dry run (read, validate, reproject, COPY to staging; no layer write)"] = ours(path, SLUG, "ours-dry", "--dry-run")
    results["ours: into the empty layer"] = ours(path, SLUG, "ours-empty")
    results["ours: replace with the same file (nothing differs)"] = ours(path, SLUG, "ours-same")
    results["ours: replace with another city's file (every row differs)"] = ours(other, SLUG, "ours-replace")
    results["ogr2ogr -f PostgreSQL (COPY, GIST)"] = ogr2ogr(path)
    results["geopandas.to_postgis (+ GIST)"] = to_postgis(path)
    reference = results["ogr2ogr -f PostgreSQL (COPY, GIST)"][0]
    print(f"{'':76s} {'wall s':>8s} {'rows/s':>9s} {'× ogr2ogr':>10s} {'peak MB':>8s}")
    for name, (wall, rss) in results.items():
        print(f"{name:76s} {wall:8.1f} {n / wall:9,.0f} {wall / reference:10.2f} {rss:8.0f}", flush=True)
    others = psql("SELECT count(*) FROM layers_feature")
    print(f"layers_feature held {int(others):,} rows of all layers during our runs; load average now "
          f"{os.getloadavg()[0]:.1f}")
    empty(SLUG)
    psql("DROP TABLE IF EXISTS bench_ogr2ogr_parcels; DROP TABLE IF EXISTS bench_gpd_parcels")
    if N_BIG:
        big = dataset(N_BIG)
        ensure_layer(SLUG)
        wall, rss = ours(big, SLUG, "ours-big")
        print(f"ours, {count(big):,} parcels into the empty layer: {wall:.1f} s, peak memory {rss:.0f} MB "
              f"(target < 1536 MB)", flush=True)
        empty(SLUG)
