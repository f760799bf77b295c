"""bench/lookup: planning lookup and click-to-see with 100,000 and 1,000,000 parcels (index-backed: the
median at 1M should be at most 1.5× the median at 100k; the lookup's p95 under 50 ms), and the bytes of
the map's first view before tiles (target under 1 MB). BENCH_SMOKE=1: 2,000 and 5,000 parcels."""
import json

from bench.demo_db import ensure_demo_db, parcel_count, run_worker
from bench.report import conditions, finish, smoke_or, verdict

SIZES = smoke_or((100_000, 1_000_000), (2_000, 5_000))
GROWTH, LOOKUP_P95_MS, FIRST_VIEW_KIB = 1.5, 50.0, 1024


def main() -> None:
    conditions("bench/lookup", small=SIZES[0], big=SIZES[1])
    results, counts = {}, {}
    for size in SIZES:
        env = ensure_demo_db(size)
        results[size] = json.loads(run_worker("bench.lookup_worker", env))
        counts[size] = parcel_count(env["GISPORTAL_DB_NAME"])
        r = results[size]
        print(f"  {counts[size]:>9,} parcels  lookup median {r['lookup']['median_ms']:6.1f} ms  "
              f"p95 {r['lookup']['p95_ms']:6.1f} ms   click median {r['click']['median_ms']:6.1f} ms  "
              f"p95 {r['click']['p95_ms']:6.1f} ms   parcel page (HTML) median {r['page']['median_ms']:6.1f} ms   "
              f"(n={r['lookup']['n']})", flush=True)
    small, big = results[SIZES[0]], results[SIZES[1]]
    sizes = f"{counts[SIZES[1]]:,} ÷ {counts[SIZES[0]]:,} parcels"
    for kind in ("lookup", "click", "page"):
        verdict(f"{kind}: median at {sizes}", big[kind]["median_ms"] / small[kind]["median_ms"], "<=", GROWTH)
    verdict(f"lookup p95 at {counts[SIZES[1]]:,} parcels", big["lookup"]["p95_ms"], "<", LOOKUP_P95_MS, unit=" ms")
    verdict("map's first view before tiles", big["first_view_bytes"] / 1024, "<", FIRST_VIEW_KIB, unit=" KiB")
    finish("bench/lookup")
