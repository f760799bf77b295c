"""Settings from the environment, migrations, and the production compose file matching the settings."""
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.db import connection

from gisportal.env import env_bool, env_int, env_list

ROOT = Path(__file__).resolve().parent.parent


def _settings_in(env: dict) -> subprocess.CompletedProcess:
    """Imports the settings in a fresh interpreter with this environment."""
    code = "import gisportal.settings as s; print(s.DATABASES['default']['HOST'], s.DATABASES['default']['NAME'], s.DEBUG)"
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_URL", "DJANGO_", "GISPORTAL_"))}
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, env={**clean, **env}, capture_output=True, text=True)


def test_database_url_overrides_the_private_cluster():
    out = _settings_in({"DATABASE_URL": "postgis://u:p@db.example:5433/citydb", "DJANGO_SECRET_KEY": "k"})
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["db.example", "citydb", "False"]


def test_default_database_is_the_socket_in_var():
    out = _settings_in({"DJANGO_SECRET_KEY": "k"})
    assert out.stdout.split()[0] == str(ROOT / "var" / "pgsock")


def test_env_helpers_parse_and_refuse(monkeypatch):
    monkeypatch.setenv("X_BOOL", "Yes")
    monkeypatch.setenv("X_INT", "12")
    monkeypatch.setenv("X_LIST", " a, b ,,c")
    assert env_bool("X_BOOL") and env_int("X_INT", 1) == 12 and env_list("X_LIST", []) == ["a", "b", "c"]
    monkeypatch.setenv("X_INT", "twelve")
    with pytest.raises(ImproperlyConfigured, match="X_INT"):
        env_int("X_INT", 1)


def test_vietnamese_is_the_default_language():
    assert settings.LANGUAGE_CODE == "vi" and [c for c, _ in settings.LANGUAGES] == ["vi", "en"]


@pytest.mark.django_db
def test_migrations_are_complete_and_extensions_present():
    call_command("makemigrations", "--check", "--dry-run", verbosity=0)  # SystemExit(1) if a model lacks one
    with connection.cursor() as cursor:
        cursor.execute("SELECT extname FROM pg_extension")
        extensions = {row[0] for row in cursor.fetchall()}
        cursor.execute("SELECT auth_name, proj4text FROM spatial_ref_sys WHERE srid = 9210")
        auth, proj4 = cursor.fetchone()
    assert {"postgis", "btree_gist", "pg_trgm", "unaccent"} <= extensions
    assert auth is None and "+towgs84=-191.90441429" in proj4


def _compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_compose_has_postgis_and_web_with_volumes():
    compose = _compose()
    assert compose["services"]["primary"]["image"].startswith("postgis/postgis:15-3")
    assert compose["services"]["replica"]["image"] == compose["services"]["primary"]["image"]
    web = compose["services"]["web"]
    assert web["build"] == "." and "ports" not in web  # the public reach the nodes through the front only
    assert compose["services"]["varnish"]["ports"] == ["${PORT:-8080}:80"]
    assert {"primary-data", "shared"} <= set(compose["volumes"])
    assert any(v.startswith("shared:") for v in web["volumes"])


def test_compose_variables_are_the_ones_settings_read():
    web_env = set(_compose()["services"]["web"]["environment"])
    read_by_code = set()
    for path in [ROOT / "gisportal" / "settings.py", ROOT / "gisportal" / "gunicorn.conf.py", ROOT / "scripts" / "docker-entrypoint.sh",
                 ROOT / "tiles" / "conf.py"]:
        read_by_code |= set(re.findall(r"""(?:env_\w+\(|environ\.get\(|_setting\(|\$\{)["']?([A-Z][A-Z0-9_]+)""", path.read_text()))
    assert web_env <= read_by_code, f"compose sets variables nothing reads: {web_env - read_by_code}"
    assert {"DATABASE_URL", "DJANGO_SECRET_KEY", "DJANGO_ALLOWED_HOSTS"} <= web_env


def test_dockerfile_uses_the_same_entry_and_lock():
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "requirements.lock" in dockerfile and "docker-entrypoint.sh" in dockerfile
    entry = (ROOT / "scripts" / "docker-entrypoint.sh").read_text()
    assert "gisportal/gunicorn.conf.py" in entry and "migrate" in entry
