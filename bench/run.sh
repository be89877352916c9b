#!/usr/bin/env bash
# Benchmark: pmdeflate against the raw zlib floor (bench/zlib_baseline.c) and
# against the permessage-deflate of two peers, Python websockets
# (bench/peer_websockets.py) and Node ws (bench/peer_ws.js), in the same run,
# on the same corpus and settings.  Per workload the four programs run
# alternately (zlib, pmd, websockets, ws) REPS times; the script reports
# medians and the ratios pmdeflate/zlib, pmdeflate/websockets, pmdeflate/ws.
#   bench/run.sh [REPS=5] [extra settings: wbits memlevel level takeover]
# The peers come from scripts/setup-test-env.sh (.venv with websockets,
# tests/interop/node/node_modules with ws).  Raw lines are kept in
# target/bench/WORKLOAD.{zlib,pmd,websockets,ws}, the medians in
# target/bench/run.WBITS-MEMLEVEL-LEVEL-TAKEOVER.tsv, from which
# bench/plots.py draws docs/img/throughput-ratio.png.
# PMD_BENCH_STRICT=1 measures pmdeflate with the strict window check on;
# PMD_BENCH_LIBDIR=target/zlib-ng/release measures the zlib-ng build
# (tests/zlib-ng/run.sh or cargo build --release --features zlib-ng
# --target-dir target/zlib-ng makes it) against the same system-zlib floor.
# The floor, bench/zlib_baseline.c, does only the zlib work that RFC 7692
# (section 7.2) needs for a one-frame message: raw deflate with a sync flush,
# the 00 00 ff ff tail removed, inflate with the tail put back, buffers
# reused, no WebSocket library around it. A codec that adds no overhead of
# its own matches it. The corpus comes from bench/corpus.py (deterministic:
# the same bytes on every machine), generated once into target/bench/corpus.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
out="$root/target/bench"
reps="${1:-5}"
shift || true
mkdir -p "$out"
cd "$root"
python="${PMD_BENCH_PYTHON:-$root/.venv/bin/python}"
node="${PMD_BENCH_NODE:-node}"
if ! "$python" -c 'import websockets' 2>/dev/null \
    || [ ! -f tests/interop/node/node_modules/ws/lib/permessage-deflate.js ] \
    || ! command -v "$node" >/dev/null; then
    echo "bench/run.sh: the peers are missing; run scripts/setup-test-env.sh first" >&2
    exit 1
fi
libdir="$(realpath "${PMD_BENCH_LIBDIR:-$root/target/release}")"
[ -n "${PMD_BENCH_LIBDIR:-}" ] || cargo build --release -q
cflags=(-O2 -std=c99 -Wall -Wextra -Werror)
cc "${cflags[@]}" -o "$out/zlib_baseline" bench/zlib_baseline.c bench/bench_input.c -lz
cc "${cflags[@]}" -Iinclude -o "$out/pmd_bench" bench/pmd_bench.c bench/bench_input.c \
    -L"$libdir" -Wl,-rpath,"$libdir" -lpmdeflate
[ -f "$out/corpus/chat.bin" ] || python3 bench/corpus.py "$out/corpus" >/dev/null

progs=(zlib pmd websockets ws)
run_one() { # PROGRAM CORPUS [settings...]
    local p="$1"
    shift
    case "$p" in
    zlib) "$out/zlib_baseline" "$@" ;;
    pmd) "$out/pmd_bench" "$@" ;;
    websockets) "$python" bench/peer_websockets.py "$@" ;;
    ws) "$node" bench/peer_ws.js "$@" ;;
    esac
}
median() { sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
field() { sed -n "s/.* $1=\\([0-9.]*\\).*/\\1/p"; }
ratio() { echo "$1 / $2" | bc -l; }

workloads=(chat ticks doc blob large)
declare -A enc dec wire
for w in "${workloads[@]}"; do
    for p in "${progs[@]}"; do : >"$out/$w.$p"; done
    for _ in $(seq "$reps"); do
        for p in "${progs[@]}"; do
            run_one "$p" "$out/corpus/$w.bin" "$@" >>"$out/$w.$p"
        done
    done
    for p in "${progs[@]}"; do
        enc[$w.$p]=$(field encode_MBps <"$out/$w.$p" | median)
        dec[$w.$p]=$(field decode_MBps <"$out/$w.$p" | median)
        wire[$w.$p]=$(field wire <"$out/$w.$p" | head -n 1)
    done
done

settings="${1:-15} ${2:-8} ${3:-6} ${4:-1}"
# Machine-readable medians (bench/plots.py reads them): one line per
# workload and direction, MB/s of each program.
tsv="$out/run.${settings// /-}.tsv"
printf 'workload\tdirection\tzlib\tpmd\twebsockets\tws\n' >"$tsv"
for w in "${workloads[@]}"; do
    printf '%s\tencode\t%s\t%s\t%s\t%s\n' "$w" "${enc[$w.zlib]}" "${enc[$w.pmd]}" "${enc[$w.websockets]}" "${enc[$w.ws]}" >>"$tsv"
    printf '%s\tdecode\t%s\t%s\t%s\t%s\n' "$w" "${dec[$w.zlib]}" "${dec[$w.pmd]}" "${dec[$w.websockets]}" "${dec[$w.ws]}" >>"$tsv"
done
echo "settings (wbits memlevel level takeover): $settings; medians of $reps alternating runs"
echo "pmd: $libdir/libpmdeflate.so, strict window ${PMD_BENCH_STRICT:-0}"
for dir in encode decode; do
    echo
    printf '%-8s %9s %9s %10s %9s | %8s %14s %8s\n' "$dir" zlib pmd websockets ws pmd/zlib pmd/websockets pmd/ws
    for w in "${workloads[@]}"; do
        if [ "$dir" = encode ]; then
            z=${enc[$w.zlib]} m=${enc[$w.pmd]} y=${enc[$w.websockets]} n=${enc[$w.ws]}
        else
            z=${dec[$w.zlib]} m=${dec[$w.pmd]} y=${dec[$w.websockets]} n=${dec[$w.ws]}
        fi
        printf '%-8s %9.1f %9.1f %10.1f %9.1f | %8.3f %14.3f %8.3f\n' "$w" "$z" "$m" "$y" "$n" \
            "$(ratio "$m" "$z")" "$(ratio "$m" "$y")" "$(ratio "$m" "$n")"
    done
done
echo
printf '%-8s %9s %9s %10s %9s | %s\n' wire zlib pmd websockets ws "pmd = zlib = websockets"
for w in "${workloads[@]}"; do
    same=no
    [ "${wire[$w.pmd]}" = "${wire[$w.zlib]}" ] && [ "${wire[$w.pmd]}" = "${wire[$w.websockets]}" ] && same=yes
    printf '%-8s %9s %9s %10s %9s | %s\n' "$w" "${wire[$w.zlib]}" "${wire[$w.pmd]}" \
        "${wire[$w.websockets]}" "${wire[$w.ws]}" "$same"
done
echo
echo "encode/decode: MB/s of payload (higher is better); ratio = pmdeflate / other (1.000 = as fast,"
echo "above 1 = pmdeflate faster); zlib is the raw zlib floor, not a WebSocket library."
echo "wire: compressed payload bytes of one pass.  ws uses Node's bundled zlib, so its bytes may"
echo "differ; its compress()/decompress() run on the libuv threadpool and are timed one call at a"
echo "time, wall clock, so small messages mostly measure the round trip to the threadpool."
