"""What dlview sees of CUDA: devices, memory, synchronisation.

The CUDA driver (``libcuda.so.1``; ``DLVIEW_CUDA_DRIVER`` names another
library, a testing hook) is loaded by the library on first use. Without it
these report no device, and CUDA operations raise ``RuntimeError`` with the
reason.
"""

from __future__ import annotations

from ctypes import byref, c_int32, c_uint64

from . import _lib
from ._lib import cdll, pydll

__all__ = ["cuda_is_available", "cuda_device_count", "cuda_synchronize", "cuda_mem_get_info"]


def cuda_is_available() -> bool:
    """True when a CUDA driver with at least one device is loaded."""
    return bool(_lib.HAS_CUDA and pydll.dlv_cuda_available())


def cuda_device_count() -> int:
    """The number of CUDA devices (0 without a usable driver)."""
    if not _lib.HAS_CUDA:
        return 0
    n = c_int32(0)
    return n.value if pydll.dlv_cuda_device_count(byref(n)) == _lib.OK else 0


def cuda_synchronize(device: int = 0) -> None:
    """Waits until everything dlview queued on CUDA device ``device`` is done."""
    _lib.check(cdll.dlv_cuda_synchronize(int(device)))


def cuda_mem_get_info(device: int = 0) -> tuple[int, int]:
    """``(free, total)`` bytes of CUDA device ``device``."""
    free, total = c_uint64(0), c_uint64(0)
    _lib.check(pydll.dlv_cuda_mem_get_info(int(device), byref(free), byref(total)))
    return free.value, total.value
