"""Views, indexing, flags and item assignment, with NumPy as the oracle.

Each test runs the same operation on a NumPy array and on a dlview tensor
sharing its memory (imported through DLPack), then compares values,
shapes, byte strides, flags and data pointers.
"""

from __future__ import annotations

import numpy as np
import pytest

import dlview as dv

FLAGS = ("writeable", "c_contiguous", "f_contiguous", "aligned")


def shared(a: np.ndarray) -> dv.Tensor:
    t = dv.from_dlpack(a, copy=False)
    assert t.data_ptr == (a.ctypes.data if a.size else 0)
    return t


def assert_same_view(t: dv.Tensor, r: np.ndarray, *, flags: bool = True) -> None:
    """``t`` looks exactly like the NumPy result ``r`` and aliases its memory."""
    assert isinstance(t, dv.Tensor)
    assert t.shape == r.shape
    assert t.ndim == r.ndim
    assert t.size == r.size
    assert t.nbytes == r.nbytes
    assert t.itemsize == r.itemsize
    assert t.dtype == str(r.dtype)
    assert t.tolist() == r.tolist()
    if r.size:
        assert t.strides == r.strides or any(n == 1 for n in r.shape)
        assert t.data_ptr == r.ctypes.data
    if flags:
        for f in FLAGS:
            assert getattr(t.flags, f) == getattr(r.flags, f), f
            assert t.flags[f.upper()] == r.flags[f.upper()], f


def assert_same_copy(t: dv.Tensor, r: np.ndarray) -> None:
    assert t.shape == r.shape
    assert t.dtype == str(r.dtype)
    assert t.tolist() == r.tolist()
    assert t.flags.writeable


@pytest.fixture
def pair():
    a = np.arange(2 * 3 * 4 * 5, dtype=np.float64).reshape(2, 3, 4, 5)
    return a, shared(a)


BASIC = [
    0,
    -1,
    1,
    (1, 2),
    (1, -1, 3, 4),
    slice(None),
    slice(1, None),
    slice(None, None, -1),
    (slice(None), slice(None, None, 2)),
    (slice(None), slice(2, 0, -1)),
    (Ellipsis, 1),
    (Ellipsis, slice(None, None, 3)),
    (1, Ellipsis, 2),
    (None,),
    (None, 0, None),
    (Ellipsis, None),
    (slice(None), None, slice(1, 3), Ellipsis, None),
    (slice(-100, 100),),
    (slice(3, 1),),
    (slice(None), slice(None), slice(None), slice(None, None, -2)),
    (0, 0, 0, 0),
    (),
    Ellipsis,
]


@pytest.mark.parametrize("key", BASIC, ids=repr)
def test_basic_indexing_is_a_view(pair, key):
    a, t = pair
    r, v = a[key], t[key]
    if np.isscalar(r) or r.ndim == 0:
        assert v.ndim == 0
        assert v.item() == (r.item() if hasattr(r, "item") else r)
        return
    assert_same_view(v, r)
    assert v.flags.owndata is False
    assert v.base is not None and v.base.data_ptr == t.data_ptr
    assert dv.shares_memory(v, t) == bool(v.size)


@pytest.mark.parametrize(
    "key",
    [
        [1, 0],
        [[0, 1], [1, 1]],
        (slice(None), [2, 0, 2]),
        (slice(None), [-1]),
        (Ellipsis, [4, 0]),
        (1, slice(None), [0, 3]),  # int and array separated: advanced axes first
        (1, [0, 2]),  # adjacent: in place
        (slice(None), 1, slice(None), [0, 1]),
        (slice(None), []),
    ],
    ids=repr,
)
def test_integer_array_indexing_copies(pair, key):
    a, t = pair
    r, v = a[key], t[key]
    assert_same_copy(v, r)
    assert not dv.shares_memory(v, t)


def test_integer_array_indexing_with_arrays(pair):
    a, t = pair
    idx = np.array([[2, 0]])
    assert_same_copy(t[:, :, idx], a[:, :, idx])
    assert_same_copy(t[dv.asarray([1, 1, 0])], a[[1, 1, 0]])


