#!/usr/bin/env bash
# Cross-builds pmdeflate.dll for 64-bit Windows (x86_64-pc-windows-gnu,
# MinGW-w64) with zlib compiled in, and lays out what a Windows user needs:
#   target/windows/dist/bin/pmdeflate.dll           the library
#   target/windows/dist/lib/libpmdeflate.dll.a      MinGW import library
#   target/windows/dist/lib/pmdeflate.def           its exports (for MSVC's lib.exe)
#   target/windows/dist/include/pmdeflate.h         the header
# Uses Debian's Rust (rustc-web, cargo-web) to rebuild std for the target
# (-Z build-std, hence RUSTC_BOOTSTRAP=1), because rustup cannot add the
# target here. Installs what it needs first (scripts/setup-windows-env.sh).
# Idempotent: a second run only relinks if something changed. No arguments.
# See docs/windows.md.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

"$root/scripts/setup-windows-env.sh"

target=x86_64-pc-windows-gnu
export CARGO_TARGET_DIR="$root/target/windows"
release="$CARGO_TARGET_DIR/$target/release"
dist="$CARGO_TARGET_DIR/dist"
# Debian's toolchain, not rustup's proxies (which cannot build this target).
export PATH="/usr/bin:$PATH"
export RUSTC=/usr/bin/rustc
cargo=/usr/bin/cargo

mkdir -p "$dist/bin" "$dist/lib" "$dist/include"
# Only the cdylib: with the rlib and staticlib in the same rustc run, rustc
# skips LTO and the DLL keeps unused parts of std (sockets, ProcessPrng of
# bcryptprimitives.dll, which Wine 8 lacks). --crate-type keeps the build
# to the DLL; the release profile (panic = "unwind", lto) applies as is.
RUSTC_BOOTSTRAP=1 "$cargo" rustc --release --locked --quiet \
    -Z build-std=std,panic_unwind --target "$target" --lib --crate-type cdylib -- \
    -C strip=symbols -C link-arg=-Wl,--output-def,"$release/pmdeflate.def"

cp "$release/pmdeflate.dll" "$dist/bin/"
cp "$release/libpmdeflate.dll.a" "$release/pmdeflate.def" "$dist/lib/"
cp include/pmdeflate.h "$dist/include/"
echo "build-windows: $dist/bin/pmdeflate.dll ($(stat -c %s "$dist/bin/pmdeflate.dll") bytes)"
