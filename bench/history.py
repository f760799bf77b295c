"""bench/history: what recording history costs — a 300,000-feature ingest with history on vs off
(target ≤ 1.5×), a layer as_of a past time vs the current layer for the same boxes (target ≤ 2×),
and saving one edited parcel with tile invalidation (target < 200 ms)."""
import json

from bench.demo_db import ensure_demo_db, run_worker

INGEST_FEATURES = 300_000


def main() -> None:
    env = ensure_demo_db(100_000)
    r = json.loads(run_worker("bench.history_worker", env, "ingest", str(INGEST_FEATURES)))
    print(f"ingest {INGEST_FEATURES:,} parcels (GeoPackage, EPSG:9210) into an empty layer, best of 2 alternating: "
          f"history off {r['off']:.1f} s, on {r['on']:.1f} s → {r['on'] / r['off']:.2f}× (target ≤ 1.5×)")
    a = json.loads(run_worker("bench.history_worker", env, "as_of"))
    print(f"z15-sized box, 100k-parcel layer: current {a['current_ms']:.1f} ms, as_of {a['as_of_ms']:.1f} ms "
          f"→ {a['as_of_ms'] / a['current_ms']:.2f}× (target ≤ 2×; medians of {a['boxes']})")
    print(f"z16 vector tile at the same places, rendered: current {a['tile_current_ms']:.1f} ms, "
          f"as_of {a['tile_as_of_ms']:.1f} ms → {a['tile_as_of_ms'] / a['tile_current_ms']:.2f}× (target ≤ 2×)")
    e = json.loads(run_worker("bench.history_worker", env, "edit"))
    print(f"save one edited parcel (validation, history, tile invalidation): median {e['median_ms']:.1f} ms, "
          f"p95 {e['p95_ms']:.1f} ms (target < 200 ms; n={e['n']})")
