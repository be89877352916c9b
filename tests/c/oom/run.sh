#!/usr/bin/env bash
# Builds and runs the allocation-failure C test (tests/c/oom): every
# allocation of each scenario is made to fail in turn, once and then
# persistently, and every call must return PMD_OK or PMD_ERR_OUT_OF_MEMORY,
# leave its handles usable or freeable, and leak nothing. Prints the
# matrix (docs/allocation-failure.md).
#
#   tests/c/oom/run.sh
#
# The failing allocator is linked into the test executable, so it runs
# natively (valgrind would replace that malloc with its own); the
# allocator's live-block count is the leak check. PMD_LIBDIR names another
# directory holding libpmdeflate.so.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)"
here="$root/tests/c/oom"
out="$root/target/ctests-oom"
mkdir -p "$out"
cd "$root"

cargo build --release --quiet
lib="${PMD_LIBDIR:-$root/target/release}"

name=test_allocation_failure
# -fno-builtin-malloc: gcc must not fold the allocator's own calls away.
gcc -std=c99 -Wall -Wextra -Werror -g -O1 -fno-builtin-malloc -I"$root/include" -I"$root/tests/c" \
    -o "$out/$name" "$here/$name.c" "$here/failing_alloc.c" -L"$lib" -Wl,-rpath,"$lib" -lpmdeflate
log="$out/$name.log"
echo "oom-ctests: running $name"
if "$out/$name" >"$log" 2>&1 && grep -q "^CHECK-SUMMARY $name passed=[1-9][0-9]* failed=0$" "$log"; then
    cat "$log"
    echo "oom-ctests: passed"
else
    cat "$log"
    echo "oom-ctests: FAILED $name (log in $log)"
    exit 1
fi
