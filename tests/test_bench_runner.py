"""`python -m bench`: one broken benchmark does not stop the others, and the run fails naming it; smoke sizes stay
tiny. (No timing here: speed belongs in bench/ itself.)"""
import json
import subprocess
import sys
import types
from pathlib import Path

from bench.__main__ import BENCHMARKS, main

ROOT = Path(__file__).resolve().parent.parent


def _benchmark(monkeypatch, name: str, body) -> list[str]:
    """A stand-in benchmark module bench.<name> whose main() runs body; returns the list it records calls in."""
    calls: list[str] = []

    def run() -> None:
        calls.append(name)
        body()

    module = types.ModuleType(f"bench.{name}")
    module.main = run
    monkeypatch.setitem(sys.modules, f"bench.{name}", module)
    return calls


def _raise() -> None:
    raise RuntimeError("ogr2ogr failed:\nERROR 1: no such table")


def test_a_failing_benchmark_does_not_stop_the_others_and_the_run_fails_naming_it(monkeypatch, capsys):
    broken = _benchmark(monkeypatch, "zz_broken", _raise)
    exits = _benchmark(monkeypatch, "zz_exits", lambda: sys.exit(3))
    fine = _benchmark(monkeypatch, "zz_fine", lambda: print("figures"))
    assert main(["zz_broken", "zz_no_such_module", "zz_exits", "zz_fine"]) == 1
    assert broken == ["zz_broken"] and exits == ["zz_exits"] and fine == ["zz_fine"]  # every one ran
    out = capsys.readouterr().out
    assert "RuntimeError" in out and "no such table" in out  # the trace and the reason are shown
    assert "no bench/zz_no_such_module.py" in out
    assert "FAILED: zz_broken, zz_no_such_module, zz_exits" in out
    assert "bench/zz_fine" in out and "figures" in out
    assert "conditions:" in out and "at end" in out  # conditions once at start, load average at the end


def test_a_run_where_everything_works_exits_zero(monkeypatch, capsys):
    _benchmark(monkeypatch, "zz_one", lambda: None)
    _benchmark(monkeypatch, "zz_two", lambda: sys.exit(0))
    assert main(["zz_one", "zz_two"]) == 0
    out = capsys.readouterr().out
    assert "FAILED" not in out and out.count(" ok") == 2


def test_every_listed_benchmark_has_a_main():
    import importlib

    for name in BENCHMARKS:
        assert callable(importlib.import_module(f"bench.{name}").main), name


def test_smoke_sizes_are_tiny():
    """Under BENCH_SMOKE=1 every benchmark of this part works on thousands of rows, not hundreds of thousands."""
    code = ("import json, bench.ingest as i, bench.download as d, bench.lookup as l, bench.history as h; "
            "print(json.dumps([i.N, i.N_BIG, i.N_VORONOI, d.PARCELS, d.BIG, d.PAGES * d.LIMIT, *l.SIZES, "
            "h.CITY_PARCELS, h.INGEST_FEATURES, d.PARCELS_SLUG != 'od-bench-parcels']))")
    env = {"PATH": "/usr/bin:/bin", "BENCH_SMOKE": "1", "PYTHONPATH": str(ROOT)}
    smoke = json.loads(subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True,
                                      check=True).stdout)
    *sizes, own_slug = smoke
    assert max(sizes) <= 10_000 and own_slug
    full = json.loads(subprocess.run([sys.executable, "-c", code], cwd=ROOT, env={**env, "BENCH_SMOKE": "0"},
                                     capture_output=True, text=True, check=True).stdout)
    assert full[0] == 300_000 and full[1] == 1_000_000 and full[2] == 300_000


def test_a_missing_module_is_named_not_a_crash(capsys):
    """A benchmark listed before its module lands (raster, while it is written) fails clearly, alone."""
    assert main(["zz_missing"]) == 1
    assert "FAILED: zz_missing" in capsys.readouterr().out
