"""bench/tiles: vector tile speed against plain PostGIS (pgbench) and tipg, warm tiles against a minimal
view (raster tiles: bench/raster.py).

One run, one database (the demo city's from bench/demo_db.py; GISPORTAL_BENCH_DB to choose another)
holding BENCH_TILES_PARCELS parcels (300,000), one tile list: every tile of the city at z12–z16 (sampled
where a zoom has more than BENCH_TILES_PER_ZOOM). Prints its conditions, every ratio with its target and
met/MISSED (bench/report.py), and for information the CPU each cold tile cost, ours and tipg's (server
processes and database sessions, which other load on the machine hardly changes); writes the figures to
bench/out/tiles.json as well.
BENCH_SMOKE=1: the 2,000-parcel city, a few dozen tiles, every part still run (pgbench and tipg too).

    make bench                 # every benchmark
    .venv/bin/python -m bench tiles
"""
import json
import os
import random
import shutil
import subprocess
import sys
from pathlib import Path

from bench.report import SMOKE, conditions, finish, smoke_or, verdict
from bench.tiles_refs import BUILDINGS, CONCURRENCY, ROOT, VAR, db_params, gunicorn_workers, say

OUT = ROOT / "bench" / "out"
PARCELS = int(os.environ.get("BENCH_TILES_PARCELS", smoke_or(300_000, 2_000)))
PER_ZOOM = int(os.environ.get("BENCH_TILES_PER_ZOOM", smoke_or(1000, 8)))
WARM_SECONDS = int(os.environ.get("BENCH_TILES_WARM_SECONDS", smoke_or(8, 1)))
DISTINCT = int(os.environ.get("BENCH_TILES_DISTINCT", smoke_or(10_000, 300)))
ROUNDS = smoke_or(3, 1)  # alternating rounds of the warm comparison


def main() -> None:
    """Entry point of `python -m bench tiles`: runs the benchmark in a child process on its own database:
    the demo city's (bench/demo_db.py, built once with make_demo_city), else GISPORTAL_BENCH_DB with
    parcels generated in SQL."""
    database = os.environ.get("GISPORTAL_BENCH_DB")
    if not database:
        try:
            from bench.demo_db import ensure_demo_db

            database = ensure_demo_db(PARCELS)["GISPORTAL_DB_NAME"]
        except (Exception, SystemExit) as error:  # the generator is not usable here: fall back
            database = "gisportal_bench"
            print(f"  demo city database not available ({str(error)[-200:]}); using {database}", flush=True)
    env = {**{k: v for k, v in os.environ.items() if k != "DATABASE_URL"}, "GISPORTAL_DB_NAME": database,
           "DJANGO_SETTINGS_MODULE": "gisportal.settings", "GISPORTAL_TILE_CACHE_DIR": str(VAR / "tilecache"),
           # The disk cache this benchmark empties for its cold runs (Redis, the default, would stay warm).
           "GISPORTAL_TILE_CACHE_BACKEND": "tiles.cache.DiskCache", "PYTHONUNBUFFERED": "1"}
    subprocess.run([sys.executable, "-m", "bench.tiles", "--run"], env=env, cwd=ROOT, check=True)


# --- helpers -------------------------------------------------------------------------------------

def ensure_database() -> None:
    """The benchmark's database exists and is migrated."""
    import psycopg2

    params = db_params()
    conn = psycopg2.connect(dbname="postgres", host=params["host"], port=params["port"], user=params["user"],
                            password=params["password"] or None)
    conn.autocommit = True
    with conn.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [params["name"]])
        if not cursor.fetchone():
            cursor.execute(f'CREATE DATABASE "{params["name"]}"')
    conn.close()
    subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v0"], cwd=ROOT, check=True)


def city_tiles(box, zooms, per_zoom: int, seed: int = 12) -> tuple[list, dict]:
    """Every tile over the box at each zoom, a sample of at most per_zoom where there are more."""
    from tiles.coords import tiles_in

    rng = random.Random(seed)
    out, counts = [], {}
    for z in zooms:
        tiles = sorted(set(tiles_in(box, z)), key=lambda t: (t.x, t.y))
        counts[z] = (len(tiles), min(len(tiles), per_zoom))
        if len(tiles) > per_zoom:
            tiles = sorted(rng.sample(tiles, per_zoom), key=lambda t: (t.x, t.y))
        out.extend(tiles)
    return out, counts


