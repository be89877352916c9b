#!/usr/bin/env bash
# Runs bindings/python/bench/ctypes_cost.py against the release library and
# the package's sources, with the venv of scripts/setup-test-env.sh.
# Usage: bindings/python/bench/run.sh [RUNS]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)"
(cd "$root" && cargo build --release --quiet)
export PMDEFLATE_LIBRARY="$root/target/release/libpmdeflate.so"
export PYTHONPATH="$root/bindings/python"
exec "$root/.venv/bin/python" "$root/bindings/python/bench/ctypes_cost.py" "$@"
