"""bench/soak: the portal under a constant load for a while — does it stay correct, fast and flat?

gunicorn (the project's config) serves the demo city's benchmark database (bench/demo_db.py); Locust
(bench/soak_load.py) drives it at SOAK_RATE requests/s for SOAK_SECONDS with the portal's mix: 85% tiles,
8% OGC items, 4% click-to-see and search, 2% downloads, 1% edits by two planners on the same parcels.
Prints the conditions, requests, errors by status, p50/p95/p99 per kind, the workers' memory at the
start (after a warm-up) and the end, and the targets: no errors but the planners' 409s, p99 of cached
tiles < 50 ms, memory growth < 10%.

Fair use is lifted for the soak's server (OPENDATA_RATE_* of every bucket in its environment): its visitors
share one address, where a city's residents have thousands;
the soak measures the portal, not the limiter's 429s.

    make soak                                   # 10 minutes at 50 requests/s
    SOAK_SECONDS=180 SOAK_RATE=40 make soak
    BENCH_SMOKE=1 .venv/bin/python -m bench soak  # seconds, tiny database (CI)
"""
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import threading
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from bench.demo_db import ROOT, ensure_demo_db
from bench.tiles_http import Server, free_port


SMOKE = os.environ.get("BENCH_SMOKE") == "1"
SECONDS = int(os.environ.get("SOAK_SECONDS", 12 if SMOKE else 600))
RATE = float(os.environ.get("SOAK_RATE", 20 if SMOKE else 50))
PARCELS = int(os.environ.get("SOAK_PARCELS", 2_000 if SMOKE else 100_000))
WARM_SECONDS = int(os.environ.get("SOAK_WARM_SECONDS", 3 if SMOKE else 30))
CACHED_TILES_P99_MS, MEMORY_GROWTH = 50.0, 0.10
VAR = ROOT / "var" / "bench" / "soak"
OUT = ROOT / "bench" / "out"
FAIR_USE_BUCKETS = ("SEARCH", "HISTORY")  # opendata.fairuse.BUCKETS (not imported: no Django here)


def say(text: str = "") -> None:
    print(text, flush=True)


def _machine() -> str:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor() or "?")
    mem = int(next(line.split()[1] for line in Path("/proc/meminfo").read_text().splitlines()
                   if line.startswith("MemTotal"))) / 1024 / 1024
    return f"{os.cpu_count()} CPU ({cpu}), {mem:.1f} GiB RAM, Python {platform.python_version()}"


def _load() -> str:
    return " ".join(f"{v:.2f}" for v in os.getloadavg())


def _workers_rss(server: Server) -> tuple[float, int]:
    """(MiB summed over the gunicorn workers, not the arbiter; number of workers)."""
    rss = server.rss_mb()
    workers = {pid: mb for pid, mb in rss.items() if pid != server.process.pid}
    return sum(workers.values()), len(workers)


def _warm_tiles(port: int, paths: list[str]) -> None:
    """Every tile of the cached set fetched once, four at a time, so the soak's 'tile cached' are hits."""
    def fetch(path: str) -> None:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=120) as response:
            response.read()

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(fetch, paths))


def _locust(plan: Path, port: int, seconds: int) -> dict:
    out = subprocess.run([sys.executable, "-m", "bench.soak_load", str(plan), f"http://127.0.0.1:{port}", str(RATE),
                          str(seconds)], cwd=ROOT, capture_output=True, text=True, timeout=seconds + 300)
    if out.returncode != 0:
        raise RuntimeError(out.stderr[-3000:])
    return json.loads(out.stdout.strip().splitlines()[-1])


def _server_times(log: Path, offset: int) -> dict[str, list[float]]:
    """The server's own time (ms, gunicorn's %(D)s) per kind, from the access log after `offset`: what the
    portal spent, without the wait in the listen queue and in the load generator on the same cores."""
    times: dict[str, list[float]] = {}
    with log.open() as lines:
        lines.seek(offset)
        for line in lines:
            kind, _, micros = line.strip().rpartition("|")
            if kind and kind != "-" and micros.isdigit():
                times.setdefault(kind, []).append(int(micros) / 1000)
    return times


def _pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))] if ordered else float("nan")


def _sample_peak(server: Server, stop: threading.Event, peak: list[float]) -> None:
    while not stop.wait(5):
        peak[0] = max(peak[0], _workers_rss(server)[0])


