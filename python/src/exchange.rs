//! The DLPack C exchange API (DLPack 1.3), both ways.
//!
//! Consumer: `from_dlpack` imports through `type(x).__dlpack_c_exchange_api__`
//! when the producer type publishes a compatible table (PyTorch does): one
//! C call instead of `__dlpack__` and a capsule. The import rules (flags,
//! copy policy, errors) are the same as for a capsule. The table's calls do
//! not synchronise; dlview's own device work runs on the legacy default
//! stream, so for device tensors whose producer reports another current
//! stream the `__dlpack__` path (which orders the streams) is taken.
//!
//! Producer: `dlview.Tensor.__dlpack_c_exchange_api__` publishes dlview's
//! table with all five entries, for C code that takes or makes dlview
//! tensors without Python calls.

use crate::errors::OrRaise;
use crate::tensor::{PyTensor, wrap};
use dlpark::ffi::{
    DLDeviceType, DLManagedTensorVersioned, DLPackExchangeAPI, DLPackExchangeAPIHeader,
    DLPackVersion, DLTensor,
};
use dlview::dlpack::{ExportOptions, ImportOptions, export, import};
use dlview::{CopyMode, DType, Device, Order, Tensor};
use pyo3::exceptions::{PyBufferError, PyRuntimeError};
use pyo3::ffi;
use pyo3::prelude::*;
use std::ffi::{CStr, CString, c_char, c_int, c_void};
use std::ptr::NonNull;

const CAPSULE_NAME: &CStr = c"dlpack_exchange_api";

// ---- consumer -----------------------------------------------------------------

/// The first table of major version 1 in `api`'s chain.
///
/// # Safety
/// `api` is NULL or a producer's table (alive for the process, per DLPack).
unsafe fn compatible(api: *const DLPackExchangeAPI) -> Option<&'static DLPackExchangeAPI> {
    let mut header = api.cast::<DLPackExchangeAPIHeader>();
    // SAFETY: each header of the chain is a live table's first field.
    while let Some(h) = unsafe { header.as_ref() } {
        if h.version.major == 1 {
            // SAFETY: a major-1 header starts a full DLPackExchangeAPI.
            return unsafe { header.cast::<DLPackExchangeAPI>().as_ref() };
        }
        header = h.prev_api;
    }
    None
}

/// The exchange table `type(x)` publishes, if any.
pub fn table_of(x: &Bound<'_, PyAny>) -> PyResult<Option<&'static DLPackExchangeAPI>> {
    let ty = x.get_type();
    let key = ty.as_ptr() as usize;
    if let Some((cached, table)) = LAST_TABLE.get()
        && cached == key
    {
        // SAFETY: a table found before, alive for the process.
        return Ok(unsafe { (table as *const DLPackExchangeAPI).as_ref() });
    }
    let table = lookup_table(x.py(), &ty);
    // The cache keeps its type alive (one reference per thread, never
    // given back), so the address cannot be reused by another type.
    std::mem::forget(ty.clone());
    LAST_TABLE.set(Some((key, table.map_or(0, |t| t as *const _ as usize))));
    Ok(table)
}

thread_local! {
    /// The last type `from_dlpack` looked at and its table (0: none).
    static LAST_TABLE: std::cell::Cell<Option<(usize, usize)>> = const { std::cell::Cell::new(None) };
}

fn lookup_table(
    py: Python<'_>,
    ty: &Bound<'_, pyo3::types::PyType>,
) -> Option<&'static DLPackExchangeAPI> {
    let capsule = ty
        .getattr(pyo3::intern!(py, "__dlpack_c_exchange_api__"))
        .ok()?;
    // SAFETY: GIL held; GetPointer checks the type and name (setting an
    // error, cleared below, when either is wrong).
    let api = unsafe { ffi::PyCapsule_GetPointer(capsule.as_ptr(), CAPSULE_NAME.as_ptr()) };
    if api.is_null() {
        let _ = PyErr::take(py);
        return None;
    }
    // SAFETY: a producer's table, alive for the process.
    unsafe { compatible(api.cast()) }
}

