"""bench/history: what recording history costs — a 300,000-feature ingest with history on vs off
(target ≤ 1.5×), a layer as_of a past time vs the current layer for the same boxes (target ≤ 2×),
and saving one edited parcel with tile invalidation (target < 200 ms). BENCH_SMOKE=1: a 2,000-parcel city,
1,000 parcels ingested."""
import json

from bench.demo_db import ensure_demo_db, run_worker
from bench.report import conditions, finish, smoke_or, verdict

CITY_PARCELS = smoke_or(100_000, 2_000)
INGEST_FEATURES = smoke_or(300_000, 1_000)
INGEST_RATIO, AS_OF_RATIO, EDIT_MS = 1.5, 2.0, 200.0


def main() -> None:
    conditions("bench/history", city_parcels=CITY_PARCELS, ingest_features=INGEST_FEATURES)
    env = ensure_demo_db(CITY_PARCELS)
    r = json.loads(run_worker("bench.history_worker", env, "ingest", str(INGEST_FEATURES)))
    print(f"  ingest {r['features']:,} parcels (GeoPackage, EPSG:9210) into an empty layer, best of 2 alternating: "
          f"history off {r['off']:.1f} s, on {r['on']:.1f} s", flush=True)
    verdict("ingest with history ÷ without", r["on"] / r["off"], "<=", INGEST_RATIO)
    a = json.loads(run_worker("bench.history_worker", env, "as_of"))
    print(f"  z15-sized box: current {a['current_ms']:.1f} ms, as_of {a['as_of_ms']:.1f} ms (medians of {a['boxes']}); "
          f"z16 tile rendered: current {a['tile_current_ms']:.1f} ms, as_of {a['tile_as_of_ms']:.1f} ms", flush=True)
    verdict("z15 box as_of ÷ current", a["as_of_ms"] / a["current_ms"], "<=", AS_OF_RATIO)
    verdict("z16 vector tile as_of ÷ current", a["tile_as_of_ms"] / a["tile_current_ms"], "<=", AS_OF_RATIO)
    e = json.loads(run_worker("bench.history_worker", env, "edit"))
    print(f"  save one edited parcel (validation, history, tile invalidation): median {e['median_ms']:.1f} ms, "
          f"p95 {e['p95_ms']:.1f} ms (n={e['n']})", flush=True)
    verdict("save one edited parcel, median", e["median_ms"], "<", EDIT_MS, unit=" ms")
    finish("bench/history")
