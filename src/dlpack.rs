//! `dlv_tensor_{to,from}_dlpack[_legacy]`: DLPack exchange for C callers.

use crate::boundary::*;
use crate::types::*;
use dlpark::ffi::{DLManagedTensor, DLManagedTensorVersioned};
use dlview_core::dlpack::import::Owned;
use dlview_core::dlpack::{self, ExportOptions, ImportOptions};
use dlview_core::error::Result;

/// Options for importing a DLPack tensor. NULL means all fields zero.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct dlv_import_options {
    /// `DLV_COPY_ALWAYS` copies the data and releases the producer's tensor
    /// at once; the other modes share (an import is always a view).
    pub copy: dlv_copy_mode,
    /// Treat legacy tensors as writeable (by default they are read-only,
    /// because the legacy ABI cannot say whether they may be written).
    pub trust_legacy_writeable: bool,
}

/// Options for exporting a DLPack tensor. NULL means all fields zero.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct dlv_export_options {
    /// `DLV_COPY_IF_NEEDED` copies only when the rules require (negative
    /// strides; a read-only view through the legacy ABI), `DLV_COPY_NEVER`
    /// fails instead with `DLV_ERR_COPY_REQUIRED`, `DLV_COPY_ALWAYS` copies.
    pub copy: dlv_copy_mode,
    /// Export negative strides as they are (for NumPy, CuPy), instead of
    /// copying them away (PyTorch, JAX and TensorFlow reject them).
    pub allow_negative_strides: bool,
}

pub(crate) fn import_options(opts: *const dlv_import_options) -> Result<ImportOptions> {
    // SAFETY: the C caller passes a readable options struct or NULL.
    let Some(o) = (unsafe { opts.as_ref() }) else {
        return Ok(ImportOptions::default());
    };
    Ok(ImportOptions {
        copy: copy_mode(o.copy)?,
        trust_legacy_writeable: o.trust_legacy_writeable,
    })
}

pub(crate) fn export_options(opts: *const dlv_export_options) -> Result<ExportOptions> {
    // SAFETY: the C caller passes a readable options struct or NULL.
    let Some(o) = (unsafe { opts.as_ref() }) else {
        return Ok(ExportOptions::default());
    };
    Ok(ExportOptions {
        copy: copy_mode(o.copy)?,
        allow_negative_strides: o.allow_negative_strides,
    })
}

/// Imports a versioned DLPack tensor as a view. ALWAYS takes ownership of
/// `mt`: on success its deleter runs when the last view dies; on any failure
/// it has run exactly once before this returns (a NULL deleter means the
/// producer keeps ownership and nothing is called).
///
/// A major version other than 1 calls the deleter and reads nothing else.
/// Validated: ndim 0..=64, shape non-NULL for ndim > 0, dims >= 0, strides
/// non-NULL for ndim > 0 from version 1.2 on, dtype (lanes 1, known codes),
/// checked extents; `byte_offset` is added to `data`. `READ_ONLY` makes the
/// memory read-only; any device is accepted (elements are never touched).
///
/// Statuses: NULL_ARGUMENT (mt, out), VERSION, INVALID_ARGUMENT,
/// UNSUPPORTED_DTYPE, and with DLV_COPY_ALWAYS: UNSUPPORTED_DEVICE, OUT_OF_MEMORY.
///
/// # Safety
/// Every pointer argument is NULL or valid as this comment and the
/// header's preamble describe (the C caller's contract).
#[unsafe(no_mangle)]
pub unsafe extern "C-unwind" fn dlv_tensor_from_dlpack(
    mt: *mut DLManagedTensorVersioned,
    opts: *const dlv_import_options,
    out: *mut *mut dlv_tensor,
) -> dlv_status {
    ffi_call_releasing(|| {
        // Ownership first, so a bad `out` or `opts` still releases `mt`.
        // SAFETY: ownership of `mt` passes to this call (DLPack contract).
        let owned = unsafe { Owned::take(mt) }?;
        // SAFETY: the C caller passes a writable out-pointer or NULL.
        let out = unsafe { out_param(out, "out") }?;
        out.give(owned.import(&import_options(opts)?)?);
        Ok(())
    })
}

