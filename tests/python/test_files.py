"""``dv.load``/``dv.save``/``dv.memmap`` against NumPy's ``.npy`` and
``memmap`` (RULES.md §7)."""

from __future__ import annotations

import gc

import numpy as np
import pytest
import torch

import dlview as dv


@pytest.mark.parametrize("order", ["C", "F"])
@pytest.mark.parametrize("dtype", ["bool", "int8", "uint16", "int64", "float16", "float32", "float64", "complex64"])
def test_numpy_files_load_as_dlview(tmp_path, dtype, order):
    a = np.asarray(np.arange(24).reshape(2, 3, 4) % 5, dtype=dtype, order=order)
    p = tmp_path / "a.npy"
    np.save(p, a)
    t = dv.load(p)
    assert t.dtype == dtype and t.shape == a.shape and t.tolist() == a.tolist()
    assert t.flags.f_contiguous == (order == "F") or a.ndim < 2
    m = dv.load(str(p), mmap_mode="r")
    assert m.strides == a.strides and m.tolist() == a.tolist()


def test_dlview_files_load_in_numpy(tmp_path):
    t = dv.arange(12, dtype="float32").reshape(3, 4)
    for name, view in [("c", t), ("f", t.copy("F")), ("strided", t[:, ::-2])]:
        p = tmp_path / f"{name}.npy"
        dv.save(p, view)
        a = np.load(p)
        assert a.tolist() == view.tolist() and str(a.dtype) == view.dtype
    dv.save(tmp_path / "list.npy", [[1, 2], [3, 4]])
    assert np.load(tmp_path / "list.npy").tolist() == [[1, 2], [3, 4]]


def test_mmap_modes(tmp_path):
    p = tmp_path / "m.npy"
    np.save(p, np.arange(6.0))
    r = dv.load(p, mmap_mode="r")
    assert not r.flags.writeable
    with pytest.raises(ValueError, match="read-only"):
        r[0] = 1.0
    with pytest.raises(ValueError, match="read-only"):
        r.setflags(write=True)
    # PyTorch ignores READ_ONLY; the private mapping keeps the file intact.
    x = torch.from_dlpack(r)
    x[0] = 42.0
    assert np.load(p)[0] == 0.0

    rw = dv.load(p, mmap_mode="r+")
    rw[1] = 7.0
    rw.flush()
    assert np.load(p)[1] == 7.0

    c = dv.load(p, mmap_mode="c")
    c[2] = 9.0
    assert c[2].item() == 9.0 and np.load(p)[2] == 2.0
    with pytest.raises(ValueError, match="mmap_mode"):
        dv.load(p, mmap_mode="w")


def test_memmap_raw_files(tmp_path):
    p = tmp_path / "raw.bin"
    m = dv.memmap(p, dtype="int32", mode="w+", shape=(3, 4))
    m[1] = [1, 2, 3, 4]
    m.flush()
    ref = np.memmap(p, dtype=np.int32, mode="r", shape=(3, 4))
    assert ref.tolist() == m.tolist()
    whole = dv.memmap(p, dtype="int32", mode="r")
    assert whole.shape == (12,) and whole.tolist() == ref.reshape(-1).tolist()
    off = dv.memmap(p, dtype="int32", mode="r", offset=16, shape=(2,))
    assert off.tolist() == [1, 2]
    f = dv.memmap(p, dtype="int32", mode="r", shape=(4, 3), order="F")
    assert f.flags.f_contiguous and f.tolist() == np.memmap(p, dtype=np.int32, mode="r", shape=(4, 3), order="F").tolist()
    del ref


def test_mapping_lives_as_long_as_its_views(tmp_path):
    p = tmp_path / "live.npy"
    np.save(p, np.arange(100.0))
    before = dv.live_storage_count()
    m = dv.load(p, mmap_mode="r")
    view = m[90:]
    x = torch.from_dlpack(view)
    del m, view
    p.unlink()
    gc.collect()
    assert x.tolist() == [float(i) for i in range(90, 100)]
    del x
    gc.collect()
    assert dv.live_storage_count() == before


def test_file_errors(tmp_path):
    with pytest.raises(OSError, match="missing.npy"):
        dv.load(tmp_path / "missing.npy")
    bad = tmp_path / "bad.npy"
    bad.write_bytes(b"not a npy file at all")
    with pytest.raises(ValueError):
        dv.load(bad)
    obj = tmp_path / "obj.npy"
    np.save(obj, np.array([{}, 1], dtype=object), allow_pickle=True)
    with pytest.raises(ValueError):
        dv.load(obj)
    with pytest.raises(ValueError, match="mode"):
        dv.memmap(tmp_path / "x", mode="q")
