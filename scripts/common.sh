# Sourced by scripts/bootstrap.sh and scripts/backup.sh: messages, and running PostgreSQL's tools as 'postgres'
# when we are root (PostgreSQL refuses to run as root).
say() { printf '\033[1m[gisportal]\033[0m %s\n' "$*"; }
die() { printf '\033[1;31m[gisportal] %s\033[0m\n' "$*" >&2; exit 1; }
is_root() { [ "$(id -u)" = 0 ]; }
as_pg() { if is_root; then runuser -u postgres -- "$@"; else "$@"; fi; }
