"""The Python face of dlview's CUDA layer against the fake driver.

Not collected on its own (the name does not start with ``test_``):
``test_cuda_fake.py`` runs it with pytest in a subprocess whose
``DLVIEW_CUDA_DRIVER`` names ``tests/fakecuda/fakecuda.c`` built as a shared
library (a process loads its driver once). ``FAKECUDA_EXPECT=unavailable`` (with a fake whose
``cuInit`` fails) selects the checks of a driver that cannot be used.
"""

from __future__ import annotations

import ctypes
import gc
import os

import numpy as np
import pytest

import dlview as dv
from fakedevice import device_tensor

EXPECT = os.environ.get("FAKECUDA_EXPECT", "ok")
fake = ctypes.CDLL(os.environ["DLVIEW_CUDA_DRIVER"])  # the very library dlview loaded
fake.fakecuda_log.restype = ctypes.c_char_p
fake.fakecuda_calls.argtypes = [ctypes.c_char_p]
fake.fakecuda_calls.restype = ctypes.c_long
fake.fakecuda_live_allocations.restype = ctypes.c_long
fake.fakecuda_live_events.restype = ctypes.c_long
fake.fakecuda_stream_create.restype = ctypes.c_void_p

ok_only = pytest.mark.skipif(EXPECT != "ok", reason="checks of a working (fake) driver")
unavailable_only = pytest.mark.skipif(EXPECT != "unavailable", reason="checks of an unusable driver")


def log() -> str:
    return fake.fakecuda_log().decode()


@pytest.fixture(autouse=True)
def no_device_leaks():
    gc.collect()
    before = fake.fakecuda_live_allocations()
    yield
    gc.collect()
    assert fake.fakecuda_live_allocations() == before
    assert fake.fakecuda_live_events() == 0


def host(t: dv.Tensor) -> np.ndarray:
    return np.asarray(t.to("cpu"))


def views(t):
    return {
        "C": t,
        "F": t.copy("F"),
        "sliced": t[:, ::2, 1:4],
        "columns": t[:, :, 1:3],
        "negative": t[:, ::-1, ::-2],
        "transposed": t.T,
        "broadcast": dv.broadcast_to(t[0, 0], (3, 4, 5)),
    }


# ---- a working driver ---------------------------------------------------------------


@ok_only
def test_devices_and_memory():
    assert dv.cuda_is_available() and dv.cuda_device_count() == 1
    free, total = dv.cuda_mem_get_info(0)
    d = dv.zeros((256,), "float32", device="cuda:0")
    assert dv.cuda_mem_get_info(0)[0] == free - 1024 and total == 1 << 30
    assert d.device == "cuda:0" and d.__dlpack_device__() == (2, 0)
    assert "device=cuda:0" in repr(d)
    with pytest.raises(BufferError, match="needs host-accessible memory, but the tensor is on cuda:0"):
        d.tolist()
    assert host(d).tolist() == [0.0] * 256
    dv.cuda_synchronize(0)
    with pytest.raises(RuntimeError, match="CUDA device 1 does not exist"):
        dv.empty((2,), device="cuda:1")
    with pytest.raises(BufferError, match="not supported on rocm:0"):
        dv.empty((2,), device=(10, 0))


@ok_only
@pytest.mark.parametrize("order", ["C", "F", "K"])
def test_host_device_round_trips(order):
    t = dv.arange(60, dtype="float32").reshape(3, 4, 5)
    for name, v in views(t).items():
        d = v.to("cuda:0", order=order) if order != "K" else v.to("cuda:0")
        assert d.device == "cuda:0", name
        assert np.array_equal(host(d), np.asarray(v)), name
        # Strided device views to the host, and device-to-device copies.
        dview = views(t.to("cuda"))[name]
        assert dview.device == "cuda:0"
        assert np.array_equal(host(dview), np.asarray(v)), name
        dd = dview.copy(order)
        assert dd.device == "cuda:0" and np.array_equal(host(dd), np.asarray(v)), name


@ok_only
def test_to_same_device_and_explicit_copies():
    d = dv.zeros((4,), device="cuda")
    assert d.to("cuda:0") is d
    assert d.to((2, 0), copy=True) is not d
    c = dv.arange(3.0)
    assert c.to("cpu") is c and c.cpu() is c
    for kind in ("cuda_host", "cuda_managed"):
        p = dv.zeros((2, 3), "float64", device=kind)
        p[1, 2] = 7.5  # host-readable memory
        assert p.tolist() == [[0, 0, 0], [0, 0, 7.5]]
        assert host(p.to("cuda")).tolist() == p.tolist()
        assert p.to("cuda").to(kind).device == f"{kind}:0"


