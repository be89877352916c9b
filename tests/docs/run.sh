#!/usr/bin/env bash
# The C examples in the documentation (README.md, docs/framework.md) are
# programs: every ```c block with a main() is extracted, compiled as strict
# C99 against the committed header and run under valgrind. A document whose
# example no longer builds or runs clean fails the suite.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
out="$root/target/docs-examples"
rm -rf "$out"
mkdir -p "$out"
cargo build --release --quiet
python3 - "$out" README.md docs/framework.md <<'PY'
import re, sys
out, docs = sys.argv[1], sys.argv[2:]
n = 0
for doc in docs:
    text = open(doc).read()
    for i, block in enumerate(re.findall(r"```c\n(.*?)```", text, re.S)):
        if "int main" in block:
            name = f"{doc.replace('/', '_').replace('.md', '')}_{i}.c"
            open(f"{out}/{name}", "w").write(block)
            n += 1
if n < 2:
    sys.exit(f"expected the examples of {docs}, found {n}")
PY
lib="$root/target/release"
count=0
for src in "$out"/*.c; do
    exe="${src%.c}"
    gcc -std=c99 -Wall -Wextra -Werror -pedantic -Iinclude "$src" -L"$lib" -Wl,-rpath,"$lib" -lpmdeflate -o "$exe"
    valgrind -q --error-exitcode=1 --leak-check=full --errors-for-leak-kinds=definite,indirect,possible \
        "$exe" >"$exe.out"
    echo "docs-examples: $(basename "$src"): built, ran clean under valgrind"
    count=$((count + 1))
done
echo "docs-examples: $count examples passed"
