#!/usr/bin/env bash
# The C tests and examples under the sanitizers (docs/sanitizers.md).
#
#   tests/sanitizers/run.sh          both parts below
#   tests/sanitizers/run.sh asan     AddressSanitizer + UBSan only
#   tests/sanitizers/run.sh tsan     ThreadSanitizer only
#
# asan: the library is built as a static library with the address sanitizer
# (stable rustc, RUSTC_BOOTSTRAP=1 -Zsanitizer=address, target/asan), and a
# check that its own object code calls the ASan runtime. Every
# tests/c/test_*.c, tests/c/framework/test_framework.c, examples-c/demo.c,
# the C++ header's tests/cpp/test_*.cpp (g++ -std=c++17), and the echo
# servers (own and wslay's) and client over loopback (as
# examples-c/run-valgrind.sh runs them) are compiled with
# -fsanitize=address,undefined -fno-sanitize-recover=all and linked with
# that library: gcc's libasan is the one ASan runtime of the process, for
# the C and the Rust code. Leak detection is on. tests/c/alloc is left out:
# it replaces malloc itself.
#
# tsan: the library built with -Zsanitizer=thread (target/tsan); every C
# test that starts threads (tests/c/test_threads.c, test_hardening.c, any
# other calling pthread_create) compiled with gcc -fsanitize=thread and
# linked with rustc's ThreadSanitizer runtime. Rust's std is not rebuilt
# (no build-std on stable): std code inlined into the library is
# instrumented, the rest is not. No suppressions.
#
# Any sanitizer report, a failed assertion or a non-zero exit fails the run.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
what="${1:-all}"
triple="$(rustc -vV | sed -n 's/^host: //p')"
say() { printf 'sanitizers: %s\n' "$*"; }

# Builds libpmdeflate.a with -Zsanitizer=$1 into target/$2. --target keeps
# the flag off build.rs; no LTO and -O1 (as for C under ASan) so that the
# build stays quick.
build_lib() { # sanitizer, dir, more rustflags
    RUSTC_BOOTSTRAP=1 RUSTFLAGS="-Zsanitizer=$1 -Cforce-frame-pointers=yes $3" \
        CARGO_PROFILE_RELEASE_LTO=false CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16 \
        CARGO_PROFILE_RELEASE_DEBUG=1 CARGO_PROFILE_RELEASE_OPT_LEVEL=1 \
        cargo build --release --quiet --lib --target "$triple" --target-dir "target/$2"
    echo "target/$2/$triple/release/libpmdeflate.a"
}

# The library's own objects must call the sanitizer runtime: the proof that
# the Rust code is instrumented, not only the C around it.
check_instrumented() { # lib, symbol prefix
    local n
    n="$(nm -A "$1" 2>/dev/null | grep -E ':pmdeflate\.pmdeflate\.[^:]*\.o: .* U '"$2" | wc -l)"
    if [ "$n" -eq 0 ]; then
        say "$1: the pmdeflate objects do not call $2*: not instrumented"
        exit 1
    fi
    say "$1: pmdeflate's objects have $n references to $2*"
}

failures=()
passed=0

# Runs one program; passes when it exits 0 and, for a test, its
# CHECK-SUMMARY says failed=0.
run_one() { # name, log, command...
    local name="$1" log="$2" status=0 summary
    shift 2
    "$@" >"$log" 2>&1 || status=$?
    summary="$(grep '^CHECK-SUMMARY ' "$log" | tail -n 1 || true)"
    if [ "$status" -eq 0 ] && { [ -z "$summary" ] || [[ "$summary" == *" failed=0" ]]; }; then
        printf '  PASS  %-32s %s\n' "$name" "${summary#CHECK-SUMMARY }"
        passed=$((passed + 1))
    else
        printf '  FAIL  %-32s exit %s %s\n' "$name" "$status" "$summary"
        { grep -E '^FAIL |ERROR: |WARNING: ThreadSanitizer|runtime error|SUMMARY: ' "$log" || tail -n 5 "$log"; } |
            head -n 20 | sed 's/^/        /'
        say "log: $log"
        failures+=("$name")
    fi
}

