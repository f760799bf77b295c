#!/usr/bin/env bash
# Backups of a PostgreSQL cluster: WAL archiving + base backups (pg_basebackup), point-in-time restore.
# `make backup` / `make restore` call it through scripts/bootstrap.sh on the private cluster; the restore drill
# (tests/cluster/test_backup.py) calls it on a throw-away one. Which cluster comes from the environment:
#   GP_PG_BIN (the PostgreSQL bin folder), GP_PG_DATA, GP_PG_HOST (its socket folder), GP_PG_PORT, GP_BACKUP_DIR.
#
#   backup.sh configure-archive     write the archiving settings into the data folder (before the cluster starts)
#   backup.sh backup [LABEL]        a base backup, named by its time (UTC) and label
#   backup.sh list                  the base backups and the archive's size
#   backup.sh restore [TARGET_TIME] into a fresh folder, to TARGET_TIME (else the end of the archive), promoted,
#                                   then swapped in place of the data folder (the old one kept aside); the cluster
#                                   is left stopped for the caller to start
#
# Why pg_basebackup + archive_command and not pgBackRest: they come with PostgreSQL (nothing else to install or
# configure, the same binaries the replica is made with), and one folder of plain files is easy to copy off the
# machine. pgBackRest earns its keep with many clusters, remote repositories, parallel compressed backups and
# retention policies; a city deployment would move to it (or to Barman) with its object storage.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
BIN="${GP_PG_BIN:?GP_PG_BIN: the PostgreSQL bin folder}"
DATA="${GP_PG_DATA:?GP_PG_DATA: the data folder}"
HOST="${GP_PG_HOST:?GP_PG_HOST: the socket folder}"
PORT="${GP_PG_PORT:?GP_PG_PORT: the port}"
BACKUP="${GP_BACKUP_DIR:?GP_BACKUP_DIR: the backup folder}"
WAL="$BACKUP/wal"
BASE="$BACKUP/base"
MARK="# gisportal restore"

# shellcheck source=scripts/common.sh
. "$ROOT/scripts/common.sh"
give_pg() { if is_root; then chown -R postgres: "$@"; fi; }
psql_at() { as_pg "$BIN/psql" -h "$1" -p "$PORT" -U postgres -d postgres -qtAX -c "$2"; }
running() { as_pg "$BIN/pg_ctl" -D "$1" status >/dev/null 2>&1; }
now_us() { date -u +%s%6N; }

configure_archive() {
  # Archiving is always on (a restart to turn it on would be a bad surprise the day backups are wanted), but a
  # segment is copied only while the archive folder exists: everyday runs keep no WAL. `backup` makes the folder
  # before its base backup starts, so every segment from that backup onwards is archived: no gap.
  local conf="$DATA/gisportal_archive.conf" q_wal q_script
  [ -f "$DATA/postgresql.conf" ] || die "no cluster in $DATA"
  q_wal="${WAL//\'/\'\'}"; q_script="${ROOT//\'/\'\'}/scripts/archive_wal.sh"
  cat >"$conf" <<EOF
# Written by scripts/backup.sh configure-archive at every start; edit that script, not this file.
archive_mode = on
archive_command = 'test ! -d "$q_wal" || /bin/sh "$q_script" "%p" "%f" "$q_wal"'
wal_level = replica
EOF
  give_pg "$conf"
  grep -q "^include_if_exists = 'gisportal_archive.conf'" "$DATA/postgresql.conf" \
    || echo "include_if_exists = 'gisportal_archive.conf'" >>"$DATA/postgresql.conf"
}

check_archiving() {
  # The running server must archive into our folder, else a base backup would have no WAL after it.
  local mode command
  mode="$(psql_at "$HOST" "SHOW archive_mode")" || die "the cluster on port $PORT does not answer (socket $HOST)."
  command="$(psql_at "$HOST" "SHOW archive_command")"
  if [ "$mode" != on ] || [[ "$command" != *"$WAL"* ]]; then
    die "the cluster on port $PORT does not archive WAL into $WAL (archive_mode=$mode): restart it once (make stop, then make run or make cluster) so the setting takes effect."
  fi
}

cmd_backup() {
  local label="${1:-manual}" stamp name
  [[ "$label" =~ ^[A-Za-z0-9_-]{1,40}$ ]] || die "LABEL may hold letters, digits, - and _ (at most 40), not '$label'."
  check_archiving
  mkdir -p "$WAL" "$BASE"; give_pg "$BACKUP"
  stamp="$(date -u +%Y%m%dT%H%M%SZ)"; name="$stamp-$label"
  mkdir -p "$BASE/$name.partial"; give_pg "$BASE/$name.partial"; chmod 0700 "$BASE/$name.partial"
  local started; started="$(now_us)"
  say "base backup $name (pg_basebackup, checkpoint now)"
  as_pg "$BIN/pg_basebackup" -h "$HOST" -p "$PORT" -U postgres -D "$BASE/$name.partial" -X stream \
    --checkpoint=fast -l "gisportal $name" >"$BACKUP/basebackup.log" 2>&1 \
    || { rm -rf "$BASE/$name.partial"; die "pg_basebackup failed (see $BACKUP/basebackup.log)."; }
  # The segment holding the backup's end goes to the archive now, not when it fills up.
  psql_at "$HOST" "SELECT pg_switch_wal()" >/dev/null
  mv "$BASE/$name.partial" "$BASE/$name"
  printf 'label=%s\nstarted_us=%s\nended_us=%s\nended=%s\n' "$label" "$started" "$(now_us)" \
    "$(date -u +%Y-%m-%dT%H:%M:%SZ)" >"$BASE/$name.info"
  say "backup $name: $(du -sh "$BASE/$name" | cut -f1) in $BASE; WAL archived to $WAL from now on"
}

