"""Module-level view and copy functions, named after NumPy's."""

from __future__ import annotations

import operator
from ctypes import c_int64
from typing import Any, Sequence

from . import _lib
from ._creation import asarray
from ._lib import pydll
from ._tensor import Tensor, _i64_array, _normalize_axis, _shape_arg, derive, take_along

__all__ = [
    "expand_dims",
    "broadcast_to",
    "as_strided",
    "sliding_window_view",
    "ascontiguousarray",
    "asfortranarray",
    "shares_memory",
    "may_share_memory",
    "take",
    "live_storage_count",
    "set_num_threads",
    "get_num_threads",
]


def _tensor(x: Any) -> Tensor:
    return x if isinstance(x, Tensor) else asarray(x)


def expand_dims(t: Any, axis: "int | Sequence[int]") -> Tensor:
    """A view with new size-1 axes at the positions ``axis`` (of the result)."""
    t = _tensor(t)
    if isinstance(axis, (tuple, list)):
        nd = t.ndim + len(axis)
        positions = sorted(_normalize_axis(a, nd) for a in axis)
        if len(set(positions)) != len(positions):
            raise ValueError("repeated axis in expand_dims")
        for a in positions:
            t = derive(pydll.dlv_tensor_expand_dims, t._h, a)
        return t
    return derive(pydll.dlv_tensor_expand_dims, t._h, operator.index(axis))


def broadcast_to(t: Any, shape: Any) -> Tensor:
    """A read-only view of ``t`` broadcast to ``shape`` (zero strides)."""
    t = _tensor(t)
    dims = _shape_arg(shape)
    return derive(pydll.dlv_tensor_broadcast_to, t._h, len(dims), _i64_array(dims))


def as_strided(t: Any, shape: "Sequence[int] | None" = None, strides: "Sequence[int] | None" = None) -> Tensor:
    """A view with explicit ``shape`` and ``strides`` (in **bytes**, as in
    NumPy) starting at ``t``'s first element. Checked by the library: the
    view must stay inside memory the tensor's storage owns (``ValueError``
    otherwise); overlapping views are read-only."""
    t = _tensor(t)
    dims = t.shape if shape is None else _shape_arg(shape)
    if strides is None:
        if shape is not None and dims != t.shape:
            raise ValueError("as_strided: strides are required when the shape changes")
        elems = [s // t.itemsize for s in t.strides]
    else:
        item = t.itemsize
        byte_strides = [operator.index(s) for s in strides]
        if len(byte_strides) != len(dims):
            raise ValueError(f"as_strided: {len(dims)} dimensions but {len(byte_strides)} strides")
        bad = [s for s in byte_strides if s % item]
        if bad:
            raise ValueError(f"as_strided: stride {bad[0]} is not a multiple of the itemsize {item}")
        elems = [s // item for s in byte_strides]
    return derive(pydll.dlv_tensor_as_strided, t._h, len(dims), _i64_array(dims), _i64_array(elems))


def sliding_window_view(t: Any, window_shape: "int | Sequence[int]", axis: "int | Sequence[int] | None" = None) -> Tensor:
    """A read-only view of every window of ``window_shape`` (NumPy's
    ``sliding_window_view``): the windowed axes count the windows and new
    trailing axes walk each window."""
    t = _tensor(t)
    windows = list(window_shape) if isinstance(window_shape, (tuple, list)) else [window_shape]
    if axis is None:
        if len(windows) != t.ndim:
            raise ValueError(
                f"since axis is None, window_shape must have an entry for each axis of the tensor "
                f"(got {len(windows)} for {t.ndim} axes)"
            )
        axes = list(range(t.ndim))
    else:
        axes = list(axis) if isinstance(axis, (tuple, list)) else [axis]
        if len(axes) != len(windows):
            raise ValueError("window_shape and axis must have the same length")
    nd = t.ndim
    for a, w in zip(axes, windows):
        t = derive(pydll.dlv_tensor_sliding_window, t._h, _normalize_axis(a, nd), operator.index(w))
    return t


def ascontiguousarray(t: Any, dtype: Any = None) -> Tensor:
    """``t`` itself when it is C-contiguous (and of ``dtype``), else a C-order copy."""
    t = asarray(t, dtype=dtype)
    return t if t.flags.c_contiguous else t.copy("C")


def asfortranarray(t: Any, dtype: Any = None) -> Tensor:
    """``t`` itself when it is F-contiguous (and of ``dtype``), else an F-order copy."""
    t = asarray(t, dtype=dtype)
    return t if t.flags.f_contiguous else t.copy("F")


def shares_memory(a: Any, b: Any) -> bool:
    """Whether some byte belongs to an element of both (exact for small
    tensors, as ``may_share_memory`` beyond 2^20 elements)."""
    # Both tensors must stay alive for the call: a temporary freed before
    # the second is made can hand its handle address to it (a false "yes").
    ta, tb = _tensor(a), _tensor(b)
    return bool(pydll.dlv_shares_memory(ta._h, tb._h))


def may_share_memory(a: Any, b: Any) -> bool:
    """Whether the byte ranges of the two tensors overlap."""
    ta, tb = _tensor(a), _tensor(b)  # both alive for the call, as in shares_memory
    return bool(pydll.dlv_may_share_memory(ta._h, tb._h))


def take(t: Any, indices: Any, axis: "int | None" = None) -> Tensor:
    """A new tensor with the entries ``indices`` along ``axis`` (of the
    flattened tensor when ``axis`` is None), as ``numpy.take``."""
    t = _tensor(t)
    idx = indices if isinstance(indices, Tensor) else asarray(indices, dtype="int64")
    if idx.dtype not in ("int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64"):
        if idx.size:
            raise IndexError("take: indices must be integers")
    flat_idx = [int(i) for i in idx.reshape(-1).tolist()]
    if axis is None:
        src, ax = t.reshape(-1), 0
    else:
        src, ax = t, _normalize_axis(axis, t.ndim)
    out = take_along(src, flat_idx, ax)
    if idx.ndim != 1:
        shape = src.shape
        out = out.reshape(*shape[:ax], *idx.shape, *shape[ax + 1 :])
    return out


def live_storage_count() -> int:
    """How many storages (buffers, wrapped buffers, imports) the library
    holds right now; for leak tests."""
    return int(pydll.dlv_live_storage_count())


def set_num_threads(n: int) -> None:
    """Sets how many threads large copies and casts use (0: every core this
    process may run on); results never depend on it. Process-wide; overrides
    the environment variable ``DLVIEW_NUM_THREADS``. ``ValueError`` for a
    negative count or one above 1024."""
    n = operator.index(n)
    if not -(2**31) <= n < 2**31:
        # Beyond int32 ctypes would wrap the value; refuse it as the library would.
        raise ValueError(f"the number of threads must be between 0 (all cores) and 1024, not {n}")
    _lib.check(pydll.dlv_set_num_threads(n))


def get_num_threads() -> int:
    """The number of threads large copies use: the last ``set_num_threads``
    (0 resolved to the number of cores), else ``DLVIEW_NUM_THREADS`` (read
    once; a value that is not an integer in 0..1024 is ignored), else every
    core this process may run on."""
    return int(pydll.dlv_get_num_threads())


_ = (c_int64, _lib)