/// A tensor imported through `type(x).__dlpack_c_exchange_api__`, or `None`
/// when the type publishes no compatible table (or, for a device tensor,
/// when the producer's current stream is not dlview's).
pub fn import_through_table(x: &Bound<'_, PyAny>, copy: Option<bool>) -> PyResult<Option<Tensor>> {
    let Some(api) = table_of(x)? else {
        return Ok(None);
    };
    if requires_grad(x) {
        // The table lends such tensors to kernels; `__dlpack__` refuses
        // them. Taking that path keeps the framework's own error.
        return Ok(None);
    }
    let Some(from_object) = api.managed_tensor_from_py_object_no_sync else {
        return Ok(None);
    };
    let mut out: *mut DLManagedTensorVersioned = std::ptr::null_mut();
    // SAFETY: GIL held; `x` is of the type the table came from.
    if unsafe { from_object(x.as_ptr().cast(), &mut out) } != 0 {
        return Err(PyErr::take(x.py()).unwrap_or_else(|| {
            PyRuntimeError::new_err("the producer's exchange API failed without an exception")
        }));
    }
    if out.is_null() {
        return Err(PyBufferError::new_err(
            "the producer's exchange API returned no tensor",
        ));
    }
    // SAFETY: a live versioned managed tensor (its version is read first).
    let device = unsafe { Device::from_dl((*out).dl_tensor.device) };
    if !device.is_cpu() && !same_stream(api, device)? {
        // Give it back and let `__dlpack__` order the streams.
        // SAFETY: we own `out`; its deleter runs once.
        unsafe {
            if let Some(d) = (*out).deleter {
                d(out)
            }
        }
        return Ok(None);
    }
    let opts = ImportOptions {
        copy: match copy {
            Some(false) => CopyMode::Never,
            _ => CopyMode::IfNeeded,
        },
        ..Default::default()
    };
    // SAFETY: an owned tensor from the producer; the import takes it.
    unsafe { import::from_versioned(out, &opts) }
        .or_raise()
        .map(Some)
}

/// A tensor that autograd tracks (PyTorch's `requires_grad`).
fn requires_grad(x: &Bound<'_, PyAny>) -> bool {
    x.getattr(pyo3::intern!(x.py(), "requires_grad"))
        .is_ok_and(|r| r.is_truthy().unwrap_or(false))
}

/// Whether the producer's current work stream on `device` is dlview's own
/// (the legacy default stream, NULL).
fn same_stream(api: &DLPackExchangeAPI, device: Device) -> PyResult<bool> {
    let Some(current) = api.current_work_stream else {
        return Ok(false);
    };
    let mut stream: *mut c_void = std::ptr::null_mut();
    // SAFETY: GIL held (the call may set a Python error).
    let rc = unsafe {
        current(
            DLDeviceType(device.device_type as _),
            device.device_id,
            &mut stream,
        )
    };
    Ok(rc == 0 && stream.is_null())
}

// ---- producer -----------------------------------------------------------------

/// The Python error of a failed table call, set for the C caller.
fn set_python_error(py: Python<'_>, e: PyErr) -> c_int {
    e.restore(py);
    -1
}

unsafe extern "C" fn allocator(
    prototype: *mut DLTensor,
    out: *mut *mut DLManagedTensorVersioned,
    error_ctx: *mut c_void,
    set_error: Option<unsafe extern "C" fn(*mut c_void, *const c_char, *const c_char)>,
) -> c_int {
    let made = std::panic::catch_unwind(|| -> dlview::Result<NonNull<DLManagedTensorVersioned>> {
        // SAFETY: the caller passes a prototype with dtype, ndim, shape and
        // device set (DLPack's contract); shape has ndim entries.
        let (dtype, shape, device) = unsafe {
            let p = &*prototype;
            let ndim = usize::try_from(p.ndim).unwrap_or(0);
            let shape = if ndim == 0 || p.shape.is_null() {
                &[][..]
            } else {
                std::slice::from_raw_parts(p.shape, ndim)
            };
            (
                DType::from_dl(p.dtype)?,
                shape.to_vec(),
                Device::from_dl(p.device),
            )
        };
        let t = if device.is_cpu() {
            Tensor::empty(dtype, &shape, Order::C)?
        } else {
            Tensor::empty_on(dtype, &shape, Order::C, device)?
        };
        export::to_versioned(&t, &ExportOptions::default())
    });
    match made {
        Ok(Ok(managed)) => {
            // SAFETY: the caller passes a writable out-pointer.
            unsafe { *out = managed.as_ptr() };
            0
        }
        other => {
            let message = match other {
                Ok(Err(e)) => e.to_string(),
                _ => "internal error (panic) in dlview's allocator".into(),
            };
            if let Some(set) = set_error {
                let message = CString::new(message).unwrap_or_default();
                // SAFETY: the caller's error callback with its context.
                unsafe { set(error_ctx, c"MemoryError".as_ptr(), message.as_ptr()) };
            }
            -1
        }
    }
}

