"""Jobs of the tiles app (procrastinate): purging the caching front, and shared-cache invalidations that
could not run when the change was made (Redis down). Both retried with exponential back-off."""
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
    """first wait × 2^attempt seconds, capped at 5 minutes; up to 60 attempts (about 4 hours of retrying:
    a front or Redis down longer than that is an outage the operator sees; the layer tag purge or the
    TTL then settles it)."""

    max_attempts = 60

    def get_retry_decision(self, *, exception, job):
        if job.attempts >= self.max_attempts:
            return None
        wait = min(_MAX_WAIT_SECONDS, conf.front_purge_retry_seconds() * 2 ** min(job.attempts, 16))
        return RetryDecision(retry_in={"seconds": wait})


@app.task(queue=QUEUE, retry=Backoff(), name="tiles.purge_front")
def purge_front(*, url: str, tags: str) -> int:
    """PURGE with `xkey-purge: <tags>` to one front; the number of objects it dropped (when it says)."""
    if url not in conf.front_purge_urls():  # a front removed from the configuration since: nothing to do
        log.info("purge for %s dropped: no longer a configured front", url)
        return 0
    request = urllib.request.Request(url, method="PURGE", headers={"xkey-purge": tags})
    try:
        with urllib.request.urlopen(request, timeout=conf.front_purge_timeout()) as response:
            reason = response.reason or ""
    except (urllib.error.URLError, ConnectionError, TimeoutError, OSError) as error:
        raise FrontDown(f"{url}: {error}") from error
    digits = "".join(ch for ch in reason if ch.isdigit())
    return int(digits) if digits else 0


@app.task(queue=QUEUE, retry=Backoff(), name="tiles.invalidate_shared_cache")
def invalidate_shared_cache(*, layer_id: int, boxes: list[list[float]], margin: float) -> int:
    """The shared cache's invalidation of a change, again (it failed when the change was made)."""
    from tiles.cache import get_cache

    return len(get_cache().invalidate(layer_id, [tuple(box) for box in boxes], margin))
