"""Type stubs of ``dlview._native``, the one compiled module of the package
(PyO3 over the Rust core). Strides are in **bytes**, as in NumPy."""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from typing import Any, SupportsIndex, final

__version__: str

#: What functions taking a ``dtype`` accept: a name (``"float32"``), a
#: Python type, or a NumPy/PyTorch/JAX dtype object.
_DTypeLike = Any
#: A device name (``"cpu"``, ``"cuda:0"``), a DLPack ``(type, id)`` pair, a
#: ``torch.device`` or a JAX device.
_DeviceLike = str | tuple[int, int] | Any
_ShapeLike = SupportsIndex | Sequence[SupportsIndex]
_PathLike = str | bytes | os.PathLike[str] | os.PathLike[bytes]

@final
class Flags:
    """The flags of one tensor, read live (NumPy's ``ndarray.flags``):
    ``writeable`` (assignable, as ``Tensor.setflags(write=...)``),
    ``c_contiguous``, ``f_contiguous``, ``owndata``, ``aligned``; item
    access by NumPy's names (``flags["WRITEABLE"]``, ``flags["C"]``)."""

    writeable: bool
    @property
    def c_contiguous(self) -> bool: ...
    @property
    def f_contiguous(self) -> bool: ...
    @property
    def owndata(self) -> bool: ...
    @property
    def aligned(self) -> bool: ...
    def __getitem__(self, key: str, /) -> bool: ...
    def __setitem__(self, key: str, value: bool, /) -> None: ...

@final
class Tensor:
    """A strided view of typed memory, shared zero-copy with NumPy, PyTorch,
    JAX and C through DLPack.

    Create tensors with `asarray`, `from_dlpack`, `frombuffer`, `empty`,
    `zeros` or `arange`. Basic indexing gives views, advanced indexing gives
    copies, and the flag rules are those of NumPy.
    """

    @property
    def shape(self) -> tuple[int, ...]:
        """The size of each axis."""
    @property
    def strides(self) -> tuple[int, ...]:
        """Bytes to step in memory for one step along each axis (may be 0 or negative)."""
    @property
    def ndim(self) -> int:
        """Number of axes."""
    @property
    def size(self) -> int:
        """Number of elements."""
    @property
    def itemsize(self) -> int:
        """Bytes per element (0 for packed sub-byte types)."""
    @property
    def nbytes(self) -> int:
        """``size * itemsize`` bytes (the packed size for sub-byte types)."""
    @property
    def dtype(self) -> str:
        """The element type's name: ``"float32"``, ``"bfloat16"``, ``"bool"``, ..."""
    @property
    def device(self) -> str:
        """Where the memory lives: ``"cpu"``, ``"cuda:0"``, ..."""
    @property
    def flags(self) -> Flags:
        """The live flags."""
    @property
    def base(self) -> Tensor | None:
        """The tensor this view derives from (a root, as NumPy's ``base``), or
        ``None`` when it owns its data."""
    @property
    def data_ptr(self) -> int:
        """Address of element ``[0, ..., 0]`` (0 when the tensor has no elements)."""
    @property
    def T(self) -> Tensor:
        """The view with all axes reversed."""
    def setflags(self, write: bool | None = None, align: bool | None = None, uic: bool | None = None) -> None:
        """Sets or clears WRITEABLE (clearing always works; setting fails with
        ``ValueError`` on read-only memory or overlapping views)."""
    def flush(self) -> None:
        """Writes changes made through an ``"r+"``/``"w+"`` memory map back to
        its file and waits for them (nothing to do for other tensors)."""
    def info(self) -> str:
        """A diagnostic text: shape, strides, dtype, device, data pointer,
        flags, nbytes, base."""
    def transpose(self, *axes: SupportsIndex | Sequence[SupportsIndex] | None) -> Tensor:
        """The view with axes permuted (``axes[k]`` is the source of result
        axis ``k``); no arguments reverses them."""
    def permute(self, *axes: SupportsIndex | Sequence[SupportsIndex]) -> Tensor:
        """Alias of `transpose` with explicit axes (PyTorch's name)."""
    def reshape(self, *shape: SupportsIndex | Sequence[SupportsIndex], copy: bool | None = None) -> Tensor:
        """The tensor with a new shape (one entry may be -1): a view when the
        layout allows it, otherwise a C-order copy (``copy=False`` forbids
        the copy: ``BufferError``; ``copy=True`` always copies)."""
    def squeeze(self, axis: SupportsIndex | Sequence[SupportsIndex] | None = None) -> Tensor:
        """The view without the given size-1 axes (all of them by default)."""
    def flip(self, axis: SupportsIndex | Sequence[SupportsIndex] | None = None) -> Tensor:
        """The view with the order of elements reversed along ``axis``
        (every axis by default)."""
    def copy(self, order: str = "C") -> Tensor:
        """A new writeable tensor with the same elements, in ``order``
        (``"C"``, ``"F"`` or ``"K"`` to keep the axis order)."""
    def to(self, device: _DeviceLike, *, copy: bool = False, order: str = "K") -> Tensor:
        """This tensor on ``device``: itself when it is there already
        (unless ``copy=True``), else a new compact tensor copied through the
        CUDA driver (``RuntimeError`` without one)."""
    def cpu(self) -> Tensor:
        """``self.to("cpu")``."""
    def astype(self, dtype: _DTypeLike, copy: bool = True, order: str = "K") -> Tensor:
        """The elements cast to ``dtype`` (NumPy's unsafe casting) in a new
        tensor; with ``copy=False`` the tensor itself when nothing changes."""
    def tolist(self) -> Any:
        """The elements as nested Python lists of ``bool``/``int``/``float``/``complex``."""
    def item(self, *args: SupportsIndex) -> Any:
        """One element as a Python scalar: ``t.item()`` for a one-element
        tensor, ``t.item(i, j)`` or ``t.item(flat_index)`` otherwise."""
    def __len__(self) -> int: ...
    def __iter__(self) -> Iterator[Tensor]: ...
    def __bool__(self) -> bool: ...
    def __int__(self) -> int: ...
    def __float__(self) -> float: ...
    def __complex__(self) -> complex: ...
    def __index__(self) -> int: ...
    def __copy__(self) -> Tensor: ...
    def __deepcopy__(self, memo: Any) -> Tensor: ...
    def __reduce__(self) -> tuple[Any, ...]: ...
    def __buffer__(self, flags: int, /) -> memoryview:
        """The buffer protocol (``memoryview(t)``): read-only views give
        read-only buffers, strided views strided ones."""
    def __array__(self, dtype: Any = None, copy: bool | None = None) -> Any:
        """NumPy conversion (``numpy.asarray(t)``): shares memory when it
        can, negative strides included."""
    @property
    def __array_interface__(self) -> dict[str, Any]:
        """NumPy's array interface (version 3), for host memory of a type
        NumPy knows."""
    def __getitem__(self, key: Any, /) -> Tensor:
        """NumPy indexing: a view for integers, slices, ``None`` and ``...``;
        a copy for integer or boolean index arrays, lists and scalars."""
    def __setitem__(self, key: Any, value: Any, /) -> None:
        """``t[key] = value``: ``value`` is broadcast and cast; the last of
        repeated indices wins."""
    def __dlpack__(
        self,
        *,
        stream: int | None = None,
        max_version: tuple[int, int] | None = None,
        dl_device: tuple[int, int] | None = None,
        copy: bool | None = None,
    ) -> Any:
        """A DLPack capsule of this tensor (docs/rules.md §6): versioned for
        ``max_version >= (1, 0)``, legacy otherwise; ``copy=False`` raises
        ``BufferError`` where a copy is needed."""
    def __dlpack_device__(self) -> tuple[int, int]:
        """The DLPack ``(device_type, device_id)`` of the memory."""
    #: dlview's DLPack C exchange API table (a ``"dlpack_exchange_api"``
    #: capsule) for C code.
    __dlpack_c_exchange_api__: Any

