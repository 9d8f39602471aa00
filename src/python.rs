//! `dlv_py_*`: the few calls the Python binding needs that must not run
//! Python code: the DLPack capsule destructor, capsule creation and
//! consumption, and the release callback that lets go of a Python object
//! whose buffer a tensor borrowed.
//!
//! The library does not link libpython (a plain C program links and runs
//! without it). The handful of CPython C-API functions used here are looked
//! up at run time with `dlsym(RTLD_DEFAULT, ...)`, which finds them in any
//! process that embeds or is a Python interpreter. Outside Python they are
//! absent, and these calls fail cleanly (or, for the release callbacks, do
//! nothing and leak rather than crash).
//!
//! Every function here except `dlv_py_release_object` must be called with
//! the GIL held (ctypes: through a `PyDLL` handle, not a `CDLL` one).

use crate::boundary::*;
use crate::dlpack::{dlv_export_options, dlv_import_options, export_options, import_options};
use crate::types::*;
use dlpark::ffi::{DLManagedTensor, DLManagedTensorVersioned};
use dlview_core::dlpack::{export, import};
use dlview_core::error::{Error, Result};
use std::ffi::{CStr, c_char, c_int, c_void};
use std::sync::OnceLock;

/// An opaque CPython object (`PyObject`).
type PyObject = c_void;
type Destructor = unsafe extern "C-unwind" fn(*mut PyObject);

/// The capsule names of the DLPack Python specification.
const VERSIONED: &CStr = c"dltensor_versioned";
const LEGACY: &CStr = c"dltensor";
const USED_VERSIONED: &CStr = c"used_dltensor_versioned";
const USED_LEGACY: &CStr = c"used_dltensor";

/// How the running interpreter lets us save and restore the exception in
/// flight (3.12 added the single-object pair and deprecated the triple).
#[derive(Clone, Copy)]
enum ErrorApi {
    Raised {
        get: unsafe extern "C-unwind" fn() -> *mut PyObject,
        set: unsafe extern "C-unwind" fn(*mut PyObject),
    },
    Triple {
        fetch:
            unsafe extern "C-unwind" fn(*mut *mut PyObject, *mut *mut PyObject, *mut *mut PyObject),
        restore: unsafe extern "C-unwind" fn(*mut PyObject, *mut PyObject, *mut PyObject),
    },
}

/// An exception taken out of the interpreter's error indicator, to be put
/// back unchanged.
enum SavedError {
    Raised(*mut PyObject),
    Triple(*mut PyObject, *mut PyObject, *mut PyObject),
}

/// The CPython C-API functions this module calls, resolved once.
struct PyApi {
    capsule_new: unsafe extern "C-unwind" fn(
        *mut c_void,
        *const c_char,
        Option<Destructor>,
    ) -> *mut PyObject,
    capsule_is_valid: unsafe extern "C-unwind" fn(*mut PyObject, *const c_char) -> c_int,
    capsule_get_pointer: unsafe extern "C-unwind" fn(*mut PyObject, *const c_char) -> *mut c_void,
    capsule_get_name: unsafe extern "C-unwind" fn(*mut PyObject) -> *const c_char,
    capsule_set_name: unsafe extern "C-unwind" fn(*mut PyObject, *const c_char) -> c_int,
    err_clear: unsafe extern "C-unwind" fn(),
    err_occurred: unsafe extern "C-unwind" fn() -> *mut PyObject,
    errors: ErrorApi,
    is_initialized: unsafe extern "C-unwind" fn() -> c_int,
    /// `Py_IsFinalizing` (3.13+) or `_Py_IsFinalizing` (before).
    is_finalizing: Option<unsafe extern "C-unwind" fn() -> c_int>,
    gil_check: unsafe extern "C-unwind" fn() -> c_int,
    gil_ensure: unsafe extern "C-unwind" fn() -> c_int,
    gil_release: unsafe extern "C-unwind" fn(c_int),
    dec_ref: unsafe extern "C-unwind" fn(*mut PyObject),
}

/// Looks a symbol up in the global scope of the process.
fn symbol(name: &CStr) -> Option<*mut c_void> {
    // SAFETY: dlsym with RTLD_DEFAULT and a NUL-terminated name has no
    // preconditions; it returns NULL when the symbol is absent.
    let p = unsafe { libc::dlsym(libc::RTLD_DEFAULT, name.as_ptr()) };
    (!p.is_null()).then_some(p)
}

/// Resolves `name` as a function of type `F`.
///
/// # Safety
/// `F` must be an `extern "C-unwind"` function pointer type (any CPython
/// call may end the thread with `pthread_exit` during finalization, which
/// must be allowed to unwind through us) matching the C
/// declaration of `name`.
unsafe fn function<F: Copy>(name: &CStr) -> Option<F> {
    const { assert!(size_of::<F>() == size_of::<*mut c_void>()) };
    // SAFETY: a non-NULL code address of the declared type, per the contract.
    symbol(name).map(|p| unsafe { std::mem::transmute_copy::<*mut c_void, F>(&p) })
}

