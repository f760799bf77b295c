"""English number and date formats: Django's, with digit grouping (1,948.8 m²) and one date style,
day first with a 24-hour time (2 Dec 2026, 09:10), on every page: never month-first, never "a.m.."."""
from django.conf.locale.en.formats import *  # noqa: F401,F403

NUMBER_GROUPING = 3
DATE_FORMAT = SHORT_DATE_FORMAT = "j M Y"
TIME_FORMAT = "H:i"
DATETIME_FORMAT = SHORT_DATETIME_FORMAT = "j M Y, H:i"