def _report(result: dict, rss: tuple[float, float, float], workers: int, load: tuple[str, str],
            server_ms: dict[str, list[float]]) -> dict:
    kinds = {k: v for k, v in result["kinds"].items() if k != "planner login"}
    say(f"conditions: {_machine()}; load average before {load[0]}, after {load[1]} (other work on the machine counts)")
    say(f"load: {RATE:g} requests/s target for {SECONDS} s (after a {WARM_SECONDS} s warm-up), "
        f"{result['visitors']} visitors + {result['planners']} planners (Locust, on the same machine), gunicorn "
        f"{workers} workers × {os.environ.get('GUNICORN_THREADS', '1')} thread(s) (gisportal/gunicorn.conf.py)")
    total = sum(k["n"] for k in kinds.values())
    say(f"requests: {total:,} in {result['seconds']:.0f} s = {total / result['seconds']:.1f}/s")
    say("client: as Locust saw it (queue and load generator included); server: gunicorn's own time per request")
    say(f"{'kind':<14}{'n':>8}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'server p50':>12}{'p99':>7}  statuses")
    errors: dict[str, int] = {}
    for name, k in kinds.items():
        statuses = " ".join(f"{s}×{n}" for s, n in sorted(k["statuses"].items()))
        own = server_ms.get(name, [])
        k["server_p50"], k["server_p99"] = _pct(own, 50), _pct(own, 99)
        say(f"{name:<14}{k['n']:>8}{k['p50']:>9.1f}{k['p95']:>9.1f}{k['p99']:>9.1f}{k['server_p50']:>12.1f}"
            f"{k['server_p99']:>7.1f}  {statuses}")
        for status, n in k["statuses"].items():
            expected = status.isdigit() and (int(status) < 400 or (name == "edit save" and status == "409"))
            if not expected:
                errors[status] = errors.get(status, 0) + n
    conflicts = kinds.get("edit save", {}).get("statuses", {}).get("409", 0)
    say(f"errors by status (409s of the planners excluded: {conflicts}): "
        f"{', '.join(f'{s}×{n}' for s, n in sorted(errors.items())) or 'none'}")
    start, end, peak = rss
    growth = (end - start) / start if start else float("nan")
    say(f"gunicorn workers' memory (RSS summed over {workers}): start {start:.0f} MiB, end {end:.0f} MiB, "
        f"peak {peak:.0f} MiB → growth {100 * growth:+.1f}%")
    p99 = kinds.get("tile cached", {}).get("p99", float("nan"))
    targets = [("no errors but the planners' 409s", not errors, f"{sum(errors.values())} errors"),
               (f"p99 of cached tiles < {CACHED_TILES_P99_MS:g} ms", p99 < CACHED_TILES_P99_MS, f"{p99:.1f} ms"),
               (f"memory growth < {100 * MEMORY_GROWTH:g}%", growth < MEMORY_GROWTH, f"{100 * growth:+.1f}%")]
    for label, met, figure in targets:
        say(f"target {label}: {figure} — {'met' if met else 'MISSED'}")
    return {"rate": RATE, "seconds": SECONDS, "errors": errors, "conflicts": conflicts, "kinds": kinds,
            "rss_mb": {"start": start, "end": end, "peak": peak}, "load": load, "workers": workers,
            "targets": {label: met for label, met, _ in targets}}


def main() -> None:
    env = ensure_demo_db(PARCELS)
    VAR.mkdir(parents=True, exist_ok=True)
    tiles = VAR / "tiles"
    shutil.rmtree(tiles, ignore_errors=True)  # cold cache: the warm-up decides what is cached
    env = {**env, "DJANGO_SETTINGS_MODULE": "gisportal.settings", "GISPORTAL_TILE_CACHE_DIR": str(tiles),
           "GISPORTAL_TILE_CACHE_BACKEND": "tiles.cache.DiskCache",  # the cache emptied above (Redis would stay warm)
           "OPENDATA_RATE_ANON": "1000000000", "OPENDATA_RATE_TOKEN": "1000000000",
           **{f"OPENDATA_RATE_{bucket}_{who}": "1000000000" for bucket in FAIR_USE_BUCKETS for who in ("ANON", "TOKEN")},
           "PYTHONUNBUFFERED": "1"}
    plan = json.loads(subprocess.run([sys.executable, "-m", "bench.soak_setup"], cwd=ROOT, env=env, check=True,
                                     capture_output=True, text=True).stdout.strip().splitlines()[-1])
    if SMOKE:
        plan["warm_tiles"] = plan["warm_tiles"][:40]
    say(f"database {env['GISPORTAL_DB_NAME']}: {plan['parcels']:,} parcels; {len(plan['warm_tiles'])} tiles kept "
        f"cached, {len(plan['edited'])} parcels edited by both planners")
    load_before = _load()
    port = free_port()
    access = VAR / "access.log"
    access.unlink(missing_ok=True)
    argv = [str(Path(sys.executable).parent / "gunicorn"), "gisportal.wsgi:application", "--config",
            str(ROOT / "gisportal" / "gunicorn.conf.py"), "--bind", f"127.0.0.1:{port}",
            "--access-logfile", str(access), "--access-logformat", "%({x-soak-kind}i)s|%(D)s"]
    with tempfile.NamedTemporaryFile("w", suffix=".json", dir=VAR) as plan_file, \
            Server(argv, env, port, ROOT, VAR / "gunicorn.log") as server:
        json.dump(plan, plan_file)
        plan_file.flush()
        _warm_tiles(port, plan["warm_tiles"])
        _locust(Path(plan_file.name), port, WARM_SECONDS)  # every worker has served every kind before we measure
        start, workers = _workers_rss(server)
        measured_from = access.stat().st_size if access.exists() else 0
        peak, stop = [start], threading.Event()
        sampler = threading.Thread(target=_sample_peak, args=(server, stop, peak), daemon=True)
        sampler.start()
        result = _locust(Path(plan_file.name), port, SECONDS)
        stop.set()
        end, _ = _workers_rss(server)
    report = _report(result, (start, end, max(peak[0], end)), workers, (load_before, _load()),
                     _server_times(access, measured_from))
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / ("soak-smoke.json" if SMOKE else "soak.json")).write_text(json.dumps(report, indent=1, ensure_ascii=False))