impl PyApi {
    fn resolve() -> Option<PyApi> {
        // SAFETY: each type below is the C signature of the named CPython
        // function (Include/pycapsule.h, pyerrors.h, pylifecycle.h,
        // pystate.h, object.h); PyGILState_STATE is a C enum (an int).
        unsafe {
            let errors = match (
                function(c"PyErr_GetRaisedException"),
                function(c"PyErr_SetRaisedException"),
            ) {
                (Some(get), Some(set)) => ErrorApi::Raised { get, set },
                _ => ErrorApi::Triple {
                    fetch: function(c"PyErr_Fetch")?,
                    restore: function(c"PyErr_Restore")?,
                },
            };
            Some(PyApi {
                capsule_new: function(c"PyCapsule_New")?,
                capsule_is_valid: function(c"PyCapsule_IsValid")?,
                capsule_get_pointer: function(c"PyCapsule_GetPointer")?,
                capsule_get_name: function(c"PyCapsule_GetName")?,
                capsule_set_name: function(c"PyCapsule_SetName")?,
                err_clear: function(c"PyErr_Clear")?,
                err_occurred: function(c"PyErr_Occurred")?,
                errors,
                is_initialized: function(c"Py_IsInitialized")?,
                is_finalizing: function(c"Py_IsFinalizing")
                    .or_else(|| function(c"_Py_IsFinalizing")),
                gil_check: function(c"PyGILState_Check")?,
                gil_ensure: function(c"PyGILState_Ensure")?,
                gil_release: function(c"PyGILState_Release")?,
                dec_ref: function(c"Py_DecRef")?,
            })
        }
    }

    /// Takes the exception in flight, if any, out of the error indicator.
    /// GIL required.
    fn save_error(&self) -> Option<SavedError> {
        // SAFETY: the GIL is held by contract of every caller.
        unsafe {
            // The common case, nothing in flight, costs one call.
            if (self.err_occurred)().is_null() {
                return None;
            }
            Some(match self.errors {
                ErrorApi::Raised { get, .. } => SavedError::Raised(get()),
                ErrorApi::Triple { fetch, .. } => {
                    let (mut t, mut v, mut tb) = (
                        std::ptr::null_mut(),
                        std::ptr::null_mut(),
                        std::ptr::null_mut(),
                    );
                    fetch(&mut t, &mut v, &mut tb);
                    SavedError::Triple(t, v, tb)
                }
            })
        }
    }

    /// Puts a saved exception back (or none), discarding anything raised
    /// since. GIL required.
    fn restore_error(&self, saved: Option<SavedError>) {
        // SAFETY: the GIL is held; the references were taken by `save_error`
        // and are handed back (both restore functions steal them).
        unsafe {
            if !(self.err_occurred)().is_null() {
                (self.err_clear)();
            }
            match (saved, self.errors) {
                (None, _) => {}
                (Some(SavedError::Raised(e)), ErrorApi::Raised { set, .. }) => set(e),
                (Some(SavedError::Triple(t, v, tb)), ErrorApi::Triple { restore, .. }) => {
                    restore(t, v, tb)
                }
                _ => unreachable!("the error API is resolved once"),
            }
        }
    }

    /// True when the interpreter is shutting down (or gone), when taking
    /// the GIL from a thread that does not hold it could block forever.
    fn shutting_down(&self) -> bool {
        // SAFETY: both functions may be called without the GIL.
        unsafe { (self.is_initialized)() == 0 || self.is_finalizing.is_some_and(|f| f() != 0) }
    }
}

/// The CPython API of this process, or `None` outside Python.
fn py_api() -> Option<&'static PyApi> {
    static API: OnceLock<Option<PyApi>> = OnceLock::new();
    API.get_or_init(PyApi::resolve).as_ref()
}

fn require_py_api() -> Result<&'static PyApi> {
    py_api().ok_or_else(|| {
        Error::InvalidArgument(
            "the CPython C API is not available in this process (dlv_py_* calls need Python)"
                .into(),
        )
    })
}

/// Release callback for `dlv_tensor_from_buffer` when the memory belongs to
/// a Python object: `ctx` is a strong reference (`PyObject*`) that this
/// drops, taking the GIL if this thread does not hold it. Safe on any
/// thread. If the interpreter is finalizing or gone (or this is not a
/// Python process), the reference is deliberately leaked: touching the
/// object then could block or crash. NULL `ctx` is ignored.
///
/// # Safety
/// Every pointer argument is NULL or valid as this comment and the
/// header's preamble describe (the C caller's contract).
#[unsafe(no_mangle)]
pub unsafe extern "C-unwind" fn dlv_py_release_object(ctx: *mut c_void) {
    // The calls into Python run outside any panic boundary: during
    // interpreter shutdown PyGILState_Ensure ends this thread with
    // `pthread_exit`, a forced unwind that a `catch_unwind` would turn into
    // an abort (see `crate::deferred`). None of the code here panics.
    let Some(api) = ffi_value(None, py_api) else {
        return;
    };
    {
        if ctx.is_null() {
            return;
        }
        // SAFETY: PyGILState_Check may be called without the GIL.
        let holds_gil = unsafe { (api.gil_check)() } != 0;
        if !holds_gil && api.shutting_down() {
            return;
        }
        // SAFETY: the interpreter is alive; Ensure/Release pair up on this
        // thread; `ctx` is the strong reference this callback was given,
        // released exactly once (the storage calls its release once).
        unsafe {
            let gil = (api.gil_ensure)();
            let saved = api.save_error();
            (api.dec_ref)(ctx);
            api.restore_error(saved);
            (api.gil_release)(gil);
        }
    }
}

