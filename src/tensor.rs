//! `dlv_tensor_*`: creation, inspection, views and copies of tensor handles.
//!
//! Each function converts its C arguments, calls the matching `Tensor`
//! method, and hands back a new handle or a status.

use crate::boundary::*;
use crate::types::*;
use dlpark::ffi::{DLDataType, DLDevice};
use dlview_core::device::Device;
use dlview_core::dtype::DType;
use dlview_core::error::{Error, Result};
use dlview_core::layout::{Layout, Order};
use dlview_core::storage::{Owner, Storage};
use dlview_core::tensor::Tensor;
use std::ffi::{c_char, c_void};
use std::sync::Arc;

// ---- library ---------------------------------------------------------------

/// The library version as "MAJOR.MINOR.PATCH" (static storage; never NULL).
#[unsafe(no_mangle)]
pub extern "C-unwind" fn dlv_version() -> *const c_char {
    static VERSION: &std::ffi::CStr = match std::ffi::CStr::from_bytes_with_nul(
        concat!(env!("CARGO_PKG_VERSION"), "\0").as_bytes(),
    ) {
        Ok(v) => v,
        Err(_) => c"unknown",
    };
    VERSION.as_ptr()
}

/// The message of the last failed call on this thread ("" if none). The
/// string belongs to the library and stays valid until the next failing
/// dlview call on this thread. Never NULL.
#[unsafe(no_mangle)]
pub extern "C-unwind" fn dlv_last_error() -> *const c_char {
    last_error_ptr()
}

/// The enumerator name of a status ("DLV_ERR_INDEX"), or "DLV_UNKNOWN_STATUS"
/// for a value that is not a `dlv_status`. Static storage; never NULL.
#[unsafe(no_mangle)]
pub extern "C-unwind" fn dlv_status_name(status: u32) -> *const c_char {
    dlv_status::ALL
        .iter()
        .find(|&&s| s as u32 == status)
        .map_or(c"DLV_UNKNOWN_STATUS", |s| s.name())
        .as_ptr()
}

/// How many storages (buffers, wrapped buffers, imports) are alive in the
/// process. For leak tests: it returns to its earlier value once every
/// handle and export of the storages created since has been freed.
#[unsafe(no_mangle)]
pub extern "C-unwind" fn dlv_live_storage_count() -> u64 {
    dlview_core::__private::live_count() as u64
}

// ---- creation --------------------------------------------------------------

unsafe fn new_tensor(
    dtype: DLDataType,
    ndim: i32,
    shape: *const i64,
    order: dlv_order,
    out: *mut *mut dlv_tensor,
    make: fn(DType, &[i64], Order) -> Result<Tensor>,
) -> dlv_status {
    // SAFETY: arguments are forwarded under this function's contract.
    unsafe { new_tensor_with(dtype, ndim, shape, order, out, make) }
}

unsafe fn new_tensor_with(
    dtype: DLDataType,
    ndim: i32,
    shape: *const i64,
    order: dlv_order,
    out: *mut *mut dlv_tensor,
    make: impl FnOnce(DType, &[i64], Order) -> Result<Tensor>,
) -> dlv_status {
    ffi_call(|| {
        // SAFETY: the C caller passes a writable out-pointer or NULL.
        let out = unsafe { out_param(out, "out") }?;
        // SAFETY: the C caller passes `ndim` readable values or NULL.
        let shape = unsafe { c_array(shape, ndim_arg(ndim)?, "shape") }?;
        let order = crate::types::order(order)?;
        out.give(make(DType::from_dl(dtype)?, shape, order)?);
        Ok(())
    })
}

/// Allocates a new writeable CPU tensor of `shape` (64-byte aligned) in
/// order `DLV_ORDER_C` or `DLV_ORDER_F`. Its contents are unspecified
/// (currently zero). `shape` may be NULL when `ndim` is 0.
///
/// On success `*out` is a new handle owned by the caller.
/// Statuses: NULL_ARGUMENT (out, or shape with ndim > 0), INVALID_ARGUMENT
/// (ndim outside 0..=64, negative or overflowing shape, order K or unknown),
/// UNSUPPORTED_DTYPE, OUT_OF_MEMORY.
///
/// # Safety
/// Every pointer argument is NULL or valid as this comment and the
/// header's preamble describe (the C caller's contract).
#[unsafe(no_mangle)]
pub unsafe extern "C-unwind" fn dlv_tensor_empty(
    dtype: DLDataType,
    ndim: i32,
    shape: *const i64,
    order: dlv_order,
    out: *mut *mut dlv_tensor,
) -> dlv_status {
    // SAFETY: arguments are forwarded under this function's contract.
    unsafe { new_tensor(dtype, ndim, shape, order, out, Tensor::empty) }
}

