#!/usr/bin/env bash
# Builds and runs the C tests of the extension framework under valgrind.
#
#   tests/c/framework/run.sh          build the library, compile
#                                     test_framework.c as C99 and as C++11,
#                                     run both under valgrind
#   NO_VALGRIND=1 tests/c/framework/run.sh   run without valgrind
#
# Compiled against the committed include/pmdeflate.h with -Wall -Wextra
# -Werror (-pedantic for C), linked against target/release/libpmdeflate.so.
# Any valgrind error or any definite, indirect or possible leak fails.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)"
here="$root/tests/c/framework"
out="$root/target/ctests-framework"
lib="$root/target/release"
mkdir -p "$out"
cd "$root"

cargo build --release --quiet

cc_flags=(-I"$root/include" -I"$here" -g -O1 -Wall -Wextra -Werror)
link=(-L"$lib" -Wl,-rpath,"$lib" -lpmdeflate)
gcc -std=c99 -pedantic "${cc_flags[@]}" -o "$out/test_framework" "$here/test_framework.c" "${link[@]}"
g++ -std=c++11 -x c++ "${cc_flags[@]}" -o "$out/test_framework_cpp" "$here/test_framework.c" "${link[@]}"

status=0
for t in test_framework test_framework_cpp; do
    echo "framework-ctests: running $t"
    if [ "${NO_VALGRIND:-0}" = 1 ]; then
        "$out/$t" || status=1
    else
        valgrind -q --error-exitcode=1 --leak-check=full --show-leak-kinds=definite,indirect,possible \
            --errors-for-leak-kinds=definite,indirect,possible "$out/$t" || status=1
    fi
done
if [ "$status" = 0 ]; then
    echo "framework-ctests: all passed, valgrind clean"
else
    echo "framework-ctests: FAILED"
fi
exit "$status"
