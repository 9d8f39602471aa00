//! The CUDA driver API, loaded at run time: `libcuda.so.1` (or the library
//! named by `DLVIEW_CUDA_DRIVER`, a testing hook) is opened with `dlopen`
//! once per process, the few entry points dlview uses are resolved, and
//! `cuInit` runs. Nothing is linked, so the library builds and runs on
//! machines without CUDA; every operation then fails with
//! `DEVICE_UNAVAILABLE` and the reason.
//!
//! This module owns the raw function pointers, the error translation and
//! the primary contexts; it knows nothing about tensors.

use crate::error::{Error, Result};
use std::ffi::{CStr, c_char, c_int, c_uint, c_void};
use std::sync::{Mutex, OnceLock};

pub type CUresult = c_int;
pub type CUdevice = c_int;
pub type CUcontext = *mut c_void;
pub type CUdeviceptr = u64;
pub type CUstream = *mut c_void;
pub type CUevent = *mut c_void;

pub const CUDA_SUCCESS: CUresult = 0;
pub const CUDA_ERROR_OUT_OF_MEMORY: CUresult = 2;
/// `CU_EVENT_DISABLE_TIMING`: events used only for ordering.
pub const CU_EVENT_DISABLE_TIMING: c_uint = 0x2;
/// `CU_MEM_ATTACH_GLOBAL` for `cuMemAllocManaged`.
pub const CU_MEM_ATTACH_GLOBAL: c_uint = 0x1;
/// `CU_POINTER_ATTRIBUTE_DEVICE_ORDINAL`.
pub const CU_POINTER_ATTRIBUTE_DEVICE_ORDINAL: c_int = 9;
/// `CUmemorytype` values of `CUDA_MEMCPY2D`.
pub const CU_MEMORYTYPE_HOST: c_uint = 1;
pub const CU_MEMORYTYPE_DEVICE: c_uint = 2;

/// `CUDA_MEMCPY2D` (the `_v2` layout, current since CUDA 3.2).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct Memcpy2D {
    pub src_x_in_bytes: usize,
    pub src_y: usize,
    pub src_memory_type: c_uint,
    pub src_host: *const c_void,
    pub src_device: CUdeviceptr,
    pub src_array: *mut c_void,
    pub src_pitch: usize,
    pub dst_x_in_bytes: usize,
    pub dst_y: usize,
    pub dst_memory_type: c_uint,
    pub dst_host: *mut c_void,
    pub dst_device: CUdeviceptr,
    pub dst_array: *mut c_void,
    pub dst_pitch: usize,
    pub width_in_bytes: usize,
    pub height: usize,
}

/// The driver entry points dlview calls, with the C signatures of `cuda.h`
/// (the `_v2` names are what the `cuda.h` macros expand to).
pub struct Driver {
    pub init: unsafe extern "C" fn(c_uint) -> CUresult,
    pub device_get_count: unsafe extern "C" fn(*mut c_int) -> CUresult,
    pub device_get: unsafe extern "C" fn(*mut CUdevice, c_int) -> CUresult,
    pub primary_ctx_retain: unsafe extern "C" fn(*mut CUcontext, CUdevice) -> CUresult,
    /// Resolved so a driver without it is refused early; dlview keeps its
    /// primary contexts retained for the life of the process, as the
    /// runtime API does.
    pub primary_ctx_release: unsafe extern "C" fn(CUdevice) -> CUresult,
    pub ctx_push_current: unsafe extern "C" fn(CUcontext) -> CUresult,
    pub ctx_pop_current: unsafe extern "C" fn(*mut CUcontext) -> CUresult,
    pub mem_alloc: unsafe extern "C" fn(*mut CUdeviceptr, usize) -> CUresult,
    pub mem_free: unsafe extern "C" fn(CUdeviceptr) -> CUresult,
    pub mem_alloc_host: unsafe extern "C" fn(*mut *mut c_void, usize) -> CUresult,
    pub mem_free_host: unsafe extern "C" fn(*mut c_void) -> CUresult,
    pub mem_alloc_managed: unsafe extern "C" fn(*mut CUdeviceptr, usize, c_uint) -> CUresult,
    pub mem_get_info: unsafe extern "C" fn(*mut usize, *mut usize) -> CUresult,
    pub memcpy_htod: unsafe extern "C" fn(CUdeviceptr, *const c_void, usize) -> CUresult,
    pub memcpy_dtoh: unsafe extern "C" fn(*mut c_void, CUdeviceptr, usize) -> CUresult,
    pub memcpy_dtod: unsafe extern "C" fn(CUdeviceptr, CUdeviceptr, usize) -> CUresult,
    pub memcpy_2d: unsafe extern "C" fn(*const Memcpy2D) -> CUresult,
    pub memset_d8: unsafe extern "C" fn(CUdeviceptr, u8, usize) -> CUresult,
    pub stream_synchronize: unsafe extern "C" fn(CUstream) -> CUresult,
    pub stream_wait_event: unsafe extern "C" fn(CUstream, CUevent, c_uint) -> CUresult,
    pub event_create: unsafe extern "C" fn(*mut CUevent, c_uint) -> CUresult,
    pub event_record: unsafe extern "C" fn(CUevent, CUstream) -> CUresult,
    pub event_destroy: unsafe extern "C" fn(CUevent) -> CUresult,
    pub pointer_get_attribute: unsafe extern "C" fn(*mut c_void, c_int, CUdeviceptr) -> CUresult,
    pub get_error_name: unsafe extern "C" fn(CUresult, *mut *const c_char) -> CUresult,
    pub get_error_string: unsafe extern "C" fn(CUresult, *mut *const c_char) -> CUresult,
    /// Devices `cuDeviceGetCount` reported after `cuInit`.
    pub device_count: i32,
    /// The library that was opened, for messages.
    pub path: String,
    /// Retained primary contexts, by ordinal (as addresses: see `primary`).
    contexts: Mutex<Vec<Option<usize>>>,
}

