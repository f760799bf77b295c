"""Open data jobs (queue "exports"): prebuilding the whole-layer download files after a change."""
from procrastinate import RetryStrategy
from procrastinate.contrib.django import app

from opendata.prebuild import prebuild


# Busy build slots (503 to a request) or a lost database connection: tried again later, waiting longer each time.
@app.task(name="opendata.prebuild_exports", queue="exports", retry=RetryStrategy(max_attempts=5, exponential_wait=5))
def prebuild_exports(*, layer_id: int) -> list[str]:
    """The layer's whole-layer public files, built once into the shared cache."""
    return prebuild(layer_id)

from opendata.harvest_tasks import harvest_due, harvest_source  # noqa: E402,F401  (registered with the app)
from opendata.webhooks_tasks import webhook_deliver, webhook_dispatch, webhook_sweep  # noqa: E402,F401 (queue "webhooks")
