#!/usr/bin/env bash
# Build what the benchmarks need and run them; prints the markdown sections
# for BENCHMARKS.md on stdout (progress goes to stderr) and keeps a copy of
# each in target/bench-<section>.md. Safe to run again: every server and sled
# baseline gets a fresh temporary directory that is removed afterwards.
#
#   bench/run.sh                       # all three sections
#   bench/run.sh tablesdb functions    # some of them: tablesdb, functions, realtime
#   bench/run.sh realtime -- --seconds 5 --repeat 1   # options after -- go to each section's command
#
# Needs cargo, Node 20 with npm (the realtime baseline) and the guest
# toolchain (scripts/build-functions.sh sets it up). Run it on an otherwise
# idle machine: the numbers are only as good as the quiet around them.
set -euo pipefail
cd "$(dirname "$0")/.."

sections=()
while [ $# -gt 0 ] && [ "$1" != "--" ]; do
  case "$1" in
    tablesdb | functions | realtime) sections+=("$1") ;;
    *) echo "bench/run.sh: unknown section '$1' (tablesdb, functions, realtime)" >&2; exit 2 ;;
  esac
  shift
done
[ "${1:-}" = "--" ] && shift
[ ${#sections[@]} -eq 0 ] && sections=(tablesdb functions realtime)

cargo build --release -p arcade -p arcade-bench >&2
bench=target/release/arcade-bench
for s in "${sections[@]}"; do
  case "$s" in
    tablesdb)
      "$bench" all --arcade-bin target/release/arcade --out target/bench-tablesdb.md "$@"
      ;;
    functions)
      scripts/build-functions.sh >&2
      "$bench" functions --arcade-bin target/release/arcade --out target/bench-functions.md "$@"
      ;;
    realtime)
      if [ ! -f bench/realtime-baseline/node_modules/ws/package.json ]; then
        npm ci --prefix bench/realtime-baseline --no-audit --no-fund >&2
      fi
      "$bench" realtime --arcade-bin target/release/arcade --out target/bench-realtime.md "$@"
      ;;
  esac
done
