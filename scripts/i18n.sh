#!/usr/bin/env bash
# The translation catalogues in locale/ (msgids in English; vi and en kept complete, .mo committed).
# Usage: scripts/i18n.sh {update|compile|check}
#   update   collect new strings from code and templates into locale/{vi,en}/LC_MESSAGES/django.po
#            and list what still needs a translation; translate, then run `compile`
#   compile  .po -> .mo (commit both; tests/test_pages.py checks they agree)
#   check    fail if a catalogue has untranslated or fuzzy entries
# Needs GNU gettext (Debian package gettext: msgfmt, xgettext, msgattrib).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PY="$ROOT/.venv/bin/python"
cd "$ROOT"
command -v msgfmt >/dev/null || { echo "msgfmt is missing: apt-get install gettext" >&2; exit 1; }

check() {
  local lang status=0 stats
  for lang in vi en; do
    stats=$(msgfmt --check --statistics -o /dev/null "locale/$lang/LC_MESSAGES/django.po" 2>&1)
    echo "$lang: $stats"
    case "$stats" in *untranslated*|*fuzzy*) status=1 ;; esac
  done
  return $status
}

case "${1:-}" in
  update)
    "$PY" manage.py makemessages -l vi -l en --no-obsolete \
      --ignore=.venv --ignore=var --ignore=staticfiles --ignore=media --ignore=bench --ignore='tests/*'
    for lang in vi en; do
      echo "--- $lang: to translate"
      msgattrib --untranslated --no-location "locale/$lang/LC_MESSAGES/django.po" | grep -A1 '^msgid' | grep -v '^--' || true
      msgattrib --only-fuzzy --no-location "locale/$lang/LC_MESSAGES/django.po" | grep -A1 '^msgid' | grep -v '^--' || true
    done
    ;;
  compile) "$PY" manage.py compilemessages --ignore=.venv ;;
  check) check ;;
  *) echo "usage: scripts/i18n.sh {update|compile|check}" >&2; exit 2 ;;
esac
