"""Loading ``libdlview`` and declaring its C ABI for ``ctypes``.

The library is found through the ``DLVIEW_LIBRARY`` environment variable
(an absolute path), else beside this file (where ``pip install ./python``
puts it), else, in a source checkout, at ``target/release`` next to the
``python/`` directory. Nothing here decides anything about tensors: it
names C functions, their argument types, and which Python exception each
``dlv_status`` becomes (docs/rules.md §8).

Two handles to the same loaded library are kept. ``cdll`` calls release the
GIL (used for calls that may copy many bytes); ``pydll`` calls keep it (the
cheap inspection calls, which are faster that way, and the ``dlv_py_*``
helpers, which require it).
"""

from __future__ import annotations

import ctypes
import os
import sys
from ctypes import (
    POINTER,
    Structure,
    c_bool,
    c_char_p,
    c_double,
    c_int,
    c_int32,
    c_int64,
    c_size_t,
    c_ssize_t,
    c_uint8,
    c_uint16,
    c_uint32,
    c_uint64,
    c_void_p,
    py_object,
)
from pathlib import Path
from typing import NoReturn

__all__ = [
    "DLDataType",
    "DLDevice",
    "ImportOptions",
    "ExportOptions",
    "Index",
    "cdll",
    "pydll",
    "library_path",
    "check",
    "raise_status",
]


class DLDataType(Structure):
    """DLPack ``DLDataType``: type code, bits per lane, lanes."""

    _fields_ = [("code", c_uint8), ("bits", c_uint8), ("lanes", c_uint16)]


class DLDevice(Structure):
    """DLPack ``DLDevice``: device type and index."""

    _fields_ = [("device_type", c_int32), ("device_id", c_int32)]


class ImportOptions(Structure):
    """``dlv_import_options``."""

    _fields_ = [("copy", c_uint32), ("trust_legacy_writeable", c_bool)]


class Index(Structure):
    """``dlv_index``: one item of an indexing key."""

    _fields_ = [
        ("kind", c_uint32),
        ("i", c_int64),
        ("start", c_int64),
        ("stop", c_int64),
        ("step", c_int64),
        ("tensor", c_void_p),
    ]


class ExportOptions(Structure):
    """``dlv_export_options``."""

    _fields_ = [("copy", c_uint32), ("allow_negative_strides", c_bool)]


# dlv_status values (include/dlview.h).
OK = 0
ERR_NULL_ARGUMENT = 1
ERR_INVALID_ARGUMENT = 2
ERR_INDEX = 3
ERR_READ_ONLY = 4
ERR_COPY_REQUIRED = 5
ERR_UNSUPPORTED_DTYPE = 6
ERR_UNSUPPORTED_DEVICE = 7
ERR_VERSION = 8
ERR_OUT_OF_MEMORY = 9
ERR_IO = 10
ERR_FORMAT = 11
ERR_DEVICE_UNAVAILABLE = 12
ERR_PANIC = 99

# dlv_copy_mode, dlv_order, flags.
COPY_IF_NEEDED = 0
COPY_NEVER = 1
COPY_ALWAYS = 2
ORDER_C = 0
ORDER_F = 1
ORDER_K = 2
FLAG_WRITEABLE = 1
FLAG_C_CONTIGUOUS = 2
FLAG_F_CONTIGUOUS = 4
FLAG_OWNDATA = 8
FLAG_ALIGNED = 16
NONE = -(2**63)  # DLV_NONE: an omitted slice bound
ALL_AXES = -(2**31)  # DLV_ALL_AXES
# dlv_index.kind.
INDEX_INT = 0
INDEX_SLICE = 1
INDEX_NEW_AXIS = 2
INDEX_ELLIPSIS = 3
INDEX_TENSOR = 4
KDLCPU = 1
KDLCUDA = 2
KDLCUDAHOST = 3
KDLCUDAMANAGED = 13
#: Device types whose DLPack exchanges carry a CUDA stream (docs/rules.md §6).
CUDA_STREAM_DEVICES = frozenset((KDLCUDA, KDLCUDAHOST, KDLCUDAMANAGED))

