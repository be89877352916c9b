#!/usr/bin/env bash
# The scale benchmark, small (bench/scale.c): 2 000 server connections in
# one process, window 15, memLevel 8, context takeover, each negotiated
# through pmd_server_negotiate / pmd_client_accept and exchanging a small
# message each way for 3 rounds, every message checked on both sides;
# once compacting each connection after each exchange, once never.
# Fails when a message does not decode to what was sent, when a compacted
# connection adds more than MAX_RSS bytes of RSS (after round 1 or round 3),
# or when compaction does not cut the RSS per connection at least 20-fold.
#
# The bound, 2 000 B per connection, is the issue's target (100 000
# connections in under 200 MB) per connection. The full run
# (bench/scale.sh, BENCHMARKS.md "Scale") measured 530 B after round 1 and
# 910 B after round 3 at 100 000 connections, and 840 / 1 240 B at 2 000
# (where glibc's free heap top, up to its 128 KiB trim threshold, and the
# last freed zlib state weigh more per connection); uncompacted, about
# 100 KB.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
out="$root/target/scale-test"
mkdir -p "$out"
n=2000
max_rss=2000
cargo build --release -q
cc -O2 -std=c99 -Wall -Wextra -Werror -Iinclude -o "$out/scale" bench/scale.c \
    -Ltarget/release -Wl,-rpath,"$root/target/release" -lpmdeflate -lz

# Transparent huge pages off for the program: RSS in 4 KiB pages whatever
# the kernel's THP mode (see bench/scale.c).
export PMD_SCALE_THP_DISABLE=1
field() { sed -n "s/.* $1=\\([^ ]*\\).*/\\1/p"; }
compacted="$("$out/scale" "$n" w15 1 3 "$max_rss")"
echo "$compacted"
kept="$("$out/scale" "$n" w15 0 3)"
echo "$kept"
c="$(field rss_round1_per_conn_B <<<"$compacted")"
k="$(field rss_round1_per_conn_B <<<"$kept")"
if [ -z "$c" ] || [ -z "$k" ] || [ "$((k))" -lt "$((20 * c))" ]; then
    echo "tests/scale: compaction cut RSS per connection from ${k:-?} B only to ${c:-?} B" >&2
    exit 1
fi
echo "tests/scale: $n connections, compacted ${c} B of RSS each (bound ${max_rss} B), ${k} B without compaction"
