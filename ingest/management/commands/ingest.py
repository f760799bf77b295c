"""manage.py ingest PATH --layer SLUG [--mode replace|append] [--crs …] [--encoding …] [--map a=b,…]"""
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from ingest.services import MODES, ingest_file
from layers.errors import DomainError, UnknownLayer
from layers.models import Layer


def parse_map(text: str | None) -> dict[str, str]:
    """'src=dst,src2=dst2' as a dict."""
    if not text:
        return {}
    pairs = [item.split("=", 1) for item in text.split(",") if item.strip()]
    if any(len(p) != 2 or not p[0].strip() or not p[1].strip() for p in pairs):
        raise CommandError("--map takes src=dst pairs separated by commas.")
    return {src.strip(): dst.strip() for src, dst in pairs}


class Command(BaseCommand):
    help = "Load a vector file into a layer (one transaction; the layer is unchanged on any failure)."

    def add_arguments(self, parser):
        parser.add_argument("path")
        parser.add_argument("--layer", required=True, help="slug of the target layer")
        parser.add_argument("--mode", default="replace", choices=MODES)
        parser.add_argument("--crs", help="EPSG code, WKT or proj string when the file has none")
        parser.add_argument("--encoding", help="attribute encoding (utf-8, cp1258, …)")
        parser.add_argument("--source-layer", help="layer inside a GeoPackage or FileGDB")
        parser.add_argument("--map", help="rename columns: src=dst,…")
        parser.add_argument("--max-rejects", type=int, default=0)
        parser.add_argument("--dry-run", action="store_true")

    def handle(self, *args, **options):
        try:
            layer = Layer.objects.get(slug=options["layer"])
        except Layer.DoesNotExist:
            raise CommandError(UnknownLayer().message_en) from None
        try:
            run = ingest_file(
                path=Path(options["path"]), layer=layer, mode=options["mode"], crs=options["crs"],
                encoding=options["encoding"], source_layer=options["source_layer"],
                column_map=parse_map(options["map"]), max_rejects=options["max_rejects"],
                dry_run=options["dry_run"],
            )
        except DomainError as error:
            raise CommandError(f"{error.message_en} / {error.message_vi}") from None
        self.stdout.write(
            f"{run.layer_slug}: read {run.read_count}, loaded {run.loaded_count}, repaired {run.repaired_count}, "
            f"rejected {run.rejected_count}; CRS {run.crs_used}"
        )
