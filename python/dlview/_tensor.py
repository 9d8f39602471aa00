"""The ``Tensor`` class: one handle (``dlv_tensor*``) of the C library.

Every property and method converts its arguments, makes one or a few C
calls and wraps the resulting handle; layout rules, flags and errors are
the library's. Strides are in **bytes** here (NumPy's convention) and in
elements in the C ABI; this module converts at the boundary.

The class derives from a small base that owns the handle and implements
the DLPack protocol. The base is the compiled ``dlview._ext.TensorBase``
when that extension is built (it is much faster for ``__dlpack__``), and
the pure-ctypes ``_dlpack.CTypesBase`` otherwise (or when the environment
variable ``DLVIEW_PURE_PYTHON=1`` is set).
"""

from __future__ import annotations

import ctypes
import numbers
import operator
from ctypes import byref, c_int32, c_int64, c_void_p
from typing import TYPE_CHECKING, Any, Iterator, Sequence, Union

from . import _lib
from ._dlpack import TensorBase, bind_extension, new_handle_wrapper
from ._dtypes import DTypeLike, device_name, device_struct, dtype_name, dtype_struct
from ._lib import cdll, pydll, raise_status

if TYPE_CHECKING:
    from typing import TypeAlias

__all__ = ["Tensor", "Flags", "wrap", "derive"]

_CPU = (_lib.KDLCPU, 0)
#: DLPack device types the host reads directly (CPU, CUDA pinned, ROCm pinned, CUDA managed).
_HOST_READABLE = frozenset((_lib.KDLCPU, _lib.KDLCUDAHOST, 11, _lib.KDLCUDAMANAGED))
_ORDERS = {"C": _lib.ORDER_C, "F": _lib.ORDER_F, "K": _lib.ORDER_K, "A": _lib.ORDER_K}

#: memoryview/struct format of each dtype whose values Python reads directly.
_FORMATS = {
    "bool": "?",
    "int8": "b",
    "int16": "h",
    "int32": "i",
    "int64": "q",
    "uint8": "B",
    "uint16": "H",
    "uint32": "I",
    "uint64": "Q",
    "float32": "f",
    "float64": "d",
}
_COMPLEX_PARTS = {"complex64": "f", "complex128": "d"}

ShapeLike = Union[int, Sequence[int]]


def _order(order: str) -> int:
    try:
        return _ORDERS[order.upper()]
    except (KeyError, AttributeError):
        raise ValueError(f"order must be one of 'C', 'F', 'K', 'A', got {order!r}") from None


def _i64_array(values: Sequence[int]) -> Any:
    return (c_int64 * len(values))(*values)


def _shape_arg(shape: Any) -> tuple[int, ...]:
    """A shape given as an int, a sequence of ints, or varargs already packed."""
    if isinstance(shape, (tuple, list)):
        return tuple(operator.index(s) for s in shape)
    return (operator.index(shape),)


def _varargs_shape(args: tuple[Any, ...]) -> tuple[int, ...]:
    """``t.reshape(2, 3)`` and ``t.reshape((2, 3))`` mean the same."""
    if len(args) == 1 and isinstance(args[0], (tuple, list)):
        return _shape_arg(args[0])
    return tuple(operator.index(a) for a in args)


def derive(fn: Any, *args: Any) -> "Tensor":
    """Calls ``fn(*args, &out)`` and wraps the new handle in ``out``."""
    out = c_void_p()
    status = fn(*args, byref(out))
    if status:
        raise_status(status)
    return wrap(out.value)


