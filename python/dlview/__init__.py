"""dlview: zero-copy strided tensors exchanged with NumPy, PyTorch and JAX
through DLPack.

One compiled module (``dlview._native``, PyO3 over the Rust core) does all
the work; this file only re-exports it. The flag and stride rules, the
errors and their messages are the core's; strides are in **bytes** here,
as in NumPy.

>>> import dlview as dv
>>> t = dv.arange(6).reshape(2, 3)
>>> t[:, ::2].strides
(24, 16)
"""

from __future__ import annotations

from ._native import (
    Flags,
    Tensor,
    __version__,
    arange,
    as_strided,
    asarray,
    ascontiguousarray,
    asfortranarray,
    broadcast_to,
    cuda_device_count,
    cuda_is_available,
    cuda_mem_get_info,
    cuda_synchronize,
    empty,
    expand_dims,
    from_dlpack,
    frombuffer,
    get_cmake_dir,
    get_include,
    get_library_dir,
    get_num_threads,
    live_storage_count,
    load,
    may_share_memory,
    memmap,
    save,
    set_num_threads,
    shares_memory,
    sliding_window_view,
    take,
    zeros,
)

__all__ = [
    "Tensor",
    "Flags",
    "from_dlpack",
    "asarray",
    "frombuffer",
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
    "get_include",
    "get_library_dir",
    "get_cmake_dir",
    "__version__",
]
