"""bench/raster: the COG conversion of a 20,000 × 20,000 GeoTIFF, and raster tiles against a bare rio-tiler loop.

1. Conversion: a float32 VN-2000 (EPSG:9210) GeoTIFF through ingest/cog.py (the code ingest_raster runs, less the
   catalog row) in a child process, wall time and peak RSS (os.wait4), against `gdalwarp` + `gdal_translate -of
   COG` of the same file (system GDAL, same pinned shift, same cache and warp memory, same threads).
2. Tiles: PNG and WebP tiles of that COG through the function the view calls (tiles.raster_service.raster_tile,
   in this process: file check, rio-tiler read, colour, encode, ETag), against a bare rio-tiler loop over the same
   tile list in the same process (one Reader kept open; read, rescale, colour map, render with rio-tiler's default
   encoder settings: the same pixels). Alternating rounds, best of each; on a quiet machine, then loaded by one
   busy process per core that this benchmark starts and stops.

    .venv/bin/python -m bench raster          # full size (a few minutes)
    BENCH_SMOKE=1 .venv/bin/python -m bench raster   # 2,000 × 2,000, a few dozen tiles, seconds
"""
import multiprocessing
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.report import conditions, finish, smoke_or, verdict

ROOT = Path(__file__).resolve().parent.parent
SIZE = smoke_or(20_000, 2_000)
TILES_PER_ZOOM = smoke_or(60, 8)
ROUNDS = smoke_or(3, 1)
PIXEL_M = 1.0
ORIGIN = (600_000.0, 1_205_000.0)  # north-west corner over Thu Duc, VN-2000 / TM-3 105-45 metres


def main() -> None:
    """Entry point of `python -m bench raster`: the benchmark in a child process with Django's settings."""
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "gisportal.settings", "PYTHONUNBUFFERED": "1"}
    subprocess.run([sys.executable, "-m", "bench.raster", "--run"], env=env, cwd=ROOT, check=True)


def say(text: str = "") -> None:
    print(text, flush=True)


# --- the source ----------------------------------------------------------------------------------

def make_source(path: Path, size: int) -> Path:
    """A smooth synthetic elevation (0–60 m with a nodata lake), written 512 rows at a time."""
    import numpy as np
    import rasterio
    from rasterio.transform import from_origin

    profile = {"driver": "GTiff", "width": size, "height": size, "count": 1, "dtype": "float32", "crs": "EPSG:9210",
               "transform": from_origin(*ORIGIN, PIXEL_M, PIXEL_M), "nodata": -9999.0, "tiled": True,
               "blockxsize": 512, "blockysize": 512, "bigtiff": "IF_SAFER"}
    x = np.linspace(0, 6 * np.pi, size, dtype="float32")
    with rasterio.open(path, "w", **profile) as out:
        for top in range(0, size, 512):
            rows = min(512, size - top)
            y = np.linspace(top, top + rows, rows, endpoint=False, dtype="float32")[:, None] * (6 * np.pi / size)
            block = 30 + 15 * np.sin(x)[None, :] + 15 * np.cos(y) + np.float32(0.5) * np.sin(37 * x)[None, :]
            lake = (np.arange(size)[None, :] - size * 0.6) ** 2 + (y * size / (6 * np.pi) - size * 0.4) ** 2
            block[lake < (size * 0.05) ** 2] = -9999.0
            out.write(block.astype("float32"), 1, window=((top, top + rows), (0, size)))
    return path


# --- 1. the conversion ---------------------------------------------------------------------------

def measured(command: list[str], env: dict | None = None) -> tuple[float, float]:
    """Wall seconds and peak RSS (MB) of a command, from os.wait4 in a small launcher process: Linux starts a
    child's peak RSS at its parent's, so forking straight from this (large) process would floor the figure."""
    launcher = [sys.executable, "-c", _LAUNCHER, *command]
    out = subprocess.run(launcher, env=env, cwd=ROOT, stdout=subprocess.PIPE, text=True, check=False)
    if out.returncode:
        raise SystemExit(f"bench/raster: {command[:3]} failed with exit code {out.returncode}")
    seconds, peak_kb = out.stdout.strip().splitlines()[-1].split()
    return float(seconds), float(peak_kb) / 1024


_LAUNCHER = """
import os, subprocess, sys, time
started = time.perf_counter()
child = subprocess.Popen(sys.argv[1:], stdout=sys.stderr)
_, status, usage = os.wait4(child.pid, 0)
code = os.waitstatus_to_exitcode(status)
print(f"{time.perf_counter() - started:.3f} {usage.ru_maxrss}")
sys.exit(code)
"""


def convert(source: str, out: str) -> None:
    """The child: ingest/cog.py on one file (what ingest_raster runs before the catalog row)."""
    import rasterio

    from ingest import cog
    from layers.vn2000 import proj_string

    with rasterio.open(source) as src, tempfile.TemporaryDirectory(dir=Path(out).parent) as scratch:
        grid = cog.plan(src, rasterio.crs.CRS.from_proj4(proj_string(9210)))
        with cog.bounded_cache(), rasterio.Env(CPL_TMPDIR=scratch, **cog.GDAL_ENV):
            cog.write_cog(src, grid, Path(out), Path(scratch))


