"""`make bench`: runs the benchmarks in bench/ (or those named: python -m bench tiles ingest).

Each benchmark bench/<name>.py has main() -> None that prints its figures and ratios against a
reference measured in the same run, on benchmark databases of its own (never the portal's).
"""
import importlib
import os
import sys
import time


# In the order they run; the other modules in bench/ are their helpers and workers.
BENCHMARKS = ["ingest", "tiles", "raster", "download", "lookup", "history"]
# Run only when named (`make soak` is `python -m bench soak`): ten minutes is not part of `make bench`.
ON_REQUEST = ["soak"]


def _modules() -> list[str]:
    return BENCHMARKS + ON_REQUEST


# With BENCH_SMOKE=1 (CI), the benchmarks that have a smoke mode run in seconds on tiny data, so a broken one is
# seen; the others have none yet (issue 13 gives them one) and are skipped with a word.
SMOKE_CAPABLE = ["soak", "raster"]


def main(argv: list[str]) -> int:
    names = argv or BENCHMARKS
    if os.environ.get("BENCH_SMOKE") == "1":
        skipped = [n for n in names if n not in SMOKE_CAPABLE]
        names = [n for n in names if n in SMOKE_CAPABLE] or ([] if argv else SMOKE_CAPABLE)
        if skipped:
            print(f"smoke: no smoke mode yet for {', '.join(skipped)}; running {', '.join(names) or 'nothing'}")
    unknown = set(names) - set(_modules())
    if unknown:
        print(f"unknown benchmark(s): {', '.join(sorted(unknown))}; known: {', '.join(_modules())}")
        return 2
    for name in names:
        print(f"\n=== bench/{name} ===", flush=True)
        started = time.perf_counter()
        importlib.import_module(f"bench.{name}").main()
        print(f"--- bench/{name} took {time.perf_counter() - started:.1f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
