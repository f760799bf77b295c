"""bench/download: GeoJSON downloads and OGC API items through gunicorn, against PostGIS COPY, ogr2ogr and tipg.

One run on the benchmark database (GISPORTAL_BENCH_DB, default gisportal_bench):
  1. full GeoJSON download of 300,000 parcels via the app vs psql COPY (SELECT ST_AsGeoJSON(t.*) …) vs ogr2ogr;
  2. OGC API items pages (limit=1000, a bbox) features/s vs tipg serving the same table and query;
  3. peak RSS of the gunicorn workers during a 1,000,000-feature download;
  4. two downloads at once; and a GeoPackage export, first (written) vs second (cached file).
Prints its conditions, figures and ratios against the issue's targets (bench/report.py). Tools it needs (tipg)
go into var/bench/. BENCH_SMOKE=1: 2,000 and 5,000 features, pages of 100, one round: the same steps in seconds.
"""
import os
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from urllib.parse import quote
from pathlib import Path

from bench.report import SMOKE, conditions, finish, smoke_or, verdict
from bench.processes import stop_group

ROOT = Path(__file__).resolve().parent.parent
VAR = ROOT / "var" / "bench"
DB = os.environ.get("GISPORTAL_BENCH_DB", "gisportal_bench")
PG_SOCK = ROOT / "var" / "pgsock"
PG_PORT = os.environ.get("GISPORTAL_PG_PORT", "54329")
PARCELS = smoke_or(300_000, 2_000)
BIG = smoke_or(1_000_000, 5_000)
# Smoke layers have slugs of their own, so a smoke run never shrinks the full run's generated layer.
PARCELS_SLUG, BIG_SLUG = smoke_or(("od-bench-parcels", "od-bench-1m"), ("od-bench-smoke-parcels", "od-bench-smoke-big"))
CITY_BOX = (106.70, 10.75, 106.86, 10.90)
ITEMS_BBOX = "106.74,10.78,106.82,10.86"  # about a quarter of the city
PAGES = smoke_or(20, 2)
LIMIT = smoke_or(1000, 100)  # features per items page
ROUNDS = smoke_or(2, 1)
# The targets: app ÷ COPY, ogr2ogr ÷ app, app ÷ tipg (features/s), a worker's peak RSS during 1M.
APP_OVER_COPY, OGR_OVER_APP, APP_OVER_TIPG, WORKER_PEAK_MB = 2.0, 5.0, 5.0, 300
NEXT_LINK = re.compile(rb'"href":\s*"([^"]+)",\s*"rel":\s*"next"')


def say(text: str) -> None:
    print(f"  {text}", flush=True)


def _django() -> None:
    os.environ["GISPORTAL_DB_NAME"] = DB
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gisportal.settings")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def _psql(sql: str, *, out=subprocess.DEVNULL) -> float:
    started = time.perf_counter()
    subprocess.run(["psql", "-h", str(PG_SOCK), "-p", PG_PORT, "-U", "postgres", "-X", "-q", "-d", DB, "-c", sql],
                   stdout=out, check=True)
    return time.perf_counter() - started


def _migrate() -> None:
    subprocess.run([sys.executable, "manage.py", "migrate", "--skip-checks", "-v", "0"], cwd=ROOT, check=True,
                   env={**os.environ, "GISPORTAL_DB_NAME": DB})


