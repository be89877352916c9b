#!/usr/bin/env bash
# Instructions per message on ~100-byte messages (the "ticks" workload of
# bench/corpus.py), pmdeflate beside the raw zlib floor, counted by
# valgrind's callgrind: counts are repeatable, unlike times on a shared
# machine. Each program (bench/pmd_bench.c and bench/zlib_baseline.c, one
# pass, no timing loop) runs on the first N and the first 10*N messages;
# the difference divided by 9*N is the cost of one message (encode and
# decode), without the start-up and corpus loading both runs share.
#
#   bench/callgrind-small.sh [takeover=0] [window_bits=15] [N=1000]
#   PMD_LIBDIR=/other/target/release bench/callgrind-small.sh   (another build)
#
# Prints one line per program: instructions per message, and pmdeflate's
# ratio to the floor. Needs valgrind (scripts/setup-test-env.sh).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
takeover="${1:-0}"
wbits="${2:-15}"
n="${3:-1000}"
out="$root/target/bench/callgrind"
libdir="${PMD_LIBDIR:-$root/target/release}"
mkdir -p "$out"
command -v valgrind >/dev/null || { echo "callgrind-small.sh: valgrind is missing" >&2; exit 1; }
[ -n "${PMD_LIBDIR:-}" ] || cargo build --release -q
cflags=(-O2 -std=c99 -Wall -Wextra -Werror)
cc "${cflags[@]}" -o "$out/zlib_baseline" bench/zlib_baseline.c bench/bench_input.c -lz
cc "${cflags[@]}" -Iinclude -o "$out/pmd_bench" bench/pmd_bench.c bench/bench_input.c \
    -L"$libdir" -Wl,-rpath,"$libdir" -lpmdeflate
[ -f "$out/corpus/ticks.bin" ] || python3 bench/corpus.py "$out/corpus" >/dev/null

# The first COUNT records of the ticks corpus.
head_corpus() { # COUNT DEST
    python3 - "$out/corpus/ticks.bin" "$1" "$2" <<'PY'
import struct, sys
src, count, dest = sys.argv[1], int(sys.argv[2]), sys.argv[3]
data, pos, out = open(src, "rb").read(), 0, bytearray()
for _ in range(count):
    (n,) = struct.unpack_from("<I", data, pos)
    out += data[pos : pos + 4 + n]
    pos += 4 + n
open(dest, "wb").write(out)
PY
}
head_corpus "$n" "$out/small.bin"
head_corpus $((10 * n)) "$out/big.bin"

instructions() { # PROGRAM CORPUS
    local log="$out/$(basename "$1").$(basename "$2" .bin).cg"
    valgrind --tool=callgrind --callgrind-out-file="$log" "$1" "$2" "$wbits" 8 6 "$takeover" 0 >/dev/null 2>&1
    sed -n 's/^summary: *\([0-9]*\).*/\1/p' "$log"
}

declare -A per
for p in zlib_baseline pmd_bench; do
    small="$(instructions "$out/$p" "$out/small.bin")"
    big="$(instructions "$out/$p" "$out/big.bin")"
    per[$p]=$(((big - small) / (9 * n)))
done
printf 'callgrind, ticks (~100 B), window %s, context takeover %s: instructions per message (encode + decode)\n' \
    "$wbits" "$takeover"
printf '  zlib floor  %8d\n' "${per[zlib_baseline]}"
printf '  pmdeflate   %8d   (%.3f of the floor'"'"'s count; above 1 costs more)\n' "${per[pmd_bench]}" \
    "$(echo "${per[pmd_bench]} / ${per[zlib_baseline]}" | bc -l)"
