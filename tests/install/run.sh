#!/usr/bin/env bash
# pmdeflate as an installed C library, used the way a consumer uses it:
#   1. `make` then `make install PREFIX=<tmp>`: the layout (versioned shared
#      library, SONAME, symlinks, archive, header, pmdeflate.pc, CMake
#      package, docs), and that neither runs apt-get or the setup scripts;
#   2. outside the source tree (a copy of tests/install/consumer/ in a
#      temporary directory), against that prefix only:
#      - a C program through pkg-config, shared (runs from the prefix),
#      - the same statically through `pkg-config --static` (ldd: no
#        libpmdeflate.so needed); without --static the link must fail,
#      - a C++17 program including <pmdeflate.h>,
#      - a CMake project: find_package(pmdeflate X.Y) -> pmdeflate::pmdeflate
#        and pmdeflate::pmdeflate_static; versions the ABI policy does not
#        allow are refused;
#      each prints the header's PMD_VERSION macros and pmd_version(), which
#      must both be Cargo.toml's version;
#   3. the exported symbols: the shared library exports exactly the
#      functions of the header; the archive's objects define no global,
#      visible, unmangled symbol but those and rust_eh_personality;
#   4. `make install DESTDIR=<stage> PREFIX=/opt/...`: the same files under
#      the stage, no stage path written into them, usable through
#      PKG_CONFIG_SYSROOT_DIR and (the CMake package being relocatable)
#      CMAKE_PREFIX_PATH;
#   5. `make uninstall` leaves no file behind; the sizes of what is installed.
# Needs gcc, g++, cmake, pkg-config, readelf, nm, ldd (scripts/setup-test-env.sh).
# Fails on the first failed check. KEEP=1 keeps the temporary directory.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"

work="$(mktemp -d "${TMPDIR:-/tmp}/pmdeflate-install.XXXXXX")"
if [ "${KEEP:-0}" = 1 ]; then
    trap 'echo "install: kept $work"' EXIT
else
    trap 'rm -rf "$work"' EXIT
fi

passed=0
ok() {
    passed=$((passed + 1))
    printf 'install: ok   %s\n' "$*"
}
fail() {
    printf 'install: FAIL %s\n' "$*" >&2
    printf 'install: %d passed, 1 failed\n' "$passed"
    exit 1
}
# expect DESCRIPTION COMMAND...: the command must succeed.
expect() {
    local what="$1"
    shift
    "$@" || fail "$what"
    ok "$what"
}
# The first line of a program's output must start with this.
expect_output() {
    local what="$1" want="$2"
    shift 2
    local out
    out="$("$@" 2>&1)" || fail "$what: exit $? ($out)"
    case "$out" in
        "$want"*) ok "$what: $out" ;;
        *) fail "$what: printed '$out', expected '$want...'" ;;
    esac
}

version="$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n 1)"
major="${version%%.*}"
minor="$(cut -d. -f2 <<<"$version")"
for tool in gcc g++ cmake pkg-config readelf nm ldd make; do
    command -v "$tool" >/dev/null || fail "$tool is not installed (scripts/setup-test-env.sh installs it)"
done

# --- 1. build and install into a prefix ---------------------------------------
for target in all install uninstall; do
    if make -n "$target" PREFIX="$work/x" | grep -E 'apt-get|sudo|setup-(build|test)-env' >/dev/null; then
        fail "make $target would install system packages"
    fi
done
if grep -vhE '^\s*#' scripts/build-dist.sh mk/install.mk | grep -E 'apt-get|sudo|setup-(build|test)-env'; then
    fail "the build or install recipes (outside comments) install system packages"
fi
ok "make, make install and make uninstall install no system packages"

expect "make (builds target/dist)" make -s
native_libs="$(cat target/dist/release/native-static-libs)"
prefix="$work/prefix"
expect "make install PREFIX=$prefix" make -s install PREFIX="$prefix"