// SAFETY: the function pointers are plain code addresses, callable from any
// thread (the driver API is thread-safe); the contexts sit behind a mutex.
unsafe impl Send for Driver {}
// SAFETY: see `Send`.
unsafe impl Sync for Driver {}

/// The environment variable naming another driver library (testing hook:
/// `tests/fakecuda/` builds a host-memory stand-in).
pub const DRIVER_ENV: &str = "DLVIEW_CUDA_DRIVER";

static DRIVER: OnceLock<std::result::Result<Driver, String>> = OnceLock::new();

/// The loaded and initialised driver, or why there is none (decided once
/// per process: the first CUDA operation pays for the `dlopen`).
pub fn driver() -> Result<&'static Driver> {
    DRIVER
        .get_or_init(load)
        .as_ref()
        .map_err(|why| Error::DeviceUnavailable(why.clone()))
}

/// Whether a driver with at least one device is loaded (loading it if
/// that has not been tried yet).
pub fn available() -> bool {
    driver().is_ok_and(|d| d.device_count > 0)
}

#[cfg(not(feature = "cuda"))]
fn load() -> std::result::Result<Driver, String> {
    Err("CUDA is unavailable: dlview was built without the cuda feature".into())
}

#[cfg(feature = "cuda")]
fn load() -> std::result::Result<Driver, String> {
    use std::ffi::CString;

    let path = std::env::var(DRIVER_ENV)
        .ok()
        .filter(|p| !p.is_empty())
        .unwrap_or_else(|| "libcuda.so.1".to_string());
    let cpath = CString::new(path.clone())
        .map_err(|_| format!("CUDA is unavailable: {DRIVER_ENV} contains a NUL byte"))?;
    // SAFETY: a NUL-terminated path; the handle is never closed, so every
    // symbol resolved from it stays valid for the life of the process.
    let handle = unsafe { libc::dlopen(cpath.as_ptr(), libc::RTLD_NOW | libc::RTLD_LOCAL) };
    if handle.is_null() {
        // SAFETY: dlerror returns NULL or a NUL-terminated message.
        let why = unsafe {
            let e = libc::dlerror();
            if e.is_null() {
                "unknown error".to_string()
            } else {
                CStr::from_ptr(e).to_string_lossy().into_owned()
            }
        };
        return Err(format!(
            "CUDA is unavailable: cannot load the CUDA driver {path} ({why})"
        ));
    }
    let sym = |names: &[&CStr]| -> std::result::Result<*mut c_void, String> {
        for name in names {
            // SAFETY: a live handle and a NUL-terminated name.
            let p = unsafe { libc::dlsym(handle, name.as_ptr()) };
            if !p.is_null() {
                return Ok(p);
            }
        }
        Err(format!(
            "CUDA is unavailable: the driver {path} has no {}",
            names[0].to_string_lossy()
        ))
    };
    macro_rules! resolve {
        ($($name:literal),+) => {{
            let p = sym(&[$($name),+])?;
            // SAFETY: the field's type is the C signature of this entry
            // point in cuda.h, and `p` is its non-NULL address.
            unsafe { function_at(p) }
        }};
    }
    let mut driver = Driver {
        init: resolve!(c"cuInit"),
        device_get_count: resolve!(c"cuDeviceGetCount"),
        device_get: resolve!(c"cuDeviceGet"),
        primary_ctx_retain: resolve!(c"cuDevicePrimaryCtxRetain"),
        primary_ctx_release: resolve!(
            c"cuDevicePrimaryCtxRelease_v2",
            c"cuDevicePrimaryCtxRelease"
        ),
        ctx_push_current: resolve!(c"cuCtxPushCurrent_v2"),
        ctx_pop_current: resolve!(c"cuCtxPopCurrent_v2"),
        mem_alloc: resolve!(c"cuMemAlloc_v2"),
        mem_free: resolve!(c"cuMemFree_v2"),
        mem_alloc_host: resolve!(c"cuMemAllocHost_v2"),
        mem_free_host: resolve!(c"cuMemFreeHost"),
        mem_alloc_managed: resolve!(c"cuMemAllocManaged"),
        mem_get_info: resolve!(c"cuMemGetInfo_v2"),
        memcpy_htod: resolve!(c"cuMemcpyHtoD_v2"),
        memcpy_dtoh: resolve!(c"cuMemcpyDtoH_v2"),
        memcpy_dtod: resolve!(c"cuMemcpyDtoD_v2"),
        memcpy_2d: resolve!(c"cuMemcpy2D_v2"),
        memset_d8: resolve!(c"cuMemsetD8_v2"),
        stream_synchronize: resolve!(c"cuStreamSynchronize"),
        stream_wait_event: resolve!(c"cuStreamWaitEvent"),
        event_create: resolve!(c"cuEventCreate"),
        event_record: resolve!(c"cuEventRecord"),
        event_destroy: resolve!(c"cuEventDestroy_v2", c"cuEventDestroy"),
        pointer_get_attribute: resolve!(c"cuPointerGetAttribute"),
        get_error_name: resolve!(c"cuGetErrorName"),
        get_error_string: resolve!(c"cuGetErrorString"),
        device_count: 0,
        path: path.clone(),
        contexts: Mutex::new(Vec::new()),
    };
    // SAFETY: cuInit takes flags (must be 0) and no pointers.
    let r = unsafe { (driver.init)(0) };
    if r != CUDA_SUCCESS {
        return Err(format!(
            "CUDA is unavailable: cuInit failed with {} (driver {path})",
            driver.describe(r)
        ));
    }
    let mut count: c_int = 0;
    // SAFETY: `count` is a valid out-pointer.
    let r = unsafe { (driver.device_get_count)(&mut count) };
    if r != CUDA_SUCCESS {
        return Err(format!(
            "CUDA is unavailable: cuDeviceGetCount failed with {}",
            driver.describe(r)
        ));
    }
    driver.device_count = count.max(0);
    driver.contexts = Mutex::new(vec![None; driver.device_count as usize]);
    Ok(driver)
}

