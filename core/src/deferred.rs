//! Foreign code (release callbacks, DLPack deleters) runs outside the
//! panic boundary.
//!
//! Why: a foreign callback may end its thread with a *forced unwind*
//! (`pthread_exit`; CPython 3.11+ does it to a thread that takes the GIL
//! during interpreter shutdown). glibc implements that as an exception that
//! must unwind every frame up to the thread's start. Rust's `catch_unwind`
//! catches it like any other (the personality routine installs catch-all
//! landing pads during forced unwinds too), cannot rethrow it, and glibc
//! then aborts the process with "FATAL: exception not rethrown". Every C
//! export runs its body inside `catch_unwind` (the panic boundary), so a
//! callback run there must not be called from inside it.
//!
//! So, while a boundary is active on a thread ([`outside_boundary`]), a
//! foreign call is queued ([`call`]) instead of made, and the boundary runs
//! the queue after its `catch_unwind` has returned, in frames a forced
//! unwind may pass: the callbacks are called through `extern "C-unwind"`
//! pointers and the exports themselves are `extern "C-unwind"` at the Rust
//! level (same C calling convention: the header is unchanged; only the
//! abort-on-unwind guard of `extern "C"` is gone, which the catch frame
//! inside makes redundant for Rust panics). The queued calls still run
//! before the export returns, so "the deleter has run when the call
//! returns" holds.
//!
//! Outside any boundary (Rust API users, a C consumer calling a dlview
//! deleter directly, which sets up its own boundary) calls are made at once.
//! When the thread's thread-locals are already destroyed (a call from a
//! `pthread_key_create` destructor), nothing can be queued: calls are made
//! at once, inside the boundary; a forced unwind from one of those still
//! aborts (a documented limit, SECURITY.md).
//!
//! If a queued callback ends the thread, the calls queued after it run when
//! the thread's thread-locals are destroyed (the queue's destructor), so
//! every release still runs exactly once.

use std::cell::{Cell, RefCell};
use std::ffi::c_void;

/// A foreign function that may unwind (forcedly) through its Rust caller.
pub type ForeignFn = unsafe extern "C-unwind" fn(*mut c_void);

/// Reinterprets a C callback pointer (`extern "C"`, as the C ABI and
/// dlpark's structs spell them) as one that may unwind.
///
/// # Safety
/// `f` must point to a function with the C calling convention taking one
/// pointer: a C function (which has no Rust ABI string; whether it may
/// unwind is exactly what "C-unwind" declares), or a Rust `extern "C"` one
/// (which aborts instead of unwinding, so the only difference, the
/// caller's permission to be unwound, is never used).
pub unsafe fn may_unwind<T>(
    f: unsafe extern "C" fn(*mut T),
) -> unsafe extern "C-unwind" fn(*mut T) {
    // SAFETY: the two pointer types have the same size and calling
    // convention; see the contract above.
    unsafe {
        std::mem::transmute::<unsafe extern "C" fn(*mut T), unsafe extern "C-unwind" fn(*mut T)>(f)
    }
}

struct Queue {
    /// A boundary is active on this thread: queue, do not call.
    active: Cell<bool>,
    pending: RefCell<Vec<(ForeignFn, *mut c_void)>>,
}

impl Drop for Queue {
    /// The thread is exiting with calls still queued (a queued callback
    /// ended the thread before the rest ran): run them now, once.
    fn drop(&mut self) {
        for (f, ctx) in std::mem::take(self.pending.get_mut()) {
            // SAFETY: queued by `call`, whose caller handed over the
            // right to make this call exactly once.
            unsafe { f(ctx) };
        }
    }
}

thread_local! {
    static QUEUE: Queue = const {
        Queue {
            active: Cell::new(false),
            pending: RefCell::new(Vec::new()),
        }
    };
}