def _sql_layer(slug: str, count: int, title: str) -> int:
    """A parcel-like layer of `count` 5-vertex polygons with Vietnamese attributes, generated in SQL."""
    from django.db import connection, transaction

    from layers.models import Layer
    from layers.schemas import PARCELS_SCHEMA
    from layers.services import layer_create, layer_refresh_stats

    layer = Layer.objects.filter(slug=slug).first()
    if layer and layer.feature_count == count:
        return layer.pk
    if layer is None:
        layer = layer_create(slug=slug, title_vi=title, title_en=title, category="land", geometry_type="Polygon",
                             schema=PARCELS_SCHEMA, is_public=True)
    west, south, east, north = CITY_BOX
    side = int(count ** 0.5) + 1
    dx, dy = (east - west) / side, (north - south) / side
    started = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        # Synthetic bench rows are not history: the history triggers are off for this transaction.
        cursor.execute("SET LOCAL session_replication_role = replica")
        cursor.execute("DELETE FROM layers_feature WHERE layer_id = %s", [layer.pk])
        cursor.execute(
            """
            INSERT INTO layers_feature (layer_id, geom, properties, version, updated_at)
            SELECT %(layer)s,
                   ST_SetSRID(ST_MakePolygon(ST_MakeLine(ARRAY[ST_MakePoint(x, y), ST_MakePoint(x + w, y + 0.02 * w),
                       ST_MakePoint(x + w, y + h), ST_MakePoint(x + 0.03 * w, y + h), ST_MakePoint(x, y)])), 4326),
                   jsonb_build_object('ward_code', (26700 + (i %% 34) * 3)::text, 'map_sheet', 1 + i / 4000,
                                      'parcel_no', 1 + i %% 4000,
                                      'land_use', (ARRAY['ODT','ODT','CLN','TMD','DGT','LUK'])[1 + i %% 6],
                                      'legal_area', round((w * h * 1.2e10)::numeric, 1),
                                      'address', (i %% 300) || ' Đường số ' || (i %% 97) || ', phường Thảo Điền'),
                   1, now()
            FROM (SELECT i, %(west)s + (i %% %(side)s) * %(dx)s AS x, %(south)s + (i / %(side)s) * %(dy)s AS y,
                         %(dx)s * 0.85 AS w, %(dy)s * 0.85 AS h
                  FROM generate_series(0::bigint, %(n)s - 1) AS i) AS cells
            """,
            {"layer": layer.pk, "west": west, "south": south, "side": side, "dx": dx, "dy": dy, "n": count})
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE layers_feature")
    layer_refresh_stats(layer=layer)
    say(f"generated {count:,} features for {slug} in SQL in {time.perf_counter() - started:.0f} s")
    return layer.pk


def _parcels_layer() -> tuple[str, int, int]:
    """(slug, id, features): the demo city's parcels when it has 300,000 of them; otherwise a generated layer."""
    from layers.models import Layer

    demo = Layer.objects.filter(slug="parcels").first()
    if not SMOKE and demo and demo.feature_count >= PARCELS * 0.95:
        say(f"using the demo city's parcels ({demo.feature_count:,})")
        return demo.slug, demo.pk, demo.feature_count
    say(f"the demo city's {PARCELS:,} parcels are not in the bench DB: generating parcels in SQL")
    return PARCELS_SLUG, _sql_layer(PARCELS_SLUG, PARCELS, "Thửa đất (thử tải)"), PARCELS


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait(url: str, proc: subprocess.Popen, seconds: float = 60) -> None:
    deadline = time.time() + seconds
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            urllib.request.urlopen(url, timeout=5).read()
            return
        except Exception:
            time.sleep(0.3)
    raise RuntimeError(f"server did not answer at {url}")