@pytest.mark.parametrize("shape_axes", [(0,), (1,), (0, 1), (1, 2), (2, 3), (0, 1, 2, 3)])
def test_boolean_masks_copy(pair, shape_axes):
    a, t = pair
    mask_shape = tuple(a.shape[i] for i in shape_axes)
    rng = np.random.default_rng(len(shape_axes) * 7 + shape_axes[0])
    mask = rng.random(mask_shape) > 0.5
    key = (slice(None),) * shape_axes[0] + (mask,)
    assert_same_copy(t[key], a[key])
    assert_same_copy(t[key[:-1] + (dv.asarray(mask),)], a[key])


def test_mask_from_comparison_of_numpy(pair):
    a, t = pair
    m = a > 60
    assert_same_copy(t[m], a[m])


def test_index_errors(pair):
    a, t = pair
    with pytest.raises(IndexError, match="index 5 is out of bounds for axis 1 with size 3"):
        t[0, 5]
    with pytest.raises(IndexError):
        a[0, 5]
    with pytest.raises(IndexError, match="too many indices"):
        t[0, 0, 0, 0, 0]
    with pytest.raises(IndexError, match="single ellipsis"):
        t[..., 0, ...]
    with pytest.raises(IndexError, match="integer"):
        t[[1.5]]
    with pytest.raises(IndexError, match="index 7 is out of bounds"):
        t[[0, 7]]
    with pytest.raises(IndexError, match="boolean index did not match"):
        t[np.ones(3, dtype=bool)]
    with pytest.raises(ValueError, match="step"):
        t[::0]
    with pytest.raises(IndexError):
        t["a"]
    with pytest.raises(IndexError, match="too many indices"):
        t[0, 0, 0, 0][0]


def test_transpose_permute_T(pair):
    a, t = pair
    assert_same_view(t.T, a.T)
    assert_same_view(t.transpose(), a.transpose())
    assert_same_view(t.transpose(1, 0, 3, 2), a.transpose(1, 0, 3, 2))
    assert_same_view(t.transpose((3, 1, 2, 0)), a.transpose((3, 1, 2, 0)))
    assert_same_view(t.transpose(-1, 0, 1, 2), a.transpose(-1, 0, 1, 2))
    with pytest.raises(ValueError):
        t.transpose(0, 0, 1, 2)
    with pytest.raises(ValueError):
        t.transpose(0, 1)


def test_reshape_views_and_copies(pair):
    a, t = pair
    assert_same_view(t.reshape(6, 20), a.reshape(6, 20))
    assert_same_view(t.reshape((-1, 5)), a.reshape((-1, 5)))
    assert_same_view(t.reshape(-1), a.reshape(-1))
    # A transposed view cannot be reshaped in place: a copy, as in NumPy.
    r = a.T.reshape(-1)
    v = t.T.reshape(-1)
    assert_same_copy(v, r)
    assert not dv.shares_memory(v, t)
    with pytest.raises(BufferError, match="cannot share"):
        t.T.reshape(-1, copy=False)
    c = t.reshape(120, copy=True)
    assert not dv.shares_memory(c, t)
    with pytest.raises(ValueError):
        t.reshape(7, 7)


def test_squeeze_expand_dims(pair):
    a, t = pair
    a1, t1 = a[:, :1, None, :, 2:3], t[:, :1, None, :, 2:3]
    assert_same_view(t1, a1)
    assert_same_view(t1.squeeze(), a1.squeeze())
    assert_same_view(t1.squeeze(1), a1.squeeze(1))
    assert_same_view(t1.squeeze((1, -1)), a1.squeeze((1, -1)))
    with pytest.raises(ValueError):
        t1.squeeze(0)
    assert_same_view(dv.expand_dims(t, 0), np.expand_dims(a, 0))
    assert_same_view(dv.expand_dims(t, -1), np.expand_dims(a, -1))
    assert_same_view(dv.expand_dims(t, (0, 3)), np.expand_dims(a, (0, 3)))


def test_flip(pair):
    a, t = pair
    assert_same_view(t.flip(0), np.flip(a, 0))
    assert_same_view(t.flip(-1), np.flip(a, -1))
    assert_same_view(t.flip((1, 2)), np.flip(a, (1, 2)))
    assert_same_view(t.flip(), np.flip(a))


def test_broadcast_to_is_read_only(pair):
    a, t = pair
    row = a[0, 0, 0]
    trow = t[0, 0, 0]
    assert_same_view(dv.broadcast_to(trow, (3, 5)), np.broadcast_to(row, (3, 5)))
    b = dv.broadcast_to(trow, (3, 5))
    assert b.strides == (0, 8)
    assert not b.flags.writeable
    with pytest.raises(ValueError, match="cannot broadcast"):
        dv.broadcast_to(trow, (3, 4))
    with pytest.raises(ValueError, match="overlap"):
        b.setflags(write=True)


