#!/usr/bin/env bash
# Vendor the official Appwrite web SDK into the casino demo page: install the
# npm package pinned in examples/casino/package-lock.json (npm ci, only when
# the lock file changed) and copy its self-contained IIFE build, which defines
# the global `Appwrite`, to examples/casino/web/vendor/appwrite.js. The page
# has no build step and loads nothing from a CDN. Idempotent; quick when done.
set -euo pipefail
cd "$(dirname "$0")/../examples/casino"
fail() { printf 'casino-web: error: %s\n' "$*" >&2; exit 1; }

command -v npm >/dev/null || fail "npm is required (Node 20)"
stamp=node_modules/.arcade-lock-stamp
if [ ! -f "$stamp" ] || ! cmp -s package-lock.json "$stamp"; then
  npm ci --no-audit --no-fund
  cp package-lock.json "$stamp"
fi

sdk=node_modules/appwrite/dist/iife/sdk.js
[ -f "$sdk" ] || fail "$sdk is missing; remove examples/casino/node_modules and run again"
mkdir -p web/vendor
for pair in "$sdk:web/vendor/appwrite.js" "node_modules/appwrite/LICENSE:web/vendor/appwrite.LICENSE"; do
  from=${pair%%:*} to=${pair#*:}
  if ! cmp -s "$from" "$to"; then
    cp "$from" "$to.tmp"
    mv "$to.tmp" "$to"
  fi
done
version=$(sed -n 's/^ *"version": *"\(.*\)",*$/\1/p' node_modules/appwrite/package.json | head -n1)
echo "casino-web: web/vendor/appwrite.js is appwrite $version" >&2
