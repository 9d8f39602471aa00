"""One buffer, four owners: a dlview tensor goes to PyTorch, on to NumPy and
back to dlview through DLPack without a single copy. Every step prints the
data pointer, and a write through the last view shows up in the first.

    PYTHONPATH=python .venv/bin/python python/examples/roundtrip.py
"""

import numpy as np
import torch

import dlview as dv

t = dv.arange(12, dtype="float32").reshape(3, 4)
x = torch.from_dlpack(t)  # dlview -> torch (versioned DLPack capsule)
a = np.from_dlpack(x)  # torch -> numpy
back = dv.from_dlpack(a)  # numpy -> dlview

for name, ptr in [
    ("dlview tensor", t.data_ptr),
    ("torch.from_dlpack(t)", x.data_ptr()),
    ("numpy.from_dlpack(x)", a.ctypes.data),
    ("dv.from_dlpack(a)", back.data_ptr),
]:
    print(f"{name:22} data pointer {ptr:#x}")

back[2, 3] = -1.0
print("after back[2, 3] = -1:", t[2, 3].item(), x[2, 3].item(), a[2, 3])
assert t.data_ptr == x.data_ptr() == a.ctypes.data == back.data_ptr
assert t[2, 3].item() == x[2, 3].item() == a[2, 3] == -1.0
print(f"one data pointer for all four (dlview {dv.__version__})")
