"""English number and date formats: Django's, with digit grouping (1,948.8 m²)."""
from django.conf.locale.en.formats import *  # noqa: F401,F403

NUMBER_GROUPING = 3