@ok_only
def test_producer_stream_rules():
    d = dv.arange(6, dtype="float32").to("cuda")
    fake.fakecuda_reset_log()
    for stream in (None, 1, -1):
        d.__dlpack__(stream=stream, max_version=(1, 3))
    assert log() == ""
    d.__dlpack__(stream=2, max_version=(1, 3))
    assert log() == "record 0\nwait 0x2\n"
    s = fake.fakecuda_stream_create()
    fake.fakecuda_reset_log()
    d.__dlpack__(stream=s)
    assert log() == f"record 0\nwait {s:#x}\n"
    with pytest.raises(ValueError, match="stream 0 is ambiguous"):
        d.__dlpack__(stream=0)
    with pytest.raises(ValueError, match="is not a CUDA stream"):
        d.__dlpack__(stream=-3)
    with pytest.raises(TypeError, match="stream must be None or an int"):
        d.__dlpack__(stream="default")
    with pytest.raises(ValueError, match="stream must be None"):
        dv.arange(3).__dlpack__(stream=2)
    # A device copy made by the export itself comes before the wait.
    fake.fakecuda_reset_log()
    n = fake.fakecuda_calls(b"cuMemcpyDtoD_v2")
    d[::-1].__dlpack__(stream=2, max_version=(1, 3))
    assert fake.fakecuda_calls(b"cuMemcpyDtoD_v2") + fake.fakecuda_calls(b"cuMemcpyDtoH_v2") > n
    assert log() == "record 0\nwait 0x2\n"


class Producer:
    """Records what from_dlpack asks of a producer."""

    def __init__(self, inner, device):
        self.inner, self.device, self.kwargs = inner, device, None

    def __dlpack_device__(self):
        return self.device

    def __dlpack__(self, **kwargs):
        self.kwargs = dict(kwargs)
        kwargs.pop("stream", None)
        return self.inner.__dlpack__(**kwargs)


@ok_only
def test_consumer_passes_the_legacy_stream_to_cuda_producers():
    d = dv.arange(4, dtype="float32").to("cuda")
    p = Producer(d, (2, 0))
    t = dv.from_dlpack(p)
    assert p.kwargs["stream"] == 1 and t.data_ptr == d.data_ptr
    p = Producer(d, (2, 0))
    dv.from_dlpack(p, copy=True)
    assert p.kwargs["stream"] == 1 and p.kwargs["copy"] is True
    c = dv.arange(4)
    p = Producer(c, (1, 0))
    dv.from_dlpack(p)
    assert "stream" not in p.kwargs


@ok_only
def test_cross_device_exchanges():
    a = np.arange(12, dtype=np.float64).reshape(3, 4)[:, ::-1]
    d = dv.from_dlpack(a, device="cuda:0")
    assert d.device == "cuda:0" and np.array_equal(host(d), a)
    with pytest.raises(BufferError, match="cannot share"):
        dv.from_dlpack(a, device="cuda:0", copy=False)
    back = dv.from_dlpack(d, device="cpu")
    assert back.device == "cpu" and np.array_equal(np.asarray(back), a)
    # The producer side: dl_device asks for a copy on another device.
    cap = d.__dlpack__(dl_device=(1, 0), max_version=(1, 3))
    assert np.array_equal(np.asarray(dv.from_dlpack(cap)), a)
    with pytest.raises(BufferError, match="cannot share"):
        d.__dlpack__(dl_device=(1, 0), copy=False)
    fake.fakecuda_reset_log()
    cap = dv.asarray(a).__dlpack__(dl_device=(2, 0), stream=2, max_version=(1, 3))
    assert log() == "record 0\nwait 0x2\n"
    up = dv.from_dlpack(cap)
    assert up.device == "cuda:0" and np.array_equal(host(up), a)


@ok_only
def test_many_exchanges_leave_nothing_behind():
    free = dv.cuda_mem_get_info(0)[0]
    x = dv.arange(1000, dtype="float32")
    for _ in range(2000):
        d = x.to("cuda")
        t = dv.from_dlpack(Producer(d, (2, 0)))
        assert t.data_ptr == d.data_ptr
        del d, t
    gc.collect()
    assert dv.cuda_mem_get_info(0)[0] == free


# ---- an unusable driver ---------------------------------------------------------------


def fake_cuda_tensor():
    """A float32 (4, 6) tensor "on cuda:0" at an address nobody may read."""
    return device_tensor(0x1000, (4, 6))


@unavailable_only
def test_every_cuda_operation_is_unavailable():
    assert not dv.cuda_is_available() and dv.cuda_device_count() == 0
    for device in ("cuda", "cuda:0", "cuda_host", (13, 0)):
        with pytest.raises(RuntimeError, match="CUDA is unavailable: cuInit failed with CUDA_ERROR_NO_DEVICE"):
            dv.zeros((2,), device=device)
    with pytest.raises(RuntimeError, match="cuInit failed"):
        dv.arange(3).to("cuda")
    with pytest.raises(RuntimeError, match="cuInit failed"):
        dv.cuda_synchronize(0)
    with pytest.raises(BufferError, match="dlview cannot copy a tensor from cpu to cuda:0: CUDA is unavailable"):
        dv.arange(3).__dlpack__(dl_device=(2, 0))
    with pytest.raises(BufferError, match="cannot copy"):
        dv.from_dlpack(np.arange(3), device="cuda")


@unavailable_only
def test_device_pass_through_still_works():
    t = fake_cuda_tensor()
    cols = t[:, 2:4]
    assert cols.device == "cuda:0" and cols.data_ptr == 0x1000 + 8
    for stream in (None, 1, 2, 12345, -1):
        back = dv.from_dlpack(cols.__dlpack__(stream=stream, max_version=(1, 3)))
        assert back.data_ptr == cols.data_ptr and back.device == "cuda:0"
    with pytest.raises(ValueError, match="stream 0 is ambiguous"):
        cols.__dlpack__(stream=0)
    with pytest.raises(BufferError, match="copying elements needs host-accessible memory"):
        cols.copy()
    with pytest.raises(RuntimeError, match="cuInit failed"):
        cols.to("cpu")
