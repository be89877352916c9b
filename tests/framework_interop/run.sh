#!/usr/bin/env bash
# Interop test of the extension framework: the chain
# [permessage-deflate, x-xor] negotiated by pmd_negotiator in a C program
# (xor_echo.c), against Python's websockets 17.4 running the same chain with
# x-xor written on websockets' own abstract extension classes (peer.py).
# Real sockets on loopback, both roles:
#   1. C server (xor_echo server)  <-  Python client (peer.py client)
#   2. Python server (peer.py server)  <-  C client (xor_echo client)
# Each side asserts the negotiated Sec-WebSocket-Extensions value and that
# every message comes back byte for byte. A missing peer is a failure.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
here="$root/tests/framework_interop"
out="$root/target/framework-interop"
lib="$root/target/release"
py="$root/.venv/bin/python"
mkdir -p "$out"
cd "$root"

[ -x "$py" ] || ./scripts/setup-test-env.sh
"$py" -c 'import websockets, sys; v = websockets.__version__; sys.exit(0 if v == "17.4" else "websockets " + v + ", want 17.4")'

cargo build --release --quiet
# The WebSocket pieces of examples-c that xor_echo.c uses (it frames by itself).
ex="$root/examples-c"
gcc -std=c99 -Wall -Wextra -Werror -D_POSIX_C_SOURCE=200809L -g -O1 \
    -I"$root/include" -I"$ex" -I"$root/tests/c/framework" \
    -o "$out/xor_echo" "$here/xor_echo.c" "$ex/ws_buf.c" "$ex/ws_sha1.c" "$ex/ws_base64.c" \
    "$ex/ws_random.c" "$ex/ws_http.c" "$ex/ws_handshake.c" "$ex/ws_socket.c" \
    -L"$lib" -Wl,-rpath,"$lib" -lpmdeflate

port() { "$py" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# Waits until a background peer prints "listening" (10 s at most).
wait_listening() {
    for _ in $(seq 100); do
        grep -q listening "$1" 2>/dev/null && return 0
        sleep 0.1
    done
    echo "framework-interop: peer did not start"; cat "$1"; return 1
}

status=0

# 1. C server, Python client.
p=$(port)
timeout 60 "$out/xor_echo" server "$p" >"$out/c-server.log" 2>&1 &
srv=$!
wait_listening "$out/c-server.log"
expected="permessage-deflate; server_max_window_bits=12, x-xor; key=77"
if timeout 60 "$py" "$here/peer.py" client "$p" 77 "$expected"; then :; else status=1; fi
if wait "$srv"; then :; else echo "framework-interop: C server failed"; status=1; fi
cat "$out/c-server.log"
grep -qxF "extensions: $expected" "$out/c-server.log" || { echo "framework-interop: C server negotiated something else"; status=1; }
grep -qxF "chain: permessage-deflate x-xor" "$out/c-server.log" || { echo "framework-interop: C server chain differs"; status=1; }

# 2. Python server, C client.
p=$(port)
expected="permessage-deflate; server_max_window_bits=11, x-xor; key=201"
timeout 60 "$py" "$here/peer.py" server "$p" "$expected" >"$out/py-server.log" 2>&1 &
srv=$!
wait_listening "$out/py-server.log"
if timeout 60 "$out/xor_echo" client "$p" 201 >"$out/c-client.log" 2>&1; then :; else status=1; fi
cat "$out/c-client.log"
if wait "$srv"; then :; else status=1; fi
cat "$out/py-server.log"
grep -qxF "extensions: $expected" "$out/c-client.log" || { echo "framework-interop: C client saw something else"; status=1; }
grep -qxF "chain: permessage-deflate x-xor" "$out/c-client.log" || { echo "framework-interop: C client chain differs"; status=1; }
grep -q "all identical" "$out/c-client.log" || status=1

if [ "$status" = 0 ]; then echo "framework-interop: both roles passed"; else echo "framework-interop: FAILED"; fi
exit "$status"
