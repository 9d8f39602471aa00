"""The Python face's costs against NumPy, PyTorch and tvm-ffi, in one
process (issue 16's goals): DLPack exchange both ways, the C exchange API
(``dv.from_dlpack(torch_tensor)`` through torch's table against tvm-ffi's
``from_dlpack``, and ``dlv_py_tensor_from_object`` from C), and view
operations. Each line prints dlview's time, each reference's, and the
ratio dlview / reference with its goal.

    make bench                       # or:
    PYTHONPATH=python .venv/bin/python benches/exchange_bench.py [--quick]

Each timing is the best of several repeats of a timeit loop, in CPU
nanoseconds per call of this thread (``time.thread_time``), the sides
interleaved, so that a machine shared with other jobs hurts both alike.
"""

from __future__ import annotations

import argparse
import ctypes
import json
import os
import subprocess
import sys
import sysconfig
import tempfile
import time
import timeit
from pathlib import Path

os.environ.setdefault("JAX_PLATFORMS", "cpu")

import numpy as np  # noqa: E402
import torch  # noqa: E402

import dlview as dv  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def per_call_ns(fn, number: int) -> float:
    """CPU time of this thread per call (time spent descheduled does not count)."""
    return timeit.timeit(fn, number=number, timer=time.thread_time) / number * 1e9


