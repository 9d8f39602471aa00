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
                    import::from_versioned(managed.cast(), &opts)?
                } else {
                    import::from_legacy(managed.cast(), &opts)?
                };
                out.give(tensor);
                return Ok(());
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
    })
}