# Every file and link under a root, with its type and link target or mode.
layout() {
    (cd "$1" && find . \( -type f -o -type l \) -printf '%y %P %l %m\n' | sed 's/ 777$//' | sort)
}
expected_layout="$(sort <<EOF
f include/pmdeflate.h  644
f include/pmdeflate.hpp  644
f include/pmdeflate/websocketpp.hpp  644
f lib/cmake/pmdeflate/pmdeflate-config-version.cmake  644
f lib/cmake/pmdeflate/pmdeflate-config.cmake  644
f lib/libpmdeflate.a  644
f lib/libpmdeflate.so.$version  755
f lib/pkgconfig/pmdeflate.pc  644
f share/doc/pmdeflate/CHANGELOG.md  644
f share/doc/pmdeflate/LICENSE-APACHE  644
f share/doc/pmdeflate/LICENSE-MIT  644
f share/doc/pmdeflate/README.md  644
f share/doc/pmdeflate/abi-policy.md  644
l lib/libpmdeflate.so libpmdeflate.so.$major
l lib/libpmdeflate.so.$major libpmdeflate.so.$version
EOF
)"
got_layout="$(layout "$prefix")"
[ "$got_layout" = "$expected_layout" ] ||
    fail "installed layout differs:$(diff <(echo "$expected_layout") <(echo "$got_layout") || true)"
ok "layout: $(wc -l <<<"$got_layout") files and links, libpmdeflate.so -> .so.$major -> .so.$version"

soname="$(readelf -d "$prefix/lib/libpmdeflate.so.$version" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')"
[ "$soname" = "libpmdeflate.so.$major" ] || fail "SONAME is '$soname', not libpmdeflate.so.$major"
ok "SONAME libpmdeflate.so.$major"
cmp -s include/pmdeflate.h "$prefix/include/pmdeflate.h" || fail "the installed header is not include/pmdeflate.h"
ok "the installed header is the committed one"

# --- 2. consumers, outside the source tree ------------------------------------
export PKG_CONFIG_PATH="$prefix/lib/pkgconfig"
unset PKG_CONFIG_LIBDIR PKG_CONFIG_SYSROOT_DIR
[ "$(pkg-config --modversion pmdeflate)" = "$version" ] || fail "pkg-config --modversion: $(pkg-config --modversion pmdeflate)"
expect "pkg-config: pmdeflate >= $major.$minor" pkg-config --exists "pmdeflate >= $major.$minor"
cflags="$(pkg-config --cflags pmdeflate)"
[ "${cflags% }" = "-I$prefix/include" ] || fail "pkg-config --cflags: '$cflags'"
ok "pkg-config --modversion $version, --cflags -I$prefix/include"
static_libs="$(pkg-config --static --libs pmdeflate)"
for flag in $native_libs; do
    grep -qw -- "$flag" <<<"$static_libs" || fail "pkg-config --static --libs ($static_libs) lacks $flag that rustc lists"
done
ok "pkg-config --static --libs has everything rustc lists ($native_libs): $static_libs"

cp -r tests/install/consumer "$work/consumer"
cd "$work/consumer"
CFLAGS=(-std=c99 -Wall -Wextra -Werror -pedantic -O2)
want_c="header $version ($version) library $version: "

# needs BINARY: the libpmdeflate NEEDED entries of a binary.
needs() { readelf -d "$1" | sed -n 's/.*(NEEDED).*\[\(libpmdeflate[^]]*\)\]/\1/p'; }
# resolved BINARY: where the loader finds libpmdeflate for it.
resolved() { ldd "$1" | awk '/libpmdeflate/ {print $3}'; }

# shellcheck disable=SC2046  # pkg-config's flags are words
expect "C, shared, through pkg-config: builds" gcc "${CFLAGS[@]}" $(pkg-config --cflags pmdeflate) app.c -o app_pc \
    $(pkg-config --libs pmdeflate) -Wl,-rpath,"$(pkg-config --variable=libdir pmdeflate)"
[ "$(needs app_pc)" = "libpmdeflate.so.$major" ] || fail "app_pc needs '$(needs app_pc)'"
[ "$(resolved app_pc)" = "$prefix/lib/libpmdeflate.so.$major" ] || fail "app_pc loads '$(resolved app_pc)'"
ok "C, shared: needs libpmdeflate.so.$major, loads it from the prefix"
expect_output "C, shared: runs" "$want_c" ./app_pc

# The archive named explicitly, with only the shared link's flags: zlib is missing.
# shellcheck disable=SC2046
if gcc "${CFLAGS[@]}" $(pkg-config --cflags pmdeflate) app.c -o app_nostatic -L"$prefix/lib" -l:libpmdeflate.a \
    >link.log 2>&1; then
    fail "linking the archive without pkg-config --static's libraries succeeded: the check below proves nothing"
fi
grep -qE "undefined reference to .(deflate|inflate)" link.log || fail "that link failed otherwise: $(head -n 3 link.log)"
ok "C, static, without --static: fails on zlib's symbols, as it must"

