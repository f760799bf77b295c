"""bench/cluster: capacity of the cluster's shape on this machine, measured through the Varnish front.

It starts what it needs itself, on free ports, against the demo city's benchmark database (bench/demo_db.py):
the private primary and its streaming replica (scripts/bootstrap.sh replica, idempotent), Redis, N gunicorn nodes
(BENCH_CLUSTER_WORKERS workers each, 1 by default: a node stands for one core's worth of a machine, so "2 nodes"
means twice the web capacity, not the same cores split), a job worker (purges go through the queue) and Varnish
with the VCL `make cluster` renders. For 1 and 2 nodes, without and with the replica, it measures:
  cold tiles/s (z17 tiles never asked before: front miss, node render), cached tiles/s (wrk over tiles the front
  holds), OGC items/s (distinct boxes), edits/s (planners saving their own parcels through the front);
then the same cached tiles through one gunicorn node alone (its own tile cache), and an edit's time to be visible
in the tile the front serves. Prints the conditions, every figure, the arithmetic for the city's peak and the
targets with met/MISSED (bench/report.py). BENCH_SMOKE=1: the 2,000-parcel city, seconds per figure.

    .venv/bin/python -m bench cluster
"""
import json
import math
import os
import shutil
import statistics
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from bench.cluster_front import Front, get
from bench.demo_db import ROOT, _psql, ensure_demo_db
from bench.report import SMOKE, conditions, finish, smoke_or, verdict
from bench.tiles_http import Server, fetch_all, free_port, warm_run
from bench.processes import stop_group

PARCELS = int(os.environ.get("BENCH_CLUSTER_PARCELS", smoke_or(100_000, 2_000)))
WORKERS = int(os.environ.get("BENCH_CLUSTER_WORKERS", 1))
COLD = smoke_or(300, 12)  # cold tiles per configuration
CACHED = smoke_or(300, 20)  # tiles in the cached set
SECONDS = smoke_or(8, 1)  # wrk's run over cached tiles
OGC = smoke_or(150, 8)  # OGC pages per configuration
EDITS = smoke_or(40, 2)  # saves per configuration (two planners, their own parcels)
CONCURRENCY = 8
PEAK, HIT_RATE = 2000, 0.90
VAR = ROOT / "var" / "bench" / "cluster"


def say(text: str = "") -> None:
    print(text, flush=True)


def _bootstrap(*args: str) -> None:
    subprocess.run(["bash", str(ROOT / "scripts" / "bootstrap.sh"), *args], cwd=ROOT, check=True,
                   stdout=subprocess.DEVNULL)


