"""Making tensors: ``asarray`` (DLPack objects, capsules, buffer-protocol
objects, nested sequences), ``empty``, ``zeros``, ``arange``.

Buffer-protocol objects are wrapped zero-copy with ``dlv_tensor_from_buffer``:
a private ``memoryview`` of the exporter is kept alive by the tensor's
storage, whose release callback is the library's ``dlv_py_release_object``
(it drops the reference under the GIL, on whatever thread the last view
dies). Nested sequences are packed by Python's ``array`` module and copied
into a new tensor by the library.
"""

from __future__ import annotations

import array
import ctypes
import numbers
from ctypes import byref
from typing import Any, Sequence

from . import _lib
from ._dlpack import from_dlpack
from ._dtypes import DeviceLike, DTypeLike, device_struct, dtype_struct, normalize_dtype
from ._lib import DLDevice, PyBuffer, cdll, pyapi, pydll
from ._tensor import Tensor, _i64_array, _order, _shape_arg, copy_into, derive

__all__ = ["asarray", "empty", "zeros", "arange"]

#: struct-module format characters of native-layout buffers: kind and size.
_SIGNED = frozenset("bhilqn")
_UNSIGNED = frozenset("BHILQNc")
_FLOATS = frozenset("efd")


def _new(fn: str, shape: Any, dtype: DTypeLike, order: str, device: "DeviceLike | None") -> Tensor:
    dims = _shape_arg(shape)
    args = (dtype_struct(dtype), len(dims), _i64_array(dims), _order(order))
    if device is not None:
        dev = device_struct(device)
        if dev.device_type != _lib.KDLCPU or dev.device_id != 0:
            return derive(getattr(cdll, fn + "_on"), *args, dev)
    return derive(getattr(cdll, fn), *args)


def empty(shape: Any, dtype: DTypeLike = "float32", order: str = "C", *, device: "DeviceLike | None" = None) -> Tensor:
    """A new writeable tensor of ``shape``; contents unspecified. ``device``:
    ``"cpu"`` (the default), ``"cuda:N"`` (device memory), ``"cuda_host"``
    (pinned host memory), ``"cuda_managed:N"``, or a DLPack ``(type, id)``
    pair; CUDA needs a driver (``RuntimeError`` without one)."""
    return _new("dlv_tensor_empty", shape, dtype, order, device)


def zeros(shape: Any, dtype: DTypeLike = "float32", order: str = "C", *, device: "DeviceLike | None" = None) -> Tensor:
    """A new writeable tensor of ``shape`` filled with zeros, on ``device``
    (as in :func:`empty`)."""
    return _new("dlv_tensor_zeros", shape, dtype, order, device)


def arange(start: Any, stop: Any = None, step: Any = 1, dtype: "DTypeLike | None" = None) -> Tensor:
    """Evenly spaced values in ``[start, stop)``, as ``numpy.arange``
    (``arange(n)`` is ``0, 1, ..., n-1``)."""
    if stop is None:
        start, stop = 0, start
    if step == 0:
        raise ValueError("arange: step must not be zero")
    if all(isinstance(v, numbers.Integral) for v in (start, stop, step)):
        r: Any = range(int(start), int(stop), int(step))
        n = len(r)
        code, natural = "q", "int64"
    else:
        import math

        n = max(0, math.ceil((stop - start) / step))
        r = _FloatRange(start, step)
        code, natural = "d", "float64"
    # The size is known before any value is made: allocate first, so a size
    # that cannot be had fails at once (MemoryError from the library's
    # OUT_OF_MEMORY, or ValueError past NumPy's limits) instead of building
    # the values in Python for minutes first (issue 15). Then fill it in
    # chunks, so no second full-size buffer is ever needed.
    t = empty((n,), natural)
    for lo in range(0, n, _ARANGE_CHUNK):
        hi = min(n, lo + _ARANGE_CHUNK)
        values = array.array(code, r[lo:hi])
        data, _ = values.buffer_info()
        copy_into(t[lo:hi], _wrap_memory(values, data, natural, (hi - lo,), None, False))
    return t if dtype is None or normalize_dtype(dtype) == natural else t.astype(dtype)


