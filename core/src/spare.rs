//! One spare heap block per thread for a hot, fixed-size allocation. An
//! exchange loop (export, import, free) then reuses the same export block
//! and the same handle instead of paying a malloc/free pair for each, about
//! a fifth of a C-level round trip. A block freed on another thread (a
//! deleter run there) becomes that thread's spare, or is freed.
//!
//! Each user declares its own slot:
//! `thread_local! { static SLOT: Spare = const { Spare::new(LAYOUT) }; }`
//! and passes it with the same layout to [`take`] and [`give_back`].

use std::alloc::Layout;
use std::cell::Cell;
use std::thread::LocalKey;

/// A thread's spare block of one layout; freed when the thread exits.
pub struct Spare {
    block: Cell<*mut u8>,
    layout: Layout,
}

impl Spare {
    pub const fn new(layout: Layout) -> Self {
        Spare {
            block: Cell::new(std::ptr::null_mut()),
            layout,
        }
    }
}

impl Drop for Spare {
    fn drop(&mut self) {
        let p = self.block.get();
        if !p.is_null() {
            // SAFETY: spares were allocated by `take` with this layout.
            unsafe { std::alloc::dealloc(p, self.layout) };
        }
    }
}

/// An uninitialised block of `layout` (the slot's): this thread's spare, or
/// a new allocation.
pub fn take(slot: &'static LocalKey<Spare>, layout: Layout) -> *mut u8 {
    let spare = slot
        .try_with(|s| s.block.replace(std::ptr::null_mut()))
        .unwrap_or(std::ptr::null_mut());
    if !spare.is_null() {
        return spare;
    }
    // `alloc` of a zero-size layout is undefined behaviour; every user's
    // layout is a non-empty struct, so this never fires.
    assert_ne!(layout.size(), 0, "spare::take of a zero-size layout");
    // SAFETY: the layout has a non-zero size (asserted).
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
/// `p` came from [`take`] with the same `slot` and `layout`, is no longer
/// used, and holds nothing to drop.
pub unsafe fn give_back(slot: &'static LocalKey<Spare>, layout: Layout, p: *mut u8) {
    let kept = slot
        .try_with(|s| {
            if s.block.get().is_null() {
                s.block.set(p);
                true
            } else {
                false
            }
        })
        .unwrap_or(false);
    if !kept {
        // SAFETY: per the contract, `p` was allocated with `layout`.
        unsafe { std::alloc::dealloc(p, layout) };
    }
}

#[cfg(test)]
mod tests {
    use super::{Spare, give_back, take};
    use std::alloc::Layout;

    const LAYOUT: Layout = Layout::new::<[u64; 4]>();
    thread_local! {
        static SLOT: Spare = const { Spare::new(LAYOUT) };
    }

    #[test]
    fn a_block_given_back_is_the_next_one_taken_and_only_one_is_kept() {
        let first = take(&SLOT, LAYOUT);
        // SAFETY: from `take` with this slot and layout, holding nothing.
        unsafe { give_back(&SLOT, LAYOUT, first) };
        let again = take(&SLOT, LAYOUT);
        assert_eq!(again, first, "the spare is reused");
        let other = take(&SLOT, LAYOUT);
        assert_ne!(other, again, "no spare left: a new block");
        // SAFETY: as above; the second is freed, not kept.
        unsafe {
            give_back(&SLOT, LAYOUT, again);
            give_back(&SLOT, LAYOUT, other);
        }
        assert_eq!(take(&SLOT, LAYOUT), first);
        // SAFETY: as above.
        unsafe { give_back(&SLOT, LAYOUT, first) };
    }

    #[test]
    fn a_block_given_back_on_another_thread_stays_there() {
        let p = take(&SLOT, LAYOUT) as usize;
        let kept_there = std::thread::spawn(move || {
            // SAFETY: from `take` with this slot and layout, holding nothing.
            unsafe { give_back(&SLOT, LAYOUT, p as *mut u8) };
            take(&SLOT, LAYOUT) as usize == p
        })
        .join()
        .unwrap();
        assert!(kept_there);
    }
}