/// The destructor of every capsule `dlv_py_tensor_to_capsule` makes, also
/// usable for any DLPack capsule: if the capsule is still named
/// "dltensor_versioned" or "dltensor" (never consumed), it calls the
/// managed tensor's deleter once; a consumed capsule ("used_dltensor...")
/// is left alone, its consumer owns the tensor now. Keeps the exception in
/// flight, if any; runs no Python code of its own. Called by CPython with
/// the GIL held; does nothing outside Python.
///
/// # Safety
/// Every pointer argument is NULL or valid as this comment and the
/// header's preamble describe (the C caller's contract).
#[unsafe(no_mangle)]
pub unsafe extern "C-unwind" fn dlv_py_capsule_destructor(capsule: *mut c_void) {
    // No panic boundary around the deleter (foreign code that may end the
    // thread: see `dlv_py_release_object`). None of the code here panics.
    let Some(api) = ffi_value(None, py_api) else {
        return;
    };
    {
        if capsule.is_null() {
            return;
        }
        let saved = api.save_error();
        // SAFETY: CPython calls a capsule destructor with the GIL held and a
        // live capsule. GetName and IsValid set no error on a capsule; a
        // valid capsule of either name holds a managed tensor its producer
        // made, whose deleter runs at most once because the capsule dies
        // right after.
        unsafe {
            // Our own capsules carry our static name pointers: compare those
            // first, and the strings only for capsules made elsewhere.
            let name = (api.capsule_get_name)(capsule);
            let versioned = name == VERSIONED.as_ptr()
                || (name != LEGACY.as_ptr()
                    && (api.capsule_is_valid)(capsule, VERSIONED.as_ptr()) != 0);
            let legacy = !versioned
                && (name == LEGACY.as_ptr()
                    || (api.capsule_is_valid)(capsule, LEGACY.as_ptr()) != 0);
            if versioned {
                delete_versioned((api.capsule_get_pointer)(capsule, VERSIONED.as_ptr()));
            } else if legacy {
                delete_legacy((api.capsule_get_pointer)(capsule, LEGACY.as_ptr()));
            }
        }
        api.restore_error(saved);
    }
}

/// Exports `t` as a new DLPack capsule: a `DLManagedTensorVersioned` named
/// "dltensor_versioned" when `versioned`, else a legacy `DLManagedTensor`
/// named "dltensor" (the export follows `dlv_tensor_to_dlpack[_legacy]`
/// and `opts`, NULL meaning all zero). The capsule's destructor is
/// `dlv_py_capsule_destructor`. On success `*out` is a new reference to the
/// capsule (`PyObject*`) owned by the caller. GIL required.
/// Statuses: as `dlv_tensor_to_dlpack`, plus INVALID_ARGUMENT outside
/// Python and OUT_OF_MEMORY when the capsule cannot be made (nothing leaks).
///
/// # Safety
/// Every pointer argument is NULL or valid as this comment and the
/// header's preamble describe (the C caller's contract).
#[unsafe(no_mangle)]
pub unsafe extern "C-unwind" fn dlv_py_tensor_to_capsule(
    t: *const dlv_tensor,
    opts: *const dlv_export_options,
    versioned: bool,
    out: *mut *mut c_void,
) -> dlv_status {
    ffi_call_releasing(|| {
        // SAFETY: the C caller passes a writable out-pointer or NULL.
        let out = unsafe { out_param(out, "out") }?;
        // SAFETY: the C caller passes a live handle or NULL.
        let t = unsafe { tensor_ref(t, "t") }?;
        let api = require_py_api()?;
        let opts = export_options(opts)?;
        let (managed, name, delete): (*mut c_void, &CStr, unsafe fn(*mut c_void)) = if versioned {
            (
                export::to_versioned(t, &opts)?.as_ptr().cast(),
                VERSIONED,
                delete_versioned,
            )
        } else {
            (
                export::to_legacy(t, &opts)?.as_ptr().cast(),
                LEGACY,
                delete_legacy,
            )
        };
        // SAFETY: the GIL is held (contract); `name` is static, as the
        // capsule needs; the destructor has the PyCapsule_Destructor type.
        let capsule =
            unsafe { (api.capsule_new)(managed, name.as_ptr(), Some(dlv_py_capsule_destructor)) };
        if capsule.is_null() {
            // SAFETY: the GIL is held; the export was never handed out, so
            // its deleter is ours to run, once.
            unsafe {
                (api.err_clear)();
                delete(managed);
            }
            return Err(Error::OutOfMemory(
                "could not create a DLPack capsule".into(),
            ));
        }
        out.put(capsule);
        Ok(())
    })
}

