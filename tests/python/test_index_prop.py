"""Property test of NumPy indexing with NumPy as the oracle.

Random keys (plain ``random`` with fixed seeds, so a failure replays) mix
integers (some out of range), slices with any step, ``...``, ``None``,
one to three integer index arrays of broadcastable shapes and any integer
dtype, boolean masks over one or two axes, and boolean scalars, adjacent
or separated. Each key is applied to a NumPy array and to a dlview tensor
sharing its memory, for reading (values, shape, dtype, strides and
writeability of views, read-only sources) and for assignment (values and
exceptions). Index arrays are passed as NumPy arrays, lists or dlview
tensors.
"""

from __future__ import annotations

import random

import numpy as np
import pytest

import dlview as dv

INT_DTYPES = (np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint32)


def shared(a: np.ndarray) -> dv.Tensor:
    return dv.from_dlpack(a, copy=False)


def random_shape(rng: random.Random) -> tuple[int, ...]:
    ndim = rng.choice((0, 1, 1, 2, 2, 3, 3, 4))
    return tuple(0 if rng.random() < 0.05 else rng.randint(1, 4) for _ in range(ndim))


def as_index(rng: random.Random, arr: np.ndarray):
    """The same index as a NumPy array, a list or a dlview tensor."""
    r = rng.random()
    if r < 0.2 and arr.ndim > 0:
        return arr.tolist()
    if r < 0.5:
        return dv.asarray(arr)
    return arr


def int_array(rng: random.Random, n: int, bshape: tuple[int, ...]):
    """An index array for an axis of size ``n`` whose shape broadcasts to ``bshape``."""
    keep = rng.randint(0, len(bshape))
    shape = tuple(1 if rng.random() < 0.3 else d for d in bshape[len(bshape) - keep :])
    out_of_range = rng.random() < 0.05
    values = [rng.randint(-n, n - 1) if n else 0 for _ in range(int(np.prod(shape, dtype=np.int64)))]
    if out_of_range and values:
        values[rng.randrange(len(values))] = rng.choice((n, -n - 1, n + 5))
    dtype = rng.choice(INT_DTYPES)
    if min(values, default=0) < 0 and np.dtype(dtype).kind == "u":
        dtype = np.int64
    if max(values, default=0) > 127:
        dtype = np.int64
    return np.array(values, dtype=dtype).reshape(shape)


def random_slice(rng: random.Random, n: int) -> slice:
    def bound():
        return None if rng.random() < 0.35 else rng.randint(-n - 2, n + 2)

    step = rng.choice((None, 1, 1, 2, 3, -1, -1, -2, -3))
    return slice(bound(), bound(), step)


def random_key(rng: random.Random, shape: tuple[int, ...]):
    ndim = len(shape)
    bshape = tuple(rng.randint(1, 3) for _ in range(rng.randint(0, 2)))
    max_arrays = rng.randint(1, 3)
    ell_at = rng.randint(0, ndim) if rng.random() < 0.35 else None
    ell_len = rng.randint(0, ndim - ell_at) if ell_at is not None else 0
    key: list = []
    arrays = 0
    ax = 0
    while ax < ndim:
        if ell_at == ax:
            key.append(Ellipsis)
            ax += ell_len
            ell_at = None
            continue
        r = rng.random()
        if r < 0.08:
            key.append(None)
            continue
        if r < 0.12:
            key.append(rng.random() < 0.7)
            continue
        if r < 0.17 and ell_at is None:
            break  # the remaining axes are implicit
        n = shape[ax]
        choice = rng.choice(("int", "slice", "array", "array", "mask"))
        if choice == "int" and n > 0:
            key.append(rng.randint(-n, n - 1) if rng.random() > 0.05 else n)
            ax += 1
        elif choice == "array" and arrays < max_arrays:
            key.append(as_index(rng, int_array(rng, n, bshape)))
            arrays += 1
            ax += 1
        elif choice == "mask":
            k = rng.randint(1, min(2, ndim - ax))
            mshape = shape[ax : ax + k]
            if rng.random() < 0.05:
                mshape = tuple(d + 1 for d in mshape)  # does not match: IndexError
            mask = np.array([rng.random() < 0.5 for _ in range(int(np.prod(mshape, dtype=np.int64)))], dtype=bool)
            key.append(as_index(rng, mask.reshape(mshape)))
            ax += k
        else:
            key.append(random_slice(rng, n))
            ax += 1
    if ell_at is not None:
        key.append(Ellipsis)
    if rng.random() < 0.1:
        key.append(rng.choice((None, True, False)))
    if len(key) == 1 and rng.random() < 0.5:
        return key[0]
    return tuple(key)


