"""Django's PostgreSQL backend on psycopg2, although psycopg 3 is installed (procrastinate's worker uses it).

Django picks psycopg 3 whenever it can import it; the portal's SQL is written for psycopg2 (COPY through
copy_expert, psycopg2.sql, its error classes), so the choice is made here, once, before the backend loads:
psycopg is hidden while Django's backend modules are imported (settings are read by them only later), then
given back for procrastinate.
"""
import importlib
import sys

_MISSING = object()
_saved = sys.modules.get("psycopg", _MISSING)
if "django.db.backends.postgresql.base" not in sys.modules:
    sys.modules["psycopg"] = None  # `import psycopg` raises ImportError while this is set
    try:
        importlib.import_module("django.db.backends.postgresql.psycopg_any")
        importlib.import_module("django.db.backends.postgresql.base")
    finally:
        if _saved is _MISSING:
            del sys.modules["psycopg"]
        else:
            sys.modules["psycopg"] = _saved