/// Runs the deleter of a versioned managed tensor.
///
/// # Safety
/// `mt` must be a live `DLManagedTensorVersioned` owned by the caller.
unsafe fn delete_versioned(mt: *mut c_void) {
    let mt = mt.cast::<DLManagedTensorVersioned>();
    // SAFETY: per the function's contract.
    if let Some(deleter) = unsafe { mt.as_ref() }.and_then(|m| m.deleter) {
        // SAFETY: ownership passes to the deleter, called once, as a
        // function that may unwind (see `dlview_core::__private::may_unwind`).
        unsafe { dlview_core::__private::may_unwind(deleter)(mt) }
    }
}

/// Runs the deleter of a legacy managed tensor.
///
/// # Safety
/// `mt` must be a live `DLManagedTensor` owned by the caller.
unsafe fn delete_legacy(mt: *mut c_void) {
    let mt = mt.cast::<DLManagedTensor>();
    // SAFETY: per the function's contract.
    if let Some(deleter) = unsafe { mt.as_ref() }.and_then(|m| m.deleter) {
        // SAFETY: ownership passes to the deleter, called once, as a
        // function that may unwind (see `dlview_core::__private::may_unwind`).
        unsafe { dlview_core::__private::may_unwind(deleter)(mt) }
    }
}

/// Consumes a DLPack capsule (`PyObject*`, borrowed): checks its name
/// itself ("dltensor_versioned" or "dltensor"; a producer may have ignored
/// the requested version), renames it to "used_dltensor_versioned" /
/// "used_dltensor" so that it can never be consumed again (its destructor
/// then leaves the tensor alone), and imports the managed tensor like
/// `dlv_tensor_from_dlpack[_legacy]` with `opts` (NULL: all zero), which
/// takes ownership whether or not the import succeeds. On success `*out`
/// is a new handle. GIL required (so no other thread can consume the same
/// capsule meanwhile).
/// Statuses: NULL_ARGUMENT (capsule, out: nothing consumed),
/// INVALID_ARGUMENT (not a capsule, an already consumed capsule, another
/// name, outside Python: nothing consumed), and those of
/// `dlv_tensor_from_dlpack` (the capsule is consumed).
///
/// # Safety
/// Every pointer argument is NULL or valid as this comment and the
/// header's preamble describe (the C caller's contract).
#[unsafe(no_mangle)]
pub unsafe extern "C-unwind" fn dlv_py_tensor_from_capsule(
    capsule: *mut c_void,
    opts: *const dlv_import_options,
    out: *mut *mut dlv_tensor,
) -> dlv_status {
    ffi_call_releasing(|| {
        // SAFETY: the C caller passes a writable out-pointer or NULL.
        let out = unsafe { out_param(out, "out") }?;
        if capsule.is_null() {
            return Err(Error::NullArgument("capsule"));
        }
        let api = require_py_api()?;
        let opts = import_options(opts)?;
        // SAFETY: the GIL is held and `capsule` is a live object (contract).
        out.give(unsafe { import_capsule(api, capsule, &opts) }?);
        Ok(())
    })
}

/// The body of `dlv_py_tensor_from_capsule`: checks the name, renames the
/// capsule to "used_...", imports (taking ownership).
///
/// # Safety
/// GIL held; `capsule` is a live object.
unsafe fn import_capsule(
    api: &PyApi,
    capsule: *mut PyObject,
    opts: &dlview_core::dlpack::ImportOptions,
) -> Result<dlview_core::Tensor> {
    // SAFETY: the GIL is held and `capsule` is a live object (contract).
    // IsValid checks the type and the name without setting an error;
    // the rename happens before the import, so even a failing import
    // (which still releases the tensor) leaves a consumed capsule.
    unsafe {
        for (name, used) in [(VERSIONED, USED_VERSIONED), (LEGACY, USED_LEGACY)] {
            if (api.capsule_is_valid)(capsule, name.as_ptr()) == 0 {
                continue;
            }
            let managed = (api.capsule_get_pointer)(capsule, name.as_ptr());
            if (api.capsule_set_name)(capsule, used.as_ptr()) != 0 {
                (api.err_clear)();
                return Err(Error::InvalidArgument(
                    "could not mark the DLPack capsule as used".into(),
                ));
            }
            let tensor = if name == VERSIONED {
                import::from_versioned(managed.cast(), opts)?
            } else {
                import::from_legacy(managed.cast(), opts)?
            };
            return Ok(tensor);
        }
        let name = (api.capsule_get_name)(capsule);
        if name.is_null() {
            (api.err_clear)();
            return Err(Error::InvalidArgument(
                "expected a DLPack capsule (\"dltensor_versioned\" or \"dltensor\"), got another object".into(),
            ));
        }
        let name = CStr::from_ptr(name).to_string_lossy();
        if name == USED_VERSIONED.to_string_lossy() || name == USED_LEGACY.to_string_lossy() {
            Err(Error::InvalidArgument(format!(
                "this DLPack capsule was already consumed (it is named {name:?}); a capsule can be used only once"
            )))
        } else {
            Err(Error::InvalidArgument(format!(
                "expected a DLPack capsule named \"dltensor_versioned\" or \"dltensor\", got one named {name:?}"
            )))
        }
    }
}

