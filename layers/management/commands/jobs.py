"""manage.py jobs [--queue Q] [--status S] [--limit N]: the job queue as every node sees it."""
from django.core.management.base import BaseCommand, CommandError

from layers.jobs import queue_counts, recent_jobs

STATUSES = ("todo", "doing", "succeeded", "failed", "cancelled", "aborting", "aborted")


class Command(BaseCommand):
    help = "Shows the job queue: counts per queue and status, live workers, and the newest jobs."

    def add_arguments(self, parser):
        parser.add_argument("--queue", help="only this queue (ingest, exports, tiles, builtin)")
        parser.add_argument("--status", help=f"only this status ({', '.join(STATUSES)})")
        parser.add_argument("--limit", type=int, default=20, help="newest jobs listed (default 20)")

    def handle(self, *args, queue=None, status=None, limit=20, **options):
        if status is not None and status not in STATUSES:
            raise CommandError(f"Trạng thái không hợp lệ: {status!r} / Not a job status: {status!r} "
                               f"({', '.join(STATUSES)})")
        if not 0 <= limit <= 10_000:
            raise CommandError("--limit: từ 0 đến 10000 / from 0 to 10000")
        for name, state, count in queue_counts():
            self.stdout.write(f"{name:<10} {state:<10} {count}")
        for job in recent_jobs(queue=queue, status=status, limit=limit):
            info = job.as_dict()
            self.stdout.write(f"#{job.id:<8} {job.queue:<9} {job.task:<26} {job.status:<10} attempts {job.attempts}  "
                              f"{info['label_en']}")