# With both libraries in libdir the linker takes the shared one for
# -lpmdeflate, so the archive is named as README.md shows.
# shellcheck disable=SC2046
expect "C, static, through pkg-config --static: builds" gcc "${CFLAGS[@]}" $(pkg-config --cflags pmdeflate) app.c \
    -o app_static_pc ${static_libs/-lpmdeflate/-l:libpmdeflate.a}
[ -z "$(needs app_static_pc)" ] || fail "app_static_pc still needs $(needs app_static_pc)"
if ldd app_static_pc | grep -q libpmdeflate; then fail "ldd app_static_pc shows libpmdeflate"; fi
ok "C, static: no libpmdeflate.so needed (readelf, ldd)"
expect_output "C, static: runs" "$want_c" ./app_static_pc

# shellcheck disable=SC2046
expect "C++17 including <pmdeflate.h>: builds" g++ -std=c++17 -Wall -Wextra -Werror -pedantic -O2 \
    $(pkg-config --cflags pmdeflate) app.cpp -o app_cpp_pc $(pkg-config --libs pmdeflate) \
    -Wl,-rpath,"$prefix/lib"
expect_output "C++17: runs" "library $version: \"permessage-deflate; server_max_window_bits=10\"" ./app_cpp_pc

cmake_build() { # DIR PREFIX_PATH VERSION
    cmake -S . -B "$1" -DCMAKE_PREFIX_PATH="$2" -DPMD_FIND_VERSION="$3" -DCMAKE_BUILD_TYPE=Release >"$1.log" 2>&1 &&
        cmake --build "$1" -j 2 >>"$1.log" 2>&1 || { cat "$1.log" >&2; return 1; }
}
expect "CMake: find_package(pmdeflate $major.$minor), three targets build" cmake_build build "$prefix" "$major.$minor"
grep -q "pmdeflate $version from $prefix/lib/cmake/pmdeflate" build.log || fail "CMake found another pmdeflate: $(grep pmdeflate build.log)"
[ "$(resolved build/app_shared)" = "$prefix/lib/libpmdeflate.so.$major" ] || fail "app_shared loads '$(resolved build/app_shared)'"
[ -z "$(needs build/app_static)" ] || fail "app_static needs $(needs build/app_static)"
ok "CMake: pmdeflate::pmdeflate loads libpmdeflate.so.$major from the prefix, pmdeflate::pmdeflate_static needs none"
expect_output "CMake: pmdeflate::pmdeflate runs" "$want_c" build/app_shared
expect_output "CMake: pmdeflate::pmdeflate_static runs" "$want_c" build/app_static
expect_output "CMake: C++17 with pmdeflate::pmdeflate runs" "library $version: " build/app_cpp
for refused in "$major.$((minor + 1))" "$((major + 1)).0"; do
    if cmake_build "refused-$refused" "$prefix" "$refused" 2>/dev/null; then
        fail "find_package(pmdeflate $refused) accepted version $version"
    fi
    grep -q "compatible with requested version \"$refused\"" "refused-$refused.log" ||
        fail "find_package(pmdeflate $refused) failed otherwise: $(tail -n 5 "refused-$refused.log")"
done
ok "CMake: find_package(pmdeflate $major.$((minor + 1))) and ($((major + 1)).0) are refused"
cd "$root"

# --- 3. exported symbols --------------------------------------------------------
# The functions the header declares (declarations only, not comments).
grep -vE '^\s*(\*|/\*)' "$prefix/include/pmdeflate.h" | grep -oE '\bpmd_[a-z0-9_]+\(' | tr -d '(' | sort -u \
    >"$work/header-functions"
n_functions="$(wc -l <"$work/header-functions")"
[ "$n_functions" -ge 40 ] || fail "only $n_functions functions found in the header"
nm -D --defined-only --format=posix "$prefix/lib/libpmdeflate.so.$version" | awk '{print $1}' | sort \
    >"$work/so-exports"
diff "$work/header-functions" "$work/so-exports" >"$work/so-diff" ||
    fail "the shared library's exports are not the header's functions:$(cat "$work/so-diff")"
if nm -D --defined-only --format=posix "$prefix/lib/libpmdeflate.so.$version" | awk '$2 != "T"' | grep .; then
    fail "the shared library exports something other than functions"
fi
ok "libpmdeflate.so exports exactly the header's $n_functions functions, nothing else"