// ---- Python objects, for C extensions (API.md "C: Python objects") ------------
//
// The three calls below take and make framework tensors (torch.Tensor,
// dlview.Tensor, ...) through the producer type's DLPack C exchange API
// (`__dlpack_c_exchange_api__`, DLPack 1.3) when it publishes one, so a C
// extension exchanges a tensor in a few C calls. On failure they set the
// Python error indicator as well as `dlv_last_error` (keeping an exception
// the producer raised), so a C function that returns NULL to Python raises.

use dlpark::ffi::{DLDevice, DLDeviceType, DLPackExchangeAPI, DLPackExchangeAPIHeader};
use std::cell::Cell;
use std::ffi::c_long;

/// The CPython calls the object-level helpers need beyond `PyApi`.
struct ObjectApi {
    get_attr_string: unsafe extern "C-unwind" fn(*mut PyObject, *const c_char) -> *mut PyObject,
    object_type: unsafe extern "C-unwind" fn(*mut PyObject) -> *mut PyObject,
    type_get_flags: unsafe extern "C-unwind" fn(*mut PyObject) -> std::ffi::c_ulong,
    call: unsafe extern "C-unwind" fn(*mut PyObject, *mut PyObject, *mut PyObject) -> *mut PyObject,
    tuple_new: unsafe extern "C-unwind" fn(isize) -> *mut PyObject,
    tuple_set_item: unsafe extern "C-unwind" fn(*mut PyObject, isize, *mut PyObject) -> c_int,
    long_from_long: unsafe extern "C-unwind" fn(c_long) -> *mut PyObject,
    dict_new: unsafe extern "C-unwind" fn() -> *mut PyObject,
    dict_set_item_string:
        unsafe extern "C-unwind" fn(*mut PyObject, *const c_char, *mut PyObject) -> c_int,
    exception_matches: unsafe extern "C-unwind" fn(*mut PyObject) -> c_int,
    set_string: unsafe extern "C-unwind" fn(*mut PyObject, *const c_char),
    inc_ref: unsafe extern "C-unwind" fn(*mut PyObject),
    is_true: unsafe extern "C-unwind" fn(*mut PyObject) -> c_int,
    get_attr: unsafe extern "C-unwind" fn(*mut PyObject, *mut PyObject) -> *mut PyObject,
    /// `"requires_grad"`, interned once (a reference kept for the process).
    requires_grad: usize,
}

impl ObjectApi {
    fn resolve() -> Option<ObjectApi> {
        // SAFETY: each type is the C signature of the named CPython function
        // (Include/abstract.h, object.h, tupleobject.h, longobject.h,
        // dictobject.h, pyerrors.h).
        unsafe {
            Some(ObjectApi {
                get_attr_string: function(c"PyObject_GetAttrString")?,
                object_type: function(c"PyObject_Type")?,
                type_get_flags: function(c"PyType_GetFlags")?,
                call: function(c"PyObject_Call")?,
                tuple_new: function(c"PyTuple_New")?,
                tuple_set_item: function(c"PyTuple_SetItem")?,
                long_from_long: function(c"PyLong_FromLong")?,
                dict_new: function(c"PyDict_New")?,
                dict_set_item_string: function(c"PyDict_SetItemString")?,
                exception_matches: function(c"PyErr_ExceptionMatches")?,
                set_string: function(c"PyErr_SetString")?,
                inc_ref: function(c"Py_IncRef")?,
                is_true: function(c"PyObject_IsTrue")?,
                get_attr: function(c"PyObject_GetAttr")?,
                requires_grad: {
                    let intern: unsafe extern "C-unwind" fn(*const c_char) -> *mut PyObject =
                        function(c"PyUnicode_InternFromString")?;
                    let name = intern(c"requires_grad".as_ptr());
                    if name.is_null() {
                        return None;
                    }
                    name as usize
                },
            })
        }
    }
}

fn object_api() -> Result<(&'static PyApi, &'static ObjectApi)> {
    static API: OnceLock<Option<ObjectApi>> = OnceLock::new();
    let py = require_py_api()?;
    let objects = API
        .get_or_init(ObjectApi::resolve)
        .as_ref()
        .ok_or_else(|| {
            Error::InvalidArgument("the CPython C API of this process lacks a needed call".into())
        })?;
    Ok((py, objects))
}

/// An exception class by name (`PyExc_<name>`, a data symbol), borrowed.
fn exception_class(name: &CStr) -> *mut PyObject {
    // SAFETY: `PyExc_*` are `PyObject *` variables; dlsym gives their address.
    symbol(name).map_or(std::ptr::null_mut(), |p| unsafe {
        *p.cast::<*mut PyObject>()
    })
}

