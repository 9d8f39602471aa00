//! Python's buffer protocol both ways, and NumPy's `__array_interface__`.
//!
//! In: a buffer-protocol object (`bytearray`, `array.array`, `memoryview`,
//! ctypes arrays) or an `__array_interface__` object becomes a tensor over
//! its memory, zero-copy; the tensor's storage keeps the exporter alive and
//! lets it go under the GIL on whatever thread the last view dies.
//! Out: `memoryview(t)` and NumPy's interface describe a tensor's memory
//! (read-only views give read-only buffers, strided views strided ones).

use crate::errors::OrRaise;
use dlview::layout::Layout;
use dlview::storage::{Owner, Storage};
use dlview::{DType, Device, Order, Tensor};
use pyo3::exceptions::{PyAttributeError, PyBufferError};
use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyTuple};
use std::ffi::{CString, c_int};
use std::sync::Arc;

// ---- in -----------------------------------------------------------------------

/// A strong reference to a Python object that keeps memory alive. Dropped
/// under the GIL (taken if needed); during interpreter shutdown, when
/// Python can no longer be entered, it is deliberately leaked.
pub struct PyOwner(Option<Py<PyAny>>);

impl PyOwner {
    pub fn new(obj: Py<PyAny>) -> PyOwner {
        PyOwner(Some(obj))
    }
}

impl Drop for PyOwner {
    fn drop(&mut self) {
        if let Some(obj) = self.0.take()
            && Python::try_attach(|_| drop(obj)).is_none()
        {
            // Leaked: see the type's docs (the object is unreachable then).
        }
    }
}

/// A `Py_buffer` held open for a tensor, released under the GIL.
struct HeldBuffer(Box<ffi::Py_buffer>);

// SAFETY: the buffer's memory is owned by its exporter, which the held
// reference (`view.obj`) keeps alive; it is only released under the GIL.
unsafe impl Send for HeldBuffer {}
// SAFETY: see `Send`; nothing in it is mutated through `&self`.
unsafe impl Sync for HeldBuffer {}

impl Drop for HeldBuffer {
    fn drop(&mut self) {
        let view: *mut ffi::Py_buffer = &mut *self.0;
        // SAFETY: the view was filled by PyObject_GetBuffer and is released
        // once, with the GIL held.
        let _ = Python::try_attach(|_| unsafe { ffi::PyBuffer_Release(view) });
    }
}

/// The dtype of a buffer's struct-module format (native sizes, or
/// little-endian standard sizes on this little-endian target).
pub fn buffer_dtype(format: &str, itemsize: usize) -> PyResult<DType> {
    let text = format.trim_start_matches(['@', '=', '<']);
    if text.starts_with(['>', '!']) {
        return Err(PyBufferError::new_err(format!(
            "unsupported buffer format {text:?}: big-endian data is not supported"
        )));
    }
    let bits = 8 * itemsize;
    let name = match text {
        "?" => "bool".to_string(),
        "b" | "h" | "i" | "l" | "q" | "n" => format!("int{bits}"),
        "B" | "H" | "I" | "L" | "Q" | "N" | "c" => format!("uint{bits}"),
        "e" | "f" | "d" => format!("float{bits}"),
        "Zf" | "Zd" => format!("complex{bits}"),
        _ => {
            return Err(PyBufferError::new_err(format!(
                "unsupported buffer format {text:?}"
            )));
        }
    };
    DType::from_name(&name).or_raise()
}

/// Whether `obj` exports the buffer protocol.
pub fn has_buffer(obj: &Bound<'_, PyAny>) -> bool {
    // SAFETY: a live object, GIL held; the check sets no error.
    unsafe { ffi::PyObject_CheckBuffer(obj.as_ptr()) != 0 }
}

