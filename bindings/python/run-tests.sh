#!/usr/bin/env bash
# Tests of the Python binding (bindings/python). Builds the release library,
# installs the package with pip from a copy of its sources (a pure-Python
# wheel: no compiler) into a temporary directory, and runs its pytest suites
# against that installed copy: the factories and extension against websockets'
# own, the framework with Python extensions, library loading, and the
# websockets adapter against real websockets peers over loopback.
# Uses the venv of scripts/setup-test-env.sh. Arguments go to pytest.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
py="$root/.venv/bin/python"
# flit_core (the build backend) and pytest come from tests/interop/requirements.txt.
if [ ! -x "$py" ] || ! "$py" -c 'import flit_core, pytest, websockets' 2>/dev/null; then
    "$root/scripts/setup-test-env.sh"
fi

(cd "$root" && cargo build --release --quiet)
lib="$root/target/release/libpmdeflate.so"
[ -f "$lib" ] || { echo "run-tests.sh: $lib missing after the build" >&2; exit 1; }

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
cp -r "$root/bindings/python" "$tmp/src"
rm -rf "$tmp/src/tests"
"$py" -m pip install --quiet --disable-pip-version-check --no-deps --no-index \
    --no-build-isolation --target "$tmp/site" "$tmp/src"

export PMDEFLATE_LIBRARY="$lib"
export PMDEFLATE_TEST_INSTALLED="$tmp/site"
export PYTHONPATH="$tmp/site"
cd "$root/bindings/python/tests"
"$py" -m pytest -q -p no:cacheprovider "$@" .