/// A new reference, released when dropped (GIL held for the whole scope).
struct Owned(*mut PyObject, &'static PyApi);

impl Drop for Owned {
    fn drop(&mut self) {
        if !self.0.is_null() {
            // SAFETY: a reference this guard owns; the GIL is held.
            unsafe { (self.1.dec_ref)(self.0) }
        }
    }
}

/// Why a call failed when the producer raised: its exception stays set.
const PRODUCER_RAISED: &str = "the producer raised a Python exception (it is the Python error set)";

thread_local! {
    /// The last type looked up and its table (types are long-lived; the
    /// cached type is kept alive by a reference this cache never drops).
    static LAST_TABLE: Cell<(*mut PyObject, *const DLPackExchangeAPI)> =
        const { Cell::new((std::ptr::null_mut(), std::ptr::null())) };
}

/// The first major-1 table of `ty`'s `__dlpack_c_exchange_api__`, if any.
/// GIL held; `ty` is a live type object.
fn exchange_table(
    api: &'static PyApi,
    objects: &ObjectApi,
    ty: *mut PyObject,
) -> Option<&'static DLPackExchangeAPI> {
    let (cached_type, cached_table) = LAST_TABLE.get();
    if cached_type == ty {
        // SAFETY: a table found before, alive for the process.
        return unsafe { cached_table.as_ref() };
    }
    // SAFETY: GIL held; a failed lookup sets an error, cleared here.
    let table = unsafe {
        let capsule = Owned(
            (objects.get_attr_string)(ty, c"__dlpack_c_exchange_api__".as_ptr()),
            api,
        );
        if capsule.0.is_null() {
            (api.err_clear)();
            std::ptr::null()
        } else {
            let p = (api.capsule_get_pointer)(capsule.0, c"dlpack_exchange_api".as_ptr());
            if p.is_null() {
                (api.err_clear)();
            }
            let mut header = p.cast::<DLPackExchangeAPIHeader>().cast_const();
            while let Some(h) = header.as_ref() {
                if h.version.major == 1 {
                    break;
                }
                header = h.prev_api;
            }
            header.cast::<DLPackExchangeAPI>()
        }
    };
    // The cache keeps the type alive with a reference it never gives back
    // (one type per thread), so its address cannot be reused meanwhile.
    // SAFETY: GIL held; `ty` is live.
    unsafe { (objects.inc_ref)(ty) };
    LAST_TABLE.set((ty, table));
    // SAFETY: NULL or a producer's table, alive for the process.
    unsafe { table.as_ref() }
}

/// Runs a helper's body; on failure also sets the Python error (unless the
/// producer's own exception is already set) from the status and message.
fn with_python_error(body: impl FnOnce() -> Result<()>) -> dlv_status {
    let status = ffi_call_releasing(body);
    if status != dlv_status::DLV_OK
        && let Some(api) = py_api()
    {
        // SAFETY: these helpers are called with the GIL held (contract).
        unsafe {
            if (api.err_occurred)().is_null()
                && let Ok((_, objects)) = object_api()
            {
                let class = exception_class(python_exception(status));
                if !class.is_null() {
                    (objects.set_string)(class, last_error_ptr());
                }
            }
        }
    }
    status
}

/// The Python exception of a status (docs/rules.md §8; the Python
/// package raises the same for the same core error).
fn python_exception(status: dlv_status) -> &'static CStr {
    use dlv_status::*;
    match status {
        DLV_ERR_INDEX => c"PyExc_IndexError",
        DLV_ERR_COPY_REQUIRED
        | DLV_ERR_UNSUPPORTED_DTYPE
        | DLV_ERR_UNSUPPORTED_DEVICE
        | DLV_ERR_VERSION => c"PyExc_BufferError",
        DLV_ERR_OUT_OF_MEMORY => c"PyExc_MemoryError",
        DLV_ERR_IO => c"PyExc_OSError",
        DLV_ERR_DEVICE_UNAVAILABLE | DLV_ERR_PANIC => c"PyExc_RuntimeError",
        _ => c"PyExc_ValueError",
    }
}

