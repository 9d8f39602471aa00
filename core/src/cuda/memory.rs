//! Memory the CUDA driver allocates: device memory (`cuMemAlloc`), pinned
//! host memory (`cuMemAllocHost`) and managed memory (`cuMemAllocManaged`),
//! each owned by a [`Storage`] and freed, with its device's primary context
//! current, when the last view of it dies.

use super::driver::{CU_MEM_ATTACH_GLOBAL, CUdeviceptr, driver};
use crate::device::{Device, kind};
use crate::error::Result;
use crate::storage::{Owner, Storage};
use std::ffi::c_void;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Device,
    PinnedHost,
    Managed,
}

/// One driver allocation; dropping it frees it.
struct Allocation {
    ptr: CUdeviceptr,
    kind: Kind,
    ordinal: i32,
}

impl Drop for Allocation {
    fn drop(&mut self) {
        // The driver loaded and the context existed when this was
        // allocated; should either fail now (a driver torn down at process
        // exit), leaking is the only safe choice.
        let Ok(d) = driver() else { return };
        let Ok(_ctx) = d.enter(self.ordinal) else {
            return;
        };
        // SAFETY: `ptr` came from the matching allocation call and is
        // freed once (an `Allocation` is dropped once).
        unsafe {
            match self.kind {
                Kind::Device | Kind::Managed => (d.mem_free)(self.ptr),
                Kind::PinnedHost => (d.mem_free_host)(self.ptr as usize as *mut c_void),
            };
        }
    }
}

/// A new storage of `nbytes` on `device`: `cuda:N` (device memory of
/// device N, contents unspecified unless `zeroed`), `cuda_host:N` (pinned
/// host memory) or `cuda_managed:N`. Host-readable memory is always zeroed,
/// since safe code may read it. Zero bytes allocate nothing but still need
/// the driver and the device.
pub fn allocate(device: Device, nbytes: usize, zeroed: bool) -> Result<Storage> {
    let kind = match device.device_type {
        kind::CUDA => Kind::Device,
        kind::CUDA_HOST => Kind::PinnedHost,
        kind::CUDA_MANAGED => Kind::Managed,
        _ => return Err(super::unsupported(device, "allocating CUDA memory")),
    };
    let d = driver()?;
    let ordinal = device.device_id;
    let _ctx = d.enter(ordinal)?;
    if nbytes == 0 {
        // SAFETY: no memory: a NULL base of known length 0, nothing to release.
        return Ok(unsafe {
            Storage::from_foreign(
                std::ptr::null_mut(),
                Some(0),
                device,
                false,
                true,
                Owner::Callback {
                    release: None,
                    ctx: std::ptr::null_mut(),
                },
            )
        });
    }
    let what = || format!("allocating {nbytes} bytes on {device}");
    let ptr: CUdeviceptr = match kind {
        Kind::Device => {
            let mut p: CUdeviceptr = 0;
            // SAFETY: a valid out-pointer; a context is current.
            d.check(unsafe { (d.mem_alloc)(&mut p, nbytes) }, || {
                format!("cuMemAlloc ({})", what())
            })?;
            p
        }
        Kind::PinnedHost => {
            let mut p: *mut c_void = std::ptr::null_mut();
            // SAFETY: as above.
            d.check(unsafe { (d.mem_alloc_host)(&mut p, nbytes) }, || {
                format!("cuMemAllocHost ({})", what())
            })?;
            p as usize as CUdeviceptr
        }
        Kind::Managed => {
            let mut p: CUdeviceptr = 0;
            // SAFETY: as above.
            d.check(
                unsafe { (d.mem_alloc_managed)(&mut p, nbytes, CU_MEM_ATTACH_GLOBAL) },
                || format!("cuMemAllocManaged ({})", what()),
            )?;
            p
        }
    };
    // From here on the allocation frees itself if anything fails.
    let allocation = Allocation { ptr, kind, ordinal };
    if kind == Kind::Device {
        if zeroed {
            // SAFETY: `nbytes` bytes were just allocated at `ptr`. Queued on
            // the legacy default stream, before anything dlview does next.
            d.check(unsafe { (d.memset_d8)(ptr, 0, nbytes) }, || {
                format!("cuMemsetD8 ({})", what())
            })?;
        }
    } else {
        // SAFETY: host-accessible memory of `nbytes` bytes, ours alone.
        unsafe { std::ptr::write_bytes(ptr as usize as *mut u8, 0, nbytes) };
    }
    // SAFETY: the allocation stays valid until the owner (which frees it)
    // is dropped with the storage.
    Ok(unsafe {
        Storage::from_foreign(
            ptr as usize as *mut u8,
            Some(nbytes),
            device,
            false,
            true,
            Owner::Foreign(Box::new(allocation)),
        )
    })
}
