//! `dlv_tensor_copy`, `_astype`, `_copy_into`, `_take`: the C face of
//! `dlview_core::copy`. Each converts its arguments and calls the `Tensor` method.

use crate::boundary::*;
use crate::tensor::derive;
use crate::types::*;
use dlpark::ffi::{DLDataType, DLDevice};
use dlview_core::device::Device;
use dlview_core::dtype::DType;

/// A new writeable tensor with the same elements in `order` (C, F, or K
/// to keep the source's axis order), on the same device: host memory is
/// copied on the host, CUDA device memory on its device when a CUDA driver
/// is available. On success `*out` is a new handle owned by the caller.
/// Statuses: NULL_ARGUMENT (t, out), INVALID_ARGUMENT (order),
/// UNSUPPORTED_DTYPE (packed sub-byte types), UNSUPPORTED_DEVICE (memory
/// the host cannot read, without a runtime for its device),
/// DEVICE_UNAVAILABLE (a CUDA failure), OUT_OF_MEMORY.
///
/// # Safety
/// Every pointer argument is NULL or valid as this comment and the
/// header's preamble describe (the C caller's contract).
#[unsafe(no_mangle)]
pub unsafe extern "C-unwind" fn dlv_tensor_copy(
    t: *const dlv_tensor,
    order: dlv_order,
    out: *mut *mut dlv_tensor,
) -> dlv_status {
    // SAFETY: arguments are forwarded under this function's contract.
    unsafe { derive(t, out, |t| t.copy(crate::types::order(order)?)) }
}

/// A new writeable tensor on `t`'s device with the elements cast to `dtype` (NumPy's
/// unsafe casting: float to int truncates toward zero and saturates, NaN to
/// int is 0, to bool is `!= 0`; float8 converts through double), in `order`.
/// Complex to real is refused (UNSUPPORTED_DTYPE) rather than silently
/// dropping the imaginary part; complex to bool is allowed. CUDA device
/// memory is cast on the host (copied there and back) when a driver is there.
/// Statuses: as `dlv_tensor_copy`, plus UNSUPPORTED_DTYPE (unknown dtype,
/// complex to real).
///
/// # Safety
/// Every pointer argument is NULL or valid as this comment and the
/// header's preamble describe (the C caller's contract).
#[unsafe(no_mangle)]
pub unsafe extern "C-unwind" fn dlv_tensor_astype(
    t: *const dlv_tensor,
    dtype: DLDataType,
    order: dlv_order,
    out: *mut *mut dlv_tensor,
) -> dlv_status {
    // SAFETY: arguments are forwarded under this function's contract.
    unsafe {
        derive(t, out, |t| {
            t.astype(DType::from_dl(dtype)?, crate::types::order(order)?)
        })
    }
}

/// Assignment `dst[...] = src`: broadcasts `src` to `dst`'s shape and casts
/// to `dst`'s dtype (as `dlv_tensor_astype`). Correct when the two share
/// memory (e.g. `a[1:] = a[:-1]`): `src` is then read through a temporary
/// copy. `dst` and `src` may be the same handle. Neither handle changes;
/// only `dst`'s elements are written, and nothing is written on failure.
/// Statuses: NULL_ARGUMENT (dst, src), READ_ONLY ("assignment destination is
/// read-only"), INVALID_ARGUMENT (shapes do not broadcast),
/// UNSUPPORTED_DTYPE (sub-byte types, complex to real), UNSUPPORTED_DEVICE
/// (memory the host cannot reach and no CUDA driver for it; with a driver,
/// CUDA device memory on either side is staged through the host),
/// DEVICE_UNAVAILABLE (a driver failure), OUT_OF_MEMORY (the temporary of
/// an overlapping copy).
///
/// # Safety
/// Every pointer argument is NULL or valid as this comment and the
/// header's preamble describe (the C caller's contract).
#[unsafe(no_mangle)]
pub unsafe extern "C-unwind" fn dlv_tensor_copy_into(
    dst: *mut dlv_tensor,
    src: *const dlv_tensor,
) -> dlv_status {
    ffi_call(|| {
        // Both borrowed shared: they may be one handle, and the write goes
        // through the unsafe `_shared` entry, which needs no `&mut`.
        // SAFETY: the C caller passes a live handle or NULL.
        let dst = unsafe { tensor_ref(dst, "dst") }?;
        // SAFETY: the C caller passes a live handle or NULL.
        let src = unsafe { tensor_ref(src, "src") }?;
        // SAFETY: RULES §9: the C caller serialises the use of the memory
        // it shares between handles (no other thread reads or writes `dst`'s
        // elements during this call).
        unsafe { src.copy_into_shared(dst) }
    })
}

