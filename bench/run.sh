#!/usr/bin/env bash
# Build the release binaries and run the whole benchmark once; prints the
# markdown section for BENCHMARKS.md on stdout (progress goes to stderr) and
# also keeps it in target/bench-report.md. Safe to run again: every server and
# sled baseline gets a fresh temporary directory that is removed afterwards.
#
# Extra arguments go to `arcade-bench all`, e.g. `bench/run.sh --seconds 5`.
# Needs only cargo. Run it on an otherwise idle machine: the numbers are only
# as good as the quiet around them.
set -euo pipefail
cd "$(dirname "$0")/.."

cargo build --release -p arcade -p arcade-bench >&2
exec target/release/arcade-bench all --arcade-bin target/release/arcade --out target/bench-report.md "$@"