def gdal_reference(source: Path, work: Path) -> tuple[float, float]:
    """gdalwarp to a tiled scratch file, then gdal_translate -of COG: summed time, larger peak."""
    from ingest import cog
    from layers.vn2000 import proj_string

    config = ["--config", "GDAL_CACHEMAX", str(cog.CACHE_MB), "--config", "GDAL_NUM_THREADS", "ALL_CPUS"]
    warped, out = work / "ref-warped.tif", work / "ref-cog.tif"
    warp = ["gdalwarp", "-q", "-overwrite", "-s_srs", proj_string(9210), "-t_srs", "EPSG:3857", "-r", "bilinear",
            "-wm", str(cog.WARP_MB), "-multi", "-wo", "NUM_THREADS=ALL_CPUS", "-co", "TILED=YES", "-co", "BLOCKXSIZE=512",
            "-co", "BLOCKYSIZE=512", "-co", "BIGTIFF=IF_SAFER", *config, str(source), str(warped)]
    translate = ["gdal_translate", "-q", "-of", "COG", "-co", "COMPRESS=DEFLATE", "-co", "PREDICTOR=YES",
                 "-co", "OVERVIEW_RESAMPLING=AVERAGE", "-co", "NUM_THREADS=ALL_CPUS", "-co", "BIGTIFF=IF_SAFER",
                 *config, str(warped), str(out)]
    t1, rss1 = measured(warp)
    t2, rss2 = measured(translate)
    warped.unlink()
    out.unlink()
    return t1 + t2, max(rss1, rss2)


def conversion(source: Path, work: Path) -> Path:
    """Ours and the reference on the same file; the COG is checked (a broken one fails the benchmark)."""
    from ingest.cog_check import cog_errors

    out = work / "ours-cog.tif"
    say(f"\n[conversion] {SIZE:,} × {SIZE:,} float32 GeoTIFF (EPSG:9210, {source.stat().st_size / 1e6:,.0f} MB) "
        "to a Web Mercator COG")
    ours_s, ours_mb = measured([sys.executable, "-m", "bench.raster", "--convert", str(source), str(out)])
    errors = cog_errors(out)
    if errors:
        raise SystemExit(f"bench/raster: the converted file is not a valid COG: {errors}")
    say(f"  ours (ingest/cog.py, rasterio's GDAL): {ours_s:.1f} s, peak RSS {ours_mb:,.0f} MB, "
        f"{out.stat().st_size / 1e6:,.0f} MB COG, valid")
    try:
        ref_s, ref_mb = gdal_reference(source, work)
        say(f"  gdalwarp + gdal_translate -of COG (system GDAL): {ref_s:.1f} s, peak RSS {ref_mb:,.0f} MB")
    except (OSError, SystemExit) as error:  # the command-line tools are a reference, not the project
        ref_s, ref_mb = None, None
        say(f"  reference could not run: {error}")
    verdict("COG conversion peak RSS", ours_mb, "<", 1024, unit=" MB", detail=f"{SIZE:,}² float32")
    if ref_s:
        say(f"  wall time ours ÷ gdalwarp + gdal_translate: {ours_s / ref_s:.2f}× (no target: the issue sets memory; "
            f"reference peak {ref_mb:,.0f} MB)")
    return out


# --- 2. tiles ------------------------------------------------------------------------------------

def tile_list(cog_path: Path) -> list:
    """Tiles inside the COG from its native zoom down four levels, TILES_PER_ZOOM each (seeded sample)."""
    import math

    import morecantile
    import rasterio
    from rasterio.warp import transform_bounds

    with rasterio.open(cog_path) as ds:
        west, south, east, north = transform_bounds(ds.crs, "EPSG:4326", *ds.bounds)
        native = round(math.log2(2 * math.pi * 6378137 / 256 / ds.res[0]))
    tms, rng, tiles = morecantile.tms.get("WebMercatorQuad"), random.Random(13), []
    for z in range(native - 4, native + 1):
        candidates = list(tms.tiles(west, south, east, north, [z]))
        tiles.extend(rng.sample(candidates, min(TILES_PER_ZOOM, len(candidates))))
    return tiles


def _ours(layer, tiles, fmt: str):
    from tiles.raster_service import raster_tile

    def run() -> int:
        return sum(len(raster_tile(layer, t, fmt).body) for t in tiles)
    return run


def _bare(path: Path, tiles, fmt: str, info: dict):
    """The same pixels the plain rio-tiler way: one Reader, tile(), rescale(), render() with its default encoders."""
    from rio_tiler.io import Reader

    from tiles.raster import RESAMPLING, colour_map

    cmap = colour_map(info["ramp"], info["min"], info["max"])
    options = {"img_format": fmt.upper(), **({"LOSSLESS": "TRUE"} if fmt == "webp" else {})}

    def run() -> int:
        total = 0
        with Reader(str(path)) as src:
            for t in tiles:
                img = src.tile(t.x, t.y, t.z, indexes=1, resampling_method=RESAMPLING, reproject_method=RESAMPLING)
                img.rescale(in_range=((info["min"], info["max"]),))
                total += len(img.render(colormap=cmap, **options))
        return total
    return run


