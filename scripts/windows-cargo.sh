#!/usr/bin/env bash
# Runs cargo for 64-bit Windows (x86_64-pc-windows-gnu) with Debian's Rust
# (rustc-web, cargo-web), which rebuilds std for the target from rust-web-src
# (-Z build-std, hence RUSTC_BOOTSTRAP=1): rustup cannot add the target here.
# Its build goes to target/windows/. Arguments are cargo's, for example
#   scripts/windows-cargo.sh test --release --lib
# scripts/setup-windows-env.sh installs the toolchain; see docs/windows.md.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

# Debian's toolchain ahead of rustup's proxies, which cannot build the target.
export PATH="/usr/bin:$PATH"
export RUSTC=/usr/bin/rustc
export RUSTC_BOOTSTRAP=1
export CARGO_BUILD_TARGET=x86_64-pc-windows-gnu
export CARGO_TARGET_DIR="$root/target/windows"
# std with unwinding (the release profile's panic = "unwind": the C boundary
# catches panics), and the test harness for `test`.
exec /usr/bin/cargo -Z build-std=std,panic_unwind,test "$@"
