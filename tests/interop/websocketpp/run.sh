#!/usr/bin/env bash
# Interop of the websocketpp echo server and client of examples-cpp/ (on
# the pmdeflate policy, include/pmdeflate/websocketpp.hpp) with Python
# websockets, Node ws and headless Chromium, server and client roles.
# Builds what it needs; any failing cell fails the run.
#   tests/interop/websocketpp/run.sh
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)"
cd "$root"
scripts/setup-test-env.sh
cargo build --release --quiet
make -s -C examples-cpp
exec .venv/bin/python tests/interop/websocketpp/interop_wspp.py "$@"
