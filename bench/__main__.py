"""`make bench`: runs every benchmark module in bench/ (or those named: python -m bench tiles ingest).

Each module bench/<name>.py has main() -> None that prints its figures and ratios against a
reference measured in the same run. Benchmarks use their own database (GISPORTAL_BENCH_DB).
"""
import importlib
import pkgutil
import sys
import time
from pathlib import Path


def _modules() -> list[str]:
    here = Path(__file__).parent
    return sorted(m.name for m in pkgutil.iter_modules([str(here)]) if not m.name.startswith("_") and m.name != "common")


def main(argv: list[str]) -> int:
    names = argv or _modules()
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
