# `make cluster` / `make cluster-stop`: the multi-node shape of a production deployment on one machine.
# Sourced by scripts/bootstrap.sh (its variables and functions: start_cluster, start_replica, start_redis, …).
#
#   front    Varnish at 127.0.0.1:$GISPORTAL_FRONT_PORT (8080), VCL from deploy/varnish/render.py
#   nodes    gunicorn at 127.0.0.1:$GISPORTAL_NODE_PORTS (8081,8082), sharing only the database, Redis and
#            $GISPORTAL_SHARED_DIR
#   worker   manage.py procrastinate worker (the job queue)
#   primary  PostgreSQL at $GISPORTAL_PG_PORT (54329), replica at $GISPORTAL_REPLICA_PORT (54331), Redis on var/redis
# Every process it starts has a pid file in var/cluster/ and GISPORTAL_CLUSTER=var/cluster in its environment, so
# `make cluster-stop` finds them even when a half-started run left no pid file.

FRONT_PORT="${GISPORTAL_FRONT_PORT:-8080}"
NODE_PORTS="${GISPORTAL_NODE_PORTS:-8081,8082}"
CLUSTER_DIR="$VAR/cluster"

pid_alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

check_port_free() {
  # $1 port, $2 our pid file for it, $3 the variable that moves it.
  pid_alive "$2" && return 0
  if port_in_use "$1"; then
    die "Port $1 on 127.0.0.1 is taken by another program. Set $3 to free ports (e.g. $3=$4 make cluster)."
  fi
}

