#!/usr/bin/env bash
# Builds and runs the allocation-counting C tests (tests/c/alloc/test_*.c).
#
#   tests/c/alloc/run.sh
#
# Each test defines its own malloc family to count what the library
# allocates, so it runs natively: under valgrind, valgrind's malloc would
# take the place of the counting one. Compiled as C99 with -Wall -Wextra
# -Werror against the committed include/pmdeflate.h and linked against
# target/release/libpmdeflate.so. PMD_LIBDIR names another directory
# holding libpmdeflate.so (to measure another build).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)"
here="$root/tests/c/alloc"
out="$root/target/ctests-alloc"
mkdir -p "$out"
cd "$root"

cargo build --release --quiet
lib="${PMD_LIBDIR:-$root/target/release}"

status=0
for src in "$here"/test_*.c; do
    name="$(basename "$src" .c)"
    # -O1: the counting functions must stay calls into __libc_*, which any
    # level keeps; -fno-builtin-malloc so that gcc does not fold the test's
    # own malloc/free pair away.
    gcc -std=c99 -Wall -Wextra -Werror -g -O1 -fno-builtin-malloc -I"$root/include" -I"$root/tests/c" \
        -o "$out/$name" "$src" -L"$lib" -Wl,-rpath,"$lib" -lpmdeflate
    log="$out/$name.log"
    echo "alloc-ctests: running $name"
    if "$out/$name" >"$log" 2>&1 && grep -q "^CHECK-SUMMARY $name passed=[1-9][0-9]* failed=0$" "$log"; then
        cat "$log"
    else
        status=1
        cat "$log"
        echo "alloc-ctests: FAILED $name (log in $log)"
    fi
done
if [ "$status" = 0 ]; then
    echo "alloc-ctests: all passed"
fi
exit "$status"
