"""The RULES.md §5–6 fixes and the Python protocols of issue 16, against NumPy,
PyTorch and pandas as oracles: copy policy for every kind of source, dlview
to dlview sharing (negative strides), integers beyond int64, the buffer
protocol out, ``__array__``/``__array_interface__``, copy/deepcopy/pickle,
NumPy scalars, pandas containers, ``frombuffer``, ``base`` identity, the
``__dlpack__`` argument rules, and a producer's own exceptions."""

from __future__ import annotations

import array
import copy
import ctypes
import pickle
import threading

import numpy as np
import pandas as pd
import pytest
import torch

import dlview as dv

# ---- copy policy (RULES §5) ---------------------------------------------------------


def _sources():
    return {
        "numpy": lambda: np.arange(6, dtype=np.float32),
        "torch": lambda: torch.arange(6, dtype=torch.float32),
        "dlview": lambda: dv.arange(6, dtype="float32"),
        "bytearray": lambda: bytearray(24),
        "memoryview": lambda: memoryview(array.array("f", range(6))),
    }


@pytest.mark.parametrize("name", list(_sources()))
def test_copy_false_with_a_dtype_change_raises_for_every_source(name):
    src = _sources()[name]()
    with pytest.raises(BufferError, match="cannot share"):
        dv.asarray(src, dtype="float64", copy=False)
    # The same dtype shares.
    same = dv.asarray(src, copy=False)
    assert dv.shares_memory(same, dv.asarray(src))


def test_copy_false_with_a_device_change_raises():
    with pytest.raises(BufferError, match="cannot share"):
        dv.from_dlpack(np.arange(3), device="cuda:0", copy=False)
    with pytest.raises(BufferError, match="cannot share"):
        dv.from_dlpack(dv.arange(3), device="cuda:0", copy=False)


class IgnoresCopy:
    """A producer that ignores copy=True and hands out its own memory."""

    def __init__(self, a):
        self.a = a

    def __dlpack_device__(self):
        return self.a.__dlpack_device__()

    def __dlpack__(self, **kwargs):
        kwargs.pop("copy", None)
        return self.a.__dlpack__(**kwargs)


@pytest.mark.parametrize("make", [lambda: np.arange(5.0), lambda: torch.arange(5.0), lambda: dv.arange(5.0)])
def test_copy_true_is_independent_even_when_the_producer_ignores_it(make):
    a = make()
    t = dv.from_dlpack(IgnoresCopy(a), copy=True)
    shared = dv.from_dlpack(IgnoresCopy(a))
    assert not dv.shares_memory(t, shared)
    assert t.tolist() == [0.0, 1.0, 2.0, 3.0, 4.0] and t.flags.writeable
    assert dv.asarray(a, copy=True).data_ptr != shared.data_ptr


def test_copy_true_from_honest_producers_copies_once():
    a = np.arange(4.0)
    t = dv.from_dlpack(a, copy=True)
    assert t.data_ptr != a.ctypes.data and t.tolist() == a.tolist()
    x = torch.arange(4.0)
    assert dv.from_dlpack(x, copy=True).data_ptr != x.data_ptr()


def test_dlview_to_dlview_shares_negative_strides():
    t = dv.arange(12, dtype="int32").reshape(3, 4)[::-1, ::-2]
    for back in (dv.from_dlpack(t, copy=False), dv.asarray(t, copy=False), dv.from_dlpack(t)):
        assert back.data_ptr == t.data_ptr and back.strides == t.strides == (-16, -8)
        assert back.tolist() == t.tolist()
    # Foreign consumers still get a compact copy (or a refusal).
    with pytest.raises(BufferError):
        t.__dlpack__(max_version=(1, 3), copy=False)


# ---- integers beyond int64 ----------------------------------------------------------


def test_ints_outside_int64_raise_never_wrap():
    t = dv.arange(4)
    for i in (2**64 + 1, 2**63, -(2**63) - 1, -(2**64)):
        with pytest.raises(IndexError):
            t[i]
        with pytest.raises(IndexError):
            t[i] = 1
    with pytest.raises(OverflowError):
        dv.empty(2**64 + 4)
    with pytest.raises(OverflowError):
        dv.zeros((2, 2**64))
    with pytest.raises(OverflowError):
        t.reshape(2**64 + 4)
    with pytest.raises(OverflowError):
        dv.arange(2**64)
    with pytest.raises(OverflowError):
        dv.asarray([2**64])
    # Slice bounds beyond any length clamp, as in Python and NumPy.
    a = np.arange(4)
    assert t[: 2**70].tolist() == a[: 2**70].tolist()
    assert t[-(2**70) :: 2**65].tolist() == a[-(2**70) :: 2**65].tolist()


