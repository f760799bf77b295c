"""bench/tiles: vector tile speed against plain PostGIS (pgbench), tipg and bare loops (raster tiles: bench/raster).

One run, one database (the demo city's from bench/demo_db.py; GISPORTAL_BENCH_DB to choose another)
holding 300,000 parcels, one tile
list: every tile of the city at z12–z16 (z15/z16 sampled when they exceed BENCH_TILES_PER_ZOOM).
Prints figures and ratios; writes them to bench/out/tiles.json as well.

    make bench                 # every benchmark
    .venv/bin/python -m bench tiles
"""
import json
import math
import os
import random
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VAR = ROOT / "var" / "bench"
OUT = ROOT / "bench" / "out"
PARCELS = int(os.environ.get("BENCH_TILES_PARCELS", 300_000))
PER_ZOOM = int(os.environ.get("BENCH_TILES_PER_ZOOM", 1000))
CONCURRENCY = 8
WARM_SECONDS = int(os.environ.get("BENCH_TILES_WARM_SECONDS", 8))
DISTINCT = int(os.environ.get("BENCH_TILES_DISTINCT", 10_000))
TIPG_VERSION = "1.6.1"


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
           "PYTHONUNBUFFERED": "1"}
    subprocess.run([sys.executable, "-m", "bench.tiles", "--run"], env=env, cwd=ROOT, check=True)


# --- helpers -------------------------------------------------------------------------------------

def say(text: str = "") -> None:
    print(text, flush=True)


def db_params() -> dict:
    from django.db import connection

    s = connection.settings_dict
    return {"host": s.get("HOST") or "", "port": str(s.get("PORT") or 5432), "user": s.get("USER") or "postgres",
            "name": s["NAME"], "password": s.get("PASSWORD") or ""}


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


def ratio(a: float, b: float) -> str:
    return f"{a / b:.2f}×" if b else "n/a"


# --- the parts -----------------------------------------------------------------------------------

