"""manage.py seed_tiles --layer parcels --zoom 12-16 [--bbox w,s,e,n] [--queue]: pre-render tiles into the cache
(here, or by the job worker with --queue)."""
import sys
import time

from django.core.management.base import BaseCommand, CommandError

from layers.errors import DomainError
from layers.params import parse_bbox
from tiles.seed import parse_zooms, seed_job_args, seed_source, seed_tiles


class ProgressBar:
    """A one-line bar on stderr: [#####-----] done/total tiles, rate, time left."""

    def __init__(self, stream, width: int = 30):
        self.stream, self.width = stream, width
        self.started = time.perf_counter()
        self.last = 0.0

    def __call__(self, done: int, total: int) -> None:
        now = time.perf_counter()
        if done < total and now - self.last < 0.2:
            return
        self.last = now
        filled = int(self.width * done / max(total, 1))
        rate = done / max(now - self.started, 1e-9)
        left = (total - done) / rate if rate else 0
        self.stream.write(f"\r[{'#' * filled}{'-' * (self.width - filled)}] {done}/{total} tiles "
                          f"{rate:.0f}/s, {left:.0f} s left ")
        if done >= total:
            self.stream.write("\n")
        self.stream.flush()


class Command(BaseCommand):
    help = "Pre-renders vector tiles of a layer (or a comma list) into the tile cache."

    def add_arguments(self, parser):
        parser.add_argument("--layer", required=True, help='a layer slug, or "a,b" for multi-layer tiles')
        parser.add_argument("--zoom", required=True, help="zooms: 12-14, or 12,14,16")
        parser.add_argument("--bbox", help="west,south,east,north in WGS 84 (default: the layers' extent)")
        parser.add_argument("--no-progress", action="store_true", help="no progress bar")
        parser.add_argument("--queue", action="store_true", help="queue it for the job worker instead of running it here")

    def handle(self, *args, layer, zoom, bbox=None, no_progress=False, queue=False, **options):
        try:
            box = parse_bbox(bbox, parameter="--bbox", antimeridian=False)  # the one bbox parser, as every door
            source = seed_source(layer)
            zooms = parse_zooms(zoom)
            if queue:
                return self._queue(layer, zooms, box)
            progress = (lambda done, total: None) if no_progress else ProgressBar(sys.stderr)
            report = seed_tiles(source, zooms, box, progress)
        except DomainError as error:
            raise CommandError(f"{error.message_en} / {error.message_vi}") from None
        self.stdout.write(
            f"{report.tiles} tiles at zoom {zooms[0]}–{zooms[-1]}: {report.rendered} rendered, "
            f"{report.cached} already cached, {report.empty} empty, in {report.seconds:.1f} s"
        )

    def _queue(self, layer: str, zooms: list[int], box) -> None:
        from tiles.tasks import seed

        job_id = seed.defer(**seed_job_args(layer, zooms, box))
        self.stdout.write(f"queued as job #{job_id} (queue tiles): manage.py jobs --queue tiles")
