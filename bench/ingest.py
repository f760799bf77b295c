"""bench/ingest: our ingest of a 300,000-parcel GeoPackage (EPSG:9210) against ogr2ogr and geopandas.to_postgis.

All run in the same database (GISPORTAL_BENCH_DB, default gisportal_bench), one after another, each in its
own process (wall time and peak RSS from wait4). Ours is the whole pipeline through `manage.py ingest`:
sniffing, validation, pinned VN-2000 reprojection, COPY, the shared feature storage with its indexes and
history, stats and the run record. ogr2ogr (PG_USE_COPY=YES, GiST index) and to_postgis load a plain table
of their own, reprojected with PROJ's default VN-2000 operation. Cases: into the empty layer, into a new
layer (--mode create), replace with the same file (nothing differs) and with another city's file (every
row differs); a file no one on the team made (Voronoi parcels with Vietnamese columns, into a new layer and
replaced); then peak memory for 1,000,000 parcels (BENCH_INGEST_BIG=0 skips it). Files are generated once
(bench/ingest_files.py) and cached under var/bench/ingest/. BENCH_SMOKE=1: a few thousand parcels, same paths.
"""
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from bench.report import conditions, finish, smoke_or, verdict

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
DB = os.environ.get("GISPORTAL_BENCH_DB", "gisportal_bench")
SOCKET = ROOT / "var" / "pgsock"
PORT = os.environ.get("GISPORTAL_PG_PORT", "54329")
N = int(os.environ.get("BENCH_INGEST_PARCELS", smoke_or(300_000, 2_000)))
N_BIG = int(os.environ.get("BENCH_INGEST_BIG", smoke_or(1_000_000, 5_000)))
N_VORONOI = int(os.environ.get("BENCH_INGEST_VORONOI", smoke_or(300_000, 1_000)))
SEED = 2026
SLUG = "bench-ingest-parcels"
CREATED = "bench-ingest-created"  # made by --mode create, dropped before and after
VORONOI = "bench-ingest-voronoi"
OUT = ROOT / "var" / "bench" / "ingest"
# The targets: ours ÷ ogr2ogr (same file, same run), and the big load's peak memory.
INTO_EMPTY, REPLACE_DIFFERS, REPLACE_SAME, BIG_PEAK_MB = 1.0, 1.5, 0.5, 1024


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}  # the bench database, never the portal's
    return {**env, "GISPORTAL_DB_NAME": DB, "PYTHONPATH": str(ROOT), "DJANGO_SETTINGS_MODULE": "gisportal.settings"}


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
    return subprocess.run(["psql", "-h", str(SOCKET), "-p", PORT, "-U", "postgres", "-X", "-d", db, "-tAc", sql],
                          check=True, capture_output=True, text=True).stdout.strip()


def django(code: str) -> None:
    """Runs Python inside Django on the bench database (untimed set-up and clean-up)."""
    subprocess.run([PYTHON, "manage.py", "shell", "-v", "0", "-c", code], cwd=ROOT, env=_env(), check=True)


def ensure_database() -> None:
    if psql(f"SELECT 1 FROM pg_database WHERE datname = '{DB}'", db="postgres") != "1":
        psql(f'CREATE DATABASE "{DB}"', db="postgres")
    subprocess.run([PYTHON, "manage.py", "migrate", "--skip-checks", "-v", "0"], cwd=ROOT, env=_env(), check=True)


def _cached(path: Path, kind: str, n: int, seed: int) -> Path:
    """A file made once by bench/ingest_files.py (in a side folder renamed when whole, so no half file is kept)."""
    if not path.exists():
        partial = path.parent.with_name(path.parent.name + ".partial")
        shutil.rmtree(partial, ignore_errors=True)
        target = partial if kind == "demo" else partial / path.name
        wall, _ = timed([PYTHON, "-m", "bench.ingest_files", kind, str(n), str(seed), str(target)], f"generate-{kind}-{n}")
        shutil.rmtree(path.parent, ignore_errors=True)
        partial.rename(path.parent)
        print(f"  generated {kind} file with {n:,} parcels in {wall:.0f} s -> {path}", flush=True)
    return path


def dataset(n: int, seed: int = SEED) -> Path:
    """The demo generator's parcels GeoPackage for n parcels (EPSG:9210)."""
    return _cached(OUT / f"seed{seed}-n{n}" / "parcels.gpkg", "demo", n, seed)


def voronoi_dataset(n: int, seed: int) -> Path:
    """n Voronoi parcels with Vietnamese columns and text (EPSG:9210): a file no one on the team made."""
    return _cached(OUT / f"voronoi-seed{seed}-n{n}" / "parcels.gpkg", "voronoi", n, seed)


def count(path: Path) -> int:
    code = f"import pyogrio; print(pyogrio.read_info({str(path)!r})['features'])"
    return int(subprocess.run([PYTHON, "-c", code], capture_output=True, text=True, check=True).stdout)