def from_dlpack(x: Any, *, copy: bool | None = None, device: _DeviceLike | None = None) -> Tensor:
    """A tensor sharing the memory of any DLPack producer (an object with
    ``__dlpack__``, or a raw ``"dltensor[_versioned]"`` capsule).

    Asks the producer for ``max_version=(1, 3)`` (and passes ``copy``, and
    for CUDA producers ``stream=1``), retrying without arguments if it
    raises ``TypeError``. ``copy=True`` always gives new memory (even from a
    producer that ignores the request), ``copy=False`` never copies
    (``BufferError`` if it would have to). A ``device`` other than the
    producer's is a copy dlview makes after importing. Legacy capsules are
    imported read-only. A capsule can be consumed once.
    """

def asarray(obj: Any, dtype: _DTypeLike | None = None, copy: bool | None = None) -> Tensor:
    """A tensor from ``obj``: a ``Tensor`` (itself), any DLPack producer, a
    DLPack capsule, a buffer-protocol object (shared zero-copy), an
    ``__array_interface__``/``__array__`` object (pandas), a NumPy scalar,
    or nested sequences of numbers (copied). ``dtype`` casts (a copy);
    ``copy=True`` always copies, ``copy=False`` raises ``BufferError``
    instead of copying, a dtype change included."""

def frombuffer(buffer: Any, dtype: _DTypeLike | None = None, count: int = -1, offset: int = 0) -> Tensor:
    """The bytes of a buffer as a 1-D tensor of ``dtype`` (float64 by
    default), zero-copy, as ``numpy.frombuffer``."""

