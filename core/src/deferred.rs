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
//! Only the exports that can drop the last reference to such memory set up
//! a boundary (those that consume a handle or a managed tensor: while any
//! other export runs, the caller's handles keep their storages alive), so
//! the others pay nothing. Outside any boundary (Rust API users, a C
//! consumer calling a dlview deleter directly, which sets up its own)
//! calls are made at once.
//!
//! The queue is a small array in a constant-initialised thread-local with
//! no destructor, so it also works in calls from a `pthread_key_create`
//! destructor, after the thread's other thread-locals are destroyed. An
//! export queues at most one call in practice; should a queued callback
//! end the thread while others wait behind it, those are not made.

use std::cell::Cell;
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

/// `STATE`'s bit for "a boundary is active on this thread: queue, do not
/// call"; the bits above count the calls queued in `QUEUE` (in steps of 2).
const ACTIVE: usize = 1;
const ONE_PENDING: usize = 2;
/// Room for queued calls. One export drops at most one storage with a
/// foreign callback (the handle's) or one producer's tensor, so one slot
/// would do; a call that finds no room is made at once.
const SLOTS: usize = 8;

type Slot = Cell<Option<(ForeignFn, *mut c_void)>>;

thread_local! {
    // Both constant-initialised and without destructors: an access cannot
    // fail (they stay usable while the thread's other thread-locals are
    // destroyed, and a first use from a thread-exit destructor registers
    // nothing), and costs one TLS address lookup.
    static STATE: Cell<usize> = const { Cell::new(0) };
    static QUEUE: [Slot; SLOTS] = const { [const { Cell::new(None) }; SLOTS] };
}

/// Calls `f(ctx)` now, or, while a boundary is active on this thread, once
/// that boundary's `catch_unwind` has returned (before the export returns).
///
/// # Safety
/// `f(ctx)` may be called once, on this thread, at either time.
pub unsafe fn call(f: ForeignFn, ctx: *mut c_void) {
    let state = STATE.get();
    let queued = state / ONE_PENDING;
    if state & ACTIVE != 0 && queued < SLOTS {
        QUEUE.with(|q| q[queued].set(Some((f, ctx))));
        STATE.set(state + ONE_PENDING);
    } else {
        // SAFETY: per the contract.
        unsafe { f(ctx) };
    }
}

/// Runs `body` (which holds the panic boundary's `catch_unwind`) with
/// foreign calls queued, then makes the queued calls outside it. Nested
/// uses leave the queue to the outermost one.
#[inline]
pub fn outside_boundary<R>(body: impl FnOnce() -> R) -> R {
    // One TLS lookup per export; `body` stays inlined in the caller.
    let state: *const Cell<usize> = STATE.with(std::ptr::from_ref);
    // SAFETY: `STATE` has a constant initialiser and no destructor, so its
    // cell lives at this address until the thread is gone; it is used
    // only on this thread, within this call.
    let state = unsafe { &*state };
    let before = state.get();
    if before & ACTIVE != 0 {
        return body();
    }
    state.set(before | ACTIVE);
    /// Ends queueing however `body` ends.
    struct Deactivate<'a>(&'a Cell<usize>);
    impl Drop for Deactivate<'_> {
        #[inline]
        fn drop(&mut self) {
            self.0.set(self.0.get() & !ACTIVE);
        }
    }
    let result = {
        let _deactivate = Deactivate(state);
        body()
    };
    if state.get() != 0 {
        run_pending(state);
    }
    result
}

/// Makes the queued calls in order (no boundary is active now, so none of
/// them queues more). Each slot is emptied before its call; should a
/// callback end the thread, the calls after it in this (at most 8-long,
/// in practice 1-long) queue are not made.
#[cold]
fn run_pending(state: &Cell<usize>) {
    let queued = (state.get() / ONE_PENDING).min(SLOTS);
    state.set(0);
    for i in 0..queued {
        if let Some((f, ctx)) = QUEUE.with(|q| q[i].take()) {
            // SAFETY: queued by `call`, whose caller handed over this call.
            unsafe { f(ctx) };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{call, outside_boundary};
    use std::cell::RefCell;
    use std::ffi::c_void;

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
                call(record, std::ptr::without_provenance_mut(1));
                call(record, std::ptr::without_provenance_mut(2));
            }
            // Nested boundaries leave the calls to the outer one.
            outside_boundary(|| unsafe { call(record, std::ptr::without_provenance_mut(3)) });
            log()
        });
        assert!(seen_in_body.is_empty(), "nothing ran inside the body");
        assert_eq!(log(), [1, 2, 3]);
    }

    #[test]
    fn calls_outside_a_boundary_run_at_once() {
        // SAFETY: `record` may run any time.
        unsafe { call(record, std::ptr::without_provenance_mut(7)) };
        assert_eq!(log(), [7]);
    }

    #[test]
    fn a_panicking_body_still_ends_queueing_and_runs_the_queue() {
        let r = outside_boundary(|| {
            std::panic::catch_unwind(|| {
                // SAFETY: `record` may run any time.
                unsafe { call(record, std::ptr::without_provenance_mut(5)) };
                panic!("boom");
            })
        });
        assert!(r.is_err());
        assert_eq!(log(), [5]);
        // SAFETY: as above.
        unsafe { call(record, std::ptr::without_provenance_mut(6)) };
        assert_eq!(log(), [6], "no boundary active any more");
    }
}
