"""``__dlpack__``/``__dlpack_device__``/``from_dlpack`` exactly per RULES.md §6:
version negotiation, copy policy, devices, streams, capsule names, the
fields of the exported struct, and the error each refusal raises."""

from __future__ import annotations

import ctypes

import numpy as np
import pytest
import torch

import dlview as dv

# ---- reading a capsule's DLManagedTensorVersioned -------------------------------------------


class DLDevice(ctypes.Structure):
    _fields_ = [("device_type", ctypes.c_int32), ("device_id", ctypes.c_int32)]


class DLDataType(ctypes.Structure):
    _fields_ = [("code", ctypes.c_uint8), ("bits", ctypes.c_uint8), ("lanes", ctypes.c_uint16)]


class DLTensor(ctypes.Structure):
    _fields_ = [
        ("data", ctypes.c_void_p),
        ("device", DLDevice),
        ("ndim", ctypes.c_int32),
        ("dtype", DLDataType),
        ("shape", ctypes.POINTER(ctypes.c_int64)),
        ("strides", ctypes.POINTER(ctypes.c_int64)),
        ("byte_offset", ctypes.c_uint64),
    ]


class DLManagedTensorVersioned(ctypes.Structure):
    _fields_ = [
        ("major", ctypes.c_uint32),
        ("minor", ctypes.c_uint32),
        ("manager_ctx", ctypes.c_void_p),
        ("deleter", ctypes.c_void_p),
        ("flags", ctypes.c_uint64),
        ("dl_tensor", DLTensor),
    ]


class DLManagedTensor(ctypes.Structure):
    _fields_ = [("dl_tensor", DLTensor), ("manager_ctx", ctypes.c_void_p), ("deleter", ctypes.c_void_p)]


READ_ONLY, IS_COPIED = 1, 2
_get = ctypes.pythonapi.PyCapsule_GetPointer
_get.restype = ctypes.c_void_p
_get.argtypes = [ctypes.py_object, ctypes.c_char_p]
_new = ctypes.pythonapi.PyCapsule_New
_new.restype = ctypes.py_object
_new.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_void_p]


def versioned(cap) -> DLManagedTensorVersioned:
    return DLManagedTensorVersioned.from_address(_get(cap, b"dltensor_versioned"))


def legacy(cap) -> DLManagedTensor:
    return DLManagedTensor.from_address(_get(cap, b"dltensor"))


def fields(dl: DLTensor) -> tuple:
    n = dl.ndim
    return tuple(dl.shape[:n]), tuple(dl.strides[:n]) if n else ()


# ---- version negotiation ---------------------------------------------------------------


@pytest.mark.parametrize(
    "max_version,name",
    [(None, "dltensor"), ((0, 8), "dltensor"), ((1, 0), "dltensor_versioned"), ((1, 3), "dltensor_versioned"), ((2, 1), "dltensor_versioned")],
)
def test_max_version_picks_the_capsule(max_version, name):
    t = dv.arange(4, dtype="int32")
    cap = t.__dlpack__(max_version=max_version)
    assert f'"{name}"' in repr(cap)


def test_bad_max_version():
    with pytest.raises(TypeError, match="max_version"):
        dv.zeros(2).__dlpack__(max_version=1)


def test_versioned_struct_fields():
    t = dv.arange(24, dtype="float32").reshape(2, 3, 4)[:, 1:, ::2]
    cap = t.__dlpack__(max_version=(1, 0))
    mt = versioned(cap)
    assert (mt.major, mt.minor) == (1, 3)
    assert mt.flags == 0  # writeable, shared
    dl = mt.dl_tensor
    assert dl.data == t.data_ptr and dl.byte_offset == 0
    assert (dl.device.device_type, dl.device.device_id) == (1, 0)
    assert (dl.dtype.code, dl.dtype.bits, dl.dtype.lanes) == (2, 32, 1)
    assert fields(dl) == ((2, 2, 2), (12, 4, 2))

    # (Each capsule is kept in a variable: the struct dies with it.)
    ro = t.copy()
    ro.setflags(write=False)
    c1 = ro.__dlpack__(max_version=(1, 0))
    assert versioned(c1).flags == READ_ONLY
    c2 = t.__dlpack__(max_version=(1, 0), copy=True)
    assert versioned(c2).flags == IS_COPIED
    c3 = t[:, ::-1].__dlpack__(max_version=(1, 0))
    neg = versioned(c3)
    assert neg.flags == IS_COPIED and all(s > 0 for s in fields(neg.dl_tensor)[1])
    c4 = dv.zeros((0, 3)).__dlpack__(max_version=(1, 0))
    assert versioned(c4).dl_tensor.data is None
    c5 = dv.broadcast_to(dv.zeros(3), (2, 3)).__dlpack__(max_version=(1, 0))
    zero = versioned(c5)
    assert zero.flags == READ_ONLY and fields(zero.dl_tensor)[1] == (0, 1)