def many_layers_check(parcels, tiles) -> dict:
    """Parcel tile queries without and with 300,000 other features in the same area: the database's own
    execution time (EXPLAIN ANALYZE, best of 3 per tile, so other load on the machine counts less) and
    the shared buffers each query touched (deterministic: the work itself). The (layer_id, geom) GiST
    index, queried with a bigint literal, keeps the other layer's entries out of the scan."""
    from django.db import connection

    from bench.tiles_data import add_buildings, remove_buildings
    from tiles.mvt import SESSION, tile_query

    sample = [t for t in tiles if t.z >= 14][:: max(1, len([t for t in tiles if t.z >= 14]) // 80)]

    def measure() -> tuple[float, int]:
        seconds, buffers = 0.0, 0
        with connection.cursor() as cursor:
            cursor.execute("SET jit = off")
            for tile in sample:
                sql, params = tile_query([parcels], tile)
                best = math.inf
                for _ in range(3):
                    cursor.execute("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + sql.removeprefix(SESSION), params)
                    plan = cursor.fetchone()[0][0]
                    best = min(best, plan["Execution Time"])
                seconds += best / 1000
                buffers += plan["Plan"].get("Shared Hit Blocks", 0) + plan["Plan"].get("Shared Read Blocks", 0)
            cursor.execute("RESET jit")
        return len(sample) / seconds, buffers

    remove_buildings()
    without, without_buffers = measure()
    started = time.perf_counter()
    add_buildings(300_000, parcels.extent.extent)
    say(f"  added 300,000 building footprints over the same area in {time.perf_counter() - started:.0f} s")
    with_other, with_buffers = measure()
    remove_buildings()
    return {"tiles": len(sample), "without_tiles_per_s": without, "with_tiles_per_s": with_other,
            "without_buffers": without_buffers, "with_buffers": with_buffers, "slowdown": 1 - with_other / without}


def pgbench_run(sql_by_tile: list[str], label: str, clients: int = CONCURRENCY) -> dict:
    """pgbench, `clients` clients, each tile's SQL exactly as the server sends it (wrapped in EXECUTE)."""
    from django.db import connection

    params = db_params()
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS bench_tile_sql; CREATE TABLE bench_tile_sql (i int PRIMARY KEY, sql text)")
        cursor.executemany("INSERT INTO bench_tile_sql VALUES (%s, %s)", list(enumerate(sql_by_tile, 1)))
        cursor.execute("""
            CREATE OR REPLACE FUNCTION bench_tile(n int) RETURNS bytea LANGUAGE plpgsql AS $$
            DECLARE q text; r bytea;
            BEGIN SELECT sql INTO q FROM bench_tile_sql WHERE i = n; EXECUTE q INTO r; RETURN r; END $$;
            DROP SEQUENCE IF EXISTS bench_tile_seq; CREATE SEQUENCE bench_tile_seq;
        """)
    n = len(sql_by_tile)
    script = VAR / "pgbench_tiles.sql"
    # The tile's bytes come back to the client (hex, as psycopg2 receives them too), not just their length.
    script.write_text(f"SELECT bench_tile(((nextval('bench_tile_seq') - 1) % {n} + 1)::int);\n")
    per_client = math.ceil(n / clients)
    env = {**os.environ, "PGOPTIONS": "-c jit=off"}  # as the server's SET LOCAL jit = off
    if params["password"]:
        env["PGPASSWORD"] = params["password"]
    started = time.perf_counter()
    result = subprocess.run(
        ["pgbench", "-n", "-c", str(clients), "-j", "2", "-t", str(per_client), "-f", str(script),
         "-h", params["host"], "-p", params["port"], "-U", params["user"], params["name"]],
        capture_output=True, text=True, env=env, timeout=1800,
    )
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        raise RuntimeError(f"pgbench failed: {result.stderr[-500:]}")
    tps = float(next(line.split("=")[1].split()[0] for line in result.stdout.splitlines()
                     if line.startswith("tps") and "without" in line))
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE bench_tile_sql; DROP SEQUENCE bench_tile_seq; DROP FUNCTION bench_tile(int)")
    return {"label": label, "tiles_per_s": tps, "seconds": elapsed, "transactions": per_client * clients,
            "clients": clients}


def tipg_run(parcels, tiles, max_features: int | None) -> dict:
    """tipg (PyPI) in its own virtualenv, serving a view of the same parcels, same tiles and concurrency.
    max_features: tipg's per-tile cap (its default 10,000 cuts dense low-zoom tiles short; None keeps it)."""
    from django.db import connection

    from bench.tiles_http import Server, fetch_all, free_port

    venv = VAR / "tipg-venv"
    uvicorn = venv / "bin" / "uvicorn"
    if not uvicorn.exists():
        say(f"  installing tipg=={TIPG_VERSION} into {venv.relative_to(ROOT)}")
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(venv / "bin" / "pip"), "install", "-q", "--disable-pip-version-check",
                        f"tipg=={TIPG_VERSION}", "uvicorn"], check=True)
    fields = [f for f in parcels.schema if f.get("display")]
    columns = ", ".join(
        f"(properties->>'{f['name']}')" + ("::float8" if f["type"] in ("integer", "number") else "") + f' AS "{f["name"]}"'
        for f in fields)
    password = "tipg-bench-" + str(random.Random().randrange(10**9))
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE OR REPLACE VIEW bench_parcels AS SELECT id, geom, {columns} "
                       f"FROM layers_feature WHERE layer_id = {int(parcels.pk)}")
        cursor.execute("SELECT 1 FROM pg_roles WHERE rolname = 'tipg_bench'")
        verb = "ALTER" if cursor.fetchone() else "CREATE"
        cursor.execute(f"{verb} ROLE tipg_bench LOGIN PASSWORD %s", [password])
        cursor.execute("GRANT SELECT ON bench_parcels, layers_feature TO tipg_bench")
    params = db_params()
    port = free_port()
    env = {**os.environ, "DATABASE_URL": f"postgresql://tipg_bench:{password}@127.0.0.1:{params['port']}/{params['name']}",
           "TIPG_DB_SCHEMAS": '["public"]', "TIPG_DB_TABLES": '["public.bench_parcels"]',
           "TIPG_TILE_BUFFER": "64", "TIPG_DB_MAX_CONN_SIZE": "10"}
    if max_features:
        env["TIPG_MAX_FEATURES_PER_TILE"] = str(max_features)
    for key in ("DJANGO_SETTINGS_MODULE", "PGOPTIONS"):
        env.pop(key, None)
    workers = _gunicorn_workers()
    argv = [str(uvicorn), "tipg.main:app", "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers),
            "--no-access-log", "--log-level", "warning"]
    paths = [f"/collections/public.bench_parcels/tiles/WebMercatorQuad/{t.z}/{t.x}/{t.y}" for t in tiles]
    with Server(argv, env, port, VAR, VAR / "tipg.log", ready_path="/healthz"):
        fetch_all(port, paths[:20], CONCURRENCY)  # every worker connected and its catalog loaded
        run = fetch_all(port, paths, CONCURRENCY)
    return {"tiles_per_s": run.rate, "statuses": run.statuses, "workers": workers, "p99_ms": run.percentile(99) * 1000,
            "max_features_per_tile": max_features or "default (10,000)", "mean_kb": run.bytes / max(1, run.requests) / 1024}


