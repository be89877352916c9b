#!/usr/bin/env bash
# The fuzz targets (fuzz/fuzz_targets, libFuzzer through libfuzzer-sys):
# builds them with stable cargo (RUSTC_BOOTSTRAP=1 for the -Z flags) and
# the flags cargo-fuzz uses (sanitizer coverage, --cfg fuzzing, the
# address sanitizer, debug assertions), into target/fuzz, then runs each
# target over its committed seed corpus and for a bounded time. Any crash,
# failed property, leak or timeout fails the run. See docs/fuzzing.md.
#
#   tests/fuzz/run.sh                 every target, 4 s each (the suite)
#   tests/fuzz/run.sh --time N        every target, N seconds each
#   tests/fuzz/run.sh --long N [T..]  a campaign: N seconds per target (or
#                                     per target T given), all at once,
#                                     growing a corpus in target/fuzz/corpus;
#                                     logs in target/fuzz/logs
#   tests/fuzz/run.sh --build         build only
# FUZZ_OUT=dir puts the build (and a campaign's corpus and logs) in dir
# instead of target/fuzz.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

TARGETS=(header header_build client_response server_negotiate decode round_trip framework)
TRIPLE=x86_64-unknown-linux-gnu
OUT=${FUZZ_OUT:-target/fuzz}
BIN="$OUT/$TRIPLE/release"

mode=short
secs=4
case "${1:-}" in
    --time) secs="$2"; shift 2 ;;
    --long) mode=long; secs="$2"; shift 2 ;;
    --build) mode=build; shift ;;
    "") ;;
    *) echo "usage: $0 [--time N | --long N [target...] | --build]" >&2; exit 2 ;;
esac
if [ "$#" -gt 0 ]; then TARGETS=("$@"); fi

# The flags of cargo-fuzz 0.12/0.13 (sancov passes, inline 8-bit counters,
# PC table, compare tracing, --cfg fuzzing, ASan, debug assertions),
# built for an explicit target so that build scripts are not instrumented.
export RUSTC_BOOTSTRAP=1
export RUSTFLAGS="-Cpasses=sancov-module -Cllvm-args=-sanitizer-coverage-level=4 \
-Cllvm-args=-sanitizer-coverage-inline-8bit-counters -Cllvm-args=-sanitizer-coverage-pc-table \
-Cllvm-args=-sanitizer-coverage-trace-compares --cfg fuzzing -Zsanitizer=address \
-Cdebug-assertions -Coverflow-checks -Cforce-frame-pointers"
nice cargo build --quiet --release --locked --manifest-path fuzz/Cargo.toml \
    --target "$TRIPLE" --target-dir "$OUT" $(printf -- '--bin %s ' "${TARGETS[@]}")
[ "$mode" = build ] && exit 0

# Leaks fail a run (LeakSanitizer, part of ASan); libFuzzer's -detect_leaks
# is on by default.
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=0:allocator_may_return_null=1"
COMMON=(-timeout=10 -rss_limit_mb=2048 -malloc_limit_mb=512 -max_len=16384 -print_final_stats=1)

if [ "$mode" = short ]; then
    for t in "${TARGETS[@]}"; do
        seeds="tests/fuzz/corpus/$t"
        work=$(mktemp -d)
        log="$OUT/$t.log"
        printf '%-18s ' "$t"
        # New inputs go to a scratch dir; the seeds are only read.
        if ! "$BIN/$t" "${COMMON[@]}" -max_total_time="$secs" -artifact_prefix="$OUT/$t-" \
            "$work" "$seeds" >"$log" 2>&1; then
            echo "FAILED"; tail -n 60 "$log"; rm -rf "$work"; exit 1
        fi
        rm -rf "$work"
        grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | awk '{printf "%s runs, ", $2}'
        grep -E '^#[0-9]+.*(DONE|pulse|NEW|REDUCE|INITED)' "$log" | tail -n 1 | grep -oE 'cov: [0-9]+ ft: [0-9]+' || true
    done
    echo "every fuzz target ran ${secs} s without a crash, a failed property, a leak or a timeout"
    exit 0
fi

# --long: every target at once, each in the background under nice.
mkdir -p "$OUT/logs"
pids=()
for t in "${TARGETS[@]}"; do
    mkdir -p "$OUT/corpus/$t"
    nice -n 19 "$BIN/$t" "${COMMON[@]}" -max_total_time="$secs" -artifact_prefix="$OUT/$t-" \
        "$OUT/corpus/$t" "tests/fuzz/corpus/$t" >"$OUT/logs/$t.log" 2>&1 &
    pids+=($!)
done
fail=0
for i in "${!pids[@]}"; do
    if ! wait "${pids[$i]}"; then echo "${TARGETS[$i]}: FAILED (see $OUT/logs/${TARGETS[$i]}.log)"; fail=1; fi
done
for t in "${TARGETS[@]}"; do
    printf '%-18s ' "$t"
    grep -o 'stat::number_of_executed_units: *[0-9]*' "$OUT/logs/$t.log" | awk '{printf "%s runs, ", $2}'
    grep -o 'stat::average_exec_per_sec: *[0-9]*' "$OUT/logs/$t.log" | awk '{printf "%s/s, ", $2}'
    grep -E '^#[0-9]+' "$OUT/logs/$t.log" | tail -n 1 | grep -oE 'cov: [0-9]+ ft: [0-9]+ corp: [0-9]+/[0-9a-zA-Z]+' || echo
done
exit "$fail"