_ARANGE_CHUNK = 1 << 16


class _FloatRange:
    """``start + i * step`` for the indices of a slice, as arange computes them."""

    __slots__ = ("start", "step")

    def __init__(self, start: Any, step: Any) -> None:
        self.start, self.step = start, step

    def __getitem__(self, s: slice) -> Any:
        return (self.start + i * self.step for i in range(s.start, s.stop))


def asarray(obj: Any, dtype: "DTypeLike | None" = None, copy: "bool | None" = None) -> Tensor:
    """A tensor from ``obj``: a ``Tensor``, any DLPack producer (NumPy,
    PyTorch, JAX arrays), a DLPack capsule, a buffer-protocol object
    (``bytearray``, ``array.array``, ``memoryview``; shared zero-copy), or
    nested sequences of numbers (copied). ``dtype`` casts (a copy);
    ``copy=True`` always copies, ``copy=False`` raises ``BufferError``
    instead of copying."""
    if isinstance(obj, Tensor):
        t = obj
        if copy:
            t = t.copy("K")
            copy = None  # done: a dtype change below may reuse this buffer
    elif hasattr(obj, "__dlpack__") or type(obj).__name__ == "PyCapsule":
        t = from_dlpack(obj, copy=copy)
        if copy:
            copy = None  # copied: a dtype change below may reuse this buffer
        # copy=False stays: a dtype change below must raise, not cast.
    else:
        t = _from_buffer(obj)
        if t is None:
            if copy is False:
                raise BufferError(f"cannot share: a {type(obj).__name__} must be copied to make a tensor")
            t = _from_sequence(obj)
            copy = None
        elif copy:
            t = t.copy("K")
            copy = None
    if dtype is not None and normalize_dtype(dtype) != t.dtype:
        if copy is False:
            raise BufferError(f"cannot share: converting {t.dtype} to {normalize_dtype(dtype)} needs a copy")
        t = t.astype(dtype)
    return t


def _buffer_dtype(fmt: bytes, itemsize: int) -> str:
    text = fmt.decode("ascii", "replace") if fmt else "B"
    if text[:1] in ("@", "=", "<"):  # native or little-endian standard sizes
        text = text[1:]
    if text[:1] in (">", "!"):
        raise BufferError(f"unsupported buffer format {text!r}: big-endian data is not supported")
    if text == "?":
        return "bool"
    if text in _SIGNED and len(text) == 1:
        return f"int{8 * itemsize}"
    if text in _UNSIGNED and len(text) == 1:
        return f"uint{8 * itemsize}"
    if text in _FLOATS and len(text) == 1:
        return f"float{8 * itemsize}"
    if text in ("Zf", "Zd"):
        return f"complex{8 * itemsize}"
    raise BufferError(f"unsupported buffer format {text!r}")