/// `obj.__dlpack__(max_version=(1, 3))`, retried without arguments on
/// `TypeError`: a new reference to the capsule. GIL held.
fn call_dlpack(api: &'static PyApi, objects: &ObjectApi, obj: *mut PyObject) -> Result<Owned> {
    let raised = || Error::InvalidArgument(PRODUCER_RAISED.into());
    // SAFETY: GIL held; every new reference is owned by a guard; SetItem
    // steals the references it is given.
    unsafe {
        let method = Owned((objects.get_attr_string)(obj, c"__dlpack__".as_ptr()), api);
        if method.0.is_null() {
            let attribute_error = exception_class(c"PyExc_AttributeError");
            if (objects.exception_matches)(attribute_error) != 0 {
                (api.err_clear)();
                return Err(Error::InvalidArgument(
                    "the object does not support the DLPack protocol (no __dlpack__ method)".into(),
                ));
            }
            return Err(raised());
        }
        let args = Owned((objects.tuple_new)(0), api);
        let kwargs = Owned((objects.dict_new)(), api);
        let version = Owned((objects.tuple_new)(2), api);
        if args.0.is_null() || kwargs.0.is_null() || version.0.is_null() {
            return Err(raised());
        }
        let (major, minor) = dlview_core::dlpack::PRODUCED_VERSION;
        for (i, v) in [major, minor].into_iter().enumerate() {
            let item = (objects.long_from_long)(c_long::from(v as i32));
            if item.is_null() || (objects.tuple_set_item)(version.0, i as isize, item) != 0 {
                return Err(raised());
            }
        }
        if (objects.dict_set_item_string)(kwargs.0, c"max_version".as_ptr(), version.0) != 0 {
            return Err(raised());
        }
        let capsule = Owned((objects.call)(method.0, args.0, kwargs.0), api);
        if !capsule.0.is_null() {
            return Ok(capsule);
        }
        if (objects.exception_matches)(exception_class(c"PyExc_TypeError")) == 0 {
            return Err(raised());
        }
        (api.err_clear)();
        let capsule = Owned((objects.call)(method.0, args.0, std::ptr::null_mut()), api);
        if capsule.0.is_null() {
            return Err(raised());
        }
        Ok(capsule)
    }
}

/// A new handle to the tensor of any Python object with `__dlpack__` (or a
/// DLPack capsule): through `type(obj).__dlpack_c_exchange_api__` when the
/// type publishes one (PyTorch does; one C call, no capsule; no stream
/// synchronisation: see `dlv_py_current_work_stream`), else
/// `obj.__dlpack__(max_version=(1, 3))` (retried without arguments on
/// `TypeError`). `opts` (NULL: all zero) as for `dlv_tensor_from_dlpack`;
/// the results are the same either way. GIL required (`obj` is a
/// `PyObject*`).
/// On failure the Python error is set too (a producer's own exception is
/// kept), so a C function may return NULL to Python at once.
/// Statuses: NULL_ARGUMENT (obj, out), INVALID_ARGUMENT (no DLPack support,
/// the producer raised, outside Python), and those of
/// `dlv_tensor_from_dlpack`.
///
/// # Safety
/// Every pointer argument is NULL or valid as this comment and the
/// header's preamble describe (the C caller's contract).
#[unsafe(no_mangle)]
pub unsafe extern "C-unwind" fn dlv_py_tensor_from_object(
    obj: *mut c_void,
    opts: *const dlv_import_options,
    out: *mut *mut dlv_tensor,
) -> dlv_status {
    with_python_error(|| {
        // SAFETY: the C caller passes a writable out-pointer or NULL.
        let out = unsafe { out_param(out, "out") }?;
        if obj.is_null() {
            return Err(Error::NullArgument("obj"));
        }
        let (api, objects) = object_api()?;
        let opts = import_options(opts)?;
        // SAFETY: GIL held, `obj` live (contract); new references are
        // owned by guards.
        unsafe {
            if (api.capsule_is_valid)(obj, VERSIONED.as_ptr()) != 0
                || (api.capsule_is_valid)(obj, LEGACY.as_ptr()) != 0
            {
                out.give(import_capsule(api, obj, &opts)?);
                return Ok(());
            }
            let ty = Owned((objects.object_type)(obj), api);
            let from_object = exchange_table(api, objects, ty.0)
                .and_then(|t| t.managed_tensor_from_py_object_no_sync)
                .filter(|_| !requires_grad(api, objects, obj));
            if let Some(from_object) = from_object {
                let mut managed = std::ptr::null_mut();
                if from_object(obj, &mut managed) != 0 || managed.is_null() {
                    return Err(Error::InvalidArgument(PRODUCER_RAISED.into()));
                }
                out.give(import::from_versioned(managed, &opts)?);
                return Ok(());
            }
            let capsule = call_dlpack(api, objects, obj)?;
            out.give(import_capsule(api, capsule.0, &opts)?);
            Ok(())
        }
    })
}

/// A tensor autograd tracks (PyTorch's `requires_grad`): the exchange
/// table lends it, `__dlpack__` refuses it; the `__dlpack__` path keeps the
/// framework's own error. GIL held.
fn requires_grad(api: &'static PyApi, objects: &ObjectApi, obj: *mut PyObject) -> bool {
    // SAFETY: GIL held; `obj` live; a failed lookup's error is cleared.
    unsafe {
        let name = objects.requires_grad as *mut PyObject;
        let flag = Owned((objects.get_attr)(obj, name), api);
        if flag.0.is_null() {
            (api.err_clear)();
            return false;
        }
        let truth = (objects.is_true)(flag.0);
        if truth < 0 {
            (api.err_clear)();
        }
        truth > 0
    }
}

