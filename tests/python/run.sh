#!/usr/bin/env bash
# Cross-checks of pmdeflate against websockets 17.4 (tests/python/test_crosscheck.py),
# and shared-encoder frames on websockets receivers (tests/python/test_shared_encoder.py).
# Uses the venv that scripts/setup-test-env.sh creates at .venv; builds the
# release library unless PMD_LIB names one. Exits non-zero on any failure;
# nothing is ever skipped.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
PY="$ROOT/.venv/bin/python"

if [ ! -x "$PY" ]; then
    if [ -f "$ROOT/scripts/setup-test-env.sh" ]; then
        bash "$ROOT/scripts/setup-test-env.sh"
    fi
fi
if [ ! -x "$PY" ]; then
    echo "tests/python/run.sh: $PY not found (run scripts/setup-test-env.sh)" >&2
    exit 1
fi

"$PY" - <<'PYEOF'
import sys
import websockets
if websockets.__version__ != "17.4":
    sys.exit(f"tests/python/run.sh: websockets {websockets.__version__} in .venv, need 17.4")
PYEOF

if [ -z "${PMD_LIB:-}" ]; then
    (cd "$ROOT" && cargo build --release --quiet)
    export PMD_LIB="$ROOT/target/release/libpmdeflate.so"
fi
if [ ! -f "$PMD_LIB" ]; then
    echo "tests/python/run.sh: library $PMD_LIB not found" >&2
    exit 1
fi

cd "$ROOT/tests/python"
"$PY" test_crosscheck.py "$@"
# The shared encoder's frames decoded by websockets receivers.
exec "$PY" test_shared_encoder.py
