"""Serving vector tiles through the cache, and the invalidation that keeps the cache exact."""
import datetime as dt
import gzip
import json
import logging
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property

from django.db import transaction

from layers.compaction import check_as_of
from layers.errors import InvalidParameter, UnknownLayer
from layers.models import Layer
from layers.selectors import can_view, layers_visible_to
from tiles import conf, front
from tiles.cache import CachedTile, CacheUnavailable, TileKey, get_cache
from tiles.catalog import catalog_rows
from tiles.coords import MAX_LAT, Tile, boxes_meet
from tiles.mvt import MARGIN, REACH, layer_signature, render_tile

log = logging.getLogger(__name__)
_SLUG = re.compile(r"[-a-zA-Z0-9_]{1,64}")
WORLD = (-180.0, -MAX_LAT, 180.0, MAX_LAT)


@dataclass
class TileSource:
    """The catalog layers one tile URL names, checked for access, in the URL's order."""

    layers: tuple[Layer, ...]
    boxes: dict[int, tuple[float, float, float, float] | None] = field(default_factory=dict)  # extents by id

    @property
    def restricted(self) -> bool:
        return any(not layer.is_public for layer in self.layers)

    def key(self, tile: Tile) -> TileKey:
        return TileKey(self.restricted, self.key_part, tile.z, tile.x, tile.y)

    @cached_property
    def key_part(self) -> str:
        return ",".join(f"{layer.pk}-{layer_signature(layer)}" for layer in self.layers)

    def active(self, tile: Tile, *, past: bool = False) -> list[Layer]:
        """The layers that draw anything at this tile: within their zoom range and near their extent
        (for a past state, the zoom range only: the extent is today's)."""
        box = tile.bounds_4326(margin=MARGIN)
        out = []
        for layer in self.layers:
            if not layer.min_zoom <= tile.z <= layer.max_zoom:
                continue
            extent = self.boxes[layer.pk] if layer.pk in self.boxes else (layer.extent.extent if layer.extent else None)
            if past or (extent is not None and boxes_meet(box, extent)):
                out.append(layer)
        return out


def parse_layer_names(text: str) -> list[str]:
    """The slugs of "a" or "a,b,c"; InvalidParameter (400) for empty names, repeats or too many."""
    names = text.split(",")
    limit = conf.max_layers_per_tile()
    if len(names) > limit:
        raise InvalidParameter(f"Tối đa {limit} lớp trong một ô.", f"At most {limit} layers per tile.", parameter="layers")
    if any(not name for name in names):
        raise InvalidParameter("Tên lớp trống trong danh sách.", "An empty layer name in the list.", parameter="layers")
    if len(set(names)) != len(names):
        raise InvalidParameter("Danh sách lớp có tên lặp lại.", "The layer list names a layer twice.", parameter="layers")
    return names


def tile_source(user, text: str, *, kind: str = "vector") -> TileSource:
    """The layers named in a URL as this user may see them; UnknownLayer (404) if any is missing or hidden.
    Full catalog rows (for TileJSON and seeding); the tile view uses the leaner `tile_layers`."""
    names = parse_layer_names(text)
    if not all(_SLUG.fullmatch(name) for name in names):
        raise UnknownLayer()
    found = {layer.slug: layer for layer in layers_visible_to(user).filter(slug__in=names, kind=kind)}
    if len(found) != len(names):
        raise UnknownLayer()
    return TileSource(tuple(found[name] for name in names))


def tile_layers(user, text: str) -> TileSource:
    """Like tile_source, for the hot path of every tile request: plain catalog rows (kept in memory
    while the catalog does not change, see tiles/catalog.py), no queryset to compile, no GEOS extent
    (the ORM took 3/4 of a cached tile's time). Who may see what stays selectors.can_view's decision."""
    names = parse_layer_names(text)
    if not all(_SLUG.fullmatch(name) for name in names):
        raise UnknownLayer()
    found, boxes = {}, {}
    for slug, (layer, box) in catalog_rows(names, _layer_from_row).items():
        if layer.kind == "vector" and can_view(user, layer):
            found[slug] = layer
            boxes[layer.pk] = box
    if len(found) != len(names):
        raise UnknownLayer()
    return TileSource(tuple(found[name] for name in names), boxes)


def _layer_from_row(slug: str, row: tuple) -> tuple[Layer, tuple[float, float, float, float] | None]:
    """An unsaved Layer with just what tiles need, and its extent as (west, south, east, north)."""
    pk, kind, is_public, min_zoom, max_zoom, geometry_type, schema, raster_path, raster_info, *box = row
    layer = Layer(id=pk, slug=slug, kind=kind, is_public=is_public, min_zoom=min_zoom, max_zoom=max_zoom,
                  geometry_type=geometry_type, schema=_json(schema), raster_path=raster_path,
                  raster_info=_json(raster_info))
    return layer, (None if box[0] is None else tuple(box))


def _json(value):
    return json.loads(value) if isinstance(value, str) else value


