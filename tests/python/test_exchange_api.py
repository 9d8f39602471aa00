"""The DLPack 1.3 C exchange API both ways (issue 16).

- PyTorch -> dlview through torch's ``__dlpack_c_exchange_api__`` (proved by
  making ``torch.Tensor.__dlpack__`` unusable), with results identical to
  the ``__dlpack__`` path for every dtype and layout, copy policy and errors.
- dlview's own table: consumed by a test C extension (all five entries) and
  by tvm-ffi.
- The C functions ``dlv_py_tensor_from_object``, ``dlv_py_tensor_to_object``
  and ``dlv_py_current_work_stream`` of ``libdlview.so`` (through
  ``ctypes.PyDLL``, which raises the Python error a failing call sets).
"""

from __future__ import annotations

import ctypes
import os
import shutil
import subprocess
import sysconfig
from pathlib import Path

import numpy as np
import pytest
import torch

import dlview as dv

ROOT = Path(__file__).resolve().parents[2]
LIB = Path(os.environ.get("DLVIEW_LIBRARY", ROOT / "target/release/libdlview.so"))

DTYPES = ["bool", "int8", "uint8", "int16", "int32", "int64", "float16", "bfloat16", "float32", "float64",
          "complex64", "complex128", "float8_e4m3fn", "float8_e5m2", "uint16", "uint32", "uint64"]


def torch_tensor(dtype: str, layout: str) -> torch.Tensor:
    base = torch.arange(24, dtype=torch.float32).reshape(4, 6)
    x = base.to(getattr(torch, dtype)) if dtype != "bool" else base > 10
    return {
        "contiguous": x,
        "transposed": x.T,
        "strided": x[::2, 1::3],
        "broadcast": x[0].expand(3, 6),
        "scalar": x[1, 2],
        "empty": x[:0],
    }[layout]


@pytest.fixture
def no_torch_dlpack(monkeypatch):
    """torch.Tensor.__dlpack__ fails if called: the table must be used."""

    def boom(self, *args, **kwargs):
        raise AssertionError("torch.Tensor.__dlpack__ was called")

    monkeypatch.setattr(torch.Tensor, "__dlpack__", boom)


def test_torch_publishes_a_table():
    cap = torch.Tensor.__dlpack_c_exchange_api__
    assert "dlpack_exchange_api" in repr(cap)


@pytest.mark.parametrize("layout", ["contiguous", "transposed", "strided", "broadcast", "scalar", "empty"])
@pytest.mark.parametrize("dtype", DTYPES)
def test_torch_through_the_table_matches_the_dlpack_path(dtype, layout, monkeypatch):
    x = torch_tensor(dtype, layout)
    via_capsule = dv.from_dlpack(x.__dlpack__(max_version=(1, 3)))
    monkeypatch.setattr(torch.Tensor, "__dlpack__", lambda *a, **k: (_ for _ in ()).throw(AssertionError("called")))
    via_table = dv.from_dlpack(x)
    for attr in ("shape", "strides", "dtype", "device", "data_ptr"):
        assert getattr(via_table, attr) == getattr(via_capsule, attr), attr
    assert via_table.flags.writeable == via_capsule.flags.writeable
    assert via_table.tolist() == via_capsule.tolist()
    if x.numel():
        assert via_table.data_ptr == x.data_ptr()


def test_table_copy_policy(no_torch_dlpack):
    x = torch.arange(6.0)
    t = dv.from_dlpack(x, copy=True)
    assert t.data_ptr != x.data_ptr() and t.tolist() == x.tolist()
    s = dv.from_dlpack(x, copy=False)
    assert s.data_ptr == x.data_ptr()
    with pytest.raises(BufferError, match="cannot share"):
        dv.asarray(x, dtype="float64", copy=False)
    assert dv.asarray(x, dtype="float64").tolist() == x.tolist()


def test_table_errors_match_the_dlpack_path(monkeypatch):
    x = torch.ones(3, requires_grad=True)
    with pytest.raises(Exception) as direct:
        x.__dlpack__(max_version=(1, 3))
    with pytest.raises(type(direct.value)):
        dv.from_dlpack(x)


@pytest.mark.thread_unsafe(reason="counts the process's live storages")
def test_table_import_keeps_torch_memory_alive(no_torch_dlpack):
    before = dv.live_storage_count()
    x = torch.arange(1000.0)
    t = dv.from_dlpack(x)
    ptr = x.data_ptr()
    del x
    assert t.data_ptr == ptr and t[999].item() == 999.0
    del t
    assert dv.live_storage_count() == before


# ---- dlview's own table ---------------------------------------------------------------


def test_dlview_publishes_all_five_entries():
    cap = dv.Tensor.__dlpack_c_exchange_api__
    assert "dlpack_exchange_api" in repr(cap)
    get = ctypes.pythonapi.PyCapsule_GetPointer
    get.restype, get.argtypes = ctypes.c_void_p, [ctypes.py_object, ctypes.c_char_p]
    table = (ctypes.c_void_p * 7).from_address(get(cap, b"dlpack_exchange_api"))
    version = (ctypes.c_uint32 * 2).from_address(ctypes.addressof(table))
    assert tuple(version) == (1, 3) and table[1] is None  # prev_api NULL
    assert all(table[i] for i in range(2, 7))


