#!/usr/bin/env bash
# The Python package as users get it (issue 16):
# 1. `make wheel` builds the abi3 wheel (maturin, the dev venv's: no
#    network) with the C files; its tags must say cp311-abi3 and manylinux.
# 2. For CPython 3.11, 3.12 and 3.13 (pyenv, where installed): a fresh venv,
#    `pip install --no-index` of the wheel (no Rust there), and from outside
#    the repository with an empty environment a smoke test: dlview comes
#    from the venv, the module loads no libdlview.so, DLPack round trips
#    share memory, the buffer protocol works.
# 3. A C extension built with `python -m dlview --cflags --libs` only takes
#    a torch tensor through dlv_py_tensor_from_object, scales it in place
#    and returns a torch tensor through dlv_py_tensor_to_object (with the
#    dev venv's torch and the wheel's files first on sys.path).
# 4. A CMake project finds dlview with find_package from `--cmakedir`.
# 5. `pip install ./python` and `pip install -e ./python` work (no build
#    isolation: maturin from the dev venv), and nothing is written into the
#    source tree's tracked files.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python=${PYTHON:-python3}
devpy=${DEVPY:-$root/.venv/bin/python}
passed=0

before=$(git -C "$root" status --porcelain -- python)
rm -f "$root"/target/wheels/pydlview-*.whl
make -s -C "$root" wheel >/dev/null
wheel=$(ls "$root"/target/wheels/pydlview-*.whl)
case "$(basename "$wheel")" in
  pydlview-*-cp311-abi3-manylinux*_x86_64.whl) ;;
  *) echo "not a cp311-abi3 manylinux wheel: $wheel"; exit 1;;
esac
listing=$("$python" -m zipfile -l "$wheel")
for f in dlview/_native.abi3.so dlview/include/dlview.h dlview/include/dlview.hpp dlview/lib/libdlview.so.0 \
         dlview/lib/cmake/dlview/dlviewConfig.cmake dlview/lib/pkgconfig/dlview.pc dlview/_native.pyi dlview/py.typed; do
  grep -q " *$f" <<<"$listing" || { echo "the wheel lacks $f"; exit 1; }
done
echo "wheel $(basename "$wheel"): $(du -k "$wheel" | cut -f1) KiB"

cat > "$work/check.py" <<'PY'
import os, sys
import dlview as dv
import dlview._native as native

venv = sys.argv[1]
here = os.path.realpath(os.path.dirname(dv.__file__))
assert here.startswith(os.path.realpath(venv) + os.sep), f"dlview imported from {here}, not the venv"
assert os.path.realpath(native.__file__).startswith(here + os.sep), native.__file__
assert not any("libdlview" in line for line in open("/proc/self/maps")), "the module must not load libdlview.so"
assert os.path.isfile(os.path.join(dv.get_include(), "dlview.h"))
t = dv.arange(12, dtype="float32").reshape(3, 4)
for max_version in [(1, 3), None]:  # versioned and legacy capsules
    back = dv.from_dlpack(t.__dlpack__(max_version=max_version))
    assert back.data_ptr == t.data_ptr and back.shape == (3, 4) and back.dtype == "float32"
    assert back.tolist() == [[float(4 * i + j) for j in range(4)] for i in range(3)]
back = dv.from_dlpack(t, copy=False)
back[2, 3] = -1.0
assert t[2, 3].item() == -1.0 and memoryview(t).tolist()[2][3] == -1.0
try:
    t[:, ::-1].__dlpack__(max_version=(1, 3), copy=False)
except BufferError:
    pass
else:
    raise AssertionError("a negative-stride export with copy=False must raise BufferError")
print(f"dlview {dv.__version__} on Python {sys.version.split()[0]} from {here}: smoke test ok")
PY

cd "$work"  # outside the repository: nothing of it is on sys.path
clean=(env -i "PATH=/usr/bin:/bin" "HOME=$work")
for v in 3.11 3.12 3.13; do
  py=$(ls -d "${PYENV_ROOT:-$HOME/.pyenv}"/versions/$v.*/bin/python3 2>/dev/null | tail -n1 || true)
  if [ -z "$py" ]; then
    [ "$v" = 3.11 ] && py=$python || { echo "(no CPython $v under pyenv: skipped)"; continue; }
  fi
  "$py" -m venv "$work/venv$v"
  env -u PYTHONPATH PIP_DISABLE_PIP_VERSION_CHECK=1 "$work/venv$v/bin/python" -m pip install --quiet --no-index "$wheel"
  "${clean[@]}" "$work/venv$v/bin/python" check.py "$work/venv$v"
  passed=$((passed + 1))
done
venv="$work/venv3.11"
[ -d "$venv" ] || venv=$(ls -d "$work"/venv3.* | head -n1)

# The C extension, with nothing but what the wheel gives.
cflags=$("$venv/bin/python" -m dlview --cflags)
libs=$("$venv/bin/python" -m dlview --libs)
pyinc=$("$devpy" -c 'import sysconfig; print(sysconfig.get_paths()["include"])')
suffix=$("$devpy" -c 'import sysconfig; print(sysconfig.get_config_var("EXT_SUFFIX"))')
cc -std=c11 -Wall -Wextra -Werror -shared -fPIC $cflags -I"$pyinc" "$root/tests/install/wheel/scale.c" $libs -o "scale$suffix"
"$devpy" -m pip install --quiet --no-index --no-deps --target "$work/site" "$wheel" 2>/dev/null
env -u PYTHONPATH PYTHONPATH="$work/site:$work" "$devpy" "$root/tests/install/wheel/use_scale.py" "$root"
passed=$((passed + 1))

# The CMake package of the wheel.
cp -r "$root/tests/install/cmake" cmake_src
cmake -S cmake_src -B cmake_build -Ddlview_DIR="$("$venv/bin/python" -m dlview --cmakedir)" >/dev/null
cmake --build cmake_build >/dev/null
./cmake_build/consumer
pkg=$(PKG_CONFIG_PATH="$("$venv/bin/python" -m dlview --libdir)/pkgconfig" pkg-config --cflags --libs dlview)
cc -std=c11 -Wall -Wextra -Werror "$root/tests/install/consumer.c" $pkg -o pc_consumer && ./pc_consumer >/dev/null
passed=$((passed + 1))

"$venv/bin/python" -m pip uninstall --quiet --yes pydlview
left=$(find "$venv/lib" -path '*site-packages/dlview*')
test -z "$left" || { echo "pip uninstall left: $left"; exit 1; }

# pip install ./python and -e ./python, with the dev venv's maturin.
maturin_dir=$(dirname "$("$devpy" -c 'import maturin, os; print(os.path.dirname(maturin.__file__))')")
for editable in "" "-e"; do
  (cd "$root" && env -u PYTHONPATH PIP_DISABLE_PIP_VERSION_CHECK=1 PYTHONPATH="$maturin_dir" \
     PATH="$(dirname "$devpy"):$PATH" \
     "$venv/bin/python" -m pip install --quiet --no-index --no-build-isolation $editable ./python)
  "${clean[@]}" "$venv/bin/python" -c "import dlview as dv; assert dv.arange(3).tolist() == [0, 1, 2]"
  "$venv/bin/python" -m pip uninstall --quiet --yes pydlview
  passed=$((passed + 1))
done
after=$(git -C "$root" status --porcelain -- python)
test "$before" = "$after" || { echo "building changed the source tree:"; diff <(echo "$before") <(echo "$after"); exit 1; }
echo "python install test: $passed passed, 0 failed"
