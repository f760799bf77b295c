#!/bin/sh
# PostgreSQL's archive_command: copies one finished WAL segment (or timeline history file) into the archive.
#   archive_wal.sh PATH NAME ARCHIVE_DIR        (PostgreSQL passes %p %f; see scripts/backup.sh configure-archive)
# Never overwrites a different file of the same name (two clusters archiving into one folder would corrupt it):
# PostgreSQL then keeps the segment and retries, so the gap is loud in its log instead of silent.
set -eu
path="$1"; name="$2"; dir="$3"
if [ -f "$dir/$name" ]; then
  cmp -s "$path" "$dir/$name" && exit 0
  echo "archive_wal: $dir/$name exists with other content; not overwritten" >&2
  exit 1
fi
cp "$path" "$dir/.$name.part"
sync "$dir/.$name.part" 2>/dev/null || true  # on disk before the rename says it is archived
mv "$dir/.$name.part" "$dir/$name"
