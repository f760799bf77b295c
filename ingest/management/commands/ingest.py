"""manage.py ingest PATH --layer SLUG [--mode create|replace|append|upsert|mirror] [--key F] [--crs …] [--encoding …] [--map a=b,…]
[--not-personal a,b]"""
import json
import time
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from ingest.raster import ingest_raster_run
from ingest.services import MODES, ingest_file
from ingest.models import IngestRun
from layers.errors import DomainError
from layers.params import parse_slug


def parse_map(text: str | None) -> dict[str, str]:
    """'src=dst,src2=dst2' as a dict."""
    if not text:
        return {}
    pairs = [item.split("=", 1) for item in text.split(",") if item.strip()]
    if any(len(p) != 2 or not p[0].strip() or not p[1].strip() for p in pairs):
        raise CommandError("--map takes src=dst pairs separated by commas.")
    return {src.strip(): dst.strip() for src, dst in pairs}


class ProgressBar:
    """A one-line progress bar: done/total, percent and rows per second (only on a terminal or when asked)."""

    def __init__(self, stream, enabled: bool):
        self.stream, self.enabled, self.started = stream, enabled, time.perf_counter()

    def __call__(self, done: int, total: int | None) -> None:
        if not self.enabled:
            return
        rate = done / max(time.perf_counter() - self.started, 1e-6)
        if total:
            filled = int(30 * min(done / total, 1))
            bar = f"[{'#' * filled}{'.' * (30 - filled)}] {done:,}/{total:,} {100 * done / total:5.1f}%"
        else:
            bar = f"{done:,} rows"
        self.stream.write(f"\r{bar}  {rate:,.0f} rows/s", ending="")
        self.stream.flush()

    def close(self) -> None:
        if self.enabled:
            self.stream.write("")


class Command(BaseCommand):
    help = "Load a vector file (or a GeoTIFF) into a layer, in one transaction; the layer is unchanged on any failure."

    def add_arguments(self, parser):
        parser.add_argument("path")
        parser.add_argument("--layer", required=True, help="slug of the target layer (created in --mode create)")
        parser.add_argument("--mode", default="replace", choices=MODES)
        parser.add_argument("--key", help="field matching rows in --mode upsert or mirror")
        parser.add_argument("--crs", help="EPSG code, WKT or proj string, for files that declare none")
        parser.add_argument("--encoding", help="attribute encoding: utf-8, cp1258 or tcvn3")
        parser.add_argument("--source-layer", help="layer inside a GeoPackage/FileGDB/KML, or dataset inside a zip")
        parser.add_argument("--map", help="rename columns: src=dst,…")
        parser.add_argument("--max-rejects", type=int, default=0)
        parser.add_argument("--dry-run", action="store_true")
        parser.add_argument("--recheck", action="store_true",
                            help="read and compare the file even when the layer's last load was this same file")
        parser.add_argument("--progress", action="store_true", help="show the progress bar even when not on a terminal")
        parser.add_argument("--report", help="write the run's report as JSON to this path")
        parser.add_argument("--not-personal", default="",
                            help="fields not to mark as personal data, comma-separated (likely ones are marked by default)")

    def handle(self, *args, **options):
        try:  # a slug, never a path ('../etc'), checked by the same parser as every other door
            options["layer"] = parse_slug(options["layer"], parameter="--layer")
        except DomainError as error:
            raise CommandError(f"{error.message_en} / {error.message_vi}") from None
        path = Path(options["path"])
        if not path.is_file():
            raise CommandError(f"No such file: {path} / Không có tệp: {path}")
        if path.suffix.lower() in (".tif", ".tiff"):
            return self._raster(path, options["layer"], options["report"])
        bar = ProgressBar(self.stderr, options["progress"] or self.stderr.isatty())
        try:
            run = ingest_file(
                path=path, layer=options["layer"], mode=options["mode"], crs=options["crs"],
                encoding=options["encoding"], source_layer=options["source_layer"], key=options["key"],
                column_map=parse_map(options["map"]), max_rejects=options["max_rejects"],
                dry_run=options["dry_run"], progress=bar, recheck=options["recheck"],
                not_personal=[n.strip() for n in options["not_personal"].split(",") if n.strip()],
            )
        except DomainError as error:
            bar.close()
            self._write_report(options["report"], options["layer"])
            raise CommandError(f"{error.message_en} / {error.message_vi}") from None
        bar.close()
        self._write_report(options["report"], options["layer"])
        report = run.report
        self.stdout.write(
            f"{run.layer_slug}{' (dry run)' if options['dry_run'] else ''}: read {run.read_count}, "
            f"loaded {run.loaded_count} (inserted {report['inserted']}, updated {report['updated']}, "
            f"unchanged {report['unchanged']}, deleted {report['deleted']}), repaired {run.repaired_count}, "
            f"rejected {run.rejected_count}; CRS {run.crs_used}; run #{run.pk}"
        )
        for item in report.get("personal_fields", []):
            self.stdout.write(f"personal field: {item['field']} ({item['reason_en']}): hidden from the public")
        for warning in report["warnings"]:
            self.stdout.write(f"warning: {warning}")
        for row in report["rejected"][:20]:
            field = f" [{row['field']}={row['value']!r}]" if row["field"] else ""
            self.stdout.write(f"rejected row {row['row']}: {row['reason_en']}{field}")

    def _raster(self, path: Path, slug: str, report_path: str | None) -> None:
        try:
            run = ingest_raster_run(path=path, layer_slug=slug)
        except DomainError as error:
            raise CommandError(f"{error.message_en} / {error.message_vi}") from None
        finally:
            self._write_report(report_path, slug)
        self.stdout.write(f"{slug}: raster stored at {run.report['raster']['path']}; run #{run.pk}")

    def _write_report(self, report_path: str | None, slug: str) -> None:
        """The latest run's report as JSON (on success and on failure)."""
        if not report_path:
            return
        run = IngestRun.objects.filter(layer_slug=slug).order_by("-id").first()
        if run is not None:
            Path(report_path).write_text(json.dumps({"run": run.pk, "status": run.status, "file": run.file_name,
                                                     "sha256": run.file_sha256, **run.report}, ensure_ascii=False, indent=1))
