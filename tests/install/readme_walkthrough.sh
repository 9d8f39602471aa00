#!/usr/bin/env bash
# Follows the README's "From a fresh clone to your own C code exchanging a
# tensor with PyTorch" literally: takes mine.c, the cc command and use_it.py
# out of the README, builds them in a temporary directory against this
# checkout's target/release, and runs use_it.py with a Python that has torch
# (make test-install puts .venv first on PATH), checking what it prints.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python=${PYTHON:-python3}

"$python" - "$root/README.md" "$work" <<'EOF'
import re, sys
readme, work = sys.argv[1], sys.argv[2]
text = open(readme).read()
section = text[text.index("## From a fresh clone"):]
section = section[: section.index("\n## ", 3)]
blocks = re.findall(r"\n( *)```(\w+)\n(.*?)\n\1```", section, re.S)
def body(lang, nth=0):
    indent, _, code = [b for b in blocks if b[1] == lang][nth]
    return "\n".join(line[len(indent):] for line in code.split("\n")) + "\n"
open(f"{work}/mine.c", "w").write(body("c"))
open(f"{work}/build.sh", "w").write(body("sh", 1))
open(f"{work}/use_it.py", "w").write(body("python"))
EOF

cd "$work"
DLVIEW="$root" bash -e build.sh
out=$(env -i "PATH=$PATH" "HOME=$work" "$python" use_it.py)
expected='tensor([[0., 1., 2.],
        [3., 4., 5.]])
tensor([[ 0., 30.],
        [10., 40.],
        [20., 50.]])
4'
test "$out" = "$expected" || { echo "use_it.py printed:"; echo "$out"; exit 1; }
echo "README walkthrough: 1 passed, 0 failed"