/// Gather along `axis` (negative counts from the end): a new C-contiguous
/// tensor on `t`'s device whose `axis` has `n` entries, entry k being `t`'s entry
/// `indices[k]`; negative indices count from the end (NumPy's `take`).
/// `indices` may be NULL when `n` is 0. Every index is checked before
/// anything is allocated. On success `*out` is a new handle owned by the
/// caller. Statuses: NULL_ARGUMENT (t, out, indices with n > 0),
/// INVALID_ARGUMENT (axis out of range, n < 0), INDEX (an index out of
/// range: "index 7 is out of bounds for axis 0 with size 5"),
/// UNSUPPORTED_DTYPE (sub-byte types), UNSUPPORTED_DEVICE (memory the host
/// cannot reach and no CUDA driver for it; CUDA memory is gathered on the
/// host), OUT_OF_MEMORY.
///
/// # Safety
/// Every pointer argument is NULL or valid as this comment and the
/// header's preamble describe (the C caller's contract).
#[unsafe(no_mangle)]
pub unsafe extern "C-unwind" fn dlv_tensor_take(
    t: *const dlv_tensor,
    axis: i32,
    indices: *const i64,
    n: i64,
    out: *mut *mut dlv_tensor,
) -> dlv_status {
    // SAFETY: arguments are forwarded under this function's contract.
    unsafe {
        derive(t, out, |t| {
            let len = usize::try_from(n)
                .map_err(|_| invalid!("the number of indices must be >= 0, not {n}"))?;
            // SAFETY: the C caller passes `n` readable indices or NULL.
            let indices = c_array(indices, len, "indices")?;
            t.take(axis.into(), indices)
        })
    }
}

/// A new writeable tensor holding `t`'s elements on `device`, compact in
/// `order` (C, F, or K to keep the source's axis order): host to CUDA
/// device, device to host, device to device, or into pinned
/// (`kDLCUDAHost`) or managed (`kDLCUDAManaged`) host memory, through the
/// CUDA driver; `kDLCPU` to `kDLCPU` is a plain copy and needs no driver.
/// Strided sources are compacted on the host before a host-to-device copy;
/// strided device sources are read with 2-D copies, or through the host.
/// The copy is complete, as seen from the host and from dlview's stream
/// (the legacy default stream), when this returns; other streams are
/// ordered after it with `dlv_cuda_stream_wait`.
/// On success `*out` is a new handle owned by the caller.
/// Statuses: NULL_ARGUMENT (t, out), INVALID_ARGUMENT (order; a CUDA
/// tensor whose memory belongs to another device), UNSUPPORTED_DTYPE
/// (packed sub-byte types), UNSUPPORTED_DEVICE (a device other than cpu,
/// cuda, cuda_host, cuda_managed), DEVICE_UNAVAILABLE (no CUDA driver, no
/// such device, a driver failure: the message names the CUDA error and the
/// operation), OUT_OF_MEMORY.
///
/// # Safety
/// Every pointer argument is NULL or valid as this comment and the
/// header's preamble describe (the C caller's contract).
#[unsafe(no_mangle)]
pub unsafe extern "C-unwind" fn dlv_tensor_to_device(
    t: *const dlv_tensor,
    device: DLDevice,
    order: dlv_order,
    out: *mut *mut dlv_tensor,
) -> dlv_status {
    let device = Device::from_dl(device);
    // SAFETY: arguments are forwarded under this function's contract.
    unsafe { derive(t, out, |t| t.to_device(device, crate::types::order(order)?)) }
}
