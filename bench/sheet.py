"""bench/sheet: the planning information sheet's production time (facts from the history + map + PDF), for N
different demo parcels (half of them across two or more planning zones); target p95 < 3 s on this machine.
BENCH_SMOKE=1: the 2,000-parcel database and 4 sheets."""
import json

from bench.demo_db import bench_env, ensure_demo_db, is_current, manage, parcel_count, run_worker
from bench.report import conditions, finish, smoke_or, verdict

SIZE = smoke_or(100_000, 2_000)
SHEETS = smoke_or(40, 4)
P95_S = 3.0


def _env(size: int) -> dict[str, str]:
    """The demo database of that size when it exists, with the layers' schema brought up to date (only theirs: this
    benchmark writes no sheet, so it leaves the portal's tables to whoever migrates the whole database), else built."""
    import os

    name = f"{os.environ.get('GISPORTAL_BENCH_DB', 'gisportal_bench')}_{size // 1000}k"
    try:
        if is_current(name, size):
            manage(bench_env(name), "migrate", "layers", "--noinput", "-v0")
            return bench_env(name)
    except RuntimeError:  # no such database yet
        pass
    return ensure_demo_db(size)


def main() -> None:
    conditions("bench/sheet", parcels=SIZE, sheets=SHEETS)
    env = _env(SIZE)
    r = json.loads(run_worker("bench.sheet_worker", env, str(SHEETS)))
    for part in ("facts", "pdf", "total", "cpu"):
        print(f"  {part:>5}: median {r[part]['median_s']:.2f} s  p95 {r[part]['p95_s']:.2f} s  max {r[part]['max_s']:.2f} s"
              f"  (n={r[part]['n']})", flush=True)
    print("  (facts: database time from the history; pdf: map, QR code and WeasyPrint; cpu: this process's CPU per sheet,"
          " which other processes' load does not inflate)", flush=True)
    print(f"  {r['multi_zone']} of the parcels meet two or more zones; PDF size median {r['pdf_kib']:.0f} KiB", flush=True)
    verdict(f"sheet p95 ({r['total']['n']} parcels of {parcel_count(env['GISPORTAL_DB_NAME']):,})", r["total"]["p95_s"],
            "<", P95_S, unit=" s")
    finish("bench/sheet")