# The archive also holds the Rust standard library and compiler-builtins
# (hidden symbols). Visible global definitions other than Rust-mangled
# (_ZN..., _R...) names must be the pmd_ functions and rust_eh_personality,
# the unwinding personality routine every Rust static library defines.
readelf -sW "$prefix/lib/libpmdeflate.a" |
    awk '($5 == "GLOBAL" || $5 == "WEAK") && $6 == "DEFAULT" && $7 != "UND" {print $8}' |
    grep -vE '^(_ZN|_R)' | sort -u >"$work/a-globals"
grep -v '^rust_eh_personality$' "$work/a-globals" >"$work/a-c-globals" || true
diff "$work/header-functions" "$work/a-c-globals" >"$work/a-diff" ||
    fail "the archive's visible unmangled globals are not the header's functions:$(cat "$work/a-diff")"
ok "libpmdeflate.a: visible unmangled globals are the $n_functions functions and $(grep -v '^pmd_' "$work/a-globals" | xargs)"

# --- 4. DESTDIR -----------------------------------------------------------------
stage="$work/stage"
staged_prefix=/opt/pmdeflate-install-test
expect "make install DESTDIR=$stage PREFIX=$staged_prefix" make -s install DESTDIR="$stage" PREFIX="$staged_prefix"
[ "$(cd "$stage" && ls)" = "opt" ] || fail "DESTDIR holds more than opt/: $(cd "$stage" && ls)"
[ "$(layout "$stage$staged_prefix")" = "$expected_layout" ] || fail "the DESTDIR layout differs from the PREFIX one"
if grep -rl "$stage" "$stage"; then fail "files under DESTDIR mention the DESTDIR path"; fi
grep -qx "prefix=$staged_prefix" "$stage$staged_prefix/lib/pkgconfig/pmdeflate.pc" || fail "pmdeflate.pc's prefix is not $staged_prefix"
ok "DESTDIR: the same layout under $stage$staged_prefix, no DESTDIR path inside, pmdeflate.pc says $staged_prefix"
cd "$work/consumer"
# shellcheck disable=SC2046
expect "DESTDIR: C through pkg-config with PKG_CONFIG_SYSROOT_DIR builds" env PKG_CONFIG_SYSROOT_DIR="$stage" \
    PKG_CONFIG_PATH="$stage$staged_prefix/lib/pkgconfig" sh -c \
    'gcc -std=c99 $(pkg-config --cflags pmdeflate) app.c -o app_staged $(pkg-config --libs pmdeflate)'
expect_output "DESTDIR: C runs" "$want_c" env LD_LIBRARY_PATH="$stage$staged_prefix/lib" ./app_staged
expect "DESTDIR: the relocated CMake package builds" cmake_build build-staged "$stage$staged_prefix" "$major"
expect_output "DESTDIR: CMake's pmdeflate::pmdeflate runs from the stage" "$want_c" build-staged/app_shared
[ "$(resolved build-staged/app_shared)" = "$stage$staged_prefix/lib/libpmdeflate.so.$major" ] ||
    fail "build-staged/app_shared loads '$(resolved build-staged/app_shared)'"
cd "$root"

# --- 5. uninstall, sizes --------------------------------------------------------
expect "make uninstall PREFIX=$prefix" make -s uninstall PREFIX="$prefix"
left="$(cd "$prefix" && find . \( -type f -o -type l \) -printf '%P ')"
[ -z "$left" ] || fail "make uninstall left $left"
expect "make uninstall DESTDIR=$stage PREFIX=$staged_prefix" make -s uninstall DESTDIR="$stage" PREFIX="$staged_prefix"
left="$(cd "$stage" && find . \( -type f -o -type l \) -printf '%P ')"
[ -z "$left" ] || fail "make uninstall with DESTDIR left $left"
ok "make uninstall leaves no file or link behind"

size() { stat -c %s "$1" | awk '{printf "%.0f KB", $1 / 1000}'; }
strip -o "$work/stripped.so" target/dist/release/libpmdeflate.so
gcc -O2 -Iinclude tests/install/consumer/app.c -o "$work/app_gc" -Wl,--gc-sections -s \
    target/dist/release/libpmdeflate.a $native_libs
echo "install: sizes: libpmdeflate.so.$version $(size target/dist/release/libpmdeflate.so)" \
    "($(size "$work/stripped.so") stripped), libpmdeflate.a $(size target/dist/release/libpmdeflate.a);" \
    "the C consumer linked statically $(size "$work/consumer/app_static_pc"), with --gc-sections and stripped $(size "$work/app_gc")"
printf 'install: %d passed, 0 failed\n' "$passed"