class Flags:
    """The flags of one tensor, read live (NumPy's ``ndarray.flags``).

    Attributes ``writeable``, ``c_contiguous``, ``f_contiguous``,
    ``owndata``, ``aligned``; item access by NumPy's names
    (``flags["WRITEABLE"]``, ``flags["C"]``). ``writeable`` may be assigned,
    as ``Tensor.setflags(write=...)``.
    """

    __slots__ = ("_t",)
    _KEYS = {
        "WRITEABLE": _lib.FLAG_WRITEABLE,
        "W": _lib.FLAG_WRITEABLE,
        "C_CONTIGUOUS": _lib.FLAG_C_CONTIGUOUS,
        "C": _lib.FLAG_C_CONTIGUOUS,
        "CONTIGUOUS": _lib.FLAG_C_CONTIGUOUS,
        "F_CONTIGUOUS": _lib.FLAG_F_CONTIGUOUS,
        "F": _lib.FLAG_F_CONTIGUOUS,
        "FORTRAN": _lib.FLAG_F_CONTIGUOUS,
        "OWNDATA": _lib.FLAG_OWNDATA,
        "O": _lib.FLAG_OWNDATA,
        "ALIGNED": _lib.FLAG_ALIGNED,
        "A": _lib.FLAG_ALIGNED,
    }

    def __init__(self, tensor: "Tensor") -> None:
        self._t = tensor

    def _bit(self, bit: int) -> bool:
        return bool(pydll.dlv_tensor_flags(self._t._h) & bit)

    @property
    def writeable(self) -> bool:
        """Writes through this view are allowed."""
        return self._bit(_lib.FLAG_WRITEABLE)

    @writeable.setter
    def writeable(self, value: bool) -> None:
        self._t.setflags(write=value)

    @property
    def c_contiguous(self) -> bool:
        """Row-major compact."""
        return self._bit(_lib.FLAG_C_CONTIGUOUS)

    @property
    def f_contiguous(self) -> bool:
        """Column-major compact."""
        return self._bit(_lib.FLAG_F_CONTIGUOUS)

    @property
    def owndata(self) -> bool:
        """Not derived from another view (``base is None``)."""
        return self._bit(_lib.FLAG_OWNDATA)

    @property
    def aligned(self) -> bool:
        """Data pointer and byte strides are multiples of the element alignment."""
        return self._bit(_lib.FLAG_ALIGNED)

    def __getitem__(self, key: str) -> bool:
        try:
            bit = self._KEYS[key.upper()]
        except (KeyError, AttributeError):
            raise KeyError(f"unknown flag {key!r}") from None
        return self._bit(bit)

    def __setitem__(self, key: str, value: bool) -> None:
        if self._KEYS.get(key.upper()) != _lib.FLAG_WRITEABLE:
            raise ValueError(f"only the WRITEABLE flag can be set, not {key!r}")
        self.writeable = value

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Flags):
            return pydll.dlv_tensor_flags(self._t._h) == pydll.dlv_tensor_flags(other._t._h)
        return NotImplemented

    def __repr__(self) -> str:
        names = ["C_CONTIGUOUS", "F_CONTIGUOUS", "OWNDATA", "WRITEABLE", "ALIGNED"]
        return "\n".join(f"  {n} : {self[n]}" for n in names)