#: docs/rules.md §8: which built-in exception each status raises.
EXCEPTIONS: dict[int, type[Exception]] = {
    ERR_NULL_ARGUMENT: ValueError,
    ERR_INVALID_ARGUMENT: ValueError,
    ERR_INDEX: IndexError,
    ERR_READ_ONLY: ValueError,
    ERR_COPY_REQUIRED: BufferError,
    ERR_UNSUPPORTED_DTYPE: BufferError,
    ERR_UNSUPPORTED_DEVICE: BufferError,
    ERR_VERSION: BufferError,
    ERR_OUT_OF_MEMORY: MemoryError,
    ERR_IO: OSError,
    ERR_FORMAT: ValueError,
    ERR_DEVICE_UNAVAILABLE: RuntimeError,
    ERR_PANIC: RuntimeError,
}


def _library_name() -> str:
    if sys.platform == "darwin":
        return "libdlview.dylib"
    if sys.platform == "win32":
        return "dlview.dll"
    return "libdlview.so"


def _find_library() -> str:
    env = os.environ.get("DLVIEW_LIBRARY")
    if env:
        return env
    here = Path(__file__).resolve().parent
    name = _library_name()
    candidates = [
        here / name,  # an installed package may ship the library beside it
        here.parent.parent / "target" / "release" / name,  # source checkout
    ]
    for c in candidates:
        if c.exists():
            return str(c)
    raise ImportError(
        f"dlview: cannot find {name}; build it with `make` (or `cargo build --release`) "
        f"or set DLVIEW_LIBRARY to its path (looked in: {', '.join(map(str, candidates))})"
    )


library_path: str = _find_library()
cdll = ctypes.CDLL(library_path)
pydll = ctypes.PyDLL(library_path)

_T = c_void_p  # dlv_tensor*
_OUT = POINTER(c_void_p)  # dlv_tensor**
_I64P = POINTER(c_int64)


def _declare(lib: ctypes.CDLL, name: str, restype: object, *argtypes: object) -> None:
    f = getattr(lib, name)
    f.restype = restype
    f.argtypes = list(argtypes)


