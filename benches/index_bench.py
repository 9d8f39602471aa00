"""Advanced indexing: dlview's ``t[key]`` / ``t[key] = v`` against NumPy's
same operation on the same memory, in one run.

dlview is used through its Python package (``PYTHONPATH=python``), so each
dlview time includes the key's conversion (NumPy index arrays are imported
through DLPack, zero-copy) as a user would pay it. Every number is the best
of N runs, the contenders taking turns; ratios > 1 mean dlview is faster.
Goals (issue 14): each >= 1.0x NumPy. This is a benchmark, not a test: it
never fails, but it checks every result against NumPy's.

    PYTHONPATH=python python benches/index_bench.py [--repeat N]
"""

import argparse
import json
import os
import sys
import time

import numpy as np

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


def report(name, dlv, numpy, goal=1.0):
    ratio = numpy / dlv
    ROWS.append({"name": name, "dlview": dlv, "refs": {"numpy": numpy}, "ratio": ratio, "goal": goal})
    verdict = "met" if ratio >= goal else "NOT met"
    print(f"{name:<44}{dlv * 1e3:9.2f} ms{numpy * 1e3:9.2f} ms  {ratio:5.2f}x   goal >= {goal}x numpy: {verdict}")


def verify(name, got, want):
    if not np.array_equal(np.asarray(got), want):
        MISMATCHES.append(name)
        print(f"!! {name}: dlview's result differs from NumPy's")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=int(os.environ.get("BENCH_REPEAT", 10)))
    r = ap.parse_args().repeat
    rng = np.random.default_rng(0)
    print(f"{'':<44}{'dlview':>12}{'numpy':>12}  ratio")

    # t[rows, cols]: 1M float32 elements gathered from a 4096x4096 tensor.
    a = rng.random((4096, 4096), dtype=np.float32)
    t = dv.from_dlpack(a)
    rows = rng.integers(0, 4096, 1 << 20)
    cols = rng.integers(0, 4096, 1 << 20)
    verify("gather", t[rows, cols], a[rows, cols])
    d, n = best([lambda: t[rows, cols], lambda: a[rows, cols]], r)
    report("t[rows, cols]: 1M of 4096x4096 float32", d, n)

    # t[mask]: a 16M float32 tensor, half of it selected at random.
    x = rng.random(1 << 24, dtype=np.float32)
    tx = dv.from_dlpack(x)
    mask = rng.random(1 << 24) < 0.5
    verify("mask select", tx[mask], x[mask])
    d, n = best([lambda: tx[mask], lambda: x[mask]], r)
    report("t[mask]: 16M float32, 50% true", d, n)

    # t[mask] = 0 on the same tensor (refilled between runs, untimed).
    y = x.copy()
    ty = dv.from_dlpack(y)

    def refill():
        np.copyto(y, x)

    def assign_dlv():
        ty[mask] = 0

    def assign_np():
        y[mask] = 0

    expected = x.copy()
    expected[mask] = 0
    refill()
    assign_dlv()
    verify("mask assign", y, expected)
    d, n = best([assign_dlv, assign_np], r, setup=refill)
    report("t[mask] = 0: 16M float32, 50% true", d, n)

    out = os.environ.get("DLVIEW_BENCH_DIR")  # results for benches/plot.py (make bench)
    if out:
        os.makedirs(out, exist_ok=True)
        cases = [{"name": row["name"], "dlview": row["dlview"], "refs": row["refs"]} for row in ROWS]
        with open(os.path.join(out, "index.json"), "w") as f:
            json.dump({"bench": "index", "title": "Advanced indexing (one thread)", "cases": cases}, f, indent=1)
    if MISMATCHES:
        print(f"results differ from NumPy: {', '.join(MISMATCHES)}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
