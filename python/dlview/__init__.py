"""dlview: zero-copy strided tensors exchanged with NumPy, PyTorch and JAX
through DLPack.

A thin typed layer over the ``libdlview`` C library (``ctypes``, plus an
optional compiled ``_ext`` module for the DLPack hot path). The flag and
stride rules, the errors and their messages are the library's; strides are
in **bytes** here, as in NumPy.

>>> import dlview as dv
>>> t = dv.arange(6).reshape(2, 3)
>>> t[:, ::2].strides
(24, 16)
"""

from __future__ import annotations

from ._creation import arange, asarray, empty, zeros
from ._cuda import cuda_device_count, cuda_is_available, cuda_mem_get_info, cuda_synchronize
from ._dlpack import EXTENSION as _EXTENSION
from ._dlpack import from_dlpack
from ._files import load, memmap, save
from ._functions import (
    as_strided,
    ascontiguousarray,
    asfortranarray,
    broadcast_to,
    expand_dims,
    live_storage_count,
    may_share_memory,
    get_num_threads,
    set_num_threads,
    shares_memory,
    sliding_window_view,
    take,
)
from ._lib import library_path, pydll as _pydll
from ._tensor import Flags, Tensor

__version__: str = _pydll.dlv_version().decode()

#: "ext" when the compiled extension serves the DLPack protocol, else "ctypes".
BACKEND: str = "ext" if _EXTENSION is not None else "ctypes"

__all__ = [
    "Tensor",
    "Flags",
    "from_dlpack",
    "asarray",
    "empty",
    "zeros",
    "arange",
    "expand_dims",
    "broadcast_to",
    "as_strided",
    "sliding_window_view",
    "ascontiguousarray",
    "asfortranarray",
    "shares_memory",
    "may_share_memory",
    "take",
    "load",
    "save",
    "memmap",
    "live_storage_count",
    "set_num_threads",
    "get_num_threads",
    "cuda_is_available",
    "cuda_device_count",
    "cuda_synchronize",
    "cuda_mem_get_info",
    "library_path",
    "BACKEND",
]
