"""Vietnamese number and date formats: Django's, with digit grouping (1.948,8 m²)."""
from django.conf.locale.vi.formats import *  # noqa: F401,F403

NUMBER_GROUPING = 3
DECIMAL_SEPARATOR = ","
THOUSAND_SEPARATOR = "."
