"""DLPack exchange overhead of dlview's Python package against NumPy, in one
process: the same operation with a dlview tensor and with a NumPy array,
printed side by side as a ratio (dlview / reference; goal: <= 1.0).

    make bench                       # or:
    PYTHONPATH=python .venv/bin/python benches/exchange_bench.py [--quick]

Each timing is the best of several repeats of a timeit loop, in CPU
nanoseconds per call of this thread (``time.thread_time``), the two sides
interleaved. The backend in use (the compiled ``_ext`` or pure ``ctypes``)
is printed; ``DLVIEW_PURE_PYTHON=1`` forces ctypes for comparison.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import timeit

os.environ.setdefault("JAX_PLATFORMS", "cpu")

import numpy as np  # noqa: E402
import torch  # noqa: E402

import dlview as dv  # noqa: E402


def per_call_ns(fn, number: int) -> float:
    """CPU time of this thread per call: robust to a machine shared with
    other jobs (time spent descheduled does not count)."""
    return timeit.timeit(fn, number=number, timer=time.thread_time) / number * 1e9


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="fewer iterations (a smoke run)")
    args = parser.parse_args()
    number, repeat = (2_000, 3) if args.quick else (20_000, 7)

    shape = (64, 64)
    t = dv.zeros(shape, dtype="float32")
    a = np.zeros(shape, dtype=np.float32)
    x = torch.zeros(shape, dtype=torch.float32)

    cases = [
        ("torch.from_dlpack(dlview) vs (numpy)", lambda: torch.from_dlpack(t), lambda: torch.from_dlpack(a)),
        ("dv.from_dlpack(torch) vs np.from_dlpack(torch)", lambda: dv.from_dlpack(x), lambda: np.from_dlpack(x)),
        ("t.__dlpack__() vs ndarray.__dlpack__()", lambda: t.__dlpack__(), lambda: a.__dlpack__()),
        (
            "t.__dlpack__(max_version=(1,3)) vs ndarray's",
            lambda: t.__dlpack__(max_version=(1, 3)),
            lambda: a.__dlpack__(max_version=(1, 3)),
        ),
    ]
    print(f"dlview {dv.__version__} backend={dv.BACKEND}  numpy {np.__version__}  torch {torch.__version__}")
    print(f"{'operation':50} {'dlview ns':>10} {'ref ns':>10} {'ratio':>7}")
    worst = 0.0
    rows = []
    for name, mine, ref in cases:
        # Interleave the two so that drift in machine load hits both.
        mine(), ref()  # warm up
        m = r = float("inf")
        for _ in range(repeat):
            m = min(m, per_call_ns(mine, number))
            r = min(r, per_call_ns(ref, number))
        ratio = m / r
        worst = max(worst, ratio)
        print(f"{name:50} {m:10.0f} {r:10.0f} {ratio:7.2f}")
        rows.append({"name": name, "dlview": m * 1e-9, "refs": {"numpy": r * 1e-9}})
    print(f"worst ratio: {worst:.2f} (goal <= 1.0)")
    write_json("exchange", f"Python DLPack exchange, 64x64 float32 (backend {dv.BACKEND})", rows)
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
