"""Runs the C extension built against the installed wheel (scale.c)."""
import os
import sys

import torch

import dlview as dv
import scale

here = os.path.realpath(os.path.dirname(dv.__file__))
assert not here.startswith(os.path.realpath(sys.argv[1]) + os.sep), f"dlview imported from the source tree: {here}"
x = torch.arange(6, dtype=torch.float32).reshape(2, 3)
y = scale.scale(x, 10.0)
assert type(y) is torch.Tensor and y.data_ptr() == x.data_ptr(), (type(y), y.data_ptr(), x.data_ptr())
assert x.tolist() == [[0.0, 10.0, 20.0], [30.0, 40.0, 50.0]], x
for bad, exc in [(object(), ValueError), (torch.ones(2, requires_grad=True), BufferError), (torch.ones(2, dtype=torch.int32), TypeError)]:
    try:
        scale.scale(bad, 2.0)
    except exc:
        pass
    else:
        raise AssertionError(f"scale({bad!r}) must raise {exc.__name__}")
print(f"C extension against the wheel ({here}): torch tensor scaled in place and returned, errors raise")
