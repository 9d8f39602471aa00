"""Device tensors at addresses nobody may read, for the GPU-less CUDA tests.

``device_tensor`` builds a DLPack capsule with ctypes around an address
and imports it: its deleter is NULL (the memory belongs to nobody), so
dlview never touches or frees it, and any operation that would read it
must refuse.
"""

from __future__ import annotations

import ctypes
from ctypes import POINTER, Structure, c_char_p, c_int32, c_int64, c_uint8, c_uint16, c_uint32, c_uint64, c_void_p

import dlview as dv


class DLDevice(Structure):
    _fields_ = [("device_type", c_int32), ("device_id", c_int32)]


class DLDataType(Structure):
    _fields_ = [("code", c_uint8), ("bits", c_uint8), ("lanes", c_uint16)]


class DLTensor(Structure):
    _fields_ = [
        ("data", c_void_p),
        ("device", DLDevice),
        ("ndim", c_int32),
        ("dtype", DLDataType),
        ("shape", POINTER(c_int64)),
        ("strides", POINTER(c_int64)),
        ("byte_offset", c_uint64),
    ]


class DLPackVersion(Structure):
    _fields_ = [("major", c_uint32), ("minor", c_uint32)]


class DLManagedTensorVersioned(Structure):
    _fields_ = [
        ("version", DLPackVersion),
        ("manager_ctx", c_void_p),
        ("deleter", c_void_p),
        ("flags", c_uint64),
        ("dl_tensor", DLTensor),
    ]


_NAME = ctypes.create_string_buffer(b"dltensor_versioned")
_capsule_new = ctypes.pythonapi.PyCapsule_New
_capsule_new.restype = ctypes.py_object
_capsule_new.argtypes = [c_void_p, c_char_p, c_void_p]
#: The structs stay alive for the process: no deleter will ever free them.
_KEEP: list[object] = []


def device_tensor(
    address: int, shape: tuple[int, ...], device: tuple[int, int] = (2, 0), dtype: tuple[int, int, int] = (2, 32, 1)
) -> dv.Tensor:
    """A C-contiguous tensor of ``shape`` and DLPack ``dtype`` (float32 by
    default) at ``address`` on ``device``."""
    n = len(shape)
    dims = (c_int64 * n)(*shape)
    strides = (c_int64 * n)()
    step = 1
    for axis in reversed(range(n)):
        strides[axis] = step
        step *= shape[axis]
    mt = DLManagedTensorVersioned(
        DLPackVersion(1, 3), None, None, 0, DLTensor(address, DLDevice(*device), n, DLDataType(*dtype), dims, strides, 0)
    )
    _KEEP.append((mt, dims, strides))
    return dv.from_dlpack(_capsule_new(ctypes.addressof(mt), ctypes.cast(_NAME, c_char_p), None))
