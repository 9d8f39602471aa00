"""Copy and cast throughput: dlview against NumPy and PyTorch, same arrays,
same process.

dlview is loaded with ctypes (DLVIEW_LIBRARY, default
target/release/libdlview.so) and wraps the NumPy arrays' memory with
dlv_tensor_from_buffer (no copy); PyTorch sees the same memory through
torch.from_numpy. Every number is the best of N runs. "alloc" rows create
their output (as np.copy / ascontiguousarray / astype / .contiguous() do);
"into" rows write into an existing buffer (np.copyto, Tensor.copy_).

PyTorch runs single-threaded for the ratios (dlview and NumPy copy on one
thread); its multi-threaded times are printed beside them for reference.
Goals (issue #5) are printed with each ratio; this is a benchmark, not a
test: it never fails.

    python benches/copy_bench.py [--repeat N]
"""

import argparse
import ctypes
import json
import os
import sys
import time

import numpy as np
import torch

try:
    import ml_dtypes
except ImportError:  # optional: NumPy has no bfloat16 of its own
    ml_dtypes = None


# ---- the C ABI through ctypes --------------------------------------------------


class DLDataType(ctypes.Structure):
    _fields_ = [("code", ctypes.c_uint8), ("bits", ctypes.c_uint8), ("lanes", ctypes.c_uint16)]


class DLDevice(ctypes.Structure):
    _fields_ = [("device_type", ctypes.c_int32), ("device_id", ctypes.c_int32)]


DTYPES = {
    np.dtype(np.float32): (2, 32),
    np.dtype(np.float64): (2, 64),
    np.dtype(np.float16): (2, 16),
    np.dtype(np.int32): (0, 32),
    np.dtype(np.uint8): (1, 8),
}
F16 = DLDataType(2, 16, 1)
BF16 = DLDataType(4, 16, 1)
ORDER_C = 0
CPU = DLDevice(1, 0)


def load():
    path = os.environ.get("DLVIEW_LIBRARY", "target/release/libdlview.so")
    lib = ctypes.CDLL(path)
    T = ctypes.c_void_p
    lib.dlv_last_error.restype = ctypes.c_char_p
    lib.dlv_tensor_from_buffer.argtypes = [
        ctypes.c_void_p, DLDataType, DLDevice, ctypes.c_int32,
        ctypes.POINTER(ctypes.c_int64), ctypes.POINTER(ctypes.c_int64), ctypes.c_bool,
        ctypes.c_void_p, ctypes.c_void_p, ctypes.POINTER(T),
    ]
    lib.dlv_tensor_copy.argtypes = [T, ctypes.c_uint32, ctypes.POINTER(T)]
    lib.dlv_tensor_astype.argtypes = [T, DLDataType, ctypes.c_uint32, ctypes.POINTER(T)]
    lib.dlv_tensor_copy_into.argtypes = [T, T]
    lib.dlv_tensor_free.argtypes = [T]
    lib.dlv_tensor_free.restype = None
    lib.dlv_tensor_data.argtypes = [T]
    lib.dlv_tensor_data.restype = ctypes.c_void_p
    return lib, path


LIB, LIB_PATH = load()


def check(status):
    if status != 0:
        raise RuntimeError(f"dlview status {status}: {LIB.dlv_last_error().decode()}")


