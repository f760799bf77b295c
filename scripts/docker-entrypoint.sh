#!/usr/bin/env bash
# Production entry point (docker-compose, deploy/): one image, three roles.
#   release  the release step, once per deployment (compose's `migrate` service): migrate; the demo city when
#            GISPORTAL_LOAD_DEMO=1. Static files are collected (fingerprinted) when the image is built.
#   web      gunicorn on :8000 (never migrates: several nodes start at once)
#   worker   the job queue's worker (procrastinate)
# Anything else runs as given (e.g. `python manage.py shell`).
set -euo pipefail
cd /app

wait_for_database() {
  local _
  for _ in $(seq 1 60); do
    .venv/bin/python manage.py shell -c "from django.db import connection; connection.ensure_connection()" >/dev/null 2>&1 && return 0
    echo "waiting for the database…"; sleep 2
  done
  echo "the database did not answer in 2 minutes (DATABASE_URL)" >&2; exit 1
}

case "${1:-web}" in
  release)
    wait_for_database
    .venv/bin/python manage.py migrate --noinput -v1
    if [ "${GISPORTAL_LOAD_DEMO:-0}" = 1 ]; then .venv/bin/python manage.py make_demo_city --if-empty; fi
    .venv/bin/python manage.py pmtiles build --all --queue ;;  # archives are built by the worker
  web)
    wait_for_database
    exec .venv/bin/gunicorn gisportal.wsgi:application --config gisportal/gunicorn.conf.py --bind 0.0.0.0:8000 ;;
  worker)
    wait_for_database
    exec .venv/bin/python manage.py procrastinate worker ;;
  *) exec "$@" ;;
esac
