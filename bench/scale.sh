#!/usr/bin/env bash
# Scale benchmark: N server connections in one process (bench/scale.c), at
# each size of SIZES, for three settings (nct: no_context_takeover both
# ways, window 15, memLevel 8; w15: window 15, memLevel 8, takeover; w12:
# window 12, memLevel 5, takeover), with and without pmd_extension_compact,
# REPS times each (medians); then Python websockets (bench/scale_websockets.py)
# and Node ws (bench/scale_ws.js) at PEER_N connections in the same three
# settings, and the broadcast benchmark (bench/broadcast.sh) at PEER_N
# receivers. Prints a table of RSS per connection and messages per second.
#   bench/scale.sh [REPS=3] [SIZES="10000 100000"] [PEER_N=10000]
# Without compaction a connection holds its zlib streams (about 100 KB of
# RSS at window 15), so sizes above 20 000 run with compaction only
# (100 000 would need about 10 GB). PMD_SCALE_BROADCAST=0 skips the
# broadcast benchmark. Raw lines go to target/bench/scale.raw, the table to
# target/bench/scale.txt; then bench/plots.py redraws docs/img/*.png from
# them and from the medians of the last bench/run.sh runs
# (target/bench/run.*.tsv). The peers and matplotlib come from
# scripts/setup-test-env.sh.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
out="$root/target/bench"
reps="${1:-3}"
sizes="${2:-10000 100000}"
peer_n="${3:-10000}"
mkdir -p "$out"
cd "$root"
python="${PMD_BENCH_PYTHON:-$root/.venv/bin/python}"
node="${PMD_BENCH_NODE:-node}"
if ! "$python" -c 'import websockets, matplotlib' 2>/dev/null \
    || [ ! -f tests/interop/node/node_modules/ws/lib/permessage-deflate.js ] \
    || ! command -v "$node" >/dev/null; then
    echo "bench/scale.sh: the peers are missing; run scripts/setup-test-env.sh first" >&2
    exit 1
fi
cargo build --release -q
cc -O2 -std=c99 -Wall -Wextra -Werror -Iinclude -o "$out/scale" bench/scale.c \
    -Ltarget/release -Wl,-rpath,"$root/target/release" -lpmdeflate -lz

raw="$out/scale.raw"
: >"$raw"
field() { sed -n "s/.* $1=\\([^ ]*\\).*/\\1/p"; }
median() { sort -g | awk '{a[NR]=$1} END {if (!NR) print "-"; else print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
settings=(nct w15 w12)
for n in $sizes; do
    for s in "${settings[@]}"; do
        for c in 1 0; do
            [ "$c" = 0 ] && [ "$n" -gt 20000 ] && continue
            for _ in $(seq "$reps"); do
                "$out/scale" "$n" "$s" "$c" 3 | sed 's/^scale /scale prog=pmd /' >>"$raw"
            done
        done
    done
done
for s in "${settings[@]}"; do
    "$python" bench/scale_websockets.py "$peer_n" "$s" | sed 's/^scale /scale prog=websockets /' >>"$raw"
    "$node" --expose-gc bench/scale_ws.js "$peer_n" "$s" | sed 's/^scale /scale prog=ws /' >>"$raw"
done

{
    echo "RSS per connection (server side; bytes added to the process's VmRSS / connections) and"
    echo "the server's messages per second (medians of $reps runs for pmdeflate; peers run once)"
    printf '%-10s %-4s %7s %3s | %10s %10s %10s | %10s %10s %12s\n' prog setting n cmp \
        rss_round1 usage_r1 rss_last conn/s r1_msg/s r2+_msg/s
    while read -r prog s n c; do
        sel() { grep "prog=$prog setting=$s .* n=$n compact=$c " "$raw"; }
        m() { sel | field "$1" | median; }
        printf '%-10s %-4s %7s %3s | %10s %10s %10s | %10s %10s %12s\n' "$prog" "$s" "$n" "$c" \
            "$(m rss_round1_per_conn_B)" "$(m usage_round1_per_conn_B)" "$(m rss_last_per_conn_B)" \
            "$(m round1_conn_per_s)" "$(m round1_server_msgs_per_s)" "$(m server_msgs_per_s)"
    done < <(awk '{print $2, $3, $7, $8}' "$raw" | sed 's/[a-z]*=//g' | sort -u -k1,1 -k3,3n -k2,2 -k4,4r)
    echo
    echo "rss_*: bytes of RSS per connection after round 1 (one small message each way, then"
    echo "compacted when cmp=1) and after the last of 3 rounds; usage: pmd_extension_memory_usage."
    echo "r1_msg/s: round 1 (negotiation included), server calls only; r2+_msg/s: rounds 2-3."
} | tee "$out/scale.txt"

if [ "${PMD_SCALE_BROADCAST:-1}" != 0 ]; then
    echo
    echo "broadcast: one message to $peer_n no_context_takeover receivers (bench/broadcast.sh)"
    ./bench/broadcast.sh "$peer_n" 15 "$reps" | tee "$out/broadcast.txt" | tee -a "$out/scale.txt"
fi

"$python" bench/plots.py "$out" docs/img
