"""Every dtype each framework can exchange survives round trips unchanged
(values and dtype names), zero-copy."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import torch

import dlview as dv

jax.config.update("jax_enable_x64", True)

COMMON = [
    "bool",
    "int8",
    "int16",
    "int32",
    "int64",
    "uint8",
    "uint16",
    "uint32",
    "uint64",
    "float16",
    "float32",
    "float64",
    "complex64",
    "complex128",
]
NUMPY = COMMON
TORCH = COMMON + ["bfloat16", "float8_e4m3fn", "float8_e5m2"]
JAX = COMMON + ["bfloat16", "float8_e4m3fn", "float8_e5m2"]


def values(dtype: str) -> list:
    if dtype == "bool":
        return [True, False, True, True, False, False]
    if dtype.startswith("complex"):
        return [complex(i, -i) for i in range(6)]
    return [float(i) for i in range(6)] if "float" in dtype else list(range(6))


def as_python(v):
    return v


@pytest.mark.parametrize("dtype", NUMPY)
def test_numpy_round_trip(dtype):
    a = np.array(values(dtype), dtype=dtype).reshape(2, 3)
    t = dv.from_dlpack(a)
    assert t.dtype == dtype and t.itemsize == a.itemsize
    assert t.data_ptr == a.ctypes.data
    assert t.tolist() == a.tolist()
    back = np.from_dlpack(t)
    assert back.dtype == a.dtype and back.ctypes.data == a.ctypes.data
    assert back.tolist() == a.tolist()


@pytest.mark.parametrize("dtype", TORCH)
def test_torch_round_trip(dtype):
    tdt = getattr(torch, dtype)
    v = values(dtype)
    if dtype.startswith("float8"):
        x = torch.tensor(v, dtype=torch.float32).to(tdt).reshape(2, 3)
    elif dtype.startswith("uint") and dtype != "uint8":
        x = torch.tensor(v, dtype=torch.int64).to(tdt).reshape(2, 3)
    else:
        x = torch.tensor(v, dtype=tdt).reshape(2, 3)
    t = dv.from_dlpack(x)
    assert t.dtype == dtype and t.itemsize == x.element_size()
    assert t.data_ptr == x.data_ptr()
    widened = x.to(torch.float32) if dtype in ("bfloat16", "float8_e4m3fn", "float8_e5m2") else x
    if dtype.startswith("uint") and dtype != "uint8":
        widened = x.to(torch.int64)
    assert t.tolist() == widened.tolist()
    back = torch.from_dlpack(t)
    assert back.dtype == tdt and back.data_ptr() == x.data_ptr()
    assert torch.equal(back.view(torch.uint8), x.view(torch.uint8))


@pytest.mark.parametrize("dtype", JAX)
def test_jax_round_trip(dtype):
    v = values(dtype)
    x = jnp.asarray(np.array(v, dtype=np.float64 if "float" in dtype and not dtype.startswith("float") else None)).astype(dtype).reshape(2, 3)
    t = dv.from_dlpack(x)
    assert t.dtype == dtype
    assert t.data_ptr == x.unsafe_buffer_pointer()
    expected = np.asarray(x.astype(jnp.float32)) if dtype in ("bfloat16", "float8_e4m3fn", "float8_e5m2") else np.asarray(x)
    assert t.tolist() == expected.tolist()
    back = jnp.from_dlpack(t.copy())  # JAX wants a writeable legacy export
    assert str(back.dtype) == dtype
    assert bool(jnp.all(back == x))


@pytest.mark.parametrize("dtype", sorted(set(TORCH) - {"bool"}))
def test_dlview_made_tensors_reach_torch(dtype):
    t = dv.arange(6, dtype="float64").astype(dtype)
    x = torch.from_dlpack(t)
    assert str(x.dtype) == f"torch.{dtype}"
    assert x.data_ptr() == t.data_ptr
    ref = torch.arange(6, dtype=torch.float64)
    if dtype.startswith("complex"):
        assert x.tolist() == ref.to(getattr(torch, dtype)).tolist()
    else:
        assert x.to(torch.float64).tolist() == ref.tolist()


def test_dtype_spellings():
    assert dv.zeros(2, dtype=np.float32).dtype == "float32"
    assert dv.zeros(2, dtype=np.dtype("int16")).dtype == "int16"
    assert dv.zeros(2, dtype=torch.bfloat16).dtype == "bfloat16"
    assert dv.zeros(2, dtype=jnp.float8_e4m3fn).dtype == "float8_e4m3fn"
    assert dv.zeros(2, dtype=bool).dtype == "bool"
    assert dv.zeros(2, dtype=complex).dtype == "complex128"
    assert dv.zeros(2, dtype="f4").dtype == "float32"
    with pytest.raises(BufferError, match="unknown dtype"):
        dv.zeros(2, dtype="float128")
