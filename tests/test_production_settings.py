"""Production settings from the environment: `check --deploy` clean, proxies trusted by configuration only,
and fingerprinted static files (collectstatic as the release step) served with a year's immutable caching."""
import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import Client

ROOT = Path(__file__).resolve().parent.parent
PRODUCTION = {
    "DJANGO_DEBUG": "0",
    "DJANGO_SECRET_KEY": secrets.token_urlsafe(64),
    "DJANGO_ALLOWED_HOSTS": "gis.example.vn",
    "DJANGO_CSRF_TRUSTED_ORIGINS": "https://gis.example.vn",
    "DJANGO_SECURE_COOKIES": "1",
    "DJANGO_SECURE_SSL_REDIRECT": "1",
    "DJANGO_SECURE_PROXY_SSL_HEADER": "1",
    "DJANGO_SECURE_HSTS_SECONDS": "31536000",
    "DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS": "1",
    "DJANGO_SECURE_HSTS_PRELOAD": "1",
    "GISPORTAL_TRUSTED_PROXIES": "10.0.0.0/8",
    "GISPORTAL_STATIC_MANIFEST": "1",
}


def _manage(*args: str, env: dict) -> subprocess.CompletedProcess:
    """manage.py in a fresh interpreter with only this project environment (none of the test run's)."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_URL", "DJANGO_", "GISPORTAL_",
                                                                        "PYTEST"))}
    return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env={**clean, **env}, capture_output=True,
                          text=True, timeout=300)


def test_check_deploy_is_clean_with_the_production_environment():
    out = _manage("check", "--deploy", "--fail-level", "WARNING", env=PRODUCTION)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "System check identified no issues" in out.stdout


def test_check_deploy_names_what_a_missing_variable_leaves_unsafe():
    weaker = {**PRODUCTION, "DJANGO_SECURE_HSTS_SECONDS": "0", "DJANGO_SECURE_COOKIES": "0"}
    out = _manage("check", "--deploy", "--fail-level", "WARNING", env=weaker)
    assert out.returncode != 0
    assert "security.W004" in out.stderr and "security.W012" in out.stderr


def test_a_bad_trusted_proxy_stops_the_start():
    out = _manage("check", env={**PRODUCTION, "GISPORTAL_TRUSTED_PROXIES": "10.0.0.0/8,front.local"})
    assert out.returncode != 0 and "GISPORTAL_TRUSTED_PROXIES" in out.stderr and "front.local" in out.stderr


@pytest.mark.django_db
def test_fingerprinted_static_files_are_served_for_a_year(settings, tmp_path):
    static_root = tmp_path / "static"
    # The release step, without the .gz/.br copies: they are WhiteNoise's, and brotli costs a minute of CPU here.
    out = _manage("collectstatic", "--noinput", "-v", "0",
                  env={**PRODUCTION, "GISPORTAL_STATIC_ROOT": str(static_root), "GISPORTAL_STATIC_COMPRESS": "0"})
    assert out.returncode == 0, out.stderr
    settings.STORAGES = {**settings.STORAGES,
                         "staticfiles": {"BACKEND": "gisportal.storage.FingerprintedUncompressedStorage"}}
    settings.STATIC_ROOT = static_root
    settings.WHITENOISE_USE_FINDERS = False
    client = Client()  # a new handler: WhiteNoise reads the collected files
    page = client.get("/").content.decode()
    hashed = re.findall(r'/static/([\w/.-]+\.[0-9a-f]{12}\.(?:css|js))"', page)
    assert hashed, "the map page links no fingerprinted asset"
    for name in hashed:
        response = client.get(f"/static/{name}")
        assert response.status_code == 200, name
        assert "immutable" in response["Cache-Control"] and "max-age=315360000" in response["Cache-Control"], name
    assert not re.search(r'(?:src|href)="/static/[\w/.-]+(?<!\.[0-9a-f]{12})\.(?:css|js)"', page)  # none unhashed
    # Leaflet's marker images, found from a folder given to it rather than from leaflet.css's (renamed) URL
    catalog = client.get("/phan-anh/").content.decode()  # a page with a Leaflet map (the catalog draws none now)
    images = re.search(r'<script id="force-img-path" type="application/json">"([^"]+)"</script>', catalog).group(1)
    assert client.get(images + "marker-icon.png").status_code == 200
