"""manage.py make_demo_city --parcels N --seed S [--if-empty]"""
from django.core.management.base import BaseCommand, CommandError

from demo.services import make_demo_city
from layers.errors import DomainError
from layers.models import Layer


class Command(BaseCommand):
    help = "Generate a plausible Thu Duc (deterministic for a seed) and load it through the ingest pipeline."

    def add_arguments(self, parser):
        parser.add_argument("--parcels", type=int, default=100_000)
        parser.add_argument("--seed", type=int, default=2021)
        parser.add_argument("--if-empty", action="store_true", help="do nothing when the catalog has layers")

    def handle(self, *args, **options):
        if options["if_empty"] and Layer.objects.exists():
            return
        if not 100 <= options["parcels"] <= 2_000_000:
            raise CommandError("--parcels must be between 100 and 2,000,000.")
        if not 0 <= options["seed"] < 2**32:  # numpy's generators take no other seed
            raise CommandError("--seed must be between 0 and 4,294,967,295.")
        try:
            make_demo_city(parcels=options["parcels"], seed=options["seed"], say=self.stdout.write)
        except DomainError as error:
            raise CommandError(error.message_en) from None