# Cheap calls: keep the GIL (ctypes.PyDLL), which is about twice as fast.
for _name, _res, _args in [
    ("dlv_version", c_char_p, ()),
    ("dlv_last_error", c_char_p, ()),
    ("dlv_status_name", c_char_p, (c_uint32,)),
    ("dlv_live_storage_count", c_uint64, ()),
    ("dlv_set_num_threads", c_int, (c_int32,)),
    ("dlv_get_num_threads", c_int32, ()),
    ("dlv_dtype_name", c_char_p, (DLDataType,)),
    ("dlv_dtype_format", c_char_p, (DLDataType,)),
    ("dlv_dtype_from_name", c_int, (c_char_p, POINTER(DLDataType))),
    ("dlv_device_name", c_size_t, (DLDevice, ctypes.c_char_p, c_size_t)),
    ("dlv_device_from_name", c_int, (c_char_p, POINTER(DLDevice))),
    ("dlv_tensor_retain", c_int, (_T, _OUT)),
    ("dlv_tensor_free", None, (_T,)),
    ("dlv_tensor_ndim", c_int32, (_T,)),
    ("dlv_tensor_shape", _I64P, (_T,)),
    ("dlv_tensor_strides", _I64P, (_T,)),
    ("dlv_tensor_dtype", DLDataType, (_T,)),
    ("dlv_tensor_device", DLDevice, (_T,)),
    ("dlv_tensor_size", c_int64, (_T,)),
    ("dlv_tensor_nbytes", c_uint64, (_T,)),
    ("dlv_tensor_flags", c_uint32, (_T,)),
    ("dlv_tensor_data", c_void_p, (_T,)),
    ("dlv_tensor_data_mut", c_int, (_T, POINTER(c_void_p))),
    ("dlv_tensor_set_writeable", c_int, (_T, c_bool)),
    ("dlv_tensor_get_f64", c_int, (_T, _I64P, POINTER(c_double))),
    ("dlv_tensor_set_f64", c_int, (_T, _I64P, c_double)),
    ("dlv_tensor_describe", c_size_t, (_T, ctypes.c_char_p, c_size_t)),
    ("dlv_tensor_base", c_int, (_T, _OUT)),
    ("dlv_shares_memory", c_bool, (_T, _T)),
    ("dlv_may_share_memory", c_bool, (_T, _T)),
    ("dlv_tensor_slice", c_int, (_T, c_int32, c_int64, c_int64, c_int64, _OUT)),
    ("dlv_tensor_select", c_int, (_T, c_int32, c_int64, _OUT)),
    ("dlv_tensor_permute", c_int, (_T, POINTER(c_int32), _OUT)),
    ("dlv_tensor_transpose", c_int, (_T, _OUT)),
    ("dlv_tensor_flip", c_int, (_T, c_int32, _OUT)),
    ("dlv_tensor_squeeze", c_int, (_T, c_int32, _OUT)),
    ("dlv_tensor_expand_dims", c_int, (_T, c_int32, _OUT)),
    ("dlv_tensor_broadcast_to", c_int, (_T, c_int32, _I64P, _OUT)),
    ("dlv_tensor_as_strided", c_int, (_T, c_int32, _I64P, _I64P, _OUT)),
    ("dlv_tensor_sliding_window", c_int, (_T, c_int32, c_int64, _OUT)),
    (
        "dlv_tensor_from_buffer",
        c_int,
        (c_void_p, DLDataType, DLDevice, c_int32, _I64P, _I64P, c_bool, c_void_p, c_void_p, _OUT),
    ),
]:
    _declare(pydll, _name, _res, *_args)

# Calls that may allocate and copy many bytes: release the GIL (ctypes.CDLL).
for _name, _res, _args in [
    ("dlv_tensor_empty", c_int, (DLDataType, c_int32, _I64P, c_uint32, _OUT)),
    ("dlv_tensor_zeros", c_int, (DLDataType, c_int32, _I64P, c_uint32, _OUT)),
    ("dlv_tensor_reshape", c_int, (_T, c_int32, _I64P, c_uint32, _OUT)),
    ("dlv_tensor_copy", c_int, (_T, c_uint32, _OUT)),
    ("dlv_tensor_astype", c_int, (_T, DLDataType, c_uint32, _OUT)),
]:
    _declare(cdll, _name, _res, *_args)


def has(name: str) -> bool:
    """Whether the loaded library exports ``name`` (for calls that landed later)."""
    try:
        getattr(cdll, name)
    except AttributeError:
        return False
    return True


for _name, _res, _args in [
    ("dlv_tensor_copy_into", c_int, (_T, _T)),
    ("dlv_tensor_take", c_int, (_T, c_int32, _I64P, c_int64, _OUT)),
    ("dlv_tensor_index", c_int, (_T, POINTER(Index), c_int32, _OUT)),
    ("dlv_tensor_index_put", c_int, (_T, POINTER(Index), c_int32, _T)),
    ("dlv_npy_load", c_int, (c_char_p, c_uint32, _OUT)),
    ("dlv_npy_save", c_int, (_T, c_char_p)),
    ("dlv_memmap", c_int, (c_char_p, DLDataType, c_uint32, c_uint64, c_int32, _I64P, c_uint32, _OUT)),
    ("dlv_tensor_flush", c_int, (_T,)),
]:
    _declare(cdll, _name, _res, *_args)