def _gunicorn_workers() -> int:
    return int(os.environ.get("GUNICORN_WORKERS", (os.cpu_count() or 1) * 2 + 1))


def run() -> None:
    import django

    django.setup()
    from django.db import connection

    from bench.tiles_data import ensure_parcels
    from bench.tiles_http import fetch_all, free_port
    from layers.models import Layer

    VAR.mkdir(parents=True, exist_ok=True)
    results: dict = {"parcels": PARCELS, "concurrency": CONCURRENCY, "gunicorn_workers": _gunicorn_workers()}
    say(f"database {os.environ['GISPORTAL_DB_NAME']}; {os.cpu_count()} cores; gunicorn with {_gunicorn_workers()} workers "
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
    from tiles.mvt import SESSION, tile_query

    # Many layers, one database.
    say("\n[many layers] parcel tile queries (z14–z16 sample) without and with 300,000 other features in the same area")
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
        queries.append(cursor.mogrify(sql.removeprefix(SESSION), params).decode())
    pg = pgbench_run(queries, "same SQL")
    results["pgbench"] = pg
    say(f"  {pg['tiles_per_s']:.1f} tiles/s")
    workers = _gunicorn_workers()
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
        cold = fetch_all(port, paths, CONCURRENCY)
        results["cold"] = {"tiles_per_s": cold.rate, "statuses": cold.statuses, "p99_ms": cold.percentile(99) * 1000,
                           "mean_kb": cold.bytes / max(1, cold.requests) / 1024}
        say(f"  {cold.rate:.1f} tiles/s, statuses {cold.statuses}, p99 {cold.percentile(99) * 1000:.0f} ms, "
            f"mean {cold.bytes / max(1, cold.requests) / 1024:.1f} KB gzip")
        pg_after = pgbench_run(queries, "same SQL, again after the server's run")
        results["pgbench_after"] = pg_after
        say(f"  pgbench again right after: {pg_after['tiles_per_s']:.1f} tiles/s (before: {pg['tiles_per_s']:.1f}); "
            "the reference is their mean, as other load on the machine drifts")

        rounds = 3
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
        fetch_all(port, distinct_paths[:1000], CONCURRENCY)
        before = server.rss_mb()
        mem_run = fetch_all(port, distinct_paths[1000:], CONCURRENCY)
        after = server.rss_mb()
        growth = {pid: after.get(pid, 0) - before.get(pid, 0) for pid in before}
        results["memory"] = {"rss_before_mb": sum(before.values()), "rss_after_mb": sum(after.values()),
                             "max_worker_growth_mb": max(growth.values()), "requests": 1000 + mem_run.requests,
                             "tiles_per_s": mem_run.rate}
        say(f"  RSS of master + workers after 1,000: {sum(before.values()):.0f} MB; after {1000 + mem_run.requests:,}: "
            f"{sum(after.values()):.0f} MB; largest growth of one process {max(growth.values()):+.1f} MB")

    for key, cap, note in (("tipg", 1_000_000, "complete tiles, as ours (TIPG_MAX_FEATURES_PER_TILE=1,000,000)"),
                           ("tipg_default_cap", None, "tipg's default cap of 10,000 features per tile")):
        say(f"\n[tipg] the same tile list, same concurrency: {note}")
        try:
            tipg = tipg_run(parcels, tiles, cap)
            results[key] = tipg
            say(f"  {tipg['tiles_per_s']:.1f} tiles/s with {tipg['workers']} uvicorn workers, statuses {tipg['statuses']}, "
                f"mean {tipg['mean_kb']:.1f} KB")
        except Exception as error:  # tipg is a reference, not the project: report and go on
            results[key] = {"error": str(error)}
            say(f"  tipg could not run: {error}")



def _summary(results: dict) -> None:
    """The figures and ratios, against the issue's targets; also written to bench/out/tiles.json."""
    many, warm, raw = results["many_layers"], results["warm"], results["warm_reference"]
    workers = results["gunicorn_workers"]
    pg_workers = results["pgbench_as_many_sessions_as_workers"]
    cold_rate = results["cold"]["tiles_per_s"]
    pg_rate = (results["pgbench"]["tiles_per_s"] + results["pgbench_after"]["tiles_per_s"]) / 2
    tipg_rate = results["tipg"].get("tiles_per_s", 0)
    tipg_capped = results["tipg_default_cap"].get("tiles_per_s", 0)
    shipped = results.get("cold_shipped", {}).get("tiles_per_s")
    rows = [
        ("cold tiles/s vs pgbench (same SQL, mean)", f"{cold_rate:.1f} / {pg_rate:.1f}", ratio(cold_rate, pg_rate), "≥ 0.9×"),
        (f"  … vs pgbench with {workers} clients", f"{cold_rate:.1f} / {pg_workers['tiles_per_s']:.1f}",
         ratio(cold_rate, pg_workers["tiles_per_s"]), "(info)"),
        ("cold tiles/s vs tipg (complete tiles)", f"{cold_rate:.1f} / {tipg_rate:.1f}", ratio(cold_rate, tipg_rate), "≥ 2×"),
        ("cold tiles/s vs tipg (its 10k cap)", f"{cold_rate:.1f} / {tipg_capped:.1f}", ratio(cold_rate, tipg_capped), "(info)"),
        *([("cold, catalog as shipped, vs tipg", f"{shipped:.1f} / {tipg_rate:.1f}", ratio(shipped, tipg_rate),
            "(info: parcels from z" + str(results["cold_shipped"]["min_zoom"]) + ")")] if shipped else []),
        ("warm req/s vs minimal view", f"{warm['rps']:.0f} / {raw['rps']:.0f}", ratio(warm["rps"], raw["rps"]), "≥ 0.7×"),
        ("warm p99 (ms)", f"{warm['p99_ms']:.1f}", "", "< 20 ms"),
        ("memory growth, one process (MB)", f"{results['memory']['max_worker_growth_mb']:+.1f}", "", "flat"),
        ("many layers: slowdown (time)", f"{many['slowdown'] * 100:+.1f}%", "", "≤ 10%"),
        ("many layers: buffers with / without", f"{many['with_buffers']} / {many['without_buffers']}",
         ratio(many["with_buffers"], many["without_buffers"]), "≤ 1.1×"),
    ]
    say("\n=== bench/tiles summary ===")
    width = max(len(r[0]) for r in rows)
    for name, figures, r, target in rows:
        say(f"  {name:<{width}}  {figures:>20}  {r:>7}  target {target}")
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "tiles.json").write_text(json.dumps(results, indent=2, default=str))
    say(f"  (figures in {(OUT / 'tiles.json').relative_to(ROOT)})")


if __name__ == "__main__":
    if "--run" in sys.argv:
        run()
    else:
        main()