/// The exchange table of `like`'s framework: `like` is an instance (its
/// type's table) or a type. GIL held.
fn table_of_like(
    api: &'static PyApi,
    objects: &ObjectApi,
    like: *mut PyObject,
) -> Result<&'static DLPackExchangeAPI> {
    const TYPE_SUBCLASS: std::ffi::c_ulong = 1 << 31; // Py_TPFLAGS_TYPE_SUBCLASS
    // SAFETY: GIL held; `like` live (contract).
    unsafe {
        let ty = Owned((objects.object_type)(like), api);
        let is_type = (objects.type_get_flags)(ty.0) & TYPE_SUBCLASS != 0;
        let owner = if is_type { like } else { ty.0 };
        exchange_table(api, objects, owner).ok_or_else(|| {
            Error::InvalidArgument(
                "`like`'s type publishes no DLPack C exchange API (__dlpack_c_exchange_api__)"
                    .into(),
            )
        })
    }
}

/// A new Python object of the framework `like` belongs to (an instance, or
/// the type itself, e.g. `torch.Tensor`), sharing `t`'s memory, made
/// through that type's DLPack C exchange API (no capsule, no Python call).
/// `opts` (NULL: all zero) as for `dlv_tensor_to_dlpack` (negative strides
/// and, for frameworks that ignore the flag, read-only views are the
/// caller's to avoid). On success `*out` is a new reference (`PyObject*`).
/// GIL required. On failure the Python error is set too.
/// Statuses: NULL_ARGUMENT (t, like, out), INVALID_ARGUMENT (no exchange
/// API, the framework raised, outside Python), and those of
/// `dlv_tensor_to_dlpack`.
///
/// # Safety
/// Every pointer argument is NULL or valid as this comment and the
/// header's preamble describe (the C caller's contract).
#[unsafe(no_mangle)]
pub unsafe extern "C-unwind" fn dlv_py_tensor_to_object(
    t: *const dlv_tensor,
    like: *mut c_void,
    opts: *const dlv_export_options,
    out: *mut *mut c_void,
) -> dlv_status {
    with_python_error(|| {
        // SAFETY: the C caller passes a writable out-pointer or NULL.
        let out = unsafe { out_param(out, "out") }?;
        // SAFETY: the C caller passes a live handle or NULL.
        let t = unsafe { tensor_ref(t, "t") }?;
        if like.is_null() {
            return Err(Error::NullArgument("like"));
        }
        let (api, objects) = object_api()?;
        let opts = export_options(opts)?;
        let table = table_of_like(api, objects, like)?;
        let to_object = table.managed_tensor_to_py_object_no_sync.ok_or_else(|| {
            Error::InvalidArgument(
                "the exchange API has no managed_tensor_to_py_object_no_sync".into(),
            )
        })?;
        let managed = export::to_versioned(t, &opts)?;
        let mut obj = std::ptr::null_mut();
        // SAFETY: GIL held; the framework takes ownership of `managed`
        // whether or not it succeeds (the exchange API's contract).
        if unsafe { to_object(managed.as_ptr(), &mut obj) } != 0 || obj.is_null() {
            return Err(Error::InvalidArgument(PRODUCER_RAISED.into()));
        }
        out.put(obj);
        Ok(())
    })
}

/// The current work stream of `like`'s framework on `device` (e.g.
/// `torch.cuda.current_stream()` as a `cudaStream_t`), through its DLPack
/// C exchange API: tensors taken with `dlv_py_tensor_from_object` are ready
/// for work queued on it. NULL on the CPU, and for frameworks without a
/// table on the CPU. GIL required. On failure the Python error is set too.
/// Statuses: NULL_ARGUMENT (like, stream), INVALID_ARGUMENT (no exchange
/// API for a device, the framework raised, outside Python).
///
/// # Safety
/// Every pointer argument is NULL or valid as this comment and the
/// header's preamble describe (the C caller's contract).
#[unsafe(no_mangle)]
pub unsafe extern "C-unwind" fn dlv_py_current_work_stream(
    like: *mut c_void,
    device: DLDevice,
    stream: *mut *mut c_void,
) -> dlv_status {
    with_python_error(|| {
        // SAFETY: the C caller passes a writable out-pointer or NULL.
        let out = unsafe { out_param(stream, "stream") }?;
        if like.is_null() {
            return Err(Error::NullArgument("like"));
        }
        let (api, objects) = object_api()?;
        let table = match table_of_like(api, objects, like) {
            Ok(table) => table,
            Err(_) if device.device_type == DLDeviceType::CPU => {
                out.put(std::ptr::null_mut());
                return Ok(());
            }
            Err(e) => return Err(e),
        };
        let current = table.current_work_stream.ok_or_else(|| {
            Error::InvalidArgument("the exchange API has no current_work_stream".into())
        })?;
        let mut s = std::ptr::null_mut();
        // SAFETY: GIL held; a writable out-pointer.
        if unsafe { current(device.device_type, device.device_id, &mut s) } != 0 {
            return Err(Error::InvalidArgument(PRODUCER_RAISED.into()));
        }
        out.put(s);
        Ok(())
    })
}
