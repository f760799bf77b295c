"""The cache's jobs (procrastinate, queue "tiles"): purging the caching front, shared-cache invalidations that
could not run when the change was made (Redis down), and the second pass after replica lag. All retried with
exponential back-off. Registered by TilesConfig.ready (not an autodiscovered tasks.py: that one holds the
other tile jobs), so every process that can queue them, and the worker, knows them."""
import logging
import urllib.error
import urllib.request

from procrastinate import BaseRetryStrategy, RetryDecision
from procrastinate.contrib.django import app

from tiles import conf

log = logging.getLogger(__name__)
QUEUE = "tiles"
_MAX_WAIT_SECONDS = 300


class FrontDown(Exception):
    """The front did not confirm the purge; the job is retried."""


class Backoff(BaseRetryStrategy):
    """GISPORTAL_FRONT_PURGE_RETRY_SECONDS × 2^attempt, capped at 5 minutes, for up to 60 attempts (about
    4–5 hours). A job still failing then stays in the queue as failed, for the operator to see and retry;
    the front's copies expire by their s-maxage in any case."""

    max_attempts = 60

    def get_retry_decision(self, *, exception, job):
        if job.attempts >= self.max_attempts:
            return None
        wait = min(_MAX_WAIT_SECONDS, conf.front_purge_retry_seconds() * 2 ** min(job.attempts, 16))
        return RetryDecision(retry_in={"seconds": wait})


@app.task(queue=QUEUE, retry=Backoff(), name="tiles.purge_front")
def purge_front(*, url: str, tags: str) -> int:
    """PURGE with `xkey-purge: <tags>` to one front; the number of objects it dropped (when it says). The URL
    is the job's own (taken when the change was made), so a worker configured otherwise still purges it."""
    request = urllib.request.Request(url, method="PURGE", headers={"xkey-purge": tags})
    try:
        with urllib.request.urlopen(request, timeout=conf.front_purge_timeout()) as response:
            reason = response.reason or ""
    except (urllib.error.URLError, ConnectionError, TimeoutError, OSError) as error:
        log.warning("front purge of %s failed (%s): the job is retried", url, error)
        raise FrontDown(f"{url}: {error}") from error
    digits = "".join(ch for ch in reason if ch.isdigit())
    return int(digits) if digits else 0


@app.task(queue=QUEUE, retry=Backoff(), name="tiles.invalidate_shared_cache")
def invalidate_shared_cache(*, layer_id: int, boxes: list[list[float]], margin: float) -> int:
    """The shared cache's invalidation of a change, again (it failed when the change was made)."""
    from tiles.cache import get_cache

    return len(get_cache().invalidate(layer_id, [tuple(box) for box in boxes], margin))


@app.task(queue=QUEUE, retry=Backoff(), name="tiles.settle_change")
def settle_change(*, layer_id: int, boxes: list[list[float]], margin: float, tags: list[str]) -> int:
    """A change's invalidation and front purge once more, when every replica that is read has replayed it: a
    tile rendered from a lagging replica in between (and stored under the new generation) goes too."""
    from tiles import front
    from tiles.cache import get_cache

    removed = get_cache().invalidate(layer_id, [tuple(box) for box in boxes], margin)
    front.queue_purge(tags)
    return len(removed)
