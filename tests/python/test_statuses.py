"""Each of the core's errors reaches Python as the one exception docs/rules.md
§8 gives its status (the C ABI's ``dlv_status`` of the same error), with the
core's message; dtype names come from the core's one table (the package
keeps no name table of its own), and so do buffer formats."""

from __future__ import annotations

import array

import numpy as np
import pytest

import dlview as dv

#: Every dtype the core names (code, bits): its DLPack table.
NAMES = [
    "bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
    "float16", "float32", "float64", "bfloat16", "complex64", "complex128",
    "float8_e3m4", "float8_e4m3", "float8_e4m3b11fnuz", "float8_e4m3fn", "float8_e4m3fnuz",
    "float8_e5m2", "float8_e5m2fnuz", "float8_e8m0fnu", "float6_e2m3fn", "float6_e3m2fn", "float4_e2m1fn",
    "float4_e2m1fn_x2",
]


def _read_only() -> dv.Tensor:
    t = dv.zeros(3)
    t.setflags(write=False)
    return t


@pytest.mark.parametrize(
    "status,exception,make",
    [
        ("INVALID_ARGUMENT", ValueError, lambda: dv.arange(6).reshape(4, 4)),
        ("INDEX", IndexError, lambda: dv.arange(3)[5]),
        ("READ_ONLY", ValueError, lambda: _read_only().__setitem__(0, 1)),
        ("COPY_REQUIRED", BufferError, lambda: dv.arange(6).reshape(2, 3).T.reshape(6, copy=False)),
        ("UNSUPPORTED_DTYPE", BufferError, lambda: dv.zeros(2, "float4_e2m1fn").astype("float32")),
        ("OUT_OF_MEMORY", MemoryError, lambda: dv.empty((2**40, 2**20), "uint8")),
        ("IO", OSError, lambda: dv.load("/nonexistent/dir/x.npy")),
        ("FORMAT", ValueError, lambda: dv.load(__file__)),
    ],
)
def test_each_status_raises_its_exception(status, exception, make):
    with pytest.raises(exception) as info:
        make()
    assert str(info.value), status  # the core's message, never empty


def test_dtype_names_come_from_the_core():
    for name in NAMES:
        if name in ("float4_e2m1fn", "float6_e2m3fn", "float6_e3m2fn"):
            with pytest.raises(BufferError, match=f"packed sub-byte dtype {name}"):
                dv.zeros(2, name)  # exchange only: known by name, never created
            continue
        t = dv.zeros(2, name)
        assert t.dtype == name and t.itemsize == t.nbytes // 2
    with pytest.raises(BufferError, match="unknown dtype name"):
        dv.zeros(2, "float128")


@pytest.mark.parametrize("code", ["b", "B", "h", "H", "i", "I", "l", "L", "q", "Q", "f", "d"])
def test_buffer_formats_both_ways_agree_with_numpy(code):
    a = array.array(code, [1, 2, 3])
    t = dv.asarray(a)
    assert t.dtype == str(np.asarray(a).dtype)
    m = memoryview(t)
    assert np.dtype(m.format) == np.asarray(a).dtype and m.tolist() == [1, 2, 3]