def test_legacy_struct_and_read_only_rules():
    t = dv.arange(6, dtype="int64")
    cap = t.__dlpack__()
    assert legacy(cap).dl_tensor.data == t.data_ptr
    ro = t[::2]
    ro.setflags(write=False)
    with pytest.raises(BufferError, match="read-only"):
        ro.__dlpack__(copy=False)
    cap = ro.__dlpack__()  # copy=None: a writeable copy
    assert legacy(cap).dl_tensor.data != ro.data_ptr
    x = torch.from_dlpack(ro)  # torch asks for a versioned capsule: shared
    assert x.data_ptr() == ro.data_ptr


def test_legacy_read_only_export_is_a_writeable_copy():
    ro = dv.arange(4, dtype="float64")
    ro.setflags(write=False)

    class LegacyOnly:
        def __dlpack_device__(self):
            return ro.__dlpack_device__()

        def __dlpack__(self, **kwargs):
            return ro.__dlpack__()

    a = np.from_dlpack(LegacyOnly())
    assert a.ctypes.data != ro.data_ptr and a.tolist() == ro.tolist()
    assert not a.flags.writeable  # NumPy 2.4's own choice for legacy capsules
    x = torch.from_dlpack(LegacyOnly())  # PyTorch writes: the copy is writeable memory
    assert x.data_ptr() != ro.data_ptr
    x[0] = 9.0
    assert ro[0].item() == 0.0


# ---- copy policy ---------------------------------------------------------------------------


def test_copy_argument():
    t = dv.arange(6, dtype="float32")
    assert torch.from_dlpack(t, copy=False).data_ptr() == t.data_ptr
    x = torch.from_dlpack(t, copy=True)
    assert x.data_ptr() != t.data_ptr and x.tolist() == t.tolist()
    neg = t[::-1]
    with pytest.raises(BufferError, match="cannot share: negative strides"):
        neg.__dlpack__(max_version=(1, 0), copy=False)
    assert versioned(neg.__dlpack__(max_version=(1, 0), copy=None)).flags == IS_COPIED


def test_from_dlpack_copy_argument():
    a = np.arange(5.0)
    assert dv.from_dlpack(a, copy=False).data_ptr == a.ctypes.data
    c = dv.from_dlpack(a, copy=True)
    assert c.data_ptr != a.ctypes.data and c.tolist() == a.tolist() and c.flags.writeable
    ro = a.copy()
    ro.flags.writeable = False
    assert not dv.from_dlpack(ro).flags.writeable
    assert dv.from_dlpack(ro, copy=True).flags.writeable


# ---- devices and streams ---------------------------------------------------------------


def test_dlpack_device_and_dl_device():
    t = dv.arange(3, dtype="float32")
    assert t.__dlpack_device__() == (1, 0)
    assert t.device == "cpu"
    assert "dltensor" in repr(t.__dlpack__(dl_device=(1, 0)))
    with pytest.raises(BufferError, match="cannot copy a tensor from cpu to cuda:0"):
        t.__dlpack__(dl_device=(2, 0))
    with pytest.raises(BufferError, match="cannot share"):
        t.__dlpack__(dl_device=(2, 0), copy=False)
    assert dv.from_dlpack(np.arange(3), device="cpu").device == "cpu"
    with pytest.raises(BufferError):
        dv.from_dlpack(np.arange(3), device="cuda:0")


def test_stream_must_be_none_on_cpu():
    t = dv.arange(3)
    t.__dlpack__(stream=None)
    for stream in (0, 1, -1):
        with pytest.raises(ValueError, match="stream must be None"):
            t.__dlpack__(stream=stream)


# ---- from_dlpack: retries, names, foreign objects -------------------------------------------


