#!/usr/bin/env bash
# The one set-up behind `make run`, `make test` and `make bench`:
# system packages, the Python virtualenv, the project-private PostGIS cluster and the database.
# Usage: scripts/bootstrap.sh {deps|db|redis|replica|replica-status|run|test|bench|stop|cluster|cluster-stop|backup|restore}
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VAR="$ROOT/var"
VENV="$ROOT/.venv"
PY="$VENV/bin/python"
PG_PORT="${GISPORTAL_PG_PORT:-54329}"
PG_SOCK="$VAR/pgsock"
PG_DATA="$VAR/pgdata"
PG_DB="${GISPORTAL_DB_NAME:-gisportal}"
REPLICA_PORT="${GISPORTAL_REPLICA_PORT:-54331}"
REPLICA_DATA="$VAR/pgreplica"
REPLICA_SLOT="gisportal_replica"
REDIS_DIR="$VAR/redis"
REDIS_SOCK="$REDIS_DIR/redis.sock"
WEB_PORT="${PORT:-8000}"

# shellcheck source=scripts/common.sh
. "$ROOT/scripts/common.sh"

# --- system packages -------------------------------------------------------

pg_bindir() {
  # Newest PostgreSQL on the machine that has PostGIS installed beside it.
  local d
  for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
    local v; v="$(basename "$(dirname "$d")")"
    if ls /usr/share/postgresql/"$v"/extension/postgis.control >/dev/null 2>&1; then
      echo "$d"; return 0
    fi
  done
  return 1
}

wanted_packages() {
  # PostgreSQL + PostGIS (15 on Debian 12; the distribution's own on Ubuntu), GDAL/GEOS/PROJ for
  # GeoDjango and ogr2ogr, gettext (msgfmt: a test checks the committed .mo files are current), and for tests the distribution's Chromium
  # (Playwright drives it). GISPORTAL_APT_PACKAGES replaces the list on other distributions.
  if [ -n "${GISPORTAL_APT_PACKAGES:-}" ]; then echo "$GISPORTAL_APT_PACKAGES"; return; fi
  local pg="postgresql-15-postgis-3"
  if ! apt-cache show "$pg" >/dev/null 2>&1; then pg="postgis postgresql"; fi
  # MapServer serves the WMS/WFS door (/ows), its legends in DejaVu (Vietnamese letters); tests also drive the
  # real desktop client, QGIS's Python API.
  # Redis keeps what public requests count and cache (rate counters, sessions, the tile cache), never PostgreSQL.
  echo "$pg gdal-bin libgeos-c1v5 proj-bin gettext mapserver-bin fonts-dejavu-core redis-server"
  # The cluster's caching front (Varnish with xkey for purges by tag); tests drive it too, wrk measures it.
  case "${1:-}" in test|cluster|bench) echo "varnish varnish-modules wrk" ;; esac
  # The harvest tests' pygeoapi reads a GeoPackage through SpatiaLite, in a venv of the system's Python.
  if [ "${1:-}" = test ]; then echo "chromium fonts-dejavu-core python3-qgis qgis-providers libsqlite3-mod-spatialite python3-venv"; fi
}

missing_packages() {
  local p missing=()
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  echo "${missing[@]:-}"
}

install_system_packages() {
  command -v dpkg-query >/dev/null || die "This set-up needs a Debian or Ubuntu machine (dpkg/apt). Install PostgreSQL 15 + PostGIS 3, GDAL, GEOS and PROJ, then set DATABASE_URL."
  local wanted missing
  # shellcheck disable=SC2046
  wanted=$(wanted_packages "${1:-}")
  # gdal-bin brings the GDAL library GeoDjango loads (libgdalNN, whatever NN the release has).
  # shellcheck disable=SC2086
  missing=$(missing_packages $wanted)
  [ -n "${missing// /}" ] || return 0
  local apt=(apt-get)
  if ! is_root; then
    if command -v sudo >/dev/null && sudo -n true 2>/dev/null; then apt=(sudo apt-get)
    else die "Missing system packages: $missing. Install them as root (apt-get install $missing) and run again."
    fi
  fi
  say "installing system packages: $missing"
  if ! "${apt[@]}" install -y -q --no-install-recommends $missing >"$VAR/apt.log" 2>&1; then
    "${apt[@]}" update -q >>"$VAR/apt.log" 2>&1 || true
    "${apt[@]}" install -y -q --no-install-recommends $missing >>"$VAR/apt.log" 2>&1 \
      || die "Could not install: $missing (see $VAR/apt.log). Install them by hand and run again."
  fi
}

