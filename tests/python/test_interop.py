"""Zero-copy exchange with NumPy, PyTorch and JAX, both ways, for every layout,
and what each framework accepts (RULES.md §6's table, measured against the
installed versions).

Measured with numpy 2.4.6, torch 2.15.0, jax 0.10.2. Where the result
differs from the table in RULES.md §6 the test asserts what really happens
and says so:

* JAX's ``from_dlpack`` calls ``__dlpack__(stream=None)`` only (legacy), so a
  read-only dlview tensor reaches it as a writeable copy (RULES §4), not as a
  BufferError; a broadcast (zero-stride) dlview view is read-only, so JAX
  gets a compact copy of it too. Raw zero strides (from PyTorch) are
  rejected by JAX, as the table says, and so are non-compact slices
  (``t[:, ::2]``): JAX takes only permutations of a dense buffer.
* NumPy rejects bfloat16/float8 with ``RuntimeError("Unsupported dtype in
  DLTensor.")``, not ``BufferError``.
* As producers, NumPy and PyTorch honour ``max_version`` (versioned
  capsules); JAX ignores it and always returns a legacy ``"dltensor"``.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import torch

import dlview as dv
from dlview._native import _NegativeStridesExport as RawExport

jax.config.update("jax_enable_x64", True)


def torch_ptr(x: torch.Tensor) -> int:
    return x.data_ptr()


def jax_ptr(x) -> int:
    return x.unsafe_buffer_pointer()


def byte_strides_torch(x: torch.Tensor) -> tuple[int, ...]:
    return tuple(s * x.element_size() for s in x.stride())


# ---- producers: NumPy, PyTorch, JAX -> dlview ------------------------------------------


def numpy_layouts():
    base = np.arange(60, dtype=np.float32).reshape(3, 4, 5)
    return {
        "c": base,
        "fortran": np.asfortranarray(base),
        "sliced-step2": base[:, ::2, 1::2],
        "transposed": base.transpose(2, 0, 1),
        "0-d": np.array(7.5, dtype=np.float32),
        "size-0": np.zeros((3, 0, 2), dtype=np.float32),
        "broadcast": np.broadcast_to(np.arange(5, dtype=np.float32), (4, 5)),
        "negative": base[::-1, :, ::-2],
    }


def torch_layouts():
    base = torch.arange(60, dtype=torch.float32).reshape(3, 4, 5)
    return {
        "c": base,
        "fortran": base.permute(2, 1, 0).contiguous().permute(2, 1, 0),
        "sliced-step2": base[:, ::2, 1::2],
        "transposed": base.permute(2, 0, 1),
        "0-d": torch.tensor(7.5),
        "size-0": torch.zeros(3, 0, 2),
        "broadcast": torch.arange(5, dtype=torch.float32).expand(4, 5),
    }


@pytest.mark.parametrize("name", list(numpy_layouts()))
def test_numpy_to_dlview_shares(name):
    a = numpy_layouts()[name]
    t = dv.from_dlpack(a)
    assert t.shape == a.shape
    assert t.tolist() == a.tolist()
    if a.size:
        assert t.data_ptr == a.ctypes.data
        assert t.strides == a.strides
    assert t.flags.writeable == a.flags.writeable
    if a.flags.writeable and a.size:
        idx = (0,) * a.ndim
        t[idx] = -1.0
        assert a[idx] == -1.0
        a[idx] = -2.0
        assert t[idx].item() == -2.0


@pytest.mark.parametrize("name", list(torch_layouts()))
def test_torch_to_dlview_shares(name):
    x = torch_layouts()[name]
    t = dv.from_dlpack(x)
    assert t.shape == tuple(x.shape)
    assert t.tolist() == x.tolist()
    if x.numel():
        assert t.data_ptr == torch_ptr(x)
        assert t.strides == byte_strides_torch(x)
    if name == "broadcast":
        assert not t.flags.writeable  # zero strides: overlapping, read-only (RULES 2.3)
    elif x.numel():
        assert t.flags.writeable  # torch exports versioned, writeable
        idx = (0,) * x.ndim
        t[idx] = -1.0
        assert x[idx].item() == -1.0
        x[idx] = -2.0
        assert t[idx].item() == -2.0


@pytest.mark.parametrize("name", ["c", "0-d", "size-0", "matrix"])
def test_jax_to_dlview_shares_read_only(name):
    x = {
        "c": jnp.arange(12.0).reshape(3, 4),
        "0-d": jnp.array(3.0),
        "size-0": jnp.zeros((0, 3)),
        "matrix": jnp.ones((5, 7), dtype=jnp.int32),
    }[name]
    t = dv.from_dlpack(x)
    assert t.shape == x.shape
    assert t.tolist() == np.asarray(x).tolist()
    if x.size:
        assert t.data_ptr == jax_ptr(x)
    assert not t.flags.writeable  # JAX arrays arrive read-only (legacy capsule)
    with pytest.raises(ValueError, match="read-only"):
        t.setflags(write=True)
    if x.ndim:
        with pytest.raises(ValueError, match="assignment destination is read-only"):
            t[0] = 1


# ---- consumers: dlview -> NumPy, PyTorch, JAX ------------------------------------------


def dlview_layouts():
    base = dv.arange(60, dtype="float32").reshape(3, 4, 5)
    return {
        "c": base,
        "fortran": base.copy("F"),
        "sliced-step2": base[:, ::2, 1::2],
        "transposed": base.transpose(2, 0, 1),
        "0-d": dv.asarray(7.5, dtype="float32"),
        "size-0": dv.zeros((3, 0, 2)),
        "broadcast": dv.broadcast_to(dv.arange(5, dtype="float32"), (4, 5)),
        "negative": base[::-1, :, ::-2],
    }


@pytest.mark.parametrize("name", list(dlview_layouts()))
def test_dlview_to_torch(name):
    t = dlview_layouts()[name]
    x = torch.from_dlpack(t)
    assert tuple(x.shape) == t.shape
    assert x.tolist() == t.tolist()
    if name == "negative":
        # PyTorch rejects negative strides, so copy=None exports a compact copy.
        assert torch_ptr(x) != t.data_ptr
        with pytest.raises(BufferError, match="negative strides"):
            torch.from_dlpack(t, copy=False)
        return
    if t.size:
        assert torch_ptr(x) == t.data_ptr
        assert byte_strides_torch(x) == t.strides
        if t.flags.writeable:
            idx = (0,) * t.ndim
            x[idx] = -3.0
            assert t[idx].item() == -3.0
            t[idx] = -4.0
            assert x[idx].item() == -4.0


@pytest.mark.parametrize("name", list(dlview_layouts()))
def test_dlview_to_numpy(name):
    t = dlview_layouts()[name]
    a = np.from_dlpack(t)
    assert a.shape == t.shape
    assert a.tolist() == t.tolist()
    assert a.flags.writeable == t.flags.writeable
    if name == "negative":
        # __dlpack__ cannot know its consumer accepts negative strides: a copy.
        assert a.ctypes.data != t.data_ptr
        # np.asarray goes through __array__, which exports them as they are.
        b = np.asarray(t)
        assert b.ctypes.data == t.data_ptr and b.strides == t.strides
        return
    if t.size:
        assert a.ctypes.data == t.data_ptr
        assert a.strides == t.strides
        if t.flags.writeable:
            idx = (0,) * t.ndim
            a[idx] = -3.0
            assert t[idx].item() == -3.0


@pytest.mark.parametrize("name", list(dlview_layouts()))
def test_dlview_to_jax(name):
    t = dlview_layouts()[name]
    if name == "sliced-step2":
        # JAX accepts only compact layouts (permutations of a dense buffer).
        with pytest.raises(Exception, match="compact"):
            jnp.from_dlpack(t)
        return
    x = jnp.from_dlpack(t)
    assert x.shape == t.shape
    assert np.asarray(x).tolist() == t.tolist()
    if name == "c":
        assert jax_ptr(x) == t.data_ptr
    if name == "broadcast":
        assert jax_ptr(x) != t.data_ptr  # read-only: a legacy export is a copy


def test_round_trip_one_pointer():
    t = dv.arange(12, dtype="float64").reshape(3, 4)
    x = torch.from_dlpack(t)
    a = np.from_dlpack(x)
    back = dv.from_dlpack(a)
    assert t.data_ptr == torch_ptr(x) == a.ctypes.data == back.data_ptr
    back[1, 1] = 100.0
    assert t[1, 1].item() == x[1, 1].item() == a[1, 1] == 100.0


def test_own_export_comes_back_as_the_same_memory():
    t = dv.arange(6, dtype="int32")
    again = dv.from_dlpack(t)
    assert again.data_ptr == t.data_ptr and again.flags.writeable
    assert dv.shares_memory(t, again)


# ---- the framework table (RULES.md §6), measured ----------------------------------------


# RawExport(t): a producer that hands out dlview's capsule with negative
# strides kept, to measure what each consumer does with them.


def read_only_tensor() -> dv.Tensor:
    t = dv.arange(12, dtype="float32").reshape(3, 4)
    t.setflags(write=False)
    return t


def test_table_read_only_versioned():
    t = read_only_tensor()
    x = torch.from_dlpack(t)  # accepts, ignores the flag
    assert torch_ptr(x) == t.data_ptr
    a = np.from_dlpack(t)  # read-only array
    assert a.ctypes.data == t.data_ptr and not a.flags.writeable
    j = jnp.from_dlpack(t)  # asks legacy only: dlview exports a writeable copy
    assert jax_ptr(j) != t.data_ptr and np.asarray(j).tolist() == t.tolist()
    with pytest.raises(BufferError, match="read-only"):
        t.__dlpack__(copy=False)  # what JAX would get under copy=False


def test_table_negative_strides():
    t = dv.arange(12, dtype="float32").reshape(3, 4)[:, ::-1]
    with pytest.raises(RuntimeError, match="Storage size calculation overflowed"):
        torch.from_dlpack(RawExport(t))
    a = np.from_dlpack(RawExport(t))
    assert a.ctypes.data == t.data_ptr and a.strides == (16, -4)
    with pytest.raises(Exception, match="compact"):
        jnp.from_dlpack(RawExport(t))


def test_table_zero_strides():
    t = dv.broadcast_to(dv.arange(4, dtype="float32"), (3, 4))
    x = torch.from_dlpack(t)
    assert torch_ptr(x) == t.data_ptr and x.stride() == (0, 1)
    a = np.from_dlpack(t)
    assert a.ctypes.data == t.data_ptr and a.strides == (0, 4)
    with pytest.raises(Exception, match="compact"):
        jnp.from_dlpack(torch.arange(4.0).expand(3, 4))  # raw zero strides


@pytest.mark.parametrize("layout", ["fortran", "transposed"])
def test_table_fortran_and_transposed(layout):
    base = dv.arange(12, dtype="float32").reshape(3, 4)
    t = base.copy("F") if layout == "fortran" else base.T
    x = torch.from_dlpack(t)
    assert torch_ptr(x) == t.data_ptr and byte_strides_torch(x) == t.strides
    a = np.from_dlpack(t)
    assert a.ctypes.data == t.data_ptr and a.strides == t.strides
    j = jnp.from_dlpack(t)  # permutations accepted (JAX may still copy)
    assert np.asarray(j).tolist() == t.tolist()


@pytest.mark.parametrize("dtype", ["bfloat16", "float8_e4m3fn", "float8_e5m2"])
def test_table_bfloat16_float8(dtype):
    t = dv.arange(8, dtype="float32").astype(dtype)
    x = torch.from_dlpack(t)
    assert torch_ptr(x) == t.data_ptr and str(x.dtype) == f"torch.{dtype}"
    assert x.float().tolist() == t.astype("float32").tolist()
    with pytest.raises(RuntimeError, match="Unsupported dtype"):
        np.from_dlpack(t)
    j = jnp.from_dlpack(t)
    assert str(j.dtype) == dtype
    assert np.asarray(j.astype(jnp.float32)).tolist() == t.astype("float32").tolist()


def test_producers_and_capsule_names():
    assert "dltensor_versioned" in repr(np.arange(3).__dlpack__(max_version=(1, 3)))
    assert "dltensor_versioned" in repr(torch.arange(3).__dlpack__(max_version=(1, 3)))
    assert '"dltensor"' in repr(jnp.arange(3).__dlpack__(max_version=(1, 3)))  # ignores max_version
