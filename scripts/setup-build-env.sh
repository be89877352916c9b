#!/usr/bin/env bash
# Installs what building the library needs and nothing that is already
# there: the system zlib's headers and pkg-config (libz-sys finds libz.so.1
# through them), and a C compiler for the examples. Idempotent; no arguments.
set -euo pipefail
pkgs=(zlib1g-dev pkg-config gcc make)
missing=()
for p in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]} == 0)); then
    echo "setup-build-env: present: ${pkgs[*]}"
    exit 0
fi
sudo=()
[ "$(id -u)" -eq 0 ] || sudo=(sudo)
for p in "${missing[@]}"; do
    if ! apt-cache show "$p" >/dev/null 2>&1; then
        "${sudo[@]}" apt-get update -qq
        break
    fi
done
echo "setup-build-env: installing ${missing[*]}"
DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