# --- AddressSanitizer + UndefinedBehaviorSanitizer ---------------------------
run_asan() {
    say "building the library with -Zsanitizer=address (target/asan)"
    local lib out
    lib="$(build_lib address asan "")"
    check_instrumented "$lib" __asan_report_
    out="$root/target/asan/c"
    mkdir -p "$out"
    local flags=(-g -O1 -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all)
    local libs=("$lib" -lz -lpthread -ldl -lm)
    export ASAN_OPTIONS="detect_leaks=1:abort_on_error=0:strict_string_checks=1:detect_stack_use_after_return=1:check_initialization_order=1"
    export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"

    local src name
    for src in tests/c/test_*.c tests/c/framework/test_framework.c examples-c/demo.c; do
        name="$(basename "$src" .c)"
        gcc -std=c99 -Wall -Wextra -Werror "${flags[@]}" -Iinclude -Itests/c -Itests/c/framework \
            -o "$out/$name" "$src" "${libs[@]}"
        run_one "asan+ubsan $name" "$out/$name.log" "$out/$name"
    done

    # The C++ header's tests (tests/cpp), the same way. gcc 12 warns of
    # "maybe uninitialized" std::variant members only when sanitizing (a
    # known false positive); tests/cpp/run.sh keeps that warning on.
    for src in tests/cpp/test_*.cpp; do
        name="$(basename "$src" .cpp)"
        g++ -std=c++17 -Wall -Wextra -Werror -Wno-maybe-uninitialized -pedantic "${flags[@]}" \
            -Iinclude -Itests/cpp \
            -o "$out/$name" "$src" "${libs[@]}"
        run_one "asan+ubsan $name (C++)" "$out/$name.log" "$out/$name"
    done

    # The echo server and client (examples-c), built here with the same
    # flags, talking over loopback with examples-c/run-loopback.sh.
    local ex="$out/examples" o objs=()
    mkdir -p "$ex"
    for src in examples-c/ws_*.c; do
        name="$(basename "$src" .c)"
        case "$name" in ws_echo_server | ws_echo_client | wslay_echo_server) continue ;; esac
        gcc -std=c99 -Wall -Wextra -Werror -D_POSIX_C_SOURCE=200809L "${flags[@]}" -Iinclude \
            -c -o "$ex/$name.o" "$src"
        objs+=("$ex/$name.o")
    done
    for o in ws_echo_server ws_echo_client; do
        gcc -std=c99 -Wall -Wextra -Werror -D_POSIX_C_SOURCE=200809L "${flags[@]}" -Iinclude \
            -o "$ex/$o" "examples-c/$o.c" "${objs[@]}" "${libs[@]}"
    done
    gcc -std=c99 -Wall -Wextra -Werror -D_POSIX_C_SOURCE=200809L "${flags[@]}" -Iinclude \
        -o "$ex/wslay_echo_server" examples-c/wslay_echo_server.c "${objs[@]}" -lwslay "${libs[@]}"
    export SERVER="$ex/ws_echo_server" CLIENT="$ex/ws_echo_client"
    # run-loopback.sh keeps its logs in a mktemp directory: a private one.
    mkdir -p "$ex/tmp"
    export TMPDIR="$ex/tmp"
    run_one "asan+ubsan echo loopback" "$ex/loopback.log" ./examples-c/run-loopback.sh
    run_one "asan+ubsan echo oversize (1009)" "$ex/oversize.log" \
        ./examples-c/run-loopback.sh --max-size 1000000 -- --oversize 2000000
    run_one "asan+ubsan echo no takeover, 9 bits" "$ex/nctx.log" ./examples-c/run-loopback.sh \
        --server-no-context-takeover --client-no-context-takeover --server-max-window-bits 9
    SERVER="$ex/wslay_echo_server" run_one "asan+ubsan wslay echo loopback" "$ex/wslay.log" \
        ./examples-c/run-loopback.sh
    unset SERVER CLIENT TMPDIR
}

# --- ThreadSanitizer -----------------------------------------------------------
# Rust's LLVM instruments with calls (__tsan_memcpy, ...) that gcc 12's
# libtsan lacks, so the runtime is the one rustc ships for its own
# sanitizer builds: the C is compiled with gcc -fsanitize=thread and linked
# without it, with that runtime whole.
run_tsan() {
    say "building the library with -Zsanitizer=thread (target/tsan)"
    local lib out name rt
    lib="$(build_lib thread tsan -Cunsafe-allow-abi-mismatch=sanitizer)"
    check_instrumented "$lib" __tsan_
    rt="$(rustc --print sysroot)/lib/rustlib/$triple/lib"
    rt="$(find "$rt" -maxdepth 1 -name 'librustc-*_rt.tsan.a' | head -n 1)"
    if [ -z "$rt" ]; then
        say "rustc's ThreadSanitizer runtime (librustc-*_rt.tsan.a) is missing"
        exit 1
    fi
    out="$root/target/tsan/c"
    mkdir -p "$out"
    export TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1"
    local src threaded
    threaded="$(grep -l pthread_create tests/c/test_*.c tests/c/*/test_*.c)"
    for src in $threaded; do
        name="$(basename "$src" .c)"
        gcc -std=c99 -Wall -Wextra -Werror -g -O1 -fsanitize=thread -Iinclude -Itests/c \
            -c -o "$out/$name.o" "$src"
        gcc -g -o "$out/$name" "$out/$name.o" "$lib" -Wl,--whole-archive "$rt" -Wl,--no-whole-archive \
            -lz -lpthread -ldl -lm -lrt
        run_one "tsan $name" "$out/$name.log" "$out/$name"
    done
}

case "$what" in
    all) run_asan; run_tsan ;;
    asan) run_asan ;;
    tsan) run_tsan ;;
    *) say "unknown part '$what' (all, asan, tsan)"; exit 2 ;;
esac

echo
if [ ${#failures[@]} -ne 0 ]; then
    say "FAILED: ${failures[*]}"
    exit 1
fi
say "all $passed runs clean"