# ---- the buffer protocol out -------------------------------------------------------


@pytest.mark.parametrize("dtype", ["bool", "int8", "uint16", "int32", "int64", "float16", "float32", "float64", "complex64", "complex128"])
def test_memoryview_matches_numpy(dtype):
    a = np.arange(12).reshape(3, 4).astype(dtype)
    t = dv.asarray(a)
    for view, ref in [(t, a), (t[:, ::2], a[:, ::2]), (t.T, a.T), (t[::-1], a[::-1])]:
        m, r = memoryview(view), memoryview(ref)
        assert m.format == r.format or {m.format, r.format} == {"q", "l"}  # both int64 here
        assert (m.itemsize, m.shape, m.strides, m.readonly) == (r.itemsize, r.shape, r.strides, r.readonly)
        assert np.array_equal(np.asarray(m), ref)
        assert np.asarray(m).ctypes.data == ref.ctypes.data


def test_memoryview_read_only_and_writes():
    t = dv.zeros(4, "int32")
    m = memoryview(t)
    m[1] = 7
    assert t[1].item() == 7 and not m.readonly
    r = dv.arange(4)
    r.setflags(write=False)
    assert memoryview(r).readonly
    with pytest.raises(TypeError):
        memoryview(r)[0] = 1
    b = dv.broadcast_to(dv.arange(3), (2, 3))
    assert memoryview(b).readonly and memoryview(b).strides == (0, 8)


def test_memoryview_refuses_what_it_cannot_describe():
    with pytest.raises(BufferError, match="bfloat16"):
        memoryview(dv.zeros(2, "bfloat16"))
    with pytest.raises(BufferError, match="float4_e2m1fn"):
        memoryview(sub_byte("float4_e2m1fn"))


def test_memoryview_keeps_the_tensor_alive():
    m = memoryview(dv.arange(5))
    import gc

    gc.collect()
    assert m.tolist() == [0, 1, 2, 3, 4]
    m.release()


# ---- __array__ and __array_interface__ -------------------------------------------------


def test_array_interface_matches_numpy():
    a = np.arange(24, dtype=np.float32).reshape(4, 6)
    for ref in (a, a[::2, 1::2], a.T, a[::-1]):
        t = dv.asarray(ref)
        got = t.__array_interface__
        want = ref.__array_interface__
        assert got["shape"] == want["shape"] and got["typestr"] == want["typestr"]
        assert got["data"] == want["data"] and got["version"] == 3
        assert (got["strides"] or ref.strides) == (want["strides"] or ref.strides)
    with pytest.raises(AttributeError):
        dv.zeros(2, "bfloat16").__array_interface__


def test_numpy_asarray_shares_and_keeps_flags():
    t = dv.arange(6, dtype="int16").reshape(2, 3)
    a = np.asarray(t)
    assert a.ctypes.data == t.data_ptr and a.dtype == np.int16 and a.flags.writeable
    r = dv.arange(3)
    r.setflags(write=False)
    assert not np.asarray(r).flags.writeable
    assert np.asarray(t, dtype=np.float64).tolist() == [[0, 1, 2], [3, 4, 5]]
    n = t[:, ::-1]
    assert np.asarray(n).strides == (6, -2) and np.asarray(n).ctypes.data == n.data_ptr


def test_asarray_of_an_array_interface_object():
    a = np.arange(6.0).reshape(2, 3)

    class Iface:
        def __init__(self, arr):
            self.arr = arr
            self.__array_interface__ = arr.__array_interface__

    t = dv.asarray(Iface(a[:, ::2]))
    assert t.data_ptr == a.ctypes.data and t.tolist() == a[:, ::2].tolist()


# ---- copy, deepcopy, pickle ----------------------------------------------------------


@pytest.mark.parametrize("how", ["copy", "deepcopy", "pickle"])
def test_copies_are_independent(how):
    t = dv.arange(12, dtype="float32").reshape(3, 4)[:, ::2]
    c = {"copy": copy.copy, "deepcopy": copy.deepcopy, "pickle": lambda x: pickle.loads(pickle.dumps(x))}[how](t)
    assert type(c) is dv.Tensor and c.tolist() == t.tolist() and c.dtype == t.dtype and c.shape == t.shape
    assert not dv.shares_memory(c, t) and c.flags.writeable
    c[0, 0] = 99
    assert t[0, 0].item() == 0