def test_tvm_ffi_takes_and_gives_dlview_tensors():
    tvm_ffi = pytest.importorskip("tvm_ffi")
    t = dv.arange(12, dtype="float32").reshape(3, 4)
    v = tvm_ffi.from_dlpack(t)
    assert v.shape == (3, 4) and np.from_dlpack(v).ctypes.data == t.data_ptr
    back = dv.from_dlpack(v)
    assert back.data_ptr == t.data_ptr and back.tolist() == t.tolist()


EXTENSION = r"""
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>
#include "dlview.h"

/* Takes a dlview.Tensor through dlview's own exchange table: the managed
   and the borrowed (DLTensor) forms, the allocator, the stream, and a new
   dlview.Tensor back. Returns (sum of the float32 elements, new tensor). */
static PyObject *roundtrip(PyObject *self, PyObject *obj) {
  (void)self;
  PyObject *cap = PyObject_GetAttrString((PyObject *)Py_TYPE(obj), "__dlpack_c_exchange_api__");
  if (!cap) return NULL;
  const DLPackExchangeAPI *api = PyCapsule_GetPointer(cap, "dlpack_exchange_api");
  Py_DECREF(cap);
  if (!api) return NULL;
  if (api->header.version.major != 1) { PyErr_SetString(PyExc_RuntimeError, "major"); return NULL; }
  DLTensor borrowed;
  if (api->dltensor_from_py_object_no_sync(obj, &borrowed) != 0) return NULL;
  DLManagedTensorVersioned *mt = NULL;
  if (api->managed_tensor_from_py_object_no_sync(obj, &mt) != 0) return NULL;
  double sum = 0;
  const float *p = (const float *)mt->dl_tensor.data;
  for (int64_t i = 0; i < mt->dl_tensor.shape[0]; i++) sum += p[i * mt->dl_tensor.strides[0]];
  if (borrowed.data != mt->dl_tensor.data) { PyErr_SetString(PyExc_RuntimeError, "data differs"); return NULL; }
  mt->deleter(mt);
  void *stream = (void *)1;
  if (api->current_work_stream(kDLCPU, 0, &stream) != 0 || stream != NULL) { PyErr_SetString(PyExc_RuntimeError, "stream"); return NULL; }
  int64_t shape[1] = {5};
  DLTensor proto = {0};
  proto.device.device_type = kDLCPU; proto.ndim = 1; proto.shape = shape;
  proto.dtype.code = kDLFloat; proto.dtype.bits = 32; proto.dtype.lanes = 1;
  DLManagedTensorVersioned *fresh = NULL;
  if (api->managed_tensor_allocator(&proto, &fresh, NULL, NULL) != 0) { PyErr_SetString(PyExc_RuntimeError, "alloc"); return NULL; }
  for (int i = 0; i < 5; i++) ((float *)fresh->dl_tensor.data)[i] = (float)(10 * i);
  void *out = NULL;
  if (api->managed_tensor_to_py_object_no_sync(fresh, &out) != 0) return NULL;
  return Py_BuildValue("(dN)", sum, (PyObject *)out);
}

static PyMethodDef methods[] = {{"roundtrip", roundtrip, METH_O, NULL}, {NULL, NULL, 0, NULL}};
static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "dlv_table_ext", NULL, -1, methods, NULL, NULL, NULL, NULL};
PyMODINIT_FUNC PyInit_dlv_table_ext(void) { return PyModule_Create(&module); }
"""


