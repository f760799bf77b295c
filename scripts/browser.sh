#!/usr/bin/env bash
# Browser tests' prerequisites: Debian's chromium (Playwright drives it through executable_path; no browser
# is ever downloaded, so never run `playwright install`) and a font with Vietnamese glyphs for screenshots.
# Usage: scripts/browser.sh {check|install|test [pytest args]}
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PY="$ROOT/.venv/bin/python"
CHROMIUM="${GISPORTAL_CHROMIUM:-/usr/bin/chromium}"
PACKAGES="chromium fonts-dejavu-core"

say() { printf '\033[1m[gisportal]\033[0m %s\n' "$*"; }
die() { printf '\033[1;31m[gisportal] %s\033[0m\n' "$*" >&2; exit 1; }

check() {
  [ -x "$CHROMIUM" ] || { say "$CHROMIUM is missing (browser tests will be skipped): scripts/browser.sh install"; return 1; }
  "$PY" -c "import playwright" 2>/dev/null || die "The playwright Python package is missing from .venv (it is in requirements.lock)."
  say "browser tests use $("$CHROMIUM" --version 2>/dev/null | head -1) at $CHROMIUM"
}

install() {
  [ -x "$CHROMIUM" ] && return 0
  local apt=(apt-get)
  if [ "$(id -u)" != 0 ]; then
    if command -v sudo >/dev/null && sudo -n true 2>/dev/null; then apt=(sudo apt-get)
    else die "Install Debian's chromium as root: apt-get install -y $PACKAGES"; fi
  fi
  say "installing $PACKAGES (Debian packages; Playwright downloads no browser)"
  # shellcheck disable=SC2086
  "${apt[@]}" install -y -q --no-install-recommends $PACKAGES \
    || { "${apt[@]}" update -q && "${apt[@]}" install -y -q --no-install-recommends $PACKAGES; } \
    || die "Could not install $PACKAGES."
}

case "${1:-check}" in
  check) check ;;
  install) install; check ;;
  test) shift; install; check; cd "$ROOT"; exec "$PY" -m pytest -m browser tests/browser "$@" ;;
  *) die "usage: scripts/browser.sh {check|install|test [pytest args]}" ;;
esac
