//! One spare export block per thread. An exchange loop (export, import,
//! free) then reuses the same block instead of paying a malloc/free pair
//! per exchange, about a sixth of a C-level round trip. Every block has the
//! same layout (the larger of the two ABIs' blocks), so any spare fits any
//! export; a deleter running on another thread leaves the block there.

use std::alloc::Layout;
use std::cell::Cell;

/// The spare of this thread; freed when the thread exits.
struct Spare(Cell<*mut u8>);

impl Drop for Spare {
    fn drop(&mut self) {
        let p = self.0.get();
        if !p.is_null() {
            // SAFETY: spares were allocated by `take` with `BLOCK`.
            unsafe { std::alloc::dealloc(p, super::export::BLOCK) };
        }
    }
}

thread_local! {
    static SPARE: Spare = const { Spare(Cell::new(std::ptr::null_mut())) };
}

/// An uninitialised block of layout [`super::export::BLOCK`]: this thread's
/// spare, or a new allocation.
pub(super) fn take() -> *mut u8 {
    let spare = SPARE
        .try_with(|s| s.0.replace(std::ptr::null_mut()))
        .unwrap_or(std::ptr::null_mut());
    if !spare.is_null() {
        return spare;
    }
    let layout: Layout = super::export::BLOCK;
    // SAFETY: the layout has a non-zero size.
    let p = unsafe { std::alloc::alloc(layout) };
    if p.is_null() {
        std::alloc::handle_alloc_error(layout);
    }
    p
}

/// Hands back a block from [`take`] whose contents were dropped: it becomes
/// this thread's spare, or is freed if there is one already (or the thread
/// is exiting).
///
/// # Safety
/// `p` came from [`take`], is no longer used, and holds nothing to drop.
pub(super) unsafe fn give_back(p: *mut u8) {
    let kept = SPARE
        .try_with(|s| {
            if s.0.get().is_null() {
                s.0.set(p);
                true
            } else {
                false
            }
        })
        .unwrap_or(false);
    if !kept {
        // SAFETY: per the contract, `p` was allocated with `BLOCK`.
        unsafe { std::alloc::dealloc(p, super::export::BLOCK) };
    }
}

#[cfg(test)]
mod tests {
    use super::{give_back, take};

    #[test]
    fn a_block_given_back_is_the_next_one_taken_and_only_one_is_kept() {
        let first = take();
        // SAFETY: from `take`, holding nothing.
        unsafe { give_back(first) };
        let again = take();
        assert_eq!(again, first, "the spare is reused");
        let other = take();
        assert_ne!(other, again, "no spare left: a new block");
        // SAFETY: both from `take`; the second is freed, not kept.
        unsafe {
            give_back(again);
            give_back(other);
        }
        assert_eq!(take(), first);
        // SAFETY: as above.
        unsafe { give_back(first) };
    }
}