class View:
    """A dlview tensor over a NumPy array's memory (kept alive by this object)."""

    def __init__(self, arr):
        self.arr = arr
        item = arr.itemsize
        shape = (ctypes.c_int64 * arr.ndim)(*arr.shape)
        strides = (ctypes.c_int64 * arr.ndim)(*(s // item for s in arr.strides))
        code, bits = DTYPES[arr.dtype]
        self.handle = ctypes.c_void_p()
        check(LIB.dlv_tensor_from_buffer(
            arr.ctypes.data, DLDataType(code, bits, 1), CPU, arr.ndim, shape, strides,
            arr.flags.writeable, None, None, ctypes.byref(self.handle)))

    def __del__(self):
        LIB.dlv_tensor_free(self.handle)


def dlv_copy(view):
    out = ctypes.c_void_p()
    check(LIB.dlv_tensor_copy(view.handle, ORDER_C, ctypes.byref(out)))
    return out


def dlv_astype(view, dtype):
    out = ctypes.c_void_p()
    check(LIB.dlv_tensor_astype(view.handle, dtype, ORDER_C, ctypes.byref(out)))
    return out


def dlv_free(out):
    LIB.dlv_tensor_free(out)


MISMATCHES = []


def verify(name, result, expected):
    """Checks a benchmarked result bit for bit (a dlview handle, freed here,
    or an array), so that a broken fast path cannot post a fast time."""
    expected = np.ascontiguousarray(expected)
    if not isinstance(result, np.ndarray):
        ptr = LIB.dlv_tensor_data(result)
        raw = np.ctypeslib.as_array((ctypes.c_uint8 * expected.nbytes).from_address(ptr))
        got = raw.view(expected.dtype).reshape(expected.shape).copy()
        dlv_free(result)
    else:
        got = result
    if got.tobytes() != expected.tobytes():
        MISMATCHES.append(name)
        print(f"!! {name}: dlview's result differs from the reference")


# ---- timing -------------------------------------------------------------------------


def best(fns, repeat):
    """Best wall time of each of `fns` over `repeat` rounds (after one
    warm-up), the contenders taking turns within each round so that a change
    in machine load hits them alike. An entry may be `(fn, cleanup)`:
    `cleanup(result)` (e.g. freeing it) runs outside the timed region."""
    fns = [f if isinstance(f, tuple) else (f, None) for f in fns]
    times = [float("inf")] * len(fns)
    for i in range(repeat + 1):
        for k, (fn, cleanup) in enumerate(fns):
            t0 = time.perf_counter()
            result = fn()
            t1 = time.perf_counter()
            if cleanup is not None:
                cleanup(result)
            del result
            if i:
                times[k] = min(times[k], t1 - t0)
    return times


ROWS = []


def report(name, nbytes, dlv, numpy=None, torch1=None, torchn=None, goal=None, versus="numpy"):
    """One benchmark row: times in ms, GB/s of dlview (bytes read + written),
    and dlview's speed-up over each (>1: dlview is faster)."""
    ratio = lambda other: other / dlv if other else None  # noqa: E731
    row = dict(name=name, dlv=dlv, numpy=numpy, torch1=torch1, torchn=torchn,
               gbs=nbytes / dlv / 1e9, vs_numpy=ratio(numpy), vs_torch1=ratio(torch1),
               vs_torchn=ratio(torchn), goal=goal, versus=versus)
    ROWS.append(row)
    ms = lambda t: f"{t * 1e3:8.2f}" if t else "       -"  # noqa: E731
    x = lambda r: f"{r:5.2f}x" if r else "     -"  # noqa: E731
    target = ""
    if goal:
        got = row["vs_" + versus]
        verdict = "met" if got and got >= goal else "NOT met"
        target = f"  goal >= {goal}x {versus}: {verdict}"
    print(f"{name:<34}{ms(dlv)}{ms(numpy)}{ms(torch1)}{ms(torchn)}  {row['gbs']:6.1f} GB/s"
          f"  {x(row['vs_numpy'])} {x(row['vs_torch1'])} {x(row['vs_torchn'])}{target}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=int(os.environ.get("BENCH_REPEAT", 10)))
    args = ap.parse_args()
    r = args.repeat
    threads = torch.get_num_threads()

    def compare(dlv, numpy=None, torch_fn=None):
        """(dlview, numpy, torch 1 thread) interleaved, then torch N threads."""
        torch.set_num_threads(1)
        contenders = [dlv] + [f for f in (numpy, torch_fn) if f is not None]
        times = iter(best(contenders, r))
        d = next(times)
        n = next(times) if numpy is not None else None
        t1 = next(times) if torch_fn is not None else None
        tn = None
        if torch_fn is not None:
            torch.set_num_threads(threads)
            tn = best([torch_fn], r)[0]
            torch.set_num_threads(1)
        return d, n, t1, tn

    print(f"dlview copy benchmark: {LIB_PATH}")
    print(f"numpy {np.__version__}, torch {torch.__version__} (1 thread; multi = {threads} threads), "
          f"ml_dtypes {getattr(ml_dtypes, '__version__', 'absent')}, {os.cpu_count()} CPUs, best of {r}")
    print(f"{'':<34}{'dlview':>8}{'numpy':>8}{'torch1':>8}{'torchN':>8}  {'dlview':>11}"
          f"  {'vs np':>6} {'vs t1':>6} {'vs tN':>6}   (times in ms)")
    rng = np.random.default_rng(0)
    into = lambda dst, src: lambda: check(LIB.dlv_tensor_copy_into(dst.handle, src.handle))  # noqa: E731
    alloc = lambda fn: (fn, dlv_free)  # noqa: E731

    # 1. Contiguous copy of 64 MiB.
    n = 64 * 2**20 // 4
    a = rng.standard_normal(n, dtype=np.float32)
    dst = np.empty_like(a)
    va, vd = View(a), View(dst)
    ta, td = torch.from_numpy(a), torch.from_numpy(dst)
    report("contiguous 64 MiB, into", 2 * a.nbytes,
           *compare(into(vd, va), lambda: np.copyto(dst, a), lambda: td.copy_(ta)), goal=0.9)
    into(vd, va)()
    verify("contiguous into", dst, a)
    verify("contiguous alloc", dlv_copy(va), a)
    report("contiguous 64 MiB, alloc", 2 * a.nbytes,
           *compare(alloc(lambda: dlv_copy(va)), lambda: a.copy(), lambda: ta.clone()))

    # 2. 4096 x 4096 float32 transpose into C order.
    m = rng.standard_normal((4096, 4096), dtype=np.float32)
    mt = m.T
    vt = View(mt)
    tm = torch.from_numpy(m)
    report("transpose 4096^2 f32, alloc", 2 * m.nbytes,
           *compare(alloc(lambda: dlv_copy(vt)), lambda: np.ascontiguousarray(mt), lambda: tm.t().contiguous()), goal=3)
    verify("transpose alloc", dlv_copy(vt), mt)
    t_goal = ROWS[-1]["vs_torch1"]
    print(f"{'':<34}goal >= 1.5x torch (1 thread): {'met' if t_goal and t_goal >= 1.5 else 'NOT met'}")
    out = np.empty_like(m)
    vo, to_ = View(out), torch.from_numpy(out)
    report("transpose 4096^2 f32, into", 2 * m.nbytes,
           *compare(into(vo, vt), lambda: np.copyto(out, mt), lambda: to_.copy_(tm.t())))
    out[...] = 0
    into(vo, vt)()
    verify("transpose into", out, mt)

    # 3. Reversed axes (NumPy negative strides; PyTorch has none, so its
    #    reference is flip(), which also makes a reversed copy).
    rev = a[::-1]
    vr = View(rev)
    report("reversed 1-D 64 MiB, alloc", 2 * a.nbytes,
           *compare(alloc(lambda: dlv_copy(vr)), lambda: np.ascontiguousarray(rev), lambda: ta.flip(0)), goal=1)
    report("reversed 1-D 64 MiB, into", 2 * a.nbytes, *compare(into(vd, vr), lambda: np.copyto(dst, rev)))
    verify("reversed alloc", dlv_copy(vr), rev)
    mr = m[:, ::-1]
    vmr = View(mr)
    report("reversed last axis 4096^2, alloc", 2 * m.nbytes,
           *compare(alloc(lambda: dlv_copy(vmr)), lambda: np.ascontiguousarray(mr), lambda: tm.flip(1)), goal=1)
    verify("reversed last axis", dlv_copy(vmr), mr)

    # 4. float32 -> float16 and -> bfloat16 (64 MiB in, 32 MiB out).
    report("f32 -> f16 64 MiB, alloc", a.nbytes * 3 // 2,
           *compare(alloc(lambda: dlv_astype(va, F16)), lambda: a.astype(np.float16), lambda: ta.to(torch.float16)),
           goal=2)
    verify("f32 -> f16", dlv_astype(va, F16), a.astype(np.float16))
    bf_np = (lambda: a.astype(ml_dtypes.bfloat16)) if ml_dtypes else None
    report("f32 -> bf16 64 MiB, alloc", a.nbytes * 3 // 2,
           *compare(alloc(lambda: dlv_astype(va, BF16)), bf_np, lambda: ta.to(torch.bfloat16)),
           goal=1, versus="torch1")
    if ml_dtypes:
        print(f"{'':<34}(numpy column: ml_dtypes astype(bfloat16))")
    verify("f32 -> bf16", dlv_astype(va, BF16), ta.to(torch.bfloat16).view(torch.int16).numpy().view(np.uint16))
    h = a.astype(np.float16)
    vh, th = View(h), torch.from_numpy(h)
    F32 = DLDataType(2, 32, 1)
    report("f16 -> f32 64 MiB out, alloc", h.nbytes * 3,
           *compare(alloc(lambda: dlv_astype(vh, F32)), lambda: h.astype(np.float32), lambda: th.to(torch.float32)))
    verify("f16 -> f32", dlv_astype(vh, F32), h.astype(np.float32))
    ht = h.reshape(4096, 4096).T
    vht, tht = View(ht), th.reshape(4096, 4096).t()
    report("f16 transposed -> f32, alloc", h.nbytes * 3,
           *compare(alloc(lambda: dlv_astype(vht, F32)), lambda: ht.astype(np.float32, order="C"),
                    lambda: tht.to(torch.float32, memory_format=torch.contiguous_format)))
    verify("f16 transposed -> f32", dlv_astype(vht, F32), ht.astype(np.float32))

    torch.set_num_threads(threads)
    out = os.environ.get("DLVIEW_BENCH_DIR")  # results for benches/plot.py (make bench)
    if out:
        os.makedirs(out, exist_ok=True)
        cases = [{"name": row["name"], "dlview": row["dlv"],
                  "refs": {k: v for k, v in (("numpy", row["numpy"]), ("torch, 1 thread", row["torch1"])) if v}}
                 for row in ROWS]
        with open(os.path.join(out, "copy.json"), "w") as f:
            json.dump({"bench": "copy", "title": "Copies and casts (one thread)", "cases": cases}, f, indent=1)
    if MISMATCHES:
        print(f"results differ from the references: {', '.join(MISMATCHES)}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
