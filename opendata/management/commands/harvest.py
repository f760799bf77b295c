"""manage.py harvest add URL --kind ogcapi|wfs|arcgis --layer SLUG [--remote-layer NAME] [--every 1h] [--key FIELD]
manage.py harvest run SLUG | harvest list | harvest remove SLUG"""
from django.core.management.base import BaseCommand, CommandError

from layers.errors import DomainError
from opendata import harvest
from opendata.harvest_models import HarvestRun, HarvestSource


class Command(BaseCommand):
    help = "Harvest sources: another agency's OGC API – Features, WFS 2.0 or ArcGIS REST layer mirrored into ours."

    def add_arguments(self, parser):
        commands = parser.add_subparsers(dest="action", required=True)
        add = commands.add_parser("add", help="register a source (its host must be in GISPORTAL_HARVEST_HOSTS)")
        add.add_argument("url")
        add.add_argument("--kind", required=True, choices=sorted(harvest.READERS))
        add.add_argument("--layer", required=True, help="our layer's slug (made by the first harvest)")
        add.add_argument("--remote-layer", default="", help="collection id / feature type name / layer id")
        add.add_argument("--every", default="", help="schedule: 15m, 1h, 1d (at least 5m); blank: by hand")
        add.add_argument("--key", default="", help="the remote feature id field (default: id, gml_id, objectIdField)")
        commands.add_parser("run", help="harvest one source now").add_argument("slug")
        commands.add_parser("list", help="the sources and their last run")
        commands.add_parser("remove", help="forget a source (the layer stays)").add_argument("slug")

    def handle(self, *args, action, **options):
        try:
            getattr(self, f"_{action}")(**options)
        except DomainError as error:
            raise CommandError(f"{error.message_vi} / {error.message_en}") from None

    def _add(self, *, url, kind, layer, remote_layer, every, key, **_):
        source = harvest.source_add(url=url, kind=kind, layer_slug=layer, remote_layer=remote_layer, key_field=key,
                                    every=every)
        self.stdout.write(f"added {source.layer_slug} ← {source.kind} {source.url} (every {source.every or 'manual'})")

    def _run(self, *, slug, **_):
        run = harvest.harvest_run(source=harvest.source_get(layer_slug=slug))
        if run.status == HarvestRun.Status.FAILED:
            raise CommandError(f"{slug}: {harvest.describe(run)}")
        self.stdout.write(f"{slug}: {harvest.describe(run)}")

    def _list(self, **_):
        for s in HarvestSource.objects.all():
            self.stdout.write(f"{s.layer_slug}\t{s.kind}\t{s.url}\tevery={s.every or 'manual'}\tactive={s.active}\t"
                              f"last={s.last_run_at or '-'} {s.last_status or ''}\tnext={s.next_run_at or '-'}")

    def _remove(self, *, slug, **_):
        harvest.source_remove(layer_slug=slug)
        self.stdout.write(f"removed {slug}")
