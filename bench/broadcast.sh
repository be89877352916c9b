#!/usr/bin/env bash
# Broadcast benchmark: one message to N no_context_takeover receivers,
# compressed once per connection against once with a shared encoder
# (bench/broadcast.c prints what it measures).
#   bench/broadcast.sh [receivers=10000] [window_bits=15] [reps=5]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
out="$root/target/bench"
mkdir -p "$out"
cd "$root"
cargo build --release -q
cc -O2 -std=c99 -Wall -Wextra -Werror -Iinclude -o "$out/broadcast" bench/broadcast.c \
    -Ltarget/release -Wl,-rpath,"$root/target/release" -lpmdeflate
"$out/broadcast" "$@"