def test_as_strided_in_bytes(pair):
    a, t = pair
    flat_a, flat_t = a.reshape(-1), t.reshape(-1)
    r = np.lib.stride_tricks.as_strided(flat_a, shape=(4, 3), strides=(16, 8), writeable=False)
    v = dv.as_strided(flat_t, (4, 3), (16, 8))
    assert_same_view(v, r)  # overlapping: read-only (RULES 2.3)
    nov = dv.as_strided(flat_t, (3, 2), (48, 8))
    rnov = np.lib.stride_tricks.as_strided(flat_a, shape=(3, 2), strides=(48, 8))
    assert_same_view(nov, rnov)
    assert nov.flags.writeable
    with pytest.raises(ValueError, match="multiple of the itemsize"):
        dv.as_strided(flat_t, (2,), (12,))
    with pytest.raises(ValueError, match="outside"):
        dv.as_strided(flat_t, (200,), (8,))
    with pytest.raises(ValueError, match="outside"):
        dv.as_strided(flat_t[10:], (2,), (-88,))


def test_sliding_window_view(pair):
    a, t = pair
    swv = np.lib.stride_tricks.sliding_window_view
    assert_same_view(dv.sliding_window_view(t, 3, axis=-1), swv(a, 3, axis=-1))
    assert_same_view(dv.sliding_window_view(t, (2, 2), axis=(1, 2)), swv(a, (2, 2), axis=(1, 2)))
    assert_same_view(dv.sliding_window_view(t, (1, 2, 3, 4)), swv(a, (1, 2, 3, 4)))
    with pytest.raises(ValueError):
        dv.sliding_window_view(t, 9, axis=1)


def test_contiguous_helpers(pair):
    a, t = pair
    assert dv.ascontiguousarray(t) is t
    c = dv.ascontiguousarray(t.T)
    assert_same_copy(c, np.ascontiguousarray(a.T))
    f = dv.asfortranarray(t)
    rf = np.asfortranarray(a)
    assert f.strides == rf.strides and f.tolist() == rf.tolist() and f.flags.f_contiguous
    assert dv.asfortranarray(f) is f


def test_copy_orders_and_astype(pair):
    a, t = pair
    v = t[:, ::2]
    for order in "CFK":
        c = v.copy(order)
        r = a[:, ::2].copy(order)
        assert c.strides == r.strides, order
        assert c.tolist() == r.tolist()
        assert c.flags.owndata and c.flags.writeable and c.base is None
    f = t.astype("float32")
    assert f.dtype == "float32" and f.tolist() == a.astype(np.float32).tolist()
    assert t.astype("float64", copy=False) is t
    assert t.astype(np.float64, copy=True) is not t
    i = (t - 0 if False else t).astype("int8")
    assert i.tolist() == a.astype(np.int8).tolist()


def test_shares_and_may_share_memory(pair):
    a, t = pair
    x, y = t[:, :, :, ::2], t[:, :, :, 1::2]
    assert dv.may_share_memory(x, y) == np.may_share_memory(a[..., ::2], a[..., 1::2])
    assert dv.shares_memory(x, y) == np.shares_memory(a[..., ::2], a[..., 1::2]) is False
    assert dv.shares_memory(t[0], t[0, 1])
    assert not dv.shares_memory(t[0], t[1])
    assert not dv.may_share_memory(t, t.copy())


def test_take(pair):
    a, t = pair
    assert_same_copy(dv.take(t, [3, 0, 3], axis=2), np.take(a, [3, 0, 3], axis=2))
    assert_same_copy(dv.take(t, [[1, 2], [7, 0]]), np.take(a, [[1, 2], [7, 0]]))
    assert_same_copy(dv.take(t, [-1], axis=0), np.take(a, [-1], axis=0))
    with pytest.raises(IndexError):
        dv.take(t, [9], axis=0)


# ---- flags ---------------------------------------------------------------------------


