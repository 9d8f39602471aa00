"""``.npy`` files and memory maps: ``load``, ``save``, ``memmap`` (NumPy's
names and modes). Parsing, mapping and writing are the library's
(``dlv_npy_load``, ``dlv_npy_save``, ``dlv_memmap``); see docs/rules.md §7.
"""

from __future__ import annotations

import os
from typing import Any, Union

from . import _lib
from ._dtypes import DTypeLike, dtype_struct
from ._lib import cdll
from ._tensor import Tensor, _i64_array, _order, _shape_arg, derive

__all__ = ["load", "save", "memmap"]

PathLike = Union[str, "os.PathLike[str]", bytes]

_LOAD_MODES = {None: _lib.MMAP_NONE, "r": _lib.MMAP_READ, "r+": _lib.MMAP_READ_WRITE, "c": _lib.MMAP_COPY_ON_WRITE}
_MAP_MODES = {
    "r": _lib.MMAP_READ,
    "readonly": _lib.MMAP_READ,
    "r+": _lib.MMAP_READ_WRITE,
    "readwrite": _lib.MMAP_READ_WRITE,
    "c": _lib.MMAP_COPY_ON_WRITE,
    "copyonwrite": _lib.MMAP_COPY_ON_WRITE,
    "w+": _lib.MMAP_CREATE,
    "write": _lib.MMAP_CREATE,
}


def _path(path: PathLike) -> bytes:
    # ctypes passes bytes as a C string, which would end at a NUL: refuse
    # it, as the library does from Rust ("victim\0.npy" must not write "victim").
    encoded = os.fsencode(path)
    if b"\0" in encoded:
        raise ValueError(f"path {path!r} contains a NUL byte; paths are never truncated")
    return encoded


def load(path: PathLike, mmap_mode: "str | None" = None) -> Tensor:
    """Reads a ``.npy`` file (versions 1-3). ``mmap_mode`` as in NumPy:
    ``None`` reads into a new buffer; ``"r"`` maps it read-only (private
    copy-on-write pages, so even a consumer that ignores the read-only flag
    cannot change the file), ``"r+"`` maps it so writes reach the file,
    ``"c"`` maps it copy-on-write (writes stay in memory). A Fortran-order
    file loads as an F-contiguous view."""
    try:
        mode = _LOAD_MODES[mmap_mode]
    except (KeyError, TypeError):
        raise ValueError(f"mmap_mode must be None, 'r', 'r+' or 'c', not {mmap_mode!r}") from None
    return derive(cdll.dlv_npy_load, _path(path), mode)


def save(path: PathLike, t: Any) -> None:
    """Writes ``t`` (a tensor or anything ``asarray`` takes) to ``path`` as
    a ``.npy`` file that NumPy reads (written atomically: a temporary file
    renamed over ``path``)."""
    from ._creation import asarray

    tensor = t if isinstance(t, Tensor) else asarray(t)
    _lib.check(cdll.dlv_npy_save(tensor._h, _path(path)))


def memmap(
    path: PathLike,
    dtype: DTypeLike = "uint8",
    mode: str = "r+",
    offset: int = 0,
    shape: Any = None,
    order: str = "C",
) -> Tensor:
    """Maps a raw file (no header) as a tensor, like ``numpy.memmap``.
    Modes ``"r"``, ``"r+"``, ``"c"``, ``"w+"`` (create; needs a shape).
    Without ``shape`` the rest of the file from ``offset`` is one 1-D
    tensor. Call :meth:`Tensor.flush` to wait for writes to reach the file."""
    try:
        m = _MAP_MODES[mode]
    except (KeyError, TypeError):
        raise ValueError(f"mode must be one of 'r', 'r+', 'c', 'w+', not {mode!r}") from None
    if shape is None:
        ndim, dims = -1, None
    else:
        s = _shape_arg(shape)
        ndim, dims = len(s), _i64_array(s)
    return derive(cdll.dlv_memmap, _path(path), dtype_struct(dtype), m, int(offset), ndim, dims, _order(order))
