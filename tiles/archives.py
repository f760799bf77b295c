"""PMTiles archives (v3) of each public vector layer and of the basemap, for offline apps and field staff.

Each tile is the live tile: tiles.services.vector_tile (the function /tiles/{layer}/{z}/{x}/{y}.pbf serves, through
the same cache), gzip as served, so an archive's tile is byte-equal to the live one at build time. Empty tiles
(204 live) are left out. Archives live on the shared directory (GISPORTAL_SHARED_DIR/pmtiles): written to a
temporary file beside the old one and renamed over it, so a reader (this node or another) keeps the old
archive until the new one lands. Built by the job queue (tiles.tasks.build_pmtiles) after a change, coalesced
by a queueing lock, one build of an archive at a time (a procrastinate lock); a restricted layer has no archive.
"""
import json
import logging
import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.db import DEFAULT_DB_ALIAS, connections, transaction
from pmtiles.tile import Compression, TileType, serialize_directory, serialize_header, zxy_to_tileid
from pmtiles.reader import MmapSource, Reader
from pmtiles.writer import Writer
from procrastinate import exceptions as queue_errors

from layers.models import Layer
from layers.selectors import layers_visible_to
from tiles import conf, front
from tiles.coords import Tile, tiles_in
from tiles.services import WORLD, TileSource, vector_tile
from tiles.tilejson import vector_layers

log = logging.getLogger(__name__)
BASEMAP = "basemap"  # a reserved slug (layers.models.RESERVED_SLUGS): no layer can take it
MEDIA_TYPE = "application/vnd.pmtiles"
STALE_TEMP_SECONDS = 3600


def archive_dir() -> Path:
    """Where archives live: GISPORTAL_PMTILES_DIR, by default GISPORTAL_SHARED_DIR/pmtiles (every node reads it)."""
    default = Path(settings.GISPORTAL_SHARED_DIR) / "pmtiles"
    return Path(getattr(settings, "GISPORTAL_PMTILES_DIR", None) or os.environ.get("GISPORTAL_PMTILES_DIR") or default)


def archive_path(name: str) -> Path:
    return archive_dir() / f"{name}.pmtiles"


def archive_tag(name: str) -> str:
    """The front's tag of an archive (xkey / Surrogate-Key), purged when a new one lands or it goes."""
    return f"gp-pm-{name}"


def archive_layers(name: str) -> list[Layer]:
    """The layers of an archive: the basemap's (public, with a basemap role, in the basemap tileset's order) or the
    one public vector layer of that slug; [] when there is none (unknown, raster, restricted)."""
    from tiles.ogc_tiles import dataset_groups

    public = layers_visible_to(AnonymousUser()).filter(is_public=True)
    if name == BASEMAP:
        return list(dataset_groups(public).get(BASEMAP, ((), []))[1])
    return list(public.filter(slug=name, kind="vector"))


def archive_names() -> list[str]:
    """Every archive there should be: each public vector layer's, and the basemap's when it has layers."""
    names = list(layers_visible_to(AnonymousUser()).filter(is_public=True, kind="vector").order_by("slug")
                 .values_list("slug", flat=True))
    return names + ([BASEMAP] if archive_layers(BASEMAP) else [])


@dataclass
class ArchiveReport:
    name: str
    tiles: int = 0  # tiles written (empty ones left out)
    tried: int = 0
    bytes: int = 0
    min_zoom: int | None = None
    max_zoom: int | None = None
    removed: bool = False  # no archive (a restricted or deleted layer): the old one is gone
    seconds: float = 0.0


def _bounds(layers: list[Layer]) -> tuple[float, float, float, float]:
    boxes = [layer.extent.extent for layer in layers if layer.extent is not None]
    if not boxes:
        return WORLD
    return (min(b[0] for b in boxes), min(b[1] for b in boxes), max(b[2] for b in boxes), max(b[3] for b in boxes))


def zoom_range(layers: list[Layer]) -> range:
    """From the layers' lowest min_zoom to their highest max_zoom, capped at GISPORTAL_PMTILES_MAX_ZOOM."""
    top = min(max(layer.max_zoom for layer in layers), conf.pmtiles_max_zoom())
    return range(min(layer.min_zoom for layer in layers), top + 1)


def plan(layers: list[Layer]) -> list[Tile]:
    """The tiles to try, in PMTiles tile-id order (a clustered archive): those over some layer's extent, at the
    zooms where that layer draws."""
    tiles: set[Tile] = set()
    for z in zoom_range(layers):
        for layer in layers:
            if layer.extent is not None and layer.min_zoom <= z <= layer.max_zoom:
                tiles.update(tiles_in(layer.extent.extent, z))
    return sorted(tiles, key=lambda t: zxy_to_tileid(t.z, t.x, t.y))


