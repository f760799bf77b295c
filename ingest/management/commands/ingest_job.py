"""manage.py ingest_job RUN_ID: runs one queued upload (the worker's ingest.run task starts this as its child)."""
from django.core.management.base import BaseCommand, CommandError

from ingest.jobs import run_job
from ingest.models import IngestRun


class Command(BaseCommand):
    help = "Run one queued ingest job (the job worker runs this in a child process)."

    def add_arguments(self, parser):
        parser.add_argument("run_id", type=int)

    def handle(self, *args, **options):
        if not IngestRun.objects.filter(pk=options["run_id"]).exists():
            raise CommandError(f"No ingest run #{options['run_id']} / Không có lần nạp #{options['run_id']}")
        run = run_job(options["run_id"])
        self.stdout.write(f"run #{run.pk}: {run.status}, read {run.read_count}, loaded {run.loaded_count}, "
                          f"rejected {run.rejected_count}")
