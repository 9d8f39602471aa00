"""The DLPack Python protocol (docs/rules.md §6): ``__dlpack__``,
``__dlpack_device__`` and ``from_dlpack``.

Capsules are made and consumed by the library (``dlv_py_tensor_to_capsule``,
``dlv_py_tensor_from_capsule``), and their destructor is the library's
``dlv_py_capsule_destructor``: no Python code runs when a capsule dies, and
the name check, the rename to ``used_dltensor[_versioned]`` and the import
happen in one call under the GIL, so a capsule is never consumed twice.

This module also provides the handle-owning base class of ``Tensor``: the
compiled ``dlview._ext.TensorBase`` when available (fast ``__dlpack__``),
else the pure-ctypes ``CTypesBase`` below.
"""

from __future__ import annotations

import ctypes
import operator
import os
from ctypes import byref, c_void_p, py_object
from typing import TYPE_CHECKING, Any, Callable

from . import _lib
from ._dtypes import DeviceLike, device_name, device_struct
from ._lib import ExportOptions, ImportOptions, pyapi, pydll, raise_status

if TYPE_CHECKING:
    from ._tensor import Tensor

__all__ = ["CTypesBase", "TensorBase", "export_capsule", "from_dlpack", "py_from_dlpack", "new_handle_wrapper", "bind_extension", "EXTENSION"]

#: The largest DLPack version this package asks producers for.
MAX_VERSION = (1, 3)


def _require_dlpack() -> None:
    if not _lib.HAS_DLPACK:
        raise BufferError(f"the loaded library ({_lib.library_path}) has no DLPack support (dlv_py_* calls missing)")


def _wants_versioned(max_version: Any) -> bool:
    if max_version is None:
        return False
    try:
        major = int(max_version[0])
        int(max_version[1])
    except (TypeError, ValueError, IndexError):
        raise TypeError(f"max_version must be a (major, minor) tuple of ints, got {max_version!r}") from None
    return major >= 1


def _steal(address: int) -> Any:
    """The object behind a new reference returned by C, taking that reference over."""
    obj = ctypes.cast(address, py_object).value  # one more reference...
    pyapi.Py_DecRef(obj)  # ...and the C one given back
    return obj


def _stream_arg(stream: Any) -> int:
    """A consumer's stream as an int (its value is checked by the library)."""
    if isinstance(stream, bool):
        raise TypeError(f"stream must be None or an int, got {stream!r}")
    try:
        return operator.index(stream)
    except TypeError:
        raise TypeError(f"stream must be None or an int, got {type(stream).__name__}") from None


def _same(a: Any, b: Any) -> bool:
    return (a.device_type, a.device_id) == (b.device_type, b.device_id)


def _cross_device_copy(t: "Tensor", want: Any) -> "Tensor":
    """``t.to(want)``, a failure being the protocol's ``BufferError``."""
    try:
        return t.to((want.device_type, want.device_id))
    except (RuntimeError, BufferError, ValueError) as e:
        src = pydll.dlv_tensor_device(t._h)
        raise BufferError(f"dlview cannot copy a tensor from {device_name(src)} to {device_name(want)}: {e}") from e


def wait_on_stream(device: Any, stream: int) -> None:
    """The producer's half of docs/rules.md §6 for CUDA: the consumer's ``stream``
    (1 legacy default, 2 per-thread default, >2 a handle, -1 no sync; 0 is
    refused with ``ValueError``) waits for dlview's pending work."""
    status = pydll.dlv_cuda_stream_wait(device, stream)
    if status:
        raise_status(status)


