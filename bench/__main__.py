"""`make bench`: runs the benchmarks in bench/ (or those named: python -m bench tiles ingest).

Each benchmark bench/<name>.py has main() -> None that prints its figures and ratios against a
reference measured in the same run, on benchmark databases of its own (never the portal's).
"""
import importlib
import sys
import time


# In the order they run; the other modules in bench/ are their helpers and workers.
BENCHMARKS = ["ingest", "tiles", "download", "lookup", "history"]
# Run only when named (`make soak` is `python -m bench soak`): ten minutes is not part of `make bench`.
ON_REQUEST = ["soak"]


def _modules() -> list[str]:
    return BENCHMARKS + ON_REQUEST


def main(argv: list[str]) -> int:
    names = argv or BENCHMARKS
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
