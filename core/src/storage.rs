//! Reference-counted owners of tensor memory.
//!
//! A [`Storage`] is shared (`Arc`) by every view and every exported DLPack
//! tensor of it; the memory is released exactly once, when the last
//! reference drops, on whatever thread drops it. Storage knows where its
//! memory starts, how many bytes it owns when that is known, the device, and
//! whether it may be written at all. It knows nothing about shapes.
//!
//! New kinds of memory (foreign DLPack tensors, file mappings, device
//! allocations) are new [`Owner`]s: `Tensor` never changes for them.

use crate::device::Device;
use crate::error::{Error, Result};
use std::alloc::{self, Layout as AllocLayout};
use std::any::Any;
use std::ffi::c_void;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Alignment of every buffer dlview allocates (a cache line; enough for AVX-512).
pub const ALLOC_ALIGN: usize = 64;

/// Buffers at least this large ask for transparent huge pages, as NumPy
/// does: first-touching a fresh buffer in 4 KiB pages can cost more than
/// filling it (a 64 MiB copy spends most of its time in page faults).
pub const HUGE_PAGE_THRESHOLD: usize = 4 << 20;

/// Advises the kernel to back `[p, p + nbytes)` with huge pages where it can
/// (Linux; a hint: failure, or THP being disabled, changes nothing).
fn advise_huge_pages(p: *mut u8, nbytes: usize) {
    #[cfg(target_os = "linux")]
    {
        const PAGE: usize = 4096;
        let start = (p as usize).next_multiple_of(PAGE);
        let end = (p as usize + nbytes) & !(PAGE - 1);
        if end > start {
            // SAFETY: the range lies inside an allocation we own; MADV_HUGEPAGE
            // changes no contents and no protection.
            unsafe {
                libc::madvise(
                    start as *mut std::ffi::c_void,
                    end - start,
                    libc::MADV_HUGEPAGE,
                )
            };
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = (p, nbytes);
}

/// Zero-filled buffers at least this large are fresh anonymous mappings:
/// the kernel hands out zero pages, so nothing is written until the first
/// touch, which a parallel copy into the buffer then spreads over its
/// threads (NumPy's `calloc` does the same). `alloc_zeroed` with dlview's
/// 64-byte alignment would instead `memset` the whole buffer on the calling
/// thread, and the kernel zeroes each page again when it faults: `make
/// bench` measured `zeros` + one write of 64 MiB at 91 ms that way, 20 ms
/// for NumPy.
pub const LAZY_ZERO_THRESHOLD: usize = 1 << 20;

/// A fresh anonymous mapping (zero pages until touched), unmapped on drop.
#[cfg(unix)]
struct ZeroPages {
    base: *mut u8,
    len: usize,
}

// SAFETY: the mapping is owned by this value alone; munmap may run on any thread.
#[cfg(unix)]
unsafe impl Send for ZeroPages {}
// SAFETY: no interior mutability.
#[cfg(unix)]
unsafe impl Sync for ZeroPages {}

#[cfg(unix)]
impl ZeroPages {
    fn new(len: usize) -> Option<ZeroPages> {
        // SAFETY: a new private anonymous mapping; nothing else is touched.
        let p = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        (p != libc::MAP_FAILED).then_some(ZeroPages {
            base: p.cast(),
            len,
        })
    }
}

#[cfg(unix)]
impl Drop for ZeroPages {
    fn drop(&mut self) {
        // SAFETY: the mapping made in `new`, unmapped exactly once.
        unsafe { libc::munmap(self.base.cast(), self.len) };
    }
}

static LIVE: AtomicUsize = AtomicUsize::new(0);

/// How many storages are alive right now, across all threads. Tests use it
/// (through `__private::live_count`) to prove that every exchange released
/// what it took.
///
/// Relaxed ordering suffices: the count is only read after the threads that
/// changed it were joined (which synchronises), never to order other memory.
pub(crate) fn live_count() -> usize {
    LIVE.load(Ordering::Relaxed)
}

/// A C release callback with its context: called exactly once.
pub type ReleaseFn = unsafe extern "C" fn(ctx: *mut c_void);

/// Who frees the memory, and how.
pub enum Owner {
    /// A buffer from dlview's allocator (`layout.size() == 0`: nothing allocated).
    Allocated(AllocLayout),
    /// Caller memory; `release(ctx)` runs when the storage dies (if not NULL).
    Callback {
        release: Option<ReleaseFn>,
        ctx: *mut c_void,
    },
    /// Anything whose `Drop` gives the memory back: a foreign DLPack tensor,
    /// a file mapping, a device allocation.
    Foreign(Box<dyn Any + Send + Sync>),
}

/// Reference-counted memory. See the module docs.
pub struct Storage {
    base: *mut u8,
    /// Bytes from `base` known to belong to this storage; `None` for foreign
    /// memory whose extent nobody told us.
    known_len: Option<usize>,
    device: Device,
    read_only: bool,
    /// The memory is ours alone (a fresh buffer, a private mapping, or
    /// DLPack `IS_COPIED`): nothing outside this storage's handles uses it.
    /// Safe writes need it (see `Tensor::is_exclusive`).
    exclusive: bool,
    owner: Owner,
}

// SAFETY: the raw pointers are owned exclusively by the storage (or handed to
// it with that promise by `from_foreign`), release callbacks are required to
// be callable from any thread (documented in the C API), and `Foreign`
// owners are `Send + Sync` by their bound.
unsafe impl Send for Storage {}
// SAFETY: see `Send`; `Storage` has no interior mutability.
unsafe impl Sync for Storage {}

impl Storage {
    /// Allocates `nbytes` (64-byte aligned), zero-filled if asked. Zero bytes
    /// allocate nothing and leave the base pointer NULL.
    pub fn allocate(nbytes: usize, zeroed: bool, device: Device) -> Result<Storage> {
        device.require_host("allocating memory")?;
        let layout = AllocLayout::from_size_align(nbytes, ALLOC_ALIGN)
            .map_err(|_| Error::OutOfMemory(format!("{nbytes} bytes is too large to allocate")))?;
        #[cfg(unix)]
        if zeroed && nbytes >= LAZY_ZERO_THRESHOLD {
            let pages = ZeroPages::new(nbytes)
                .ok_or_else(|| Error::OutOfMemory(format!("could not allocate {nbytes} bytes")))?;
            let base = pages.base;
            advise_huge_pages(base, nbytes);
            let owner = Owner::Foreign(Box::new(pages));
            return Ok(Storage::with_owner(
                base,
                Some(nbytes),
                device,
                false,
                true,
                owner,
            ));
        }
        let base = if nbytes == 0 {
            std::ptr::null_mut()
        } else {
            // SAFETY: the layout has a non-zero size.
            let p = unsafe {
                if zeroed {
                    alloc::alloc_zeroed(layout)
                } else {
                    alloc::alloc(layout)
                }
            };
            if p.is_null() {
                return Err(Error::OutOfMemory(format!(
                    "could not allocate {nbytes} bytes"
                )));
            }
            if nbytes >= HUGE_PAGE_THRESHOLD {
                advise_huge_pages(p, nbytes);
            }
            p
        };
        Ok(Storage::with_owner(
            base,
            Some(nbytes),
            device,
            false,
            true,
            Owner::Allocated(layout),
        ))
    }

    /// Wraps memory someone else owns.
    ///
    /// # Safety
    /// `base` (when `known_len` is `Some(n)`, the `n` bytes from it) must stay
    /// valid until `owner` is dropped or called, which happens exactly once,
    /// possibly on another thread. If `read_only` is false the memory must be
    /// writable. If `exclusive` is true nothing but this storage (another
    /// storage, a file mapping, a foreign owner) may read or write the
    /// memory while it lives: safe code then writes it through any handle
    /// that is alone on the storage (`Tensor::is_exclusive`).
    pub unsafe fn from_foreign(
        base: *mut u8,
        known_len: Option<usize>,
        device: Device,
        read_only: bool,
        exclusive: bool,
        owner: Owner,
    ) -> Storage {
        Storage::with_owner(base, known_len, device, read_only, exclusive, owner)
    }

    fn with_owner(
        base: *mut u8,
        known_len: Option<usize>,
        device: Device,
        read_only: bool,
        exclusive: bool,
        owner: Owner,
    ) -> Storage {
        LIVE.fetch_add(1, Ordering::Relaxed);
        Storage {
            base,
            known_len,
            device,
            read_only,
            exclusive,
            owner,
        }
    }

    pub fn base(&self) -> *mut u8 {
        self.base
    }

    pub fn known_len(&self) -> Option<usize> {
        self.known_len
    }

    pub fn device(&self) -> Device {
        self.device
    }

    pub fn is_read_only(&self) -> bool {
        self.read_only
    }

    /// Whether nothing outside this storage's handles uses the memory: true
    /// for dlview's own buffers, private file mappings and DLPack tensors
    /// marked `IS_COPIED`; false for shared file mappings, other DLPack
    /// producers' tensors and caller memory. (Whether other *handles* share
    /// the storage is [`Tensor::is_exclusive`](crate::Tensor::is_exclusive).)
    pub fn is_exclusive(&self) -> bool {
        self.exclusive
    }

    /// The foreign owner, for callers that need to recognise their own kind
    /// (e.g. a mapping asked to flush).
    pub fn foreign_owner(&self) -> Option<&(dyn Any + Send + Sync)> {
        match &self.owner {
            Owner::Foreign(b) => Some(b.as_ref()),
            _ => None,
        }
    }
}

impl Drop for Storage {
    fn drop(&mut self) {
        match &mut self.owner {
            Owner::Allocated(layout) => {
                if let Some(p) = NonNull::new(self.base) {
                    // SAFETY: allocated in `allocate` with exactly this layout.
                    unsafe { alloc::dealloc(p.as_ptr(), *layout) };
                }
            }
            Owner::Callback { release, ctx } => {
                if let Some(release) = release.take() {
                    // SAFETY: the caller of `from_foreign` promised the
                    // callback may run once, on any thread; `take` makes
                    // a second call impossible. It is foreign code that
                    // may end the thread: `deferred` keeps it out of the
                    // C ABI's panic boundary.
                    unsafe { crate::deferred::call(crate::deferred::may_unwind(release), *ctx) };
                }
            }
            // Dropping the box releases.
            Owner::Foreign(_) => {}
        }
        LIVE.fetch_sub(1, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::AtomicUsize;

    static RELEASED: AtomicUsize = AtomicUsize::new(0);
    unsafe extern "C" fn count_release(ctx: *mut c_void) {
        assert_eq!(ctx as usize, 0xbeef);
        RELEASED.fetch_add(1, Ordering::SeqCst);
    }

    #[test]
    fn allocation_is_aligned_and_zeroed() {
        let s = Storage::allocate(1000, true, Device::CPU).unwrap();
        assert_eq!(s.base() as usize % ALLOC_ALIGN, 0);
        // SAFETY: 1000 bytes were allocated and zeroed.
        let bytes = unsafe { std::slice::from_raw_parts(s.base(), 1000) };
        assert!(bytes.iter().all(|&b| b == 0));
        assert!(
            Storage::allocate(0, false, Device::CPU)
                .unwrap()
                .base()
                .is_null()
        );
        assert!(matches!(
            Storage::allocate(usize::MAX - 10, false, Device::CPU),
            Err(Error::OutOfMemory(_))
        ));
    }

    #[test]
    fn large_zeroed_buffers_are_fresh_pages() {
        let n = LAZY_ZERO_THRESHOLD * 3 + 5;
        let s = Storage::allocate(n, true, Device::CPU).unwrap();
        assert_eq!(s.base() as usize % 4096, 0);
        assert_eq!(s.known_len(), Some(n));
        // SAFETY: `n` bytes were mapped, zero until written.
        let bytes = unsafe { std::slice::from_raw_parts_mut(s.base(), n) };
        assert!(bytes.iter().all(|&b| b == 0));
        bytes[n - 1] = 7; // writable to the last byte
        drop(s);
        // Far beyond any address space: the mapping fails cleanly.
        assert_eq!(
            Storage::allocate(1 << 62, true, Device::CPU).err(),
            Some(Error::OutOfMemory(format!(
                "could not allocate {} bytes",
                1usize << 62
            )))
        );
    }

    #[test]
    fn release_runs_once_when_last_reference_drops() {
        let mut buf = [0u8; 16];
        // SAFETY: `buf` outlives the storage; the callback only counts.
        let s = Arc::new(unsafe {
            Storage::from_foreign(
                buf.as_mut_ptr(),
                Some(16),
                Device::CPU,
                false,
                false,
                Owner::Callback {
                    release: Some(count_release),
                    ctx: 0xbeef as *mut c_void,
                },
            )
        });
        let other = Arc::clone(&s);
        let before = RELEASED.load(Ordering::SeqCst);
        drop(s);
        assert_eq!(RELEASED.load(Ordering::SeqCst), before);
        std::thread::spawn(move || drop(other)).join().unwrap();
        assert_eq!(RELEASED.load(Ordering::SeqCst), before + 1);
    }
}
