"""bench/lookup: planning lookup and click-to-see with 100,000 and 1,000,000 parcels (index-backed: the
median at 1M should be at most 1.5× the median at 100k; the lookup's p95 under 50 ms), and the bytes of
the map's first view before tiles (target under 1 MB)."""
import json

from bench.demo_db import ensure_demo_db, parcel_count, run_worker

SIZES = (100_000, 1_000_000)


def main() -> None:
    results = {}
    for size in SIZES:
        env = ensure_demo_db(size)
        results[size] = json.loads(run_worker("bench.lookup_worker", env))
        parcels = parcel_count(env["GISPORTAL_DB_NAME"])
        r = results[size]
        print(f"{parcels:>9,} parcels  lookup median {r['lookup']['median_ms']:6.1f} ms  p95 {r['lookup']['p95_ms']:6.1f} ms"
              f"   click median {r['click']['median_ms']:6.1f} ms  p95 {r['click']['p95_ms']:6.1f} ms"
              f"   parcel page (HTML) median {r['page']['median_ms']:6.1f} ms   (n={r['lookup']['n']})",
              flush=True)
    small, big = results[SIZES[0]], results[SIZES[1]]
    for kind in ("lookup", "click", "page"):
        ratio = big[kind]["median_ms"] / small[kind]["median_ms"]
        print(f"{kind}: median 1M / 100k = {ratio:.2f}×  (target ≤ 1.5×)")
    print(f"lookup p95 at 1M: {big['lookup']['p95_ms']:.1f} ms (target < 50 ms)")
    print(f"map first view before tiles: {big['first_view_bytes'] / 1024:.0f} KiB (target < 1024 KiB)")
