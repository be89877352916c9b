#!/usr/bin/env bash
# The C echo server under load (tests/load/echo_rss.py): rounds of several
# hundred concurrent compressed connections over loopback, every echo
# checked byte for byte, and the server's RSS with no connection left
# measured after each round; each round must end within 10 % of the first.
#
#   tests/load/run.sh [echo_rss.py options]    e.g. --connections 500
#
# The server runs with its default memory policy, which is what
# scripts/test.sh checks: glibc's per-thread cache of small freed blocks
# off (the server re-executes itself with GLIBC_TUNABLES) and
# --mmap-threshold 4096 (blocks from 4 KiB up get their own mapping and go
# back to the kernel when freed). --malloc-cache keeps glibc's cache,
# where a small freed block cached high in the heap keeps everything below
# it resident and RSS after a round varies (docs/memory-under-load.md).
# Builds the library and examples-c/ws_echo_server; uses the Python venv of
# scripts/setup-test-env.sh. PMD_LIBDIR names another directory holding
# libpmdeflate.so for the server to load (to measure another build).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
py="$root/.venv/bin/python"
if [ ! -x "$py" ]; then
    echo "tests/load/run.sh: $py not found (run scripts/setup-test-env.sh)" >&2
    exit 1
fi
cargo build --release --quiet
make -s -C examples-c ws_echo_server
if [ -n "${PMD_LIBDIR:-}" ]; then
    export LD_LIBRARY_PATH="$PMD_LIBDIR"
fi
exec "$py" tests/load/echo_rss.py examples-c/ws_echo_server "$@"