def numpy_key(key):
    """The key with dlview tensors turned into NumPy arrays (for the oracle)."""
    if isinstance(key, tuple):
        return tuple(numpy_key(k) for k in key)
    if isinstance(key, dv.Tensor):
        return np.asarray(key)
    return key


def random_array(rng: random.Random) -> np.ndarray:
    shape = random_shape(rng)
    dtype = rng.choice((np.float64, np.int32, np.float32))
    a = np.arange(int(np.prod(shape, dtype=np.int64)), dtype=dtype).reshape(shape)
    if rng.random() < 0.25 and a.ndim:
        a = a[tuple(slice(None, None, rng.choice((1, -1))) for _ in range(a.ndim))]  # negative strides
    return a


def is_basic(key) -> bool:
    """A key NumPy answers with a view (no array, list or boolean)."""
    items = key if isinstance(key, tuple) else (key,)
    return all(
        it is None or it is Ellipsis or isinstance(it, slice) or (isinstance(it, int) and not isinstance(it, bool))
        for it in items
    )


def check_read(a: np.ndarray, t: dv.Tensor, key) -> None:
    try:
        r = a[numpy_key(key)]
    except IndexError:
        with pytest.raises(IndexError):
            t[key]
        return
    v = t[key]
    if not isinstance(r, np.ndarray):  # NumPy returns a scalar for all-integer keys
        assert v.ndim == 0 and v.item() == r.item()
        return
    assert v.shape == r.shape
    assert v.dtype == str(r.dtype)
    assert v.tolist() == r.tolist()
    if is_basic(key):
        assert dv.shares_memory(v, t) == np.shares_memory(r, a)
        if r.size:
            assert v.strides == r.strides
            assert v.data_ptr == r.ctypes.data
        assert v.flags.writeable == r.flags.writeable
        assert v.base is not None
    else:
        assert not dv.may_share_memory(v, t)
        assert v.flags.writeable and v.flags.c_contiguous


def random_value(rng: random.Random, shape: tuple[int, ...]):
    if rng.random() < 0.3 or not shape:
        return rng.choice((7, -3, 2.5, np.float32(1.5)))
    keep = rng.randint(0, len(shape))
    vshape = tuple(1 if rng.random() < 0.3 else d for d in shape[len(shape) - keep :])
    if rng.random() < 0.05:
        vshape = vshape + (5,)  # does not broadcast: ValueError
    size = int(np.prod(vshape, dtype=np.int64))
    value = (np.arange(size) * 3 + 100).astype(rng.choice((np.int32, np.float64))).reshape(vshape)
    return as_index(rng, value) if rng.random() < 0.3 else value


def check_write(rng: random.Random, a: np.ndarray, key) -> None:
    expected = a.copy()
    got = a.copy()
    t = shared(got)
    try:
        shape = np.shape(expected[numpy_key(key)])
    except IndexError:
        with pytest.raises(IndexError):
            t[key] = 1
        return
    value = random_value(rng, shape)
    np_value = np.asarray(value) if isinstance(value, dv.Tensor) else value
    try:
        expected[numpy_key(key)] = np_value
    except TypeError:
        # NumPy's lone-mask assignment refuses a value of more than one
        # dimension even when it broadcasts (a special case of its own);
        # dlview broadcasts it like any other value.
        return
    except (IndexError, ValueError) as e:
        with pytest.raises(type(e)):
            t[key] = value
        assert got.tolist() == a.tolist()  # nothing written
        return
    t[key] = value
    assert got.tolist() == expected.tolist()


