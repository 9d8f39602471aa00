//! `dlv_cuda_*`: the CUDA runtime state dlview sees (the driver is loaded
//! at run time, once per process) and the producer's half of the DLPack
//! stream rules.

use crate::boundary::*;
use crate::types::*;
use dlpark::ffi::DLDevice;
use dlview_core::cuda;
use dlview_core::device::Device;

/// The number of CUDA devices in `*out` (0 when the driver loaded but
/// found none). The driver (`libcuda.so.1`, or the library named by the
/// environment variable `DLVIEW_CUDA_DRIVER`, a testing hook) is loaded
/// and initialised by the first CUDA call of the process.
/// Statuses: NULL_ARGUMENT (out), DEVICE_UNAVAILABLE (no driver, `cuInit`
/// failed, or the library was built without the `cuda` feature; the
/// message says which).
///
/// # Safety
/// Every pointer argument is NULL or valid as this comment and the
/// header's preamble describe (the C caller's contract).
#[unsafe(no_mangle)]
pub unsafe extern "C-unwind" fn dlv_cuda_device_count(out: *mut i32) -> dlv_status {
    ffi_call(|| {
        // SAFETY: the C caller passes a writable out-pointer or NULL.
        let out = unsafe { out_param(out, "out") }?;
        out.put(cuda::device_count()?);
        Ok(())
    })
}

/// True when a CUDA driver is loaded and reports at least one device
/// (loading it on first use). Never fails.
#[unsafe(no_mangle)]
pub extern "C-unwind" fn dlv_cuda_available() -> bool {
    ffi_value(false, cuda::available)
}

/// Orders a consumer's stream after the work dlview has queued on
/// `device` (the producer's half of a DLPack exchange, docs/rules.md §6): an
/// event is recorded on dlview's stream (the legacy default stream) and
/// `stream` waits for it; the host does not block. Call it after exporting
/// a CUDA tensor, with the consumer's stream in the DLPack encoding: 1 the
/// legacy default stream and -1 "no synchronisation" (nothing to do), 2
/// the per-thread default stream, any larger value a `CUstream` handle.
/// 0 is ambiguous and refused. Devices other than cuda, cuda_host and
/// cuda_managed have no streams and accept only -1.
/// Without a CUDA driver dlview has queued no device work, so there is
/// nothing to order: valid streams then succeed without any call.
/// Statuses: INVALID_ARGUMENT (stream 0, below -1, or a stream on a device
/// without streams), DEVICE_UNAVAILABLE (no such device, a driver failure).
#[unsafe(no_mangle)]
pub extern "C-unwind" fn dlv_cuda_stream_wait(device: DLDevice, stream: i64) -> dlv_status {
    ffi_call(|| cuda::stream_wait(Device::from_dl(device), stream))
}

/// Blocks until every operation dlview queued on CUDA device `device_id`
/// has finished (`cuStreamSynchronize` of the legacy default stream).
/// Statuses: DEVICE_UNAVAILABLE (no driver, no such device, a driver failure).
#[unsafe(no_mangle)]
pub extern "C-unwind" fn dlv_cuda_synchronize(device_id: i32) -> dlv_status {
    ffi_call(|| cuda::synchronize(device_id))
}

/// Free and total memory of CUDA device `device_id` in bytes
/// (`cuMemGetInfo`), written to `*free_bytes` and `*total_bytes` only on
/// success. Statuses: NULL_ARGUMENT, DEVICE_UNAVAILABLE.
///
/// # Safety
/// Every pointer argument is NULL or valid as this comment and the
/// header's preamble describe (the C caller's contract).
#[unsafe(no_mangle)]
pub unsafe extern "C-unwind" fn dlv_cuda_mem_get_info(
    device_id: i32,
    free_bytes: *mut u64,
    total_bytes: *mut u64,
) -> dlv_status {
    ffi_call(|| {
        // SAFETY: the C caller passes writable out-pointers or NULL.
        let free_out = unsafe { out_param(free_bytes, "free_bytes") }?;
        // SAFETY: as above.
        let total_out = unsafe { out_param(total_bytes, "total_bytes") }?;
        let (free, total) = cuda::mem_get_info(device_id)?;
        free_out.put(free);
        total_out.put(total);
        Ok(())
    })
}