def test_pickle_of_every_addressable_dtype():
    for dtype in ["bool", "int8", "uint64", "float16", "bfloat16", "float8_e4m3fn", "complex128"]:
        t = dv.arange(4).astype(dtype)
        back = pickle.loads(pickle.dumps(t))
        assert back.dtype == dtype and back.tolist() == t.tolist()


# ---- NumPy scalars, pandas -------------------------------------------------------------


@pytest.mark.parametrize(
    "scalar", [np.float64(1.5), np.float32(2.5), np.int8(-3), np.uint64(2**63 + 1), np.bool_(True), np.complex64(1 + 2j), np.float16(0.5)]
)
def test_numpy_scalars_keep_their_dtype(scalar):
    t = dv.asarray(scalar)
    a = np.asarray(scalar)
    assert t.shape == () and t.dtype == str(a.dtype) and t.tolist() == a.tolist()
    assert t.flags.writeable


@pytest.mark.parametrize(
    "make",
    [
        lambda: pd.Series([1.5, 2.5, 3.5]),
        lambda: pd.Series([1, 2, 3], dtype="int32"),
        lambda: pd.DataFrame({"a": [1.0, 2.0], "b": [3.0, 4.0]}),
        lambda: pd.array([1, 2, 3], dtype="Int64"),
        lambda: pd.array([1, None, 3], dtype="Int64"),
        lambda: pd.array([True, False], dtype="boolean"),
        lambda: pd.Index([4, 5, 6]),
    ],
)
def test_pandas_containers(make):
    obj = make()
    a = np.asarray(obj)
    t = dv.asarray(obj)
    assert t.shape == a.shape and t.dtype == str(a.dtype)
    assert np.array_equal(np.asarray(t), a, equal_nan=True)


def test_pandas_series_shares_memory_with_its_values():
    s = pd.Series(np.arange(4.0))
    t = dv.asarray(s)
    assert t.data_ptr == np.asarray(s).ctypes.data


# ---- frombuffer ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "buf,kwargs",
    [
        (b"\x00\x00\x80?\x00\x00\x00@", {"dtype": "float32"}),
        (bytearray(range(16)), {"dtype": "int32", "offset": 4}),
        (bytearray(range(16)), {"dtype": "uint8", "count": 5, "offset": 3}),
        (bytes(16), {}),
        (array.array("d", [1.0, 2.0]), {"dtype": "int64"}),
    ],
)
def test_frombuffer_matches_numpy(buf, kwargs):
    t = dv.frombuffer(buf, **kwargs)
    a = np.frombuffer(buf, **kwargs)
    assert t.dtype == str(a.dtype) and t.tolist() == a.tolist()
    assert t.data_ptr == a.ctypes.data and t.flags.writeable == a.flags.writeable


def test_frombuffer_errors_match_numpy():
    for kwargs in ({"dtype": "int32", "count": 5}, {"dtype": "int64"}, {"offset": 20}, {"offset": -1}):
        with pytest.raises(ValueError):
            np.frombuffer(bytes(12), **kwargs)
        with pytest.raises(ValueError):
            dv.frombuffer(bytes(12), **kwargs)


def test_asarray_bytes_with_a_dtype_points_to_frombuffer():
    with pytest.raises(ValueError, match="frombuffer"):
        dv.asarray(b"\x00\x00\x80?", dtype="float32")
    assert dv.asarray(bytearray(4), dtype="float32").tolist() == np.asarray(bytearray(4), dtype=np.float32).tolist()


# ---- base identity ----------------------------------------------------------------------


def test_base_is_the_root_object_as_in_numpy():
    t = dv.arange(12).reshape(3, 4)  # a reshape of a root is a view of it
    root = t.base
    assert root is not None and root.flags.owndata
    v = t[1:]
    assert v.base is root and v[::2].base is root and v.T.base is root
    r = dv.zeros(3)
    assert r.base is None and r[1:].base is r and r[1:][1:].base is r
    assert r.copy().base is None and r[[0, 1]].base is None
    assert dv.expand_dims(r, 0).base is r and dv.broadcast_to(r, (2, 3)).base is r


# ---- __dlpack__ arguments, producers' exceptions -----------------------------------


@pytest.mark.parametrize("max_version", [(1, 3), [1, 3], (1, 0), (2, 0), np.array([1, 3])])
def test_max_version_is_any_sequence_of_two_ints(max_version):
    cap = dv.arange(3).__dlpack__(max_version=max_version)
    assert "dltensor_versioned" in repr(cap)


