#!/usr/bin/env bash
# Starts ws_echo_server on an ephemeral port, runs ws_echo_client against
# it, and checks that both exit cleanly.
#   ./run-loopback.sh [options for both]
#   ./run-loopback.sh [server options] -- [client options]
# e.g. ./run-loopback.sh --server-max-window-bits 10
#      ./run-loopback.sh --max-size 100000 -- --oversize 200000
# Environment: SERVER=./wslay_echo_server runs the wslay integration instead;
# CLIENT=path runs another build of the client (tests/sanitizers/run.sh);
# VALGRIND="valgrind --error-exitcode=1 ..." runs both programs under it.
set -euo pipefail
server_args=() client_args=() split=0
for a in "$@"; do
    if [ "$a" = "--" ]; then split=1; continue; fi
    if ((split)); then client_args+=("$a"); else server_args+=("$a"); fi
done
((split)) || client_args=("${server_args[@]}")
cd "$(dirname "${BASH_SOURCE[0]}")"
server="${SERVER:-./ws_echo_server}"
client="${CLIENT:-./ws_echo_client}"
[ -x "$server" ] && [ -x "$client" ] || make -s "$(basename "$server")" ws_echo_client
read -r -a wrap <<<"${VALGRIND:-}"

out="$(mktemp -d)"
trap 'kill "$spid" 2>/dev/null || true; rm -rf "$out"' EXIT
${wrap[@]+"${wrap[@]}"} "$server" --port 0 --max-connections 1 ${server_args[@]+"${server_args[@]}"} >"$out/server.out" 2>"$out/server.err" &
spid=$!
for _ in $(seq 400); do
    port="$(sed -n 's/^listening on \([0-9]*\)$/\1/p' "$out/server.out")"
    [ -n "$port" ] && break
    sleep 0.05
done
[ -n "${port:-}" ] || { echo "server did not start" >&2; cat "$out/server.err" >&2; exit 1; }
echo "server listening on $port"

crc=0
${wrap[@]+"${wrap[@]}"} "$client" --port "$port" ${client_args[@]+"${client_args[@]}"} || crc=$?
src=0
wait "$spid" || src=$?
echo "--- server log"
cat "$out/server.err"
echo "client exit $crc, server exit $src"
[ "$crc" -eq 0 ] && [ "$src" -eq 0 ]
