/*
 * dlview._ext: the DLPack hot path of the Python package in C.
 *
 * ctypes costs microseconds per call (argument marshalling, struct
 * creation, turning a returned PyObject* into an object), while NumPy's
 * __dlpack__ takes about 100 ns; benches/exchange_bench.py measures it.
 * This module implements only what that benchmark exercises:
 *
 *   - TensorBase: the base class of dlview.Tensor, owning one dlv_tensor*,
 *     with __dlpack__ and __dlpack_device__;
 *   - from_dlpack(x, *, copy=None, device=None);
 *   - wrap(cls, handle): a new instance owning a handle.
 *
 * It decides nothing: capsules are made and consumed by the library's
 * dlv_py_tensor_to_capsule / dlv_py_tensor_from_capsule (whose destructor
 * is the library's too), errors are raised by the Python package's
 * _lib.raise_status, and every uncommon argument (a dl_device, a device)
 * is handed to the pure-Python implementation in dlview._dlpack.
 *
 * It does not link libdlview: _bind(path) dlopens the very library the
 * ctypes layer loaded (same path, so the same handle) and looks the few
 * functions up, so there is one copy of the library and of its state.
 * Built by `make python-ext` against the venv's Python headers.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <structmember.h>
#include <dlfcn.h>
#include <stdbool.h>
#include <string.h>

#include "dlview.h"

/* Library functions, typed by their declarations in dlview.h. */
static __typeof__(dlv_tensor_free) *p_free;
static __typeof__(dlv_tensor_device) *p_device;
static __typeof__(dlv_py_tensor_to_capsule) *p_to_capsule;
static __typeof__(dlv_py_tensor_from_capsule) *p_from_capsule;
static __typeof__(dlv_cuda_stream_wait) *p_stream_wait; /* NULL in libraries without CUDA calls */

/* Set by _bind: the Tensor class, _lib.raise_status, and the pure-Python
 * implementations used for uncommon arguments. */
static PyTypeObject *tensor_class;
static PyObject *raise_status;
static PyObject *py_export;
static PyObject *py_from_dlpack;

static PyObject *str_dlpack;       /* "__dlpack__" */
static PyObject *str_max_version;  /* keyword names, interned */
static PyObject *str_copy;
static PyObject *str_stream;
static PyObject *str_dl_device;
static PyObject *kw_max_version;        /* ("max_version",) */
static PyObject *kw_max_version_copy;   /* ("max_version", "copy") */
static PyObject *kw_max_version_stream;      /* ("max_version", "stream") */
static PyObject *kw_max_version_copy_stream; /* ("max_version", "copy", "stream") */
static PyObject *legacy_stream;              /* 1: the legacy default CUDA stream */
static PyObject *str_dlpack_device;          /* "__dlpack_device__" */
static PyObject *str_is_cuda;                /* "is_cuda" (torch) */
static PyObject *asked_version;         /* (1, 3) */

/* The metadata caches of dlview.Tensor (_shape, _strides, _dt) live here,
 * as they do in the pure-ctypes base, so that Tensor adds no slots of its
 * own whichever base it has. */
typedef struct {
    PyObject_HEAD
    dlv_tensor *h;
    PyObject *weakrefs;
    PyObject *shape;
    PyObject *strides;
    PyObject *dt;
} TensorBase;

static PyTypeObject TensorBaseType;

/* Raises the exception of a failed status through _lib.raise_status. */
static PyObject *fail(dlv_status status) {
    PyObject *r = PyObject_CallFunction(raise_status, "i", (int)status);
    Py_XDECREF(r);
    if (!PyErr_Occurred())
        PyErr_SetString(PyExc_RuntimeError, "dlview: raise_status did not raise");
    return NULL;
}

static PyObject *wrap_handle(PyTypeObject *cls, dlv_tensor *h) {
    TensorBase *self = (TensorBase *)cls->tp_alloc(cls, 0);
    if (self == NULL) {
        p_free(h);
        return NULL;
    }
    self->h = h;
    return (PyObject *)self;
}

