"""manage.py history_compact SLUG --before ISO_TIME: fold a layer's old history (layers.compaction)."""
from django.core.management.base import BaseCommand, CommandError

from layers.compaction import history_compact
from layers.errors import DomainError
from layers.models import Layer
from layers.params import parse_moment, parse_slug


class Command(BaseCommand):
    help = ("Thu gọn lịch sử một lớp / Compacts a layer's history: per feature, the versions at or before --before are "
            "folded into the latest one (a feature deleted by then loses its history before the time), in one "
            "transaction. Frees the removed history rows (their space returns after autovacuum) and empties old "
            "bulk-load history segments, which the next ingest drops (ingest.bulk.drop_orphans): history segments "
            "no longer accumulate. Afterwards as-of reads and diffs before the time, and change-feed cursors older "
            "than the last removed change, get 410 Gone; a feed replayed from its start still ends equal to the layer.")

    def add_arguments(self, parser):
        parser.add_argument("slug", help="the layer's slug")
        parser.add_argument("--before", required=True,
                            help="ISO 8601 date or RFC 3339 date-time, e.g. 2025-01-01T00:00:00+07:00 (a date alone: its end)")

    def handle(self, *args, slug: str, before: str, **options):
        try:
            layer = Layer.objects.filter(slug=parse_slug(slug)).first()
            if layer is None:
                raise CommandError(f"Không có lớp {slug!r} / No layer {slug!r}")
            result = history_compact(layer=layer, before=parse_moment(before, "--before"))
        except DomainError as error:
            raise CommandError(f"{error.message_vi} / {error.message_en}") from None
        horizon = result.horizon
        self.stdout.write(f"{layer.slug}: {result.rows_removed} history rows removed"
                          + (f"; horizon before {horizon.before.isoformat()}" if horizon else "; history is whole"))
