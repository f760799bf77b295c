"""gunicorn settings shared by `make run` and docker-compose (override with GUNICORN_* variables)."""
import os

workers = int(os.environ.get("GUNICORN_WORKERS", (os.cpu_count() or 1) * 2 + 1))
threads = int(os.environ.get("GUNICORN_THREADS", 1))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", 120))
accesslog = os.environ.get("GUNICORN_ACCESSLOG", None)
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", 0))
