#!/bin/bash
# The replica's entrypoint (same PostGIS image as the primary): on an empty volume, a copy of the primary by
# pg_basebackup with a replication slot (the primary keeps the WAL it has not replayed), written as a standby
# (-R: standby.signal + primary_conninfo); then the image's own entrypoint runs it.
set -euo pipefail
: "${PRIMARY_HOST:?}" "${REPLICATION_PASSWORD:?}"
SLOT="${REPLICA_SLOT:-gisportal_replica}"
export PGPASSWORD="$REPLICATION_PASSWORD"
if [ ! -s "$PGDATA/PG_VERSION" ]; then
  until pg_isready -h "$PRIMARY_HOST" -U replicator -d postgres >/dev/null 2>&1; do echo "waiting for $PRIMARY_HOST…"; sleep 2; done
  mkdir -p "$PGDATA.partial" && chown postgres: "$PGDATA.partial" && chmod 0700 "$PGDATA.partial"
  # A slot left by an earlier replica volume is reused (created only when missing).
  create=(-C); if psql "host=$PRIMARY_HOST user=replicator dbname=postgres replication=database" -qtAX \
      -c "SELECT 1 FROM pg_replication_slots WHERE slot_name = '$SLOT'" 2>/dev/null | grep -q 1; then create=(); fi
  gosu postgres pg_basebackup -h "$PRIMARY_HOST" -U replicator -D "$PGDATA.partial" -X stream -R "${create[@]}" \
    -S "$SLOT" --checkpoint=fast
  # Moved in place only when complete: a copy interrupted half-way is made again at the next start.
  rm -rf "${PGDATA:?}"/* && mv "$PGDATA.partial"/* "$PGDATA"/ && rmdir "$PGDATA.partial"
fi
exec docker-entrypoint.sh postgres -c hot_standby=on -c hot_standby_feedback=on -c max_standby_streaming_delay=30s \
  -c archive_mode=off -c jit=off -c max_parallel_workers_per_gather=0
