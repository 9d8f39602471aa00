"""Issue 15 from Python: the file rules of RULES.md §7 and the "no abort,
no wrap, fail fast" rules of §8, each against NumPy's own behaviour where
NumPy has one.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import threading
import warnings

import numpy as np
import pytest

import dlview as dv


def _npy_bytes(descr: str, shape: tuple, data: bytes) -> bytes:
    """A version-1 ``.npy`` file with this descr (any text), as NumPy pads it."""
    header = "{'descr': %r, 'fortran_order': False, 'shape': %r, }" % (descr, shape)
    pad = 64 - (10 + len(header) + 1) % 64
    text = (header + " " * pad + "\n").encode("latin-1")
    return b"\x93NUMPY\x01\x00" + len(text).to_bytes(2, "little") + text + data


# Every one-letter type code, every kind with every size 0-16, a few
# oddities, and the type names: with each byte-order prefix.
_CODES = [chr(c) for c in range(33, 127) if chr(c) not in "'\\"]
_SIZED = [k + str(n) for k in "biufcBhHeEdDgG?VSU" for n in range(0, 17)]
_ODD = ["i04", "f08", "b01", "i+4", "i 4", "c1", "int8", "float32", "bool", "bool_", "uint64", "complex128", "float16"]


@pytest.mark.parametrize("prefix", ["", "<", ">", "|", "="])
def test_npy_descr_codes_read_as_numpy_reads_them(tmp_path, prefix):
    """Item 9: dlview reads a descr as the very dtype NumPy reads (``'|b'``
    is int8, not bool), refuses what NumPy refuses, and refuses (never
    misreads) what it has no type for."""
    checked = 0
    for code in _CODES + _SIZED + _ODD:
        descr = prefix + code
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DeprecationWarning)  # 'a' (NumPy 2)
                want = np.dtype(descr)
        except (TypeError, ValueError, SyntaxError):
            want = None
        itemsize = want.itemsize if want is not None and want.itemsize else 8
        p = tmp_path / "d.npy"
        p.write_bytes(_npy_bytes(descr, (2,), bytes(range(2 * itemsize))))
        try:
            got = dv.load(p)
        except ValueError:
            got = None
        if want is None:
            assert got is None, f"{descr!r}: NumPy refuses it, dlview read {got.dtype}"
            continue
        if got is None:
            # Only types dlview does not have (long double, strings, void,
            # objects, datetimes), or spellings it refuses rather than guess.
            assert want.kind in "gSUVOMmT" or want.itemsize > 8 and want.kind == "f" or \
                want.itemsize > 16 or code in ("i+4", "i 4", "bool_"), f"{descr!r}: NumPy reads {want}"
            continue
        assert got.dtype == want.newbyteorder("=").name, f"{descr!r}: NumPy {want}, dlview {got.dtype}"
        assert got.tolist() == np.load(p).tolist(), descr
        checked += 1
    assert checked > 30


@pytest.mark.parametrize("descr", [">f4", ">i8", ">c16", ">f2", ">u2", ">i4", ">f8", ">c8"])
@pytest.mark.parametrize("order", ["C", "F"])
def test_big_endian_files_load_as_native_copies_and_refuse_maps(tmp_path, descr, order):
    """Item 11: NumPy-written big-endian files load as a byteswapped native
    copy (as ``np.load`` reads them); a memory map refuses them."""
    a = np.asarray((np.arange(24).reshape(2, 3, 4) - 7) / 2, order=order).astype(descr)
    p = tmp_path / "big.npy"
    np.save(p, a)
    t = dv.load(p)
    assert t.dtype == np.dtype(descr).newbyteorder("=").name
    assert t.tolist() == a.tolist() == np.load(p).tolist()
    assert t.flags.writeable and (t.flags.f_contiguous if order == "F" else t.flags.c_contiguous)
    native = np.from_dlpack(t)
    assert native.dtype.isnative and native.tolist() == a.tolist()
    for mode in ("r", "r+", "c"):
        with pytest.raises(ValueError, match="big-endian.*cannot be memory-mapped"):
            dv.load(p, mmap_mode=mode)
    assert p.read_bytes() == _numpy_bytes(a)


def _numpy_bytes(a: np.ndarray) -> bytes:
    import io

    b = io.BytesIO()
    np.save(b, a)
    return b.getvalue()


def test_nul_bytes_in_paths_and_names_are_refused_not_truncated(tmp_path):
    """Item 7: ``"victim\\0.npy"`` used to write ``victim``."""
    t = dv.arange(3)
    victim = tmp_path / "victim"
    for bad in (str(victim) + "\0.npy", os.fsencode(str(victim)) + b"\0.npy"):
        with pytest.raises(ValueError, match="NUL byte"):
            dv.save(bad, t)
        assert not victim.exists()
    dv.save(victim, t)
    for call in (lambda: dv.load(str(victim) + "\0x"), lambda: dv.load(str(victim) + "\0x", mmap_mode="r"),
                 lambda: dv.memmap(str(victim) + "\0x", mode="r")):
        with pytest.raises(ValueError, match="NUL byte"):
            call()
    with pytest.raises(ValueError, match="NUL byte"):
        dv.zeros(3, dtype="float32\0junk")
    with pytest.raises(ValueError, match="NUL byte"):
        dv.zeros(3, device="cpu\0junk")


def test_fifos_and_directories_are_refused_without_blocking(tmp_path):
    """Item 8: ``np.load`` of a FIFO waits for a writer forever; dlview
    refuses it at once (OSError, as NumPy's ``IsADirectoryError`` for a
    directory)."""
    fifo = tmp_path / "pipe.npy"
    os.mkfifo(fifo)
    errors: list = []

    def attempt():
        for call in (lambda: dv.load(fifo), lambda: dv.load(fifo, mmap_mode="r"), lambda: dv.memmap(fifo, mode="r")):
            try:
                call()
                errors.append(None)
            except OSError as e:
                errors.append(e)

    th = threading.Thread(target=attempt, daemon=True)
    th.start()
    th.join(10)
    assert not th.is_alive(), "load of a FIFO blocked"
    assert len(errors) == 3 and all(e is not None and "FIFO" in str(e) for e in errors), errors
    with pytest.raises(OSError, match="directory"):
        dv.load(tmp_path)


def test_save_keeps_permissions_and_never_follows_planted_links(tmp_path):
    """Item 6 from Python (the Rust tests cover the details)."""
    p = tmp_path / "secret.npy"
    np.save(p, np.zeros(2))
    os.chmod(p, 0o600)
    victim = tmp_path / "victim"
    victim.write_bytes(b"precious")
    for n in range(16):
        os.symlink(victim, tmp_path / f"secret.npy.dlview-tmp-{os.getpid()}-{n}")
    dv.save(p, dv.arange(3))
    assert os.stat(p).st_mode & 0o7777 == 0o600
    assert victim.read_bytes() == b"precious"
    assert np.load(p).tolist() == [0, 1, 2]


def test_size_zero_shapes_follow_numpys_byte_limit(tmp_path):
    """Item 5: NumPy refuses ``np.empty((0, 2**60), 'f8')`` ("array is too
    big"); dlview refuses the same shapes, and what it accepts saves into
    files NumPy loads."""
    for shape, dtype in [((0, 2**60), "float64"), ((2**62, 0), "float64"), ((0, 2**63 - 1), "int16")]:
        with pytest.raises(ValueError):
            np.empty(shape, dtype)
        with pytest.raises(ValueError, match="more bytes than fit"):
            dv.empty(shape, dtype)
    for shape, dtype in [((0, 2**59), "float64"), ((0, 2**63 - 1), "int8"), ((3, 0, 2**40), "complex64")]:
        np.empty(shape, dtype)
        t = dv.empty(shape, dtype)
        p = tmp_path / "z.npy"
        dv.save(p, t)
        a = np.load(p)
        assert a.shape == shape and a.dtype == dtype
        assert dv.load(p).shape == shape


_ARANGE_CHILD = textwrap.dedent(
    """
    import resource, sys, time
    resource.setrlimit(resource.RLIMIT_AS, (4 << 30, resource.RLIM_INFINITY))
    import dlview as dv
    start = time.monotonic()
    try:
        dv.arange(2**40)
    except MemoryError as e:
        print("MemoryError", round(time.monotonic() - start, 3), e)
        sys.exit(0)
    print("no error")
    sys.exit(1)
    """
)


def test_arange_of_an_impossible_size_fails_fast():
    """Item 10: ``arange(2**40)`` used to build 2**40 values in Python for
    about 110 s before failing; the size is known up front, so the
    allocation is tried first and fails at once with MemoryError (here
    under a 4 GiB address-space limit, so overcommit cannot hide it)."""
    out = subprocess.run([sys.executable, "-c", _ARANGE_CHILD], capture_output=True, text=True, timeout=60,
                         env=dict(os.environ))
    assert out.returncode == 0, out.stdout + out.stderr
    seconds = float(out.stdout.split()[1])
    assert seconds < 2, out.stdout
    assert "out of memory" in out.stdout


def test_arange_still_matches_numpy():
    for args in [(5,), (2, 11, 3), (10, 0, -3), (0,), (-3, 3), (0.5, 3.0, 0.25), (2**62, 2**62 + 5)]:
        assert dv.arange(*args).tolist() == np.arange(*args).tolist(), args
    # Floats: NumPy steps by (start + step) - start, which rounds differently.
    assert np.allclose(dv.arange(1, 2, 0.1).tolist(), np.arange(1, 2, 0.1))
    assert dv.arange(200_000).tolist() == np.arange(200_000).tolist()
    assert dv.arange(7, dtype="float32").dtype == "float32"
    with pytest.raises(ValueError):
        dv.arange(1, 2, 0)