def gunicorn_server(port: int, log: str):
    from bench.tiles_http import Server

    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "bench.tiles_settings"}
    argv = [str(ROOT / ".venv" / "bin" / "gunicorn"), "gisportal.wsgi:application", "--config",
            str(ROOT / "gisportal" / "gunicorn.conf.py"), "--bind", f"127.0.0.1:{port}"]
    if not Path(argv[0]).exists():
        argv[0] = shutil.which("gunicorn") or argv[0]
    return Server(argv, env, port, ROOT, VAR / log)


# --- the parts -----------------------------------------------------------------------------------

def run() -> None:
    import django

    django.setup()
    from django.db import connection

    from bench.tiles_data import ensure_parcels
    from bench.tiles_http import fetch_all, free_port
    from layers.models import Layer

    VAR.mkdir(parents=True, exist_ok=True)
    conditions("bench/tiles", parcels=PARCELS, tiles_per_zoom=PER_ZOOM, concurrency=CONCURRENCY,
               gunicorn_workers=gunicorn_workers())
    results: dict = {"parcels": PARCELS, "concurrency": CONCURRENCY, "gunicorn_workers": gunicorn_workers(),
                     "smoke": SMOKE, "load_at_start": os.getloadavg()}
    say(f"database {os.environ['GISPORTAL_DB_NAME']}; {os.cpu_count()} cores; gunicorn with {gunicorn_workers()} workers "
        f"(gisportal/gunicorn.conf.py); {CONCURRENCY} concurrent connections everywhere")
    ensure_database()
    ensure_parcels(PARCELS)
    parcels = Layer.objects.get(slug="parcels")
    shipped_min_zoom = _catalog_min_zoom(parcels)
    if parcels.min_zoom != shipped_min_zoom:  # an interrupted earlier run may have left its 12
        parcels.min_zoom = shipped_min_zoom
        parcels.save(update_fields=["min_zoom"])
    with connection.cursor() as cursor:
        # Fresh planner statistics: right after a bulk load they are missing, and a tile query then
        # reads the whole table (measured: 90× the buffers, 5× the time) until autovacuum catches up.
        cursor.execute("ANALYZE layers_feature")
        cursor.execute("SELECT count(*), sum(ST_NPoints(geom)) FROM layers_feature WHERE layer_id = %s", [parcels.pk])
        count, points = cursor.fetchone()  # also pulls the table into the buffer cache for every contender
    say(f"  {count} parcels, {points} vertices")
    box = parcels.extent.extent
    tiles, counts = city_tiles(box, range(12, 17), PER_ZOOM)
    sampled = {z: c for z, c in counts.items() if c[1] < c[0]}
    say(f"tile list: {len(tiles)} tiles, z12–z16 over the city "
        + ", ".join(f"z{z} {used}/{total}" for z, (total, used) in counts.items())
        + (f" (sampled z{', z'.join(map(str, sampled))} to keep the run short)" if sampled else " (complete)"))
    results["tile_list"] = {str(z): {"total": t, "used": u} for z, (t, u) in counts.items()}

    # The catalog as shipped: parcels from their own min zoom, so z12–z14 are answered 204 at once.
    cache_dir = Path(os.environ["GISPORTAL_TILE_CACHE_DIR"])
    paths = [f"/tiles/parcels/{t.z}/{t.x}/{t.y}.pbf" for t in tiles]
    if shipped_min_zoom > 12:
        shutil.rmtree(cache_dir, ignore_errors=True)
        port = free_port()
        with gunicorn_server(port, "gunicorn-shipped.log"):
            fetch_all(port, ["/healthz"] * 40, CONCURRENCY)
            say(f"\n[cold, catalog as shipped] parcels drawn from z{shipped_min_zoom}: the tile list through gunicorn")
            shipped = fetch_all(port, paths, CONCURRENCY)
        results["cold_shipped"] = {"tiles_per_s": shipped.rate, "statuses": shipped.statuses,
                                   "min_zoom": shipped_min_zoom}
        say(f"  {shipped.rate:.1f} tiles/s, statuses {shipped.statuses}")
    # From here on every tile of the list is really rendered (generalised below full detail), so that
    # the server, pgbench and tipg do comparable work; the catalog's zoom is put back at the end.
    say(f"\n  parcels: min_zoom {shipped_min_zoom} → 12 for the rest of the run (z12–z14 tiles rendered too)")
    parcels.min_zoom = 12
    parcels.save(update_fields=["min_zoom"])
    try:
        _compare(results, parcels, tiles, paths, cache_dir, box)
    finally:
        parcels.min_zoom = shipped_min_zoom
        parcels.save(update_fields=["min_zoom"])
    _summary(results)


