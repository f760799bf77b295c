#!/bin/sh
# Renders the VCL from the web service's addresses (WEB_BACKENDS, e.g. web:8000), then runs Varnish in the
# foreground. After `docker compose up --scale web=N`, restart this service so it sees every replica.
set -eu
purgers=""
for net in ${PURGERS:-}; do purgers="$purgers --purger $net"; done
until python3 /deploy/varnish/render.py --resolve ${WEB_BACKENDS:-web:8000} $purgers >/etc/varnish/gisportal.vcl; do
  echo "waiting for ${WEB_BACKENDS:-web:8000} to resolve…"; sleep 2
done
exec varnishd -F -a :80 -f /etc/varnish/gisportal.vcl -s "malloc,${FRONT_MEMORY:-512m}"
