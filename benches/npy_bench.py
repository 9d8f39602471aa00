"""Opening a 1 GiB .npy file and handing it to PyTorch.

    python benches/npy_bench.py [SIZE_MIB]      (make bench runs it)

Measures, on a 1 GiB float32 file created in $TMPDIR (or /tmp) and deleted
at the end:

- mmap + DLPack: dlv_npy_load(DLV_MMAP_READ), dlv_tensor_to_dlpack, and
  torch.from_dlpack of the capsule. Goal: under 1 ms, resident memory up by
  under 10 MiB (the pages are not touched). Compared with
  np.load(mmap_mode="r") + torch.from_numpy in the same run.
- load without mmap: dlv_npy_load(DLV_MMAP_NONE) in GB/s, against a plain
  readinto() of the same bytes into a preallocated buffer (the page-cache
  bandwidth of this machine) and np.load.

Uses only the C ABI through ctypes (no dlview Python package needed); the
library is $DLVIEW_LIBRARY, else target/release/libdlview.so.
"""
import ctypes
import gc
import json
import os
import statistics
import sys
import tempfile
import time
import warnings

import numpy as np
import torch

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LIB = os.environ.get("DLVIEW_LIBRARY") or os.path.join(ROOT, "target", "release", "libdlview.so")
lib = ctypes.CDLL(LIB)
lib.dlv_npy_load.argtypes = [ctypes.c_char_p, ctypes.c_uint32, ctypes.POINTER(ctypes.c_void_p)]
lib.dlv_npy_load.restype = ctypes.c_int
lib.dlv_tensor_to_dlpack.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.POINTER(ctypes.c_void_p)]
lib.dlv_tensor_to_dlpack.restype = ctypes.c_int
lib.dlv_tensor_free.argtypes = [ctypes.c_void_p]
lib.dlv_tensor_free.restype = None
lib.dlv_tensor_data.argtypes = [ctypes.c_void_p]
lib.dlv_tensor_data.restype = ctypes.c_void_p
lib.dlv_last_error.restype = ctypes.c_char_p
DLV_MMAP_NONE, DLV_MMAP_READ = 0, 1

PyCapsule_New = ctypes.pythonapi.PyCapsule_New
PyCapsule_New.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_void_p]
PyCapsule_New.restype = ctypes.py_object


def check(status, what):
    if status != 0:
        raise RuntimeError(f"{what}: status {status}: {lib.dlv_last_error().decode()}")


class Exported:
    """A DLPack producer around one versioned export (consumed once, at once)."""

    def __init__(self, managed):
        self.managed = managed

    def __dlpack__(self, *, stream=None, max_version=None, dl_device=None, copy=None):
        # Torch asks for max_version=(1, 0) and renames the capsule when it
        # consumes it; the benchmark always lets it consume.
        return PyCapsule_New(self.managed, b"dltensor_versioned", None)

    def __dlpack_device__(self):
        return (1, 0)


def load(path, mode):
    h = ctypes.c_void_p()
    check(lib.dlv_npy_load(path.encode(), mode, ctypes.byref(h)), "dlv_npy_load")
    return h


def mmap_to_torch(path):
    """The measured path: map the file and hand it to PyTorch."""
    h = load(path, DLV_MMAP_READ)
    mt = ctypes.c_void_p()
    check(lib.dlv_tensor_to_dlpack(h, None, ctypes.byref(mt)), "dlv_tensor_to_dlpack")
    lib.dlv_tensor_free(h)  # the export keeps the mapping alive
    return torch.from_dlpack(Exported(mt.value))


def rss_kib():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def best_of(fn, repeat):
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
        del out
        gc.collect()
    return min(times), statistics.median(times)


def main():
    size_mib = int(sys.argv[1]) if len(sys.argv) > 1 else 1024
    n = size_mib * (1 << 20) // 4
    fd, path = tempfile.mkstemp(suffix=".npy", prefix="dlview_bench_")
    os.close(fd)
    try:
        a = np.lib.format.open_memmap(path, mode="w+", dtype=np.float32, shape=(n,))
        chunk = 1 << 24
        for i in range(0, n, chunk):
            a[i:i + chunk] = np.arange(i, min(i + chunk, n), dtype=np.float32)
        a.flush()
        del a
        nbytes = n * 4
        print(f"file: {path}, {nbytes / 2**30:.2f} GiB float32 (in the page cache)")

        # ---- mmap + DLPack into torch ----
        t = mmap_to_torch(path)  # warm up the code paths
        assert t.shape == (n,) and float(t[12345]) == 12345.0
        del t
        gc.collect()
        before = rss_kib()
        t0 = time.perf_counter()
        t = mmap_to_torch(path)
        first = time.perf_counter() - t0
        grown = rss_kib() - before
        del t
        gc.collect()
        lo, med = best_of(lambda: mmap_to_torch(path), 50)

        def numpy_way():
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # "The given NumPy array is not writable"
                return torch.from_numpy(np.load(path, mmap_mode="r"))

        np_lo, np_med = best_of(numpy_way, 50)
        print(f"mmap + torch.from_dlpack: {med * 1e3:.3f} ms median, {lo * 1e3:.3f} ms best "
              f"(first call {first * 1e3:.3f} ms; goal < 1 ms): {'OK' if med < 1e-3 else 'SLOW'}")
        print(f"  resident memory increase: {grown / 1024:.2f} MiB (goal < 10 MiB): {'OK' if grown < 10 * 1024 else 'HIGH'}")
        print(f"  np.load(mmap_mode='r') + torch.from_numpy: {np_med * 1e3:.3f} ms median "
              f"-> dlview is {np_med / med:.1f}x faster")

        # ---- load without mmap ----
        buf = bytearray(nbytes)
        view = memoryview(buf)

        def read_all():
            with open(path, "rb", buffering=0) as f:
                f.seek(128)
                got = 0
                while got < nbytes:
                    got += f.readinto(view[got:])
            return None

        def dlview_read():
            h = load(path, DLV_MMAP_NONE)
            lib.dlv_tensor_free(h)

        raw_lo, _ = best_of(read_all, 5)
        dl_lo, _ = best_of(dlview_read, 5)
        npl_lo, _ = best_of(lambda: np.load(path), 5)
        del view, buf
        gb = nbytes / 1e9
        print(f"load without mmap: dlview {gb / dl_lo:.2f} GB/s, numpy.load {gb / npl_lo:.2f} GB/s, "
              f"readinto a reused buffer {gb / raw_lo:.2f} GB/s (page-cache bandwidth; "
              f"dlview reaches {raw_lo / dl_lo * 100:.0f}% of it, numpy {raw_lo / npl_lo * 100:.0f}%)")
        out = os.environ.get("DLVIEW_BENCH_DIR")  # results for benches/plot.py (make bench)
        if out:
            os.makedirs(out, exist_ok=True)
            cases = [
                {"name": "mmap 1 GiB .npy + torch.from_dlpack (median)", "dlview": med,
                 "refs": {"numpy": np_med}},
                {"name": "load 1 GiB .npy without mmap", "dlview": dl_lo,
                 "refs": {"numpy": npl_lo, "readinto": raw_lo}},
            ]
            with open(os.path.join(out, "npy.json"), "w") as f:
                json.dump({"bench": "npy", "title": f".npy files ({size_mib} MiB float32)", "cases": cases}, f, indent=1)
    finally:
        os.remove(path)


if __name__ == "__main__":
    main()
