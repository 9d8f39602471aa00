"""Element type and device names, converted by the library's own tables.

A dtype is spelled as a string in Python (``"float32"``, ``"bfloat16"``,
``"float8_e4m3fn"``). Anything with a recognisable name is accepted where a
dtype is expected: NumPy dtypes and scalar types, ``torch.float32``,
``jax.numpy.float32`` and the Python types ``bool``, ``int``, ``float``,
``complex``. The name lookup itself is ``dlv_dtype_from_name``.
"""

from __future__ import annotations

import ctypes
from typing import Any, Union

from . import _lib
from ._lib import DLDataType, DLDevice, pydll

__all__ = ["DTypeLike", "DeviceLike", "dtype_struct", "dtype_name", "device_name", "device_struct"]

#: What functions taking a ``dtype`` accept.
DTypeLike = Union[str, type, Any]
#: What functions taking a ``device`` accept: a name (``"cpu"``, ``"cuda:0"``)
#: or a DLPack ``(device_type, device_id)`` pair.
DeviceLike = Union[str, "tuple[int, int]", Any]

_PY_TYPES = {bool: "bool", int: "int64", float: "float64", complex: "complex128"}
_by_name: dict[str, tuple[int, int]] = {}
_names: dict[tuple[int, int], str] = {}


def _spelling(dtype: DTypeLike) -> str:
    if isinstance(dtype, str):
        return dtype
    if dtype in _PY_TYPES:
        return _PY_TYPES[dtype]
    name = getattr(dtype, "name", None)  # numpy.dtype, ml_dtypes
    if isinstance(name, str):
        return name
    name = getattr(dtype, "__name__", None)  # numpy.float32, jnp.bfloat16
    if isinstance(name, str):
        return name
    text = str(dtype)  # torch.float32
    return text[len("torch.") :] if text.startswith("torch.") else text


def _c_string(text: str, what: str) -> bytes:
    """``text`` as a C string; a NUL byte would end it early (ctypes passes
    ``b"float32\\0junk"`` as ``"float32"``), so it is refused, as the
    library refuses it from Rust (docs/rules.md §7)."""
    if "\0" in text:
        raise ValueError(f"{what} {text!r} contains a NUL byte")
    return text.encode()


def dtype_struct(dtype: DTypeLike) -> DLDataType:
    """The DLPack ``DLDataType`` of a dtype name or dtype-like object."""
    spelling = _spelling(dtype)
    key = _by_name.get(spelling)
    if key is None:
        out = DLDataType()
        _lib.check(pydll.dlv_dtype_from_name(_c_string(spelling, "dtype name"), ctypes.byref(out)))
        key = _by_name[spelling] = (out.code, out.bits)
    return DLDataType(key[0], key[1], 1)


def dtype_name(dt: DLDataType) -> str:
    """The canonical name of a DLPack dtype (``"float32"``)."""
    key = (dt.code, dt.bits)
    name = _names.get(key)
    if name is None:
        raw = pydll.dlv_dtype_name(dt)
        if not raw:
            raise BufferError(f"unsupported dtype (code {dt.code}, bits {dt.bits}, lanes {dt.lanes})")
        name = _names[key] = raw.decode()
    return name


def normalize_dtype(dtype: DTypeLike) -> str:
    """The canonical name of any dtype-like object."""
    return dtype_name(dtype_struct(dtype))


def device_name(dev: DLDevice) -> str:
    """``"cpu"``, ``"cuda:0"``, ... for a DLPack device."""
    buf = ctypes.create_string_buffer(64)
    n = pydll.dlv_device_name(dev, buf, len(buf))
    if n >= len(buf):
        buf = ctypes.create_string_buffer(n + 1)
        pydll.dlv_device_name(dev, buf, len(buf))
    return buf.value.decode()


def device_struct(device: DeviceLike) -> DLDevice:
    """The DLPack device of a name, a ``(type, id)`` pair or an object with
    ``__dlpack_device__`` / a ``type``+``index`` (``torch.device``)."""
    if isinstance(device, DLDevice):
        return device
    if isinstance(device, tuple) and len(device) == 2:
        return DLDevice(int(device[0]), int(device[1]))
    if not isinstance(device, str):
        kind = getattr(device, "type", None)
        if isinstance(kind, str):  # torch.device
            index = getattr(device, "index", None)
            device = kind if index is None else f"{kind}:{index}"
        else:
            platform = getattr(device, "platform", None)  # jax Device
            if isinstance(platform, str):
                device = platform if platform == "cpu" else f"{platform}:{getattr(device, 'id', 0)}"
            else:
                device = str(device)
    out = DLDevice()
    _lib.check(pydll.dlv_device_from_name(_c_string(device, "device name"), ctypes.byref(out)))
    return out