class Tensor(TensorBase):
    """A strided view of typed memory, shared zero-copy with NumPy, PyTorch,
    JAX and C through DLPack.

    Create tensors with :func:`dlview.asarray`, :func:`dlview.from_dlpack`,
    :func:`dlview.empty`, :func:`dlview.zeros` or :func:`dlview.arange`.
    Strides are in bytes, as in NumPy. Basic indexing gives views, advanced
    indexing gives copies, and the flag rules are those of NumPy.
    """

    __slots__ = ()  # the caches _shape, _strides, _dt are slots of the base

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        raise TypeError("create tensors with dlview.asarray, from_dlpack, empty, zeros or arange")

    # ---- metadata -------------------------------------------------------------

    def _dtype_key(self) -> Any:
        try:
            return self._dt
        except AttributeError:
            self._dt = pydll.dlv_tensor_dtype(self._h)
            return self._dt

    @property
    def shape(self) -> tuple[int, ...]:
        """The size of each axis."""
        try:
            return self._shape
        except AttributeError:
            n = pydll.dlv_tensor_ndim(self._h)
            self._shape = tuple(pydll.dlv_tensor_shape(self._h)[:n]) if n else ()
            return self._shape

    @property
    def strides(self) -> tuple[int, ...]:
        """Bytes to step in memory for one step along each axis (may be 0 or negative)."""
        try:
            return self._strides
        except AttributeError:
            n = pydll.dlv_tensor_ndim(self._h)
            item = self.itemsize
            self._strides = tuple(s * item for s in pydll.dlv_tensor_strides(self._h)[:n]) if n else ()
            return self._strides

    @property
    def ndim(self) -> int:
        """Number of axes."""
        return len(self.shape)

    @property
    def size(self) -> int:
        """Number of elements."""
        return int(pydll.dlv_tensor_size(self._h))

    @property
    def itemsize(self) -> int:
        """Bytes per element (0 for packed sub-byte types)."""
        bits = self._dtype_key().bits
        return bits // 8 if bits % 8 == 0 else 0

    @property
    def nbytes(self) -> int:
        """``size * itemsize`` bytes."""
        return int(pydll.dlv_tensor_nbytes(self._h))

    @property
    def dtype(self) -> str:
        """The element type's name: ``"float32"``, ``"bfloat16"``, ``"bool"``, ..."""
        return dtype_name(self._dtype_key())

    @property
    def device(self) -> str:
        """Where the memory lives: ``"cpu"``, ``"cuda:0"``, ..."""
        return device_name(pydll.dlv_tensor_device(self._h))

    @property
    def flags(self) -> Flags:
        """The live flags (``t.flags.writeable``, ``t.flags["C_CONTIGUOUS"]``)."""
        return Flags(self)

    @property
    def base(self) -> "Tensor | None":
        """The tensor this view derives from (a root), or ``None`` if it owns its data."""
        out = c_void_p()
        _lib.check(pydll.dlv_tensor_base(self._h, byref(out)))
        return None if out.value is None else wrap(out.value)

    @property
    def data_ptr(self) -> int:
        """Address of element ``[0, ..., 0]`` (0 when the tensor has no elements)."""
        return pydll.dlv_tensor_data(self._h) or 0

    def setflags(self, write: "bool | None" = None, align: "bool | None" = None, uic: "bool | None" = None) -> None:
        """Sets or clears WRITEABLE (clearing always works; setting fails
        with ``ValueError`` on read-only memory or overlapping views)."""
        if align is not None or uic is not None:
            raise ValueError("only the write flag can be changed")
        if write is not None:
            _lib.check(pydll.dlv_tensor_set_writeable(self._h, bool(write)))

    def flush(self) -> None:
        """Writes changes made through an ``"r+"``/``"w+"`` memory map back to
        its file and waits for them (nothing to do for other tensors)."""
        _lib.check(cdll.dlv_tensor_flush(self._h))

    def info(self) -> str:
        """A diagnostic text: shape, strides, dtype, device, data pointer, flags, nbytes, base."""
        n = pydll.dlv_tensor_describe(self._h, None, 0)
        buf = ctypes.create_string_buffer(n + 1)
        pydll.dlv_tensor_describe(self._h, buf, n + 1)
        return buf.value.decode()

    # ---- views ----------------------------------------------------------------

    @property
    def T(self) -> "Tensor":
        """The view with all axes reversed."""
        return derive(pydll.dlv_tensor_transpose, self._h)

    def transpose(self, *axes: Any) -> "Tensor":
        """The view with axes permuted (``axes[k]`` is the source of result axis
        ``k``); no arguments reverses them."""
        if not axes or (len(axes) == 1 and axes[0] is None):
            return self.T
        perm = _varargs_shape(axes)
        if len(perm) != self.ndim:
            raise ValueError(f"axes don't match tensor: got {len(perm)} axes for a {self.ndim}-d tensor")
        return derive(pydll.dlv_tensor_permute, self._h, (c_int32 * len(perm))(*perm))

    def permute(self, *axes: Any) -> "Tensor":
        """Alias of :meth:`transpose` with explicit axes (PyTorch's name)."""
        return self.transpose(*axes)

    def reshape(self, *shape: Any, copy: "bool | None" = None) -> "Tensor":
        """The tensor with a new shape (one entry may be -1): a view when the
        layout allows it, otherwise a C-order copy (``copy=False`` forbids the
        copy: ``BufferError``; ``copy=True`` always copies)."""
        dims = _varargs_shape(shape)
        mode = _copy_mode(copy)
        return derive(cdll.dlv_tensor_reshape, self._h, len(dims), _i64_array(dims), mode)

    def squeeze(self, axis: "int | Sequence[int] | None" = None) -> "Tensor":
        """The view without the given size-1 axes (all of them by default)."""
        if axis is None:
            return derive(pydll.dlv_tensor_squeeze, self._h, _lib.ALL_AXES)
        if isinstance(axis, (tuple, list)):
            nd = self.ndim
            t = self
            for a in sorted({_normalize_axis(a, nd) for a in axis}, reverse=True):
                t = derive(pydll.dlv_tensor_squeeze, t._h, a)
            return t
        return derive(pydll.dlv_tensor_squeeze, self._h, operator.index(axis))

    def flip(self, axis: "int | Sequence[int] | None" = None) -> "Tensor":
        """The view with the order of elements reversed along ``axis``
        (every axis by default)."""
        axes = range(self.ndim) if axis is None else axis if isinstance(axis, (tuple, list)) else (axis,)
        t = self
        for a in axes:
            t = derive(pydll.dlv_tensor_flip, t._h, operator.index(a))
        return t

    # ---- copies ---------------------------------------------------------------

    def copy(self, order: str = "C") -> "Tensor":
        """A new writeable tensor with the same elements, in ``order``
        (``"C"``, ``"F"`` or ``"K"`` to keep the axis order)."""
        return derive(cdll.dlv_tensor_copy, self._h, _order(order))

    def to(self, device: Any, *, copy: bool = False, order: str = "K") -> "Tensor":
        """This tensor on ``device`` (``"cpu"``, ``"cuda:0"``, ``"cuda_host"``,
        a DLPack ``(type, id)`` pair or a ``torch.device``): itself when it is
        there already (unless ``copy=True``), else a new compact tensor
        (``order`` ``"K"`` keeps the axis order) copied host to device,
        device to host or device to device through the CUDA driver.
        ``RuntimeError`` when no CUDA driver or device is available."""
        dev = device_struct(device)
        if not copy:
            mine = pydll.dlv_tensor_device(self._h)
            if (mine.device_type, mine.device_id) == (dev.device_type, dev.device_id):
                return self
        return derive(cdll.dlv_tensor_to_device, self._h, dev, _order(order))

    def cpu(self) -> "Tensor":
        """``self.to("cpu")``."""
        return self.to(_CPU)

    def astype(self, dtype: DTypeLike, copy: bool = True, order: str = "K") -> "Tensor":
        """The elements cast to ``dtype`` (NumPy's unsafe casting) in a new
        tensor; with ``copy=False`` the tensor itself when nothing changes."""
        dt = dtype_struct(dtype)
        if not copy:
            mine = self._dtype_key()
            if (mine.code, mine.bits) == (dt.code, dt.bits):
                return self
        return derive(cdll.dlv_tensor_astype, self._h, dt, _order(order))

    # ---- values ---------------------------------------------------------------

    def tolist(self) -> Any:
        """The elements as nested Python lists of ``bool``/``int``/``float``/``complex``."""
        name = self.dtype
        shape = self.shape
        if 0 in shape:
            return _empty_nested(shape)
        kind = pydll.dlv_tensor_device(self._h).device_type
        if kind not in _HOST_READABLE:
            # The elements are read below through a raw pointer: never one
            # into device memory.
            raise BufferError(f"reading elements needs host-accessible memory, but the tensor is on {self.device}")
        src = self
        fmt = _FORMATS.get(name)
        part = _COMPLEX_PARTS.get(name)
        if fmt is None and part is None:
            # float16, bfloat16, float8 (memoryview cannot read them): the
            # library widens them exactly.
            src, fmt = self.astype("float32", order="C"), "f"
        elif not src.flags.c_contiguous:
            src = src.copy("C")
        ptr = pydll.dlv_tensor_data(src._h)
        if not ptr:
            raise_status(_lib.ERR_UNSUPPORTED_DEVICE)
        raw = (ctypes.c_char * src.nbytes).from_address(ptr)
        if part is not None:
            view = memoryview(raw).cast("B").cast(part, (*shape, 2))
            values = _pairs_to_complex(view.tolist(), len(shape))
        else:
            view = memoryview(raw).cast("B").cast(fmt, shape) if shape else memoryview(raw).cast("B").cast(fmt)
            values = view.tolist() if shape else view[0]
        del view, raw
        return values

    def item(self, *args: Any) -> Any:
        """One element as a Python scalar: ``t.item()`` for a one-element
        tensor, ``t.item(i, j)`` or ``t.item(flat_index)`` otherwise."""
        if args:
            if len(args) == 1 and self.ndim != 1:
                flat = self.reshape(-1)
                return flat[operator.index(args[0])].tolist()
            return self[tuple(operator.index(a) for a in args)].tolist()
        if self.size != 1:
            raise ValueError("can only convert a tensor of size 1 to a Python scalar")
        return self.reshape(()).tolist()

    def __len__(self) -> int:
        shape = self.shape
        if not shape:
            raise TypeError("len() of unsized object")
        return shape[0]

    def __iter__(self) -> Iterator[Any]:
        if not self.shape:
            raise TypeError("iteration over a 0-d tensor")
        for i in range(self.shape[0]):
            yield derive(pydll.dlv_tensor_select, self._h, 0, i)

    def __bool__(self) -> bool:
        if self.size != 1:
            raise ValueError("the truth value of a tensor with more than one element is ambiguous")
        return bool(self.item())

    def __int__(self) -> int:
        return int(self.item())

    def __float__(self) -> float:
        return float(self.item())

    def __complex__(self) -> complex:
        return complex(self.item())

    def __index__(self) -> int:
        if self.ndim != 0 or self._dtype_key().code not in (0, 1):
            raise TypeError("only integer 0-d tensors can be converted to an index")
        return int(self.item())

    def __repr__(self) -> str:
        extra = f", dtype={self.dtype}"
        if self.device != "cpu":
            return f"Tensor(shape={self.shape}{extra}, device={self.device})"
        if self.size > 1000:
            return f"Tensor(shape={self.shape}{extra})"
        return f"Tensor({self.tolist()!r}{extra})"

    __str__ = __repr__

    def __array__(self, dtype: Any = None, copy: "bool | None" = None) -> Any:
        """NumPy conversion (``numpy.asarray(t)``), through DLPack: shares
        memory when it can, negative strides included."""
        import numpy

        arr = numpy.from_dlpack(_NumpyExport(self), copy=copy)
        if dtype is not None and arr.dtype != numpy.dtype(dtype):
            if copy is False:
                raise ValueError("converting the dtype requires a copy")
            arr = arr.astype(dtype)
        return arr

    # ---- indexing -------------------------------------------------------------

    def __getitem__(self, key: Any) -> "Tensor":
        """NumPy indexing (the core's ``dlv_tensor_index``): a view for
        integers, slices, ``None`` and ``...``; a copy for integer or
        boolean index arrays, lists and scalars."""
        return _getitem(self, key)

    def __setitem__(self, key: Any, value: Any) -> None:
        """``t[key] = value`` (the core's ``dlv_tensor_index_put``): ``value``
        is broadcast and cast; the last of repeated indices wins."""
        _setitem(self, key, value)


