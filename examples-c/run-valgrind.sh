#!/usr/bin/env bash
# The C examples under valgrind: the echo server (and the wslay one) and the
# client over loopback, with the full message set and with an oversized
# message closed with 1009. Any valgrind error or leak fails the run.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
make -s ws_echo_server ws_echo_client wslay_echo_server
export VALGRIND="valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite,indirect,possible --show-leak-kinds=definite,indirect,possible"
./run-loopback.sh
./run-loopback.sh --max-size 1000000 -- --oversize 2000000
./run-loopback.sh --server-no-context-takeover --client-no-context-takeover --server-max-window-bits 9
SERVER=./wslay_echo_server ./run-loopback.sh
echo "examples under valgrind: all runs clean"