/// As `dlv_tensor_empty`, but every element is zero.
///
/// # Safety
/// Every pointer argument is NULL or valid as this comment and the
/// header's preamble describe (the C caller's contract).
#[unsafe(no_mangle)]
pub unsafe extern "C-unwind" fn dlv_tensor_zeros(
    dtype: DLDataType,
    ndim: i32,
    shape: *const i64,
    order: dlv_order,
    out: *mut *mut dlv_tensor,
) -> dlv_status {
    // SAFETY: arguments are forwarded under this function's contract.
    unsafe { new_tensor(dtype, ndim, shape, order, out, Tensor::zeros) }
}

/// Allocates a new writeable tensor of `shape` on `device`, in order
/// `DLV_ORDER_C` or `DLV_ORDER_F`: `kDLCPU` as `dlv_tensor_empty`;
/// through the CUDA driver (loaded at run time) `kDLCUDA` (device memory of
/// device `device_id`, allocated on its primary context; contents
/// unspecified), `kDLCUDAHost` (pinned host memory) or `kDLCUDAManaged`
/// (managed memory); both host-readable kinds are zeroed. Device memory is
/// freed, with its context current, when the last view and export are gone.
///
/// On success `*out` is a new handle owned by the caller.
/// Statuses: as `dlv_tensor_empty`, plus UNSUPPORTED_DEVICE (another device
/// type), DEVICE_UNAVAILABLE (no CUDA driver, no such device, a driver
/// failure: the message names the CUDA error), OUT_OF_MEMORY (also device
/// memory).
///
/// # Safety
/// Every pointer argument is NULL or valid as this comment and the
/// header's preamble describe (the C caller's contract).
#[unsafe(no_mangle)]
pub unsafe extern "C-unwind" fn dlv_tensor_empty_on(
    dtype: DLDataType,
    ndim: i32,
    shape: *const i64,
    order: dlv_order,
    device: DLDevice,
    out: *mut *mut dlv_tensor,
) -> dlv_status {
    let device = Device::from_dl(device);
    // SAFETY: arguments are forwarded under this function's contract.
    unsafe {
        new_tensor_with(dtype, ndim, shape, order, out, |d, s, o| {
            Tensor::empty_on(d, s, o, device)
        })
    }
}

/// As `dlv_tensor_empty_on`, but every element is zero (device memory is
/// cleared with `cuMemsetD8` on the legacy default stream).
///
/// # Safety
/// Every pointer argument is NULL or valid as this comment and the
/// header's preamble describe (the C caller's contract).
#[unsafe(no_mangle)]
pub unsafe extern "C-unwind" fn dlv_tensor_zeros_on(
    dtype: DLDataType,
    ndim: i32,
    shape: *const i64,
    order: dlv_order,
    device: DLDevice,
    out: *mut *mut dlv_tensor,
) -> dlv_status {
    let device = Device::from_dl(device);
    // SAFETY: arguments are forwarded under this function's contract.
    unsafe {
        new_tensor_with(dtype, ndim, shape, order, out, |d, s, o| {
            Tensor::zeros_on(d, s, o, device)
        })
    }
}