class _NumpyExport:
    """Hands NumPy a capsule that keeps negative strides (NumPy accepts them)."""

    __slots__ = ("_t",)

    def __init__(self, t: Tensor) -> None:
        self._t = t

    def __dlpack_device__(self) -> tuple[int, int]:
        return self._t.__dlpack_device__()

    def __dlpack__(self, **kwargs: Any) -> Any:
        from ._dlpack import export_capsule

        return export_capsule(self._t, allow_negative_strides=True, **kwargs)


def _empty_nested(shape: tuple[int, ...]) -> list[Any]:
    if len(shape) == 1 or shape[0] == 0:
        return []
    return [_empty_nested(shape[1:]) for _ in range(shape[0])]


def _pairs_to_complex(values: Any, depth: int) -> Any:
    if depth == 0:
        return complex(values[0], values[1])
    return [_pairs_to_complex(v, depth - 1) for v in values]


def _copy_mode(copy: "bool | None") -> int:
    if copy is None:
        return _lib.COPY_IF_NEEDED
    return _lib.COPY_ALWAYS if copy else _lib.COPY_NEVER


def _normalize_axis(axis: Any, ndim: int) -> int:
    a = operator.index(axis)
    if not -ndim <= a < ndim:
        raise ValueError(f"axis {a} is out of bounds for a tensor of dimension {ndim}")
    return a + ndim if a < 0 else a