@pytest.mark.parametrize("seed", range(8))
def test_reading_matches_numpy(seed):
    rng = random.Random(seed)
    for _ in range(60):
        a = random_array(rng)
        if rng.random() < 0.3:
            a = a.copy()
            a.flags.writeable = False
        t = dv.from_dlpack(a)
        for _ in range(3):
            check_read(a, t, random_key(rng, a.shape))


@pytest.mark.parametrize("seed", range(100, 108))
def test_assignment_matches_numpy(seed):
    rng = random.Random(seed)
    for _ in range(60):
        a = random_array(rng).copy()
        for _ in range(3):
            check_write(rng, a, random_key(rng, a.shape))


def test_read_only_assignment_is_refused():
    rng = random.Random(7)
    for _ in range(100):
        a = random_array(rng).copy()
        a.flags.writeable = False
        t = dv.from_dlpack(a)
        before = a.tolist()
        key = random_key(rng, a.shape)
        with pytest.raises(ValueError, match="assignment destination is read-only"):
            t[key] = 1
        assert a.tolist() == before


def test_nan_and_infinity_into_integers_raise():
    a = np.zeros(3, dtype=np.int32)
    t = shared(a)
    with pytest.raises(ValueError, match="cannot convert float NaN to integer"):
        t[0] = float("nan")
    with pytest.raises(ValueError, match="cannot convert float infinity to integer"):
        t[[1, 2]] = float("-inf")
    with pytest.raises(ValueError, match="cannot convert float NaN to integer"):
        t[...] = np.float32("nan")
    assert a.tolist() == [0, 0, 0]
    t[0] = 2.9  # finite floats truncate, as in NumPy
    assert a.tolist() == [2, 0, 0]


def test_python_ints_beyond_int64_raise_index_error():
    a = np.arange(3.0)
    t = shared(a)
    for i in (2**63, -(2**63) - 1, 2**70):
        with pytest.raises(IndexError):
            t[i]
        with pytest.raises(IndexError):
            t[i] = 1.0
    # Slice bounds clamp, as Python's do.
    assert t[2**70 :].shape == a[2**70 :].shape == (0,)
    assert t[-(2**70) :].tolist() == a[-(2**70) :].tolist()
    assert t[:: 2**70].tolist() == a[:: 2**70].tolist()


def test_repeated_indices_last_write_wins():
    a = np.zeros(4)
    t = shared(a)
    t[[1, 3, 1, 1]] = [10.0, 20.0, 30.0, 40.0]
    assert a.tolist() == [0.0, 40.0, 0.0, 20.0]
    b = np.zeros((2, 3))
    tb = shared(b)
    tb[[0, 0], [2, 2]] = dv.asarray([5, 6], dtype="int32")
    assert b.tolist() == [[0.0, 0.0, 6.0], [0.0, 0.0, 0.0]]


def test_boolean_scalars_and_zero_d_index_arrays():
    a = np.arange(6.0).reshape(2, 3)
    t = shared(a)
    assert t[True].shape == a[True].shape == (1, 2, 3)
    assert t[False].shape == a[False].shape == (0, 2, 3)
    assert t[np.True_, 1].tolist() == a[np.True_, 1].tolist()
    r, v = a[np.array(1)], t[np.array(1)]  # a copy in NumPy too
    assert v.tolist() == r.tolist() and not dv.may_share_memory(v, t)
    t[True] = 7.0
    assert a.tolist() == [[7.0] * 3] * 2
