# The web image: the same set-up script as local runs (scripts/bootstrap.sh deps installs the Debian
# packages and the pinned Python dependencies), then gunicorn with gisportal/gunicorn.conf.py.
FROM debian:12-slim

ENV DEBIAN_FRONTEND=noninteractive \
    PYTHONUNBUFFERED=1 \
    GISPORTAL_STATIC_ROOT=/app/staticfiles \
    GISPORTAL_STATIC_MANIFEST=1 \
    GISPORTAL_MEDIA_ROOT=/data/media

RUN apt-get update -q && apt-get install -y -q --no-install-recommends \
        python3 python3-venv python3-pip ca-certificates gdal-bin libgeos-c1v5 proj-bin gettext \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY requirements.lock ./
RUN python3 -m venv /app/.venv && /app/.venv/bin/pip install --no-cache-dir -r requirements.lock
COPY . .
RUN DJANGO_SECRET_KEY=build-only /app/.venv/bin/python manage.py collectstatic --noinput -v0 \
    && (DJANGO_SECRET_KEY=build-only /app/.venv/bin/python manage.py compilemessages -v0 || true)

EXPOSE 8000
# scripts/docker-entrypoint.sh: `release` (migrate once per deployment), `web` (gunicorn), `worker` (the job queue).
ENTRYPOINT ["/app/scripts/docker-entrypoint.sh"]
CMD ["web"]
