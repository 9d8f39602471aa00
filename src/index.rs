//! `dlv_tensor_index`, `dlv_tensor_index_put`: the C face of `dlview_core::index`
//! (NumPy's `t[key]` and `t[key] = value`). A key is an array of
//! `dlv_index` items; each is converted to an `Index` and the core decides
//! everything else.
#![allow(non_camel_case_types)]

use crate::boundary::*;
use crate::tensor::derive;
use crate::types::*;
use dlview_core::error::Result;
use dlview_core::index::Index;

/// `dlv_index.kind`: an integer `i`; drops the axis, negative counts from the end.
pub const DLV_INDEX_INT: u32 = 0;
/// `dlv_index.kind`: a slice `start:stop:step` (`DLV_NONE` for an omitted
/// bound or step; a step of 0 is an error).
pub const DLV_INDEX_SLICE: u32 = 1;
/// `dlv_index.kind`: a new axis of size 1 (Python's `None`, `np.newaxis`).
pub const DLV_INDEX_NEW_AXIS: u32 = 2;
/// `dlv_index.kind`: `...` (as many full slices as the other items leave).
pub const DLV_INDEX_ELLIPSIS: u32 = 3;
/// `dlv_index.kind`: an integer or bool tensor `tensor` (advanced
/// indexing; a 0-d bool is NumPy's `t[True]` / `t[False]`, a 0-d integer
/// an integer).
pub const DLV_INDEX_TENSOR: u32 = 4;

/// One item of an indexing key. `kind` is one of the `DLV_INDEX_*`
/// constants and says which other fields are read: `i` for INT; `start`,
/// `stop`, `step` for SLICE; `tensor` (borrowed for the call) for TENSOR.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct dlv_index {
    pub kind: u32,
    pub i: i64,
    pub start: i64,
    pub stop: i64,
    pub step: i64,
    pub tensor: *const dlv_tensor,
}

/// Converts a C key (index tensors are cloned: another handle to the same
/// view, so no borrow of the caller's handles outlives the conversion).
///
/// # Safety
/// `key` must be NULL or valid for reading `nkey` items whose `tensor`
/// fields are NULL or live handles.
unsafe fn key_arg(key: *const dlv_index, nkey: i32) -> Result<Vec<Index>> {
    let len = usize::try_from(nkey)
        .map_err(|_| invalid!("the number of key items must be >= 0, not {nkey}"))?;
    // SAFETY: per this function's contract.
    let items = unsafe { c_array(key, len, "key") }?;
    items
        .iter()
        .enumerate()
        .map(|(k, item)| {
            Ok(match item.kind {
                DLV_INDEX_INT => Index::Int(item.i),
                DLV_INDEX_SLICE => Index::Slice {
                    start: bound(item.start),
                    stop: bound(item.stop),
                    step: bound(item.step),
                },
                DLV_INDEX_NEW_AXIS => Index::NewAxis,
                DLV_INDEX_ELLIPSIS => Index::Ellipsis,
                DLV_INDEX_TENSOR => {
                    // SAFETY: per this function's contract.
                    let t = unsafe { tensor_ref(item.tensor, "key[].tensor") }?;
                    Index::Tensor(t.clone())
                }
                other => {
                    return Err(invalid!(
                        "key item {k} has kind {other}, which is not DLV_INDEX_INT (0), DLV_INDEX_SLICE (1), \
                         DLV_INDEX_NEW_AXIS (2), DLV_INDEX_ELLIPSIS (3) or DLV_INDEX_TENSOR (4)"
                    ));
                }
            })
        })
        .collect()
}

/// NumPy's `t[key]` for a key of `nkey` items. A key of integers, slices,
/// new axes and ellipses gives a view (sharing memory, writeable if `t`
/// is); any `DLV_INDEX_TENSOR` item gives a new C-contiguous tensor, with
/// NumPy's rules: index tensors (any integer dtype, or bool masks) broadcast
/// together; when the advanced items (integers included) are adjacent their
/// result axes replace them in place, else they go first. `key` may be
/// NULL when `nkey` is 0 (a view of all of `t`). On success `*out` is a new
/// handle owned by the caller; index tensors are only borrowed.
/// Statuses: NULL_ARGUMENT (t, out, key with nkey > 0, a TENSOR item's
/// tensor), INVALID_ARGUMENT (nkey < 0, unknown kind, slice step 0),
/// INDEX (an index out of range: "index 5 is out of bounds for axis 1 with
/// size 3"; too many indices; more than one ellipsis; a mask whose shape
/// does not match; index tensors that do not broadcast; an index tensor
/// that is neither integer nor bool), UNSUPPORTED_DTYPE (packed sub-byte
/// tensors), UNSUPPORTED_DEVICE (advanced indexing of memory the host
/// cannot read without a CUDA driver; with one, a CUDA tensor is gathered
/// on the host and the result is on its device; index tensors must be
/// host memory), OUT_OF_MEMORY.
///
/// # Safety
/// Every pointer argument is NULL or valid as this comment and the
/// header's preamble describe (the C caller's contract).
#[unsafe(no_mangle)]
pub unsafe extern "C-unwind" fn dlv_tensor_index(
    t: *const dlv_tensor,
    key: *const dlv_index,
    nkey: i32,
    out: *mut *mut dlv_tensor,
) -> dlv_status {
    // SAFETY: arguments are forwarded under this function's contract.
    unsafe {
        derive(t, out, |t| {
            // SAFETY: the C caller passes `nkey` readable items or NULL.
            let key = key_arg(key, nkey)?;
            t.index(&key)
        })
    }
}

/// NumPy's `t[key] = value`: `value` is broadcast to the shape `t[key]`
/// would have and cast to `t`'s dtype (NumPy's unsafe casting; complex to
/// real refused); repeated indices: the last write wins. `value` may share
/// memory with `t` (it is read before anything is written). `key` may be
/// NULL when `nkey` is 0 (assign to all of `t`). Nothing is written on
/// failure. Statuses: those of `dlv_tensor_index` (NULL_ARGUMENT also for
/// value), READ_ONLY (`t` is not writeable), INVALID_ARGUMENT (value does
/// not broadcast; a NaN or infinite float scalar into an integer tensor:
/// "cannot convert float NaN to integer").
///
/// # Safety
/// Every pointer argument is NULL or valid as this comment and the
/// header's preamble describe (the C caller's contract).
#[unsafe(no_mangle)]
pub unsafe extern "C-unwind" fn dlv_tensor_index_put(
    t: *mut dlv_tensor,
    key: *const dlv_index,
    nkey: i32,
    value: *const dlv_tensor,
) -> dlv_status {
    ffi_call(|| {
        // All borrowed shared: `value` or a key tensor may be `t`'s own
        // handle, and the write goes through the unsafe `_shared` entry.
        // SAFETY: the C caller passes a live handle or NULL.
        let t = unsafe { tensor_ref(t, "t") }?;
        // SAFETY: the C caller passes a live handle or NULL.
        let value = unsafe { tensor_ref(value, "value") }?;
        // SAFETY: the C caller passes `nkey` readable items or NULL.
        let key = unsafe { key_arg(key, nkey) }?;
        // SAFETY: RULES §9: the C caller serialises the use of the memory
        // it shares between handles (no other thread reads or writes `t`'s
        // elements during this call).
        unsafe { t.index_put_shared(&key, value) }
    })
}
