#!/usr/bin/env bash
# Make sure a Rust toolchain that can build wasm32-wasip2 guests (function
# components) is ready, then print, on stdout, the shell environment a guest
# build needs. Everything else goes to stderr, so the usual use is:
#
#   env_lines=$(scripts/guest-toolchain.sh) && eval "$env_lines"
#   cd functions && "$ARCADE_GUEST_CARGO" build --release --target wasm32-wasip2
#
# scripts/build-functions.sh does exactly that. Idempotent; a few seconds (or
# less) once set up.
#
# Two routes, picked in this order:
#  1. "native": the default toolchain already has the wasm32-wasip2 standard
#     library (`rustup target add wasm32-wasip2` on a developer's own machine,
#     or a distribution package). Nothing else is needed.
#  2. "debian": Debian 12 (bookworm) without that target, as on our CI. The
#     rustup target is not downloaded; instead Debian's rustc-web (1.96) rebuilds
#     std for wasm32-wasip2 from rust-web-src with -Zbuild-std, links with
#     rust-lld/wasm-component-ld (rust-web-llvm, lld-22) against Debian's
#     wasi-libc, plus two tiny shims for gaps of that 2022 libc (assembled here
#     into target/wasi-compat/):
#       crt1-command.o    a _start that runs the C constructors (otherwise std::fs
#                         finds no preopens in commands);
#       libwasi-compat.a  single-threaded pthread_* stubs, so code that
#                         references std::thread::spawn links (spawn then fails).
#     Packages are installed with apt-get only when missing.
# ARCADE_GUEST_TOOLCHAIN=native|debian forces a route.
#
# Guest builds may run under another cargo (build.rs, `cargo test`), which
# exports RUSTC, RUSTFLAGS and friends; the printed environment unsets them, so
# they never leak into the guest build.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
say() { printf 'guest-toolchain: %s\n' "$*" >&2; }
die() { say "error: $*"; exit 1; }

# What an outer cargo or the user's shell may have set that would change which
# compiler, flags or target directory the guest build uses.
inherited=(RUSTC RUSTDOC RUSTFLAGS RUSTDOCFLAGS CARGO_ENCODED_RUSTFLAGS CARGO_ENCODED_RUSTDOCFLAGS RUSTC_WRAPPER
  RUSTC_WORKSPACE_WRAPPER CARGO_BUILD_RUSTC CARGO_BUILD_RUSTDOC CARGO_BUILD_RUSTC_WRAPPER
  CARGO_BUILD_RUSTC_WORKSPACE_WRAPPER CARGO_BUILD_RUSTFLAGS CARGO_BUILD_TARGET CARGO_BUILD_TARGET_DIR
  CARGO_TARGET_DIR CARGO_TARGET_WASM32_WASIP2_RUSTFLAGS CARGO_TARGET_WASM32_WASIP2_LINKER CARGO_UNSTABLE_BUILD_STD
  RUSTC_BOOTSTRAP)
unset "${inherited[@]}"

print_env() { # route cargo [NAME=VALUE...]
  local route=$1 cargo=$2 kv v
  shift 2
  printf 'unset %s\n' "${inherited[*]}"
  for kv in "ARCADE_GUEST_TOOLCHAIN=$route" "ARCADE_GUEST_CARGO=$cargo" "$@"; do
    v=${kv#*=}
    printf "export %s='%s'\n" "${kv%%=*}" "${v//\'/\'\\\'\'}"
  done
}

has_native_target() {
  command -v rustc >/dev/null || return 1
  local sysroot
  sysroot=$(rustc --print sysroot 2>/dev/null) || return 1
  [ -d "$sysroot/lib/rustlib/wasm32-wasip2/lib" ]
}

route=${ARCADE_GUEST_TOOLCHAIN:-}
if [ -z "$route" ]; then
  if has_native_target; then route=native; else route=debian; fi
fi

case $route in
native)
  has_native_target || die "the default rustc has no wasm32-wasip2 std; run: rustup target add wasm32-wasip2"
  cargo=$(command -v cargo) || die "cargo not found on PATH"
  say "using $(rustc -V) with its wasm32-wasip2 target"
  print_env native "$cargo"
  exit 0
  ;;
debian) ;;
*) die "ARCADE_GUEST_TOOLCHAIN must be native or debian, not '$route'" ;;
esac

# --- debian route ------------------------------------------------------------
packages=(rustc-web cargo-web rust-web-src rust-web-llvm lld-22 wasi-libc)
missing=()
for p in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
  [ "$status" = installed ] || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  command -v apt-get >/dev/null ||
    die "no wasm32-wasip2 target and no apt-get. Install the target (rustup target add wasm32-wasip2) and run again."
  sudo=()
  if [ "$(id -u)" != 0 ]; then
    command -v sudo >/dev/null || die "installing ${missing[*]} needs root (or sudo)"
    sudo=(sudo)
  fi
  say "installing ${missing[*]} with apt-get (about 170 MB to download, once)"
  export DEBIAN_FRONTEND=noninteractive
  "${sudo[@]}" apt-get update -qq >&2 || die "apt-get update failed"
  "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${packages[@]}" >&2 ||
    die "apt-get install ${packages[*]} failed (these come from Debian 12 bookworm-security)"