def test_from_dlpack_retries_without_arguments():
    a = np.arange(6.0)
    calls = []

    class Old:
        def __dlpack_device__(self):
            return (1, 0)

        def __dlpack__(self):  # a pre-2023 producer: no keyword arguments
            calls.append("plain")
            return a.__dlpack__()

    t = dv.from_dlpack(Old())
    assert calls == ["plain"]
    assert t.data_ptr == a.ctypes.data
    assert not t.flags.writeable  # legacy: read-only by default (RULES §5)
    c = dv.from_dlpack(Old(), copy=True)  # the producer could not copy: dlview does
    assert c.data_ptr != a.ctypes.data and c.flags.writeable


def test_from_dlpack_checks_the_capsule_name_itself():
    a = np.arange(3.0)

    class IgnoresVersion:
        def __dlpack__(self, **kwargs):
            return a.__dlpack__()  # asked for versioned, returns legacy

    assert dv.from_dlpack(IgnoresVersion()).tolist() == [0.0, 1.0, 2.0]


def test_from_dlpack_rejects_wrong_objects():
    buf = ctypes.create_string_buffer(8)
    wrong = _new(ctypes.addressof(buf), b"not_dltensor", None)
    with pytest.raises(ValueError, match='got one named "not_dltensor"'):
        dv.from_dlpack(wrong)

    class Liar:
        def __dlpack__(self, **kwargs):
            return 42

    with pytest.raises(ValueError, match="expected a DLPack capsule"):
        dv.from_dlpack(Liar())
    with pytest.raises(TypeError, match="__dlpack__"):
        dv.from_dlpack([1, 2, 3])


def test_import_of_unsupported_version_and_dtype():
    x = torch.arange(4, dtype=torch.float32)
    cap = x.__dlpack__(max_version=(1, 0))
    versioned(cap).major = 2  # a future ABI: the deleter runs, nothing else is read
    with pytest.raises(BufferError, match="unsupported DLPack version 2"):
        dv.from_dlpack(cap)
    assert '"used_dltensor_versioned"' in repr(cap)
    cap = x.__dlpack__(max_version=(1, 0))
    versioned(cap).dl_tensor.dtype.lanes = 4
    with pytest.raises(BufferError, match="lanes"):
        dv.from_dlpack(cap)
    assert x.tolist() == [0.0, 1.0, 2.0, 3.0]


def test_errors_map_to_builtin_exceptions():
    t = dv.zeros((2, 3))
    with pytest.raises(IndexError, match="index 3 is out of bounds for axis 1 with size 3"):
        t[:, 3]
    with pytest.raises(ValueError, match="axis"):
        t.squeeze(5)
    with pytest.raises(BufferError, match="cannot share"):
        t.T.reshape(6, copy=False)
    with pytest.raises(BufferError, match="unknown dtype"):
        t.astype("float3")
    with pytest.raises(ValueError, match="order"):
        t.copy("Z")
    with pytest.raises(MemoryError, match="out of memory"):
        dv.empty((2**45,), dtype="uint8")
    with pytest.raises(ValueError, match="do not fit in memory"):
        dv.empty((2**40, 2**20), dtype="float64")


class CountingProducer:
    """A CPU producer that counts device queries and records __dlpack__'s
    arguments; ``is_cuda`` is set like a torch tensor's, or left out."""

    def __init__(self, inner, is_cuda=None):
        self.inner, self.device_queries, self.kwargs = inner, 0, None
        if is_cuda is not None:
            self.is_cuda = is_cuda

    def __dlpack_device__(self):
        self.device_queries += 1
        return (1, 0)

    def __dlpack__(self, **kwargs):
        self.kwargs = kwargs
        return self.inner.__dlpack__(**kwargs)


def test_from_dlpack_skips_the_device_query_only_for_known_host_producers():
    a = np.arange(6, dtype=np.float32)
    host = CountingProducer(a, is_cuda=False)  # a torch CPU tensor says so
    t = dv.from_dlpack(host)
    assert host.device_queries == 0 and "stream" not in host.kwargs
    assert t.data_ptr == a.ctypes.data
    # Anything else is asked where its memory is: CUDA producers get a stream.
    for producer in (CountingProducer(a), CountingProducer(a, is_cuda=True)):
        dv.from_dlpack(producer)
        assert producer.device_queries == 1 and "stream" not in producer.kwargs
    # An explicit device always needs the producer's own answer.
    asked = CountingProducer(a, is_cuda=False)
    dv.from_dlpack(asked, device="cpu")
    assert asked.device_queries == 1
    # And the real ones: torch CPU tensors and NumPy arrays share as before.
    x = torch.arange(6.0)
    assert dv.from_dlpack(x).data_ptr == x.data_ptr()
    assert dv.from_dlpack(a).data_ptr == a.ctypes.data