def empty(shape: _ShapeLike, dtype: _DTypeLike | None = None, order: str = "C", *, device: _DeviceLike | None = None) -> Tensor:
    """A new writeable tensor of ``shape`` (float32 unless ``dtype``);
    contents unspecified."""

def zeros(shape: _ShapeLike, dtype: _DTypeLike | None = None, order: str = "C", *, device: _DeviceLike | None = None) -> Tensor:
    """A new writeable tensor of ``shape`` filled with zeros."""

def arange(start: float, stop: float | None = None, step: float | None = None, dtype: _DTypeLike | None = None) -> Tensor:
    """Evenly spaced values in ``[start, stop)``, as ``numpy.arange``."""

def expand_dims(t: Any, axis: SupportsIndex | Sequence[SupportsIndex]) -> Tensor:
    """A view with new size-1 axes at the positions ``axis`` (of the result)."""

def broadcast_to(t: Any, shape: _ShapeLike) -> Tensor:
    """A read-only view of ``t`` broadcast to ``shape`` (zero strides)."""

def as_strided(t: Any, shape: _ShapeLike | None = None, strides: Sequence[SupportsIndex] | None = None) -> Tensor:
    """A view with explicit ``shape`` and ``strides`` (in bytes) starting at
    ``t``'s first element, checked to stay inside its storage."""

def sliding_window_view(
    t: Any, window_shape: SupportsIndex | Sequence[SupportsIndex], axis: SupportsIndex | Sequence[SupportsIndex] | None = None
) -> Tensor:
    """A read-only view of every window of ``window_shape`` (NumPy's
    ``sliding_window_view``)."""

def ascontiguousarray(t: Any, dtype: _DTypeLike | None = None) -> Tensor:
    """``t`` itself when it is C-contiguous (and of ``dtype``), else a C-order copy."""

def asfortranarray(t: Any, dtype: _DTypeLike | None = None) -> Tensor:
    """``t`` itself when it is F-contiguous (and of ``dtype``), else an F-order copy."""

def shares_memory(a: Any, b: Any) -> bool:
    """Whether some byte belongs to an element of both."""

def may_share_memory(a: Any, b: Any) -> bool:
    """Whether the byte ranges of the two tensors overlap."""

def take(t: Any, indices: Any, axis: SupportsIndex | None = None) -> Tensor:
    """A new tensor with the entries ``indices`` along ``axis``, as ``numpy.take``."""

def live_storage_count() -> int:
    """How many storages dlview holds right now in this process (leak tests)."""

def set_num_threads(n: SupportsIndex) -> None:
    """Sets how many threads large copies and casts use (0: every core)."""

def get_num_threads() -> int:
    """The number of threads large copies use."""

def load(path: _PathLike, mmap_mode: str | None = None) -> Tensor:
    """Reads a ``.npy`` file; ``mmap_mode`` ``None``, ``"r"``, ``"r+"`` or ``"c"`` as in NumPy."""

def save(path: _PathLike, t: Any) -> None:
    """Writes ``t`` to ``path`` as a ``.npy`` file (atomically)."""

def memmap(
    path: _PathLike,
    dtype: _DTypeLike | None = None,
    mode: str | None = None,
    offset: int | None = None,
    shape: _ShapeLike | None = None,
    order: str = "C",
) -> Tensor:
    """Maps a raw file (no header) as a tensor, like ``numpy.memmap``
    (``dtype`` uint8 and ``mode`` ``"r+"`` unless given)."""

def cuda_is_available() -> bool:
    """True when a CUDA driver with at least one device is loaded."""

def cuda_device_count() -> int:
    """The number of CUDA devices (0 without a usable driver)."""

def cuda_synchronize(device: int = 0) -> None:
    """Waits until everything dlview queued on CUDA device ``device`` is done."""

def cuda_mem_get_info(device: int = 0) -> tuple[int, int]:
    """``(free, total)`` bytes of CUDA device ``device``."""

def get_include() -> str:
    """The directory of ``dlview.h`` and ``dlview.hpp`` (``-I`` for C/C++ extensions)."""

def get_library_dir() -> str:
    """The directory of ``libdlview.so`` (under its soname) and ``pkgconfig/``."""

def get_cmake_dir() -> str:
    """The directory of the CMake package (``find_package(dlview)``)."""

def _cli(args: list[str]) -> str: ...

@final
class _NegativeStridesExport:
    def __new__(cls, t: Tensor) -> _NegativeStridesExport: ...
    def __dlpack__(
        self,
        *,
        stream: int | None = None,
        max_version: tuple[int, int] | None = None,
        dl_device: tuple[int, int] | None = None,
        copy: bool | None = None,
    ) -> Any: ...
    def __dlpack_device__(self) -> tuple[int, int]: ...

def _from_bytes(data: bytes, dtype: str, shape: Sequence[int]) -> Tensor: ...
