//! The panic boundary, the thread-local error message, and the typed casts
//! from raw C arguments to Rust references. All `unsafe` needed to trust a C
//! pointer is here, once.

use crate::types::{dlv_status, dlv_tensor};
use dlview_core::__private::{Spare, spare_give_back, spare_take};
use dlview_core::error::{Error, Result};
use dlview_core::layout::MAX_NDIM;
use dlview_core::tensor::Tensor;
use std::cell::RefCell;
use std::ffi::{CString, c_char};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::ptr::NonNull;

thread_local! {
    static LAST_ERROR: RefCell<CString> = RefCell::new(CString::default());
}

/// What `dlv_last_error()` says when the thread's message cannot be kept:
/// the call came from a thread-exit destructor (`pthread_key_create`) that
/// runs after this thread's thread-locals were destroyed.
const NO_MESSAGE: &std::ffi::CStr =
    c"(no message: the call was made while its thread was exiting, after its thread-local state was destroyed)";

pub(crate) fn set_last_error(message: &str) {
    // Interior NULs cannot appear in a C string; replace rather than lose the message.
    let c = CString::new(message.replace('\0', "\\0")).unwrap_or_default();
    // `try_with`: a failing call from a thread-exit destructor still
    // returns its status (RULES §8), only without a message.
    let _ = LAST_ERROR.try_with(|e| {
        if let Ok(mut slot) = e.try_borrow_mut() {
            *slot = c;
        }
    });
}

/// A pointer to this thread's last error message (valid until the next
/// failing call on this thread), or a static note when the thread's
/// thread-locals are gone.
pub(crate) fn last_error_ptr() -> *const c_char {
    LAST_ERROR
        .try_with(|e| {
            e.try_borrow()
                .map(|m| m.as_ptr())
                .unwrap_or(NO_MESSAGE.as_ptr())
        })
        .unwrap_or(NO_MESSAGE.as_ptr())
}

fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic payload".into())
}

/// Runs a fallible body behind the panic boundary and turns its outcome into
/// a status, recording the message of any failure.
pub(crate) fn ffi_call(body: impl FnOnce() -> Result<()>) -> dlv_status {
    status_of(catch_unwind(AssertUnwindSafe(body)))
}

/// [`ffi_call`] for the exports that can drop the last reference to memory
/// with a foreign release callback or DLPack deleter (those that consume a
/// handle or a managed tensor: every other export runs while the caller's
/// handles keep their storages alive). The callbacks the body makes due
/// run after the `catch_unwind`, before this returns, so that a forced
/// unwind (`pthread_exit`) from one of them passes through to the thread's
/// start instead of being caught, which glibc turns into an abort (see
/// `dlview_core::__private::outside_boundary`). Every export is `extern
/// "C-unwind"` at the Rust level so that such an unwind may leave it.
pub(crate) fn ffi_call_releasing(body: impl FnOnce() -> Result<()>) -> dlv_status {
    status_of(dlview_core::__private::outside_boundary(|| {
        catch_unwind(AssertUnwindSafe(body))
    }))
}

fn status_of(outcome: std::thread::Result<Result<()>>) -> dlv_status {
    match outcome {
        Ok(Ok(())) => dlv_status::DLV_OK,
        Ok(Err(e)) => fail(&e),
        Err(payload) => fail(&Error::Panic(panic_message(payload.as_ref()))),
    }
}

/// Test support, not part of the C API (cbindgen exports only `extern "C"`
/// items, so this never reaches the header): runs a body that panics with
/// `message` behind the same boundary as every fallible export, and returns
/// the status a C caller would get (`DLV_ERR_PANIC`, message recorded).
#[doc(hidden)]
pub fn panic_probe(message: &str) -> dlv_status {
    ffi_call(|| panic!("{message}"))
}

/// As [`panic_probe`], for the boundary of infallible exports (inspection
/// calls): returns `fallback`, as such an export would.
#[doc(hidden)]
pub fn panic_probe_value(message: &str, fallback: i64) -> i64 {
    ffi_value(fallback, || panic!("{message}"))
}

/// Records `e` as this thread's last error and returns its status.
pub(crate) fn fail(e: &Error) -> dlv_status {
    set_last_error(&e.to_string());
    dlv_status::from(e)
}

/// Runs an infallible body (an inspection call) behind the panic boundary;
/// a panic yields `fallback` and records the message.
pub(crate) fn ffi_value<T>(fallback: T, body: impl FnOnce() -> T) -> T {
    value_of(fallback, catch_unwind(AssertUnwindSafe(body)))
}

