#!/usr/bin/env bash
# Cross-builds pmdeflate.dll for 64-bit Windows (x86_64-pc-windows-gnu,
# MinGW-w64) with zlib compiled in, and lays out what a Windows user needs:
#   target/windows/dist/bin/pmdeflate.dll           the library
#   target/windows/dist/lib/libpmdeflate.dll.a      MinGW import library
#   target/windows/dist/lib/pmdeflate.def           its exports (for MSVC's lib.exe)
#   target/windows/dist/include/pmdeflate.h         the header
# Builds with Debian's Rust through scripts/windows-cargo.sh (rustup cannot
# add the target here). Installs what it needs first
# (scripts/setup-windows-env.sh).
# Idempotent: a second run only relinks if something changed. No arguments.
# See docs/windows.md.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

"$root/scripts/setup-windows-env.sh"

release="$root/target/windows/x86_64-pc-windows-gnu/release"
dist="$root/target/windows/dist"
mkdir -p "$dist/bin" "$dist/lib" "$dist/include"
# Only the cdylib: with the rlib and staticlib in the same rustc run, rustc
# skips LTO and the DLL keeps unused parts of std (sockets, and ProcessPrng
# of bcryptprimitives.dll, which Wine 8 lacks). The release profile
# (panic = "unwind", lto) applies as is.
"$root/scripts/windows-cargo.sh" rustc --release --locked --quiet --lib --crate-type cdylib -- \
    -C strip=symbols -C link-arg=-Wl,--output-def,"$release/pmdeflate.def"

cp "$release/pmdeflate.dll" "$dist/bin/"
cp "$release/libpmdeflate.dll.a" "$release/pmdeflate.def" "$dist/lib/"
cp include/pmdeflate.h "$dist/include/"
echo "build-windows: $dist/bin/pmdeflate.dll ($(stat -c %s "$dist/bin/pmdeflate.dll") bytes)"