def export_capsule(
    t: "Tensor",
    *,
    stream: Any = None,
    max_version: Any = None,
    dl_device: Any = None,
    copy: "bool | None" = None,
    allow_negative_strides: bool = False,
) -> Any:
    """``t.__dlpack__(...)``: a ``"dltensor_versioned"`` capsule when
    ``max_version >= (1, 0)``, else a legacy ``"dltensor"`` one. A
    ``dl_device`` other than the tensor's is a cross-device copy (unless
    ``copy=False``: ``BufferError``); for CUDA memory the consumer's
    ``stream`` is made to wait for dlview's pending work."""
    _require_dlpack()
    h = t._h
    dev = pydll.dlv_tensor_device(h)
    versioned = _wants_versioned(max_version)
    mode = _lib.COPY_IF_NEEDED if copy is None else _lib.COPY_ALWAYS if copy else _lib.COPY_NEVER
    target = dev
    if dl_device is not None:
        want = device_struct(dl_device)
        if not _same(want, dev):
            if copy is False:
                raise BufferError(
                    f"cannot share: the tensor is on {device_name(dev)} and dl_device asks for "
                    f"{device_name(want)} (pass copy=None/True)"
                )
            target = want
    # The stream is the consumer's, on the device the capsule will be on.
    if stream is not None:
        if target.device_type == _lib.KDLCPU:
            raise ValueError(f"stream must be None for a tensor on the CPU, got {stream!r}")
        stream = _stream_arg(stream)
    if target is not dev:
        t = _cross_device_copy(t, target)
        h, mode = t._h, _lib.COPY_IF_NEEDED
    opts = ExportOptions(mode, allow_negative_strides)
    out = c_void_p()
    status = pydll.dlv_py_tensor_to_capsule(h, byref(opts), versioned, byref(out))
    if status:
        raise_status(status)
    capsule = _steal(out.value)
    if stream is not None and target.device_type in _lib.CUDA_STREAM_DEVICES:
        wait_on_stream(target, stream)  # after any copy the export made
    return capsule


def _holds_host_memory(x: Any) -> bool:
    """True for producers known to hold memory no CUDA stream orders: NumPy
    arrays, and torch tensors whose ``is_cuda`` is False (ROCm tensors say
    True). For them the DLPack device query, 2.6 µs on a torch tensor and
    so most of an exchange, is skipped when no ``device`` was asked for."""
    if type(x).__module__ == "numpy":
        return True
    return getattr(x, "is_cuda", None) is False


def _producer_device(x: Any) -> "tuple[int, int] | None":
    get = getattr(x, "__dlpack_device__", None)
    if get is None:
        return None
    try:
        kind, index = get()
        return (int(kind), int(index))
    except Exception:
        return None


def py_from_dlpack(x: Any, *, copy: "bool | None" = None, device: "DeviceLike | None" = None) -> "Tensor":
    """A tensor sharing the memory of any DLPack producer (an object with
    ``__dlpack__``, or a raw ``"dltensor[_versioned]"`` capsule).

    Asks the producer for ``max_version=(1, 3)`` (and passes ``copy``, and
    for CUDA producers ``stream=1``: dlview works on the legacy default
    stream, so the producer makes it wait for its pending work), retrying
    without arguments if it raises ``TypeError``. ``copy=True`` always gives
    a new buffer, ``copy=False`` never copies (``BufferError`` if the
    producer would have to). A ``device`` other than the producer's is a
    copy dlview makes after importing (``BufferError`` with ``copy=False``
    or when it cannot). Legacy (unversioned) capsules cannot say whether
    they may be written, so they are imported read-only. A capsule can be
    consumed once; a second use raises ``ValueError``.
    """
    from ._tensor import derive

    _require_dlpack()
    want = None if device is None else device_struct(device)
    honoured = False
    cross = False
    if type(x).__name__ == "PyCapsule":
        capsule = x
    else:
        producer = getattr(x, "__dlpack__", None)
        if producer is None:
            raise TypeError(f"{type(x).__name__} does not support the DLPack protocol (no __dlpack__ method)")
        src = None if want is None and _holds_host_memory(x) else _producer_device(x)
        kwargs: dict[str, Any] = {"max_version": MAX_VERSION}
        if want is not None and src is not None and src != (want.device_type, want.device_id):
            if copy is False:
                raise BufferError(
                    f"cannot share: the producer's tensor is on {device_name(_lib.DLDevice(*src))} and "
                    f"device={device_name(want)} was asked (pass copy=None/True)"
                )
            cross = True  # import as it is, then copy across
        elif copy is not None:
            kwargs["copy"] = copy
        if src is not None and src[0] in _lib.CUDA_STREAM_DEVICES:
            kwargs["stream"] = 1
        try:
            capsule = producer(**kwargs)
            honoured = True
        except TypeError:
            capsule = producer()
    if copy is None or cross:
        mode = _lib.COPY_IF_NEEDED
    elif copy:
        mode = _lib.COPY_IF_NEEDED if honoured else _lib.COPY_ALWAYS
    else:
        mode = _lib.COPY_NEVER
    opts = ImportOptions(mode, False)
    t = derive(pydll.dlv_py_tensor_from_capsule, capsule, byref(opts))
    if want is not None:
        got = pydll.dlv_tensor_device(t._h)
        if not _same(got, want):
            if copy is False:
                raise BufferError(f"the producer exported a tensor on {device_name(got)}, not on {device_name(want)}")
            t = _cross_device_copy(t, want)
    return t