def layer_rows(slug: str) -> int:
    return int(psql(f"SELECT count(*) FROM layers_feature WHERE layer_id = (SELECT id FROM layers_layer WHERE slug = '{slug}')")
               or 0)


def ensure_layer(slug: str) -> None:
    """A parcel layer with the core parcel schema (created untimed), emptied so each run starts alike."""
    django("from layers.models import Layer; from layers.schemas import PARCELS_SCHEMA; "
           f"Layer.objects.get_or_create(slug={slug!r}, defaults=dict(title_vi='Bench', title_en='Bench', "
           "category='land', geometry_type='Polygon', schema=PARCELS_SCHEMA))")
    empty(slug)


_CLEAR = """
from django.db import connection, transaction
from layers.models import Layer
for layer in Layer.objects.filter(slug={slug!r}):
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL session_replication_role = replica")  # bench rows: no history of their removal
        cursor.execute("DELETE FROM layers_featureversion WHERE layer_id = %s", [layer.pk])
        cursor.execute("DELETE FROM layers_feature WHERE layer_id = %s", [layer.pk])
    if {drop}:
        layer.delete()
"""


def empty(slug: str) -> None:
    """The layer's features and history gone (untimed), so every run starts from the same table."""
    django(_CLEAR.format(slug=slug, drop=False))
    psql("VACUUM ANALYZE layers_feature")


def drop_layer(slug: str) -> None:
    """The layer gone with its features and history (before --mode create, and after)."""
    django(_CLEAR.format(slug=slug, drop=True))


def ours(path: Path, slug: str, label: str, *extra: str, mode: str = "replace", row_path: bool = False) -> tuple[float, float]:
    """`manage.py ingest`; row_path: the other choice, every load row by row into the shared partitioned table."""
    # At smoke size the files are under the bulk threshold: lower it, so the smoke runs the bulk path too.
    threshold = "1000000000" if row_path else smoke_or(None, "0")
    env = {**_env(), "GISPORTAL_INGEST_BULK_MIN_ROWS": threshold} if threshold else None
    return timed([PYTHON, "manage.py", "ingest", str(path), "--layer", slug, "--mode", mode, "--skip-checks", *extra],
                 label, env)


def ogr2ogr(path: Path, label: str = "ogr2ogr") -> tuple[float, float]:
    dsn = f"PG:dbname={DB} host={SOCKET} port={PORT} user=postgres"
    return timed(["ogr2ogr", "-f", "PostgreSQL", dsn, str(path), "parcels", "-nln", "bench_ogr2ogr_parcels",
                  "-overwrite", "-t_srs", "EPSG:4326", "-lco", "GEOMETRY_NAME=geom", "-lco", "SPATIAL_INDEX=GIST",
                  "-nlt", "PROMOTE_TO_MULTI"], label, env={**os.environ, "PG_USE_COPY": "YES"})


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


def expect_rows(slug: str, n: int, case: str) -> None:
    """A load that reports success but left the wrong number of rows is a broken benchmark, not a figure."""
    found = layer_rows(slug)
    if found != n:
        raise RuntimeError(f"{case}: the layer {slug} holds {found:,} features, expected {n:,}")


def table(results: dict[str, tuple[float, float]], n: int, reference: float) -> None:
    print(f"  {'':74s} {'wall s':>8s} {'rows/s':>9s} {'× ogr2ogr':>10s} {'peak MB':>8s}")
    for name, (wall, rss) in results.items():
        print(f"  {name:74s} {wall:8.1f} {n / wall:9,.0f} {wall / reference:10.2f} {rss:8.0f}", flush=True)


