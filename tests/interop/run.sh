#!/usr/bin/env bash
# Interop tests: our C WebSocket endpoints (examples-c, on pmdeflate) against
# websockets, ws, Autobahn|Python, Boost.Beast (built from tests/interop/beast,
# cached in target/beast-peer) and headless Chromium. Prints the matrix,
# rewrites the table in docs/interop.md, exits non-zero on any failure.
#   tests/interop/run.sh                  everything
#   tests/interop/run.sh clients|wslay|servers|raw|browser   one part (docs untouched)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
scripts/setup-test-env.sh
cargo build --release --quiet
make -s -C examples-c
exec .venv/bin/python tests/interop/interop.py "$@"