def raster_layer(user, slug: str) -> Layer:
    """The raster layer with this slug if the user may see it (catalog rows as for vector tiles); 404 otherwise."""
    if not _SLUG.fullmatch(slug):
        raise UnknownLayer()
    found = catalog_rows([slug], _layer_from_row).get(slug)
    if found is None or found[0].kind != "raster" or not can_view(user, found[0]):
        raise UnknownLayer()
    return found[0]


def compress(mvt: bytes) -> bytes:
    """gzip with a fixed header time, so the same tile always has the same bytes and ETag. Level 1:
    on a z16 tile a third faster than level 3 for 4% more bytes, and a cold tile pays it in full."""
    return gzip.compress(mvt, compresslevel=1, mtime=0) if mvt else b""


def vector_tile(source: TileSource, tile: Tile) -> CachedTile | None:
    """The tile from the cache, or rendered and stored; None when no layer draws there (204, not cached)."""
    active = source.active(tile)
    if not active:
        return None
    cache = get_cache()
    key = source.key(tile)
    cached = cache.get(key)
    if cached is not None:
        return cached
    token = cache.token(key)  # before the query: a change committed after it makes the put a no-op
    result = CachedTile.from_body(compress(render_tile(active, tile)))
    cache.put(key, result, token)
    return result


def past_vector_tile(source: TileSource, tile: Tile, at: dt.datetime) -> CachedTile | None:
    """The tile as its layers were at `at`, from their history. Not cached on disk: a past moment is
    asked for rarely, and the cache's exact invalidation is about the present. 410 before a layer's compaction."""
    for layer in source.layers:
        check_as_of(layer, at)
    active = source.active(tile, past=True)
    if not active:
        return None
    return CachedTile.from_body(compress(render_tile(active, tile, at)))


def _clean_boxes(bounds: Sequence[Sequence[float]]) -> list[tuple[float, float, float, float]]:
    """Boxes as (west, south, east, north) floats; a box that is not one (NaN, swapped) counts as the world."""
    boxes = []
    for box in bounds:
        try:
            west, south, east, north = (float(v) for v in box)
        except (TypeError, ValueError):
            boxes.append(WORLD)
            continue
        if not all(math.isfinite(v) for v in (west, south, east, north)) or west > east or south > north:
            boxes.append(WORLD)
            continue
        boxes.append((max(west, -180.0), max(south, -MAX_LAT), min(east, 180.0), min(north, MAX_LAT)))
    return boxes


def invalidate_features(layer: Layer, bounds: Sequence[Sequence[float]]) -> list[TileKey]:
    """Removes the cached tiles (of every layer set with this layer) that the changed WGS 84 boxes
    touch, now and once more right after the surrounding transaction commits, and queues the purge of
    the same tiles from the caching front (sent after the commit: see tiles/front.py)."""
    boxes = _clean_boxes(bounds)
    if not boxes:
        return []
    removed = _invalidate_shared(layer.pk, boxes)
    if transaction.get_connection().in_atomic_block:
        # A tile rendered between this call and the commit still shows the old data: go again.
        transaction.on_commit(lambda: _invalidate_shared(layer.pk, boxes))
    tags = front.purge_tags(layer.pk, boxes, REACH, range(layer.min_zoom, layer.max_zoom + 1))
    front.queue_purge(tags)
    settle = conf.settle_seconds()
    if settle > 0:  # reads from a replica may lag: once every replica read shows the change, both again
        from tiles.cache_jobs import settle_change

        settle_change.configure(schedule_in={"seconds": settle}).defer(
            layer_id=layer.pk, boxes=[list(box) for box in boxes], margin=REACH, tags=tags)
    return removed


def _invalidate_shared(layer_id: int, boxes: list[tuple[float, float, float, float]]) -> list[TileKey]:
    """The cache's invalidation; when the shared cache cannot be reached, a job that retries it (the
    change itself goes on: a cache outage never fails an edit)."""
    try:
        return get_cache().invalidate(layer_id, boxes, REACH)
    except CacheUnavailable:
        from tiles.cache_jobs import invalidate_shared_cache

        log.warning("tile cache unreachable: invalidation of layer %s queued for retry", layer_id)
        invalidate_shared_cache.defer(layer_id=layer_id, boxes=[list(box) for box in boxes], margin=REACH)
        return []


def on_features_changed(layer: Layer, bounds: Sequence[Sequence[float]]) -> None:
    """The listener registered with layers.services (see TilesConfig.ready)."""
    if layer.kind == "vector":
        invalidate_features(layer, bounds)


# Saves that only record a change's statistics (layers.services.layer_refresh_stats): the change itself
# came through features_changed, which purged exactly.
_STATS_FIELDS = frozenset({"feature_count", "extent", "last_changed"})


def on_layer_saved(sender, instance: Layer, created: bool, update_fields=None, **kwargs) -> None:
    """A layer's settings changed (fields, zoom range, visibility, raster file): its tiles keep their URLs,
    so the front must drop them all (the shared cache needs nothing: its keys carry the layer's signature)."""
    if created or (update_fields is not None and set(update_fields) <= _STATS_FIELDS):
        return
    front.queue_purge([front.layer_tag(instance.pk)])


def on_layer_deleted(sender, instance: Layer, **kwargs) -> None:
    """A deleted layer's tiles leave the front."""
    front.queue_purge([front.layer_tag(instance.pk)])