def demo_city_cases() -> None:
    """The demo city's parcels: dry run, into the empty layer, into a new layer, replace same and different."""
    path, other = dataset(N), dataset(N, seed=SEED + 1)
    n = count(path)
    print(f"[1] {n:,} demo parcels, {path.stat().st_size / 2**20:.0f} MB GeoPackage, EPSG:9210; database {DB}",
          flush=True)
    ensure_layer(SLUG)
    drop_layer(CREATED)
    r = {"dry": ours(path, SLUG, "ours-dry", "--dry-run")}
    r["empty"] = ours(path, SLUG, "ours-empty")
    expect_rows(SLUG, n, "into the empty layer")
    r["same"] = ours(path, SLUG, "ours-same")
    r["recheck"] = ours(path, SLUG, "ours-same-recheck", "--recheck")
    r["differs"] = ours(other, SLUG, "ours-replace")
    expect_rows(SLUG, count(other), "replace (every row differs)")
    # The other choice measured: the same loads row by row (indexes and history maintained per row).
    empty(SLUG)
    r["rows_empty"] = ours(path, SLUG, "rows-empty", row_path=True)
    r["rows_differs"] = ours(other, SLUG, "rows-replace", row_path=True)
    expect_rows(SLUG, count(other), "replace row by row (every row differs)")
    r["create"] = ours(path, CREATED, "ours-create", mode="create")
    expect_rows(CREATED, n, "into a new layer")
    drop_layer(CREATED)
    r["ogr2ogr"] = ogr2ogr(path)
    r["to_postgis"] = to_postgis(path)
    others = int(psql("SELECT count(*) FROM layers_feature"))
    names = {"dry": "ours: dry run (read, validate, reproject, COPY to staging; no layer write)",
             "empty": "ours: into the empty layer", "create": "ours: into a new layer (--mode create)",
             "same": "ours: replace with the same file (recognised: the layer's last load)",
             "recheck": "ours: replace with the same file, --recheck (read and compared)",
             "differs": "ours: replace with another city's file (every row differs)",
             "rows_empty": "other choice, row by row: into the empty layer",
             "rows_differs": "other choice, row by row: replace, every row differs",
             "ogr2ogr": "ogr2ogr -f PostgreSQL (PG_USE_COPY=YES, GiST)", "to_postgis": "geopandas.to_postgis (+ GiST)"}
    reference = r["ogr2ogr"][0]
    table({names[k]: r[k] for k in names}, n, reference)
    print(f"  (layers_feature held {others:,} rows of all layers after our runs)")
    verdict("into the empty layer ÷ ogr2ogr", r["empty"][0] / reference, "<=", INTO_EMPTY)
    verdict("into a new layer (--mode create) ÷ ogr2ogr", r["create"][0] / reference, "<=", INTO_EMPTY)
    verdict("replace, every row differs ÷ ogr2ogr", r["differs"][0] / reference, "<=", REPLACE_DIFFERS)
    verdict("replace with the same file ÷ ogr2ogr", r["same"][0] / reference, "<=", REPLACE_SAME)
    verdict("replace with the same file, --recheck ÷ ogr2ogr", r["recheck"][0] / reference, "<=", REPLACE_SAME,
            detail="read and compared in full")
    empty(SLUG)
    psql("DROP TABLE IF EXISTS bench_ogr2ogr_parcels; DROP TABLE IF EXISTS bench_gpd_parcels")


def voronoi_cases() -> None:
    """A file no one on the team made: Voronoi parcels, Vietnamese text, into a new layer and then replaced."""
    path, other = voronoi_dataset(N_VORONOI, 9210), voronoi_dataset(N_VORONOI, 9211)
    n = count(path)
    print(f"[2] {n:,} Voronoi parcels (Vietnamese columns and text), {path.stat().st_size / 2**20:.0f} MB GeoPackage, "
          "EPSG:9210", flush=True)
    drop_layer(VORONOI)
    r = {"create": ours(path, VORONOI, "voronoi-create", mode="create")}
    expect_rows(VORONOI, n, "Voronoi into a new layer")
    r["differs"] = ours(other, VORONOI, "voronoi-replace")
    expect_rows(VORONOI, count(other), "Voronoi replace")
    drop_layer(VORONOI)
    r["ogr2ogr"] = ogr2ogr(path, "voronoi-ogr2ogr")
    reference = r["ogr2ogr"][0]
    table({"ours: into a new layer (--mode create)": r["create"],
           "ours: replace with another Voronoi file (every row differs)": r["differs"],
           "ogr2ogr -f PostgreSQL (PG_USE_COPY=YES, GiST)": r["ogr2ogr"]}, n, reference)
    verdict("Voronoi file into a new layer ÷ ogr2ogr", r["create"][0] / reference, "<=", INTO_EMPTY)
    verdict("Voronoi file replaced, every row differs ÷ ogr2ogr", r["differs"][0] / reference, "<=", REPLACE_DIFFERS)
    psql("DROP TABLE IF EXISTS bench_ogr2ogr_parcels")


def big_case() -> None:
    """Peak memory of ours for 1,000,000 parcels into the empty layer."""
    big = dataset(N_BIG)
    n = count(big)
    print(f"[3] {n:,} demo parcels into the empty layer: peak memory", flush=True)
    ensure_layer(SLUG)
    wall, rss = ours(big, SLUG, "ours-big")
    expect_rows(SLUG, n, "the big load")
    print(f"  ours: {wall:.1f} s ({n / wall:,.0f} rows/s), peak RSS {rss:.0f} MB", flush=True)
    verdict(f"{n:,} parcels: peak memory of the ingest process", rss, "<", BIG_PEAK_MB, unit=" MB")
    empty(SLUG)


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    conditions("bench/ingest", parcels=N, voronoi_parcels=N_VORONOI, big=N_BIG, database=DB)
    ensure_database()
    demo_city_cases()
    if N_VORONOI:
        voronoi_cases()
    if N_BIG:
        big_case()
    finish("bench/ingest")