/// A tensor over `obj`'s buffer, zero-copy (its strides must be multiples of
/// its itemsize).
pub fn wrap_buffer(obj: &Bound<'_, PyAny>) -> PyResult<Tensor> {
    let held = get_buffer(obj, ffi::PyBUF_RECORDS_RO)?;
    let v = &*held.0;
    let itemsize = v.itemsize as usize;
    let format = if v.format.is_null() {
        "B".into()
    } else {
        // SAFETY: a NUL-terminated format string owned by the buffer.
        unsafe { std::ffi::CStr::from_ptr(v.format) }
            .to_string_lossy()
            .into_owned()
    };
    let dtype = buffer_dtype(&format, itemsize)?;
    let ndim = v.ndim as usize;
    // SAFETY: PyBUF_RECORDS_RO asks for shape and strides: `ndim` values each.
    let (shape, strides) = unsafe {
        if ndim == 0 {
            (&[][..], &[][..])
        } else {
            (
                std::slice::from_raw_parts(v.shape, ndim),
                std::slice::from_raw_parts(v.strides, ndim),
            )
        }
    };
    let mut elem_strides = Vec::with_capacity(ndim);
    for (axis, &s) in strides.iter().enumerate() {
        if s % itemsize as isize != 0 {
            return Err(PyBufferError::new_err(format!(
                "buffer stride {s} on axis {axis} is not a multiple of the itemsize {itemsize}"
            )));
        }
        elem_strides.push((s / itemsize as isize) as i64);
    }
    let shape: Vec<i64> = shape.iter().map(|&d| d as i64).collect();
    let layout = Layout::new(&shape, &elem_strides).or_raise()?;
    let (data, writeable) = (v.buf.cast::<u8>(), v.readonly == 0);
    // SAFETY: the exporter keeps `data` valid (writable unless read-only)
    // until the held buffer is released, which the storage does when it
    // dies.
    unsafe { foreign_tensor(data, layout, dtype, writeable, Box::new(held)) }
}

/// `frombuffer`: the bytes of a contiguous buffer, from `offset`, as
/// `count` elements of `dtype` (-1: as many as fit).
pub fn from_bytes_of(
    obj: &Bound<'_, PyAny>,
    dtype: DType,
    count: i64,
    offset: i64,
) -> PyResult<Tensor> {
    use pyo3::exceptions::PyValueError;
    dtype.require_addressable("frombuffer").or_raise()?;
    let held = get_buffer(obj, ffi::PyBUF_SIMPLE)?;
    let v = &*held.0;
    let len = v.len as i64;
    let item = dtype.itemsize() as i64;
    if offset < 0 || offset > len {
        return Err(PyValueError::new_err(format!(
            "offset must be non-negative and no greater than buffer length ({len})"
        )));
    }
    let available = len - offset;
    let n = if count < 0 {
        if available % item != 0 {
            return Err(PyValueError::new_err(format!(
                "buffer size ({available} bytes after the offset) must be a multiple of element size ({item})"
            )));
        }
        available / item
    } else {
        if count.checked_mul(item).is_none_or(|b| b > available) {
            return Err(PyValueError::new_err(format!(
                "buffer is smaller than requested size: {count} elements of {item} bytes, {available} bytes available"
            )));
        }
        count
    };
    let layout = Layout::compact(&[n], Order::C).or_raise()?;
    let data = v.buf.cast::<u8>().wrapping_add(offset as usize);
    let writeable = v.readonly == 0;
    // SAFETY: `n * item` bytes from `data` lie in the buffer (checked
    // above), valid while the held buffer lives (the storage's owner).
    unsafe { foreign_tensor(data, layout, dtype, writeable, Box::new(held)) }
}