/// Wraps caller memory without copying. `data` points at element [0,...,0];
/// `strides` are in elements (NULL: C order). `device` may be any DLPack
/// device: non-CPU memory is never touched, only viewed.
///
/// `release(ctx)` runs exactly once, on any thread, when the last view and
/// export of this memory is gone; it may be NULL. If the call fails,
/// `release` is NOT called and the caller still owns the memory.
/// The memory's extent is unknown to dlview, so `as_strided` on these views
/// stays within the extent of the view it starts from. With `writeable`
/// false the memory is read-only for good: making any view of it writeable
/// fails with READ_ONLY.
///
/// Statuses: NULL_ARGUMENT (out; data with size > 0; shape with ndim > 0;
/// NULL strides are valid and mean C order), INVALID_ARGUMENT (bad ndim, shape or strides, overflowing
/// extent), UNSUPPORTED_DTYPE.
///
/// # Safety
/// Every pointer argument is NULL or valid as this comment and the
/// header's preamble describe (the C caller's contract).
#[unsafe(no_mangle)]
pub unsafe extern "C-unwind" fn dlv_tensor_from_buffer(
    data: *mut c_void,
    dtype: DLDataType,
    device: DLDevice,
    ndim: i32,
    shape: *const i64,
    strides: *const i64,
    writeable: bool,
    release: Option<unsafe extern "C" fn(ctx: *mut c_void)>,
    ctx: *mut c_void,
    out: *mut *mut dlv_tensor,
) -> dlv_status {
    ffi_call(|| {
        // SAFETY: the C caller passes a writable out-pointer or NULL.
        let out = unsafe { out_param(out, "out") }?;
        let n = ndim_arg(ndim)?;
        // SAFETY: the C caller passes `ndim` readable values or NULL.
        let shape = unsafe { c_array(shape, n, "shape") }?;
        let dtype = DType::from_dl(dtype)?;
        let layout = if strides.is_null() {
            Layout::compact(shape, Order::C)?
        } else {
            // SAFETY: non-NULL strides hold `ndim` values by contract.
            Layout::new(shape, unsafe { c_array(strides, n, "strides") }?)?
        };
        if layout.size() > 0 && data.is_null() {
            return Err(Error::NullArgument("data"));
        }
        // Everything that can fail is checked before the storage exists:
        // dropping it would run `release`, which a failed call must not.
        Tensor::check_placement(&layout, dtype, data.cast())?;
        // SAFETY: the caller keeps `data` valid (and writable if
        // `writeable`) until `release` runs, which the storage does once.
        let storage = unsafe {
            Storage::from_foreign(
                data.cast(),
                None,
                Device::from_dl(device),
                // Memory the caller did not offer for writing is read-only
                // storage (rule 2.4): no handle may make it writeable later.
                !writeable,
                false,
                Owner::Callback { release, ctx },
            )
        };
        // SAFETY: the C caller's contract: `data` holds the described
        // elements until `release` runs.
        let tensor = unsafe {
            Tensor::from_storage_unchecked(Arc::new(storage), data.cast(), layout, dtype, writeable)
        }?;
        out.give(tensor);
        Ok(())
    })
}

/// Another handle to the same view (same flags); free both.
/// Statuses: NULL_ARGUMENT.
///
/// # Safety
/// Every pointer argument is NULL or valid as this comment and the
/// header's preamble describe (the C caller's contract).
#[unsafe(no_mangle)]
pub unsafe extern "C-unwind" fn dlv_tensor_retain(
    t: *const dlv_tensor,
    out: *mut *mut dlv_tensor,
) -> dlv_status {
    ffi_call(|| {
        // SAFETY: the C caller passes a writable out-pointer or NULL.
        let out = unsafe { out_param(out, "out") }?;
        // SAFETY: the C caller passes a live handle or NULL.
        let t = unsafe { tensor_ref(t, "t") }?;
        out.give(t.clone());
        Ok(())
    })
}

/// Frees a handle. The memory is released when the last handle and export
/// sharing it is gone. NULL is accepted and ignored; never free twice.
///
/// # Safety
/// Every pointer argument is NULL or valid as this comment and the
/// header's preamble describe (the C caller's contract).
#[unsafe(no_mangle)]
pub unsafe extern "C-unwind" fn dlv_tensor_free(t: *mut dlv_tensor) {
    ffi_value_releasing((), || {
        if !t.is_null() {
            // SAFETY: a non-NULL handle came from `Out::give` in this
            // library and, by contract, is freed only once.
            unsafe { free_handle(t) };
        }
    })
}

// ---- inspection ------------------------------------------------------------

/// Borrows a handle for an inspection call; NULL gives `None`.
///
/// # Safety
/// `t` must be NULL or a live handle.
unsafe fn peek<'a>(t: *const dlv_tensor) -> Option<&'a Tensor> {
    // SAFETY: per the function's contract.
    unsafe { t.as_ref() }.map(|h| &h.tensor)
}

/// Number of dimensions (0 for a NULL handle).
///
/// # Safety
/// Every pointer argument is NULL or valid as this comment and the
/// header's preamble describe (the C caller's contract).
#[unsafe(no_mangle)]
pub unsafe extern "C-unwind" fn dlv_tensor_ndim(t: *const dlv_tensor) -> i32 {
    // SAFETY: the C caller passes a live handle or NULL.
    ffi_value(0, || unsafe { peek(t) }.map_or(0, |t| t.ndim() as i32))
}

/// The shape (`ndim` values), valid while `t` lives. NULL for a NULL handle;
/// for a 0-d tensor a non-NULL pointer that must not be read.
///
/// # Safety
/// Every pointer argument is NULL or valid as this comment and the
/// header's preamble describe (the C caller's contract).
#[unsafe(no_mangle)]
pub unsafe extern "C-unwind" fn dlv_tensor_shape(t: *const dlv_tensor) -> *const i64 {
    // SAFETY: the C caller passes a live handle or NULL.
    ffi_value(std::ptr::null(), || {
        unsafe { peek(t) }.map_or(std::ptr::null(), |t| t.shape().as_ptr())
    })
}