cmd_list() {
  local info
  for info in "$BASE"/*.info; do
    [ -e "$info" ] || { say "no base backup in $BASE (make backup makes one)"; return 0; }
    printf '  %s  ended %s\n' "$(basename "$info" .info)" "$(grep '^ended=' "$info" | cut -d= -f2)"
  done
  say "WAL archive: $(find "$WAL" -type f | wc -l) files, $(du -sh "$WAL" | cut -f1)"
}

target_us() {
  # TARGET_TIME as microseconds since the epoch (any form GNU date reads: 2026-12-05 08:30:00+07, ISO 8601…).
  local target="$1" us
  us="$(date -u -d "$target" +%s%6N 2>/dev/null)" || die "TARGET_TIME '$target' is not a time (e.g. TARGET_TIME='2026-12-05 08:30:00+07')."
  [ "$us" -le "$(now_us)" ] || die "TARGET_TIME '$target' is in the future."
  echo "$us"
}

pick_base() {
  # The newest base backup that ended before the target (a restore cannot stop before its base is consistent).
  local limit="$1" info ended best=""
  for info in "$BASE"/*.info; do
    [ -e "$info" ] || continue
    ended="$(grep '^ended_us=' "$info" | cut -d= -f2)"
    if [ "$ended" -le "$limit" ]; then best="${info%.info}"; fi
  done
  [ -n "$best" ] || die "no base backup in $BASE ended before the target time (make backup makes one)."
  echo "$best"
}

flush_archive() {
  # While the primary runs, its newest WAL is put into the archive first, so a restore can reach up to now.
  running "$DATA" || { say "the cluster is not running: restoring from what the archive holds"; return 0; }
  local segment last _
  segment="$(psql_at "$HOST" "SELECT pg_walfile_name(pg_switch_wal())")"
  for _ in $(seq 1 120); do
    last="$(psql_at "$HOST" "SELECT coalesce(last_archived_wal, '') FROM pg_stat_archiver")"
    [[ "$last" < "$segment" ]] || return 0
    sleep 0.5
  done
  die "WAL segment $segment was not archived within 60 s (see the cluster's log: archive_command)."
}

recover() {
  # $1 base backup, $2 target (empty: the end of the archive), $3 the fresh folder. Leaves it promoted and stopped.
  local base="$1" target="$2" fresh="$3" sock="$BACKUP/restore-sock" log="$BACKUP/restore.log" _ state
  rm -rf "$fresh" "$sock"; mkdir -p "$sock"
  cp -a "$base" "$fresh"; give_pg "$fresh" "$sock"; chmod 0700 "$fresh"
  {
    echo "$MARK"
    echo "restore_command = 'cp \"${WAL//\'/\'\'}/%f\" \"%p\"' $MARK"
    [ -z "$target" ] || echo "recovery_target_time = '$target' $MARK"
    echo "recovery_target_action = 'promote' $MARK"
  } >>"$fresh/postgresql.auto.conf"
  touch "$fresh/recovery.signal"; give_pg "$fresh"
  say "recovering $(basename "$base") ${target:+to $target }in $fresh (log $log)"
  # Unix socket only, in a folder of its own: it never meets a client of the running cluster.
  as_pg "$BIN/pg_ctl" -D "$fresh" -l "$log" -w -t 600 start \
    -o "-p $PORT -k $sock -c listen_addresses= -c hot_standby=on" >/dev/null \
    || { tail -n 15 "$log" >&2; die "recovery failed (see $log); $DATA was not touched."; }
  for _ in $(seq 1 1200); do
    state="$(psql_at "$sock" "SELECT pg_is_in_recovery()" 2>/dev/null || echo gone)"
    [ "$state" = f ] && break
    if [ "$state" = gone ] && ! running "$fresh"; then
      tail -n 15 "$log" >&2; die "recovery stopped before it was consistent (see $log); $DATA was not touched."
    fi
    sleep 0.5
  done
  [ "$state" = f ] || die "recovery did not finish in 10 minutes (see $log); $DATA was not touched."
  as_pg "$BIN/pg_ctl" -D "$fresh" -m fast -w stop >/dev/null
  sed -i "/$MARK/d" "$fresh/postgresql.auto.conf"
  rm -rf "$sock"
}

cmd_restore() {
  local target="${1:-}" limit base fresh="$DATA.restoring" aside
  [ -d "$WAL" ] && [ -d "$BASE" ] || die "no backup in $BACKUP (make backup makes one)."
  if [ -n "$target" ]; then limit="$(target_us "$target")"; target="$(date -u -d "$target" '+%Y-%m-%d %H:%M:%S.%6N+00')"
  else limit="$(now_us)"; fi
  base="$(pick_base "$limit")"
  flush_archive
  recover "$base" "$target" "$fresh"
  # Consistent and promoted: only now is the running cluster stopped and its folder put aside.
  aside="$DATA.before-restore-$(date -u +%Y%m%dT%H%M%SZ)"
  if running "$DATA"; then as_pg "$BIN/pg_ctl" -D "$DATA" -m fast -w stop >/dev/null; fi
  [ ! -e "$DATA" ] || mv "$DATA" "$aside"
  mv "$fresh" "$DATA"
  say "restored ${target:-to the end of the archive}; the previous data folder is kept in $aside"
}

case "${1:-}" in
  configure-archive) configure_archive ;;
  backup) shift; cmd_backup "$@" ;;
  list) cmd_list ;;
  restore) shift; cmd_restore "$@" ;;
  *) die "usage: scripts/backup.sh {configure-archive|backup [LABEL]|list|restore [TARGET_TIME]}" ;;
esac
