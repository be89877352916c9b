#!/usr/bin/env bash
# Instructions, not seconds: every workload of the benchmark corpus through
# the raw zlib floor (bench/zlib_baseline.c) and pmdeflate
# (bench/pmd_bench.c), one pass each (encode every message, decode it,
# check the round trip), counted by valgrind's callgrind. Counts repeat to
# the instruction from run to run, where times on a shared machine scatter
# by 10 % and more; they do not see cache and memory effects, which
# bench/run.sh's times do.
#
#   bench/callgrind-all.sh [wbits=15] [memlevel=8] [level=6] [takeover=1]
#
# Prints, per workload, each program's whole count and pmdeflate's ratio
# to the floor's (above 1 costs more), and writes them as a table (below). Both counts include loading the
# corpus, the same work in both; pmd_bench's also includes copying each
# compressed message out of pmdeflate's buffer (the floor compresses into
# its copies), so the ratio is if anything pmdeflate's upper bound.
# bench/callgrind-small.sh separates the cost of one ~100-byte message.
# Needs valgrind (scripts/setup-test-env.sh).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
settings=("${1:-15}" "${2:-8}" "${3:-6}" "${4:-1}")
out="$root/target/bench/callgrind"
mkdir -p "$out"
command -v valgrind >/dev/null || { echo "callgrind-all.sh: valgrind is missing" >&2; exit 1; }
cargo build --release -q
cflags=(-O2 -std=c99 -Wall -Wextra -Werror)
cc "${cflags[@]}" -o "$out/zlib_baseline" bench/zlib_baseline.c bench/bench_input.c -lz
cc "${cflags[@]}" -Iinclude -o "$out/pmd_bench" bench/pmd_bench.c bench/bench_input.c \
    -Ltarget/release -Wl,-rpath,"$root/target/release" -lpmdeflate
[ -f "$out/corpus/chat.bin" ] || python3 bench/corpus.py "$out/corpus" >/dev/null

count() { # PROGRAM WORKLOAD
    local log="$out/all.$1.$2.${settings[*]// /-}.cg"
    valgrind --tool=callgrind --callgrind-out-file="$log" "$out/$1" "$out/corpus/$2.bin" \
        "${settings[@]}" 0 >/dev/null 2>&1
    sed -n 's/^summary: *\([0-9]*\).*/\1/p' "$log"
}

# The counts also go to target/bench/callgrind.WBITS-MEMLEVEL-LEVEL-TAKEOVER.tsv,
# from which bench/plots.py draws docs/img/instructions-ratio.png.
tsv="$root/target/bench/callgrind.$(IFS=-; echo "${settings[*]}").tsv"
printf 'workload\tzlib\tpmd\n' >"$tsv.part"
printf 'callgrind, one pass, wbits memlevel level takeover = %s: instructions\n' "${settings[*]}"
printf '%-8s %16s %16s %10s\n' workload zlib pmd pmd/zlib
for w in chat ticks doc blob large; do
    z="$(count zlib_baseline "$w")"
    p="$(count pmd_bench "$w")"
    printf '%-8s %16d %16d %10.4f\n' "$w" "$z" "$p" "$(echo "$p / $z" | bc -l)"
    printf '%s\t%s\t%s\n' "$w" "$z" "$p" >>"$tsv.part"
done
mv "$tsv.part" "$tsv"
