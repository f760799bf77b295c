"""The caching front (Varnish, a CDN): the tags a tile carries, and the purges a change sends.

Every public tile response names its tags in `xkey` (Varnish's xkey vmod) and `Surrogate-Key` (CDNs):
    gp-t-{layer_id}-{z}-{x}-{y}   one per catalog layer in the URL: a purge is exact, tile by tile
    gp-l-{layer_id}               one per layer: a whole-layer purge (layer changed or deleted, huge change)
A change purges, for each zoom in the layer's range, the tiles its boxes touch (the same tiles the shared
cache invalidates, computed from the boxes rather than from what the shared cache held: the front may keep a
tile the shared cache evicted, a 204 or an as_of tile). Rule for size: more than GISPORTAL_FRONT_PURGE_MAX_TAGS
tiles (a big ingest) → the layer's tag alone. Tags are sent in batches of at most _HEADER_CHARS characters per
request (Varnish refuses request headers over 8 KB by default).

Purges are sent by the job queue (tiles/cache_jobs.py), deferred inside the writing transaction: the job exists
if and only if the change committed (an outbox), and a front that is down delays the purge, never the edit.
"""
from collections.abc import Iterable, Sequence

from tiles import conf
from tiles.coords import MAX_ZOOM, tile_range

Box = tuple[float, float, float, float]
_HEADER_CHARS = 4000


def tile_tags(layer_ids: Iterable[int], z: int, x: int, y: int) -> list[str]:
    """The tags of one tile of these layers: one per (layer, z, x, y) and one per layer."""
    ids = list(layer_ids)
    return [f"gp-t-{i}-{z}-{x}-{y}" for i in ids] + [layer_tag(i) for i in ids]


def layer_tag(layer_id: int) -> str:
    """The tag every tile of the layer carries."""
    return f"gp-l-{layer_id}"


def purge_tags(layer_id: int, boxes: Sequence[Box], margin: float, zooms: range) -> list[str]:
    """The tags to purge for a change in the boxes at the zooms; the layer's tag when there are too many."""
    limit = conf.front_purge_max_tags()
    tags: dict[str, None] = {}
    for z in zooms:
        if not 0 <= z <= MAX_ZOOM:
            continue
        for box in boxes:
            x0, x1, y0, y1 = tile_range(box, z, margin)
            if len(tags) + (x1 - x0 + 1) * (y1 - y0 + 1) > limit:
                return [layer_tag(layer_id)]
            tags.update((f"gp-t-{layer_id}-{z}-{x}-{y}", None) for x in range(x0, x1 + 1) for y in range(y0, y1 + 1))
    return list(tags)


def batches(tags: Sequence[str]) -> list[str]:
    """The tags as space-separated header values of at most _HEADER_CHARS characters each."""
    out, current, size = [], [], 0
    for tag in tags:
        if current and size + len(tag) + 1 > _HEADER_CHARS:
            out.append(" ".join(current))
            current, size = [], 0
        current.append(tag)
        size += len(tag) + 1
    if current:
        out.append(" ".join(current))
    return out


def queue_purge(tags: Sequence[str]) -> int:
    """Defers one purge job per front and batch (inside the caller's transaction, if any); how many."""
    fronts = conf.front_purge_urls()
    if not fronts or not tags:
        return 0
    from tiles.cache_jobs import purge_front

    jobs = 0
    for value in batches(tags):
        for url in fronts:
            purge_front.defer(url=url, tags=value)
            jobs += 1
    return jobs