def test_flag_attributes_match_numpy():
    for a in [
        np.zeros((3, 4)),
        np.zeros((3, 4), order="F"),
        np.zeros((3, 1)),
        np.zeros((0, 4)),
        np.zeros(()),
        np.zeros((4, 6))[::2, 1:3],
        np.zeros((4, 6))[:, ::-1],
        np.zeros((1, 6))[:, ::2],
    ]:
        t = shared(a)
        for f in FLAGS:
            assert getattr(t.flags, f) == getattr(a.flags, f), (f, a.shape, a.strides)


def test_setflags_and_writeable_inheritance():
    a = np.arange(6.0)
    t = shared(a)
    assert t.flags.writeable
    v = t[1:]
    t.setflags(write=False)
    assert not t.flags.writeable
    assert v.flags.writeable  # each handle has its own flag, as in NumPy
    assert not t[1:].flags.writeable  # a view inherits its source's flag
    t.setflags(write=True)  # the memory itself is writeable
    assert t.flags.writeable
    t.flags.writeable = False
    assert not t.flags["WRITEABLE"] and not t.flags["W"]
    with pytest.raises(ValueError, match="read-only"):
        t[0] = 1.0
    t.flags["WRITEABLE"] = True
    t[0] = 5.0
    assert a[0] == 5.0
    with pytest.raises(KeyError):
        t.flags["NOPE"]
    with pytest.raises(ValueError):
        t.flags["C_CONTIGUOUS"] = True


# ---- item assignment -----------------------------------------------------------------


ASSIGN = [
    (0, 7.0),
    ((1, 2), [1.0, 2.0, 3.0, 4.0, 5.0]),
    ((slice(None), 0), 3),
    ((Ellipsis, slice(None, None, 2)), np.arange(3.0)),
    ((slice(None), slice(None), slice(None, None, -1)), 1.5),
    (slice(None), np.arange(60.0).reshape(3, 4, 5)),
    ((1, slice(None), None), -1),
    ([1, 0], 9.0),
    ((slice(None), [2, 0]), np.arange(20.0).reshape(4, 5)),
    ((0, slice(None), [1, 3]), np.arange(30.0).reshape(2, 3, 5)),
    ((0, [1, 2], slice(None), 2), np.arange(8.0).reshape(2, 4)),
    ((0, slice(None), [1, 3], 2), np.arange(6.0).reshape(2, 3)),
    ((1, [2, 0]), np.arange(10.0).reshape(2, 1, 5)),
    ((slice(None), [[0, 1], [2, 2]]), 4.0),
]


@pytest.mark.parametrize("key,value", ASSIGN, ids=repr)
def test_item_assignment_matches_numpy(key, value):
    a = np.arange(2 * 3 * 4 * 5, dtype=np.float64).reshape(2, 3, 4, 5)
    b = a.copy()
    t = shared(b)
    a[key] = value
    t[key] = value
    assert b.tolist() == a.tolist()


def test_item_assignment_with_masks():
    a = np.arange(24, dtype=np.int32).reshape(2, 3, 4)
    b = a.copy()
    t = shared(b)
    m = a % 3 == 0
    a[m] = -1
    t[m] = -1
    assert b.tolist() == a.tolist()
    m2 = np.array([[True, False, True], [False, True, False]])
    a[m2] = np.arange(4)
    t[dv.asarray(m2)] = np.arange(4)
    assert b.tolist() == a.tolist()


def test_item_assignment_casts_and_broadcasts():
    b = np.zeros((3, 4), dtype=np.int16)
    t = shared(b)
    t[1] = 2.9  # float to int truncates, as NumPy's unsafe cast
    t[:, 2] = [True, False, True]
    t[2, :] = dv.asarray([1, 2, 3, 4], dtype="uint8")
    expected = np.zeros((3, 4), dtype=np.int16)
    expected[1] = 2.9
    expected[:, 2] = [True, False, True]
    expected[2, :] = np.array([1, 2, 3, 4], dtype=np.uint8)
    assert b.tolist() == expected.tolist()
    with pytest.raises(ValueError, match="broadcast"):
        t[0] = [1, 2, 3]


def test_item_assignment_complex():
    b = np.zeros(4, dtype=np.complex64)
    t = shared(b)
    t[1] = 1 + 2j
    t[2:] = t[:2]
    assert b.tolist() == [0j, 1 + 2j, 0j, 1 + 2j]


def test_item_assignment_overlap():
    x = np.arange(10.0)
    tx = shared(x)
    tx[1:] = tx[:-1]  # overlapping source and destination
    y = np.arange(10.0)
    y[1:] = y[:-1].copy()
    assert x.tolist() == y.tolist()


