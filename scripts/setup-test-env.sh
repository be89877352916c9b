#!/usr/bin/env bash
# Installs everything the tests need, and nothing that is already there:
#   - Debian packages: zlib1g-dev pkg-config valgrind libwslay-dev chromium,
#     and libboost-dev g++ for the Boost.Beast interop peer (header-only)
#     and for libFuzzer's C++ sources (tests/fuzz),
#     cmake for the installed-library consumer tests (tests/install) and
#     the zlib-ng build (tests/zlib-ng),
#     libwebsocketpp-dev for the websocketpp policy and its interop tests
#   - a Python venv at .venv with the pinned packages of
#     tests/interop/requirements.txt (websockets, autobahn, pytest, ...)
#     and of bench/requirements.txt (matplotlib, for the benchmark plots)
#   - the Node packages of tests/interop/node (ws), from package-lock.json
# Idempotent: a second run only checks, and says so. No arguments.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

say() { printf 'setup-test-env: %s\n' "$*"; }

# --- Debian packages -------------------------------------------------------
apt_pkgs=(zlib1g-dev pkg-config valgrind libwslay-dev chromium libboost-dev g++ cmake libwebsocketpp-dev)
missing=()
for p in "${apt_pkgs[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
        missing+=("$p")
    fi
done
if ((${#missing[@]})); then
    sudo=()
    if [ "$(id -u)" -ne 0 ]; then sudo=(sudo); fi
    # Update the package lists only when one of the packages is unknown.
    need_update=0
    for p in "${missing[@]}"; do
        if ! apt-cache show "$p" >/dev/null 2>&1; then need_update=1; fi
    done
    if ((need_update)); then
        say "apt-get update"
        "${sudo[@]}" apt-get update -qq
    fi
    say "apt-get install ${missing[*]}"
    DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
    say "apt packages present: ${apt_pkgs[*]}"
fi

# --- Python venv -------------------------------------------------------------
req="tests/interop/requirements.txt"
venv=".venv"
stamp="$venv/.pmd-requirements.sha256"
want="$(sha256sum "$req" | cut -d' ' -f1)"
if [ -x "$venv/bin/python" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] \
    && "$venv/bin/python" -c 'import websockets, autobahn, pytest' 2>/dev/null; then
    say "python venv $venv up to date ($("$venv/bin/python" -c 'import websockets; print("websockets", websockets.__version__)'))"
else
    if [ ! -x "$venv/bin/python" ]; then
        say "creating python venv $venv"
        python3 -m venv "$venv"
    fi
    say "pip install -r $req"
    "$venv/bin/python" -m pip install -q --disable-pip-version-check -r "$req"
    echo "$want" >"$stamp"
fi

# --- Python packages for the benchmark plots (bench/plots.py) --------------------
breq="bench/requirements.txt"
bstamp="$venv/.pmd-bench-requirements.sha256"
bwant="$(sha256sum "$breq" | cut -d' ' -f1)"
if [ -f "$bstamp" ] && [ "$(cat "$bstamp")" = "$bwant" ] && "$venv/bin/python" -c 'import matplotlib' 2>/dev/null; then
    say "python venv $venv: bench plot packages up to date"
else
    say "pip install -r $breq"
    "$venv/bin/python" -m pip install -q --disable-pip-version-check -r "$breq"
    echo "$bwant" >"$bstamp"
fi

# --- Node packages ------------------------------------------------------------
node_dir="tests/interop/node"
nstamp="$node_dir/node_modules/.pmd-lock.sha256"
nwant="$(sha256sum "$node_dir/package-lock.json" | cut -d' ' -f1)"
if [ -f "$nstamp" ] && [ "$(cat "$nstamp")" = "$nwant" ]; then
    say "node packages in $node_dir up to date"
else
    say "npm ci in $node_dir"
    (cd "$node_dir" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
    echo "$nwant" >"$nstamp"
fi

say "done"
