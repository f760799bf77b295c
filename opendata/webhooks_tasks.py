"""Webhook jobs (queue "webhooks"): making events per layer, one attempt per delivery, and the sweep each minute.

No procrastinate retry strategy on the delivery: its back-off is recorded on the delivery row (shown in the admin)
and the next attempt queued from there; a job that dies is put back by the stalled-job recovery or the sweep.
"""
from procrastinate import RetryStrategy
from procrastinate.contrib.django import app

from opendata import webhooks_delivery


@app.task(name="opendata.webhook_dispatch", queue="webhooks", retry=RetryStrategy(max_attempts=5, exponential_wait=5))
def webhook_dispatch(*, layer_id: int) -> int:
    """The layer's new transactions made into one event each, per active hook."""
    return webhooks_delivery.dispatch(layer_id)


@app.task(name="opendata.webhook_deliver", queue="webhooks")
def webhook_deliver(*, delivery_id: int, attempt: int) -> str:
    """One signed POST of one delivery (attempt: the attempts it had when queued; a stale job does nothing)."""
    return webhooks_delivery.deliver(delivery_id, attempt)


@app.periodic(cron="* * * * *", periodic_id="webhooks_sweep")
@app.task(name="opendata.webhook_sweep", queue="webhooks", queueing_lock="webhooks_sweep")
def webhook_sweep(timestamp: int) -> int:
    """Deliveries left without a job, and layers with changes not yet dispatched, woken again."""
    return webhooks_delivery.sweep()