class Nodes:
    """N gunicorn nodes + one job worker on the benchmark database; a context manager."""

    def __init__(self, env: dict, count: int, front_port: int, replica: bool, tag: str):
        self.env = {**env, "GISPORTAL_FRONT_PURGE_URLS": f"http://127.0.0.1:{front_port}",
                    "GISPORTAL_TILE_CACHE_DIR": str(VAR / tag / "tiles"), "GISPORTAL_SHARED_DIR": str(VAR / tag / "shared"),
                    "GUNICORN_WORKERS": str(WORKERS), "GISPORTAL_TRUSTED_PROXIES": "127.0.0.1"}
        if not replica:
            self.env.pop("GISPORTAL_REPLICA_PORT", None)
        self.ports = [free_port() for _ in range(count)]
        self.tag, self.servers, self.worker = tag, [], None

    def __enter__(self) -> "Nodes":
        gunicorn = str(Path(sys.executable).parent / "gunicorn")
        self.servers = [Server([gunicorn, "gisportal.wsgi:application", "--config",
                                str(ROOT / "gisportal" / "gunicorn.conf.py"), "--bind", f"127.0.0.1:{port}"],
                               self.env, port, ROOT, VAR / self.tag / f"node-{port}.log") for port in self.ports]
        with ThreadPoolExecutor(len(self.servers)) as pool:  # the nodes boot side by side, as a deployment's do
            list(pool.map(lambda server: server.__enter__(), self.servers))
        log = open(VAR / self.tag / "worker.log", "w")
        self.worker = subprocess.Popen([sys.executable, "manage.py", "procrastinate", "worker"], env=self.env, cwd=ROOT,
                                       stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        log.close()
        return self

    def __exit__(self, *exc) -> None:
        for server in self.servers:
            server.__exit__(*exc)
        if self.worker is not None:
            stop_group(self.worker)  # the session we started, nothing else


def _ogc(port: int, boxes: list[str]) -> tuple[float, float]:
    """(pages/s, items/s) over distinct boxes (every one a front miss), CONCURRENCY at a time."""
    paths = [f"/ogc/collections/parcels/items?limit=100&bbox={box}" for box in boxes]
    run = fetch_all(port, paths, CONCURRENCY, headers={"Accept": "application/geo+json"})
    sample = [json.loads(get(f"http://127.0.0.1:{port}{path}", {"Accept": "application/geo+json"})[2])
              .get("numberReturned", 0) for path in paths[:10]]
    return run.rate, run.rate * statistics.mean(sample)


def _session(base: str, username: str, password: str):
    """A planner's signed-in session through the front (requests, as Locust's client)."""
    import requests

    session = requests.Session()
    session.get(base + "/accounts/login/", timeout=30)
    session.post(base + "/accounts/login/", allow_redirects=False, timeout=30,
                 data={"username": username, "password": password, "csrfmiddlewaretoken": session.cookies.get("csrftoken", "")})
    return session


def _save(session, base: str, feature_id: int, note: str) -> int:
    """Reads the parcel, saves it with the other land use (the tile's style attribute, so its tile changes)."""
    current = session.get(f"{base}/api/layers/parcels/features/{feature_id}", timeout=30).json()
    land_use = "ODT" if current["properties"].get("land_use") == "TMD" else "TMD"
    body = {"version": current["version"], "comment": note, "properties": {**current["properties"], "land_use": land_use}}
    return session.put(f"{base}/api/layers/parcels/features/{feature_id}", json=body, timeout=60,
                       headers={"X-CSRFToken": session.cookies.get("csrftoken", "")}).status_code


def _edits(base: str, plan: dict, count: int) -> float:
    """Saves per second: each planner saves its own parcels (no conflict), read then write, through the front."""
    halves = [plan["edit_ids"][0::2], plan["edit_ids"][1::2]]
    done, failures = [], []

    def planner(index: int) -> None:
        session = _session(base, plan["planners"][index], plan["password"])
        for i in range(count // 2):
            status = _save(session, base, halves[index][i % len(halves[index])], "bench/cluster")
            (done if status == 200 else failures).append(status)

    started = time.perf_counter()
    threads = [threading.Thread(target=planner, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failures:
        raise RuntimeError(f"edits refused through the front: {failures[:5]}")
    return len(done) / (time.perf_counter() - started)


def _visibility(base: str, node: str, plan: dict, rounds: int, cap: float = smoke_or(5.0, 2.0)) -> list[float]:
    """Seconds from a save's answer until the front serves the tile as the node now renders it (cap: never)."""
    session = _session(base, plan["planners"][0], plan["password"])
    tile, seen = plan["shown_tile"], []
    for _ in range(rounds):
        node_before = get(node + tile)[2]
        get(base + tile)
        if get(base + tile)[2] != node_before:
            # The front still serves a state older than the node's: the previous edit never reached it.
            seen.append(cap)
            continue
        assert _save(session, base, plan["shown_id"], "bench/cluster visibility") == 200
        saved = time.perf_counter()
        node_after = get(node + tile)[2]
        if node_after == node_before:  # the node itself must show the edit, else this measures nothing
            raise RuntimeError(f"the edit did not change {tile} on the node: no visibility to measure")
        while get(base + tile)[2] != node_after and time.perf_counter() - saved < cap:
            time.sleep(0.02)
        seen.append(min(time.perf_counter() - saved, cap))
    return seen


def _configuration(front_port: int, node_ports: list[int], plan: dict, replica: bool, slices: dict,
                   figures: dict) -> None:
    """Every figure through a front before these nodes (the others of the run stand idle)."""
    nodes = len(node_ports)
    tag = f"{nodes}n-{'replica' if replica else 'primary'}"
    with Front(front_port, node_ports) as front:
        cold = fetch_all(front_port, slices["cold"].pop(0), CONCURRENCY)
        cached_paths = slices["cached"]
        fetch_all(front_port, cached_paths, 4)  # now held by the front
        cached = warm_run(front_port, cached_paths, 32, SECONDS)
        pages, items = _ogc(front_port, slices["ogc"].pop(0))
        edits = _edits(front.base, plan, EDITS)
        result = {"cold": cold.rate, "cold_p50_ms": cold.percentile(50) * 1000, "cached": cached["rps"],
                  "cold_empty": cold.statuses.get(204, 0) / max(1, cold.requests),
                  "cached_errors": cached["non_2xx"], "ogc_pages": pages, "ogc_items": items, "edits": edits,
                  "errors": sum(n for s, n in cold.statuses.items() if s >= 500)}
        if nodes == 1 and not replica:
            # The same cached set through one node alone: its own tile cache, no front.
            fetch_all(node_ports[0], cached_paths, 4)
            result["node_alone_cached"] = warm_run(node_ports[0], cached_paths, 32, SECONDS)["rps"]
        if nodes == 2 and replica:
            result["visible_s"] = _visibility(front.base, f"http://127.0.0.1:{node_ports[1]}", plan, smoke_or(3, 1))
    figures[tag] = result
    say(f"  {tag:<12} cold {result['cold']:7.1f} tiles/s (p50 {result['cold_p50_ms']:.0f} ms, "
        f"{result['cold_empty']:.0%} empty)  cached "
        f"{result['cached']:8.0f} tiles/s  OGC {pages:6.1f} pages/s = {items:7.0f} items/s  edits {edits:5.1f}/s"
        + (f"  node alone cached {result['node_alone_cached']:.0f} tiles/s" if "node_alone_cached" in result else "")
        + (f"  edit visible after {', '.join(f'{s:.2f}' for s in result['visible_s'])} s" if "visible_s" in result else ""))


def _peak(figures: dict) -> None:
    """How many fronts, nodes and replicas the city's peak needs, from the figures above."""
    misses = PEAK * (1 - HIT_RATE)
    front = figures["1n-primary"]["cached"]
    per_node = figures["1n-replica"]["cold"]
    two = figures["2n-replica"]["cold"]
    scaling = two / per_node if per_node else float("nan")
    say(f"\n  the city's peak: {PEAK:,} tiles/s at a {HIT_RATE:.0%} front hit rate → {PEAK * HIT_RATE:,.0f}/s from the "
        f"front's memory, {misses:,.0f}/s rendered by the nodes")
    say(f"  fronts: {PEAK:,} ÷ {front:,.0f} cached tiles/s per front = {PEAK / front:.2f} → {max(1, math.ceil(PEAK / front))} "
        f"(2 for redundancy)")
    say(f"  nodes: {misses:,.0f} ÷ {per_node:.1f} cold tiles/s per node ({WORKERS} worker{'s' if WORKERS > 1 else ''}) = "
        f"{misses / per_node:.1f} → {math.ceil(misses / per_node)} nodes, ×1.5 headroom = {math.ceil(1.5 * misses / per_node)}")
    # Each replica served the cold tiles of the 2-node run on this machine's shared cores: a lower bound per replica.
    say(f"  replicas: 2 nodes drew {two:.1f} cold tiles/s from one replica (×{scaling:.2f} one node's), on cores it shared "
        f"with them; at that rate {misses:,.0f}/s needs {math.ceil(misses / two)} replica(s), a lower bound (a replica "
        f"on its own machine serves more), +1 for failover")


def _targets(figures: dict) -> None:
    alone, base = figures["1n-primary"]["node_alone_cached"], figures["1n-primary"]
    verdict("cached tiles through the front ÷ one gunicorn node alone", base["cached"] / alone, ">=", 5.0,
            detail=f"{base['cached']:,.0f} vs {alone:,.0f} tiles/s")
    for db in ("primary", "replica"):
        one, two = figures[f"1n-{db}"]["cold"], figures[f"2n-{db}"]["cold"]
        verdict(f"cold tiles, 2 nodes ÷ 1 node (reads from the {db})", two / one, ">=", 1.6,
                detail=f"{two:.1f} vs {one:.1f} tiles/s; database and nodes share {os.cpu_count()} cores")
    seen = figures["2n-replica"]["visible_s"]
    verdict("an edit visible through the front (slowest of the rounds)", max(seen), "<=", 1.0, unit=" s",
            detail="the cap: never seen, no purge reached the front" if max(seen) >= smoke_or(5.0, 2.0) else "")


def _forget_caches(database: str) -> None:
    """No tile from an earlier run: the nodes' tile cache folders go, and every Redis key of the benchmark's
    database (keys start with its name: layers/shared_store.key, Django's KEY_PREFIX; the bench's own only)."""
    import redis

    for mode in ("primary", "replica"):
        shutil.rmtree(VAR / mode / "tiles", ignore_errors=True)
    url = os.environ.get("GISPORTAL_REDIS_URL", f"unix://{ROOT / 'var' / 'redis' / 'redis.sock'}")
    client = redis.Redis.from_url(url, socket_timeout=5)
    doomed = list(client.scan_iter(match=f"{database}:*", count=1000))
    for start in range(0, len(doomed), 1000):
        client.delete(*doomed[start:start + 1000])


def main() -> None:
    conditions("bench/cluster", parcels=PARCELS, workers_per_node=WORKERS, cold_tiles=COLD, cached_tiles=CACHED,
               wrk_seconds=SECONDS, concurrency=CONCURRENCY)
    _bootstrap("replica")  # the private primary and its streaming replica (idempotent)
    _bootstrap("redis")
    env = {**ensure_demo_db(PARCELS), "DJANGO_SETTINGS_MODULE": "gisportal.settings", "PYTHONUNBUFFERED": "1",
           "GISPORTAL_REPLICA_PORT": os.environ.get("GISPORTAL_REPLICA_PORT", "54331"),
           **{f"OPENDATA_RATE_{k}": "1000000000" for k in ("ANON", "TOKEN", "SEARCH_ANON", "SEARCH_TOKEN",
                                                             "HISTORY_ANON", "HISTORY_TOKEN")}}
    plan = json.loads(subprocess.run([sys.executable, "-m", "bench.cluster_setup"], cwd=ROOT, env=env, check=True,
                                     capture_output=True, text=True).stdout.strip().splitlines()[-1])
    tiles, boxes = plan["tiles"], plan["ogc_boxes"]
    _forget_caches(env["GISPORTAL_DB_NAME"])
    # The parcels' rows in memory before anything is timed: the first configuration does not pay the disk reads.
    _psql("SELECT count(*), sum(ST_NPoints(f.geom)), sum(length(f.properties::text)) FROM layers_feature f "
          "JOIN layers_layer l ON l.id = f.layer_id WHERE l.slug = 'parcels'", env["GISPORTAL_DB_NAME"])
    if len(tiles) < CACHED + 4 * COLD:
        raise RuntimeError(f"only {len(tiles)} z17 tiles over the city; need {CACHED + 4 * COLD}")
    slices = {"cached": tiles[:CACHED], "cold": [tiles[CACHED + i * COLD: CACHED + (i + 1) * COLD] for i in range(4)],
              "ogc": [boxes[i * OGC:(i + 1) * OGC] for i in range(4)]}
    say(f"  database {env['GISPORTAL_DB_NAME']}: {plan['parcels']:,} parcels; {len(tiles):,} z17 tiles over the city")
    figures: dict = {}
    for replica in (False, True):
        front_port = free_port()  # the nodes purge this front (GISPORTAL_FRONT_PURGE_URLS): one port per run
        with Nodes(env, 2, front_port, replica, "replica" if replica else "primary") as started:
            for i, port in enumerate(started.ports):  # every worker has connected and rendered before it is timed
                fetch_all(port, tiles[-8 * (i + 1 + 2 * replica):][:8] + [f"/ogc/collections/parcels/items?limit=5&bbox={boxes[-1]}"], 2)
            for nodes in (1, 2):
                _configuration(front_port, started.ports[:nodes], plan, replica, slices, figures)
    _peak(figures)
    _targets(figures)
    out = ROOT / "bench" / "out"
    out.mkdir(parents=True, exist_ok=True)
    (out / ("cluster-smoke.json" if SMOKE else "cluster.json")).write_text(json.dumps(figures, indent=1))
    finish("bench/cluster")
