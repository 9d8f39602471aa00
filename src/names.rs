//! `dlv_dtype_*` and `dlv_device_*`: the names of element types and devices
//! (`"float32"`, `"bfloat16"`, `"cuda:0"`), so that bindings (the Python
//! package) spell them exactly as the core does instead of keeping tables
//! of their own.

use crate::boundary::*;
use crate::types::*;
use dlpark::ffi::{DLDataType, DLDevice};
use dlview_core::device::Device;
use dlview_core::dtype::DType;
use dlview_core::error::Error;
use std::ffi::{CStr, CString, c_char};
use std::sync::Mutex;

/// A string of the core's dtype table as a C string in static storage.
/// The table holds Rust strings; each is converted once and kept (there
/// are a few dozen at most).
fn static_c(text: &'static str) -> &'static CStr {
    static TEXTS: Mutex<Vec<(&'static str, &'static CStr)>> = Mutex::new(Vec::new());
    let mut texts = TEXTS.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(&(_, c)) = texts.iter().find(|(t, _)| *t == text) {
        return c;
    }
    let c: &'static CStr = Box::leak(CString::new(text).unwrap_or_default().into_boxed_c_str());
    texts.push((text, c));
    c
}

/// The name of `dt` as a C string in static storage.
fn static_name(dt: DType) -> &'static CStr {
    static_c(dt.name())
}

/// Reads a NUL-terminated argument as UTF-8.
///
/// # Safety
/// `p` must be NULL or a valid NUL-terminated string.
unsafe fn c_str<'a>(p: *const c_char, name: &'static str) -> dlview_core::Result<&'a str> {
    if p.is_null() {
        return Err(Error::NullArgument(name));
    }
    // SAFETY: non-NULL and NUL-terminated by contract.
    unsafe { CStr::from_ptr(p) }
        .to_str()
        .map_err(|_| Error::InvalidArgument(format!("argument `{name}` is not valid UTF-8")))
}

/// Copies `text` into `buf` like snprintf and returns its full length.
///
/// # Safety
/// `buf` must be NULL or valid for writing `len` bytes.
unsafe fn write_text(text: &str, buf: *mut c_char, len: usize) -> usize {
    if !buf.is_null() && len > 0 {
        let n = text.len().min(len - 1);
        // SAFETY: the caller promises `len` writable bytes at `buf`; n < len.
        unsafe {
            std::ptr::copy_nonoverlapping(text.as_ptr(), buf.cast::<u8>(), n);
            buf.add(n).write(0);
        }
    }
    text.len()
}

/// The canonical name of an element type ("float32", "bfloat16",
/// "float8_e4m3fn", "bool", "complex64", ...), in static storage. NULL when
/// `dtype` is not a type dlview supports (see docs/rules.md §5).
#[unsafe(no_mangle)]
pub extern "C-unwind" fn dlv_dtype_name(dtype: DLDataType) -> *const c_char {
    ffi_value(std::ptr::null(), || match DType::from_dl(dtype) {
        Ok(dt) => static_name(dt).as_ptr(),
        Err(_) => std::ptr::null(),
    })
}

/// The Python buffer-protocol (PEP 3118, `struct` module) format of one
/// element of `dtype` ("f", "q", "?", "e" for float16, "Zd" for
/// complex128), in static storage; NULL for a type the buffer protocol
/// cannot describe (bfloat16, float8, packed sub-byte types) or that dlview
/// does not support. From the same table as `dlv_dtype_name`.
#[unsafe(no_mangle)]
pub extern "C-unwind" fn dlv_dtype_format(dtype: DLDataType) -> *const c_char {
    ffi_value(std::ptr::null(), || {
        match DType::from_dl(dtype).ok().and_then(DType::buffer_format) {
            Some(format) => static_c(format).as_ptr(),
            None => std::ptr::null(),
        }
    })
}

/// Looks an element type up by name: the canonical names of
/// `dlv_dtype_name` and NumPy's aliases ("f4", "double", "bool_", ...).
/// On success writes `*out` (lanes 1).
/// Statuses: NULL_ARGUMENT (name, out), INVALID_ARGUMENT (not UTF-8),
/// UNSUPPORTED_DTYPE (unknown name).
///
/// # Safety
/// Every pointer argument is NULL or valid as this comment and the
/// header's preamble describe (the C caller's contract).
#[unsafe(no_mangle)]
pub unsafe extern "C-unwind" fn dlv_dtype_from_name(
    name: *const c_char,
    out: *mut DLDataType,
) -> dlv_status {
    ffi_call(|| {
        // SAFETY: the C caller passes a writable out-pointer or NULL.
        let out = unsafe { out_param(out, "out") }?;
        // SAFETY: the C caller passes a NUL-terminated string or NULL.
        let name = unsafe { c_str(name, "name") }?;
        out.put(DType::from_name(name)?.to_dl());
        Ok(())
    })
}

/// Writes the name of a device ("cpu", "cuda:0", "device99:1" for an
/// unknown type) into `buf` like snprintf: at most `len - 1` bytes plus a
/// NUL. Returns the full length (without NUL); `buf == NULL, len == 0` asks
/// for the size.
///
/// # Safety
/// Every pointer argument is NULL or valid as this comment and the
/// header's preamble describe (the C caller's contract).
#[unsafe(no_mangle)]
pub unsafe extern "C-unwind" fn dlv_device_name(
    device: DLDevice,
    buf: *mut c_char,
    len: usize,
) -> usize {
    // SAFETY: the caller promises `len` writable bytes at `buf` (or NULL).
    ffi_value(0, || unsafe {
        write_text(&Device::from_dl(device).to_string(), buf, len)
    })
}

/// Parses a device name ("cpu", "cuda", "cuda:1", ...) and writes `*out`.
/// Statuses: NULL_ARGUMENT (name, out), INVALID_ARGUMENT (unknown name or
/// bad index).
///
/// # Safety
/// Every pointer argument is NULL or valid as this comment and the
/// header's preamble describe (the C caller's contract).
#[unsafe(no_mangle)]
pub unsafe extern "C-unwind" fn dlv_device_from_name(
    name: *const c_char,
    out: *mut DLDevice,
) -> dlv_status {
    ffi_call(|| {
        // SAFETY: the C caller passes a writable out-pointer or NULL.
        let out = unsafe { out_param(out, "out") }?;
        // SAFETY: the C caller passes a NUL-terminated string or NULL.
        let name = unsafe { c_str(name, "name") }?;
        out.put(Device::parse(name)?.to_dl());
        Ok(())
    })
}
