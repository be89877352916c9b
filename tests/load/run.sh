#!/usr/bin/env bash
# The C echo server under load (tests/load/echo_rss.py): rounds of several
# hundred concurrent compressed connections over loopback, every echo
# checked byte for byte, and the server's RSS with no connection left
# measured after each round; each round must end within 10 % of the first
# (or 256 KiB, see tests/load/echo_rss.py).
#
#   tests/load/run.sh [echo_rss.py options]    e.g. --connections 500
#   tests/load/run.sh --no-malloc-caches       what scripts/test.sh runs
#
# The server runs with its default memory policy (--mmap-threshold 4096:
# blocks from 4 KiB up get their own mapping and go back to the kernel when
# freed). --mmap-threshold 0 leaves glibc's malloc as configured, where a
# small freed block cached high in its heap keeps everything below it
# resident (docs/memory-under-load.md). --no-malloc-caches turns glibc's
# per-thread cache and fast bins off, so that what stays resident is memory
# still held, by the library or the server: that is what make test checks,
# because with the cache on RSS after a round still varies (3 to 9 MB).
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
