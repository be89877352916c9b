#!/usr/bin/env bash
# The whole test suite: installs what the tests need (idempotent, quick when
# already there), then runs every suite. Any failure fails the run; a peer
# or tool that cannot start is a failure, never a skip.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

step() { printf '\n==== %s\n' "$*"; }

step "setup"
./scripts/setup-build-env.sh
./scripts/setup-test-env.sh

step "format and lints"
cargo fmt --check
cargo clippy --release --all-targets -- -D warnings

step "build (generates include/pmdeflate.h)"
cargo build --release

step "Rust unit and integration tests"
cargo test --release

step "fuzz targets (libFuzzer, ASan): seed corpus plus 4 s each, properties checked"
./tests/fuzz/run.sh

step "C tests under valgrind"
./tests/c/run.sh

step "allocations per decoded message, counted from C (natively)"
./tests/c/alloc/run.sh

step "allocation failure: every allocation of each scenario fails in turn, from C (natively)"
./tests/c/oom/run.sh

step "extension framework: C tests under valgrind"
./tests/c/framework/run.sh

step "sanitizers: C tests and examples under ASan+UBSan, threaded tests under TSan, on a sanitized library"
./tests/sanitizers/run.sh

step "zlib-ng build (--features zlib-ng, target/zlib-ng): Rust round trips, C tests under valgrind"
./tests/zlib-ng/run.sh

step "cross-checks against Python websockets"
./tests/python/run.sh

step "Python binding: pytest suites, the websockets adapter against websockets peers"
./bindings/python/run-tests.sh

step "C examples in the documentation"
./tests/docs/run.sh

step "C examples: demo and loopback"
make demo

step "C examples under valgrind"
./examples-c/run-valgrind.sh

step "installed library: make install (PREFIX, DESTDIR), C via pkg-config shared and static, C++, CMake find_package"
./tests/install/run.sh

step "Windows: pmdeflate.dll cross-built with MinGW-w64, C tests and demo under Wine"
./tests/windows/run.sh

step "the C echo server under load: 3 rounds of 400 compressed connections, RSS after each"
./tests/load/run.sh

step "soak: the C echo server under 2,000 concurrent connections in every configuration, hostile clients mixed in, 2 minutes"
./tests/soak/run.sh

step "interop with real peers"
./tests/interop/run.sh

step "extension framework interop with Python websockets"
./tests/framework_interop/run.sh

step "broadcast benchmark, small: a shared encode equals each connection's own bytes and decodes"
./bench/broadcast.sh 200 15 1

step "scale benchmark, small: 2 000 connections, compacted RSS per connection under 2 000 B, every message checked"
./tests/scale/run.sh

step "C++ header under valgrind; websocketpp policy: interop with websockets, ws, Chromium"
./tests/cpp/run.sh && ./tests/interop/websocketpp/run.sh

step "all suites passed"
