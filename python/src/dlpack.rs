//! The DLPack Python protocol (docs/rules.md §6): `Tensor.__dlpack__`,
//! capsules made and consumed, and `from_dlpack`. The export and import
//! rules (flags, copies, validation) are the core's `dlpack` module.
//!
//! Capsules: a capsule's destructor runs the managed tensor's deleter only
//! if the capsule was never consumed (its name is unchanged), keeps any
//! exception in flight, and runs no Python code of its own. Consuming a
//! capsule renames it to `used_dltensor[_versioned]` before importing, under
//! the GIL, so it is never consumed twice.

use crate::convert::{self, type_name};
use crate::errors::{OrRaise, to_py};
use crate::tensor::{PyTensor, wrap};
use dlpark::ffi::{DLManagedTensor, DLManagedTensorVersioned};
use dlview::dlpack::{ExportOptions, ImportOptions, export, import};
use dlview::{CopyMode, Device, Order, Tensor, cuda};
use pyo3::exceptions::{PyBufferError, PyTypeError, PyValueError};
use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::types::{PyCapsule, PyDict};
use std::ffi::{CStr, c_void};

const VERSIONED: &CStr = c"dltensor_versioned";
const LEGACY: &CStr = c"dltensor";
const USED_VERSIONED: &CStr = c"used_dltensor_versioned";
const USED_LEGACY: &CStr = c"used_dltensor";

/// The largest DLPack version dlview asks producers for.
pub const MAX_VERSION: (u32, u32) = dlview::dlpack::PRODUCED_VERSION;

// ---- export -------------------------------------------------------------------

/// The arguments of `__dlpack__`, checked.
pub struct ExportRequest {
    versioned: bool,
    stream: Option<i64>,
    device: Option<Device>,
    copy: Option<bool>,
}

impl ExportRequest {
    /// `max_version`: any sequence of two ints (a 0.x maximum or `None`
    /// asks for a legacy capsule); `stream`: an int (`__index__`), not a
    /// bool; `dl_device`: a DLPack `(type, id)` pair.
    pub fn parse(
        stream: Option<&Bound<'_, PyAny>>,
        max_version: Option<&Bound<'_, PyAny>>,
        dl_device: Option<&Bound<'_, PyAny>>,
        copy: Option<bool>,
    ) -> PyResult<ExportRequest> {
        let versioned = match max_version.filter(|v| !v.is_none()) {
            None => false,
            Some(v) => major_version(v)? >= 1,
        };
        let stream = match stream.filter(|s| !s.is_none()) {
            None => None,
            Some(s) if s.is_instance_of::<pyo3::types::PyBool>() => {
                return Err(PyTypeError::new_err(format!(
                    "stream must be None or an int, got {}",
                    s.repr()?
                )));
            }
            Some(s) => Some(convert::int64(s, "stream").map_err(|e| {
                if e.is_instance_of::<PyTypeError>(s.py()) {
                    PyTypeError::new_err(format!(
                        "stream must be None or an int, got {}",
                        type_name(s)
                    ))
                } else {
                    e
                }
            })?),
        };
        let device = match dl_device.filter(|d| !d.is_none()) {
            None => None,
            Some(d) => Some(convert::device(d)?),
        };
        Ok(ExportRequest {
            versioned,
            stream,
            device,
            copy,
        })
    }
}

fn major_version(v: &Bound<'_, PyAny>) -> PyResult<i64> {
    // The common spelling, a tuple of two ints, without the sequence protocol.
    if let Ok(t) = v.cast_exact::<pyo3::types::PyTuple>()
        && t.len() == 2
        && let (Ok(major), Ok(minor)) = (t.get_item(0), t.get_item(1))
        && let (Ok(major), Ok(_)) = (
            major
                .cast_exact::<pyo3::types::PyInt>()
                .map(|i| i.extract::<i64>()),
            minor
                .cast_exact::<pyo3::types::PyInt>()
                .map(|i| i.extract::<i64>()),
        )
        && let Ok(major) = major
    {
        return Ok(major);
    }
    let bad = || {
        PyTypeError::new_err(format!(
            "max_version must be a (major, minor) sequence of two ints, got {}",
            v.repr().map(|r| r.to_string()).unwrap_or_default()
        ))
    };
    if v.len().map_err(|_| bad())? != 2 {
        return Err(bad());
    }
    let major =
        convert::int64(&v.get_item(0).map_err(|_| bad())?, "max_version").map_err(|_| bad())?;
    convert::int64(&v.get_item(1).map_err(|_| bad())?, "max_version").map_err(|_| bad())?;
    Ok(major)
}

