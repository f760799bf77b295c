"""`make bench`: runs the benchmarks in bench/ (or those named: python -m bench tiles ingest).

Each benchmark bench/<name>.py has main() -> None that prints its conditions, its figures and its ratios
against a reference measured in the same run (through bench/report.py), on benchmark databases of its own
(never the portal's). With BENCH_SMOKE=1 (CI, after `make test`) every one runs at a tiny size in seconds,
through the same code paths, so a benchmark that breaks is seen at once.

A benchmark that fails (an exception, a failed step, a missing module) does not stop the others: they all
run, and the exit status is non-zero at the end, naming what failed.
"""
import importlib
import os
import sys
import time
import traceback

from bench import report

# In the order they run; the other modules in bench/ are their helpers and workers.
BENCHMARKS = ["ingest", "tiles", "raster", "download", "lookup", "sheet", "history", "cluster"]
# Run only when named (`make soak` is `python -m bench soak`): ten minutes is not part of `make bench`.
ON_REQUEST = ["soak"]


def _load(name: str):
    """The benchmark's module, or None (with a word) when bench/<name>.py is not there."""
    try:
        return importlib.import_module(f"bench.{name}")
    except ModuleNotFoundError as error:
        if error.name != f"bench.{name}":
            raise  # the module is there but something it imports is missing: a real failure, with its trace
        print(f"no bench/{name}.py: not a benchmark here (known: {', '.join(BENCHMARKS + ON_REQUEST)})", flush=True)
        return None


def run_one(name: str) -> str | None:
    """Runs one benchmark; returns None when it finished, else why it failed (its trace is printed)."""
    try:
        module = _load(name)
        if module is None:
            return "no such benchmark module"
        if not callable(getattr(module, "main", None)):
            return f"bench/{name}.py has no main()"
        module.main()
    except SystemExit as error:  # a benchmark that exits on purpose: only a non-zero code is a failure
        if error.code not in (None, 0):
            return f"exited with {error.code}"
    except Exception as error:  # noqa: BLE001 - any failure of one benchmark is reported, then the others run
        traceback.print_exc()
        sys.stdout.flush()
        report.finish(f"bench/{name} (failed; figures measured before the failure)")
        return f"{type(error).__name__}: {str(error).strip().splitlines()[-1] if str(error).strip() else ''}"[:300]
    return None


def main(argv: list[str]) -> int:
    names = argv or BENCHMARKS
    report.conditions("make bench", benchmarks=", ".join(names))
    outcomes: list[tuple[str, float, str | None]] = []
    for name in names:
        print(f"\n=== bench/{name} ===", flush=True)
        started = time.perf_counter()
        failure = run_one(name)
        took = time.perf_counter() - started
        print(f"--- bench/{name} {'FAILED' if failure else 'done'} in {took:.1f} s", flush=True)
        outcomes.append((name, took, failure))
    load = os.getloadavg()
    print(f"\n=== make bench{' (SMOKE)' if report.SMOKE else ''}: load average {load[0]:.2f} {load[1]:.2f} "
          f"{load[2]:.2f} at end ===", flush=True)
    for name, took, failure in outcomes:
        print(f"  bench/{name:<10} {took:7.1f} s  {'FAILED: ' + failure if failure else 'ok'}", flush=True)
    failed = [name for name, _, failure in outcomes if failure]
    if failed:
        print(f"FAILED: {', '.join(failed)}", flush=True)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