#: The CUDA calls (absent from libraries built before them).
HAS_CUDA = has("dlv_tensor_to_device")
if HAS_CUDA:
    for _name, _res, _args in [
        ("dlv_tensor_empty_on", c_int, (DLDataType, c_int32, _I64P, c_uint32, DLDevice, _OUT)),
        ("dlv_tensor_zeros_on", c_int, (DLDataType, c_int32, _I64P, c_uint32, DLDevice, _OUT)),
        ("dlv_tensor_to_device", c_int, (_T, DLDevice, c_uint32, _OUT)),
        ("dlv_cuda_synchronize", c_int, (c_int32,)),
    ]:
        _declare(cdll, _name, _res, *_args)
    for _name, _res, _args in [
        ("dlv_cuda_device_count", c_int, (POINTER(c_int32),)),
        ("dlv_cuda_available", c_bool, ()),
        ("dlv_cuda_stream_wait", c_int, (DLDevice, c_int64)),
        ("dlv_cuda_mem_get_info", c_int, (c_int32, POINTER(c_uint64), POINTER(c_uint64))),
    ]:
        _declare(pydll, _name, _res, *_args)

# dlv_mmap_mode.
MMAP_NONE = 0
MMAP_READ = 1
MMAP_READ_WRITE = 2
MMAP_COPY_ON_WRITE = 3
MMAP_CREATE = 4

HAS_DLPACK = has("dlv_py_tensor_to_capsule")
if HAS_DLPACK:
    # GIL required: they call the CPython C API.
    _declare(pydll, "dlv_py_tensor_to_capsule", c_int, _T, POINTER(ExportOptions), c_bool, POINTER(c_void_p))
    _declare(pydll, "dlv_py_tensor_from_capsule", c_int, py_object, POINTER(ImportOptions), _OUT)

#: Address of the release callback for memory owned by a Python object.
RELEASE_OBJECT: int = ctypes.cast(cdll.dlv_py_release_object, c_void_p).value or 0

_last_error = pydll.dlv_last_error


def raise_status(status: int) -> NoReturn:
    """Raises the exception docs/rules.md §8 maps ``status`` to, with the library's message."""
    raw = _last_error()
    message = raw.decode("utf-8", "replace") if raw else ""
    exc = EXCEPTIONS.get(status, RuntimeError)
    if not message:
        name = pydll.dlv_status_name(status)
        message = name.decode() if name else f"dlview status {status}"
    raise exc(message)


def check(status: int) -> None:
    """Raises for a failed ``dlv_status``; returns for ``DLV_OK``."""
    if status:
        raise_status(status)


# Python C API used by the ctypes path for buffer-protocol imports.
class PyBuffer(Structure):
    """CPython's ``Py_buffer`` (stable layout since 3.0; in the limited API since 3.11)."""

    _fields_ = [
        ("buf", c_void_p),
        ("obj", c_void_p),
        ("len", c_ssize_t),
        ("itemsize", c_ssize_t),
        ("readonly", c_int),
        ("ndim", c_int),
        ("format", c_char_p),
        ("shape", POINTER(c_ssize_t)),
        ("strides", POINTER(c_ssize_t)),
        ("suboffsets", POINTER(c_ssize_t)),
        ("internal", c_void_p),
    ]


PyBUF_RECORDS_RO = 0x0010 | 0x0008 | 0x0004  # STRIDES | ND | FORMAT, not WRITABLE
_pyapi = ctypes.pythonapi
_pyapi.PyObject_GetBuffer.argtypes = [py_object, POINTER(PyBuffer), c_int]
_pyapi.PyObject_GetBuffer.restype = c_int
_pyapi.PyBuffer_Release.argtypes = [POINTER(PyBuffer)]
_pyapi.PyBuffer_Release.restype = None
_pyapi.Py_IncRef.argtypes = [py_object]
_pyapi.Py_IncRef.restype = None
_pyapi.Py_DecRef.argtypes = [py_object]
_pyapi.Py_DecRef.restype = None
_pyapi.PyCapsule_IsValid.argtypes = [py_object, c_char_p]
_pyapi.PyCapsule_IsValid.restype = c_int
pyapi = _pyapi
