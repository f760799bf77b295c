"""The Django project (settings, urls, middleware, wsgi)."""
from gisportal import psycopg2_first  # noqa: F401 - before any Django backend loads: Django on psycopg2 (see the module)