fi

v_rustc=$(dpkg-query -W -f='${Version}' rustc-web)
v_src=$(dpkg-query -W -f='${Version}' rust-web-src)
[ "$v_rustc" = "$v_src" ] ||
  die "rustc-web $v_rustc and rust-web-src $v_src differ; -Zbuild-std needs the sources of the same release (apt-get install rustc-web rust-web-src)"
for f in /usr/bin/rustc /usr/bin/cargo /usr/lib/rustlib/src/rust/library/Cargo.lock /usr/lib/wasm32-wasi/libc.a \
  /usr/lib/llvm-22/bin/llvm-mc /usr/lib/llvm-22/bin/llvm-ar; do
  [ -e "$f" ] || die "$f is missing although the packages are installed"
done
[ -e "$(readlink -f /usr/bin/rust-lld)" ] || die "/usr/bin/rust-lld is a dangling link (install lld-22)"

# The shims: sources are written on every run and reassembled only when they
# changed or an output is missing.
compat="$root/target/wasi-compat"
case $compat in *[[:space:]]*) die "the repository path must not contain spaces ($compat goes into RUSTFLAGS)" ;; esac
mkdir -p "$compat"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

cat >"$tmp/crt1-command.s" <<'EOF'
# _start for WASI commands that calls the constructors explicitly (as newer
# wasi-libc does); the shape clang -S gives for:
#   void _start(void){ static int started; if(started) trap; started=1;
#     __wasm_call_ctors(); int r=__main_void(); __wasm_call_dtors(); if(r) exit(r); }
	.functype	__wasm_call_ctors () -> ()
	.functype	__main_void () -> (i32)
	.functype	__wasm_call_dtors () -> ()
	.functype	exit (i32) -> ()
	.section	.text._start,"",@
	.globl	_start
	.export_name	_start, _start
	.type	_start,@function
_start:
	.functype	_start () -> ()
	.local  	i32
	block
	block
	i32.const	0
	i32.load	_start.started
	br_if   	0
	i32.const	0
	i32.const	1
	i32.store	_start.started
	call	__wasm_call_ctors
	call	__main_void
	local.set	0
	call	__wasm_call_dtors
	local.get	0
	br_if   	1
	return
	end_block
	unreachable
	end_block
	local.get	0
	call	exit
	unreachable
	end_function
	.section	.bss._start.started,"",@
	.p2align	2
	.type	_start.started,@object
_start.started:
	.int32	0
	.size	_start.started, 4
	.no_dead_strip	_start
EOF

{
  echo '# Single-threaded pthread stubs (0 = ok, 58 = ENOTSUP): std::thread::spawn then returns Unsupported.'
  for f in "pthread_attr_init (i32) 0" "pthread_attr_destroy (i32) 0" "pthread_attr_setstacksize (i32, i32) 0" \
    "pthread_create (i32, i32, i32, i32) 58" "pthread_detach (i32) 58" "pthread_join (i32, i32) 58"; do
    name=${f%% *} ret=${f##* } params=${f#* }
    params=${params% *}
    printf '\t.section\t.text.%s,"",@\n\t.globl\t%s\n\t.type\t%s,@function\n%s:\n\t.functype\t%s %s -> (i32)\n\ti32.const\t%s\n\tend_function\n' \
      "$name" "$name" "$name" "$name" "$name" "$params" "$ret"
  done
} >"$tmp/pthread-stubs.s"

if ! cmp -s "$tmp/crt1-command.s" "$compat/crt1-command.s" || ! cmp -s "$tmp/pthread-stubs.s" "$compat/pthread-stubs.s" ||
  [ ! -f "$compat/crt1-command.o" ] || [ ! -f "$compat/libwasi-compat.a" ]; then
  say "assembling the wasi-libc compatibility shims in $compat"
  mc=/usr/lib/llvm-22/bin/llvm-mc
  "$mc" -triple=wasm32-wasi -filetype=obj "$tmp/crt1-command.s" -o "$tmp/crt1-command.o"
  "$mc" -triple=wasm32-wasi -filetype=obj "$tmp/pthread-stubs.s" -o "$tmp/pthread-stubs.o"
  /usr/lib/llvm-22/bin/llvm-ar rcs "$tmp/libwasi-compat.a" "$tmp/pthread-stubs.o"
  cp "$tmp/crt1-command.o" "$tmp/libwasi-compat.a" "$tmp/crt1-command.s" "$tmp/pthread-stubs.s" "$compat/"
fi

say "using Debian $(/usr/bin/rustc -V) with -Zbuild-std for wasm32-wasip2"
# -L order matters: rustc takes the first crt1-command.o on the search path.
print_env debian /usr/bin/cargo \
  RUSTC_BOOTSTRAP=1 \
  CARGO_BUILD_RUSTC=/usr/bin/rustc \
  CARGO_BUILD_RUSTDOC=/usr/bin/rustdoc \
  CARGO_UNSTABLE_BUILD_STD=std,panic_abort \
  "CARGO_TARGET_WASM32_WASIP2_RUSTFLAGS=-L native=$compat -L native=/usr/lib/wasm32-wasi -C link-arg=-lwasi-compat"