/// A code address as a function pointer of type `F`.
///
/// # Safety
/// `F` must be an `extern "C"` function pointer type matching the C
/// declaration of the function at `p`, a non-NULL address.
#[cfg(feature = "cuda")]
unsafe fn function_at<F: Copy>(p: *mut c_void) -> F {
    const { assert!(size_of::<F>() == size_of::<*mut c_void>()) };
    // SAFETY: same size, and a valid function address of type `F` by the
    // contract.
    unsafe { std::mem::transmute_copy::<*mut c_void, F>(&p) }
}

impl Driver {
    /// `NAME (description)` of a CUDA error code.
    pub fn describe(&self, r: CUresult) -> String {
        let mut name: *const c_char = std::ptr::null();
        let mut text: *const c_char = std::ptr::null();
        // SAFETY: valid out-pointers; the driver returns static strings
        // (or leaves NULL for an unknown code).
        unsafe {
            (self.get_error_name)(r, &mut name);
            (self.get_error_string)(r, &mut text);
        }
        let show = |p: *const c_char| {
            // SAFETY: NULL or a static NUL-terminated string from the driver.
            (!p.is_null()).then(|| unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned())
        };
        match (show(name), show(text)) {
            (Some(n), Some(t)) => format!("{n} ({t})"),
            (Some(n), None) => n,
            _ => format!("CUDA error {r}"),
        }
    }