@pytest.mark.parametrize("max_version", [(0, 8), [0, 1]])
def test_max_version_below_one_gives_a_legacy_capsule(max_version):
    assert '"dltensor"' in repr(dv.arange(3).__dlpack__(max_version=max_version))


@pytest.mark.parametrize("bad", [(1,), (1, 2, 3), "13", 1, (1.0, 3)])
def test_bad_max_version_is_a_type_error(bad):
    with pytest.raises(TypeError, match="max_version"):
        dv.arange(3).__dlpack__(max_version=bad)


def test_stream_rules():
    t = dv.arange(3)
    with pytest.raises(ValueError, match="stream must be None"):
        t.__dlpack__(stream=np.int64(1))  # an __index__ int: checked, refused on CPU
    with pytest.raises(TypeError, match="stream"):
        t.__dlpack__(stream=True)
    with pytest.raises(TypeError, match="stream"):
        t.__dlpack__(stream="1")


def test_a_producers_own_exceptions_pass_through():
    class Broken:
        def __dlpack__(self, **kwargs):
            raise AttributeError("the producer's own AttributeError")

    with pytest.raises(AttributeError, match="the producer's own"):
        dv.from_dlpack(Broken())

    class Refuses:
        def __dlpack__(self, **kwargs):
            raise BufferError("cannot export this one")

    with pytest.raises(BufferError, match="cannot export this one"):
        dv.from_dlpack(Refuses())
    with pytest.raises(TypeError, match="does not support the DLPack protocol"):
        dv.from_dlpack(object())


def test_requires_grad_tensors_are_refused_like_torch():
    x = torch.ones(3, requires_grad=True)
    with pytest.raises(Exception) as direct:
        x.__dlpack__()
    with pytest.raises(type(direct.value), match="gradient"):
        dv.from_dlpack(x)


SUB_BYTE = {"float4_e2m1fn": (17, 4, 1), "float6_e2m3fn": (15, 6, 1)}
_PACKED = bytearray(8)


def sub_byte(name: str) -> dv.Tensor:
    """A packed sub-byte CPU tensor (dlview cannot create one, only import it)."""
    from fakedevice import device_tensor

    address = (ctypes.c_char * len(_PACKED)).from_buffer(_PACKED)
    return device_tensor(ctypes.addressof(address), (4,), device=(1, 0), dtype=SUB_BYTE[name])


def test_repr_of_every_dtype():
    for dtype in ["bfloat16", "float8_e5m2", "complex64", "bool"]:
        assert repr(dv.zeros(2, dtype)).endswith(f"dtype={dtype})")
    for dtype in SUB_BYTE:
        assert repr(sub_byte(dtype)) == f"Tensor(shape=(4,), dtype={dtype})"


@pytest.mark.thread_unsafe(reason="runs its own threads")
def test_setflags_is_serialised_with_concurrent_use():
    t = dv.zeros(1000)
    errors = []

    def flip():
        for i in range(2000):
            t.setflags(write=bool(i % 2))

    def use():
        try:
            for _ in range(2000):
                dv.from_dlpack(t[::2])
                _ = t.flags.writeable
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=flip)] + [threading.Thread(target=use) for _ in range(3)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert not errors


def test_float4_e2m1fn_x2_round_trips_through_torch_on_the_same_pointer():
    x = torch.zeros(4, 3, dtype=torch.uint8).view(torch.float4_e2m1fn_x2)
    t = dv.from_dlpack(x)
    assert t.dtype == "float4_e2m1fn_x2" and t.shape == (4, 3) and t.itemsize == 1
    assert t.data_ptr == x.data_ptr()
    back = torch.from_dlpack(t)
    assert back.dtype == torch.float4_e2m1fn_x2 and back.data_ptr() == x.data_ptr() and back.shape == x.shape
    view = torch.from_dlpack(t[1:, ::2])  # views keep the element: one byte
    assert view.data_ptr() == x.data_ptr() + 3 and view.stride() == (3, 2)
    assert repr(t) == "Tensor(shape=(4, 3), dtype=float4_e2m1fn_x2)"
    with pytest.raises(BufferError, match="float4_e2m1fn_x2"):
        t.tolist()
    with pytest.raises(BufferError):
        t.astype("float32")
    c = t.copy()  # bytes copied as they are
    assert torch.equal(torch.from_dlpack(c).view(torch.uint8), x.view(torch.uint8))
