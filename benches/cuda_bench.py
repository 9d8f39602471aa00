"""CUDA copies and exchanges against PyTorch, measured in the same run.

- host -> device and device -> host copies of 256 MiB from pageable and from
  pinned memory: dlview's ``Tensor.to`` against torch's ``.to()`` (the ratio
  is torch time / dlview time; the goal is >= 0.95);
- the cost of exchanging a CUDA tensor (``dv.from_dlpack(torch_tensor)``,
  ``torch.from_dlpack(dlview_tensor)``) against the same exchange on the CPU.

Exits cleanly with "skipped: no GPU ..." where there is none. dlview's
``to()`` allocates its result with the driver each time (``cuMemAlloc``,
``cuMemAllocHost``) while torch reuses cached blocks: the copy numbers
include that allocation.
"""

from __future__ import annotations

import sys
import time

try:
    import torch
except ImportError:
    print("skipped: no GPU (PyTorch is not installed)")
    sys.exit(0)

import dlview as dv

if not torch.cuda.is_available() or not dv.cuda_is_available():
    why = "torch.cuda.is_available() is False" if not torch.cuda.is_available() else "dlview finds no CUDA device"
    print(f"skipped: no GPU ({why})")
    sys.exit(0)

N = 64 << 20  # float32 elements: 256 MiB
REPEAT = 10


def best(fn, repeat=REPEAT):
    fn()  # warm up
    times = []
    for _ in range(repeat):
        torch.cuda.synchronize()
        t0 = time.perf_counter()
        fn()
        torch.cuda.synchronize()
        times.append(time.perf_counter() - t0)
    return min(times)


def row(name, t_dv, t_torch):
    gbps = (N * 4) / t_dv / 1e9
    print(f"{name:34s} dlview {t_dv * 1e3:8.2f} ms ({gbps:5.1f} GB/s)  torch {t_torch * 1e3:8.2f} ms  ratio {t_torch / t_dv:5.2f}")


print(f"CUDA copies of 256 MiB on {torch.cuda.get_device_name(0)} (best of {REPEAT}; ratio = torch / dlview)")
pageable = dv.arange(N, dtype="float32")
tp = torch.from_dlpack(pageable)
row("host->device, pageable", best(lambda: pageable.to("cuda")), best(lambda: tp.to("cuda")))
pinned = dv.zeros((N,), "float32", device="cuda_host")
tpin = torch.zeros(N, dtype=torch.float32).pin_memory()
row("host->device, pinned", best(lambda: pinned.to("cuda")), best(lambda: tpin.to("cuda")))
dev = pageable.to("cuda")
tdev = torch.from_dlpack(dev)
row("device->host, pageable", best(lambda: dev.to("cpu")), best(lambda: tdev.to("cpu")))
row(
    "device->host, pinned",
    best(lambda: dev.to("cuda_host")),
    best(lambda: torch.empty(N, pin_memory=True).copy_(tdev)),
)

print("\nexchange cost per call (us), CUDA vs CPU")
x_cuda = torch.arange(1024, dtype=torch.float32, device="cuda")
x_cpu = torch.arange(1024, dtype=torch.float32)
d_cuda = dv.from_dlpack(x_cuda)
d_cpu = dv.from_dlpack(x_cpu)


def per_call(fn, n=20000):
    fn()
    t0 = time.perf_counter()
    for _ in range(n):
        fn()
    return (time.perf_counter() - t0) / n * 1e6


for name, cuda_fn, cpu_fn in [
    ("dv.from_dlpack(torch tensor)", lambda: dv.from_dlpack(x_cuda), lambda: dv.from_dlpack(x_cpu)),
    ("torch.from_dlpack(dlview tensor)", lambda: torch.from_dlpack(d_cuda), lambda: torch.from_dlpack(d_cpu)),
]:
    c, h = per_call(cuda_fn), per_call(cpu_fn)
    print(f"{name:34s} cuda {c:6.2f} us  cpu {h:6.2f} us  ratio {c / h:5.2f}")
