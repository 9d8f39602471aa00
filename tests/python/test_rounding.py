"""One rounding path (issue 14 item 3): storing Python floats into a
float16 tensor by item assignment, by a slice assignment of a float64
tensor and by ``astype`` gives bit for bit what NumPy's ``float16`` gives
(``npy_double_to_half`` rounds a double once, to nearest, ties to even).
The values sit on and next to the midpoints between neighbouring float16
values, where a conversion through float32 rounds twice and goes wrong."""

from __future__ import annotations

import numpy as np

import dlview as dv


def _near_midpoints() -> np.ndarray:
    rng = np.random.default_rng(14)
    bits = rng.integers(0, 0x7BFF, size=300, dtype=np.uint16)  # finite, positive, below the max
    lo = bits.view(np.float16).astype(np.float64)
    hi = (bits + 1).view(np.float16).astype(np.float64)
    mid = (lo + hi) / 2  # exact in float64
    gap = hi - lo
    values = np.concatenate([mid, mid + gap * 2.0**-30, mid - gap * 2.0**-30, lo, -mid, -(mid + gap * 2.0**-30)])
    return np.concatenate([values, [1 + 2**-11 + 2**-40, 2**-25 + 2**-60, 65520.0, 65519.99]])


def _bits(t: dv.Tensor) -> np.ndarray:
    return np.from_dlpack(t).copy().view(np.uint16)


def test_every_store_into_float16_rounds_as_numpy() -> None:
    values = _near_midpoints()
    with np.errstate(over="ignore"):  # 65520 rounds to infinity, as it should
        want = values.astype(np.float16).view(np.uint16)

    by_item = dv.zeros(len(values), "float16")
    for i, x in enumerate(values.tolist()):
        by_item[i] = x
    assert np.array_equal(_bits(by_item), want)

    source = dv.asarray(values)
    assert source.dtype == "float64"
    assert np.array_equal(_bits(source.astype("float16")), want)

    by_slice = dv.zeros(len(values), "float16")
    by_slice[:] = source
    assert np.array_equal(_bits(by_slice), want)

    by_index = dv.zeros(len(values), "float16")
    by_index[np.arange(len(values))] = source
    assert np.array_equal(_bits(by_index), want)
