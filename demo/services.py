"""make_demo_city: generate the city, write its files, load them through the ingest pipeline."""
import time
from collections.abc import Callable
from pathlib import Path

from django.conf import settings
from django.db import transaction

from demo.catalog import ATTRIBUTION, LAYERS, LICENSE
from demo.city import generate_city
from demo.files import write_files
from ingest.raster import ingest_raster
from ingest.services import ingest_file
from layers.models import Layer
from layers.services import layer_create


def _ensure_layers() -> dict[str, Layer]:
    layers = {}
    with transaction.atomic():
        for spec in LAYERS:
            fields = {"license": LICENSE, "attribution": ATTRIBUTION, "source_crs": "EPSG:9210", **spec}
            slug = fields.pop("slug")
            layer = Layer.objects.filter(slug=slug).first()
            if layer is None:
                layer = layer_create(slug=slug, title_vi=fields.pop("title_vi"), title_en=fields.pop("title_en"), **fields)
            layers[slug] = layer
    return layers


def write_demo_files(*, parcels: int, seed: int, zones: int, out_dir: Path,
                     say: Callable[[str], None] = print) -> dict[str, Path]:
    """Generates the city and writes its files (GeoPackage, Shapefile, GeoTIFF); returns slug -> path."""
    started = time.perf_counter()
    city = generate_city(parcels=parcels, seed=seed, zones=zones)
    say(f"generated {len(city.parcels['geom'])} parcels, {len(city.zones)} zones in {time.perf_counter() - started:.1f} s")
    paths = write_files(city, out_dir)
    say(f"wrote {', '.join(p.name for p in paths.values())} to {out_dir}")
    return paths


def load_demo_files(paths: dict[str, Path], *, say: Callable[[str], None] = print) -> dict[str, int]:
    """Loads the demo files through the ingest pipeline (replacing earlier demo data); returns counts."""
    layers = _ensure_layers()
    counts = {}
    for slug, path in paths.items():
        t = time.perf_counter()
        if layers[slug].kind == "raster":
            ingest_raster(path=path, layer=layers[slug])
            counts[slug] = 1
        else:
            run = ingest_file(path=path, layer=layers[slug], mode="replace")
            counts[slug] = run.loaded_count
        say(f"loaded {slug}: {counts[slug]} in {time.perf_counter() - t:.1f} s")
    return counts


def make_demo_city(*, parcels: int, seed: int, zones: int = 2000, out_dir: Path | None = None,
                   say: Callable[[str], None] = print) -> dict[str, int]:
    """Builds the demo city into the database (replacing earlier demo data); returns feature counts."""
    out_dir = out_dir or Path(settings.VAR_DIR) / "demo" / f"seed{seed}-n{parcels}"
    paths = write_demo_files(parcels=parcels, seed=seed, zones=zones, out_dir=out_dir, say=say)
    return load_demo_files(paths, say=say)
