#!/usr/bin/env bash
# Builds the libraries that `make install` installs, in their own cargo
# target directory (target/dist), apart from target/release which the demo
# and the tests use:
#   target/dist/release/libpmdeflate.so   linked with SONAME libpmdeflate.so.MAJOR
#   target/dist/release/libpmdeflate.a
#   target/dist/release/native-static-libs   what a static link needs besides
#                                            the archive, as rustc prints it
# The SONAME is set here rather than in build.rs because a library that has
# one must be found under that name at run time: target/release holds no
# libpmdeflate.so.MAJOR, and the in-tree programs linked against it would
# no longer start. Installs nothing and needs no privileges. No arguments.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

version="$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n 1)"
major="${version%%.*}"
out=target/dist/release
mkdir -p "$out"
log="$out/build.log"

# cargo replays rustc's notes when nothing changed, so the native-static-libs
# line is in the log on every run, not only when the library was rebuilt.
cargo rustc --release --lib --crate-type cdylib,staticlib --target-dir target/dist -- \
    -C "link-arg=-Wl,-soname,libpmdeflate.so.$major" --print native-static-libs 2>&1 | tee "$log"

libs="$(sed -n 's/^note: native-static-libs: //p' "$log" | tail -n 1)"
if [ -z "$libs" ]; then
    echo "build-dist: rustc printed no native-static-libs line (see $log)" >&2
    exit 1
fi
soname="$(readelf -d "$out/libpmdeflate.so" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')"
if [ "$soname" != "libpmdeflate.so.$major" ]; then
    echo "build-dist: $out/libpmdeflate.so has SONAME '$soname', not libpmdeflate.so.$major" >&2
    exit 1
fi
# Written last, on every successful run: make install takes its time as
# that of the build and refuses sources newer than it.
printf '%s\n' "$libs" >"$out/native-static-libs"
echo "build-dist: $out/libpmdeflate.so (SONAME $soname), libpmdeflate.a; static link also needs: $libs"
