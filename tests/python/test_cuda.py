"""CUDA tensors on a real GPU: zero-copy exchange with PyTorch, CuPy and JAX,
host <-> device copies, stream ordering, and no leaks.

Collected everywhere and skipped, with the reason, unless PyTorch sees a GPU
and dlview finds the CUDA driver and a device (and no fake driver is loaded
through ``DLVIEW_CUDA_DRIVER``). The CuPy and JAX tests also skip when those
are missing; the conftest defaults JAX to the CPU, so run this file with
``JAX_PLATFORMS=cuda,cpu`` to include JAX's GPU arrays.
"""

from __future__ import annotations

import gc
import os

import numpy as np
import pytest

import dlview as dv

torch = pytest.importorskip("torch", reason="PyTorch is needed for the GPU tests")


def _why_no_gpu() -> "str | None":
    if os.environ.get("DLVIEW_CUDA_DRIVER"):
        return "a fake CUDA driver is loaded (DLVIEW_CUDA_DRIVER); the GPU tests need the real one"
    if not torch.cuda.is_available():
        return "no GPU: torch.cuda.is_available() is False"
    if not dv.cuda_is_available():
        return "no GPU: dlview finds no CUDA driver or device"
    return None


WHY = _why_no_gpu()
pytestmark = pytest.mark.skipif(WHY is not None, reason=WHY or "")


def host_views(a: np.ndarray) -> dict[str, np.ndarray]:
    return {
        "C": a,
        "F": np.asfortranarray(a),
        "sliced": a[:, ::2, 1:7],
        "columns": a[:, :, 2:5],
        "negative": a[::-1, :, ::-3],
        "transposed": a.transpose(2, 0, 1),
    }


def to_numpy(t: dv.Tensor) -> np.ndarray:
    return np.asarray(t.to("cpu"))


# ---- zero-copy exchange -----------------------------------------------------------------


def test_torch_cuda_tensors_are_shared_both_ways():
    x = torch.arange(12, dtype=torch.float32, device="cuda").reshape(3, 4)
    t = dv.from_dlpack(x)
    assert t.device == "cuda:0" and t.data_ptr == x.data_ptr() and t.shape == (3, 4)
    x[1, 2] = 42.0  # a write through torch is visible to dlview
    assert to_numpy(t)[1, 2] == 42.0
    d = dv.zeros((3, 4), "float32", device="cuda:0")
    y = torch.from_dlpack(d)
    assert y.device.type == "cuda" and y.data_ptr() == d.data_ptr
    y += 1  # and a write through the consumer is visible in dlview's tensor
    assert to_numpy(d).tolist() == [[1.0] * 4] * 3
    assert dv.from_dlpack(y).data_ptr == d.data_ptr


def test_cupy_arrays_are_shared():
    cp = pytest.importorskip("cupy", reason="CuPy is not installed")
    a = cp.arange(10, dtype=cp.float64)
    t = dv.from_dlpack(a)
    assert t.device == "cuda:0" and t.data_ptr == a.data.ptr
    a[3] = -1
    assert to_numpy(t)[3] == -1
    d = dv.zeros((5,), "int32", device="cuda")
    b = cp.from_dlpack(d)
    assert b.data.ptr == d.data_ptr
    b += 2
    assert to_numpy(d).tolist() == [2] * 5
    # CuPy accepts negative strides: dlview's flip reaches it as a view.
    assert cp.from_dlpack(dv.from_dlpack(a)[::-1]).data.ptr == t.data_ptr + 9 * 8


def test_jax_gpu_arrays_are_shared():
    jax = pytest.importorskip("jax", reason="JAX is not installed")
    try:
        gpu = jax.devices("gpu")[0]
    except RuntimeError:
        pytest.skip("JAX has no GPU backend here (the conftest sets JAX_PLATFORMS=cpu; run with JAX_PLATFORMS=cuda,cpu)")
    a = jax.device_put(jax.numpy.arange(8, dtype=jax.numpy.float32), gpu)
    t = dv.from_dlpack(a)
    assert t.device == "cuda:0" and t.data_ptr == a.unsafe_buffer_pointer()
    assert to_numpy(t).tolist() == list(range(8))
    d = dv.arange(6, dtype="float32").to("cuda")
    b = jax.dlpack.from_dlpack(d)
    assert b.unsafe_buffer_pointer() == d.data_ptr
    assert np.asarray(b).tolist() == list(range(6))


# ---- copies -------------------------------------------------------------------------------


@pytest.mark.parametrize("order", ["C", "F", "K"])
def test_host_to_device_copies_are_exact(order):
    a = np.arange(4 * 6 * 9, dtype=np.float64).reshape(4, 6, 9)
    for name, v in host_views(a).items():
        d = dv.asarray(v).to("cuda", order=order)
        assert d.device == "cuda:0", name
        got = torch.from_dlpack(d).cpu().numpy()
        assert np.array_equal(got, v), name
        assert np.array_equal(to_numpy(d), v), name