@pytest.mark.thread_unsafe(reason="builds and imports one extension module")
@pytest.mark.skipif(shutil.which("cc") is None, reason="needs a C compiler")
def test_a_c_extension_through_dlviews_table(tmp_path, monkeypatch):
    src = tmp_path / "dlv_table_ext.c"
    src.write_text(EXTENSION)
    out = tmp_path / ("dlv_table_ext" + sysconfig.get_config_var("EXT_SUFFIX"))
    subprocess.run(
        ["cc", "-shared", "-fPIC", "-std=c11", "-Wall", "-Werror", f"-I{sysconfig.get_paths()['include']}",
         f"-I{ROOT / 'include'}", str(src), "-o", str(out)],
        check=True,
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    import dlv_table_ext

    t = dv.arange(8, dtype="float32")[::2]
    total, fresh = dlv_table_ext.roundtrip(t)
    assert total == sum(t.tolist())
    assert type(fresh) is dv.Tensor and fresh.tolist() == [0.0, 10.0, 20.0, 30.0, 40.0] and fresh.flags.writeable
    with pytest.raises(BufferError, match="negative strides"):
        dlv_table_ext.roundtrip(dv.arange(4, dtype="float32")[::-1])
    with pytest.raises(AttributeError, match="__dlpack_c_exchange_api__"):
        dlv_table_ext.roundtrip(np.arange(3.0))  # no table on numpy's type


# ---- the C functions of libdlview.so ----------------------------------------------------


@pytest.fixture(scope="module")
def capi():
    if not LIB.is_file():
        pytest.skip(f"{LIB} is not built (make lib)")
    lib = ctypes.PyDLL(str(LIB))  # PyDLL: GIL held, Python errors raised
    lib.dlv_py_tensor_from_object.argtypes = [ctypes.py_object, ctypes.c_void_p, ctypes.POINTER(ctypes.c_void_p)]
    lib.dlv_py_tensor_from_object.restype = ctypes.c_int
    lib.dlv_py_tensor_to_object.argtypes = [ctypes.c_void_p, ctypes.py_object, ctypes.c_void_p, ctypes.POINTER(ctypes.c_void_p)]
    lib.dlv_py_tensor_to_object.restype = ctypes.c_int
    lib.dlv_py_current_work_stream.argtypes = [ctypes.py_object, ctypes.c_int64, ctypes.POINTER(ctypes.c_void_p)]
    lib.dlv_py_current_work_stream.restype = ctypes.c_int
    lib.dlv_tensor_data.argtypes = [ctypes.c_void_p]
    lib.dlv_tensor_data.restype = ctypes.c_void_p
    lib.dlv_tensor_free.argtypes = [ctypes.c_void_p]
    lib.dlv_tensor_flags.argtypes = [ctypes.c_void_p]
    lib.dlv_tensor_flags.restype = ctypes.c_uint32
    return lib


def _take(capi, obj) -> int:
    h = ctypes.c_void_p()
    assert capi.dlv_py_tensor_from_object(obj, None, ctypes.byref(h)) == 0
    return h.value


def test_c_from_object_uses_torchs_table(capi, no_torch_dlpack):
    x = torch.arange(6.0).reshape(2, 3)
    h = _take(capi, x)
    try:
        assert capi.dlv_tensor_data(h) == x.data_ptr() and capi.dlv_tensor_flags(h) & 1
    finally:
        capi.dlv_tensor_free(h)


@pytest.mark.parametrize("make", [lambda: np.arange(4.0), lambda: dv.arange(4.0), lambda: np.arange(4.0).__dlpack__()])
def test_c_from_object_falls_back_to_dlpack(capi, make):
    obj = make()
    h = _take(capi, obj)
    try:
        if not isinstance(obj, type(np.arange(1).__dlpack__())):
            assert capi.dlv_tensor_data(h) == dv.asarray(obj).data_ptr
    finally:
        capi.dlv_tensor_free(h)


def test_c_to_object_makes_a_torch_tensor(capi):
    a = np.arange(6.0)
    h = _take(capi, a)
    out = ctypes.c_void_p()
    try:
        for like in (torch.Tensor, torch.zeros(1)):
            assert capi.dlv_py_tensor_to_object(h, like, None, ctypes.byref(out)) == 0
            x = ctypes.cast(out.value, ctypes.py_object).value
            ctypes.pythonapi.Py_DecRef(ctypes.py_object(x))  # the C reference, taken over
            assert isinstance(x, torch.Tensor) and x.data_ptr() == a.ctypes.data and x.tolist() == a.tolist()
            out.value = None
        assert capi.dlv_py_tensor_to_object(h, dv.Tensor, None, ctypes.byref(out)) == 0
        t = ctypes.cast(out.value, ctypes.py_object).value
        ctypes.pythonapi.Py_DecRef(ctypes.py_object(t))
        assert type(t) is dv.Tensor and t.data_ptr == a.ctypes.data
    finally:
        capi.dlv_tensor_free(h)


def test_c_functions_set_the_python_error(capi):
    h = ctypes.c_void_p()
    with pytest.raises(ValueError, match="does not support the DLPack protocol"):
        capi.dlv_py_tensor_from_object(object(), None, ctypes.byref(h))
    x = torch.ones(2, requires_grad=True)
    with pytest.raises(Exception, match="gradient"):
        capi.dlv_py_tensor_from_object(x, None, ctypes.byref(h))  # torch's own exception, kept
    t = _take(capi, np.arange(3.0))
    try:
        with pytest.raises(ValueError, match="exchange API"):
            capi.dlv_py_tensor_to_object(t, np.ndarray, None, ctypes.byref(h))
    finally:
        capi.dlv_tensor_free(t)


def test_c_current_work_stream(capi):
    s = ctypes.c_void_p(1)
    cpu = 1  # DLDevice {kDLCPU, 0} passed by value as one int64 (type, id)
    assert capi.dlv_py_current_work_stream(torch.Tensor, cpu, ctypes.byref(s)) == 0 and s.value is None
    assert capi.dlv_py_current_work_stream(np.ndarray, cpu, ctypes.byref(s)) == 0 and s.value is None
    with pytest.raises(ValueError, match="exchange API"):
        capi.dlv_py_current_work_stream(np.ndarray, 2, ctypes.byref(s))  # cuda:0, no table