    /// `Ok` for `CUDA_SUCCESS`; otherwise the error, naming `op` and the
    /// CUDA error. Out of memory is `OUT_OF_MEMORY`; everything else is
    /// `DEVICE_UNAVAILABLE`.
    pub fn check(&self, r: CUresult, op: impl FnOnce() -> String) -> Result<()> {
        if r == CUDA_SUCCESS {
            return Ok(());
        }
        let message = format!("{} failed: {}", op(), self.describe(r));
        Err(if r == CUDA_ERROR_OUT_OF_MEMORY {
            Error::OutOfMemory(message)
        } else {
            Error::DeviceUnavailable(message)
        })
    }

    /// Fails unless `ordinal` names a device of this machine.
    pub fn require_device(&self, ordinal: i32) -> Result<()> {
        if (0..self.device_count).contains(&ordinal) {
            Ok(())
        } else if self.device_count == 0 {
            Err(Error::DeviceUnavailable(format!(
                "CUDA is unavailable: the driver {} reports no CUDA device",
                self.path
            )))
        } else {
            Err(Error::DeviceUnavailable(format!(
                "CUDA device {ordinal} does not exist (this machine has {} CUDA device{})",
                self.device_count,
                if self.device_count == 1 { "" } else { "s" }
            )))
        }
    }

    /// The primary context of device `ordinal` (the one PyTorch and the
    /// runtime API use), retained on first use and kept for the process.
    fn primary(&self, ordinal: i32) -> Result<CUcontext> {
        self.require_device(ordinal)?;
        let mut contexts = self.contexts.lock().unwrap_or_else(|p| p.into_inner());
        let slot = &mut contexts[ordinal as usize];
        if let Some(ctx) = *slot {
            return Ok(ctx as CUcontext);
        }
        let mut dev: CUdevice = 0;
        // SAFETY: a valid out-pointer and an ordinal below the device count.
        self.check(unsafe { (self.device_get)(&mut dev, ordinal) }, || {
            format!("cuDeviceGet({ordinal})")
        })?;
        let mut ctx: CUcontext = std::ptr::null_mut();
        // SAFETY: a valid out-pointer and a device handle from cuDeviceGet.
        self.check(unsafe { (self.primary_ctx_retain)(&mut ctx, dev) }, || {
            format!("cuDevicePrimaryCtxRetain(cuda:{ordinal})")
        })?;
        *slot = Some(ctx as usize);
        Ok(ctx)
    }

    /// Makes device `ordinal`'s primary context current on this thread
    /// until the guard drops (push/pop, so a caller's own current context
    /// is left as it was).
    pub fn enter(&self, ordinal: i32) -> Result<Current<'_>> {
        let ctx = self.primary(ordinal)?;
        // SAFETY: a context retained by `primary` and never released.
        self.check(unsafe { (self.ctx_push_current)(ctx) }, || {
            format!("cuCtxPushCurrent(cuda:{ordinal})")
        })?;
        Ok(Current {
            driver: self,
            _not_send: std::marker::PhantomData,
        })
    }
}

/// A pushed context; popped on drop.
pub struct Current<'a> {
    driver: &'a Driver,
    /// The context stack is per thread: the guard must not move threads.
    _not_send: std::marker::PhantomData<*const ()>,
}

impl Drop for Current<'_> {
    fn drop(&mut self) {
        let mut ctx: CUcontext = std::ptr::null_mut();
        // SAFETY: `enter` pushed a context on this thread (the guard is not
        // Send); popping it restores the previous one.
        unsafe { (self.driver.ctx_pop_current)(&mut ctx) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Built without the feature, no library is ever opened (even one named
    /// by the testing hook) and every CUDA call says why.
    #[test]
    #[cfg(not(feature = "cuda"))]
    fn without_the_feature_cuda_is_unavailable() {
        let err = driver().err().expect("no driver without the cuda feature");
        assert_eq!(
            err,
            Error::DeviceUnavailable(
                "CUDA is unavailable: dlview was built without the cuda feature".into()
            )
        );
        assert!(!available());
    }

    #[test]
    fn memcpy2d_has_the_c_layout() {
        // CUDA_MEMCPY2D on LP64: 16 eight-byte slots (the u32 memory types
        // are padded).
        assert_eq!(size_of::<Memcpy2D>(), 128);
        assert_eq!(std::mem::offset_of!(Memcpy2D, src_host), 24);
        assert_eq!(std::mem::offset_of!(Memcpy2D, dst_pitch), 104);
        assert_eq!(std::mem::offset_of!(Memcpy2D, height), 120);
    }
}