def _same_pixels(layer, path: Path, tile, info: dict) -> None:
    """Ours and the bare loop draw the same picture (else the comparison means nothing): fail loudly."""
    import warnings

    import numpy as np
    from rasterio.io import MemoryFile
    from rio_tiler.io import Reader

    from tiles.raster import RESAMPLING, colour_map
    from tiles.raster_service import raster_tile

    with Reader(str(path)) as src:
        img = src.tile(tile.x, tile.y, tile.z, indexes=1, resampling_method=RESAMPLING, reproject_method=RESAMPLING)
    img.rescale(in_range=((info["min"], info["max"]),))
    theirs = img.render(colormap=colour_map(info["ramp"], info["min"], info["max"]), img_format="PNG")
    decoded = []
    for body in (raster_tile(layer, tile, "png").body, theirs):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # a picture, not a map
            with MemoryFile(body) as memfile, memfile.open() as png:
                decoded.append(png.read())
    if not np.array_equal(*decoded):
        raise SystemExit("bench/raster: our tile and the bare loop's differ; the comparison would be meaningless")


def _rounds(ours, bare, count: int) -> tuple[float, float, dict]:
    """Alternating rounds; the best rate (tiles/s) of each side, and each side's mean tile size (KB)."""
    ours_rates, bare_rates, sizes = [], [], {}
    for _ in range(ROUNDS):
        for name, run, rates in (("ours", ours, ours_rates), ("bare", bare, bare_rates)):
            started = time.perf_counter()
            sizes[name] = run() / count / 1024
            rates.append(count / (time.perf_counter() - started))
    return max(ours_rates), max(bare_rates), sizes


def _busy(until: float) -> None:
    while time.time() < until:
        pass


def tiles_bench(cog_path: Path) -> None:
    """PNG and WebP, quiet then loaded: ours ÷ the bare loop, target ≥ 1.0× each."""
    from django.conf import settings

    from layers.models import Layer
    from tiles.raster import ENCODING

    settings.MEDIA_ROOT = cog_path.parent
    info = {"min": 0.0, "max": 60.0, "nodata": -9999.0, "ramp": "terrain"}
    layer = Layer(slug="bench-raster", kind="raster", raster_path=cog_path.name, raster_info=info, min_zoom=0,
                  max_zoom=24)
    tiles = tile_list(cog_path)
    _same_pixels(layer, cog_path, tiles[len(tiles) // 2], info)
    say(f"\n[tiles] {len(tiles)} tiles (z{tiles[0].z}–z{tiles[-1].z}), one process: tiles.raster_service.raster_tile "
        f"(what the view calls) against a bare rio-tiler loop (one Reader, tile/rescale/render, rio-tiler's default "
        f"encoders; ours {ENCODING}); {ROUNDS} alternating round(s), best of each")
    for loaded in (False, True):
        workers = []
        if loaded:
            until = time.time() + 3600
            workers = [multiprocessing.Process(target=_busy, args=(until,), daemon=True) for _ in range(os.cpu_count() or 1)]
            for worker in workers:
                worker.start()
            time.sleep(1)
        try:
            for fmt in ("png", "webp"):
                ours, bare, kb = _rounds(_ours(layer, tiles, fmt), _bare(cog_path, tiles, fmt, info), len(tiles))
                state = f"loaded ({len(workers)} busy processes)" if loaded else "quiet"
                say(f"  {fmt.upper()} {state}: ours {ours:.1f} tiles/s ({kb['ours']:.1f} KB a tile), bare rio-tiler "
                    f"{bare:.1f} tiles/s ({kb['bare']:.1f} KB), load average {os.getloadavg()[0]:.2f}")
                verdict(f"raster {fmt.upper()} tiles ÷ bare rio-tiler, {'loaded' if loaded else 'quiet'}",
                        ours / bare, ">=", 1.0)
        finally:
            for worker in workers:
                worker.terminate()
                worker.join()


# --- the run -------------------------------------------------------------------------------------

def run() -> None:
    import django

    django.setup()
    conditions("bench/raster", source_pixels=f"{SIZE:,} × {SIZE:,}", tiles_per_zoom=TILES_PER_ZOOM, rounds=ROUNDS)
    with tempfile.TemporaryDirectory(prefix="gisportal-bench-raster-") as folder:
        work = Path(folder)
        started = time.perf_counter()
        source = make_source(work / "source.tif", SIZE)
        say(f"  source written in {time.perf_counter() - started:.1f} s")
        cog_path = conversion(source, work)
        source.unlink()
        tiles_bench(cog_path)
    finish("bench/raster")


if __name__ == "__main__":
    if sys.argv[1:2] == ["--convert"]:
        convert(sys.argv[2], sys.argv[3])
    elif sys.argv[1:2] == ["--run"]:
        run()
    else:
        main()
