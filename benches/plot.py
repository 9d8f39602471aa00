"""Renders the results `make bench` left in target/bench/*.json as one chart.

    python benches/plot.py [RESULTS_DIR] [OUTPUT_PNG]    (defaults: target/bench docs/bench.png)

Every benchmark with references (NumPy, PyTorch measured in the same run)
is drawn as dlview's speed-up over each: reference time / dlview time, so a
bar right of the 1.0 line means dlview was faster. The C round trip has no
reference and is drawn in nanoseconds against its 100 ns goal.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.ticker import FixedLocator, FuncFormatter, NullFormatter  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
ORDER = ["exchange", "copy", "index", "npy", "roundtrip", "view_sum"]
COLORS = {"numpy": "#4c72b0", "torch": "#c44e52", "torch, 1 thread": "#dd8452", "tvm_ffi": "#8172b3",
          "__dlpack__ path": "#64b5cd", "readinto": "#8c8c8c", "raw pointer": "#937860"}
LABELS = {
    "numpy": "vs NumPy",
    "torch": "vs PyTorch (its default threads)",
    "torch, 1 thread": "vs PyTorch (1 thread)",
    "tvm_ffi": "vs tvm-ffi",
    "__dlpack__ path": "vs the __dlpack__ path",
    "readinto": "vs plain readinto()",
    "raw pointer": "vs the same loop on a raw pointer",
}


def speedup_panel(ax, result: dict) -> None:
    cases = result["cases"]
    refs = [r for r in COLORS if any(r in c["refs"] for c in cases)]
    height = 0.8 / max(len(refs), 1)
    for k, ref in enumerate(refs):
        ys, xs = [], []
        for i, c in enumerate(cases):
            if c["refs"].get(ref):
                ys.append(i + (k - (len(refs) - 1) / 2) * height)
                xs.append(c["refs"][ref] / c["dlview"])
        # Anchored at 1.0: right of it dlview was faster, left of it slower.
        bars = ax.barh(ys, [x - 1.0 for x in xs], left=1.0, height=height, color=COLORS[ref], label=LABELS[ref])
        ax.bar_label(bars, labels=[f"{x:.2f}x" for x in xs], padding=2, fontsize=7)
    ax.axvline(1.0, color="black", linewidth=0.8)
    ax.set_xscale("log")
    ax.set_yticks(range(len(cases)), [c["name"] for c in cases], fontsize=8)
    ax.invert_yaxis()
    lo = min([c["refs"][r] / c["dlview"] for c in cases for r in c["refs"] if c["refs"][r]] + [1.0])
    hi = max([c["refs"][r] / c["dlview"] for c in cases for r in c["refs"] if c["refs"][r]] + [1.0])
    ax.set_xlim(lo / 1.6, hi * 2.2)
    ticks = [x for x in (0.125, 0.25, 0.5, 1, 2, 4, 8, 16, 32) if lo / 1.6 <= x <= hi * 2.2]
    ax.xaxis.set_major_locator(FixedLocator(ticks))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}x"))
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_xlabel("speed-up of dlview (reference time / dlview time; > 1: dlview faster)", fontsize=8)
    ax.set_title(result["title"], fontsize=10)
    ax.legend(fontsize=7, loc="lower right")


def absolute_panel(ax, result: dict) -> None:
    cases = result["cases"]
    ns = [c["dlview"] * 1e9 for c in cases]
    bars = ax.barh(range(len(cases)), ns, color="#55a868", label="dlview")
    ax.bar_label(bars, labels=[f"{x:.0f} ns" for x in ns], padding=2, fontsize=7)
    if result.get("goal"):
        ax.axvline(result["goal"] * 1e9, color="black", linestyle="--", linewidth=0.8, label="goal")
    ax.set_yticks(range(len(cases)), [c["name"] for c in cases], fontsize=8)
    ax.invert_yaxis()
    ax.set_xlim(0, max(ns + [result.get("goal", 0) * 1e9]) * 1.3)
    ax.set_xlabel("ns per round trip (lower is better)", fontsize=8)
    ax.set_title(result["title"], fontsize=10)
    ax.legend(fontsize=7, loc="lower right")


def main() -> int:
    results_dir = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "target" / "bench"
    output = Path(sys.argv[2]) if len(sys.argv) > 2 else ROOT / "docs" / "bench.png"
    results = {}
    for path in sorted(results_dir.glob("*.json")):
        r = json.loads(path.read_text())
        results[r["bench"]] = r
    names = [n for n in ORDER if n in results] + sorted(set(results) - set(ORDER))
    if not names:
        print(f"no results in {results_dir}: run `make bench`", file=sys.stderr)
        return 1
    rows = [max(len(results[n]["cases"]), 2) for n in names]
    fig, axes = plt.subplots(len(names), 1, figsize=(9, 1.2 + 0.42 * sum(rows) + 0.9 * len(names)),
                             gridspec_kw={"height_ratios": rows}, squeeze=False)
    for ax, name in zip(axes[:, 0], names):
        r = results[name]
        if any(c["refs"] for c in r["cases"]):
            speedup_panel(ax, r)
        else:
            absolute_panel(ax, r)
    fig.suptitle("dlview benchmarks (make bench; references measured in the same run)", fontsize=11)
    fig.tight_layout(rect=(0, 0, 1, 0.98))
    output.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(output, dpi=110)
    print(f"wrote {output}")
    for name in names:
        for c in results[name]["cases"]:
            refs = ", ".join(f"{LABELS.get(k, k)} {v / c['dlview']:.2f}x" for k, v in c["refs"].items() if v)
            t = c["dlview"]
            shown = f"{t * 1e9:.0f} ns" if t < 1e-5 else f"{t * 1e6:.1f} us" if t < 1e-2 else f"{t * 1e3:.1f} ms"
            print(f"  {name:9} {c['name']:48} {shown:>10}  {refs}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