def wrap(handle: int) -> Tensor:
    """A new ``Tensor`` owning ``handle`` (freed with the object)."""
    return _new_tensor(Tensor, handle)


_new_tensor = new_handle_wrapper(Tensor)
bind_extension(Tensor)


# ---- indexing ---------------------------------------------------------------------
#
# The semantics are the core's (``dlv_tensor_index`` / ``dlv_tensor_index_put``,
# docs/rules.md §3); this only converts a Python key into ``dlv_index`` items.

_I64_MIN, _I64_MAX = -(2**63), 2**63 - 1
_BAD_INDEX = "only integers, slices (`:`), ellipsis (`...`), None and integer or boolean tensors are valid indices"


def _bound(b: Any) -> int:
    """A slice bound or step as int64 (``None`` is ``DLV_NONE``). Python
    clamps bounds beyond any length, so clamping to int64 changes nothing."""
    if b is None:
        return _lib.NONE
    return min(max(operator.index(b), _I64_MIN + 1), _I64_MAX)


def _index_tensor(item: Any) -> Tensor:
    """An advanced index as a tensor. An empty sequence is an empty int64
    index (NumPy's rule); any other dtype is the core's to accept or refuse."""
    from ._creation import asarray

    idx = asarray(item)
    if idx.size == 0 and idx._dtype_key().code not in (0, 1, 6):  # not int, uint, bool
        return idx.astype("int64")
    return idx