def c_loop_ns(number: int) -> tuple[float, float] | None:
    """``dlv_py_tensor_from_object(torch_tensor)`` + ``dlv_tensor_free`` and
    the ``__dlpack__`` path's equivalent (``x.__dlpack__()`` + capsule import)
    from a C loop, per call: a small extension built here against
    target/release/libdlview.so. None without a C compiler or the library."""
    lib = Path(os.environ.get("DLVIEW_LIBRARY", ROOT / "target/release/libdlview.so"))
    if not lib.is_file():
        return None
    src = r"""
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <time.h>
#include "dlview.h"
static double now(void) { struct timespec ts; clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts); return ts.tv_sec * 1e9 + ts.tv_nsec; }
static PyObject *loop(PyObject *self, PyObject *args) {
  PyObject *obj; long n;
  if (!PyArg_ParseTuple(args, "Ol", &obj, &n)) return NULL;
  double t0 = now();
  for (long i = 0; i < n; i++) {
    dlv_tensor *t = NULL;
    if (dlv_py_tensor_from_object(obj, NULL, &t) != DLV_OK) return NULL;
    dlv_tensor_free(t);
  }
  double t1 = now();
  for (long i = 0; i < n; i++) {
    PyObject *cap = PyObject_CallMethod(obj, "__dlpack__", NULL);
    if (!cap) return NULL;
    dlv_tensor *t = NULL;
    if (dlv_py_tensor_from_capsule(cap, NULL, &t) != DLV_OK) { Py_DECREF(cap); return NULL; }
    dlv_tensor_free(t);
    Py_DECREF(cap);
  }
  double t2 = now();
  return Py_BuildValue("(dd)", (t1 - t0) / n, (t2 - t1) / n);
}
static PyMethodDef methods[] = {{"loop", loop, METH_VARARGS, NULL}, {NULL, NULL, 0, NULL}};
static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "dlv_bench_ext", NULL, -1, methods, NULL, NULL, NULL, NULL};
PyMODINIT_FUNC PyInit_dlv_bench_ext(void) { return PyModule_Create(&module); }
"""
    work = Path(tempfile.mkdtemp())
    (work / "ext.c").write_text(src)
    out = work / ("dlv_bench_ext" + sysconfig.get_config_var("EXT_SUFFIX"))
    build = subprocess.run(
        ["cc", "-O2", "-shared", "-fPIC", f"-I{sysconfig.get_paths()['include']}", f"-I{ROOT / 'include'}",
         str(work / "ext.c"), f"-L{lib.parent}", f"-Wl,-rpath,{lib.parent}", "-ldlview", "-o", str(out)],
        capture_output=True,
    )
    if build.returncode != 0:
        return None
    sys.path.insert(0, str(work))
    ctypes.CDLL(str(lib), mode=ctypes.RTLD_GLOBAL)
    import dlv_bench_ext

    x = torch.zeros(64, 64)
    dlv_bench_ext.loop(x, 1000)
    best = (float("inf"), float("inf"))
    for _ in range(5):
        got = dlv_bench_ext.loop(x, number)
        best = (min(best[0], got[0]), min(best[1], got[1]))
    return best


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="fewer iterations (a smoke run)")
    args = parser.parse_args()
    number, repeat = (2_000, 3) if args.quick else (20_000, 7)
    try:
        import tvm_ffi
    except ImportError:  # pragma: no cover - apache-tvm-ffi is in requirements-test.txt
        tvm_ffi = None

    shape = (64, 64)
    t = dv.zeros(shape, dtype="float32")
    a = np.zeros(shape, dtype=np.float32)
    x = torch.zeros(shape, dtype=torch.float32)
    tv = tvm_ffi.from_dlpack(x) if tvm_ffi else None

    # (name, dlview, {reference: (callable, goal ratio)})
    cases = [
        ("from_dlpack(torch tensor)", lambda: dv.from_dlpack(x),
         {"tvm_ffi": (lambda: tvm_ffi.from_dlpack(x), 1.0), "numpy": (lambda: np.from_dlpack(x), 1.0)}),
        ("torch.from_dlpack(dlview tensor)", lambda: torch.from_dlpack(t),
         {"numpy": (lambda: torch.from_dlpack(a), 1.0), "tvm_ffi": (lambda: torch.from_dlpack(tv), 1.0)}),
        ("t.__dlpack__()", lambda: t.__dlpack__(), {"numpy": (lambda: a.__dlpack__(), 1.0)}),
        ("t.__dlpack__(max_version=(1, 3))", lambda: t.__dlpack__(max_version=(1, 3)),
         {"numpy": (lambda: a.__dlpack__(max_version=(1, 3)), 1.0)}),
        ("t[1]", lambda: t[1], {"torch": (lambda: x[1], 0.5), "numpy": (lambda: a[1], 3.0)}),
        ("t[1, 2]", lambda: t[1, 2], {"torch": (lambda: x[1, 2], 0.5), "numpy": (lambda: a[1, 2], 3.0)}),
        ("t[1:, ::2]", lambda: t[1:, ::2], {"torch": (lambda: x[1:, ::2], 0.5), "numpy": (lambda: a[1:, ::2], 3.0)}),
        ("t.T", lambda: t.T, {"torch": (lambda: x.T, 0.5), "numpy": (lambda: a.T, 3.0)}),
        ("t.reshape(32, 128)", lambda: t.reshape(32, 128),
         {"torch": (lambda: x.reshape(32, 128), 0.5), "numpy": (lambda: a.reshape(32, 128), 3.0)}),
        ("dv.asarray(numpy array)", lambda: dv.asarray(a),
         {"torch": (lambda: torch.as_tensor(a), 0.5), "numpy": (lambda: np.asarray(a), 3.0)}),
    ]
    print(f"dlview {dv.__version__}  numpy {np.__version__}  torch {torch.__version__}"
          f"  tvm_ffi {getattr(tvm_ffi, '__version__', 'absent')}  load {os.getloadavg()[0]:.2f}")
    print(f"{'operation':36} {'dlview ns':>9}   {'reference':30} {'ref ns':>8} {'ratio':>6} {'goal':>5}")
    misses = 0
    rows = []
    for name, mine, refs in cases:
        refs = {k: v for k, v in refs.items() if k != "tvm_ffi" or tvm_ffi is not None}
        mine()
        for fn, _ in refs.values():
            fn()
        m = float("inf")
        best = {k: float("inf") for k in refs}
        for _ in range(repeat):
            m = min(m, per_call_ns(mine, number))
            for k, (fn, _) in refs.items():
                best[k] = min(best[k], per_call_ns(fn, number))
        for i, (k, (_, goal)) in enumerate(refs.items()):
            ratio = m / best[k]
            misses += ratio > goal
            print(f"{name if i == 0 else '':36} {m if i == 0 else float('nan'):9.0f}   {k:30} {best[k]:8.0f}"
                  f" {ratio:6.2f} {goal:5.1f}{'' if ratio <= goal else '  MISSED'}")
        rows.append({"name": name, "dlview": m * 1e-9, "refs": {k: v * 1e-9 for k, v in best.items()}})
    c = c_loop_ns(number)
    if c is not None:
        print(f"{'C: dlv_py_tensor_from_object+free':36} {c[0]:9.0f}   {'__dlpack__ + capsule import':30} {c[1]:8.0f}"
              f" {c[0] / c[1]:6.2f}  goal <= 150 ns{'' if c[0] <= 150 else '  MISSED'}")
        misses += c[0] > 150
        rows.append({"name": "C: dlv_py_tensor_from_object", "dlview": c[0] * 1e-9, "refs": {"__dlpack__ path": c[1] * 1e-9}})
    print(f"goals missed: {misses}")
    write_json("exchange", "Python DLPack exchange and views, 64x64 float32", rows)
    return 0


def write_json(bench: str, title: str, cases: list) -> None:
    """Results for benches/plot.py, into $DLVIEW_BENCH_DIR/<bench>.json (make bench)."""
    out = os.environ.get("DLVIEW_BENCH_DIR")
    if out:
        os.makedirs(out, exist_ok=True)
        with open(os.path.join(out, f"{bench}.json"), "w") as f:
            json.dump({"bench": bench, "title": title, "cases": cases}, f, indent=1)


if __name__ == "__main__":
    sys.exit(main())
