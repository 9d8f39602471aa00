/* A C extension built against an installed dlview wheel only
   (`python -m dlview --cflags --libs`): scale(x, factor) takes any DLPack
   tensor (a torch.Tensor through torch's exchange API), scales its float32
   elements in place, and returns a new tensor of x's framework sharing the
   same memory. Failures raise: the dlv_py_* calls set the Python error. */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <dlview.h>

static PyObject *scale(PyObject *self, PyObject *args) {
  (void)self;
  PyObject *obj;
  double factor;
  if (!PyArg_ParseTuple(args, "Od", &obj, &factor)) return NULL;
  dlv_tensor *t = NULL;
  if (dlv_py_tensor_from_object(obj, NULL, &t) != DLV_OK) return NULL;
  DLDataType dt = dlv_tensor_dtype(t);
  if (dt.code != kDLFloat || dt.bits != 32 || !(dlv_tensor_flags(t) & DLV_FLAG_C_CONTIGUOUS)) {
    dlv_tensor_free(t);
    PyErr_SetString(PyExc_TypeError, "scale: a C-contiguous float32 tensor is needed");
    return NULL;
  }
  float *p = NULL;
  if (dlv_tensor_data_mut(t, (void **)&p) != DLV_OK) {
    PyErr_SetString(PyExc_ValueError, dlv_last_error());
    dlv_tensor_free(t);
    return NULL;
  }
  for (int64_t i = 0; i < dlv_tensor_size(t); i++) p[i] = (float)(p[i] * factor);
  void *out = NULL;
  dlv_status s = dlv_py_tensor_to_object(t, obj, NULL, &out);
  dlv_tensor_free(t);
  return s == DLV_OK ? (PyObject *)out : NULL;
}

static PyMethodDef methods[] = {{"scale", scale, METH_VARARGS, NULL}, {NULL, NULL, 0, NULL}};
static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "scale", NULL, -1, methods, NULL, NULL, NULL, NULL};
PyMODINIT_FUNC PyInit_scale(void) { return PyModule_Create(&module); }
