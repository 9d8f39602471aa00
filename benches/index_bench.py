"""Advanced indexing: dlview's ``t[key]`` / ``t[key] = v`` against NumPy's
and PyTorch's same operation on the same memory, in one run.

dlview is used through its Python package (``PYTHONPATH=python``), so each
dlview time includes the key's conversion (NumPy index arrays are imported
through DLPack, zero-copy) as a user would pay it. Every number is the best
of N runs, the contenders taking turns; ratios > 1 mean dlview is faster.
dlview and PyTorch run at their default thread counts (every core; PyTorch's
``get_num_threads()``), NumPy on its one thread. Goals: each >= 1.0x NumPy
(issue 14); the gather and the mask selection >= 1.0x PyTorch (issue 17).
This is a benchmark, not a test: it never fails, but it checks every result
against NumPy's.

    PYTHONPATH=python python benches/index_bench.py [--repeat N]
"""

import argparse
import json
import os
import sys
import time

import numpy as np
import torch

import dlview as dv


def best(fns, repeat, setup=None):
    """Best wall time of each of ``fns`` over ``repeat`` rounds after one
    warm-up; ``setup()`` (untimed) runs before every call."""
    times = [float("inf")] * len(fns)
    for i in range(repeat + 1):
        for k, fn in enumerate(fns):
            if setup is not None:
                setup()
            t0 = time.perf_counter()
            result = fn()
            t1 = time.perf_counter()
            del result
            if i:
                times[k] = min(times[k], t1 - t0)
    return times


ROWS = []
MISMATCHES = []


def report(name, dlv, numpy, torch_t, torch_goal=None):
    """One row: times, ratios (> 1: dlview faster) and the goals' verdicts."""
    vs_np, vs_torch = numpy / dlv, torch_t / dlv
    ROWS.append({"name": name, "dlview": dlv, "refs": {"numpy": numpy, "torch": torch_t}})
    verdicts = [f"numpy >= 1.0x: {'met' if vs_np >= 1.0 else 'NOT met'}"]
    if torch_goal is not None:
        verdicts.append(f"torch >= {torch_goal}x: {'met' if vs_torch >= torch_goal else 'NOT met'}")
    print(f"{name:<40}{dlv * 1e3:8.2f}{numpy * 1e3:8.2f}{torch_t * 1e3:8.2f}  {vs_np:5.2f}x {vs_torch:5.2f}x   "
          + "; ".join(verdicts))


def verify(name, got, want):
    if not np.array_equal(np.asarray(got), want):
        MISMATCHES.append(name)
        print(f"!! {name}: dlview's result differs from NumPy's")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=int(os.environ.get("BENCH_REPEAT", 10)))
    r = ap.parse_args().repeat
    rng = np.random.default_rng(0)
    load = os.getloadavg()[0]
    print(f"dlview {dv.get_num_threads()} threads, torch {torch.__version__} {torch.get_num_threads()} threads "
          f"(defaults), numpy 1 thread; {os.cpu_count()} CPUs, load average {load:.2f}, best of {r}")
    print(f"{'':<40}{'dlview':>8}{'numpy':>8}{'torch':>8}  {'vs np':>6} {'vs torch':>6}  (ms)")

    # t[rows, cols]: 1M float32 elements gathered from a 4096x4096 tensor.
    a = rng.random((4096, 4096), dtype=np.float32)
    t = dv.from_dlpack(a)
    rows = rng.integers(0, 4096, 1 << 20)
    cols = rng.integers(0, 4096, 1 << 20)
    ta, trows, tcols = torch.from_numpy(a), torch.from_numpy(rows), torch.from_numpy(cols)
    verify("gather", t[rows, cols], a[rows, cols])
    d, n, p = best([lambda: t[rows, cols], lambda: a[rows, cols], lambda: ta[trows, tcols]], r)
    report("t[rows, cols]: 1M of 4096^2 f32", d, n, p, torch_goal=1.0)

    # t[rows, cols] = vals: the scatter (repeated positions: last wins).
    vals = rng.random(1 << 20, dtype=np.float32)
    tvals = torch.from_numpy(vals)
    b = a.copy()
    tb, pb = dv.from_dlpack(b), torch.from_numpy(b)

    def scatter_dlv():
        tb[rows, cols] = vals

    def scatter_np():
        b[rows, cols] = vals

    def scatter_torch():
        pb[trows, tcols] = tvals

    expected = a.copy()
    expected[rows, cols] = vals
    scatter_dlv()
    verify("scatter", b, expected)
    d, n, p = best([scatter_dlv, scatter_np, scatter_torch], r)
    report("t[rows, cols] = v: 1M of 4096^2 f32", d, n, p)

    # t[mask]: a 16M float32 tensor, half of it selected at random.
    x = rng.random(1 << 24, dtype=np.float32)
    tx = dv.from_dlpack(x)
    mask = rng.random(1 << 24) < 0.5
    px, pmask = torch.from_numpy(x), torch.from_numpy(mask)
    verify("mask select", tx[mask], x[mask])
    d, n, p = best([lambda: tx[mask], lambda: x[mask], lambda: px[pmask]], r)
    report("t[mask]: 16M f32, 50% true", d, n, p, torch_goal=1.0)

    # t[mask] = 0 on the same tensor (refilled between runs, untimed).
    y = x.copy()
    ty = dv.from_dlpack(y)
    py = torch.from_numpy(y)

    def refill():
        np.copyto(y, x)

    def assign_dlv():
        ty[mask] = 0

    def assign_np():
        y[mask] = 0

    def assign_torch():
        py[pmask] = 0

    expected = x.copy()
    expected[mask] = 0
    refill()
    assign_dlv()
    verify("mask assign", y, expected)
    d, n, p = best([assign_dlv, assign_np, assign_torch], r, setup=refill)
    report("t[mask] = 0: 16M f32, 50% true", d, n, p)

    out = os.environ.get("DLVIEW_BENCH_DIR")  # results for benches/plot.py (make bench)
    if out:
        os.makedirs(out, exist_ok=True)
        cases = [{"name": row["name"], "dlview": row["dlview"], "refs": row["refs"]} for row in ROWS]
        with open(os.path.join(out, "index.json"), "w") as f:
            json.dump({"bench": "index", "title": "Advanced indexing (default threads)", "cases": cases}, f, indent=1)
    if MISMATCHES:
        print(f"results differ from NumPy: {', '.join(MISMATCHES)}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
