"""Vietnamese number and date formats: Django's, with digit grouping (1.948,8 m²) and one date style,
day first with the time after it (02/12/2026 09:10), on every page."""
from django.conf.locale.vi.formats import *  # noqa: F401,F403

NUMBER_GROUPING = 3
DECIMAL_SEPARATOR = ","
THOUSAND_SEPARATOR = "."
DATE_FORMAT = SHORT_DATE_FORMAT = "d/m/Y"
TIME_FORMAT = "H:i"
DATETIME_FORMAT = SHORT_DATETIME_FORMAT = "d/m/Y H:i"
