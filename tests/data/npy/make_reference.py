"""Writes the reference .npy files in this directory with NumPy (run from
anywhere: `python tests/data/npy/make_reference.py`). tests/npy.rs checks
that dlview loads them (values, shape, strides, flags) and that dlview saves
byte-identical files; it recomputes the expected values with the same
formulas, so keep the two in step.

Element k (in C index order) of a 2x3x4 file holds:
  bool: k % 3 == 0;  signed ints: k - 12;  unsigned ints: 10 * k;
  floats: (k - 12) / 4;  complex: (k - 12) / 4 + k*1j.
"""
import os
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
DTYPES = ["bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32",
          "uint64", "float16", "float32", "float64", "complex64", "complex128"]


def values(dtype, shape):
    k = np.arange(int(np.prod(shape))).reshape(shape)
    dt = np.dtype(dtype)
    if dt.kind == "b":
        return k % 3 == 0
    if dt.kind == "i":
        return (k - 12).astype(dt)
    if dt.kind == "u":
        return (10 * k).astype(dt)
    if dt.kind == "f":
        return ((k - 12) / 4).astype(dt)
    return ((k - 12) / 4 + 1j * k).astype(dt)


def save(name, a, version=None):
    with open(os.path.join(HERE, name), "wb") as f:
        np.lib.format.write_array(f, a, version=version)


for dt in DTYPES:
    a = values(dt, (2, 3, 4))
    save(f"{dt}_C.npy", a)
    save(f"{dt}_F.npy", np.asfortranarray(a))
save("float64_0d.npy", np.array(3.5))
save("int32_0d.npy", np.array(-7, dtype=np.int32))
save("float32_0x3.npy", np.zeros((0, 3), dtype=np.float32))
save("int64_0.npy", np.zeros((0,), dtype=np.int64))
save("float32_v2.npy", values("float32", (2, 3, 4)), version=(2, 0))
save("float32_v3.npy", values("float32", (2, 3, 4)), version=(3, 0))
save("float64_big.npy", values(">f8", (2, 3, 4)))
save("int32_big_F.npy", np.asfortranarray(values(">i4", (2, 3, 4))))
save("complex64_big.npy", values(">c8", (2, 3, 4)))
# Issue 15 item 11: every width of big-endian data.
save("float32_big.npy", values(">f4", (2, 3, 4)))
save("int64_big.npy", values(">i8", (2, 3, 4)))
save("complex128_big_F.npy", np.asfortranarray(values(">c16", (2, 3, 4))))
save("float16_big.npy", values(">f2", (2, 3, 4)))
save("uint16_big.npy", values(">u2", (2, 3, 4)))
try:
    import ml_dtypes
    # NumPy writes these as raw void ('<V2'): dlview must refuse them with a hint.
    save("bfloat16_as_void.npy", values("float32", (2, 3, 4)).astype(ml_dtypes.bfloat16))
except ImportError:
    pass