/// The strides in elements (`ndim` values), valid while `t` lives. NULL for
/// a NULL handle.
///
/// # Safety
/// Every pointer argument is NULL or valid as this comment and the
/// header's preamble describe (the C caller's contract).
#[unsafe(no_mangle)]
pub unsafe extern "C-unwind" fn dlv_tensor_strides(t: *const dlv_tensor) -> *const i64 {
    // SAFETY: the C caller passes a live handle or NULL.
    ffi_value(std::ptr::null(), || {
        unsafe { peek(t) }.map_or(std::ptr::null(), |t| t.strides().as_ptr())
    })
}

/// The element type ({0, 0, 0} for a NULL handle).
///
/// # Safety
/// Every pointer argument is NULL or valid as this comment and the
/// header's preamble describe (the C caller's contract).
#[unsafe(no_mangle)]
pub unsafe extern "C-unwind" fn dlv_tensor_dtype(t: *const dlv_tensor) -> DLDataType {
    let none = DLDataType {
        code: dlpark::ffi::DLDataTypeCode(0),
        bits: 0,
        lanes: 0,
    };
    // SAFETY: the C caller passes a live handle or NULL.
    ffi_value(none, || {
        unsafe { peek(t) }.map_or(none, |t| t.dtype().to_dl())
    })
}

/// The device ({0, 0} for a NULL handle).
///
/// # Safety
/// Every pointer argument is NULL or valid as this comment and the
/// header's preamble describe (the C caller's contract).
#[unsafe(no_mangle)]
pub unsafe extern "C-unwind" fn dlv_tensor_device(t: *const dlv_tensor) -> DLDevice {
    let none = Device::new(0, 0).to_dl();
    // SAFETY: the C caller passes a live handle or NULL.
    ffi_value(none, || {
        unsafe { peek(t) }.map_or(none, |t| t.device().to_dl())
    })
}

/// Number of elements (0 for a NULL handle).
///
/// # Safety
/// Every pointer argument is NULL or valid as this comment and the
/// header's preamble describe (the C caller's contract).
#[unsafe(no_mangle)]
pub unsafe extern "C-unwind" fn dlv_tensor_size(t: *const dlv_tensor) -> i64 {
    // SAFETY: the C caller passes a live handle or NULL.
    ffi_value(0, || unsafe { peek(t) }.map_or(0, |t| t.size()))
}

/// `size * itemsize` in bytes (0 for a NULL handle).
///
/// # Safety
/// Every pointer argument is NULL or valid as this comment and the
/// header's preamble describe (the C caller's contract).
#[unsafe(no_mangle)]
pub unsafe extern "C-unwind" fn dlv_tensor_nbytes(t: *const dlv_tensor) -> u64 {
    // SAFETY: the C caller passes a live handle or NULL.
    ffi_value(0, || unsafe { peek(t) }.map_or(0, |t| t.nbytes() as u64))
}

/// The `DLV_FLAG_*` bits (0 for a NULL handle).
///
/// # Safety
/// Every pointer argument is NULL or valid as this comment and the
/// header's preamble describe (the C caller's contract).
#[unsafe(no_mangle)]
pub unsafe extern "C-unwind" fn dlv_tensor_flags(t: *const dlv_tensor) -> u32 {
    // SAFETY: the C caller passes a live handle or NULL.
    ffi_value(0, || unsafe { peek(t) }.map_or(0, |t| t.flags()))
}

/// The tensor this view was derived from (NumPy's `base`: always a root,
/// never a view of a view), as a new handle in `*out`; `*out = NULL` when
/// `t` is itself a root (it has the OWNDATA flag).
/// Statuses: NULL_ARGUMENT.
///
/// # Safety
/// Every pointer argument is NULL or valid as this comment and the
/// header's preamble describe (the C caller's contract).
#[unsafe(no_mangle)]
pub unsafe extern "C-unwind" fn dlv_tensor_base(
    t: *const dlv_tensor,
    out: *mut *mut dlv_tensor,
) -> dlv_status {
    ffi_call(|| {
        // SAFETY: the C caller passes a writable out-pointer or NULL.
        let out = unsafe { out_param(out, "out") }?;
        // SAFETY: the C caller passes a live handle or NULL.
        let t = unsafe { tensor_ref(t, "t") }?;
        match t.base() {
            Some(base) => out.give(base.clone()),
            None => out.put(std::ptr::null_mut()),
        }
        Ok(())
    })
}

