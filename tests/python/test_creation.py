"""Making tensors: asarray from buffers (zero-copy), nested sequences and
scalars; empty, zeros, arange; against NumPy."""

from __future__ import annotations

import array
import ctypes

import numpy as np
import pytest

import dlview as dv


def test_bytearray_is_shared_and_writeable():
    b = bytearray(b"\x00\x01\x02\x03")
    t = dv.asarray(b)
    assert t.dtype == "uint8" and t.shape == (4,) and t.flags.writeable
    t[0] = 200
    assert b[0] == 200
    b[1] = 7
    assert t[1].item() == 7


def test_bytes_are_read_only_memory():
    t = dv.asarray(b"abc")
    assert not t.flags.writeable
    with pytest.raises(ValueError, match="read-only"):
        t.setflags(write=True)  # read-only memory, not just a flag
    with pytest.raises(ValueError, match="assignment destination is read-only"):
        t[0] = 1


@pytest.mark.parametrize(
    "code,dtype",
    [("b", "int8"), ("B", "uint8"), ("h", "int16"), ("H", "uint16"), ("i", "int32"), ("I", "uint32"),
     ("l", "int64"), ("L", "uint64"), ("q", "int64"), ("Q", "uint64"), ("f", "float32"), ("d", "float64")],
)
def test_array_module_buffers(code, dtype):
    a = array.array(code, [1, 2, 3])
    t = dv.asarray(a)
    assert t.dtype == dtype and t.data_ptr == a.buffer_info()[0]
    assert t.tolist() == [1, 2, 3]


def test_strided_and_multidimensional_memoryviews():
    a = np.arange(24, dtype=np.int32).reshape(4, 6)
    mv = memoryview(a)[::2]  # a memoryview has no __dlpack__: the buffer protocol
    t = dv.asarray(mv)
    assert t.shape == (2, 6) and t.strides == (48, 4) and t.data_ptr == a.ctypes.data
    assert t.tolist() == a[::2].tolist()
    m = memoryview(bytearray(48)).cast("d", (3, 2))
    tm = dv.asarray(m)
    assert tm.shape == (3, 2) and tm.dtype == "float64" and tm.flags.c_contiguous
    c = dv.asarray(memoryview(np.array([1 + 2j, 3j], dtype=np.complex64)))
    assert c.dtype == "complex64" and c.tolist() == [1 + 2j, 3j]
    assert dv.asarray(memoryview(np.array([True, False]))).dtype == "bool"
    assert dv.asarray(ctypes.c_double(2.5)).tolist() == 2.5


def test_unsupported_buffers():
    with pytest.raises(BufferError, match="big-endian"):
        dv.asarray(memoryview(np.arange(3, dtype=">i4")))

    class Rec(ctypes.Structure):
        _fields_ = [("a", ctypes.c_int), ("b", ctypes.c_double)]

    with pytest.raises(BufferError, match="unsupported buffer format"):
        dv.asarray((Rec * 2)())


@pytest.mark.parametrize(
    "obj",
    [
        [1, 2, 3],
        [[1.5, 2], [3, 4]],
        [True, False],
        [True, 2],
        [1, 2.5],
        [[1j, 2], [3, 4]],
        [],
        [[], []],
        3,
        2.5,
        True,
        1 + 1j,
        [2**63],
        [np.float32(1.5), np.int64(2)],
        ((1, 2), (3, 4)),
    ],
    ids=repr,
)
def test_nested_sequences_match_numpy(obj):
    t = dv.asarray(obj)
    a = np.asarray(obj)
    assert t.shape == a.shape
    assert t.dtype == str(a.dtype)
    assert t.tolist() == a.tolist()
    assert t.flags.writeable and t.flags.owndata


def test_asarray_dtype_and_copy():
    assert dv.asarray([1, 2], dtype="float32").tolist() == [1.0, 2.0]
    assert dv.asarray([1.7, -2.7], dtype="int8").tolist() == [1, -2]
    with pytest.raises(ValueError, match="ragged"):
        dv.asarray([[1, 2], [3]])
    with pytest.raises(TypeError):
        dv.asarray(["a"])
    with pytest.raises(BufferError, match="cannot share"):
        dv.asarray([1, 2], copy=False)
    t = dv.arange(4)
    assert dv.asarray(t) is t
    c = dv.asarray(t, copy=True)
    assert c is not t and not dv.shares_memory(c, t)
    with pytest.raises(BufferError, match="cannot share"):
        dv.asarray(t, dtype="float32", copy=False)
    b = bytearray(4)
    assert dv.asarray(b, copy=True).data_ptr != dv.asarray(b).data_ptr
    a = np.arange(3.0)
    assert dv.asarray(a).data_ptr == a.ctypes.data
    assert dv.asarray(a, dtype="float32").dtype == "float32"


@pytest.mark.parametrize("order", ["C", "F"])
def test_empty_zeros(order):
    for shape in [(2, 3, 4), (), (0, 5), 7]:
        z = dv.zeros(shape, dtype="int16", order=order)
        r = np.zeros(shape, dtype=np.int16, order=order)
        assert z.shape == r.shape and z.tolist() == r.tolist()
        if r.size:  # NumPy 2 reports (0, 0) strides for size-0 arrays; dlview keeps compact ones
            assert z.strides == r.strides
        assert z.flags.owndata and z.flags.writeable and z.base is None
        e = dv.empty(shape, order=order)
        assert e.shape == r.shape and e.dtype == "float32"
        if z.size:
            assert z.data_ptr % 64 == 0
    with pytest.raises(ValueError):
        dv.zeros((-1, 2))
    with pytest.raises(ValueError, match="order"):
        dv.zeros(3, order="X")


@pytest.mark.parametrize(
    "args,kwargs",
    [((5,), {}), ((2, 9, 3), {}), ((5, 0, -2), {}), ((0.5, 3.0, 0.5), {}), ((6,), {"dtype": "float32"}), ((3,), {"dtype": "bfloat16"})],
)
def test_arange(args, kwargs):
    t = dv.arange(*args, **kwargs)
    if kwargs.get("dtype") == "bfloat16":
        assert t.dtype == "bfloat16" and t.tolist() == [0.0, 1.0, 2.0]
        return
    r = np.arange(*args, **kwargs)
    assert t.dtype == str(r.dtype) and t.tolist() == r.tolist()
    with pytest.raises(ValueError):
        dv.arange(1, 2, 0)