/// `t.__dlpack__(...)`: a capsule of `t` (a cross-device copy first when
/// `dl_device` differs; for CUDA memory the consumer's stream is made to
/// wait for dlview's pending work).
pub fn export_capsule<'py>(
    py: Python<'py>,
    t: Tensor,
    request: &ExportRequest,
    allow_negative_strides: bool,
) -> PyResult<Bound<'py, PyAny>> {
    let mut t = t;
    let mut copy = convert::copy_mode(request.copy);
    let mut target = t.device();
    if let Some(want) = request.device.filter(|&d| d != t.device()) {
        if request.copy == Some(false) {
            return Err(PyBufferError::new_err(format!(
                "cannot share: the tensor is on {} and dl_device asks for {want} (pass copy=None/True)",
                t.device()
            )));
        }
        target = want;
    }
    if let Some(stream) = request.stream
        && target.is_cpu()
    {
        return Err(PyValueError::new_err(format!(
            "stream must be None for a tensor on the CPU, got {stream}"
        )));
    }
    if target != t.device() {
        t = cross_device_copy(py, &t, target)?;
        copy = CopyMode::IfNeeded;
    }
    let opts = ExportOptions {
        copy,
        allow_negative_strides,
    };
    let capsule = if request.versioned {
        let managed = export::to_versioned(&t, &opts).or_raise()?;
        // SAFETY: a fresh export owned by us, handed to the capsule.
        unsafe { new_capsule(py, managed.as_ptr().cast(), VERSIONED, delete_versioned) }?
    } else {
        let managed = export::to_legacy(&t, &opts).or_raise()?;
        // SAFETY: as above.
        unsafe { new_capsule(py, managed.as_ptr().cast(), LEGACY, delete_legacy) }?
    };
    if let (Some(stream), true) = (request.stream, cuda::is_cuda_family(target)) {
        cuda::stream_wait(target, stream).or_raise()?;
    }
    Ok(capsule)
}

/// `t.to(want)`, a failure being the protocol's `BufferError`.
fn cross_device_copy(py: Python<'_>, t: &Tensor, want: Device) -> PyResult<Tensor> {
    py.detach(|| t.to_device(want, Order::K)).map_err(|e| {
        PyBufferError::new_err(format!(
            "dlview cannot copy a tensor from {} to {want}: {e}",
            t.device()
        ))
    })
}

/// A capsule named `name` over `managed`, destroyed by `capsule_destructor`.
///
/// # Safety
/// `managed` is a managed tensor of the kind `name` says, owned by the
/// caller; `delete` runs its deleter.
unsafe fn new_capsule<'py>(
    py: Python<'py>,
    managed: *mut c_void,
    name: &'static CStr,
    delete: unsafe fn(*mut c_void),
) -> PyResult<Bound<'py, PyAny>> {
    // SAFETY: GIL held; `name` is static, as the capsule requires.
    let capsule = unsafe { ffi::PyCapsule_New(managed, name.as_ptr(), Some(capsule_destructor)) };
    if capsule.is_null() {
        // SAFETY: never handed out: ours to delete, once.
        unsafe { delete(managed) };
        return Err(PyErr::fetch(py));
    }
    // SAFETY: a new reference.
    Ok(unsafe { Bound::from_owned_ptr(py, capsule) })
}

/// The destructor of every capsule dlview makes: runs the deleter of a
/// capsule that was never consumed; keeps the exception in flight.
unsafe extern "C" fn capsule_destructor(capsule: *mut ffi::PyObject) {
    // SAFETY: CPython calls this with the GIL held and a live capsule;
    // IsValid/GetPointer on a valid name set no error; the saved exception
    // is restored unchanged.
    unsafe {
        let (mut t, mut v, mut tb) = (
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            std::ptr::null_mut(),
        );
        ffi::PyErr_Fetch(&mut t, &mut v, &mut tb);
        if ffi::PyCapsule_IsValid(capsule, VERSIONED.as_ptr()) != 0 {
            delete_versioned(ffi::PyCapsule_GetPointer(capsule, VERSIONED.as_ptr()));
        } else if ffi::PyCapsule_IsValid(capsule, LEGACY.as_ptr()) != 0 {
            delete_legacy(ffi::PyCapsule_GetPointer(capsule, LEGACY.as_ptr()));
        }
        ffi::PyErr_Restore(t, v, tb);
    }
}

/// Runs the deleter of a versioned managed tensor.
///
/// # Safety
/// `mt` is NULL or a live `DLManagedTensorVersioned` owned by the caller.
unsafe fn delete_versioned(mt: *mut c_void) {
    let mt = mt.cast::<DLManagedTensorVersioned>();
    // SAFETY: per the contract; ownership passes to the deleter.
    if let Some(deleter) = unsafe { mt.as_ref() }.and_then(|m| m.deleter) {
        unsafe { deleter(mt) }
    }
}

