"""gunicorn settings shared by `make run` and docker-compose (override with GUNICORN_* variables)."""
import os

workers = int(os.environ.get("GUNICORN_WORKERS", (os.cpu_count() or 1) * 2 + 1))
threads = int(os.environ.get("GUNICORN_THREADS", 1))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", 120))
accesslog = os.environ.get("GUNICORN_ACCESSLOG", None)
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", 0))
# gunicorn believes X-Forwarded-Proto (wsgi.url_scheme) only from the proxies Django trusts (gisportal/clientip.py):
# by default none, where gunicorn's own default would trust anything on 127.0.0.1, a front passing clients' headers.
forwarded_allow_ips = os.environ.get("GISPORTAL_TRUSTED_PROXIES", "")