/// Imports a legacy DLPack tensor as a view; it is read-only unless
/// `opts->trust_legacy_writeable`. Ownership and statuses as
/// `dlv_tensor_from_dlpack` (NULL strides always mean C order here).
///
/// # Safety
/// Every pointer argument is NULL or valid as this comment and the
/// header's preamble describe (the C caller's contract).
#[unsafe(no_mangle)]
pub unsafe extern "C-unwind" fn dlv_tensor_from_dlpack_legacy(
    mt: *mut DLManagedTensor,
    opts: *const dlv_import_options,
    out: *mut *mut dlv_tensor,
) -> dlv_status {
    ffi_call_releasing(|| {
        // SAFETY: ownership of `mt` passes to this call (DLPack contract).
        let owned = unsafe { Owned::take(mt) }?;
        // SAFETY: the C caller passes a writable out-pointer or NULL.
        let out = unsafe { out_param(out, "out") }?;
        out.give(owned.import(&import_options(opts)?)?);
        Ok(())
    })
}

/// Exports a view as a versioned DLPack 1.3 tensor that shares its memory
/// (or a compact copy, per `opts->copy` and the rules). Flags: READ_ONLY iff
/// the view is not writeable, IS_COPIED iff a copy was made. `byte_offset`
/// is 0, strides are never NULL for ndim > 0, size 0 exports data == NULL.
/// Negative strides are copied away unless `opts->allow_negative_strides`.
///
/// The caller owns `*out` and must call `(*out)->deleter(*out)` exactly
/// once, from any thread; the memory stays alive until then even if every
/// dlv_tensor handle is freed.
/// Statuses: NULL_ARGUMENT, INVALID_ARGUMENT (options), COPY_REQUIRED
/// (with the reason), UNSUPPORTED_DEVICE (a copy of device memory), OUT_OF_MEMORY.
///
/// # Safety
/// Every pointer argument is NULL or valid as this comment and the
/// header's preamble describe (the C caller's contract).
#[unsafe(no_mangle)]
pub unsafe extern "C-unwind" fn dlv_tensor_to_dlpack(
    t: *const dlv_tensor,
    opts: *const dlv_export_options,
    out: *mut *mut DLManagedTensorVersioned,
) -> dlv_status {
    ffi_call(|| {
        // SAFETY: the C caller passes a writable out-pointer or NULL.
        let out = unsafe { out_param(out, "out") }?;
        // SAFETY: the C caller passes a live handle or NULL.
        let t = unsafe { tensor_ref(t, "t") }?;
        out.put(dlpack::export::to_versioned(t, &export_options(opts)?)?.as_ptr());
        Ok(())
    })
}

/// Exports a view as a legacy DLPack tensor. The legacy ABI cannot mark a
/// tensor read-only, so a read-only view is refused under DLV_COPY_NEVER and
/// exported as a writeable copy otherwise. Ownership and statuses as
/// `dlv_tensor_to_dlpack`.
///
/// # Safety
/// Every pointer argument is NULL or valid as this comment and the
/// header's preamble describe (the C caller's contract).
#[unsafe(no_mangle)]
pub unsafe extern "C-unwind" fn dlv_tensor_to_dlpack_legacy(
    t: *const dlv_tensor,
    opts: *const dlv_export_options,
    out: *mut *mut DLManagedTensor,
) -> dlv_status {
    ffi_call(|| {
        // SAFETY: the C caller passes a writable out-pointer or NULL.
        let out = unsafe { out_param(out, "out") }?;
        // SAFETY: the C caller passes a live handle or NULL.
        let t = unsafe { tensor_ref(t, "t") }?;
        out.put(dlpack::export::to_legacy(t, &export_options(opts)?)?.as_ptr());
        Ok(())
    })
}
