#!/usr/bin/env bash
# The Python package as a user gets it: `maturin build --release` makes the
# abi3 wheel (from python/pyproject.toml; with the dev venv's maturin, so no
# network), `pip install --no-index` puts it into a fresh virtual
# environment (no system site packages, no Rust needed there), and, from
# outside the repository with an empty environment, a smoke test checks that
# dlview is imported from the venv, that the module is the one compiled
# module, and that DLPack round trips share memory. Then `pip install
# ./python` and `pip install -e ./python` must work too (no build isolation:
# maturin comes from the dev venv), and nothing may be written into the
# source tree. Uninstalls and removes everything at the end.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python=${PYTHON:-python3}
devpy=${DEVPY:-$root/.venv/bin/python}

before=$(git -C "$root" status --porcelain -- python)
(cd "$root/python" && env -u PYTHONPATH "$devpy" -m maturin build --release --quiet --out "$work/dist" >/dev/null)
wheel=$(ls "$work/dist"/pydlview-*.whl)
case "$wheel" in *-cp311-abi3-*) ;; *) echo "not an abi3 wheel: $wheel"; exit 1;; esac

"$python" -m venv "$work/venv"
venv="$work/venv"
env -u PYTHONPATH PIP_DISABLE_PIP_VERSION_CHECK=1 "$venv/bin/python" -m pip install --quiet --no-index "$wheel"

cat > "$work/check.py" <<'PY'
import os, sys
import dlview as dv
import dlview._native as native

venv, root = sys.argv[1], sys.argv[2]
here = os.path.realpath(os.path.dirname(dv.__file__))
assert here.startswith(os.path.realpath(venv) + os.sep), f"dlview imported from {here}, not the venv"
assert os.path.realpath(native.__file__).startswith(here + os.sep), native.__file__
assert not any("libdlview" in line for line in open("/proc/self/maps")), "the module must not load libdlview.so"

t = dv.arange(12, dtype="float32").reshape(3, 4)
for max_version in [(1, 3), None]:  # versioned and legacy capsules
    back = dv.from_dlpack(t.__dlpack__(max_version=max_version))
    assert back.data_ptr == t.data_ptr and back.shape == (3, 4) and back.dtype == "float32"
    assert back.tolist() == [[float(4 * i + j) for j in range(4)] for i in range(3)]
back = dv.from_dlpack(t, copy=False)
back[2, 3] = -1.0
assert t[2, 3].item() == -1.0
assert memoryview(t).tolist()[2][3] == -1.0
try:
    t[:, ::-1].__dlpack__(max_version=(1, 3), copy=False)
except BufferError:
    pass
else:
    raise AssertionError("a negative-stride export with copy=False must raise BufferError")
print(f"dlview {dv.__version__} from {here}: round trip ok")
PY

cd "$work"  # outside the repository: nothing of it is on sys.path
clean=(env -i "PATH=/usr/bin:/bin" "HOME=$work")
"${clean[@]}" "$venv/bin/python" check.py "$venv" "$root"
"$venv/bin/python" -m pip uninstall --quiet --yes pydlview
left=$(find "$venv/lib" -path '*site-packages/dlview*')
test -z "$left" || { echo "pip uninstall left: $left"; exit 1; }

# pip install ./python and -e ./python, with the dev venv's maturin (no
# build isolation, no index). The build shares the repository's target/.
"$python" -m venv "$work/venv2"
venv2="$work/venv2"
maturin_dir=$(dirname "$("$devpy" -c 'import maturin, os; print(os.path.dirname(maturin.__file__))')")
for editable in "" "-e"; do
  (cd "$root" && env -u PYTHONPATH PIP_DISABLE_PIP_VERSION_CHECK=1 PYTHONPATH="$maturin_dir" \
     PATH="$(dirname "$devpy"):$PATH" \
     "$venv2/bin/python" -m pip install --quiet --no-index --no-build-isolation $editable ./python)
  "${clean[@]}" "$venv2/bin/python" -c "import dlview as dv; assert dv.arange(3).tolist() == [0, 1, 2]"
  "$venv2/bin/python" -m pip uninstall --quiet --yes pydlview
done
after=$(git -C "$root" status --porcelain -- python)
test "$before" = "$after" || { echo "building changed the source tree:"; diff <(echo "$before") <(echo "$after"); exit 1; }
echo "python install test: wheel, pip install ./python and -e ./python passed, 0 failed"
