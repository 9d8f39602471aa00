"""Copy and cast throughput: dlview against NumPy and PyTorch, same arrays,
same process.

dlview is loaded with ctypes (DLVIEW_LIBRARY, default
target/release/libdlview.so) and wraps the NumPy arrays' memory with
dlv_tensor_from_buffer (no copy); PyTorch sees the same memory through
torch.from_numpy. Every number is the best of N runs, the contenders taking
turns. "alloc" rows create their output (as np.copy / ascontiguousarray /
astype / .contiguous() do); "into" rows write into an existing, warm buffer
(np.copyto, Tensor.copy_).

dlview and PyTorch both run at their DEFAULT thread counts (dlview: every
core, or DLVIEW_NUM_THREADS; PyTorch: torch.get_num_threads() as it comes);
NumPy copies on one thread. "limit" is the machine's copy bandwidth as this
run saw it: the fastest of NumPy's copyto, PyTorch's threaded copy_ and
libc's memmove into the same warm buffer. A scaling table then gives
dlview's GB/s at 1 .. all threads beside that limit. GB/s counts bytes read
plus bytes written. Goals (issue #17) are printed with each ratio; this is a
benchmark, not a test: it never fails.

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
    lib.dlv_tensor_zeros.argtypes = [DLDataType, ctypes.c_int32, ctypes.POINTER(ctypes.c_int64), ctypes.c_uint32,
                                     ctypes.POINTER(T)]
    lib.dlv_set_num_threads.argtypes = [ctypes.c_int32]
    lib.dlv_get_num_threads.restype = ctypes.c_int32
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


def report(name, nbytes, dlv, numpy=None, torch_t=None, goals=()):
    """One benchmark row: times in ms, dlview's GB/s (bytes read + written),
    and dlview's speed-up over each (>1: dlview is faster). `goals` are
    (reference, minimum ratio) pairs, reference "numpy" or "torch"."""
    ratio = lambda other: other / dlv if other else None  # noqa: E731
    row = dict(name=name, dlv=dlv, numpy=numpy, torch=torch_t, gbs=nbytes / dlv / 1e9,
               vs_numpy=ratio(numpy), vs_torch=ratio(torch_t))
    ROWS.append(row)
    ms = lambda t: f"{t * 1e3:8.2f}" if t else "       -"  # noqa: E731
    x = lambda r: f"{r:6.2f}x" if r else "      -"  # noqa: E731
    verdicts = []
    for versus, goal in goals:
        got = row["vs_" + versus]
        verdicts.append(f"goal >= {goal}x {versus}: {'met' if got and got >= goal else 'NOT met'}")
    print(f"{name:<34}{ms(dlv)}{ms(numpy)}{ms(torch_t)}  {row['gbs']:6.1f} GB/s"
          f"  {x(row['vs_numpy'])} {x(row['vs_torch'])}  {'; '.join(verdicts)}")
    return row


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=int(os.environ.get("BENCH_REPEAT", 10)))
    args = ap.parse_args()
    r = args.repeat
    torch_threads = torch.get_num_threads()  # PyTorch's default: never changed here
    dlv_threads = LIB.dlv_get_num_threads()
    cores = os.cpu_count()

    def compare(dlv, numpy=None, torch_fn=None):
        contenders = [dlv] + [f for f in (numpy, torch_fn) if f is not None]
        times = iter(best(contenders, r))
        d = next(times)
        n = next(times) if numpy is not None else None
        t = next(times) if torch_fn is not None else None
        return d, n, t

    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"dlview copy benchmark: {LIB_PATH}")
    print(f"numpy {np.__version__} (1 thread), torch {torch.__version__} ({torch_threads} threads, its default), "
          f"dlview {dlv_threads} threads (its default), ml_dtypes {getattr(ml_dtypes, '__version__', 'absent')}, "
          f"{cores} CPUs, load average {load:.2f}, best of {r}")
    print(f"{'':<34}{'dlview':>8}{'numpy':>8}{'torch':>8}  {'dlview':>11}  {'vs np':>7} {'vs torch':>7}"
          "  (times in ms)")
    rng = np.random.default_rng(0)
    into = lambda dst, src: lambda: check(LIB.dlv_tensor_copy_into(dst.handle, src.handle))  # noqa: E731
    alloc = lambda fn: (fn, dlv_free)  # noqa: E731

    # 1. Copy into a preallocated, warm 64 MiB buffer, beside the machine's limit.
    n = 64 * 2**20 // 4
    a = rng.standard_normal(n, dtype=np.float32)
    dst = np.empty_like(a)
    dst[...] = 1
    va, vd = View(a), View(dst)
    ta, td = torch.from_numpy(a), torch.from_numpy(dst)
    memmove = lambda: ctypes.memmove(dst.ctypes.data, a.ctypes.data, a.nbytes)  # noqa: E731
    d, npy, tt, mm = best([into(vd, va), lambda: np.copyto(dst, a), lambda: td.copy_(ta), memmove], r)
    limit = min(npy, tt, mm)
    print(f"{'machine limit (64 MiB copy)':<34}{limit * 1e3:8.2f}  = {2 * a.nbytes / limit / 1e9:.1f} GB/s: fastest of "
          f"copyto {npy * 1e3:.2f}, torch copy_ {tt * 1e3:.2f}, memmove {mm * 1e3:.2f} ms")
    row = report("copy into warm 64 MiB", 2 * a.nbytes, d, npy, tt, goals=[("numpy", 1.0)])
    row["vs_limit"] = limit / d
    print(f"{'':<34}dlview at {limit / d:.2f}x the limit: goal >= 0.8x: {'met' if limit / d >= 0.8 else 'NOT met'}")
    into(vd, va)()
    verify("contiguous into", dst, a)

    # 2. Contiguous copy allocating its output (fresh pages: first touch on every thread).
    report("contiguous 64 MiB, alloc", 2 * a.nbytes,
           *compare(alloc(lambda: dlv_copy(va)), lambda: a.copy(), lambda: ta.clone()),
           goals=[("numpy", 1.0), ("torch", 1.0)])
    verify("contiguous alloc", dlv_copy(va), a)

    # 3. 4096 x 4096 float32 transpose into C order.
    m = rng.standard_normal((4096, 4096), dtype=np.float32)
    mt = m.T
    vt = View(mt)
    tm = torch.from_numpy(m)
    report("transpose 4096^2 f32, alloc", 2 * m.nbytes,
           *compare(alloc(lambda: dlv_copy(vt)), lambda: np.ascontiguousarray(mt), lambda: tm.t().contiguous()),
           goals=[("torch", 1.5)])
    verify("transpose alloc", dlv_copy(vt), mt)
    out = np.empty_like(m)
    out[...] = 1
    vo, to_ = View(out), torch.from_numpy(out)
    report("transpose 4096^2 f32, into", 2 * m.nbytes,
           *compare(into(vo, vt), lambda: np.copyto(out, mt), lambda: to_.copy_(tm.t())))
    out[...] = 0
    into(vo, vt)()
    verify("transpose into", out, mt)

    # 4. float32 -> float16 and -> bfloat16 (64 MiB in, 32 MiB out).
    report("f32 -> f16 64 MiB, alloc", a.nbytes * 3 // 2,
           *compare(alloc(lambda: dlv_astype(va, F16)), lambda: a.astype(np.float16), lambda: ta.to(torch.float16)),
           goals=[("torch", 1.0)])
    verify("f32 -> f16", dlv_astype(va, F16), a.astype(np.float16))
    bf_np = (lambda: a.astype(ml_dtypes.bfloat16)) if ml_dtypes else None
    report("f32 -> bf16 64 MiB, alloc", a.nbytes * 3 // 2,
           *compare(alloc(lambda: dlv_astype(va, BF16)), bf_np, lambda: ta.to(torch.bfloat16)),
           goals=[("torch", 1.0)])
    if ml_dtypes:
        print(f"{'':<34}(numpy column: ml_dtypes astype(bfloat16))")
    verify("f32 -> bf16", dlv_astype(va, BF16), ta.to(torch.bfloat16).view(torch.int16).numpy().view(np.uint16))

    # 5. Other layouts and casts (no goal).
    rev = a[::-1]
    vr = View(rev)
    report("reversed 1-D 64 MiB, alloc", 2 * a.nbytes,
           *compare(alloc(lambda: dlv_copy(vr)), lambda: np.ascontiguousarray(rev), lambda: ta.flip(0)))
    verify("reversed alloc", dlv_copy(vr), rev)
    mr = m[:, ::-1]
    vmr = View(mr)
    report("reversed last axis 4096^2, alloc", 2 * m.nbytes,
           *compare(alloc(lambda: dlv_copy(vmr)), lambda: np.ascontiguousarray(mr), lambda: tm.flip(1)))
    verify("reversed last axis", dlv_copy(vmr), mr)
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
    # A broadcast fill into the warm buffer (NumPy: dst[...] = a[:1]).
    one = View(a[:1])
    report("fill 64 MiB from one element", a.nbytes + 4,
           *compare(into(vd, one), lambda: np.copyto(dst, a[:1]), lambda: td.copy_(ta[:1].expand(n))))
    # zeros: dlview (like NumPy) takes zeroed pages from calloc/mmap, so the
    # zeroing happens at first touch, spread over the threads by the first
    # parallel write; measured as zeros + one write of every element.
    shape = (ctypes.c_int64 * 1)(n)
    F32_ = DLDataType(2, 32, 1)

    def dlv_zeros_then_write():
        z = ctypes.c_void_p()
        check(LIB.dlv_tensor_zeros(F32_, 1, shape, ORDER_C, ctypes.byref(z)))
        check(LIB.dlv_tensor_copy_into(z, va.handle))
        return z

    def np_zeros_then_write():
        z = np.zeros(n, dtype=np.float32)
        np.copyto(z, a)
        return z

    def torch_zeros_then_write():
        z = torch.zeros(n, dtype=torch.float32)
        z.copy_(ta)
        return z

    report("zeros 64 MiB + write", 2 * a.nbytes,
           *compare((dlv_zeros_then_write, dlv_free), np_zeros_then_write, torch_zeros_then_write))

    # 6. Scaling of dlview with its thread count, beside the limit.
    print()
    print(f"dlview scaling, GB/s (read + written); machine limit {2 * a.nbytes / limit / 1e9:.1f} GB/s; "
          f"torch ({torch_threads} threads) in the last line")
    kinds = [
        ("copy into warm", 2 * a.nbytes, into(vd, va), lambda: td.copy_(ta)),
        ("copy, alloc", 2 * a.nbytes, alloc(lambda: dlv_copy(va)), lambda: ta.clone()),
        ("transpose, alloc", 2 * m.nbytes, alloc(lambda: dlv_copy(vt)), lambda: tm.t().contiguous()),
        ("f32 -> f16", a.nbytes * 3 // 2, alloc(lambda: dlv_astype(va, F16)), lambda: ta.to(torch.float16)),
        ("f32 -> bf16", a.nbytes * 3 // 2, alloc(lambda: dlv_astype(va, BF16)), lambda: ta.to(torch.bfloat16)),
    ]
    print(f"{'threads':<10}" + "".join(f"{k:>18}" for k, *_ in kinds))
    scaling = []
    for threads in range(1, max(cores, 1) + 1):
        check(LIB.dlv_set_num_threads(threads))
        gbs = [nbytes / best([fn], r)[0] / 1e9 for _, nbytes, fn, _ in kinds]
        scaling.append({"threads": threads, **{k: g for (k, *_), g in zip(kinds, gbs)}})
        print(f"{threads:<10}" + "".join(f"{g:>18.1f}" for g in gbs))
    check(LIB.dlv_set_num_threads(dlv_threads))
    torch_gbs = [nbytes / best([tfn], r)[0] / 1e9 for _, nbytes, _, tfn in kinds]
    print(f"{'torch':<10}" + "".join(f"{g:>18.1f}" for g in torch_gbs))

    out = os.environ.get("DLVIEW_BENCH_DIR")  # results for benches/plot.py (make bench)
    if out:
        os.makedirs(out, exist_ok=True)
        cases = [{"name": row["name"], "dlview": row["dlv"],
                  "refs": {k: v for k, v in (("numpy", row["numpy"]), ("torch", row["torch"])) if v}}
                 for row in ROWS]
        with open(os.path.join(out, "copy.json"), "w") as f:
            json.dump({"bench": "copy",
                       "title": f"Copies and casts (dlview {dlv_threads} threads, PyTorch {torch_threads} threads)",
                       "cases": cases, "limit_gbs": 2 * a.nbytes / limit / 1e9, "scaling": scaling,
                       "torch_threads": torch_threads, "load": load}, f, indent=1)
    if MISMATCHES:
        print(f"results differ from the references: {', '.join(MISMATCHES)}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