/// Address of element [0,...,0] for reading; NULL if the tensor has no
/// elements or the handle is NULL. Non-CPU tensors give a device address.
///
/// # Safety
/// Every pointer argument is NULL or valid as this comment and the
/// header's preamble describe (the C caller's contract).
#[unsafe(no_mangle)]
pub unsafe extern "C-unwind" fn dlv_tensor_data(t: *const dlv_tensor) -> *const c_void {
    // SAFETY: the C caller passes a live handle or NULL.
    ffi_value(std::ptr::null(), || {
        unsafe { peek(t) }.map_or(std::ptr::null(), |t| t.data_ptr().cast())
    })
}

/// Address of element [0,...,0] for writing (NULL if size 0).
/// Statuses: NULL_ARGUMENT, READ_ONLY (the view is not writeable).
///
/// # Safety
/// Every pointer argument is NULL or valid as this comment and the
/// header's preamble describe (the C caller's contract).
#[unsafe(no_mangle)]
pub unsafe extern "C-unwind" fn dlv_tensor_data_mut(
    t: *mut dlv_tensor,
    out: *mut *mut c_void,
) -> dlv_status {
    ffi_call(|| {
        // SAFETY: the C caller passes a writable out-pointer or NULL.
        let out = unsafe { out_param(out, "out") }?;
        // SAFETY: the C caller passes a live handle or NULL.
        let t = unsafe { tensor_mut(t, "t") }?;
        out.put(t.data_ptr_mut()?.cast());
        Ok(())
    })
}

/// Sets or clears this handle's WRITEABLE flag (other handles keep theirs).
/// Clearing always succeeds. Statuses: NULL_ARGUMENT, READ_ONLY (setting it
/// on read-only memory or on a view whose elements overlap).
///
/// # Safety
/// Every pointer argument is NULL or valid as this comment and the
/// header's preamble describe (the C caller's contract).
#[unsafe(no_mangle)]
pub unsafe extern "C-unwind" fn dlv_tensor_set_writeable(
    t: *mut dlv_tensor,
    writeable: bool,
) -> dlv_status {
    ffi_call(|| {
        // SAFETY: the C caller passes a live handle or NULL.
        unsafe { tensor_mut(t, "t") }?.set_writeable(writeable)
    })
}

/// Reads element `index` (`ndim` values; negative ones count from the end)
/// as a double. `index` may be NULL for a 0-d tensor.
/// Statuses: NULL_ARGUMENT, INDEX (out of range, message names the axis),
/// UNSUPPORTED_DTYPE (complex, sub-byte), UNSUPPORTED_DEVICE (not host memory).
///
/// # Safety
/// Every pointer argument is NULL or valid as this comment and the
/// header's preamble describe (the C caller's contract).
#[unsafe(no_mangle)]
pub unsafe extern "C-unwind" fn dlv_tensor_get_f64(
    t: *const dlv_tensor,
    index: *const i64,
    out: *mut f64,
) -> dlv_status {
    ffi_call(|| {
        // SAFETY: the C caller passes a writable out-pointer or NULL.
        let out = unsafe { out_param(out, "out") }?;
        // SAFETY: the C caller passes a live handle or NULL.
        let t = unsafe { tensor_ref(t, "t") }?;
        // SAFETY: `index` holds `ndim` values by contract.
        let index = unsafe { c_array(index, t.ndim(), "index") }?;
        out.put(t.get_f64(index)?);
        Ok(())
    })
}

/// Writes `value` to element `index`, cast to the tensor's dtype (floats to
/// integers truncate toward zero and saturate).
/// Statuses: as `dlv_tensor_get_f64`, plus READ_ONLY, and INVALID_ARGUMENT
/// for a NaN or infinity into an integer tensor ("cannot convert float NaN
/// to integer", as NumPy refuses it); nothing is written then.
///
/// # Safety
/// Every pointer argument is NULL or valid as this comment and the
/// header's preamble describe (the C caller's contract).
#[unsafe(no_mangle)]
pub unsafe extern "C-unwind" fn dlv_tensor_set_f64(
    t: *mut dlv_tensor,
    index: *const i64,
    value: f64,
) -> dlv_status {
    ffi_call(|| {
        // SAFETY: the C caller passes a live handle or NULL.
        let t = unsafe { tensor_ref(t, "t") }?;
        // SAFETY: `index` holds `ndim` values by contract.
        let index = unsafe { c_array(index, t.ndim(), "index") }?;
        // SAFETY: RULES §9: the C caller serialises the use of the memory
        // it shares between handles (other handles, views and exports of
        // it are not read or written by another thread during this call).
        unsafe { t.set_f64_shared(index, value) }
    })
}