def _from_buffer(obj: Any) -> "Tensor | None":
    """Wraps a buffer-protocol object zero-copy, or ``None`` if it has no buffer."""
    if isinstance(obj, (str, list, tuple)) or isinstance(obj, numbers.Number):
        return None
    try:
        view = memoryview(obj)
    except TypeError:
        return None
    buf = PyBuffer()
    if pyapi.PyObject_GetBuffer(view, byref(buf), _lib.PyBUF_RECORDS_RO) != 0:
        raise BufferError("could not get the buffer")  # pragma: no cover - ctypes raises first
    try:
        itemsize = buf.itemsize
        dtype = _buffer_dtype(buf.format, itemsize)
        ndim = buf.ndim
        shape = [buf.shape[i] for i in range(ndim)] if ndim else []
        strides = []
        for i in range(ndim):
            s = buf.strides[i]
            if s % itemsize:
                raise BufferError(f"buffer stride {s} on axis {i} is not a multiple of the itemsize {itemsize}")
            strides.append(s // itemsize)
        data, writeable = buf.buf, not buf.readonly
    finally:
        pyapi.PyBuffer_Release(byref(buf))
    return _wrap_memory(view, data, dtype, shape, strides, writeable)


def _wrap_memory(owner: Any, data: int, dtype: str, shape: Sequence[int], strides: "Sequence[int] | None", writeable: bool) -> Tensor:
    """``dlv_tensor_from_buffer`` over memory ``owner`` keeps alive; the
    tensor's storage holds a reference to ``owner`` until its last view dies."""
    n = len(shape)
    out = ctypes.c_void_p()
    pyapi.Py_IncRef(owner)
    status = pydll.dlv_tensor_from_buffer(
        data,
        dtype_struct(dtype),
        DLDevice(_lib.KDLCPU, 0),
        n,
        _i64_array(shape),
        None if strides is None else _i64_array(strides),
        writeable,
        _lib.RELEASE_OBJECT,
        id(owner),
        byref(out),
    )
    if status:
        pyapi.Py_DecRef(owner)  # on failure the release callback is not called
        _lib.raise_status(status)
    from ._tensor import wrap

    return wrap(out.value)


def _wrap_packed(values: "array.array[Any]", dtype: str, shape: Sequence[int]) -> Tensor:
    """A new tensor with the contents of a packed ``array.array``."""
    if len(values) == 0:
        return empty(tuple(shape), dtype)
    data, _ = values.buffer_info()
    return _wrap_memory(values, data, dtype, shape, None, True).copy()


# ---- nested sequences -----------------------------------------------------------------

_KIND_ORDER = {bool: 0, int: 1, float: 2, complex: 3}
_KIND_DTYPE = ["bool", "int64", "float64", "complex128"]


def _scalar(v: Any) -> Any:
    if isinstance(v, (bool, int, float, complex)):
        return v
    if isinstance(v, Tensor) or hasattr(v, "item") and getattr(v, "ndim", None) == 0:
        return v.item()
    if isinstance(v, numbers.Integral):
        return int(v)
    if isinstance(v, numbers.Real):
        return float(v)
    if isinstance(v, numbers.Complex):
        return complex(v)
    raise TypeError(f"cannot make a tensor element from {type(v).__name__}")


def _from_sequence(obj: Any) -> Tensor:
    shape: list[int] = []
    probe = obj
    while isinstance(probe, (list, tuple)):
        shape.append(len(probe))
        if not probe:
            break
        probe = probe[0]
    flat: list[Any] = []

    def walk(x: Any, depth: int) -> None:
        if depth == len(shape):
            if isinstance(x, (list, tuple)):
                raise ValueError("setting a tensor element with a sequence: the nested sequences are ragged")
            flat.append(_scalar(x))
            return
        if not isinstance(x, (list, tuple)) or len(x) != shape[depth]:
            raise ValueError(
                f"the nested sequences are ragged: expected length {shape[depth]} at depth {depth}, "
                f"got {len(x) if isinstance(x, (list, tuple)) else type(x).__name__}"
            )
        for item in x:
            walk(item, depth + 1)

    walk(obj, 0)
    kind = max((_KIND_ORDER[type(v)] for v in flat), default=2)  # [] is float64, as in NumPy
    dtype = _KIND_DTYPE[kind]
    if kind == 0:
        values = array.array("B", flat)
    elif kind == 1:
        try:
            values = array.array("q", flat)
        except OverflowError:
            values = array.array("Q", flat)  # raises OverflowError itself if out of uint64 range
            dtype = "uint64"
    elif kind == 2:
        values = array.array("d", flat)
    else:
        values = array.array("d")
        for v in flat:
            c = complex(v)
            values.append(c.real)
            values.append(c.imag)
    return _wrap_packed(values, dtype, shape)