def _key(key: Any) -> tuple[Any, int, list[Tensor]]:
    """``key`` as a ``dlv_index`` array, its length, and the index tensors
    it borrows (kept alive by the caller until the C call returns)."""
    items = key if type(key) is tuple else (key,)
    n = len(items)
    out = (_lib.Index * n)()
    keep: list[Tensor] = []
    for k, it in enumerate(items):
        e = out[k]
        if it is None:
            e.kind = _lib.INDEX_NEW_AXIS
        elif it is Ellipsis:
            e.kind = _lib.INDEX_ELLIPSIS
        elif type(it) is slice:
            e.kind = _lib.INDEX_SLICE
            e.start, e.stop, e.step = _bound(it.start), _bound(it.stop), _bound(it.step)
        elif isinstance(it, bool) or type(it).__name__ in ("bool_", "bool"):
            # NumPy's t[True] / t[False]: a 0-d boolean index.
            from ._creation import asarray

            keep.append(asarray(bool(it)))
            e.kind, e.tensor = _lib.INDEX_TENSOR, keep[-1]._h
        elif isinstance(it, numbers.Integral):
            i = operator.index(it)
            if not _I64_MIN <= i <= _I64_MAX:
                raise IndexError(f"index {i} does not fit in a 64-bit integer")
            e.kind, e.i = _lib.INDEX_INT, i
        elif isinstance(it, Tensor):
            keep.append(it)
            e.kind, e.tensor = _lib.INDEX_TENSOR, it._h
        elif isinstance(it, (str, bytes, float, complex)):
            raise IndexError(_BAD_INDEX)
        elif isinstance(it, (list, tuple)) or hasattr(it, "__dlpack__") or hasattr(it, "__array__"):
            keep.append(_index_tensor(it))
            e.kind, e.tensor = _lib.INDEX_TENSOR, keep[-1]._h
        else:
            try:
                i = operator.index(it)
            except TypeError:
                raise IndexError(_BAD_INDEX) from None
            if not _I64_MIN <= i <= _I64_MAX:
                raise IndexError(f"index {i} does not fit in a 64-bit integer")
            e.kind, e.i = _lib.INDEX_INT, i
    return out, n, keep


def _getitem(t: Tensor, key: Any) -> Tensor:
    items, n, keep = _key(key)
    out = c_void_p()
    status = cdll.dlv_tensor_index(t._h, items, n, byref(out))
    del keep
    if status:
        raise_status(status)
    return wrap(out.value)


def _setitem(t: Tensor, key: Any, value: Any) -> None:
    from ._creation import asarray

    items, n, keep = _key(key)
    src = value if isinstance(value, Tensor) else asarray(value)
    status = cdll.dlv_tensor_index_put(t._h, items, n, src._h)
    del keep, src
    if status:
        raise_status(status)


def copy_into(dst: Tensor, src: Tensor) -> None:
    """Writes ``src`` into ``dst``, broadcasting and casting (overlap-safe)."""
    status = cdll.dlv_tensor_copy_into(dst._h, src._h)
    if status:
        raise_status(status)


def take_along(t: Tensor, indices: list[int], axis: int) -> Tensor:
    """Copies the entries ``indices`` along ``axis`` into a new tensor
    (negative indices count from the end; out of range is ``IndexError``)."""
    return derive(cdll.dlv_tensor_take, t._h, axis, _i64_array(indices), len(indices))


def copy_into(dst: Tensor, src: Tensor) -> None:
    """Writes ``src`` into ``dst``, broadcasting and casting (overlap-safe)."""
    status = cdll.dlv_tensor_copy_into(dst._h, src._h)
    if status:
        raise_status(status)