unsafe extern "C" fn managed_from_object(
    obj: *mut c_void,
    out: *mut *mut DLManagedTensorVersioned,
) -> c_int {
    // SAFETY: the table's contract: GIL held, `obj` a live dlview.Tensor.
    let py = unsafe { Python::assume_attached() };
    let any = unsafe { Bound::from_borrowed_ptr(py, obj.cast()) };
    let result = (|| -> PyResult<*mut DLManagedTensorVersioned> {
        let t = any.cast::<PyTensor>()?.get().tensor();
        Ok(export::to_versioned(&t, &ExportOptions::default())
            .or_raise()?
            .as_ptr())
    })();
    match result {
        Ok(managed) => {
            // SAFETY: a writable out-pointer (contract).
            unsafe { *out = managed };
            0
        }
        Err(e) => set_python_error(py, e),
    }
}

unsafe extern "C" fn managed_to_object(
    tensor: *mut DLManagedTensorVersioned,
    out: *mut *mut c_void,
) -> c_int {
    // SAFETY: the table's contract: GIL held.
    let py = unsafe { Python::assume_attached() };
    // SAFETY: ownership of `tensor` passes to the import, which runs its
    // deleter on failure.
    let result = unsafe { import::from_versioned(tensor, &ImportOptions::default()) }
        .or_raise()
        .and_then(|t| wrap(py, t, None));
    match result {
        Ok(obj) => {
            // SAFETY: a writable out-pointer; the new reference is the caller's.
            unsafe { *out = obj.into_ptr().cast() };
            0
        }
        Err(e) => set_python_error(py, e),
    }
}

unsafe extern "C" fn dltensor_from_object(obj: *mut c_void, out: *mut DLTensor) -> c_int {
    // SAFETY: the table's contract: GIL held, `obj` a live dlview.Tensor.
    let py = unsafe { Python::assume_attached() };
    let any = unsafe { Bound::from_borrowed_ptr(py, obj.cast()) };
    let result = (|| -> PyResult<DLTensor> {
        let t = any.cast::<PyTensor>()?.get();
        let view = t.get();
        if !view.is_writeable() {
            return Err(PyBufferError::new_err(
                "a read-only tensor cannot be lent as a DLTensor (it has no read-only flag); use __dlpack__",
            ));
        }
        if view.strides().iter().any(|&s| s < 0) {
            return Err(PyBufferError::new_err(
                "a tensor with negative strides cannot be lent as a DLTensor; use __dlpack__",
            ));
        }
        Ok(DLTensor {
            data: view.data_ptr().cast_mut().cast(),
            device: view.device().to_dl(),
            ndim: view.ndim() as i32,
            dtype: view.dtype().to_dl(),
            // The view's own arrays: they live as long as the object, which
            // the caller holds for the call (the table's contract).
            shape: view.shape().as_ptr().cast_mut(),
            strides: view.strides().as_ptr().cast_mut(),
            byte_offset: 0,
        })
    })();
    match result {
        Ok(dl) => {
            // SAFETY: a writable DLTensor (contract).
            unsafe { *out = dl };
            0
        }
        Err(e) => set_python_error(py, e),
    }
}

unsafe extern "C" fn current_work_stream(
    _device_type: DLDeviceType,
    _device_id: i32,
    out: *mut *mut c_void,
) -> c_int {
    // dlview queues its device work on the legacy default stream: NULL.
    // SAFETY: a writable out-pointer (contract).
    unsafe { *out = std::ptr::null_mut() };
    0
}

/// dlview's table, alive for the process as DLPack requires.
struct Table(DLPackExchangeAPI);

// SAFETY: immutable after initialisation; its one pointer (`prev_api`) is
// NULL and its entries are plain functions.
unsafe impl Sync for Table {}

static TABLE: Table = Table(DLPackExchangeAPI {
    header: DLPackExchangeAPIHeader {
        version: DLPackVersion { major: 1, minor: 3 },
        prev_api: std::ptr::null_mut(),
    },
    managed_tensor_allocator: Some(allocator),
    managed_tensor_from_py_object_no_sync: Some(managed_from_object),
    managed_tensor_to_py_object_no_sync: Some(managed_to_object),
    dltensor_from_py_object_no_sync: Some(dltensor_from_object),
    current_work_stream: Some(current_work_stream),
});

/// The `"dlpack_exchange_api"` capsule over dlview's table.
pub fn api_capsule(py: Python<'_>) -> PyResult<Py<PyAny>> {
    let table: *const DLPackExchangeAPI = &TABLE.0;
    // SAFETY: GIL held; the table and the name are static.
    let capsule =
        unsafe { ffi::PyCapsule_New(table.cast_mut().cast(), CAPSULE_NAME.as_ptr(), None) };
    if capsule.is_null() {
        return Err(PyErr::fetch(py));
    }
    // SAFETY: a new reference.
    Ok(unsafe { Bound::from_owned_ptr(py, capsule) }.unbind())
}