/// [`ffi_value`] for `dlv_tensor_free`: foreign callbacks run outside the
/// `catch_unwind`, as in [`ffi_call_releasing`].
pub(crate) fn ffi_value_releasing<T>(fallback: T, body: impl FnOnce() -> T) -> T {
    value_of(
        fallback,
        dlview_core::__private::outside_boundary(|| catch_unwind(AssertUnwindSafe(body))),
    )
}

fn value_of<T>(fallback: T, outcome: std::thread::Result<T>) -> T {
    outcome.unwrap_or_else(|payload| {
        set_last_error(&Error::Panic(panic_message(payload.as_ref())).to_string());
        fallback
    })
}

/// An out-parameter, checked for NULL before any work is done and written
/// only on success.
pub(crate) struct Out<T>(NonNull<T>);

impl<T> Out<T> {
    pub(crate) fn put(self, value: T) {
        // SAFETY: `out_param`'s caller promised the pointer is valid for
        // writes; it is non-NULL by construction.
        unsafe { self.0.as_ptr().write(value) }
    }
}

/// Every handle is one block of this layout, from this thread's spare
/// handle when there is one (see `dlview_core::spare`).
const HANDLE: std::alloc::Layout = std::alloc::Layout::new::<dlv_tensor>();

thread_local! {
    static SPARE_HANDLE: Spare = const { Spare::new(HANDLE) };
}

impl Out<*mut dlv_tensor> {
    /// Hands a new handle to the caller.
    pub(crate) fn give(self, tensor: Tensor) {
        let p = spare_take(&SPARE_HANDLE, HANDLE).cast::<dlv_tensor>();
        // SAFETY: `p` is an uninitialised block that fits a `dlv_tensor`.
        unsafe { p.write(dlv_tensor { tensor }) };
        self.put(p);
    }
}

/// Drops a handle made by [`Out::give`] and hands its block back.
///
/// # Safety
/// `t` is a live handle from `give`, not used again.
pub(crate) unsafe fn free_handle(t: *mut dlv_tensor) {
    // SAFETY: per the contract, `t` holds an initialised `dlv_tensor`
    // that nothing uses any more; its block came from `take` with HANDLE.
    unsafe {
        std::ptr::drop_in_place(t);
        spare_give_back(&SPARE_HANDLE, HANDLE, t.cast());
    }
}

/// Checks an out-parameter for NULL.
///
/// # Safety
/// `p` must be NULL or valid for writing one `T`.
pub(crate) unsafe fn out_param<T>(p: *mut T, name: &'static str) -> Result<Out<T>> {
    NonNull::new(p).map(Out).ok_or(Error::NullArgument(name))
}

/// Borrows the tensor behind a handle.
///
/// # Safety
/// `t` must be NULL or a live handle from this library, not used mutably
/// elsewhere for the returned lifetime.
pub(crate) unsafe fn tensor_ref<'a>(
    t: *const dlv_tensor,
    name: &'static str,
) -> Result<&'a Tensor> {
    // SAFETY: per the function's contract.
    unsafe { t.as_ref() }
        .map(|h| &h.tensor)
        .ok_or(Error::NullArgument(name))
}

/// Mutably borrows the tensor behind a handle.
///
/// # Safety
/// As [`tensor_ref`], and no other reference to the handle may be live.
pub(crate) unsafe fn tensor_mut<'a>(
    t: *mut dlv_tensor,
    name: &'static str,
) -> Result<&'a mut Tensor> {
    // SAFETY: per the function's contract.
    unsafe { t.as_mut() }
        .map(|h| &mut h.tensor)
        .ok_or(Error::NullArgument(name))
}

/// Checks a C `ndim` argument.
pub(crate) fn ndim_arg(ndim: i32) -> Result<usize> {
    usize::try_from(ndim)
        .ok()
        .filter(|&n| n <= MAX_NDIM)
        .ok_or_else(|| invalid!("ndim {ndim} is out of range 0..={MAX_NDIM}"))
}

/// Borrows `len` values from a C array. A zero length never touches the
/// pointer (which may then be NULL); a non-zero length needs a non-NULL one.
///
/// # Safety
/// When `len > 0`, `p` must be NULL or valid for reading `len` values.
pub(crate) unsafe fn c_array<'a, T>(
    p: *const T,
    len: usize,
    name: &'static str,
) -> Result<&'a [T]> {
    if len == 0 {
        return Ok(&[]);
    }
    if p.is_null() {
        return Err(Error::NullArgument(name));
    }
    // SAFETY: non-NULL and, per the contract, valid for `len` reads.
    Ok(unsafe { std::slice::from_raw_parts(p, len) })
}