/// Runs the deleter of a legacy managed tensor.
///
/// # Safety
/// `mt` is NULL or a live `DLManagedTensor` owned by the caller.
unsafe fn delete_legacy(mt: *mut c_void) {
    let mt = mt.cast::<DLManagedTensor>();
    // SAFETY: per the contract; ownership passes to the deleter.
    if let Some(deleter) = unsafe { mt.as_ref() }.and_then(|m| m.deleter) {
        unsafe { deleter(mt) }
    }
}

/// Hands NumPy a capsule that keeps negative strides (NumPy accepts them):
/// `Tensor.__array__`'s producer; tests use it to see what other consumers
/// do with negative strides.
#[pyclass(frozen, module = "dlview._native", name = "_NegativeStridesExport")]
pub struct NegativeStridesExport {
    t: Tensor,
}

impl NegativeStridesExport {
    pub fn new(t: Tensor) -> Self {
        NegativeStridesExport { t }
    }
}

#[pymethods]
impl NegativeStridesExport {
    #[new]
    fn py_new(t: &Bound<'_, PyTensor>) -> Self {
        NegativeStridesExport {
            t: t.get().tensor(),
        }
    }

    fn __dlpack_device__(&self) -> (i32, i32) {
        (self.t.device().device_type, self.t.device().device_id)
    }

    #[pyo3(signature = (*, stream=None, max_version=None, dl_device=None, copy=None))]
    fn __dlpack__<'py>(
        &self,
        py: Python<'py>,
        stream: Option<&Bound<'py, PyAny>>,
        max_version: Option<&Bound<'py, PyAny>>,
        dl_device: Option<&Bound<'py, PyAny>>,
        copy: Option<bool>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let request = ExportRequest::parse(stream, max_version, dl_device, copy)?;
        export_capsule(py, self.t.clone(), &request, true)
    }
}

// ---- import -------------------------------------------------------------------

/// Whether `obj` is a capsule (of any name).
pub fn is_capsule(obj: &Bound<'_, PyAny>) -> bool {
    obj.is_instance_of::<PyCapsule>()
}

/// Consumes a DLPack capsule: checks its name, renames it to
/// `used_dltensor[_versioned]`, and imports the managed tensor (which takes
/// ownership whether or not the import succeeds).
pub fn consume_capsule(capsule: &Bound<'_, PyAny>, opts: &ImportOptions) -> PyResult<Tensor> {
    let p = capsule.as_ptr();
    for (name, used) in [(VERSIONED, USED_VERSIONED), (LEGACY, USED_LEGACY)] {
        // SAFETY: GIL held, live object; IsValid sets no error.
        if unsafe { ffi::PyCapsule_IsValid(p, name.as_ptr()) } == 0 {
            continue;
        }
        // SAFETY: a valid capsule of this name holds a managed tensor.
        let managed = unsafe { ffi::PyCapsule_GetPointer(p, name.as_ptr()) };
        // SAFETY: as above; the name is static.
        if unsafe { ffi::PyCapsule_SetName(p, used.as_ptr()) } != 0 {
            return Err(PyErr::fetch(capsule.py()));
        }
        // SAFETY: renamed above, so the capsule no longer owns the tensor:
        // ownership passes to the import.
        let t = unsafe {
            if name == VERSIONED {
                import::from_versioned(managed.cast(), opts)
            } else {
                import::from_legacy(managed.cast(), opts)
            }
        };
        return t.or_raise();
    }
    // SAFETY: GIL held; GetName on a capsule never fails.
    let name = unsafe { ffi::PyCapsule_GetName(p) };
    let name = if name.is_null() {
        String::new()
    } else {
        // SAFETY: a NUL-terminated string owned by the capsule.
        unsafe { CStr::from_ptr(name) }
            .to_string_lossy()
            .into_owned()
    };
    let message = if name.starts_with("used_dltensor") {
        format!(
            "this DLPack capsule was already consumed (it is named {name:?}); a capsule can be used only once"
        )
    } else {
        format!(
            "expected a DLPack capsule named \"dltensor_versioned\" or \"dltensor\", got one named {name:?}"
        )
    };
    Err(PyValueError::new_err(message))
}

/// The producer's device, or `None` when it cannot say.
fn producer_device(x: &Bound<'_, PyAny>) -> Option<Device> {
    let get = x.getattr(pyo3::intern!(x.py(), "__dlpack_device__")).ok()?;
    let (kind, id): (i32, i32) = get.call0().ok()?.extract().ok()?;
    Some(Device::new(kind, id))
}

