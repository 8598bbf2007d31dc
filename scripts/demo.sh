#!/usr/bin/env bash
# Run Arcade's demo project, the casino (examples/casino): build the function
# components (setting up the wasm toolchain from Debian's packages if needed),
# vendor the Appwrite web SDK for the page, build the server in release mode,
# and serve the casino manifest with its page at http://127.0.0.1:7700/.
# Idempotent and quick when everything is built; data persists in
# ./arcade-data. Stop with Ctrl-C.
#
#   ARCADE_LISTEN=127.0.0.1:8080 scripts/demo.sh     # another address
#   ARCADE_DATA=/tmp/casino scripts/demo.sh          # another data directory
#   scripts/demo.sh dev                              # rebuild + reload functions on change
set -euo pipefail
cd "$(dirname "$0")/.."

LISTEN=${ARCADE_LISTEN:-127.0.0.1:7700}
DATA=${ARCADE_DATA:-./arcade-data}
MODE=${1:-serve}
case "$MODE" in
  serve | dev) ;;
  *) echo "usage: scripts/demo.sh [serve|dev]" >&2; exit 2 ;;
esac

echo "== function components" >&2
scripts/build-functions.sh
echo "== the casino page's Appwrite SDK" >&2
scripts/casino-web.sh
echo "== arcade (release build)" >&2
cargo build --release -p arcade

echo "== open http://$LISTEN/ in two browser windows to play (Ctrl-C stops)" >&2
exec ./target/release/arcade "$MODE" --manifest examples/casino/arcade.toml --data "$DATA" --listen "$LISTEN"
