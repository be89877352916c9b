#!/usr/bin/env bash
# Benchmark: pmdeflate against the raw zlib floor (../shared/bench), in the
# same run, on the same corpus and settings, alternating the two programs
# REPS times and reporting medians and the pmdeflate/zlib ratio.
#   bench/run.sh [REPS=5] [extra settings: wbits memlevel level takeover]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
shared="$root/../shared/bench"
out="$root/target/bench"
reps="${1:-5}"
shift || true
mkdir -p "$out"
cd "$root"
cargo build --release -q
cc -O2 -o "$out/zlib_baseline" "$shared/zlib_baseline.c" -lz
cc -O2 -std=c99 -Wall -Wextra -Werror -Iinclude -o "$out/pmd_bench" bench/pmd_bench.c \
    -Ltarget/release -Wl,-rpath,"$root/target/release" -lpmdeflate
[ -f "$out/corpus/chat.bin" ] || python3 "$shared/corpus.py" "$out/corpus" >/dev/null

median() { sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
field() { sed -n "s/.* $1=\\([0-9.]*\\).*/\\1/p"; }

printf '%-10s %9s %9s %7s | %9s %9s %7s | %6s %6s\n' workload zlib_enc pmd_enc ratio zlib_dec pmd_dec ratio \
    zwire pwire
for w in chat ticks doc blob large; do
    : >"$out/$w.zlib"
    : >"$out/$w.pmd"
    for _ in $(seq "$reps"); do
        "$out/zlib_baseline" "$out/corpus/$w.bin" "$@" >>"$out/$w.zlib"
        "$out/pmd_bench" "$out/corpus/$w.bin" "$@" >>"$out/$w.pmd"
    done
    ze=$(field encode_MBps <"$out/$w.zlib" | median)
    pe=$(field encode_MBps <"$out/$w.pmd" | median)
    zd=$(field decode_MBps <"$out/$w.zlib" | median)
    pd=$(field decode_MBps <"$out/$w.pmd" | median)
    zw=$(field wire <"$out/$w.zlib" | head -n 1)
    pw=$(field wire <"$out/$w.pmd" | head -n 1)
    printf '%-10s %9.1f %9.1f %7.3f | %9.1f %9.1f %7.3f | %6s %6s\n' "$w" "$ze" "$pe" \
        "$(echo "$pe / $ze" | bc -l)" "$zd" "$pd" "$(echo "$pd / $zd" | bc -l)" "$zw" "$pw"
done
echo "MB/s medians of $reps alternating runs; ratio = pmdeflate / raw zlib (1.000 = no overhead)"