@pytest.mark.parametrize("order", ["C", "F", "K"])
def test_device_to_host_and_device_copies_are_exact(order):
    x = torch.arange(4 * 6 * 9, dtype=torch.float32, device="cuda").reshape(4, 6, 9)
    a = x.cpu().numpy()
    d = dv.from_dlpack(x)
    device_views = {
        "C": d,
        "sliced": d[:, ::2, 1:7],
        "columns": d[:, :, 2:5],
        "negative": d[::-1, :, ::-3],
        "transposed": d.transpose(2, 0, 1),
    }
    want = {k: v for k, v in host_views(a).items() if k != "F"}
    for name, v in device_views.items():
        assert v.device == "cuda:0"
        h = v.to("cpu", order=order) if order != "K" else v.to("cpu")
        assert np.array_equal(np.asarray(h), want[name]), name
        dd = v.copy(order)  # device to device
        assert dd.device == "cuda:0" and np.array_equal(to_numpy(dd), want[name]), name
        assert np.array_equal(to_numpy(v.to("cuda_host")), want[name]), name


def test_pinned_and_managed_memory_are_host_readable():
    p = dv.zeros((3, 4), "float32", device="cuda_host")
    p[1] = 5.0
    assert torch.from_dlpack(p.to("cuda")).sum().item() == 20.0
    m = dv.zeros((4,), "float32", device="cuda_managed")
    m[2] = 3.0
    assert m.tolist() == [0, 0, 3, 0]
    assert to_numpy(m.to("cuda")).tolist() == [0, 0, 3, 0]


# ---- streams ---------------------------------------------------------------------------------


def test_a_pending_producer_kernel_is_ordered_before_dlview_reads():
    s = torch.cuda.Stream()
    x = torch.zeros(1 << 20, device="cuda")
    torch.cuda.synchronize()
    with torch.cuda.stream(s):
        torch.cuda._sleep(200_000_000)  # ~0.1 s of GPU time on s
        x.fill_(7.0)  # still pending on s when dlview reads
        t = dv.from_dlpack(x)  # torch makes dlview's stream (1) wait on s
        values = to_numpy(t)
    assert (values == 7.0).all()


def test_dlview_work_is_ordered_before_a_consumer_stream():
    big = dv.arange(1 << 24, dtype="float32").to("cuda")
    copy = big.copy()  # a device-to-device copy queued on dlview's stream
    s = torch.cuda.Stream()
    with torch.cuda.stream(s):
        y = torch.from_dlpack(copy)  # torch passes s: s waits for the copy
        total = y[-1].item()
    assert total == float((1 << 24) - 1)


@pytest.mark.parametrize("stream", [-1, 1, 2])
def test_torch_streams_minus_one_one_and_two(stream):
    x = torch.arange(6, dtype=torch.float32, device="cuda")
    torch.cuda.synchronize()
    t = dv.from_dlpack(x.__dlpack__(stream=stream))
    assert t.data_ptr == x.data_ptr() and to_numpy(t).tolist() == list(range(6))
    d = dv.arange(6, dtype="float32").to("cuda")
    cap = d.__dlpack__(stream=stream, max_version=(1, 0))
    y = torch.from_dlpack(cap)
    assert y.data_ptr() == d.data_ptr
    torch.cuda.synchronize()
    assert y.cpu().tolist() == list(range(6))
    with pytest.raises(ValueError, match="stream 0 is ambiguous"):
        d.__dlpack__(stream=0)


def test_a_torch_side_stream_handle():
    s = torch.cuda.Stream()
    d = dv.zeros((1000,), "float32", device="cuda")
    d.__dlpack__(stream=s.cuda_stream)  # an event record + wait on s
    with torch.cuda.stream(s):
        y = torch.from_dlpack(d)
        assert y.sum().item() == 0.0


# ---- leaks ------------------------------------------------------------------------------------


def test_no_leaks_after_thousands_of_exchanges():
    def round_trip():
        x = torch.empty(1000, device="cuda")
        t = dv.from_dlpack(x)
        y = torch.from_dlpack(t)
        d = dv.empty((1000,), "float32", device="cuda")
        z = torch.from_dlpack(d)
        w = dv.from_dlpack(z).to("cpu")
        del x, t, y, d, z, w

    for _ in range(20):  # warm up torch's caching allocator
        round_trip()
    gc.collect()
    torch.cuda.synchronize()
    torch.cuda.empty_cache()
    allocated = torch.cuda.memory_allocated()
    free = dv.cuda_mem_get_info(0)[0]
    storages = dv.live_storage_count()
    for _ in range(5000):
        round_trip()
    gc.collect()
    torch.cuda.synchronize()
    torch.cuda.empty_cache()
    assert torch.cuda.memory_allocated() == allocated
    assert dv.cuda_mem_get_info(0)[0] == free
    assert dv.live_storage_count() == storages