class CTypesBase:
    """Owns one ``dlv_tensor*`` and implements the DLPack protocol with ctypes."""

    # The metadata caches of Tensor live here too (as in the C base), so
    # that Tensor itself adds no slots.
    __slots__ = ("_h", "_shape", "_strides", "_dt", "__weakref__")
    _h: int

    def __del__(self, _free: Callable[[int], None] = pydll.dlv_tensor_free) -> None:
        try:
            h = self._h
        except AttributeError:
            return
        if h:
            self._h = 0
            _free(h)

    def __dlpack_device__(self) -> tuple[int, int]:
        """The DLPack ``(device_type, device_id)`` of the memory."""
        d = pydll.dlv_tensor_device(self._h)
        return (d.device_type, d.device_id)

    def __dlpack__(
        self,
        *,
        stream: Any = None,
        max_version: "tuple[int, int] | None" = None,
        dl_device: "tuple[int, int] | None" = None,
        copy: "bool | None" = None,
    ) -> Any:
        """A DLPack capsule of this tensor (docs/rules.md §6): versioned for
        ``max_version >= (1, 0)``, legacy otherwise; read-only tensors reach
        legacy consumers only as a copy, negative strides only as a compact
        copy; ``copy=False`` raises ``BufferError`` where a copy is needed."""
        return export_capsule(self, stream=stream, max_version=max_version, dl_device=dl_device, copy=copy)  # type: ignore[arg-type]


def _ctypes_wrapper(cls: type) -> Callable[[type, int], Any]:
    new = object.__new__

    def make(cls: type, handle: int) -> Any:
        t = new(cls)
        t._h = handle
        return t

    return make


EXTENSION: Any = None
if os.environ.get("DLVIEW_PURE_PYTHON", "") not in ("1", "true", "yes") and _lib.HAS_DLPACK:
    try:
        from . import _ext as EXTENSION  # type: ignore[attr-defined,no-redef]
    except ImportError:
        EXTENSION = None

if EXTENSION is not None:
    TensorBase: type = EXTENSION.TensorBase
    #: ``from_dlpack`` in C (it hands uncommon arguments to ``py_from_dlpack``).
    from_dlpack = EXTENSION.from_dlpack

    def new_handle_wrapper(cls: type) -> Callable[[type, int], Any]:
        """``make(cls, handle)``: a new instance owning ``handle``."""
        return EXTENSION.wrap  # type: ignore[no-any-return]

else:
    TensorBase = CTypesBase
    new_handle_wrapper = _ctypes_wrapper
    from_dlpack = py_from_dlpack


def bind_extension(tensor_class: type) -> None:
    """Connects the C extension (if used) to the library and to ``Tensor``."""
    if EXTENSION is not None:
        EXTENSION._bind(_lib.library_path, tensor_class, _lib.raise_status, export_capsule, py_from_dlpack)
