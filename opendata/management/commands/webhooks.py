"""manage.py webhooks add URL --layers a,b [--secret S] [--description D] | list | remove ID | deliveries ID | ping ID."""
from django.core.management.base import BaseCommand, CommandError

from layers.errors import DomainError
from opendata import webhooks
from opendata.webhooks_delivery import webhook_ping
from opendata.webhooks_models import Webhook


def _refusal(error: DomainError) -> CommandError:
    return CommandError(f"{error.message_vi} / {error.message_en}")


class Command(BaseCommand):
    help = "Registers, lists and removes webhooks, and shows a hook's delivery log."

    def add_arguments(self, parser):
        actions = parser.add_subparsers(dest="action", required=True)
        add = actions.add_parser("add", help="register a receiver URL for one or more public layers")
        add.add_argument("url")
        add.add_argument("--layers", required=True, help="layer slugs, comma-separated")
        add.add_argument("--secret", help="at least 16 characters (one is generated and printed once when omitted)")
        add.add_argument("--description", default="")
        actions.add_parser("list", help="the hooks and their layers")
        for name, text in (("remove", "remove a hook"), ("deliveries", "a hook's newest deliveries"),
                           ("ping", "send a test event to a hook")):
            actions.add_parser(name, help=text).add_argument("id")

    def handle(self, *args, action: str, **options):
        try:
            getattr(self, f"_{action}")(**options)
        except DomainError as error:
            raise _refusal(error) from None

    def _add(self, *, url: str, layers: str, secret: str | None, description: str, **_):
        hook, secret_used = webhooks.webhook_create(url=url, layers=webhooks.layers_by_slug(layers.split(",")),
                                                    secret=secret, description=description)
        self.stdout.write(f"Đã đăng ký webhook #{hook.pk} / Registered webhook #{hook.pk}: {hook.url}")
        if secret is None:  # shown this once: the admin shows it masked
            self.stdout.write(f"secret: {secret_used}")

    def _list(self, **_):
        for hook in Webhook.objects.prefetch_related("layers").order_by("id"):
            slugs = ",".join(layer.slug for layer in hook.layers.all())
            state = "active" if hook.active else "inactive"
            self.stdout.write(f"#{hook.pk:<5} {state:<8} {hook.url}  layers={slugs}  {hook.description}")

    def _remove(self, *, id: str, **_):
        hook = webhooks.webhook_get(id)
        webhooks.webhook_remove(hook=hook)
        self.stdout.write(f"Đã xóa webhook #{id} / Removed webhook #{id}")

    def _deliveries(self, *, id: str, **_):
        for delivery in webhooks.deliveries_of(webhooks.webhook_get(id)):
            layer = delivery.layer.slug if delivery.layer else "-"
            self.stdout.write(f"{delivery.created_at:%Y-%m-%d %H:%M:%S} {delivery.event_id} {layer} {delivery.status} "
                              f"attempts={delivery.attempts} http={delivery.last_status or '-'} {delivery.last_error[:120]}")

    def _ping(self, *, id: str, **_):
        delivery = webhook_ping(hook=webhooks.webhook_get(id))
        self.stdout.write(f"Đã xếp hàng sự kiện thử {delivery.event_id} / Test event queued: {delivery.event_id}")
