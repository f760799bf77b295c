"""Django's PostgreSQL backend stays on psycopg2 with psycopg 3 installed beside it (procrastinate's worker).

Django picks psycopg 3 whenever it can import it, and the platform's raw SQL is psycopg2's (copy_expert,
named cursors with itersize, psycopg2.sql, its error classes). So while Django's backend makes its choice,
`import psycopg` fails; afterwards psycopg 3 imports normally for procrastinate's own connections.
"""
import importlib
import sys

_BACKEND_MODULES = ("django.db.backends.postgresql.psycopg_any", "django.db.backends.postgresql.base")


def use_psycopg2() -> None:
    """Imports Django's PostgreSQL backend with psycopg 3 hidden (once per process, before any connection)."""
    if _BACKEND_MODULES[0] in sys.modules:
        return
    hidden = {name: sys.modules.pop(name) for name in list(sys.modules) if name.split(".")[0] == "psycopg"}
    sys.modules["psycopg"] = None  # type: ignore[assignment]  # makes `import psycopg` raise ImportError
    try:
        for module in _BACKEND_MODULES:
            importlib.import_module(module)
    finally:
        del sys.modules["psycopg"]
        sys.modules.update(hidden)