def test_assignment_to_read_only_raises():
    a = np.arange(6.0)
    a.flags.writeable = False
    t = dv.from_dlpack(a)
    assert not t.flags.writeable
    for key in [0, slice(None), [0, 1], a > 2]:
        with pytest.raises(ValueError, match="assignment destination is read-only"):
            t[key] = 1.0
    assert a.tolist() == list(np.arange(6.0))
    with pytest.raises(ValueError, match="assignment destination is read-only"):
        dv.broadcast_to(dv.zeros(3), (2, 3))[0] = 1.0


# ---- scalars, lists, repr --------------------------------------------------------------


def test_tolist_item_len_iter():
    a = np.arange(6, dtype=np.int64).reshape(2, 3)
    t = shared(a)
    assert t.tolist() == a.tolist()
    assert t[1, 2].item() == 5 and isinstance(t[1, 2].item(), int)
    assert t.item(4) == a.item(4)
    assert t.item(1, 0) == a.item(1, 0)
    assert len(t) == 2 and len(t[0]) == 3
    assert [r.tolist() for r in t] == a.tolist()
    with pytest.raises(ValueError, match="size 1"):
        t.item()
    with pytest.raises(TypeError):
        len(t[0, 0])
    assert int(t[1, 1]) == 4 and float(t[1, 1]) == 4.0
    assert [0, 1, 2, 3][t[0, 2]] == 2  # __index__
    assert bool(dv.asarray([1]))
    with pytest.raises(ValueError, match="ambiguous"):
        bool(t)
    assert dv.zeros((0, 3)).tolist() == []
    assert dv.zeros((2, 0)).tolist() == [[], []]


def test_repr_and_info():
    t = dv.asarray([[1, 2], [3, 4]], dtype="int32")
    assert repr(t) == "Tensor([[1, 2], [3, 4]], dtype=int32)"
    big = dv.zeros((100, 100))
    assert repr(big) == "Tensor(shape=(100, 100), dtype=float32)"
    info = t[:, ::-1].info()
    for word in ["shape:", "(2, 2)", "strides:", "(2, -1) elements", "(8, -4) bytes", "int32", "cpu", "data:", "flags:", "WRITEABLE", "nbytes:   16", "base:"]:
        assert word in info, word
    assert "owns its data" in t.info()


def test_numpy_asarray_of_tensor_shares():
    t = dv.arange(10, dtype="float64")[::-2]
    a = np.asarray(t)
    assert a.ctypes.data == t.data_ptr and a.strides == t.strides == (-16,)
    assert a.tolist() == t.tolist()


# Order "K" keeps the source's axis order by descending |stride|, as NumPy's
# copy(order="K") does, including broadcast (zero-stride) and reversed axes.
# Size-1 axes are ambiguous in NumPy's sort, so their strides are not compared.
K_ORDER_SOURCES = {
    "broadcast rows": lambda: np.broadcast_to(np.arange(4.0), (3, 4)),
    "broadcast cols": lambda: np.broadcast_to(np.arange(3.0)[:, None], (3, 4)),
    "broadcast permuted": lambda: np.broadcast_to(np.arange(4.0), (2, 3, 4)).transpose(2, 0, 1),
    "broadcast of transpose": lambda: np.broadcast_to(np.arange(12.0).reshape(4, 3).T, (2, 3, 4)),
    "reversed": lambda: np.arange(24.0).reshape(2, 3, 4)[:, ::-1, ::-2],
    "fortran": lambda: np.asfortranarray(np.arange(24.0).reshape(2, 3, 4)),
    "permuted slice": lambda: np.arange(120.0).reshape(4, 5, 6).transpose(1, 2, 0)[::2, 1:, ::-1],
}


@pytest.mark.parametrize("name", sorted(K_ORDER_SOURCES))
def test_copy_order_k_matches_numpy(name: str) -> None:
    a = K_ORDER_SOURCES[name]()
    expected = a.copy(order="K")
    got = shared(a).copy(order="K")
    assert got.shape == expected.shape
    assert got.tolist() == expected.tolist()
    for n, s_got, s_expected in zip(expected.shape, got.strides, expected.strides):
        if n != 1:
            assert s_got == s_expected, (name, got.strides, expected.strides)
