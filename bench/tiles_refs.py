"""The references bench/tiles measures our tiles against: pgbench on the same SQL, tipg on the same data,
and the many-layers check (the tile query's own cost with another big layer in the same area)."""
import math
import os
import random
import subprocess
import sys
import time
from pathlib import Path

from bench.report import smoke_or

ROOT = Path(__file__).resolve().parent.parent
VAR = ROOT / "var" / "bench"
CONCURRENCY = 8
TIPG_VERSION = "1.6.1"
BUILDINGS = smoke_or(300_000, 2_000)


def say(text: str = "") -> None:
    print(text, flush=True)


def db_params() -> dict:
    from django.db import connection

    s = connection.settings_dict
    return {"host": s.get("HOST") or "", "port": str(s.get("PORT") or 5432), "user": s.get("USER") or "postgres",
            "name": s["NAME"], "password": s.get("PASSWORD") or ""}


def gunicorn_workers() -> int:
    """As gisportal/gunicorn.conf.py: GUNICORN_WORKERS, else 2 × cores + 1."""
    return int(os.environ.get("GUNICORN_WORKERS", (os.cpu_count() or 1) * 2 + 1))


class CpuMeter:
    """CPU seconds a run cost: the server's processes (from /proc) and the PostgreSQL backends of one role
    on this database (schedstat). Unlike tiles per second this hardly depends on what else the machine
    runs, so it says whether a tile is less work. Parallel workers come and go and are not counted."""

    def __init__(self, server, role: str):
        self.server, self.role = server, role

    def _server(self) -> float:
        total = 0.0
        for pid in self.server.pids():
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
                total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
            except (OSError, IndexError, ValueError):
                continue
        return total

    def _backends(self) -> dict[int, float]:
        from django.db import connection

        with connection.cursor() as cursor:
            cursor.execute("SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND usename = %s "
                           "AND pid <> pg_backend_pid() AND backend_type = 'client backend'", [self.role])
            pids = [row[0] for row in cursor.fetchall()]
        out = {}
        for pid in pids:
            try:
                out[pid] = int(Path(f"/proc/{pid}/schedstat").read_text().split()[0]) / 1e9
            except (OSError, IndexError, ValueError):  # another host's database, or gone
                continue
        return out

    def __enter__(self) -> "CpuMeter":
        self.server_start, self.backends_start = self._server(), self._backends()
        return self

    def __exit__(self, *exc) -> None:
        self.server_s = self._server() - self.server_start
        end = self._backends()
        self.database_s = sum(seconds - self.backends_start.get(pid, 0.0) for pid, seconds in end.items())
        self.measured = bool(end)

    def per_tile(self, tiles: int) -> dict:
        """{"server_cpu_ms", "database_cpu_ms"} per tile (None where /proc could not tell)."""
        n = max(1, tiles)
        return {"server_cpu_ms": self.server_s / n * 1000,
                "database_cpu_ms": self.database_s / n * 1000 if self.measured else None}


def many_layers_check(parcels, tiles) -> dict:
    """Parcel tile queries without and with BUILDINGS other features in the same area: the database's own
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
                for _ in range(smoke_or(3, 1)):
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
    add_buildings(BUILDINGS, parcels.extent.extent)
    say(f"  added {BUILDINGS:,} building footprints over the same area in {time.perf_counter() - started:.0f} s")
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
    # The server's own session settings (gisportal/settings.py), so pgbench runs the same SQL the same way.
    from django.conf import settings

    env = {**os.environ, "PGOPTIONS": settings.DATABASES["default"]["OPTIONS"]["options"]}
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
    from psycopg2 import sql

    from bench.tiles_http import Server, fetch_all, free_port

    venv = VAR / "tipg-venv"
    python = venv / "bin" / "python"
    # Run through the venv's python (-m uvicorn), not its script: a script's #! names the folder the venv was made
    # in, so a venv that was moved (a worktree, a copied checkout) would fail with "no such file".
    if not (python.exists() and subprocess.run([str(python), "-c", "import tipg, uvicorn"], capture_output=True).returncode == 0):
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
        # tipg creates temporary functions on every connection; a database may have TEMP revoked from PUBLIC.
        cursor.execute(sql.SQL("GRANT TEMPORARY, CONNECT ON DATABASE {} TO tipg_bench").format(
            sql.Identifier(connection.settings_dict["NAME"])))
    params = db_params()
    port = free_port()
    env = {**os.environ, "DATABASE_URL": f"postgresql://tipg_bench:{password}@127.0.0.1:{params['port']}/{params['name']}",
           "TIPG_DB_SCHEMAS": '["public"]', "TIPG_DB_TABLES": '["public.bench_parcels"]',
           "TIPG_TILE_BUFFER": "64", "TIPG_DB_MAX_CONN_SIZE": "10"}
    if max_features:
        env["TIPG_MAX_FEATURES_PER_TILE"] = str(max_features)
    for key in ("DJANGO_SETTINGS_MODULE", "PGOPTIONS"):
        env.pop(key, None)
    workers = gunicorn_workers()
    argv = [str(python), "-m", "uvicorn", "tipg.main:app", "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers),
            "--no-access-log", "--log-level", "warning"]
    paths = [f"/collections/public.bench_parcels/tiles/WebMercatorQuad/{t.z}/{t.x}/{t.y}" for t in tiles]
    with Server(argv, env, port, VAR, VAR / "tipg.log", ready_path="/healthz") as server:
        fetch_all(port, paths[:20], CONCURRENCY)  # every worker connected and its catalog loaded
        with CpuMeter(server, "tipg_bench") as cpu:
            run = fetch_all(port, paths, CONCURRENCY)
    return {**cpu.per_tile(len(paths)), "tiles_per_s": run.rate, "statuses": run.statuses, "workers": workers, "p99_ms": run.percentile(99) * 1000,
            "max_features_per_tile": max_features or "default (10,000)", "mean_kb": run.bytes / max(1, run.requests) / 1024}
