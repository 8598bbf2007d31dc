#!/usr/bin/env bash
# Build every function crate in functions/*/ (release, wasm32-wasip2) and copy
# the components to functions/dist/<crate directory>.wasm. Sets up the guest
# toolchain first (scripts/guest-toolchain.sh). Quick when nothing changed:
# cargo finds everything fresh and unchanged files are not copied again.
#
# Safe to call from inside another cargo (a build.rs, `cargo test`): inherited
# compiler settings are cleared for the guest build.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
fail() { printf 'build-functions: error: %s\n' "$*" >&2; exit 1; }

env_lines=$("$root/scripts/guest-toolchain.sh") || fail "the guest toolchain is not ready (see above)"
eval "$env_lines"

cd "$root/functions"
dist="$root/functions/dist"
target_dir="$root/functions/target"

# Every functions/<dir>/Cargo.toml must be a workspace member, or it would be
# skipped silently.
members=$(tr -d '\n' <Cargo.toml | grep -o 'members *= *\[[^]]*\]' || true)
crates=()
for manifest in */Cargo.toml; do
  [ -e "$manifest" ] || continue
  dir=${manifest%/Cargo.toml}
  [[ $members == *"\"$dir\""* ]] || fail "functions/$dir is not in the members list of functions/Cargo.toml"
  crates+=("$dir")
done
[ ${#crates[@]} -gt 0 ] || fail "no function crates in functions/"

start=$(date +%s)
if ! "$ARCADE_GUEST_CARGO" build --release --target wasm32-wasip2 --target-dir "$target_dir" --workspace; then
  fail "cargo build of the functions failed (toolchain: $ARCADE_GUEST_TOOLCHAIN)"
fi

mkdir -p "$dist"
for dir in "${crates[@]}"; do
  name=$(sed -n '/^\[package\]/,/^\[/s/^name *= *"\(.*\)"/\1/p' "$dir/Cargo.toml" | head -n1)
  [ -n "$name" ] || fail "functions/$dir/Cargo.toml has no package name"
  wasm="$target_dir/wasm32-wasip2/release/${name//-/_}.wasm"
  [ -f "$wasm" ] || fail "$wasm was not built; is functions/$dir a crate-type = [\"cdylib\"]?"
  # A component starts with \0asm and version 0d 00, layer 01 00 (a core module has 01 00 00 00).
  [ "$(head -c 8 "$wasm" | od -An -tx1 | tr -d ' \n')" = 0061736d0d000100 ] ||
    fail "$wasm is not a WebAssembly component"
  out="$dist/$dir.wasm"
  if ! cmp -s "$wasm" "$out"; then
    cp "$wasm" "$out.tmp"
    mv "$out.tmp" "$out"
  fi
  printf 'build-functions: %-40s %8d bytes\n' "functions/dist/$dir.wasm" "$(stat -c %s "$out")" >&2
done
printf 'build-functions: %d function(s) ready in %ds\n' "${#crates[@]}" "$(($(date +%s) - start))" >&2