/// Producers known to hold memory no CUDA stream orders: NumPy arrays, and
/// torch tensors whose `is_cuda` is False. For them the device query (most
/// of an exchange with torch) is skipped when no `device` was asked for.
fn holds_host_memory(x: &Bound<'_, PyAny>) -> bool {
    let ty = x.get_type();
    if ty
        .module()
        .is_ok_and(|m| m.to_cow().is_ok_and(|m| m == "numpy"))
    {
        return true;
    }
    x.getattr(pyo3::intern!(x.py(), "is_cuda"))
        .is_ok_and(|c| c.is(pyo3::types::PyBool::new(x.py(), false).to_owned()))
}

/// `dlview.from_dlpack(x, *, copy=None, device=None)`.
pub fn from_dlpack(
    x: &Bound<'_, PyAny>,
    copy: Option<bool>,
    device: Option<Device>,
) -> PyResult<Tensor> {
    let py = x.py();
    // dlview to dlview: the same view, negative strides and all.
    if let Ok(t) = x.cast::<PyTensor>() {
        let t = t.get().tensor();
        return finish(py, t, copy, device, true);
    }
    if is_capsule(x) {
        let opts = ImportOptions {
            copy: import_copy(copy, false),
            ..Default::default()
        };
        let t = consume_capsule(x, &opts)?;
        return finish(py, t, copy, device, false);
    }
    if let Some(t) = crate::exchange::import_through_table(x, copy)? {
        return finish(py, t, copy, device, false);
    }
    let producer = x.getattr(pyo3::intern!(py, "__dlpack__")).map_err(|_| {
        PyTypeError::new_err(format!(
            "{} does not support the DLPack protocol (no __dlpack__ method)",
            type_name(x)
        ))
    })?;
    let src = if device.is_none() && holds_host_memory(x) {
        None
    } else {
        producer_device(x)
    };
    let kwargs = PyDict::new(py);
    kwargs.set_item("max_version", (MAX_VERSION.0, MAX_VERSION.1))?;
    let cross = matches!((src, device), (Some(s), Some(d)) if s != d);
    if cross {
        if copy == Some(false) {
            return Err(PyBufferError::new_err(format!(
                "cannot share: the producer's tensor is on {} and device={} was asked (pass copy=None/True)",
                src.unwrap_or(Device::CPU),
                device.unwrap_or(Device::CPU)
            )));
        }
    } else if let Some(c) = copy {
        kwargs.set_item("copy", c)?;
    }
    if src.is_some_and(cuda::is_cuda_family) {
        // dlview works on the legacy default stream: the producer makes it
        // wait for its pending work.
        kwargs.set_item("stream", 1)?;
    }
    let capsule = match producer.call((), Some(&kwargs)) {
        Ok(c) => c,
        Err(e) if e.is_instance_of::<PyTypeError>(py) => producer.call0()?,
        Err(e) => return Err(e),
    };
    let opts = ImportOptions {
        copy: import_copy(copy, cross),
        ..Default::default()
    };
    let t = consume_capsule(&capsule, &opts)?;
    finish(py, t, if cross { None } else { copy }, device, false)
}

/// The import's copy mode: `copy=True` imports as a view and `finish`
/// copies unless the producer already did (the promise holds even when a
/// producer ignores the request).
fn import_copy(copy: Option<bool>, cross: bool) -> CopyMode {
    match copy {
        Some(false) if !cross => CopyMode::Never,
        _ => CopyMode::IfNeeded,
    }
}

/// The device move and the `copy=True` promise, after an import.
fn finish(
    py: Python<'_>,
    t: Tensor,
    copy: Option<bool>,
    device: Option<Device>,
    always_copy: bool,
) -> PyResult<Tensor> {
    let mut t = t;
    let mut copied = false;
    if let Some(want) = device.filter(|&d| d != t.device()) {
        if copy == Some(false) {
            return Err(PyBufferError::new_err(format!(
                "cannot share: the tensor is on {} and device={want} was asked (pass copy=None/True)",
                t.device()
            )));
        }
        t = cross_device_copy(py, &t, want)?;
        copied = true;
    }
    // Independent memory: a copy unless the import is the only user of
    // memory nobody else has (a producer that honoured the request).
    if copy == Some(true) && !copied && (always_copy || !t.is_exclusive()) {
        t = py.detach(|| t.copy(Order::K)).map_err(to_py)?;
    }
    Ok(t)
}

/// `dv.from_dlpack` as a Python object with NumPy's `base` rules.
pub fn from_dlpack_object<'py>(
    x: &Bound<'py, PyAny>,
    copy: Option<bool>,
    device: Option<&Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyTensor>> {
    let device = device
        .filter(|d| !d.is_none())
        .map(convert::device)
        .transpose()?;
    let t = from_dlpack(x, copy, device)?;
    let parent = x.cast::<PyTensor>().ok();
    wrap(x.py(), t, parent)
}
