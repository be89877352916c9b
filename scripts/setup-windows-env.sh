#!/usr/bin/env bash
# Installs what the Windows build and its Wine test need, and nothing that is
# already there (idempotent; no arguments):
#   - rustc-web, cargo-web, rust-web-src: Debian's Rust 1.9x with the source of
#     std, which cargo rebuilds for x86_64-pc-windows-gnu (-Z build-std), since
#     rustup cannot add targets here;
#   - gcc-mingw-w64-x86-64: the MinGW-w64 linker, C compiler and import
#     libraries of the Windows system DLLs;
#   - wine, wine64: runs the Windows test programs.
# The package lists are refreshed only when a package is unknown or Debian's
# Rust on offer is older than the one the Windows build was tested with.
set -euo pipefail

say() { printf 'setup-windows-env: %s\n' "$*"; }

pkgs=(rustc-web cargo-web rust-web-src gcc-mingw-w64-x86-64 wine wine64)
# The Debian rustc-web the Windows build was tested with (docs/windows.md).
min_rust=1.96

missing=()
for p in "${pkgs[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
        missing+=("$p")
    elif [[ "$p" == *-web* ]] \
        && dpkg --compare-versions "$(dpkg-query -W -f='${Version}' "$p")" lt "$min_rust"; then
        missing+=("$p") # installed, but older: apt-get install upgrades it
    fi
done
if ((${#missing[@]} == 0)); then
    say "present: ${pkgs[*]}"
    exit 0
fi

sudo=()
[ "$(id -u)" -eq 0 ] || sudo=(sudo)

need_update=0
for p in "${missing[@]}"; do
    apt-cache show "$p" >/dev/null 2>&1 || need_update=1
done
candidate="$(apt-cache policy rustc-web 2>/dev/null | sed -n 's/^ *Candidate: //p')"
if [ -z "$candidate" ] || [ "$candidate" = "(none)" ] \
    || dpkg --compare-versions "$candidate" lt "$min_rust"; then
    need_update=1
fi
if ((need_update)); then
    say "apt-get update"
    "${sudo[@]}" apt-get update -qq
fi
say "apt-get install ${missing[*]}"
DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends \
    "${missing[@]}" >/dev/null
installed="$(dpkg-query -W -f='${Version}' rustc-web)"
if dpkg --compare-versions "$installed" lt "$min_rust"; then
    say "rustc-web $installed is older than $min_rust, which the Windows build needs"
    exit 1
fi
say "rustc-web $installed"
