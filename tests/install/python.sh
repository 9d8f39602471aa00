#!/usr/bin/env bash
# `pip install ./python` into a fresh virtual environment (no system site
# packages, no network: the build backend needs nothing from an index), then,
# from outside the repository with an empty environment, imports dlview and
# checks that the package and the loaded libdlview.so both come from the
# venv, that a DLPack round trip shares memory (with the C extension and with
# DLVIEW_PURE_PYTHON=1), and that nothing was written into python/.
# Uninstalls and removes everything at the end.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python=${PYTHON:-python3}

before=$(git -C "$root" status --porcelain --ignored -- python)
"$python" -m venv "$work/venv"
venv="$work/venv"
(cd "$root" && env -u DLVIEW_LIBRARY -u PYTHONPATH PIP_DISABLE_PIP_VERSION_CHECK=1 \
   "$venv/bin/python" -m pip install --quiet --no-index ./python)
after=$(git -C "$root" status --porcelain --ignored -- python)
test "$before" = "$after" || { echo "pip install ./python changed the source tree:"; diff <(echo "$before") <(echo "$after"); exit 1; }

cat > "$work/check.py" <<'EOF'
import os, sys
import dlview as dv

venv, root, backend = sys.argv[1], sys.argv[2], sys.argv[3]
here = os.path.realpath(os.path.dirname(dv.__file__))
assert here.startswith(os.path.realpath(venv) + os.sep), f"dlview imported from {here}, not the venv"
assert os.path.realpath(dv.library_path) == os.path.join(here, "libdlview.so"), dv.library_path
maps = [line.split()[-1] for line in open("/proc/self/maps") if "libdlview" in line]
assert maps and all(m.startswith(here + os.sep) for m in maps), f"libdlview mapped from {set(maps)}"
assert not any(m.startswith(root + os.sep) for m in maps)
assert dv.BACKEND == backend, (dv.BACKEND, backend)

t = dv.arange(12, dtype="float32").reshape(3, 4)
for max_version in [(1, 3), None]:  # versioned and legacy capsules
    back = dv.from_dlpack(t.__dlpack__(max_version=max_version))
    assert back.data_ptr == t.data_ptr and back.shape == (3, 4) and back.dtype == "float32"
    assert back.tolist() == [[float(4 * i + j) for j in range(4)] for i in range(3)]
back = dv.from_dlpack(t, copy=False)
back[2, 3] = -1.0
assert t[2, 3].item() == -1.0
try:
    t[:, ::-1].__dlpack__(max_version=(1, 3), copy=False)
except BufferError:
    pass
else:
    raise AssertionError("a negative-stride export with copy=False must raise BufferError")
print(f"dlview {dv.__version__} from {here} (backend {dv.BACKEND}): round trip ok")
EOF

cd "$work"  # outside the repository: nothing of it is on sys.path
clean=(env -i "PATH=/usr/bin:/bin" "HOME=$work")
"${clean[@]}" "$venv/bin/python" check.py "$venv" "$root" ext
"${clean[@]}" DLVIEW_PURE_PYTHON=1 "$venv/bin/python" check.py "$venv" "$root" ctypes

"$venv/bin/python" -m pip uninstall --quiet --yes dlview
left=$(find "$venv/lib" -path '*site-packages/dlview*')
test -z "$left" || { echo "pip uninstall left: $left"; exit 1; }
echo "python install test: 3 passed, 0 failed"