check_ports() {
  local port
  [[ "$FRONT_PORT" =~ ^[0-9]+$ ]] || die "GISPORTAL_FRONT_PORT must be a port number, not '$FRONT_PORT'."
  [[ "$NODE_PORTS" =~ ^[0-9]+(,[0-9]+)*$ ]] || die "GISPORTAL_NODE_PORTS must be ports separated by commas (8081,8082), not '$NODE_PORTS'."
  check_port_free "$FRONT_PORT" "$CLUSTER_DIR/varnish.pid" GISPORTAL_FRONT_PORT 8090
  for port in ${NODE_PORTS//,/ }; do
    [ "$port" != "$FRONT_PORT" ] || die "GISPORTAL_NODE_PORTS and GISPORTAL_FRONT_PORT share port $port."
    check_port_free "$port" "$CLUSTER_DIR/node-$port.pid" GISPORTAL_NODE_PORTS 8091,8092
  done
}

cluster_env() {
  # What the nodes and the worker share (README: Configuration); the replica serves public reads.
  export GISPORTAL_REPLICA_PORT="$REPLICA_PORT"
  export GISPORTAL_SHARED_DIR="${GISPORTAL_SHARED_DIR:-$VAR/shared}"
  export GISPORTAL_MEDIA_ROOT="${GISPORTAL_MEDIA_ROOT:-$GISPORTAL_SHARED_DIR/media}"
  export GISPORTAL_FRONT_PURGE_URLS="${GISPORTAL_FRONT_PURGE_URLS:-http://127.0.0.1:$FRONT_PORT}"
  export GISPORTAL_STATIC_MANIFEST=1
  export DJANGO_ALLOWED_HOSTS="${DJANGO_ALLOWED_HOSTS:-127.0.0.1,localhost}"
  export GISPORTAL_TRUSTED_PROXIES="${GISPORTAL_TRUSTED_PROXIES:-127.0.0.1}"
  export GISPORTAL_CLUSTER="$CLUSTER_DIR"
  mkdir -p "$GISPORTAL_SHARED_DIR" "$GISPORTAL_MEDIA_ROOT" "$CLUSTER_DIR"
}

release() {
  # Once per deployment, never per node: the schema, the fingerprinted static files, the demo city when empty.
  say "release step: migrate, collectstatic, demo city (once, not per node)"
  cd "$ROOT"
  "$PY" manage.py migrate --noinput -v0 || die "migrate failed (the messages above); no node was started."
  GISPORTAL_STATIC_MANIFEST=1 "$PY" manage.py collectstatic --noinput -v0 || die "collectstatic failed (the messages above)."
  "$PY" manage.py make_demo_city --if-empty || die "make_demo_city failed (the messages above)."
  # PMTiles archives missing after an upgrade are built by the worker (a public GET never queues anything).
  "$PY" manage.py pmtiles build --all --queue >/dev/null || die "queueing the PMTiles builds failed (the messages above)."
}

wait_http() {
  # $1 port, $2 what, $3 log: 200 from /healthz within 90 s, else the log's tail and stop.
  local _
  for _ in $(seq 1 180); do
    if curl -fsS -o /dev/null --max-time 2 "http://127.0.0.1:$1/healthz" 2>/dev/null; then return 0; fi
    sleep 0.5
  done
  tail -n 20 "$3" >&2 || true
  die "$2 did not answer http://127.0.0.1:$1/healthz in 90 s (see $3)."
}

start_node() {
  local port="$1" pidfile="$CLUSTER_DIR/node-$1.pid" log="$CLUSTER_DIR/node-$1.log"
  pid_alive "$pidfile" && return 0
  "$VENV/bin/gunicorn" gisportal.wsgi:application --config "$ROOT/gisportal/gunicorn.conf.py" --chdir "$ROOT" \
    --bind "127.0.0.1:$port" --daemon --pid "$pidfile" --error-logfile "$log" \
    --access-logfile "$CLUSTER_DIR/node-$port.access.log" \
    || die "gunicorn did not start on 127.0.0.1:$port (see $log)."
  wait_http "$port" "The web node on port $port" "$log"
}

start_worker() {
  local pidfile="$CLUSTER_DIR/worker.pid"
  pid_alive "$pidfile" && return 0
  cd "$ROOT"
  # Its own session, so it outlives this script; its pid is $! (setsid execs when not a group leader).
  setsid "$PY" manage.py procrastinate worker >>"$CLUSTER_DIR/worker.log" 2>&1 </dev/null &
  echo $! >"$pidfile"
  sleep 1
  pid_alive "$pidfile" || die "The job worker exited at once (see $CLUSTER_DIR/worker.log)."
}

start_front() {
  local pidfile="$CLUSTER_DIR/varnish.pid" vcl="$CLUSTER_DIR/gisportal.vcl"
  command -v varnishd >/dev/null || die "varnishd is not installed: apt-get install varnish varnish-modules (the front, port GISPORTAL_FRONT_PORT)."
  # shellcheck disable=SC2086
  python3 "$ROOT/deploy/varnish/render.py" ${NODE_PORTS//,/ } >"$vcl.new" || die "could not render the VCL (GISPORTAL_NODE_PORTS='$NODE_PORTS')."
  mv "$vcl.new" "$vcl"
  if pid_alive "$pidfile"; then
    # Running already: load the VCL again, so a changed list of nodes applies without dropping the cache.
    local name; name="gp$(date +%s)"
    varnishadm -n "$CLUSTER_DIR/varnish" vcl.load "$name" "$vcl" >/dev/null && varnishadm -n "$CLUSTER_DIR/varnish" vcl.use "$name" >/dev/null \
      || die "Varnish did not take the new VCL ($vcl)."
    # The previous VCLs would keep their probes running: they go.
    varnishadm -n "$CLUSTER_DIR/varnish" vcl.list | awk '$1 == "available" {print $NF}' | while read -r old; do
      varnishadm -n "$CLUSTER_DIR/varnish" vcl.discard "$old" >/dev/null 2>&1 || true
    done
    return 0
  fi
  mkdir -p "$CLUSTER_DIR/varnish"
  varnishd -a "127.0.0.1:$FRONT_PORT" -f "$vcl" -n "$CLUSTER_DIR/varnish" -P "$pidfile" -T 127.0.0.1:0 \
    -s "malloc,${GISPORTAL_FRONT_MEMORY:-256m}" >"$CLUSTER_DIR/varnish.log" 2>&1 \
    || { cat "$CLUSTER_DIR/varnish.log" >&2; die "Varnish did not start on 127.0.0.1:$FRONT_PORT (see $CLUSTER_DIR/varnish.log; GISPORTAL_FRONT_PORT moves it)."; }
  wait_http "$FRONT_PORT" "The Varnish front" "$CLUSTER_DIR/varnish.log"
}

cluster_summary() {
  local port
  say "the cluster runs:"
  printf '  %-8s %-28s %s\n' front "http://127.0.0.1:$FRONT_PORT" "Varnish (varnishlog -n $CLUSTER_DIR/varnish), pid $(cat "$CLUSTER_DIR/varnish.pid")"
  for port in ${NODE_PORTS//,/ }; do
    printf '  %-8s %-28s %s\n' node "127.0.0.1:$port" "gunicorn, pid $(cat "$CLUSTER_DIR/node-$port.pid"), log var/cluster/node-$port.log"
  done
  printf '  %-8s %-28s %s\n' worker "procrastinate" "pid $(cat "$CLUSTER_DIR/worker.pid"), log var/cluster/worker.log"
  printf '  %-8s %-28s %s\n' primary "127.0.0.1:$PG_PORT" "PostgreSQL var/pgdata (socket var/pgsock), writes"
  printf '  %-8s %-28s %s\n' replica "127.0.0.1:$REPLICA_PORT" "streaming replica var/pgreplica, public reads"
  printf '  %-8s %-28s %s\n' redis "unix:var/redis/redis.sock" "cache, sessions, counters, tile cache"
  printf '  %-8s %-28s %s\n' shared "$GISPORTAL_SHARED_DIR" "uploads, exports, media"
  say "replication (bash scripts/bootstrap.sh replica-status shows it again):"
  replica_status
  say "open http://127.0.0.1:$FRONT_PORT/  —  make cluster-stop stops everything"
}

cmd_cluster() {
  [ -z "${DATABASE_URL:-}" ] || die "make cluster runs its own primary and replica under var/: unset DATABASE_URL (docker-compose.yml is the shape for databases elsewhere)."
  mkdir -p "$VAR" "$CLUSTER_DIR"
  check_ports
  setup_services cluster
  start_replica
  cluster_env
  release
  local port
  for port in ${NODE_PORTS//,/ }; do start_node "$port"; done
  start_worker
  start_front
  cluster_summary
}

cluster_pids() {
  # Every process whose environment names this cluster's folder (ours, whatever its pid file says).
  local environ pid
  for environ in /proc/[0-9]*/environ; do
    pid="${environ#/proc/}"; pid="${pid%/environ}"
    [ "$pid" != "$$" ] || continue
    { tr '\0' '\n' <"$environ"; } 2>/dev/null | grep -qxF "GISPORTAL_CLUSTER=$CLUSTER_DIR" && echo "$pid"
  done
  return 0
}

stop_pidfile() {
  # TERM, up to 20 s, then KILL; the pid file goes either way.
  local pidfile="$1" pid _
  [ -f "$pidfile" ] || return 0
  pid="$(cat "$pidfile")"
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$pidfile"
}

cmd_cluster_stop() {
  local pidfile pid left
  mkdir -p "$CLUSTER_DIR"
  # The front first (no new requests), then the nodes, then the worker (it finishes or gives back its job).
  stop_pidfile "$CLUSTER_DIR/varnish.pid"
  for pidfile in "$CLUSTER_DIR"/node-*.pid; do [ -e "$pidfile" ] && stop_pidfile "$pidfile"; done
  stop_pidfile "$CLUSTER_DIR/worker.pid"
  # A half-started run may have left processes without pid files: the environment marker finds them.
  left="$(cluster_pids)"
  if [ -n "$left" ]; then
    say "stopping processes left by a half-started cluster: $(echo $left)"
    for pid in $left; do kill -TERM "$pid" 2>/dev/null || true; done
    sleep 2
    for pid in $(cluster_pids); do kill -KILL "$pid" 2>/dev/null || true; done
  fi
  stop_redis
  BIN="$(pg_bindir)" || return 0
  stop_replica
  [ -f "$PG_DATA/PG_VERSION" ] && as_pg "$BIN/pg_ctl" -D "$PG_DATA" -m fast stop >/dev/null 2>&1 || true
  left="$(cluster_pids)"
  [ -z "$left" ] || die "still running after make cluster-stop: $(echo $left)"
  say "the cluster is stopped (front, nodes, worker, replica, Redis, primary)"
}