/// Writes a diagnostic text (shape, strides, dtype, device, data pointer,
/// flags, nbytes, base) into `buf` like snprintf: at most `len - 1` bytes
/// plus a NUL. Returns the full length of the text (without NUL), so a call
/// with `buf == NULL, len == 0` asks for the size. A NULL handle gives 0.
///
/// # Safety
/// Every pointer argument is NULL or valid as this comment and the
/// header's preamble describe (the C caller's contract).
#[unsafe(no_mangle)]
pub unsafe extern "C-unwind" fn dlv_tensor_describe(
    t: *const dlv_tensor,
    buf: *mut c_char,
    len: usize,
) -> usize {
    ffi_value(0, || {
        // SAFETY: the C caller passes a live handle or NULL.
        let text = unsafe { peek(t) }.map(Tensor::describe).unwrap_or_default();
        if !buf.is_null() && len > 0 {
            let n = text.len().min(len - 1);
            // SAFETY: the caller promises `len` writable bytes at `buf`.
            unsafe {
                std::ptr::copy_nonoverlapping(text.as_ptr(), buf.cast::<u8>(), n);
                buf.add(n).write(0);
            }
        }
        text.len()
    })
}

/// True when some byte belongs to an element of both tensors (exact for up
/// to 2^20 elements together, or when either a range test or density
/// decides; beyond that, as `dlv_may_share_memory`). NULL gives false.
/// When its work space (up to 16 MiB) cannot be allocated, the answer is
/// the conservative true ("may share"), never an abort.
///
/// # Safety
/// Every pointer argument is NULL or valid as this comment and the
/// header's preamble describe (the C caller's contract).
#[unsafe(no_mangle)]
pub unsafe extern "C-unwind" fn dlv_shares_memory(
    a: *const dlv_tensor,
    b: *const dlv_tensor,
) -> bool {
    // SAFETY: the C caller passes live handles or NULL.
    ffi_value(false, || match unsafe { (peek(a), peek(b)) } {
        (Some(a), Some(b)) => a.shares_memory(b),
        _ => false,
    })
}

/// True when the byte ranges spanned by the two tensors overlap (same
/// device). NULL gives false.
///
/// # Safety
/// Every pointer argument is NULL or valid as this comment and the
/// header's preamble describe (the C caller's contract).
#[unsafe(no_mangle)]
pub unsafe extern "C-unwind" fn dlv_may_share_memory(
    a: *const dlv_tensor,
    b: *const dlv_tensor,
) -> bool {
    // SAFETY: the C caller passes live handles or NULL.
    ffi_value(false, || match unsafe { (peek(a), peek(b)) } {
        (Some(a), Some(b)) => a.may_share_memory(b),
        _ => false,
    })
}

// ---- views -----------------------------------------------------------------
// Every view call also returns UNSUPPORTED_DTYPE for packed sub-byte tensors
// (float4/float6), which support exchange only; each doc says so.

/// Shared body of every call `(t, ...) -> new handle`.
pub(super) unsafe fn derive(
    t: *const dlv_tensor,
    out: *mut *mut dlv_tensor,
    op: impl FnOnce(&Tensor) -> Result<Tensor>,
) -> dlv_status {
    ffi_call(|| {
        // SAFETY: the C caller passes a writable out-pointer or NULL.
        let out = unsafe { out_param(out, "out") }?;
        // SAFETY: the C caller passes a live handle or NULL.
        let t = unsafe { tensor_ref(t, "t") }?;
        out.give(op(t)?);
        Ok(())
    })
}

/// View `t[start:stop:step]` along `axis` with Python semantics: negative
/// bounds count from the end, out-of-range bounds clamp, `DLV_NONE` is an
/// omitted bound, a negative step gives negative strides.
/// Statuses: NULL_ARGUMENT, INVALID_ARGUMENT (axis out of range, step 0).
/// Also UNSUPPORTED_DTYPE for packed sub-byte tensors.
///
/// # Safety
/// Every pointer argument is NULL or valid as this comment and the
/// header's preamble describe (the C caller's contract).
#[unsafe(no_mangle)]
pub unsafe extern "C-unwind" fn dlv_tensor_slice(
    t: *const dlv_tensor,
    axis: i32,
    start: i64,
    stop: i64,
    step: i64,
    out: *mut *mut dlv_tensor,
) -> dlv_status {
    // SAFETY: arguments are forwarded under this function's contract.
    unsafe {
        derive(t, out, |t| {
            t.slice(axis.into(), bound(start), bound(stop), step)
        })
    }
}

