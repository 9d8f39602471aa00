//! CUDA tensors (cargo feature `cuda`, on by default): allocations on a
//! device (through its primary context, the one PyTorch uses), in pinned
//! host memory and in managed memory; copies between host and device
//! memory in any direction; and the producer half of the stream rules of
//! docs/rules.md §6.
//!
//! The driver is loaded at run time (see [`driver`](mod@driver)); without it, or with
//! the feature off, every operation here fails with `DEVICE_UNAVAILABLE`
//! and says why. dlview queues all its device work on the legacy default
//! stream with the driver's synchronous calls, so a consumer that uses
//! another stream is ordered after it by [`stream_wait`].
//!
//! This module owns device memory and the bytes moved across the bus; the
//! host side of a copy (re-laying out strided elements) is `crate::copy`'s.

pub mod driver;
mod memory;
mod transfer;

pub use driver::{DRIVER_ENV, available};
pub use memory::allocate;
pub use transfer::to_device;
pub(crate) use transfer::update_through_host;

use crate::device::{Device, kind};
use crate::error::{Error, Result, invalid};
use driver::{CU_EVENT_DISABLE_TIMING, CUevent, CUstream, driver};

/// How many CUDA devices the driver reports (0 when it loaded but found
/// none). `DEVICE_UNAVAILABLE` when there is no usable driver.
pub fn device_count() -> Result<i32> {
    Ok(driver()?.device_count)
}

/// Device types whose memory the CUDA driver manages: device memory,
/// pinned host memory and managed memory.
pub fn is_cuda_family(device: Device) -> bool {
    matches!(
        device.device_type,
        kind::CUDA | kind::CUDA_HOST | kind::CUDA_MANAGED
    )
}

/// The DLPack / Array API stream encoding, checked: `-1` no
/// synchronisation, `1` the legacy default stream, `2` the per-thread
/// default stream, anything above a `CUstream` handle. `0` is ambiguous
/// (it could mean any of the defaults) and refused.
pub fn check_stream(device: Device, stream: i64) -> Result<()> {
    if stream == 0 {
        return Err(invalid!(
            "stream 0 is ambiguous for {device} (DLPack: it could mean None, 1 or 2); \
             pass 1 (legacy default stream), 2 (per-thread default stream), a stream handle, or -1 (no synchronisation)"
        ));
    }
    if stream < -1 {
        return Err(invalid!(
            "stream {stream} is not a CUDA stream (DLPack: -1, 1, 2 or a stream handle)"
        ));
    }
    if !is_cuda_family(device) && stream != -1 {
        return Err(invalid!(
            "a tensor on {device} has no streams: stream must be None (-1 in C), not {stream}"
        ));
    }
    Ok(())
}

/// The producer's half of a DLPack exchange on `device`: makes the
/// consumer's `stream` wait for every operation dlview has queued there
/// (records an event on dlview's stream, the legacy default one, and has
/// `stream` wait for it; the host does not block). Streams as in
/// [`check_stream`]; `-1` and `1` (dlview's own stream) need nothing.
///
/// Without a usable driver dlview has queued no device work, so there is
/// nothing to order and this succeeds (device pass-through keeps working).
pub fn stream_wait(device: Device, stream: i64) -> Result<()> {
    check_stream(device, stream)?;
    if stream == -1 || stream == 1 || !available() {
        return Ok(());
    }
    let d = driver()?;
    let _ctx = d.enter(device.device_id)?;
    let mut event: CUevent = std::ptr::null_mut();
    // SAFETY: a valid out-pointer; a context is current.
    d.check(
        unsafe { (d.event_create)(&mut event, CU_EVENT_DISABLE_TIMING) },
        || format!("cuEventCreate on {device}"),
    )?;
    let handle = stream as usize as CUstream;
    // SAFETY: `event` was just created in the current context; the NULL
    // stream is the legacy default stream dlview's calls run on; `handle`
    // is the consumer's stream (1 and 2 are the driver's own encodings of
    // the default streams, so the DLPack values pass through unchanged).
    let outcome = unsafe {
        d.check((d.event_record)(event, std::ptr::null_mut()), || {
            format!("cuEventRecord on {device}")
        })
        .and_then(|()| {
            d.check((d.stream_wait_event)(handle, event, 0), || {
                format!("cuStreamWaitEvent(stream {stream:#x}) on {device}")
            })
        })
    };
    // SAFETY: the event is ours; destroying it after the wait was enqueued
    // is allowed (the wait still completes).
    unsafe { (d.event_destroy)(event) };
    outcome
}

/// Blocks until every operation dlview queued on CUDA device `ordinal`
/// has finished (`cuStreamSynchronize` of the legacy default stream).
pub fn synchronize(ordinal: i32) -> Result<()> {
    let d = driver()?;
    let _ctx = d.enter(ordinal)?;
    // SAFETY: the NULL stream in a current context.
    d.check(
        unsafe { (d.stream_synchronize)(std::ptr::null_mut()) },
        || format!("cuStreamSynchronize on cuda:{ordinal}"),
    )
}

/// `(free, total)` bytes of device `ordinal` (`cuMemGetInfo`).
pub fn mem_get_info(ordinal: i32) -> Result<(u64, u64)> {
    let d = driver()?;
    let _ctx = d.enter(ordinal)?;
    let (mut free, mut total) = (0usize, 0usize);
    // SAFETY: valid out-pointers; a context is current.
    d.check(unsafe { (d.mem_get_info)(&mut free, &mut total) }, || {
        format!("cuMemGetInfo on cuda:{ordinal}")
    })?;
    Ok((free as u64, total as u64))
}

/// The error for a device type dlview cannot allocate on or copy to/from.
pub(crate) fn unsupported(device: Device, what: &str) -> Error {
    Error::UnsupportedDevice(format!(
        "{what} is not supported on {device}: dlview handles cpu, cuda, cuda_host and cuda_managed memory"
    ))
}
