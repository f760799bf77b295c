"""Tile jobs: seeding the cache (queue "tiles"), building PMTiles archives (queue "pmtiles")."""
from django.db import InterfaceError, OperationalError
from procrastinate import RetryStrategy
from procrastinate.contrib.django import app

from tiles.seed import run_seed_job


# Seeding (manage.py seed_tiles --queue): low priority, retried only when the database was unreachable; a bad
# layer or zoom is refused by the command before it is queued.
@app.task(name="tiles.seed", queue="tiles", priority=-5,
          retry=RetryStrategy(max_attempts=3, exponential_wait=10, retry_exceptions={OperationalError, InterfaceError}))
def seed(*, layers: str, zooms: list[int], bbox: list[float] | None = None) -> dict:
    """Pre-renders the layers' tiles at the zooms into the shared tile cache."""
    return run_seed_job(layers=layers, zooms=zooms, bbox=bbox)


# PMTiles archives (tiles/archives.py): queued after a change with a queueing lock (one waiting per archive) and a
# lock (one building at a time, in order: a later build never lands before an earlier one). A queue of their own
# (a worker may serve it alone): a long build never delays the front's purges on "tiles".
@app.task(name="tiles.build_pmtiles", queue="pmtiles", priority=-10,
          retry=RetryStrategy(max_attempts=3, exponential_wait=10, retry_exceptions={OperationalError, InterfaceError}))
def build_pmtiles(*, name: str) -> dict:
    """Builds the PMTiles archive of a public vector layer (its slug) or of the basemap ("basemap")."""
    from tiles.archives import build_archive

    report = build_archive(name)
    return {"tiles": report.tiles, "bytes": report.bytes, "removed": report.removed}