/// View `t[..., index, ...]` at `axis`, dropping that axis; a negative index
/// counts from the end. Statuses: NULL_ARGUMENT, INVALID_ARGUMENT (axis),
/// INDEX ("index 5 is out of bounds for axis 1 with size 3"); UNSUPPORTED_DTYPE (packed sub-byte).
///
/// # Safety
/// Every pointer argument is NULL or valid as this comment and the
/// header's preamble describe (the C caller's contract).
#[unsafe(no_mangle)]
pub unsafe extern "C-unwind" fn dlv_tensor_select(
    t: *const dlv_tensor,
    axis: i32,
    index: i64,
    out: *mut *mut dlv_tensor,
) -> dlv_status {
    // SAFETY: arguments are forwarded under this function's contract.
    unsafe { derive(t, out, |t| t.select(axis.into(), index)) }
}

/// View with axes reordered: result axis k is source axis `axes[k]`
/// (`ndim` values, negative allowed). Statuses: NULL_ARGUMENT,
/// INVALID_ARGUMENT (axis out of range, repeated axis); UNSUPPORTED_DTYPE (packed sub-byte).
///
/// # Safety
/// Every pointer argument is NULL or valid as this comment and the
/// header's preamble describe (the C caller's contract).
#[unsafe(no_mangle)]
pub unsafe extern "C-unwind" fn dlv_tensor_permute(
    t: *const dlv_tensor,
    axes: *const i32,
    out: *mut *mut dlv_tensor,
) -> dlv_status {
    // SAFETY: arguments are forwarded under this function's contract.
    unsafe {
        derive(t, out, |t| {
            // SAFETY: `axes` holds `ndim` values by contract.
            let axes = c_array(axes, t.ndim(), "axes")?;
            t.permute(&axes.iter().map(|&a| i64::from(a)).collect::<Vec<_>>())
        })
    }
}

/// View with all axes reversed (NumPy `.T`). Statuses: NULL_ARGUMENT.
/// Also UNSUPPORTED_DTYPE for packed sub-byte tensors.
///
/// # Safety
/// Every pointer argument is NULL or valid as this comment and the
/// header's preamble describe (the C caller's contract).
#[unsafe(no_mangle)]
pub unsafe extern "C-unwind" fn dlv_tensor_transpose(
    t: *const dlv_tensor,
    out: *mut *mut dlv_tensor,
) -> dlv_status {
    // SAFETY: arguments are forwarded under this function's contract.
    unsafe { derive(t, out, Tensor::transpose) }
}

/// View with the order of elements along `axis` reversed (negative stride).
/// Statuses: NULL_ARGUMENT, INVALID_ARGUMENT (axis); UNSUPPORTED_DTYPE (packed sub-byte).
///
/// # Safety
/// Every pointer argument is NULL or valid as this comment and the
/// header's preamble describe (the C caller's contract).
#[unsafe(no_mangle)]
pub unsafe extern "C-unwind" fn dlv_tensor_flip(
    t: *const dlv_tensor,
    axis: i32,
    out: *mut *mut dlv_tensor,
) -> dlv_status {
    // SAFETY: arguments are forwarded under this function's contract.
    unsafe { derive(t, out, |t| t.flip(axis.into())) }
}

/// The tensor with a new shape (one entry may be -1). A view when the
/// layout allows it; otherwise a C-order copy under `DLV_COPY_IF_NEEDED`,
/// `DLV_ERR_COPY_REQUIRED` under `DLV_COPY_NEVER`; `DLV_COPY_ALWAYS` always
/// copies. Statuses: NULL_ARGUMENT, INVALID_ARGUMENT (size mismatch, bad
/// shape or mode), COPY_REQUIRED, UNSUPPORTED_DEVICE (a copy of device memory).
///
/// # Safety
/// Every pointer argument is NULL or valid as this comment and the
/// header's preamble describe (the C caller's contract).
#[unsafe(no_mangle)]
pub unsafe extern "C-unwind" fn dlv_tensor_reshape(
    t: *const dlv_tensor,
    ndim: i32,
    shape: *const i64,
    copy: dlv_copy_mode,
    out: *mut *mut dlv_tensor,
) -> dlv_status {
    // SAFETY: arguments are forwarded under this function's contract.
    unsafe {
        derive(t, out, |t| {
            // SAFETY: `shape` holds `ndim` values by contract.
            let shape = c_array(shape, ndim_arg(ndim)?, "shape")?;
            t.reshape(shape, copy_mode(copy)?)
        })
    }
}