def metadata(name: str, layers: list[Layer], zooms: range, bounds) -> dict:
    """The archive's JSON metadata: TileJSON's fields (vector_layers as /tiles/{layer}.json gives them)."""
    centre_zoom = max(zooms.start, min(zooms.stop - 1, 14))
    centre = [(bounds[0] + bounds[2]) / 2, (bounds[1] + bounds[3]) / 2, centre_zoom]
    title = "Bản đồ nền / Basemap" if name == BASEMAP else layers[0].title
    return {
        "name": title, "description": "\n".join(layer.description for layer in layers if layer.description),
        "attribution": "; ".join(sorted({layer.attribution for layer in layers if layer.attribution})),
        "type": "baselayer" if name == BASEMAP else "overlay", "format": "pbf", "scheme": "xyz",
        "minzoom": zooms.start, "maxzoom": zooms.stop - 1, "bounds": list(bounds), "center": centre,
        "vector_layers": vector_layers(layers, max_zoom=zooms.stop - 1),
    }


def _header(zooms: range, bounds, centre: list) -> dict:
    e7 = lambda v: int(round(v * 1e7))  # noqa: E731
    return {"tile_type": TileType.MVT, "tile_compression": Compression.GZIP,
            "min_zoom": zooms.start, "max_zoom": zooms.stop - 1,
            "min_lon_e7": e7(bounds[0]), "min_lat_e7": e7(bounds[1]), "max_lon_e7": e7(bounds[2]),
            "max_lat_e7": e7(bounds[3]), "center_zoom": centre[2], "center_lon_e7": e7(centre[0]),
            "center_lat_e7": e7(centre[1])}


def build_archive(name: str) -> ArchiveReport:
    """Builds the archive `name` (a layer slug or "basemap") and renames it into place; a name with no public
    vector layers loses its archive instead."""
    started, report = time.perf_counter(), ArchiveReport(name)
    layers = archive_layers(name)
    if not layers:
        report.removed = remove_archive(name)
        return report
    zooms, bounds = zoom_range(layers), _bounds(layers)
    meta = metadata(name, layers, zooms, bounds)
    source = TileSource(tuple(layers))
    folder = archive_dir()
    folder.mkdir(parents=True, exist_ok=True)
    _clean_temp(folder)
    handle = tempfile.NamedTemporaryFile(dir=folder, prefix=f".{name}.", suffix=".tmp", delete=False)
    try:
        with handle:
            writer = Writer(handle)
            for tile in plan(layers):
                report.tried += 1
                result = vector_tile(source, tile)  # the live tile, through the same cache
                if result is not None and result.body:
                    writer.write_tile(zxy_to_tileid(tile.z, tile.x, tile.y), result.body)
                    report.tiles += 1
            header = _header(zooms, bounds, meta["center"])
            if report.tiles:
                writer.finalize(header, meta)
            else:
                _finalize_empty(handle, header, meta)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(handle.name, archive_path(name))
    finally:
        Path(handle.name).unlink(missing_ok=True)
    if not archive_layers(name):  # gone private or away while this build ran: no archive after all
        report.removed = remove_archive(name)
        return report
    report.bytes = archive_path(name).stat().st_size
    report.min_zoom, report.max_zoom = zooms.start, zooms.stop - 1
    front.queue_purge([archive_tag(name)])
    report.seconds = time.perf_counter() - started
    log.info("pmtiles built: %s (%d tiles, %d bytes, %.1f s)", name, report.tiles, report.bytes, report.seconds)
    return report


def _finalize_empty(handle, header: dict, meta: dict) -> None:
    """An archive with no tile (a layer without features yet): pmtiles' writer needs one, so written here."""
    import gzip

    root = serialize_directory([])
    compressed = gzip.compress(json.dumps(meta).encode(), mtime=0)
    header.update(root_offset=127, root_length=len(root), metadata_offset=127 + len(root),
                  metadata_length=len(compressed), leaf_directory_offset=127 + len(root) + len(compressed),
                  leaf_directory_length=0, tile_data_offset=127 + len(root) + len(compressed), tile_data_length=0,
                  addressed_tiles_count=0, tile_entries_count=0, tile_contents_count=0, clustered=True,
                  internal_compression=Compression.GZIP)
    handle.write(serialize_header(header) + root + compressed)


