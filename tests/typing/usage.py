"""What a user's type checker sees of dlview (checked by `make typecheck`
with mypy --strict and pyright, against python/dlview/_native.pyi)."""

from __future__ import annotations

from typing import Any, assert_type

import dlview as dv


def exchange(x: Any) -> dv.Tensor:
    t = dv.from_dlpack(x)
    assert_type(t, dv.Tensor)
    assert_type(t.shape, tuple[int, ...])
    assert_type(t.strides, tuple[int, ...])
    assert_type(t.dtype, str)
    assert_type(t.flags.writeable, bool)
    assert_type(t.base, dv.Tensor | None)
    assert_type(t[1:, ::2], dv.Tensor)
    assert_type(t.T.reshape(-1), dv.Tensor)
    assert_type(t.__dlpack_device__(), tuple[int, int])
    assert_type(dv.asarray([1, 2, 3], dtype="float32", copy=None), dv.Tensor)
    assert_type(dv.frombuffer(b"\0\0\0\0", dtype="int32"), dv.Tensor)
    assert_type(dv.zeros((2, 3)).tolist(), Any)
    assert_type(dv.get_include(), str)
    assert_type(dv.shares_memory(t, x), bool)
    with memoryview(t) as m:
        assert_type(m, memoryview)
    return t.copy("F").astype("float64")
