#!/usr/bin/env bash
# Run every test: the guest SDK and game logic natively, Rust unit and
# end-to-end tests (with function components built from functions/), the Node
# tests that drive Arcade through the official Appwrite SDKs, and the casino
# demo in headless Chromium. Sets up what it needs (the wasm toolchain and
# Chromium from Debian's packages, npm packages from the committed lock files)
# and is quick when that is done.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n== %s\n' "$*"; }

step "node packages (tests/node, from package-lock.json)"
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  echo "node and npm are required (Node 20)" >&2
  exit 1
fi
stamp=tests/node/node_modules/.arcade-lock-stamp
if [ ! -f "$stamp" ] || ! cmp -s tests/node/package-lock.json "$stamp"; then
  npm ci --prefix tests/node --no-audit --no-fund
  cp tests/node/package-lock.json "$stamp"
else
  echo "up to date"
fi

step "guest toolchain and function components (functions/dist/*.wasm)"
scripts/build-functions.sh

step "guest SDK and game logic, natively"
cargo test --manifest-path sdk-guest/Cargo.toml
(cd functions && cargo test --target "$(rustc -vV | sed -n 's/^host: //p')" --workspace)

step "cargo build"
cargo build --workspace --all-targets

step "cargo test (unit + end-to-end)"
cargo test --workspace

step "node tests (appwrite web SDK 28, node-appwrite)"
ARCADE_BIN="$PWD/target/debug/arcade" node --test --test-force-exit --test-concurrency=1 tests/node/

step "browser test (the casino demo in headless Chromium, two players)"
scripts/browser-setup.sh
ARCADE_BIN="$PWD/target/debug/arcade" node --test --test-force-exit --test-concurrency=1 tests/browser/
