#!/usr/bin/env bash
# The soak (tests/soak/soak.py): examples-c/ws_echo_server under rounds of
# 2,000 concurrent honest Python websockets connections over loopback, in
# every configuration the server can agree to, with random messages up to
# 1 MiB (some fragmented), raw clients at client window 8, and hostile
# clients mixed in (corrupt DEFLATE, bombs, RSV abuse, half-closed and
# vanished sockets). Fails on any echo not intact, any hostile connection
# not closed with its close code, any connection left behind, a server
# that dies, or RSS after a round above round 1's by more than 10 % or
# 1 MiB (docs/soak.md).
#
#   tests/soak/run.sh                  what scripts/test.sh runs: rounds for
#                                      2 minutes (at least 3), 1 message each
#   tests/soak/run.sh --minutes 30 --messages 3      a long one
#   (soak.py's other options: --connections, --hostile-per-kind, --raw8,
#    --seed, --malloc-caches; see its docstring)
#
# Raises the open-file limit for itself and the server (each round holds
# over 2,000 sockets on each side). Builds the library and the server; uses
# the Python venv of scripts/setup-test-env.sh.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
py="$root/.venv/bin/python"
if [ ! -x "$py" ]; then
    echo "tests/soak/run.sh: $py not found (run scripts/setup-test-env.sh)" >&2
    exit 1
fi
hard="$(ulimit -Hn)"
want=16384
if [ "$hard" != unlimited ] && [ "$hard" -lt "$want" ]; then
    want="$hard"
fi
ulimit -n "$want"
cargo build --release --quiet
make -s -C examples-c ws_echo_server
exec "$py" tests/soak/soak.py examples-c/ws_echo_server "$@"