/// Calls `f(ctx)` now, or, while a boundary is active on this thread, once
/// that boundary's `catch_unwind` has returned (before the export returns).
///
/// # Safety
/// `f(ctx)` may be called once, on this thread, at either time.
pub unsafe fn call(f: ForeignFn, ctx: *mut c_void) {
    let queued = QUEUE
        .try_with(|q| {
            if !q.active.get() {
                return false;
            }
            let Ok(mut pending) = q.pending.try_borrow_mut() else {
                return false;
            };
            // No room (allocation failed): call at once rather than abort.
            if pending.try_reserve(1).is_err() {
                return false;
            }
            pending.push((f, ctx));
            true
        })
        .unwrap_or(false);
    if !queued {
        // SAFETY: per the contract.
        unsafe { f(ctx) };
    }
}

/// Runs `body` (which holds the panic boundary's `catch_unwind`) with
/// foreign calls queued, then makes the queued calls outside it. Nested
/// uses leave the queue to the outermost one.
pub fn outside_boundary<R>(body: impl FnOnce() -> R) -> R {
    let nested = QUEUE
        .try_with(|q| q.active.replace(true))
        // Thread-locals gone: nothing can be queued, nothing to run.
        .unwrap_or(true);
    if nested {
        return body();
    }
    /// Ends queueing however `body` ends.
    struct Deactivate;
    impl Drop for Deactivate {
        fn drop(&mut self) {
            let _ = QUEUE.try_with(|q| q.active.set(false));
        }
    }
    let result = {
        let _deactivate = Deactivate;
        body()
    };
    // One at a time, each taken out of the queue before it is called, so a
    // callback that ends the thread leaves the rest to `Queue::drop`.
    while let Some((f, ctx)) = QUEUE
        .try_with(|q| {
            let mut pending = q.pending.borrow_mut();
            (!pending.is_empty()).then(|| pending.remove(0))
        })
        .ok()
        .flatten()
    {
        // SAFETY: queued by `call`, whose caller handed over this call.
        unsafe { f(ctx) };
    }
    result
}

#[cfg(test)]
mod tests {
    use super::{call, outside_boundary};
    use std::cell::RefCell;
    use std::ffi::c_void;
    use std::ptr;

    thread_local! {
        static LOG: RefCell<Vec<usize>> = const { RefCell::new(Vec::new()) };
    }

    unsafe extern "C-unwind" fn record(ctx: *mut c_void) {
        LOG.with(|l| l.borrow_mut().push(ctx as usize));
    }

    fn log() -> Vec<usize> {
        LOG.with(|l| std::mem::take(&mut *l.borrow_mut()))
    }

    #[test]
    fn calls_inside_a_boundary_run_after_its_body_in_order() {
        let seen_in_body = outside_boundary(|| {
            // SAFETY: `record` may run any time.
            unsafe {
                call(record, ptr::without_provenance_mut(1));
                call(record, ptr::without_provenance_mut(2));
            }
            // Nested boundaries leave the calls to the outer one.
            outside_boundary(|| unsafe { call(record, ptr::without_provenance_mut(3)) });
            log()
        });
        assert!(seen_in_body.is_empty(), "nothing ran inside the body");
        assert_eq!(log(), [1, 2, 3]);
    }

    #[test]
    fn calls_outside_a_boundary_run_at_once() {
        // SAFETY: `record` may run any time.
        unsafe { call(record, ptr::without_provenance_mut(7)) };
        assert_eq!(log(), [7]);
    }

    #[test]
    fn a_panicking_body_still_ends_queueing_and_runs_the_queue() {
        let r = outside_boundary(|| {
            std::panic::catch_unwind(|| {
                // SAFETY: `record` may run any time.
                unsafe { call(record, ptr::without_provenance_mut(5)) };
                panic!("boom");
            })
        });
        assert!(r.is_err());
        assert_eq!(log(), [5]);
        // SAFETY: as above.
        unsafe { call(record, ptr::without_provenance_mut(6)) };
        assert_eq!(log(), [6], "no boundary active any more");
    }
}