/// View without `axis` (which must have size 1), or without every size-1
/// axis when `axis == DLV_ALL_AXES`. Statuses: NULL_ARGUMENT,
/// INVALID_ARGUMENT (axis out of range or not of size 1); UNSUPPORTED_DTYPE (packed sub-byte).
///
/// # Safety
/// Every pointer argument is NULL or valid as this comment and the
/// header's preamble describe (the C caller's contract).
#[unsafe(no_mangle)]
pub unsafe extern "C-unwind" fn dlv_tensor_squeeze(
    t: *const dlv_tensor,
    axis: i32,
    out: *mut *mut dlv_tensor,
) -> dlv_status {
    let axis = (axis != DLV_ALL_AXES).then_some(i64::from(axis));
    // SAFETY: arguments are forwarded under this function's contract.
    unsafe { derive(t, out, |t| t.squeeze(axis)) }
}

/// View with a new size-1 axis at `axis` (in -(ndim+1)..=ndim).
/// Statuses: NULL_ARGUMENT, INVALID_ARGUMENT (axis, ndim would exceed 64).
/// Also UNSUPPORTED_DTYPE for packed sub-byte tensors.
///
/// # Safety
/// Every pointer argument is NULL or valid as this comment and the
/// header's preamble describe (the C caller's contract).
#[unsafe(no_mangle)]
pub unsafe extern "C-unwind" fn dlv_tensor_expand_dims(
    t: *const dlv_tensor,
    axis: i32,
    out: *mut *mut dlv_tensor,
) -> dlv_status {
    // SAFETY: arguments are forwarded under this function's contract.
    unsafe { derive(t, out, |t| t.expand_dims(axis.into())) }
}

/// Read-only view broadcast to `shape` with NumPy's rules (new leading axes
/// and size-1 axes get stride 0). Statuses: NULL_ARGUMENT,
/// INVALID_ARGUMENT ("cannot broadcast shape (3, 2) to shape (4, 4)").
/// Also UNSUPPORTED_DTYPE for packed sub-byte tensors.
///
/// # Safety
/// Every pointer argument is NULL or valid as this comment and the
/// header's preamble describe (the C caller's contract).
#[unsafe(no_mangle)]
pub unsafe extern "C-unwind" fn dlv_tensor_broadcast_to(
    t: *const dlv_tensor,
    ndim: i32,
    shape: *const i64,
    out: *mut *mut dlv_tensor,
) -> dlv_status {
    // SAFETY: arguments are forwarded under this function's contract.
    unsafe {
        derive(t, out, |t| {
            // SAFETY: `shape` holds `ndim` values by contract.
            t.broadcast_to(c_array(shape, ndim_arg(ndim)?, "shape")?)
        })
    }
}

/// View with explicit `shape` and `strides` (elements) from `t`'s first
/// element. Checked: every element must lie in the memory the storage owns
/// or, if that is unknown (wrapped or imported memory), inside `t`'s own
/// extent. Overlapping results are read-only. Statuses: NULL_ARGUMENT,
/// INVALID_ARGUMENT (out of bounds, overflowing layout); UNSUPPORTED_DTYPE (packed sub-byte).
///
/// # Safety
/// Every pointer argument is NULL or valid as this comment and the
/// header's preamble describe (the C caller's contract).
#[unsafe(no_mangle)]
pub unsafe extern "C-unwind" fn dlv_tensor_as_strided(
    t: *const dlv_tensor,
    ndim: i32,
    shape: *const i64,
    strides: *const i64,
    out: *mut *mut dlv_tensor,
) -> dlv_status {
    // SAFETY: arguments are forwarded under this function's contract.
    unsafe {
        derive(t, out, |t| {
            let n = ndim_arg(ndim)?;
            // SAFETY: `shape` and `strides` hold `ndim` values by contract.
            t.as_strided(c_array(shape, n, "shape")?, c_array(strides, n, "strides")?)
        })
    }
}

/// Read-only view of every window of length `window` along `axis` (NumPy's
/// `sliding_window_view`): that axis becomes the window count and a new last
/// axis walks each window. Statuses: NULL_ARGUMENT, INVALID_ARGUMENT.
/// Also UNSUPPORTED_DTYPE for packed sub-byte tensors.
///
/// # Safety
/// Every pointer argument is NULL or valid as this comment and the
/// header's preamble describe (the C caller's contract).
#[unsafe(no_mangle)]
pub unsafe extern "C-unwind" fn dlv_tensor_sliding_window(
    t: *const dlv_tensor,
    axis: i32,
    window: i64,
    out: *mut *mut dlv_tensor,
) -> dlv_status {
    // SAFETY: arguments are forwarded under this function's contract.
    unsafe { derive(t, out, |t| t.sliding_window(axis.into(), window)) }
}