def _clean_temp(folder: Path) -> None:
    """Temporary files of builds that died (a live build's is younger than STALE_TEMP_SECONDS)."""
    for path in folder.glob(".*.tmp"):
        try:
            if time.time() - path.stat().st_mtime > STALE_TEMP_SECONDS:
                path.unlink(missing_ok=True)
        except FileNotFoundError:
            pass


def remove_archive(name: str) -> bool:
    """Deletes an archive (its layer went private or away) and purges it from the front; True if there was one."""
    path = archive_path(name)
    existed = path.exists()
    path.unlink(missing_ok=True)
    if existed:
        front.queue_purge([archive_tag(name)])
    return existed


def _waiting(name: str) -> bool:
    with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
        cursor.execute("SELECT EXISTS (SELECT 1 FROM procrastinate_jobs WHERE queueing_lock = %s AND status = 'todo')",
                       [queueing_lock(name)])
        return cursor.fetchone()[0]


def queueing_lock(name: str) -> str:
    return f"pmtiles:{name}"


def queue_build(name: str, *, delay: int | None = None) -> bool:
    """Queues the archive's build unless one is waiting already (then it reads the layers as they are then);
    inside a caller's transaction it commits with it. True when a job was queued."""
    from tiles.tasks import build_pmtiles

    if _waiting(name):
        return False
    seconds = conf.pmtiles_delay() if delay is None else delay
    try:
        with transaction.atomic():  # a savepoint: a clash with a job queued meanwhile leaves the caller's work intact
            build_pmtiles.configure(queueing_lock=queueing_lock(name), lock=f"pmtiles-build:{name}", priority=-10,
                                    schedule_in={"seconds": seconds}).defer(name=name)
    except queue_errors.AlreadyEnqueued:
        return False
    return True


def on_features_changed(layer: Layer, bounds) -> None:
    """The change hook (inside the writing transaction): the layer's archive, and the basemap's if it is in it."""
    if layer.kind != "vector" or not layer.is_public or not conf.pmtiles_enabled():
        return
    queue_build(layer.slug)
    if layer.basemap_role:
        queue_build(BASEMAP)


_STATS_FIELDS = frozenset({"feature_count", "extent", "last_changed"})


def on_layer_saved(sender, instance: Layer, created: bool, update_fields=None, **kwargs) -> None:
    """A layer's settings changed (visibility, zoom range, fields, basemap role): rebuild, or drop the archive of a
    layer that is no longer public at once (a restricted layer has none), and rebuild the basemap."""
    if created or (update_fields is not None and set(update_fields) <= _STATS_FIELDS) or instance.kind != "vector":
        return
    if not instance.is_public:  # once the change commits: a save rolled back keeps its archive
        slug = instance.slug
        transaction.on_commit(lambda: remove_archive(slug))
        if slug in _archive_fields(BASEMAP):  # the basemap drew it: its tiles go too, not at the rebuild
            transaction.on_commit(lambda: remove_archive(BASEMAP))
    else:  # a field marked personal (or no longer drawn) leaves at once, as from the live tiles, not at the rebuild
        for name in [instance.slug] + ([BASEMAP] if instance.basemap_role else []):
            if fields_gone(name, instance):
                transaction.on_commit(lambda name=name: remove_archive(name))
    if instance.is_public and conf.pmtiles_enabled():
        queue_build(instance.slug)
    if conf.pmtiles_enabled():
        queue_build(BASEMAP)


def _archive_fields(name: str) -> dict[str, set[str]]:
    """{layer slug: its fields} as the archive on disk lists them in its metadata ({} when there is none)."""
    try:
        with open(archive_path(name), "rb") as handle:
            meta = Reader(MmapSource(handle)).metadata()
    except (OSError, ValueError, KeyError, EOFError):  # no archive, or one that cannot be read: nothing listed
        return {}
    return {entry.get("id"): set(entry.get("fields", {})) for entry in meta.get("vector_layers", [])}


def fields_gone(name: str, layer: Layer) -> bool:
    """True when the archive on disk carries a field of the layer that its live tiles no longer do."""
    then = _archive_fields(name).get(layer.slug, set())
    return bool(then - set(vector_layers([layer])[0]["fields"]))


def on_layer_deleted(sender, instance: Layer, **kwargs) -> None:
    """A deleted layer's archive goes (once the deletion commits); the basemap is rebuilt if it drew the layer."""
    slug = instance.slug
    transaction.on_commit(lambda: remove_archive(slug))
    if instance.basemap_role and conf.pmtiles_enabled():
        queue_build(BASEMAP)
