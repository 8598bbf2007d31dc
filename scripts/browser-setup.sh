#!/usr/bin/env bash
# Set up what the browser test (tests/browser/) needs: Debian's Chromium at
# /usr/bin/chromium (installed with apt-get when missing; needs root) and the
# npm package playwright-core from tests/browser/package-lock.json. Idempotent
# and quick when done. The test itself also needs the casino page's vendored
# SDK (scripts/casino-web.sh) and the function components
# (scripts/build-functions.sh); this script runs the former.
set -euo pipefail
cd "$(dirname "$0")/.."
fail() { printf 'browser-setup: error: %s\n' "$*" >&2; exit 1; }

CHROMIUM=${ARCADE_CHROMIUM:-/usr/bin/chromium}
if [ ! -x "$CHROMIUM" ]; then
  [ "$CHROMIUM" = /usr/bin/chromium ] || fail "ARCADE_CHROMIUM=$CHROMIUM is not an executable"
  command -v apt-get >/dev/null || fail "no $CHROMIUM and no apt-get: install Chromium and set ARCADE_CHROMIUM"
  sudo=()
  [ "$(id -u)" = 0 ] || sudo=(sudo)
  echo "browser-setup: installing Debian's chromium with apt-get" >&2
  export DEBIAN_FRONTEND=noninteractive
  # A fresh machine may have no package lists yet; update once, then retry.
  "${sudo[@]}" apt-get install -y --no-install-recommends chromium >/dev/null 2>&1 || {
    "${sudo[@]}" apt-get update -q >/dev/null
    "${sudo[@]}" apt-get install -y -q --no-install-recommends chromium
  }
  [ -x "$CHROMIUM" ] || fail "apt-get installed chromium but $CHROMIUM is missing"
fi

command -v npm >/dev/null || fail "npm is required (Node 20)"
stamp=tests/browser/node_modules/.arcade-lock-stamp
if [ ! -f "$stamp" ] || ! cmp -s tests/browser/package-lock.json "$stamp"; then
  npm ci --prefix tests/browser --no-audit --no-fund
  cp tests/browser/package-lock.json "$stamp"
fi

scripts/casino-web.sh
echo "browser-setup: ready ($("$CHROMIUM" --version 2>/dev/null || echo "$CHROMIUM"))" >&2
