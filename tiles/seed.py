"""Pre-rendering tiles into the cache (manage.py seed_tiles)."""
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from layers.errors import InvalidParameter, UnknownLayer
from layers.models import Layer
from tiles.cache import get_cache
from tiles.coords import MAX_ZOOM, Tile, tiles_in
from tiles.services import TileSource, parse_layer_names, vector_tile


@dataclass
class SeedReport:
    tiles: int = 0
    rendered: int = 0
    cached: int = 0
    empty: int = 0
    seconds: float = 0.0
    per_zoom: dict[int, int] = field(default_factory=dict)


def parse_zooms(text: str) -> list[int]:
    """"12-14" or "12,13,16" or "15" as a sorted list of zooms; InvalidParameter for anything else."""
    zooms: set[int] = set()
    try:
        for part in text.split(","):
            low, _, high = part.strip().partition("-")
            first, last = int(low), int(high or low)
            if not 0 <= first <= last <= MAX_ZOOM:
                raise ValueError
            zooms.update(range(first, last + 1))
    except ValueError:
        raise InvalidParameter(f"Mức thu phóng không hợp lệ: {text!r} (ví dụ 12-14).",
                               f"Not a zoom range: {text!r} (for example 12-14).", parameter="zoom") from None
    return sorted(zooms)


def seed_source(text: str) -> TileSource:
    """The vector layers named ("parcels" or "parcels,zones"), whatever their visibility (an admin task)."""
    names = parse_layer_names(text)
    found = {layer.slug: layer for layer in Layer.objects.filter(slug__in=names, kind="vector")}
    missing = [name for name in names if name not in found]
    if missing:
        raise UnknownLayer(missing[0])
    return TileSource(tuple(found[name] for name in names))


def seed_tiles(source: TileSource, zooms: Iterable[int], bbox: tuple[float, float, float, float] | None = None,
               progress: Callable[[int, int], None] = lambda done, total: None) -> SeedReport:
    """Renders every tile of the layers' extent (or bbox) at the zooms into the cache; skips cached ones."""
    boxes = [bbox] if bbox else [layer.extent.extent for layer in source.layers if layer.extent is not None]
    plan: list[Tile] = []
    for z in zooms:
        tiles = {tile for box in boxes for tile in tiles_in(box, z)}
        plan.extend(sorted(tiles, key=lambda t: (t.x, t.y)))
    report = SeedReport(tiles=len(plan))
    cache, started = get_cache(), time.perf_counter()
    for done, tile in enumerate(plan, 1):
        was_cached = cache.get(source.key(tile)) is not None
        result = vector_tile(source, tile)
        if was_cached:
            report.cached += 1
        else:
            report.rendered += 1
        if result is None or not result.body:
            report.empty += 1
        report.per_zoom[tile.z] = report.per_zoom.get(tile.z, 0) + 1
        progress(done, len(plan))
    report.seconds = time.perf_counter() - started
    return report


def seed_job_args(layers: str, zooms: list[int], bbox: tuple[float, float, float, float] | None) -> dict:
    """The queued seeding job's arguments, from already parsed values (the command parses them first)."""
    return {"layers": ",".join(layer.slug for layer in seed_source(layers).layers), "zooms": list(zooms),
            "bbox": list(bbox) if bbox else None}


def run_seed_job(*, layers: str, zooms: list[int], bbox: list[float] | None = None) -> dict:
    """What the tiles.seed job does: seed_tiles on the worker, with the same parsers as the command."""
    report = seed_tiles(seed_source(layers), parse_zooms(",".join(map(str, zooms))), tuple(bbox) if bbox else None)
    return {"tiles": report.tiles, "rendered": report.rendered, "cached": report.cached, "empty": report.empty}