/// A tensor over an `__array_interface__` (version 3): data pointer,
/// typestr, shape, strides; `obj` is kept alive by the storage.
pub fn wrap_array_interface(obj: &Bound<'_, PyAny>, iface: &Bound<'_, PyDict>) -> PyResult<Tensor> {
    use pyo3::exceptions::PyValueError;
    let get = |k: &str| -> PyResult<Bound<'_, PyAny>> {
        iface
            .get_item(k)?
            .ok_or_else(|| PyValueError::new_err(format!("__array_interface__ has no {k:?}")))
    };
    let typestr: String = get("typestr")?.extract()?;
    let (dtype, swapped) = dlview::npy::descr_to_dtype(&typestr).or_raise()?;
    if swapped {
        return Err(PyBufferError::new_err(format!(
            "unsupported __array_interface__ typestr {typestr:?}: big-endian data is not supported"
        )));
    }
    let shape: Vec<i64> = get("shape")?.extract()?;
    let (ptr, readonly): (usize, bool) = get("data")?.extract()?;
    let item = dtype.itemsize() as i64;
    let layout = match iface.get_item("strides")?.filter(|s| !s.is_none()) {
        None => Layout::compact(&shape, Order::C).or_raise()?,
        Some(s) => {
            let bytes: Vec<i64> = s.extract()?;
            if bytes.iter().any(|b| b % item != 0) {
                return Err(PyBufferError::new_err(format!(
                    "__array_interface__ strides {bytes:?} are not multiples of the itemsize {item}"
                )));
            }
            Layout::new(&shape, &bytes.iter().map(|b| b / item).collect::<Vec<_>>()).or_raise()?
        }
    };
    let owner = PyOwner::new(obj.clone().unbind());
    // SAFETY: the interface promises that the memory stays valid while
    // `obj` lives; the storage holds `obj`.
    unsafe { foreign_tensor(ptr as *mut u8, layout, dtype, !readonly, Box::new(owner)) }
}

fn get_buffer(obj: &Bound<'_, PyAny>, flags: c_int) -> PyResult<HeldBuffer> {
    let mut view = Box::new(ffi::Py_buffer::new());
    // SAFETY: a live object and a writable, zeroed Py_buffer; GIL held.
    if unsafe { ffi::PyObject_GetBuffer(obj.as_ptr(), &mut *view, flags) } != 0 {
        return Err(PyErr::fetch(obj.py()));
    }
    Ok(HeldBuffer(view))
}

/// A CPU tensor over foreign memory whose owner is dropped when the last
/// view dies.
///
/// # Safety
/// The elements `layout` describes from `data` must stay valid (and
/// writable if `writeable`) until `owner` is dropped.
unsafe fn foreign_tensor(
    data: *mut u8,
    layout: Layout,
    dtype: DType,
    writeable: bool,
    owner: Box<dyn std::any::Any + Send + Sync>,
) -> PyResult<Tensor> {
    if layout.size() > 0 && data.is_null() {
        return Err(PyBufferError::new_err("the buffer has NULL data"));
    }
    Tensor::check_placement(&layout, dtype, data).or_raise()?;
    // SAFETY: per the function's contract.
    let storage = unsafe {
        Storage::from_foreign(
            data,
            None,
            Device::CPU,
            !writeable,
            false,
            Owner::Foreign(owner),
        )
    };
    // SAFETY: the elements are valid while the storage lives (contract).
    unsafe { Tensor::from_storage_unchecked(Arc::new(storage), data, layout, dtype, writeable) }
        .or_raise()
}

// ---- out ----------------------------------------------------------------------

/// What a filled `Py_buffer` points into, freed by `release`.
struct Exported {
    shape: Vec<ffi::Py_ssize_t>,
    strides: Vec<ffi::Py_ssize_t>,
    format: CString,
}

fn host_format(t: &Tensor) -> PyResult<&'static str> {
    t.device()
        .require_host("the buffer protocol")
        .map_err(|e| PyBufferError::new_err(e.to_string()))?;
    t.dtype().buffer_format().ok_or_else(|| {
        PyBufferError::new_err(format!(
            "{} has no buffer-protocol format (use DLPack to share it)",
            t.dtype().name()
        ))
    })
}

