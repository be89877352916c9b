#!/usr/bin/env bash
# Builds pmdeflate.dll for 64-bit Windows and tests it under Wine:
#   1. scripts/build-windows.sh (installs MinGW-w64, Debian's Rust and Wine
#      if missing, then cross-builds the DLL with zlib compiled in);
#   2. checks the DLL: it imports only Windows system DLLs (no zlib1.dll,
#      no MinGW runtime DLL, not bcryptprimitives.dll), it exports exactly the
#      functions of include/pmdeflate.h, and so does pmdeflate.def; the build
#      left the committed header unchanged;
#   3. cross-compiles every tests/c/test_*.c, tests/c/framework/test_framework.c
#      and examples-c/demo.c with x86_64-w64-mingw32-gcc against the import
#      library, and runs each under Wine (its own prefix in target/windows/);
#   4. builds the crate's Rust unit tests for Windows and runs them under Wine
#      (among them: a panic inside an export becomes PMD_ERR_INTERNAL).
# A C test passes when it exits 0 and prints CHECK-SUMMARY with failed=0 and
# passed>0; the demo when it exits 0 and says every message round-tripped.
# Wine or a compiler that cannot start is a failure. No arguments.
# See docs/windows.md.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"

say() { printf 'windows: %s\n' "$*"; }
fail() {
    say "FAILED: $*"
    exit 1
}

# --- 1. the DLL -----------------------------------------------------------------
header_before="$(sha256sum include/pmdeflate.h)"
./scripts/build-windows.sh
[ "$(sha256sum include/pmdeflate.h)" = "$header_before" ] \
    || fail "the Windows build changed include/pmdeflate.h"

dist="$root/target/windows/dist"
dll="$dist/bin/pmdeflate.dll"
implib="$dist/lib/libpmdeflate.dll.a"
def="$dist/lib/pmdeflate.def"
objdump=x86_64-w64-mingw32-objdump

# --- 2. what it imports and exports ----------------------------------------------
# The system DLLs the library uses (Windows 10 and later and Wine 8 have them
# all). Anything else is a change to look at: ws2_32 or userenv mean std's
# unused parts stayed (LTO did not run), bcryptprimitives is missing from Wine 8.
allowed_imports='^(kernel32|ntdll|msvcrt|api-ms-win-core-[a-z0-9-]+)\.dll$'
imports="$("$objdump" -p "$dll" | sed -n 's/^[[:space:]]*DLL Name: //p' | tr 'A-Z' 'a-z' | sort)"
[ -n "$imports" ] || fail "no import table read from $dll"
bad_imports="$(grep -vE "$allowed_imports" <<<"$imports" || true)"
[ -z "$bad_imports" ] || fail "pmdeflate.dll imports non-system DLLs: $(echo $bad_imports)"
say "imports: $(echo $imports)"

header_fns="$(grep -oE '\bpmd_[a-z0-9_]+\(' include/pmdeflate.h | tr -d '(' | sort -u)"
exports="$("$objdump" -p "$dll" | sed -n '/^\[Ordinal\/Name Pointer\] Table/,/^$/p' \
    | sed -n 's/^[[:space:]]*\[ *[0-9]*\] //p' | sort)"
def_exports="$(sed -n 's/^[[:space:]]\{1,\}\([A-Za-z_][A-Za-z0-9_]*\) @[0-9]*.*/\1/p' "$def" | sort)"
n_header="$(wc -l <<<"$header_fns")"
[ "$exports" = "$header_fns" ] || fail "exports differ from the header's functions:
$(diff <(echo "$header_fns") <(echo "$exports") || true)"
[ "$def_exports" = "$header_fns" ] || fail "pmdeflate.def differs from the header's functions:
$(diff <(echo "$header_fns") <(echo "$def_exports") || true)"
say "exports: the $n_header functions of include/pmdeflate.h, nothing else (pmdeflate.def too)"
say "pmdeflate.dll: $(stat -c %s "$dll") bytes"

# --- Wine ----------------------------------------------------------------------------
export WINEPREFIX="$root/target/windows/wineprefix"
export WINEDEBUG=-all
# No Mono or Gecko: the tests are console programs.
export WINEDLLOVERRIDES="mscoree=;mshtml="
wine="$(command -v wine)" || fail "wine is not installed (scripts/setup-windows-env.sh installs it)"
trap 'wineserver -k >/dev/null 2>&1 || true' EXIT
if [ ! -f "$WINEPREFIX/system.reg" ]; then
    say "creating the Wine prefix $WINEPREFIX"
    "$wine" wineboot --init >/dev/null 2>&1 || fail "wineboot --init"
    wineserver -w