# --- python ---------------------------------------------------------------

install_python() {
  local stamp="$VENV/.lock-sha256" want
  want=$(sha256sum "$ROOT/requirements.lock" | cut -d' ' -f1)
  if [ -x "$PY" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then return 0; fi
  say "installing Python dependencies into .venv (pinned in requirements.lock)"
  if [ ! -x "$PY" ]; then
    python3 -m venv "$VENV" 2>/dev/null || {
      is_root && apt-get install -y -q python3-venv >>"$VAR/apt.log" 2>&1 && python3 -m venv "$VENV"
    } || die "python3 -m venv failed: install python3-venv and run again."
  fi
  "$PY" -m pip install -q --disable-pip-version-check -r "$ROOT/requirements.lock" \
    || die "pip could not install requirements.lock (see the messages above)."
  echo "$want" >"$stamp"
}

# --- the private cluster ----------------------------------------------------


port_in_use() {
  python3 - "$1" <<'EOF'
import socket, sys
s = socket.socket(); s.settimeout(0.5)
sys.exit(0 if s.connect_ex(("127.0.0.1", int(sys.argv[1]))) == 0 else 1)
EOF
}

cluster_running() { [ -S "$PG_SOCK/.s.PGSQL.$PG_PORT" ] && as_pg "$BIN/pg_ctl" -D "$PG_DATA" status >/dev/null 2>&1; }

start_cluster() {
  BIN="$(pg_bindir)" || die "PostgreSQL with PostGIS not found under /usr/lib/postgresql; install postgresql-15-postgis-3."
  mkdir -p "$VAR"
  if is_root && ! runuser -u postgres -- test -x "$VAR"; then
    die "The 'postgres' user cannot reach $VAR (a parent folder is private). Clone the project where other users can traverse, or set DATABASE_URL."
  fi
  if [ ! -f "$PG_DATA/PG_VERSION" ]; then
    # initdb into a scratch folder and move it in place only when it succeeded: never a half-made cluster.
    rm -rf "$PG_DATA" "$PG_DATA.partial"
    mkdir -p "$PG_DATA.partial"
    is_root && chown postgres: "$PG_DATA.partial"
    say "creating the private PostgreSQL cluster in var/pgdata"
    as_pg "$BIN/initdb" -D "$PG_DATA.partial" -U postgres --auth-local=trust --auth-host=scram-sha-256 \
      -E UTF8 --locale=C.UTF-8 >"$VAR/initdb.log" 2>&1 \
      || { rm -rf "$PG_DATA.partial"; die "initdb failed (see var/initdb.log); it will be retried on the next run."; }
    mv "$PG_DATA.partial" "$PG_DATA"
  fi
  mkdir -p "$PG_SOCK" "$VAR/pglog"
  if is_root; then chown postgres: "$PG_SOCK" "$VAR/pglog"; fi
  chmod 0700 "$PG_SOCK"
  if cluster_running; then return 0; fi
  # WAL archiving (scripts/backup.sh): on from the start, copying only while var/backup/wal exists.
  backup_sh configure-archive
  if port_in_use "$PG_PORT"; then
    die "Port $PG_PORT on 127.0.0.1 is taken by another program. Set GISPORTAL_PG_PORT to a free port (or DATABASE_URL to use an existing PostGIS)."
  fi
  as_pg "$BIN/pg_ctl" -D "$PG_DATA" -l "$VAR/pglog/postgres.log" -w -t 60 start \
    -o "-p $PG_PORT -k $PG_SOCK -c listen_addresses=127.0.0.1 -c shared_buffers=512MB -c max_connections=100 -c fsync=${GISPORTAL_PG_FSYNC:-on}" \
    >/dev/null || die "PostgreSQL did not start (see var/pglog/postgres.log)."
}

ensure_database() {
  local name="$1"
  as_pg "$BIN/psql" -h "$PG_SOCK" -p "$PG_PORT" -U postgres -d postgres -qtAX \
    -c "SELECT 1 FROM pg_database WHERE datname = '$name'" | grep -q 1 \
    || as_pg "$BIN/createdb" -h "$PG_SOCK" -p "$PG_PORT" -U postgres "$name"
}

# --- Redis (private: a unix socket under var/, no TCP port) -------------------

redis_running() { [ -S "$REDIS_SOCK" ] && redis-cli -s "$REDIS_SOCK" ping 2>/dev/null | grep -q PONG; }

start_redis() {
  command -v redis-server >/dev/null || die "redis-server is not installed (apt-get install redis-server), or set GISPORTAL_REDIS_URL to a Redis of yours."
  redis_running && return 0
  mkdir -p "$REDIS_DIR"; chmod 0700 "$REDIS_DIR"
  rm -f "$REDIS_SOCK"
  # Sessions live here, so an append-only file keeps them across restarts; under memory pressure only keys
  # with a time to live (cached tiles, counters) are evicted, never the tile index or sessions' keys.
  redis-server --port 0 --unixsocket "$REDIS_SOCK" --unixsocketperm 700 --dir "$REDIS_DIR" \
    --daemonize yes --pidfile "$REDIS_DIR/redis.pid" --logfile "$REDIS_DIR/redis.log" \
    --save "" --appendonly yes --appendfsync everysec \
    --maxmemory "${GISPORTAL_REDIS_MAXMEMORY:-1gb}" --maxmemory-policy volatile-lru \
    || die "Redis did not start (see var/redis/redis.log)."
  for _ in $(seq 1 50); do redis_running && return 0; sleep 0.1; done
  die "Redis did not answer on $REDIS_SOCK (see var/redis/redis.log)."
}

stop_redis() {
  redis_running && redis-cli -s "$REDIS_SOCK" shutdown nosave >/dev/null 2>&1 || true
  [ -f "$REDIS_DIR/redis.pid" ] && kill "$(cat "$REDIS_DIR/redis.pid")" 2>/dev/null || true
  rm -f "$REDIS_DIR/redis.pid"
}

# --- the streaming replica (port 54331, same socket folder) -------------------

replica_running() { [ -S "$PG_SOCK/.s.PGSQL.$REPLICA_PORT" ] && as_pg "$BIN/pg_ctl" -D "$REPLICA_DATA" status >/dev/null 2>&1; }

start_replica() {
  BIN="$(pg_bindir)" || die "PostgreSQL with PostGIS not found under /usr/lib/postgresql."
  replica_running && return 0
  if port_in_use "$REPLICA_PORT"; then
    die "Port $REPLICA_PORT on 127.0.0.1 is taken by another program. Set GISPORTAL_REPLICA_PORT to a free port."
  fi
  if [ ! -f "$REPLICA_DATA/standby.signal" ]; then
    # A fresh copy of the primary, made in a scratch folder and moved in place only when complete, with a
    # replication slot so the primary keeps the WAL the replica has not replayed yet.
    rm -rf "$REPLICA_DATA" "$REPLICA_DATA.partial"
    mkdir -p "$REPLICA_DATA.partial"; is_root && chown postgres: "$REPLICA_DATA.partial"; chmod 0700 "$REPLICA_DATA.partial"
    as_pg "$BIN/psql" -h "$PG_SOCK" -p "$PG_PORT" -U postgres -d postgres -qtAX \
      -c "SELECT pg_drop_replication_slot('$REPLICA_SLOT') FROM pg_replication_slots WHERE slot_name = '$REPLICA_SLOT' AND NOT active" >/dev/null
    say "making the streaming replica in var/pgreplica (pg_basebackup)"
    as_pg "$BIN/pg_basebackup" -h "$PG_SOCK" -p "$PG_PORT" -U postgres -D "$REPLICA_DATA.partial" \
      -X stream -R -C -S "$REPLICA_SLOT" --checkpoint=fast >"$VAR/pglog/basebackup.log" 2>&1 \
      || { rm -rf "$REPLICA_DATA.partial"; die "pg_basebackup could not copy the primary (see var/pglog/basebackup.log)."; }
    mv "$REPLICA_DATA.partial" "$REPLICA_DATA"
  fi
  as_pg "$BIN/pg_ctl" -D "$REPLICA_DATA" -l "$VAR/pglog/replica.log" -w -t 120 start \
    -o "-p $REPLICA_PORT -k $PG_SOCK -c listen_addresses=127.0.0.1 -c shared_buffers=256MB -c hot_standby=on -c hot_standby_feedback=on -c max_standby_streaming_delay=30s -c archive_mode=off" \
    >/dev/null || die "The replica did not start (see var/pglog/replica.log); remove var/pgreplica to make it anew."
}

stop_replica() {
  BIN="$(pg_bindir)" || return 0
  [ -f "$REPLICA_DATA/PG_VERSION" ] && as_pg "$BIN/pg_ctl" -D "$REPLICA_DATA" -m fast stop >/dev/null 2>&1 || true
}

replica_status() {
  # The primary's view: who streams, how far behind, and the slots it keeps WAL for.
  as_pg "$BIN/psql" -h "$PG_SOCK" -p "$PG_PORT" -U postgres -d postgres -X -P pager=off \
    -c "SELECT application_name, state, sent_lsn, replay_lsn, coalesce(replay_lag, '0'::interval) AS replay_lag FROM pg_stat_replication" \
    -c "SELECT slot_name, active, restart_lsn FROM pg_replication_slots"
}

backup_sh() {
  # scripts/backup.sh on the private cluster (make backup, make restore).
  GP_PG_BIN="$BIN" GP_PG_DATA="$PG_DATA" GP_PG_HOST="$PG_SOCK" GP_PG_PORT="$PG_PORT" GP_BACKUP_DIR="$VAR/backup" \
    bash "$ROOT/scripts/backup.sh" "$@"
}

secret_key() {
  [ -f "$VAR/secret_key" ] || (umask 077; python3 -c 'import secrets; print(secrets.token_urlsafe(50))' >"$VAR/secret_key")
  cat "$VAR/secret_key"
}

setup_services() {
  mkdir -p "$VAR" "$ROOT/staticfiles"
  install_system_packages "${1:-}"
  install_python
  export DJANGO_SECRET_KEY="${DJANGO_SECRET_KEY:-$(secret_key)}"
  export GISPORTAL_PG_PORT="$PG_PORT"
  if [ -z "${GISPORTAL_REDIS_URL:-}" ]; then start_redis; fi
  if [ -z "${DATABASE_URL:-}" ]; then
    start_cluster
    ensure_database "$PG_DB"
  else
    say "using DATABASE_URL; no private cluster started"
  fi
}

setup() {
  setup_services "$@"
  cd "$ROOT"
  "$PY" manage.py migrate --noinput -v0
}

cmd_run() {
  if port_in_use "$WEB_PORT"; then die "Port $WEB_PORT is taken by another program. Set PORT to a free port, e.g. PORT=8001 make run."; fi
  setup
  "$PY" manage.py make_demo_city --if-empty
  "$PY" manage.py pmtiles build --all --queue >/dev/null  # missing PMTiles archives, built by the worker below
  # The job worker beside the web server (uploads, export prebuilds, tile seeding), stopped with it.
  "$PY" manage.py procrastinate worker >>"$VAR/worker.log" 2>&1 </dev/null &
  local worker=$!
  trap "kill $worker 2>/dev/null; wait $worker 2>/dev/null" EXIT
  say "serving the portal at http://127.0.0.1:$WEB_PORT/ with a job worker (log: var/worker.log; Ctrl-C stops both)"
  "$VENV/bin/gunicorn" gisportal.wsgi:application --config "$ROOT/gisportal/gunicorn.conf.py" \
    --bind "127.0.0.1:$WEB_PORT"
}

install_style_validator() {
  # MapLibre's own style validator for tests/tiles (pinned in its package-lock.json); without npm the test skips.
  local dir="$ROOT/tests/tiles/node"
  command -v npm >/dev/null || return 0
  [ -x "$dir/node_modules/.bin/gl-style-validate" ] && return 0
  npm ci --prefix "$dir" --no-audit --no-fund -q >>"$VAR/npm.log" 2>&1 || say "npm ci failed (see $VAR/npm.log): the style validator test will skip"
}

install_harvest_servers() {
  # pygeoapi (pinned) in its own venv under var/harvest for the harvest tests (they install it on first use anyway).
  (cd "$ROOT" && "$PY" -m tests.opendata.harvest_servers install >>"$VAR/harvest-install.log" 2>&1) \
    || say "pygeoapi install failed (see $VAR/harvest-install.log): the harvest tests will say why"
}

cmd_test() {
  setup test
  install_style_validator
  install_harvest_servers
  cd "$ROOT"
  exec "$PY" -m pytest "$@"
}

cmd_bench() {
  setup
  cd "$ROOT"
  exec "$PY" -m bench "$@"
}

cmd_stop() {
  stop_redis
  BIN="$(pg_bindir)" || exit 0
  stop_replica
  [ -f "$PG_DATA/PG_VERSION" ] && as_pg "$BIN/pg_ctl" -D "$PG_DATA" -m fast stop || true
}

cmd_restore() {
  # Point in time (TARGET_TIME) or the end of the archive; the replica followed the old history, so it is made anew.
  BIN="$(pg_bindir)" || die "PostgreSQL with PostGIS not found under /usr/lib/postgresql."
  local replica_was=0
  replica_running && replica_was=1
  stop_replica
  if ! backup_sh restore "${TARGET_TIME:-}"; then
    # Refused or failed before the swap: the primary was not touched; the replica goes back as it was.
    [ "$replica_was" = 0 ] || start_replica
    exit 1
  fi
  rm -rf "$REPLICA_DATA"
  start_cluster
  [ "$replica_was" = 0 ] || start_replica
}

case "${1:-}" in
  deps) mkdir -p "$VAR"; install_system_packages test; install_python ;;
  db) setup ;;
  redis) mkdir -p "$VAR"; start_redis ;;
  replica) BIN="$(pg_bindir)"; start_cluster; start_replica; replica_status ;;
  replica-status) BIN="$(pg_bindir)"; replica_status ;;
  cluster) shift; . "$ROOT/scripts/cluster.sh"; cmd_cluster "$@" ;;
  cluster-stop) . "$ROOT/scripts/cluster.sh"; cmd_cluster_stop ;;
  backup) BIN="$(pg_bindir)"; start_cluster; backup_sh backup "${LABEL:-manual}"; backup_sh list ;;
  restore) cmd_restore ;;
  run) shift; cmd_run "$@" ;;
  test) shift; cmd_test "$@" ;;
  bench) shift; cmd_bench "$@" ;;
  stop) cmd_stop ;;
  *) die "usage: scripts/bootstrap.sh {deps|db|redis|replica|replica-status|run|test|bench|stop|cluster|cluster-stop|backup|restore}" ;;
esac
