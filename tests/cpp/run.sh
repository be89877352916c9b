#!/usr/bin/env bash
# Builds and runs the tests of the C++ header include/pmdeflate.hpp.
#
#   tests/cpp/run.sh             every tests/cpp/test_*.cpp
#   NO_VALGRIND=1 tests/cpp/run.sh   without valgrind (quicker)
#
# First checks that pmdeflate.hpp calls every function of pmdeflate.h. The
# websocketpp policy (include/pmdeflate/websocketpp.hpp) is tested here too,
# driven as websocketpp's processor drives it, without sockets.
# Each test is compiled with g++ -std=c++17 -Wall -Wextra -Werror -pedantic
# (and with clang++ too when it is installed; it is not required), linked
# against target/release/libpmdeflate.so, and run under valgrind: any memory
# error or definite, indirect or possible leak fails it. Prints the
# assertion counts; exits 0 only when everything passed.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
out="$root/target/cpptests"
libdir="$root/target/release"
mkdir -p "$out"
say() { printf 'cpptests: %s\n' "$*"; }

cargo build --release --quiet

# --- the header wraps every C function -------------------------------------------
missing=()
for fn in $(grep -oE '\bpmd_[a-z_]+\(' include/pmdeflate.h | tr -d '(' | sort -u); do
    grep -qE "\b$fn\(" include/pmdeflate.hpp || missing+=("$fn")
done
if ((${#missing[@]})); then
    say "functions of pmdeflate.h that pmdeflate.hpp does not wrap: ${missing[*]}"
    exit 1
fi
say "pmdeflate.hpp calls all $(grep -oE '\bpmd_[a-z_]+\(' include/pmdeflate.h | sort -u | wc -l) functions of pmdeflate.h"

# --- the example of docs/cpp.md is a test too ----------------------------------------
python3 - "$out/doc_cpp_example.cpp" docs/cpp.md <<'PY'
import re, sys
blocks = [b for b in re.findall(r"```cpp\n(.*?)```", open(sys.argv[2]).read(), re.S) if "int main" in b]
if len(blocks) != 1:
    sys.exit(f"expected one complete example in {sys.argv[2]}, found {len(blocks)}")
open(sys.argv[1], "w").write(blocks[0])
PY

# --- compile ------------------------------------------------------------------------
compilers=(g++)
if command -v clang++ >/dev/null; then compilers+=(clang++); else say "clang++ not installed: g++ only"; fi
FLAGS=(-std=c++17 -Wall -Wextra -Werror -pedantic -g -O1 -Iinclude)
LIBS=(-L"$libdir" -Wl,-rpath,"$libdir" -lpmdeflate)
bins=()
for cxx in "${compilers[@]}"; do
    for src in tests/cpp/test_*.cpp; do
        name="$(basename "$src" .cpp)_$cxx"
        extra=()
        # websocketpp's own permessage-deflate (a peer in that test) links zlib
        case "$src" in *websocketpp*) extra=(-lz) ;; esac
        "$cxx" "${FLAGS[@]}" -o "$out/$name" "$src" "${LIBS[@]}" "${extra[@]}"
        bins+=("$name")
    done
    "$cxx" "${FLAGS[@]}" -o "$out/doc_cpp_example_$cxx" "$out/doc_cpp_example.cpp" "${LIBS[@]}"
    bins+=("doc_cpp_example_$cxx")
done

# --- run ----------------------------------------------------------------------------
VALGRIND=(valgrind --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite,indirect,possible
    --show-leak-kinds=definite,indirect,possible --track-origins=yes --num-callers=30)
[ "${NO_VALGRIND:-0}" = 1 ] && VALGRIND=()
passed=0
failed=0
for name in "${bins[@]}"; do
    log="$out/$name.log"
    status=0
    if ((${#VALGRIND[@]})); then
        "${VALGRIND[@]}" --log-file="$out/$name.valgrind.log" "$out/$name" >"$log" 2>&1 || status=$?
    else
        "$out/$name" >"$log" 2>&1 || status=$?
    fi
    if [[ "$name" == doc_cpp_example_* ]]; then
        # the example: exit 0, clean under valgrind, and the lines it must print
        if [ "$status" = 0 ] && grep -qx 'Hello, Hello, Hello' "$log" &&
            grep -qx 'PMD_ERR_CORRUPT_DATA, close code 1007' "$log" &&
            grep -q '^PMD_ERR_NEGOTIATION: pmd_client_accept: ' "$log"; then
            printf '  PASS  %-32s docs/cpp.md example runs as documented\n' "$name"
        else
            failed=$((failed + 1))
            printf '  FAIL  %-32s exit %s\n' "$name" "$status"
            sed 's/^/        | /' "$log"
        fi
        continue
    fi
    summary="$(grep '^CHECK-SUMMARY ' "$log" | tail -n 1 || true)"
    p="$(sed -n 's/.* passed=\([0-9]*\).*/\1/p' <<<"$summary")"
    f="$(sed -n 's/.* failed=\([0-9]*\).*/\1/p' <<<"$summary")"
    passed=$((passed + ${p:-0}))
    if [ "$status" = 0 ] && [ "${f:-1}" = 0 ]; then
        printf '  PASS  %-32s %5s assertions%s\n' "$name" "$p" "$( ((${#VALGRIND[@]})) && echo ', valgrind clean')"
    else
        failed=$((failed + 1))
        printf '  FAIL  %-32s exit %s, %s passed, %s failed\n' "$name" "$status" "${p:-?}" "${f:-?}"
        grep -E '^FAIL' "$log" | head -n 30 | sed 's/^/        /' || true
        [ "$status" = 99 ] && grep -E '^==[0-9]+== +(Invalid|Conditional|.*definitely|.*indirectly|.*possibly)' \
            "$out/$name.valgrind.log" | head -n 20 | sed 's/^/        /'
        [ -z "$summary" ] && tail -n 20 "$log" | sed 's/^/        | /'
    fi
done
say "programs: ${#bins[@]}, failed: $failed, assertions passed: $passed"
if [ "$failed" -ne 0 ]; then
    exit 1
fi
say "all passed"