def _catalog_min_zoom(parcels) -> int:
    """The parcels' min zoom in the demo catalog (what the portal ships), else the database's."""
    try:
        from demo.catalog import LAYERS

        return next(spec["min_zoom"] for spec in LAYERS if spec["slug"] == "parcels")
    except (ImportError, StopIteration, KeyError):
        return parcels.min_zoom


def _compare(results, parcels, tiles, paths, cache_dir, box) -> None:
    """Everything measured with every tile rendered: many layers, pgbench, cold, warm, memory, tipg."""
    from django.db import connection

    from bench.tiles_http import fetch_all, free_port, warm_run, wrk_available
    from tiles.coords import tiles_in
    from bench.tiles_refs import CpuMeter, many_layers_check, pgbench_run, tipg_run
    from tiles.mvt import tile_query

    # Many layers, one database.
    say(f"\n[many layers] parcel tile queries (z14–z16 sample) without and with {BUILDINGS:,} other features in the same area")
    many = many_layers_check(parcels, tiles)
    results["many_layers"] = many
    say(f"  without: {many['without_tiles_per_s']:.1f} tiles/s, {many['without_buffers']} buffers   "
        f"with: {many['with_tiles_per_s']:.1f} tiles/s, {many['with_buffers']} buffers   "
        f"slowdown {many['slowdown'] * 100:+.1f}% (target ≤ 10%)")

    # pgbench: the same SQL, straight on PostGIS.
    say("\n[pgbench] the server's tile SQL for every tile of the list, 8 clients")
    cursor = connection.cursor().cursor
    queries = []
    for tile in tiles:
        sql, params = tile_query([parcels], tile)
        queries.append(cursor.mogrify(sql, params).decode())
    pg = pgbench_run(queries, "same SQL")
    results["pgbench"] = pg
    say(f"  {pg['tiles_per_s']:.1f} tiles/s")
    workers = gunicorn_workers()
    pg_workers = pgbench_run(queries, "same SQL", clients=workers)
    results["pgbench_as_many_sessions_as_workers"] = pg_workers
    say(f"  {pg_workers['tiles_per_s']:.1f} tiles/s with {workers} clients (the server holds at most {workers} "
        "database sessions: one per gunicorn worker)")

    # The production server.
    shutil.rmtree(cache_dir, ignore_errors=True)
    port = free_port()
    with gunicorn_server(port, "gunicorn.log") as server:
        fetch_all(port, ["/healthz"] * 40, CONCURRENCY)  # every worker up and connected
        say("\n[cold] the tile list through gunicorn, empty tile cache")
        with CpuMeter(server, db_params()["user"]) as cpu:
            cold = fetch_all(port, paths, CONCURRENCY)
        results["cold"] = {**cpu.per_tile(len(paths)), "tiles_per_s": cold.rate, "statuses": cold.statuses, "p99_ms": cold.percentile(99) * 1000,
                           "mean_kb": cold.bytes / max(1, cold.requests) / 1024}
        say(f"  {cold.rate:.1f} tiles/s, statuses {cold.statuses}, p99 {cold.percentile(99) * 1000:.0f} ms, "
            f"mean {cold.bytes / max(1, cold.requests) / 1024:.1f} KB gzip")
        pg_after = pgbench_run(queries, "same SQL, again after the server's run")
        results["pgbench_after"] = pg_after
        say(f"  pgbench again right after: {pg_after['tiles_per_s']:.1f} tiles/s (before: {pg['tiles_per_s']:.1f}); "
            "the reference is their mean, as other load on the machine drifts")

        rounds = ROUNDS
        say(f"\n[warm] the same list from the cache vs a minimal Django view with the same bytes "
            f"({'wrk' if wrk_available() else 'python client'}, {CONCURRENCY} connections): {rounds} alternating "
            f"rounds of {WARM_SECONDS} s each, the best round of each counts (other load on the machine comes and goes)")
        raw_paths = [f"/bench-raw/{t.z}/{t.x}/{t.y}.pbf" for t in tiles]
        fetch_all(port, raw_paths[:50], CONCURRENCY)  # the raw view loads its bytes once per worker
        warm_rounds, raw_rounds = [], []
        for _ in range(rounds):
            warm_rounds.append(warm_run(port, paths, CONCURRENCY, WARM_SECONDS))
            raw_rounds.append(warm_run(port, raw_paths, CONCURRENCY, WARM_SECONDS))
        warm = max(warm_rounds, key=lambda r: r["rps"])
        raw = max(raw_rounds, key=lambda r: r["rps"])
        results["warm"], results["warm_reference"] = warm, raw
        results["warm_rounds"] = {"tiles_rps": [r["rps"] for r in warm_rounds], "minimal_rps": [r["rps"] for r in raw_rounds],
                                  "tiles_p99_ms": [r["p99_ms"] for r in warm_rounds]}
        say("  rounds, tiles req/s: " + ", ".join(f"{r['rps']:.0f}" for r in warm_rounds)
            + "; minimal view: " + ", ".join(f"{r['rps']:.0f}" for r in raw_rounds))
        say(f"  tiles: {warm['rps']:.0f} req/s, p50 {warm['p50_ms']:.1f} ms, p99 {warm['p99_ms']:.1f} ms, non-2xx {warm['non_2xx']}")
        say(f"  minimal view: {raw['rps']:.0f} req/s, p50 {raw['p50_ms']:.1f} ms, p99 {raw['p99_ms']:.1f} ms")

        say(f"\n[memory] {DISTINCT:,} distinct tiles (z17–z18, cold) through gunicorn")
        distinct = []
        for z in (17, 18, 19):
            distinct.extend(sorted(set(tiles_in(box, z)), key=lambda t: (t.x, t.y)))
            if len(distinct) >= DISTINCT:
                break
        distinct_paths = [f"/tiles/parcels/{t.z}/{t.x}/{t.y}.pbf" for t in distinct[:DISTINCT]]
        first = min(1000, len(distinct_paths) // 3)
        fetch_all(port, distinct_paths[:first], CONCURRENCY)
        before = server.rss_mb()
        mem_run = fetch_all(port, distinct_paths[first:], CONCURRENCY)
        after = server.rss_mb()
        growth = {pid: after.get(pid, 0) - before.get(pid, 0) for pid in before}
        results["memory"] = {"rss_before_mb": sum(before.values()), "rss_after_mb": sum(after.values()),
                             "max_worker_growth_mb": max(growth.values()), "requests": first + mem_run.requests,
                             "tiles_per_s": mem_run.rate}
        say(f"  RSS of master + workers after {first:,}: {sum(before.values()):.0f} MB; after {first + mem_run.requests:,}: "
            f"{sum(after.values()):.0f} MB; largest growth of one process {max(growth.values()):+.1f} MB")


    for key, cap, note in (("tipg", 1_000_000, "complete tiles, as ours (TIPG_MAX_FEATURES_PER_TILE=1,000,000)"),
                           ("tipg_default_cap", None, "tipg's default cap of 10,000 features per tile")):
        say(f"\n[tipg] the same tile list, same concurrency: {note}")
        try:
            tipg = tipg_run(parcels, tiles, cap)
            results[key] = tipg
            say(f"  {tipg['tiles_per_s']:.1f} tiles/s with {tipg['workers']} uvicorn workers, statuses {tipg['statuses']}, "
                f"mean {tipg['mean_kb']:.1f} KB")
        except Exception as error:  # tipg is a reference, not the project: report and go on (not in smoke: loud)
            if SMOKE:
                raise
            results[key] = {"error": str(error)}
            say(f"  tipg could not run: {error}")



def _rate(part: dict) -> float | None:
    return part.get("tiles_per_s") if part else None


def _over(a: float | None, b: float | None) -> float | None:
    return a / b if a is not None and b else None


def _summary(results: dict) -> None:
    """Every ratio against its target (met/MISSED, bench/report.py), the figures behind it, and
    bench/out/tiles.json."""
    many, warm, raw = results["many_layers"], results["warm"], results["warm_reference"]
    workers = results["gunicorn_workers"]
    cold = results["cold"]["tiles_per_s"]
    pg = (results["pgbench"]["tiles_per_s"] + results["pgbench_after"]["tiles_per_s"]) / 2
    tipg, capped = _rate(results["tipg"]), _rate(results["tipg_default_cap"])
    say("\n=== bench/tiles ratios ===")
    verdict("cold tiles ÷ pgbench (same SQL, mean of before and after)", _over(cold, pg), ">=", 0.9,
            detail=f"{cold:.1f} / {pg:.1f} tiles/s")
    verdict("cold tiles ÷ tipg 1.6.1 (complete tiles)", _over(cold, tipg), ">=", 2.0,
            detail=f"{cold:.1f} / {tipg or 0:.1f} tiles/s")
    verdict("warm req/s ÷ minimal Django view", _over(warm["rps"], raw["rps"]), ">=", 0.7,
            detail=f"{warm['rps']:.0f} / {raw['rps']:.0f} req/s")
    verdict("warm p99", warm["p99_ms"], "<", 20, unit=" ms")
    verdict("many layers: slowdown", many["slowdown"] * 100, "<=", 10, unit=" %",
            detail=f"{many['with_tiles_per_s']:.1f} / {many['without_tiles_per_s']:.1f} tiles/s")
    verdict("many layers: buffers with ÷ without", _over(many["with_buffers"], many["without_buffers"]), "<=", 1.1,
            detail=f"{many['with_buffers']} / {many['without_buffers']}")
    verdict("memory growth of one worker", results["memory"]["max_worker_growth_mb"], "<=", 20, unit=" MB",
            detail=f"over {results['memory']['requests']:,} distinct tiles")
    say("  for information: "
        f"cold ÷ pgbench with {workers} clients {_fmt(_over(cold, results['pgbench_as_many_sessions_as_workers']['tiles_per_s']))}; "
        f"cold ÷ tipg with its 10,000-feature cap {_fmt(_over(cold, capped))}"
        + (f"; cold, catalog as shipped (parcels from z{results['cold_shipped']['min_zoom']}) ÷ tipg "
           f"{_fmt(_over(_rate(results['cold_shipped']), tipg))}" if results.get("cold_shipped") else ""))
    say("  " + _cpu_line(results))
    results["load_at_end"] = os.getloadavg()
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "tiles.json").write_text(json.dumps(results, indent=2, default=str))
    say(f"  (figures in {(OUT / 'tiles.json').relative_to(ROOT)})")
    finish("bench/tiles")


def _cpu_line(results: dict) -> str:
    """CPU per complete cold tile, ours and tipg's (server + its database sessions): the work itself, which
    other load on the machine hardly changes (tiles per second does)."""
    def total(part: dict) -> float | None:
        if not part or part.get("database_cpu_ms") is None or part.get("server_cpu_ms") is None:
            return None
        return part["server_cpu_ms"] + part["database_cpu_ms"]

    ours, theirs = results["cold"], results["tipg"]
    text = (f"CPU per cold tile (server + database, parallel workers not counted): ours "
            f"{ours.get('server_cpu_ms', 0):.2f} + {ours.get('database_cpu_ms') or 0:.2f} ms")
    if total(theirs):
        text += (f", tipg {theirs['server_cpu_ms']:.2f} + {theirs['database_cpu_ms']:.2f} ms: tipg's work ÷ ours "
                 f"{_fmt(_over(total(theirs), total(ours)))} (for information)")
    return text


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}×"


if __name__ == "__main__":
    if "--run" in sys.argv:
        run()
    else:
        main()