def _gunicorn(port: int) -> subprocess.Popen:
    env = {**os.environ, "GISPORTAL_DB_NAME": DB, "GUNICORN_WORKERS": "2", "OPENDATA_RATE_ANON": "1000000000",
           "GUNICORN_TIMEOUT": "600", "DJANGO_DEBUG": "0"}
    proc = subprocess.Popen([str(ROOT / ".venv" / "bin" / "gunicorn"), "gisportal.wsgi", "-c", "gisportal/gunicorn.conf.py",
                             "-b", f"127.0.0.1:{port}"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                            stderr=open(VAR / "gunicorn-download.log", "w"), start_new_session=True)
    _wait(f"http://127.0.0.1:{port}/ogc/conformance", proc)
    return proc


def _stop(proc: subprocess.Popen) -> None:
    stop_group(proc, timeout=15)


def _fetch(url: str) -> tuple[float, int, int]:
    """(seconds, bytes, features) of one GET, read in 1 MB chunks."""
    started = time.perf_counter()
    size = features = 0
    tail = b""
    with urllib.request.urlopen(url, timeout=600) as response:
        while True:
            chunk = response.read(1 << 20)
            if not chunk:
                break
            size += len(chunk)
            features += (tail + chunk).count(b'"type":"Feature",') - tail.count(b'"type":"Feature",')
            tail = chunk[-20:]
    return time.perf_counter() - started, size, features


def _children_rss(pid: int) -> int:
    """Total RSS (bytes) of a process's direct children (the gunicorn workers)."""
    total = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            if int(stat.rsplit(")", 1)[1].split()[1]) != pid:
                continue
            for line in (entry / "status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total = max(total, int(line.split()[1]) * 1024)  # the worker serving the download
        except (OSError, ValueError, IndexError):
            continue
    return total


def _tipg(port: int) -> subprocess.Popen | None:
    python = VAR / "tipg-venv" / "bin" / "python"
    if not python.exists() and SMOKE:  # CI's smoke does not depend on PyPI: tipg is compared only when installed
        say("smoke: tipg is not installed in var/bench/tipg-venv (a full run installs it): no tipg ratio")
        return None
    if not python.exists():
        say("installing tipg into var/bench/tipg-venv …")
        subprocess.run([sys.executable, "-m", "venv", str(VAR / "tipg-venv")], check=True)
        result = subprocess.run([str(VAR / "tipg-venv" / "bin" / "pip"), "install", "-q", "tipg==1.6.1", "uvicorn"],
                                capture_output=True, text=True)
        if result.returncode != 0:
            say(f"tipg could not be installed: {result.stderr.strip()[-200:]}")
            return None
    env = {**os.environ, # the socket directory as a percent-encoded host: tipg's settings insist on a host part
           "DATABASE_URL": f"postgresql://postgres@{quote(str(PG_SOCK), safe='')}:{PG_PORT}/{DB}",
           "TIPG_DB_SCHEMAS": '["public"]', "TIPG_DB_TABLES": '["public.layers_feature"]', "TIPG_MAX_FEATURES_PER_QUERY": "10000"}
    proc = subprocess.Popen([str(python), "-m", "uvicorn", "tipg.main:app", "--port", str(port), "--log-level", "warning"],
                            env=env, cwd=VAR, stdout=subprocess.DEVNULL, stderr=open(VAR / "tipg.log", "w"),
                            start_new_session=True)
    try:
        _wait(f"http://127.0.0.1:{port}/collections", proc, 90)
    except RuntimeError as error:
        say(f"tipg did not start ({error}); see var/bench/tipg.log")
        _stop(proc)
        return None
    return proc


def _forget_cursors() -> None:
    """Deletes the page cursors (opendata.seek) the app remembered in Redis for the benchmark database."""
    from layers import shared_store
    from opendata import seek

    client = shared_store.client()
    for name in client.scan_iter(match=seek.redis_key("*"), count=1000):
        client.delete(name)


def _pages(url_for_offset, *, descending: bool = False) -> tuple[float, int]:
    """(seconds, features) for PAGES pages by offset (descending: deepest first, so no remembered cursor helps)."""
    _forget_cursors()  # start cold: no cursor remembered from an earlier crawl
    started = time.perf_counter()
    total = 0
    for page in (reversed(range(PAGES)) if descending else range(PAGES)):
        seconds, size, features = _fetch(url_for_offset(page * LIMIT))
        total += features
    return time.perf_counter() - started, total


def main() -> None:
    VAR.mkdir(parents=True, exist_ok=True)
    conditions("bench/download", features=PARCELS, big=BIG, pages=PAGES, limit=LIMIT, rounds=ROUNDS, database=DB)
    _migrate()
    _django()
    slug, layer_id, count = _parcels_layer()
    port = _free_port()
    server = _gunicorn(port)
    base = f"http://127.0.0.1:{port}"
    try:
        # DOWNLOAD_BENCH_STAGES=items,… runs only some stages (all by default)
        stages = os.environ.get("DOWNLOAD_BENCH_STAGES", "downloads,items,concurrent,big,gpkg,fgb,parquet").split(",")
        if "downloads" in stages:
            _downloads(base, slug, layer_id, count)
        if "items" in stages:
            _items(base, slug, layer_id)
        if "concurrent" in stages:
            _concurrent(base, slug, count)
        if "big" in stages:
            _big(base, server.pid)  # before the GPKG export, which is the one thing that grows a worker
        for ext in ("gpkg", "fgb", "parquet"):  # GDAL (GeoPackage, FlatGeobuf) and pyarrow (GeoParquet)
            if ext in stages:
                _file_export(base, slug, server.pid, ext)
    finally:
        _stop(server)
    finish("bench/download")


def _downloads(base: str, slug: str, layer_id: int, count: int) -> None:
    print(f"[1] full GeoJSON download, layer {slug}", flush=True)
    _fetch(f"{base}/data/{slug}.geojson")  # warm the cache of pages in PostgreSQL
    rows = f"SELECT id, geom, properties FROM layers_feature WHERE layer_id = {int(layer_id)}"
    apps, copies = [], []
    for _ in range(ROUNDS):  # interleaved, best of each: the machine is shared, and noise only slows
        apps.append(_fetch(f"{base}/data/{slug}.geojson"))
        copies.append(_psql(f"COPY (SELECT ST_AsGeoJSON(t.*) FROM ({rows}) t) TO STDOUT"))
    app, size, features = min(apps)
    copy = min(copies)
    if features != count:  # a download that loses features is broken, whatever its speed
        raise RuntimeError(f"the GeoJSON download of {slug} gave {features:,} features, expected {count:,}")
    say(f"app (gunicorn, streamed):     {app:6.2f} s  {features:,} features, {size / 1e6:.0f} MB, "
        f"{features / app:,.0f} features/s  (rounds: {', '.join(f'{a[0]:.2f}' for a in apps)})")
    say(f"psql COPY ST_AsGeoJSON(t.*):   {copy:6.2f} s  (rounds: {', '.join(f'{c:.2f}' for c in copies)})")
    ogr = None
    if shutil.which("ogr2ogr"):
        out = VAR / "ogr2ogr-out.geojson"
        started = time.perf_counter()
        subprocess.run(["ogr2ogr", "-f", "GeoJSON", str(out),
                        f"PG:dbname={DB} host={PG_SOCK} port={PG_PORT} user=postgres", "-sql", rows],
                       check=True, capture_output=True)
        ogr = time.perf_counter() - started
        out.unlink(missing_ok=True)
        say(f"ogr2ogr -f GeoJSON:            {ogr:6.2f} s")
    verdict("GeoJSON download: app ÷ psql COPY (time)", app / copy, "<=", APP_OVER_COPY)
    verdict("GeoJSON download: ogr2ogr ÷ app (time)", ogr / app if ogr else None, ">=", OGR_OVER_APP)


def _follow(url: str) -> tuple[float, int]:
    """(seconds, features) reading PAGES pages by their `next` links, as GDAL and QGIS do."""
    started, total = time.perf_counter(), 0
    for _ in range(PAGES):
        body = urllib.request.urlopen(url, timeout=600).read()
        total += body.count(b'"type":"Feature",')
        match = NEXT_LINK.search(body)
        if not match:
            break
        url = match.group(1).decode().replace("&amp;", "&")
    return time.perf_counter() - started, total


def _best(runs: list[tuple[float, int]]) -> float:
    """Features per second of the best of several rounds (the machine is shared: noise only slows)."""
    return max(n / s for s, n in runs)


def _items(base: str, slug: str, layer_id: int) -> None:
    print(f"[2] OGC API items, limit={LIMIT}, bbox={ITEMS_BBOX}, {PAGES} pages, best of {ROUNDS} rounds", flush=True)
    ours_url = lambda offset: f"{base}/ogc/collections/{slug}/items?limit={LIMIT}&bbox={ITEMS_BBOX}&offset={offset}"
    port = _free_port()
    tipg = _tipg(port)
    tipg_url = lambda offset: (f"http://127.0.0.1:{port}/collections/public.layers_feature/items?f=geojson&"
                               f"limit={LIMIT}&bbox={ITEMS_BBOX}&layer_id={layer_id}&offset={offset}")
    try:
        _fetch(ours_url(0))
        if tipg:
            _fetch(tipg_url(0))
        runs: dict[str, list] = {k: [] for k in ("app-links", "app-offset", "app-desc", "tipg-links", "tipg-offset",
                                                  "tipg-desc")}
        for _ in range(ROUNDS):  # interleaved, so both servers see the same load on the shared machine
            runs["app-links"].append(_follow(ours_url(0)))
            runs["app-offset"].append(_pages(ours_url))
            runs["app-desc"].append(_pages(ours_url, descending=True))
            if tipg:
                runs["tipg-links"].append(_follow(tipg_url(0)))
                runs["tipg-offset"].append(_pages(tipg_url))
                runs["tipg-desc"].append(_pages(tipg_url, descending=True))
    finally:
        if tipg:
            _stop(tipg)
    if not runs["app-links"][0][1]:
        raise RuntimeError(f"the OGC API items of {slug} in {ITEMS_BBOX} came back empty")
    rates = {name: _best(r) for name, r in runs.items() if r}
    say(f"app  following next links (keyset cursor): {rates['app-links']:8,.0f} features/s")
    say(f"app  offset=0,{LIMIT},… (cold start):{' ' * (10 - len(str(LIMIT)))}{rates['app-offset']:8,.0f} features/s")
    say(f"app  offsets deepest first (no cursor):     {rates['app-desc']:8,.0f} features/s")
    pairs = (("following next links", "app-links", "tipg-links"), ("same offset URLs", "app-offset", "tipg-offset"),
             ("offsets, deepest first", "app-desc", "tipg-desc"))
    if not tipg:
        say("tipg unavailable: no ratio")
        for label, _, _ in pairs:
            verdict(f"OGC API items, {label}: app ÷ tipg (features/s)", None, ">=", APP_OVER_TIPG)
        return
    say(f"tipg following next links (offset):         {rates['tipg-links']:8,.0f} features/s")
    say(f"tipg offset=0,{LIMIT},…:{' ' * (23 - len(str(LIMIT)))}{rates['tipg-offset']:8,.0f} features/s")
    say(f"tipg offsets deepest first:                 {rates['tipg-desc']:8,.0f} features/s")
    for label, ours, theirs in pairs:
        verdict(f"OGC API items, {label}: app ÷ tipg (features/s)", rates[ours] / rates[theirs], ">=", APP_OVER_TIPG)


def _concurrent(base: str, slug: str, count: int) -> None:
    print("[3] two full GeoJSON downloads at once", flush=True)
    results: list = [None, None]

    def run(i: int) -> None:
        try:
            results[i] = _fetch(f"{base}/data/{slug}.geojson")
        except Exception as error:  # reported, not raised: the figure is whether both finish
            results[i] = error

    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - started
    for i, result in enumerate(results):
        if isinstance(result, tuple):
            say(f"download {i + 1}: {result[0]:.2f} s, {result[2]:,} features, {result[1] / 1e6:.0f} MB")
        else:
            say(f"download {i + 1}: FAILED {result!r}")
    both = all(isinstance(r, tuple) and r[2] == count for r in results)
    say(f"both finished with every feature: {'yes' if both else 'NO'}; wall {wall:.2f} s")
    if not both:
        raise RuntimeError(f"two downloads at once: {results!r}"[:500])


FILE_NAMES = {"gpkg": "GeoPackage", "fgb": "FlatGeobuf", "parquet": "GeoParquet"}


def _file_export(base: str, slug: str, server_pid: int, ext: str) -> None:
    name = FILE_NAMES[ext]
    print(f"[4] {name} (cached per layer version)", flush=True)
    from django.conf import settings

    cache = Path(getattr(settings, "OPENDATA_CACHE_DIR", settings.VAR_DIR / "opendata-cache")) / slug
    for old in cache.glob(f"*.{ext}"):  # only this format's files: the others stay cached
        old.unlink(missing_ok=True)
    first, size, _ = _fetch(f"{base}/data/{slug}.{ext}")
    second, size2, _ = _fetch(f"{base}/data/{slug}.{ext}")
    if not size or size2 != size:
        raise RuntimeError(f"the {name} export gave {size:,} bytes, then {size2:,} from the cache")
    say(f"first (written): {first:.2f} s; second (cached file): {second:.3f} s; "
        f"{size / 1e6:.2f} MB; ratio {first / second:.0f}×")
    say(f"largest worker RSS after the export: {_children_rss(server_pid) / 1e6:.0f} MB")


def _big(base: str, server_pid: int) -> None:
    print(f"[5] peak worker RSS during a {BIG:,}-feature download", flush=True)
    _sql_layer(BIG_SLUG, BIG, "1M (thử tải)")
    peak = [0]
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], _children_rss(server_pid))
            time.sleep(0.05)

    before = _children_rss(server_pid)
    sampler = threading.Thread(target=sample)
    sampler.start()
    try:
        seconds, size, features = _fetch(f"{base}/data/{BIG_SLUG}.geojson")
    finally:
        done.set()
        sampler.join()
    say(f"{features:,} features, {size / 1e6:.0f} MB in {seconds:.1f} s ({features / seconds:,.0f} features/s)")
    say(f"largest worker RSS: before {before / 1e6:.0f} MB, peak {peak[0] / 1e6:.0f} MB")
    verdict(f"{features:,}-feature download: largest worker's peak RSS", peak[0] / 1e6, "<", WORKER_PEAK_MB, unit=" MB")
    _drop_layer(BIG_SLUG)
    if features != BIG:
        raise RuntimeError(f"the {BIG:,}-feature download gave {features:,} features")  # leave the shared bench database as it was for the other benchmarks


def _drop_layer(slug: str) -> None:
    """Removes a synthetic bench layer, its rows and any history rows, with the history triggers off."""
    _psql("BEGIN; SET LOCAL session_replication_role = replica; "
          f"DELETE FROM layers_featureversion WHERE layer_id IN (SELECT id FROM layers_layer WHERE slug = '{slug}'); "
          f"DELETE FROM layers_feature WHERE layer_id IN (SELECT id FROM layers_layer WHERE slug = '{slug}'); COMMIT;")
    from layers.models import Layer

    Layer.objects.filter(slug=slug).delete()  # the catalog row, with Django's cascades to other apps' rows
    _psql("VACUUM ANALYZE layers_feature")


if __name__ == "__main__":
    main()
