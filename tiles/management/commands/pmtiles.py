"""manage.py pmtiles build SLUG | basemap | --all [--queue]: build PMTiles archives now (or by the job worker)."""
from django.core.management.base import BaseCommand, CommandError

from tiles import archives


class Command(BaseCommand):
    help = "Builds the PMTiles archive of a public vector layer, of the basemap, or of all of them."

    def add_arguments(self, parser):
        commands = parser.add_subparsers(dest="action", required=True)
        build = commands.add_parser("build", help="build archives (GISPORTAL_SHARED_DIR/pmtiles)")
        build.add_argument("name", nargs="?", help='a public vector layer\'s slug, or "basemap"')
        build.add_argument("--all", action="store_true", help="every public vector layer and the basemap")
        build.add_argument("--queue", action="store_true", help="queue the builds for the job worker instead")

    def handle(self, *args, action: str, name: str | None = None, all: bool = False, queue: bool = False, **options):
        if bool(name) == all:
            raise CommandError("Give one archive name (a layer slug or basemap) or --all.")
        names = archives.archive_names() if all else [name]
        if not names:
            self.stdout.write("No public vector layer: no archive to build.")
        for archive in names:
            if not archives.archive_layers(archive):
                raise CommandError(f"No public vector layer (or basemap) named {archive!r}: restricted layers, "
                                   "rasters and unknown names have no archive.")
        for archive in names:
            if queue:
                queued = archives.queue_build(archive, delay=0)
                self.stdout.write(f"{archive}: {'queued' if queued else 'already waiting'}")
                continue
            report = archives.build_archive(archive)
            self.stdout.write(f"{archive}: {report.tiles} tiles (of {report.tried} tried), zoom "
                              f"{report.min_zoom}-{report.max_zoom}, {report.bytes} bytes, {report.seconds:.1f} s "
                              f"-> {archives.archive_path(archive)}")
