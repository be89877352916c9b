#!/usr/bin/env bash
# Builds of pmdeflate against the raw zlib floor, alternately, in one run:
#   zlib    the floor (bench/zlib_baseline.c, the system zlib)
#   pmd     pmdeflate as built (target/release), the default decode
#   strict  the same library with pmd_config_set_strict_window on
#   zlibng  the zlib-ng build (target/zlib-ng/release, cargo feature
#           zlib-ng; built here if missing)
# Per workload the four programs run alternately REPS times; medians of
# encode and decode MB/s and ratios to the floor are printed, with the wire
# bytes. Quicker than bench/run.sh (no websockets or ws peers), for the
# decode check's cost and the zlib-ng speed-up.
#   bench/variants.sh [REPS=5] [wbits memlevel level takeover]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
out="$root/target/bench"
reps="${1:-5}"
shift || true
mkdir -p "$out"
cd "$root"
cargo build --release -q
cargo build --release -q --features zlib-ng --target-dir target/zlib-ng
cflags=(-O2 -std=c99 -Wall -Wextra -Werror)
cc "${cflags[@]}" -o "$out/zlib_baseline" bench/zlib_baseline.c bench/bench_input.c -lz
for v in release zlib-ng/release; do
    lib="$root/target/$v"
    cc "${cflags[@]}" -Iinclude -o "$out/pmd_bench.${v%%/*}" bench/pmd_bench.c bench/bench_input.c \
        -L"$lib" -Wl,-rpath,"$lib" -lpmdeflate
done
[ -f "$out/corpus/chat.bin" ] || python3 bench/corpus.py "$out/corpus" >/dev/null

progs=(zlib pmd strict zlibng)
run_one() { # PROGRAM CORPUS [settings...]
    local p="$1"
    shift
    case "$p" in
    zlib) "$out/zlib_baseline" "$@" ;;
    pmd) PMD_BENCH_STRICT=0 "$out/pmd_bench.release" "$@" ;;
    strict) PMD_BENCH_STRICT=1 "$out/pmd_bench.release" "$@" ;;
    zlibng) PMD_BENCH_STRICT=0 "$out/pmd_bench.zlib-ng" "$@" ;;
    esac
}
median() { sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
field() { sed -n "s/.* $1=\\([0-9.]*\\).*/\\1/p"; }
ratio() { echo "$1 / $2" | bc -l; }

workloads=(chat ticks doc blob large)
declare -A enc dec wire
for w in "${workloads[@]}"; do
    for p in "${progs[@]}"; do : >"$out/$w.v.$p"; done
    for _ in $(seq "$reps"); do
        for p in "${progs[@]}"; do
            run_one "$p" "$out/corpus/$w.bin" "$@" >>"$out/$w.v.$p"
        done
    done
    for p in "${progs[@]}"; do
        enc[$w.$p]=$(field encode_MBps <"$out/$w.v.$p" | median)
        dec[$w.$p]=$(field decode_MBps <"$out/$w.v.$p" | median)
        wire[$w.$p]=$(field wire <"$out/$w.v.$p" | head -n 1)
    done
done

echo "settings (wbits memlevel level takeover): ${1:-15} ${2:-8} ${3:-6} ${4:-1}; medians of $reps alternating runs"
ng="$(strings target/zlib-ng/release/libpmdeflate.so | grep -E '^[0-9.]+\.zlib-ng$' | sort -u || true)"
echo "zlib-ng build: ${ng:-?}"
for dir in encode decode; do
    echo
    printf '%-8s %9s %9s %9s %9s | %8s %11s %11s\n' "$dir" zlib pmd strict zlibng pmd/zlib strict/zlib zlibng/zlib
    for w in "${workloads[@]}"; do
        if [ "$dir" = encode ]; then
            z=${enc[$w.zlib]} m=${enc[$w.pmd]} s=${enc[$w.strict]} g=${enc[$w.zlibng]}
        else
            z=${dec[$w.zlib]} m=${dec[$w.pmd]} s=${dec[$w.strict]} g=${dec[$w.zlibng]}
        fi
        printf '%-8s %9.1f %9.1f %9.1f %9.1f | %8.3f %11.3f %11.3f\n' "$w" "$z" "$m" "$s" "$g" \
            "$(ratio "$m" "$z")" "$(ratio "$s" "$z")" "$(ratio "$g" "$z")"
    done
done
echo
printf '%-8s %9s %9s %9s\n' wire zlib pmd zlibng
for w in "${workloads[@]}"; do
    printf '%-8s %9s %9s %9s\n' "$w" "${wire[$w.zlib]}" "${wire[$w.pmd]}" "${wire[$w.zlibng]}"
done
echo
echo "MB/s of payload (higher is better); ratio = variant / the raw zlib floor (system zlib)."
