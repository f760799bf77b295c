"""One way for every benchmark to say its conditions and its ratios against their targets.

    conditions("bench/ingest", rows=300_000)      # cores, load average, versions, smoke or not
    verdict("into an empty layer ÷ ogr2ogr", 0.93, "<=", 1.0)   # prints the line with met / missed
    finish("bench/ingest")                        # load average at the end; every verdict, in one table
"""
import os
import platform
import subprocess
import sys

SMOKE = os.environ.get("BENCH_SMOKE") == "1"
_verdicts: list[tuple[str, str, str, str]] = []


def smoke_or(full, smoke):
    """The full-size figure, or the tiny one under BENCH_SMOKE=1 (CI: the benchmark runs, its figures mean nothing)."""
    return smoke if SMOKE else full


def _version(command: list[str]) -> str:
    try:
        return subprocess.run(command, capture_output=True, text=True, timeout=20).stdout.strip().splitlines()[0]
    except (OSError, IndexError, subprocess.SubprocessError):
        return "unavailable"


def versions() -> dict[str, str]:
    """The software a figure depends on."""
    found = {"python": platform.python_version(), "kernel": platform.release(),
             "postgres": _version(["postgres", "--version"]) if _which("postgres") else _pg_version(),
             "gdal (system)": _version(["gdalinfo", "--version"])}
    for module in ("pyogrio", "shapely", "rasterio", "rio_tiler", "django"):
        try:
            found[module] = __import__(module).__version__
        except Exception:  # noqa: BLE001 - a library this benchmark does not use
            continue
    return found


def _which(name: str) -> bool:
    from shutil import which

    return which(name) is not None


def _pg_version() -> str:
    bindir = _version(["pg_config", "--bindir"])
    return _version([f"{bindir}/postgres", "--version"]) if bindir != "unavailable" else "unavailable"


def conditions(name: str, **sizes) -> None:
    """Prints what the figures below were measured on: cores, load, versions, sizes, smoke."""
    load = os.getloadavg()
    print(f"[{name}] conditions: {os.cpu_count()} cores, load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} "
          f"at start{'; SMOKE: tiny sizes, figures are not measurements' if SMOKE else ''}", flush=True)
    print("  versions: " + ", ".join(f"{k} {v}" for k, v in versions().items()), flush=True)
    if sizes:
        print("  sizes: " + ", ".join(f"{k} {v:,}" if isinstance(v, int) else f"{k} {v}" for k, v in sizes.items()),
              flush=True)


_CHECKS = {"<=": lambda v, t: v <= t, ">=": lambda v, t: v >= t, "<": lambda v, t: v < t, ">": lambda v, t: v > t}


def verdict(label: str, value: float | None, op: str, target: float, unit: str = "×", detail: str = "") -> bool:
    """Prints one figure with its target and met/missed (or 'not measured' when value is None); keeps it for finish()."""
    if value is None:
        word, shown = "not measured", "—"
    else:
        word, shown = ("met" if _CHECKS[op](value, target) else "MISSED"), f"{value:.2f}{unit}"
    target_text = f"{op} {target:g}{unit}"
    line = f"  {label}: {shown}  (target {target_text})  {word}" + (f"  [{detail}]" if detail else "")
    print(line, flush=True)
    _verdicts.append((label, shown, target_text, word))
    return word == "met"


def finish(name: str) -> None:
    """The benchmark's verdicts in one table, with the load average at the end."""
    mine = list(_verdicts)
    _verdicts.clear()
    load = os.getloadavg()
    print(f"\n[{name}] summary (load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} at end"
          f"{', SMOKE' if SMOKE else ''}):", flush=True)
    if not mine:
        print("  (no ratio measured)")
    width = max((len(v[0]) for v in mine), default=0)
    for label, shown, target, word in mine:
        print(f"  {label:<{width}}  {shown:>9}  target {target:<9}  {word}", flush=True)
    sys.stdout.flush()