fi

# --- 3. the C tests and the demo under Wine ---------------------------------------
out="$root/target/windows/ctests"
rm -rf "$out"
mkdir -p "$out"
cp "$dll" "$out/" # Windows looks for a program's DLLs beside it first.

CC=x86_64-w64-mingw32-gcc
# __USE_MINGW_ANSI_STDIO: C99 printf formats (%zu, %llu) rather than msvcrt's.
# -static: libgcc and winpthreads go into each program, not beside it.
# PMD_TEST_NO_ZLIB_H: zlib is inside the DLL; there is no zlib.h to include
# (test_zlib_version is then run with the argument "bundled").
CFLAGS=(-std=c99 -Wall -Wextra -Werror -pedantic -g -O1 -D__USE_MINGW_ANSI_STDIO=1 -DPMD_TEST_NO_ZLIB_H -Iinclude)
LIBS=("$implib" -static -lpthread)

programs=()
for src in tests/c/test_*.c tests/c/framework/test_framework.c examples-c/demo.c; do
    name="$(basename "$src" .c)"
    "$CC" "${CFLAGS[@]}" -o "$out/$name.exe" "$src" "${LIBS[@]}" || fail "compile $src"
    programs+=("$name")
done
say "compiled ${#programs[@]} programs with $("$CC" -dumpfullversion) ($CC)"

failed=()
total_passed=0
for name in "${programs[@]}"; do
    log="$out/$name.log"
    status=0
    args=()
    [ "$name" = test_zlib_version ] && args=(bundled)
    (cd "$out" && timeout 600 "$wine" "./$name.exe" "${args[@]}") >"$log" 2>&1 || status=$?
    tr -d '\r' <"$log" >"$log.tmp" && mv "$log.tmp" "$log"
    if [ "$name" = demo ]; then
        if [ "$status" -eq 0 ] && grep -q '^demo: all messages round-tripped$' "$log"; then
            printf '  PASS  %-28s all messages round-tripped\n' "$name"
        else
            failed+=("$name")
            printf '  FAIL  %-28s exit %s\n' "$name" "$status"
            tail -n 20 "$log" | sed 's/^/        | /'
        fi
        continue
    fi
    summary="$(grep '^CHECK-SUMMARY ' "$log" | tail -n 1 || true)"
    passed="$(sed -n 's/.* passed=\([0-9]*\).*/\1/p' <<<"$summary")"
    nfail="$(sed -n 's/.* failed=\([0-9]*\).*/\1/p' <<<"$summary")"
    if [ "$status" -eq 0 ] && [ -n "$summary" ] && [ "$nfail" = 0 ] && [ "${passed:-0}" -gt 0 ]; then
        printf '  PASS  %-28s %5s assertions\n' "$name" "$passed"
        total_passed=$((total_passed + passed))
    else
        failed+=("$name")
        printf '  FAIL  %-28s exit %s, %s passed, %s failed\n' "$name" "$status" "${passed:-?}" "${nfail:-?}"
        grep -E '^FAIL|^    ' "$log" | head -n 40 | sed 's/^/        /' || true
        [ -n "$summary" ] || tail -n 20 "$log" | sed 's/^/        | /'
    fi
done

say "programs run under $("$wine" --version): ${#programs[@]}, failed: ${#failed[@]}, assertions passed: $total_passed"
[ ${#failed[@]} -eq 0 ] || fail "${failed[*]} (logs in target/windows/ctests/)"

# --- 4. the Rust unit tests under Wine ---------------------------------------------
# The test harness links std's ProcessPrng (bcryptprimitives.dll), which Wine 8
# lacks: a stand-in goes beside the test programs (Windows looks there
# first), not into the prefix, so the C tests above ran without it.
deps="$root/target/windows/x86_64-pc-windows-gnu/release/deps"
mkdir -p "$deps"
"$CC" -std=c99 -Wall -Wextra -Werror -O2 -shared -o "$deps/bcryptprimitives.dll" \
    tests/windows/bcryptprimitives.c -lbcrypt || fail "compile the bcryptprimitives.dll stand-in"
CARGO_TARGET_X86_64_PC_WINDOWS_GNU_RUNNER="$wine" \
    ./scripts/windows-cargo.sh test --release --locked --lib -- --quiet || fail "Rust unit tests under Wine"
say "all passed"