/// Fills `view` for `memoryview(t)` (PEP 3118).
///
/// # Safety
/// `view` is a writable `Py_buffer`; GIL held; `owner` is the tensor object.
pub unsafe fn fill(
    owner: &Bound<'_, PyAny>,
    t: &Tensor,
    view: *mut ffi::Py_buffer,
    flags: c_int,
) -> PyResult<()> {
    let format = host_format(t)?;
    if flags & ffi::PyBUF_WRITABLE == ffi::PyBUF_WRITABLE && !t.is_writeable() {
        return Err(PyBufferError::new_err("the tensor is read-only"));
    }
    let layout = t.layout();
    let contiguous_c = layout.is_c_contiguous();
    let need = |f: c_int| flags & f == f;
    if need(ffi::PyBUF_C_CONTIGUOUS) && !contiguous_c
        || need(ffi::PyBUF_F_CONTIGUOUS) && !layout.is_f_contiguous()
        || need(ffi::PyBUF_ANY_CONTIGUOUS) && !contiguous_c && !layout.is_f_contiguous()
        || !need(ffi::PyBUF_STRIDES) && !contiguous_c
    {
        return Err(PyBufferError::new_err(
            "the tensor is not contiguous in the requested order",
        ));
    }
    let item = t.dtype().itemsize() as ffi::Py_ssize_t;
    let exported = Box::new(Exported {
        shape: t.shape().iter().map(|&d| d as ffi::Py_ssize_t).collect(),
        strides: t
            .strides()
            .iter()
            .map(|&s| s as ffi::Py_ssize_t * item)
            .collect(),
        format: CString::new(format).map_err(|_| PyBufferError::new_err("bad format"))?,
    });
    // SAFETY: `view` is writable (contract); the pointers stored point into
    // `exported`, which lives until `release` frees it.
    unsafe {
        let v = &mut *view;
        v.buf = t.data_ptr().cast_mut().cast();
        v.len = t.nbytes() as ffi::Py_ssize_t;
        v.itemsize = item;
        v.readonly = c_int::from(!t.is_writeable());
        v.ndim = t.ndim() as c_int;
        v.format = if need(ffi::PyBUF_FORMAT) {
            exported.format.as_ptr().cast_mut()
        } else {
            std::ptr::null_mut()
        };
        v.shape = if need(ffi::PyBUF_ND) {
            exported.shape.as_ptr().cast_mut()
        } else {
            std::ptr::null_mut()
        };
        v.strides = if need(ffi::PyBUF_STRIDES) {
            exported.strides.as_ptr().cast_mut()
        } else {
            std::ptr::null_mut()
        };
        v.suboffsets = std::ptr::null_mut();
        v.internal = Box::into_raw(exported).cast();
        v.obj = owner.clone().into_ptr();
    }
    Ok(())
}

/// Frees what `fill` allocated.
///
/// # Safety
/// `view` was filled by `fill` and is released once.
pub unsafe fn release(view: *mut ffi::Py_buffer) {
    // SAFETY: per the contract, `internal` is the Box `fill` leaked.
    unsafe {
        let internal = (*view).internal.cast::<Exported>();
        if !internal.is_null() {
            drop(Box::from_raw(internal));
            (*view).internal = std::ptr::null_mut();
        }
    }
}

/// `t.__array_interface__` (version 3).
pub fn array_interface<'py>(py: Python<'py>, t: &Tensor) -> PyResult<Bound<'py, PyDict>> {
    if !t.device().is_host_accessible() {
        return Err(PyAttributeError::new_err(format!(
            "__array_interface__ describes host memory; the tensor is on {}",
            t.device()
        )));
    }
    let typestr = match t.dtype().npy_letter() {
        Some(_) => dlview::npy::dtype_to_descr(t.dtype()).or_raise()?,
        None => {
            return Err(PyAttributeError::new_err(format!(
                "NumPy has no typestr for {}",
                t.dtype().name()
            )));
        }
    };
    let item = t.dtype().itemsize() as i64;
    let d = PyDict::new(py);
    d.set_item("version", 3)?;
    d.set_item("shape", PyTuple::new(py, t.shape())?)?;
    d.set_item("typestr", typestr)?;
    d.set_item("data", (t.data_ptr() as usize, !t.is_writeable()))?;
    if t.layout().is_c_contiguous() {
        d.set_item("strides", py.None())?;
    } else {
        d.set_item(
            "strides",
            PyTuple::new(py, t.strides().iter().map(|s| s * item))?,
        )?;
    }
    Ok(d)
}
