#!/usr/bin/env bash
# Production entry point (docker-compose): migrate, then serve with gunicorn on :8000.
set -euo pipefail
cd /app
for _ in $(seq 1 60); do
  .venv/bin/python manage.py migrate --noinput -v0 && break
  echo "waiting for the database…"; sleep 2
done
if [ "${GISPORTAL_LOAD_DEMO:-0}" = 1 ]; then .venv/bin/python manage.py make_demo_city --if-empty; fi
exec .venv/bin/gunicorn gisportal.wsgi:application --config gisportal/gunicorn.conf.py --bind 0.0.0.0:8000