static void TensorBase_dealloc(TensorBase *self) {
    if (self->weakrefs != NULL)
        PyObject_ClearWeakRefs((PyObject *)self);
    Py_CLEAR(self->shape);
    Py_CLEAR(self->strides);
    Py_CLEAR(self->dt);
    dlv_tensor *h = self->h;
    self->h = NULL;
    if (h != NULL && p_free != NULL)
        p_free(h);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyObject *TensorBase_get_h(TensorBase *self, void *closure) {
    (void)closure;
    return PyLong_FromVoidPtr(self->h);
}

/* max_version: None -> legacy (0); (major, minor) -> 1 when major >= 1. */
static int wants_versioned(PyObject *max_version) {
    if (max_version == Py_None)
        return 0;
    if (!PyTuple_Check(max_version) || PyTuple_GET_SIZE(max_version) != 2 ||
        !PyLong_Check(PyTuple_GET_ITEM(max_version, 0)) || !PyLong_Check(PyTuple_GET_ITEM(max_version, 1))) {
        PyErr_Format(PyExc_TypeError, "max_version must be a (major, minor) tuple of ints, got %R", max_version);
        return -1;
    }
    long major = PyLong_AsLong(PyTuple_GET_ITEM(max_version, 0));
    if (major == -1 && PyErr_Occurred())
        return -1;
    return major >= 1;
}

static int copy_mode(PyObject *copy, dlv_copy_mode *mode) {
    if (copy == Py_None) {
        *mode = DLV_COPY_IF_NEEDED;
        return 0;
    }
    int truth = PyObject_IsTrue(copy);
    if (truth < 0)
        return -1;
    *mode = truth ? DLV_COPY_ALWAYS : DLV_COPY_NEVER;
    return 0;
}

/* Devices whose DLPack exchanges carry a CUDA stream (docs/rules.md §6). */
static int is_cuda_family(DLDevice d) {
    return d.device_type == kDLCUDA || d.device_type == kDLCUDAHost || d.device_type == kDLCUDAManaged;
}

/* __dlpack__(*, stream=None, max_version=None, dl_device=None, copy=None) */
static PyObject *TensorBase_dlpack(TensorBase *self, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames) {
    if (nargs != 0) {
        PyErr_SetString(PyExc_TypeError, "__dlpack__() takes keyword arguments only");
        return NULL;
    }
    PyObject *stream = Py_None, *max_version = Py_None, *dl_device = Py_None, *copy = Py_None;
    Py_ssize_t nkw = kwnames ? PyTuple_GET_SIZE(kwnames) : 0;
    for (Py_ssize_t i = 0; i < nkw; i++) {
        PyObject *k = PyTuple_GET_ITEM(kwnames, i);
        PyObject **slot = NULL;
        if (k == str_max_version) slot = &max_version;
        else if (k == str_copy) slot = &copy;
        else if (k == str_stream) slot = &stream;
        else if (k == str_dl_device) slot = &dl_device;
        else if (PyUnicode_Compare(k, str_max_version) == 0) slot = &max_version;
        else if (PyUnicode_Compare(k, str_copy) == 0) slot = &copy;
        else if (PyUnicode_Compare(k, str_stream) == 0) slot = &stream;
        else if (PyUnicode_Compare(k, str_dl_device) == 0) slot = &dl_device;
        if (slot == NULL) {
            if (!PyErr_Occurred())
                PyErr_Format(PyExc_TypeError, "__dlpack__() got an unexpected keyword argument %R", k);
            return NULL;
        }
        *slot = args[i];
    }
    if (dl_device != Py_None) {
        /* Rare: device negotiation lives in one place, the Python version. */
        PyObject *kw = Py_BuildValue("{sOsOsOsO}", "stream", stream, "max_version", max_version, "dl_device",
                                     dl_device, "copy", copy);
        if (kw == NULL)
            return NULL;
        PyObject *pargs = PyTuple_Pack(1, (PyObject *)self);
        PyObject *r = pargs ? PyObject_Call(py_export, pargs, kw) : NULL;
        Py_XDECREF(pargs);
        Py_DECREF(kw);
        return r;
    }
    DLDevice dev = p_device(self->h);
    long long wait_stream = -1;
    if (stream != Py_None) {
        if (dev.device_type == kDLCPU) {
            PyErr_Format(PyExc_ValueError, "stream must be None for a tensor on the CPU, got %R", stream);
            return NULL;
        }
        if (PyBool_Check(stream) || !PyLong_Check(stream)) {
            PyErr_Format(PyExc_TypeError, "stream must be None or an int, got %R", stream);
            return NULL;
        }
        wait_stream = PyLong_AsLongLong(stream);
        if (wait_stream == -1 && PyErr_Occurred())
            return NULL;
        /* The library checks the value (0 is refused) and orders the stream. */
        if (!is_cuda_family(dev) || p_stream_wait == NULL)
            wait_stream = -1;
    }
    int versioned = wants_versioned(max_version);
    if (versioned < 0)
        return NULL;
    dlv_export_options opts = {DLV_COPY_IF_NEEDED, false};
    if (copy_mode(copy, &opts.copy) < 0)
        return NULL;
    void *capsule = NULL;
    dlv_status st = p_to_capsule(self->h, &opts, versioned != 0, &capsule);
    if (st != DLV_OK)
        return fail(st);
    /* After the export, which may have queued a device copy. -1 and 1 need
     * nothing (1 is dlview's own stream): skip the call on the hot path. */
    if (wait_stream != -1 && wait_stream != 1) {
        st = p_stream_wait(dev, (int64_t)wait_stream);
        if (st != DLV_OK) {
            Py_DECREF((PyObject *)capsule); /* its destructor releases the export */
            return fail(st);
        }
    }
    return (PyObject *)capsule;
}

/* True for producers known to hold memory no CUDA stream orders: NumPy
 * arrays, and torch tensors whose is_cuda is False (ROCm tensors say True).
 * For them the DLPack device query, 2.6 us on a torch tensor and so most of
 * an exchange, is skipped. (_dlpack.py's _holds_host_memory is the same.) */
static int holds_host_memory(PyObject *x) {
    if (strcmp(Py_TYPE(x)->tp_name, "numpy.ndarray") == 0)
        return 1;
    PyObject *r = PyObject_GetAttr(x, str_is_cuda);
    if (r == NULL) {
        PyErr_Clear();
        return 0;
    }
    int host = r == Py_False;
    Py_DECREF(r);
    return host;
}

/* The producer's DLPack device, or 0 when it has none to tell (no
 * __dlpack_device__, or one that fails: the exchange then goes on without
 * a stream and the producer's own errors speak). */
static int producer_device(PyObject *x, DLDevice *out) {
    if (tensor_class != NULL && PyObject_TypeCheck(x, &TensorBaseType)) {
        *out = p_device(((TensorBase *)x)->h);
        return 1;
    }
    PyObject *call[1] = {x};
    PyObject *r = PyObject_VectorcallMethod(str_dlpack_device, call, 1 | PY_VECTORCALL_ARGUMENTS_OFFSET, NULL);
    if (r == NULL) {
        PyErr_Clear();
        return 0;
    }
    int ok = 0;
    if (PyTuple_Check(r) && PyTuple_GET_SIZE(r) == 2) {
        long kind = PyLong_AsLong(PyTuple_GET_ITEM(r, 0));
        long index = PyLong_AsLong(PyTuple_GET_ITEM(r, 1));
        if (PyErr_Occurred()) {
            PyErr_Clear();
        } else {
            out->device_type = (DLDeviceType)kind;
            out->device_id = (int32_t)index;
            ok = 1;
        }
    }
    Py_DECREF(r);
    return ok;
}

static PyObject *TensorBase_dlpack_device(TensorBase *self, PyObject *unused) {
    (void)unused;
    DLDevice d = p_device(self->h);
    return Py_BuildValue("(ii)", (int)d.device_type, (int)d.device_id);
}

static PyMethodDef TensorBase_methods[] = {
    {"__dlpack__", (PyCFunction)(void (*)(void))TensorBase_dlpack, METH_FASTCALL | METH_KEYWORDS,
     "__dlpack__($self, /, *, stream=None, max_version=None, dl_device=None, copy=None)\n--\n\n"
     "A DLPack capsule of this tensor (docs/rules.md §6): \"dltensor_versioned\" for\n"
     "max_version >= (1, 0), else legacy \"dltensor\". Read-only tensors reach\n"
     "legacy consumers only as a copy, negative strides only as a compact copy;\n"
     "copy=False raises BufferError where a copy is needed."},
    {"__dlpack_device__", (PyCFunction)TensorBase_dlpack_device, METH_NOARGS,
     "__dlpack_device__($self, /)\n--\n\nThe DLPack (device_type, device_id) of the memory."},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef TensorBase_getset[] = {
    {"_h", (getter)TensorBase_get_h, NULL, "The dlv_tensor* handle, as an int.", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyMemberDef TensorBase_members[] = {
    {"_shape", T_OBJECT_EX, offsetof(TensorBase, shape), 0, "Cached shape."},
    {"_strides", T_OBJECT_EX, offsetof(TensorBase, strides), 0, "Cached byte strides."},
    {"_dt", T_OBJECT_EX, offsetof(TensorBase, dt), 0, "Cached DLDataType."},
    {NULL, 0, 0, 0, NULL},
};

static PyTypeObject TensorBaseType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "dlview._ext.TensorBase",
    .tp_basicsize = sizeof(TensorBase),
    .tp_dealloc = (destructor)TensorBase_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE,
    .tp_doc = "Owns one dlv_tensor handle and serves the DLPack protocol (C).",
    .tp_weaklistoffset = offsetof(TensorBase, weakrefs),
    .tp_methods = TensorBase_methods,
    .tp_getset = TensorBase_getset,
    .tp_members = TensorBase_members,
};

/* wrap(cls, handle): an instance of cls owning the handle (an int). */
static PyObject *ext_wrap(PyObject *module, PyObject *const *args, Py_ssize_t nargs) {
    (void)module;
    if (nargs != 2 || !PyType_Check(args[0]) || !PyType_IsSubtype((PyTypeObject *)args[0], &TensorBaseType)) {
        PyErr_SetString(PyExc_TypeError, "wrap(cls, handle) needs a TensorBase subclass and an int");
        return NULL;
    }
    void *h = PyLong_AsVoidPtr(args[1]);
    if (h == NULL) {
        if (!PyErr_Occurred())
            PyErr_SetString(PyExc_ValueError, "wrap: NULL handle");
        return NULL;
    }
    return wrap_handle((PyTypeObject *)args[0], (dlv_tensor *)h);
}

/* from_dlpack(x, /, *, copy=None, device=None) */
static PyObject *ext_from_dlpack(PyObject *module, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames) {
    (void)module;
    if (nargs != 1) {
        PyErr_SetString(PyExc_TypeError, "from_dlpack() takes exactly one positional argument");
        return NULL;
    }
    if (py_from_dlpack == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "dlview._ext is not bound to the library yet");
        return NULL;
    }
    PyObject *x = args[0], *copy = Py_None, *device = Py_None;
    Py_ssize_t nkw = kwnames ? PyTuple_GET_SIZE(kwnames) : 0;
    for (Py_ssize_t i = 0; i < nkw; i++) {
        PyObject *k = PyTuple_GET_ITEM(kwnames, i);
        if (PyUnicode_Compare(k, str_copy) == 0)
            copy = args[1 + i];
        else if (PyUnicode_CompareWithASCIIString(k, "device") == 0)
            device = args[1 + i];
        else {
            if (!PyErr_Occurred())
                PyErr_Format(PyExc_TypeError, "from_dlpack() got an unexpected keyword argument %R", k);
            return NULL;
        }
    }
    if (device != Py_None || tensor_class == NULL) {
        PyObject *kw = Py_BuildValue("{sOsO}", "copy", copy, "device", device);
        PyObject *pargs = kw ? PyTuple_Pack(1, x) : NULL;
        PyObject *r = pargs ? PyObject_Call(py_from_dlpack, pargs, kw) : NULL;
        Py_XDECREF(pargs);
        Py_XDECREF(kw);
        return r;
    }
    dlv_copy_mode user_mode;
    if (copy_mode(copy, &user_mode) < 0)
        return NULL;
    bool honoured = false;
    PyObject *capsule;
    if (PyCapsule_CheckExact(x)) {
        capsule = Py_NewRef(x);
    } else {
        /* A CUDA producer is asked to order dlview's stream (the legacy
         * default one, 1) after its pending work. */
        DLDevice src;
        int cuda = !holds_host_memory(x) && producer_device(x, &src) && is_cuda_family(src);
        PyObject *call[4] = {x, asked_version, copy, legacy_stream};
        PyObject *names;
        if (copy == Py_None) {
            names = cuda ? kw_max_version_stream : kw_max_version;
            call[2] = legacy_stream;
        } else {
            names = cuda ? kw_max_version_copy_stream : kw_max_version_copy;
        }
        capsule = PyObject_VectorcallMethod(str_dlpack, call, 1 | PY_VECTORCALL_ARGUMENTS_OFFSET, names);
        if (capsule != NULL) {
            honoured = true;
        } else if (PyErr_ExceptionMatches(PyExc_TypeError)) {
            /* A producer without keyword arguments: ask again plainly. */
            PyErr_Clear();
            capsule = PyObject_VectorcallMethod(str_dlpack, call, 1 | PY_VECTORCALL_ARGUMENTS_OFFSET, NULL);
        } else if (PyErr_ExceptionMatches(PyExc_AttributeError)) {
            PyErr_Clear();
            PyErr_Format(PyExc_TypeError, "%s does not support the DLPack protocol (no __dlpack__ method)",
                         Py_TYPE(x)->tp_name);
        }
        if (capsule == NULL)
            return NULL;
    }
    dlv_import_options opts = {DLV_COPY_IF_NEEDED, false};
    if (user_mode == DLV_COPY_ALWAYS && !honoured)
        opts.copy = DLV_COPY_ALWAYS;
    else if (user_mode == DLV_COPY_NEVER)
        opts.copy = DLV_COPY_NEVER;
    dlv_tensor *h = NULL;
    dlv_status st = p_from_capsule(capsule, &opts, &h);
    Py_DECREF(capsule);
    if (st != DLV_OK)
        return fail(st);
    return wrap_handle(tensor_class, h);
}

static void *lookup(void *lib, const char *name) {
    void *p = dlsym(lib, name);
    if (p == NULL)
        PyErr_Format(PyExc_ImportError, "dlview._ext: the library has no %s", name);
    return p;
}

/* _bind(library_path, tensor_class, raise_status, export_capsule, from_dlpack) */
static PyObject *ext_bind(PyObject *module, PyObject *args) {
    (void)module;
    const char *path;
    PyObject *cls, *raise, *exp, *imp;
    if (!PyArg_ParseTuple(args, "sOOOO", &path, &cls, &raise, &exp, &imp))
        return NULL;
    if (!PyType_Check(cls) || !PyType_IsSubtype((PyTypeObject *)cls, &TensorBaseType)) {
        PyErr_SetString(PyExc_TypeError, "_bind: the tensor class must derive from TensorBase");
        return NULL;
    }
    /* Same path as ctypes.CDLL: the loader hands back the same library. */
    void *lib = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (lib == NULL) {
        PyErr_Format(PyExc_ImportError, "dlview._ext: cannot load %s: %s", path, dlerror());
        return NULL;
    }
    if (!(p_free = lookup(lib, "dlv_tensor_free")) || !(p_device = lookup(lib, "dlv_tensor_device")) ||
        !(p_to_capsule = lookup(lib, "dlv_py_tensor_to_capsule")) ||
        !(p_from_capsule = lookup(lib, "dlv_py_tensor_from_capsule")))
        return NULL;
    p_stream_wait = (__typeof__(dlv_cuda_stream_wait) *)dlsym(lib, "dlv_cuda_stream_wait");
    Py_XSETREF(tensor_class, (PyTypeObject *)Py_NewRef(cls));
    Py_XSETREF(raise_status, Py_NewRef(raise));
    Py_XSETREF(py_export, Py_NewRef(exp));
    Py_XSETREF(py_from_dlpack, Py_NewRef(imp));
    Py_RETURN_NONE;
}

static PyMethodDef ext_methods[] = {
    {"_bind", ext_bind, METH_VARARGS, "Binds the module to the loaded library and the Python package."},
    {"wrap", (PyCFunction)(void (*)(void))ext_wrap, METH_FASTCALL,
     "wrap(cls, handle, /)\n--\n\nA new instance of cls owning the dlv_tensor* handle."},
    {"from_dlpack", (PyCFunction)(void (*)(void))ext_from_dlpack, METH_FASTCALL | METH_KEYWORDS,
     "from_dlpack(x, /, *, copy=None, device=None)\n--\n\n"
     "A tensor sharing the memory of any DLPack producer (an object with\n"
     "__dlpack__, or a raw \"dltensor[_versioned]\" capsule). Asks for\n"
     "max_version=(1, 3), retrying without arguments on TypeError; the capsule's\n"
     "name is checked and it is renamed \"used_...\" so it cannot be consumed\n"
     "twice. copy=True always copies, copy=False never does; legacy capsules\n"
     "are imported read-only."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef ext_module = {
    PyModuleDef_HEAD_INIT, "dlview._ext", "The DLPack hot path of dlview, in C (see _ext.c).", -1, ext_methods,
    NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__ext(void) {
    if (PyType_Ready(&TensorBaseType) < 0)
        return NULL;
    str_dlpack = PyUnicode_InternFromString("__dlpack__");
    str_max_version = PyUnicode_InternFromString("max_version");
    str_copy = PyUnicode_InternFromString("copy");
    str_stream = PyUnicode_InternFromString("stream");
    str_dl_device = PyUnicode_InternFromString("dl_device");
    if (!str_dlpack || !str_max_version || !str_copy || !str_stream || !str_dl_device)
        return NULL;
    kw_max_version = PyTuple_Pack(1, str_max_version);
    kw_max_version_copy = PyTuple_Pack(2, str_max_version, str_copy);
    kw_max_version_stream = PyTuple_Pack(2, str_max_version, str_stream);
    kw_max_version_copy_stream = PyTuple_Pack(3, str_max_version, str_copy, str_stream);
    asked_version = Py_BuildValue("(ii)", 1, 3);
    legacy_stream = PyLong_FromLong(1);
    str_dlpack_device = PyUnicode_InternFromString("__dlpack_device__");
    str_is_cuda = PyUnicode_InternFromString("is_cuda");
    if (!kw_max_version || !kw_max_version_copy || !kw_max_version_stream || !kw_max_version_copy_stream ||
        !asked_version || !legacy_stream || !str_dlpack_device || !str_is_cuda)
        return NULL;
    PyObject *m = PyModule_Create(&ext_module);
    if (m == NULL)
        return NULL;
    Py_INCREF(&TensorBaseType);
    if (PyModule_AddObject(m, "TensorBase", (PyObject *)&TensorBaseType) < 0) {
        Py_DECREF(&TensorBaseType);
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
