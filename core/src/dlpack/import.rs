//! The consumer side (docs/rules.md §5). Trusts only ownership: the producer's
//! deleter is taken over first, then every field is validated, and any
//! failure drops the guard, which calls the deleter exactly once.

use super::{ImportOptions, export};
use crate::device::Device;
use crate::dtype::DType;
use crate::error::{Error, Result, invalid};
use crate::layout::{Layout, MAX_NDIM, Order, fmt_dims};
use crate::storage::{Owner, ReleaseFn, Storage};
use crate::tensor::{CopyMode, Tensor};
use dlpark::DlpackFlags;
use dlpark::ffi::{DLManagedTensor, DLManagedTensorVersioned, DLTensor};
use std::ffi::c_void;
use std::ptr::NonNull;
use std::sync::Arc;

/// Owns a foreign managed tensor: dropping it calls the producer's deleter
/// (if any) exactly once. Taking ownership is the first thing an import
/// does, so every later failure releases the tensor by dropping this.
pub struct Owned<M: Deletable>(NonNull<M>);

impl<M: Deletable> Owned<M> {
    /// Takes ownership of `mt`.
    ///
    /// # Safety
    /// `mt` must be NULL or a live managed tensor whose ownership passes to
    /// the caller; its shape/strides arrays must be readable for `ndim`
    /// values. A versioned tensor flagged `IS_COPIED` must be the only
    /// user of its memory: its import is [exclusive](Tensor::is_exclusive),
    /// so safe code may write it (without that flag the producer may still
    /// use the memory, and safe writes are refused).
    pub unsafe fn take(mt: *mut M) -> Result<Owned<M>> {
        NonNull::new(mt).map(Owned).ok_or(Error::NullArgument("mt"))
    }
}

pub trait Deletable {
    /// # Safety
    /// `this` must be a live managed tensor whose ownership the caller holds.
    unsafe fn delete(this: NonNull<Self>);
}

impl Deletable for DLManagedTensorVersioned {
    unsafe fn delete(this: NonNull<Self>) {
        // SAFETY: the caller owns the live tensor; `deleter` sits in the part
        // of the struct every 1.x and later version keeps stable.
        unsafe {
            if let Some(deleter) = (*this.as_ptr()).deleter {
                // The producer's code may end the thread (pthread_exit):
                // called as a function that may unwind (see `deferred`).
                crate::deferred::may_unwind(deleter)(this.as_ptr());
            }
        }
    }
}

impl Deletable for DLManagedTensor {
    unsafe fn delete(this: NonNull<Self>) {
        // SAFETY: the caller owns the live tensor.
        unsafe {
            if let Some(deleter) = (*this.as_ptr()).deleter {
                // The producer's code may end the thread (pthread_exit):
                // called as a function that may unwind (see `deferred`).
                crate::deferred::may_unwind(deleter)(this.as_ptr());
            }
        }
    }
}

/// The storage's release callback for an imported tensor: `ctx` is the
/// managed tensor whose ownership `build` moved into the storage.
unsafe extern "C-unwind" fn release<M: Deletable>(ctx: *mut c_void) {
    if let Some(mt) = NonNull::new(ctx.cast::<M>()) {
        // SAFETY: `ctx` came from `Owned::into_raw` and storages call their
        // release callback exactly once.
        unsafe { M::delete(mt) }
    }
}

impl<M: Deletable> Owned<M> {
    /// Gives up the guard without deleting; the caller takes over.
    fn into_raw(self) -> NonNull<M> {
        let mt = self.0;
        std::mem::forget(self);
        mt
    }
}

impl<M: Deletable> Drop for Owned<M> {
    fn drop(&mut self) {
        // SAFETY: `Owned` is created only from a tensor whose ownership was
        // handed to us, and dropped once. The deleter is foreign code:
        // `deferred` runs it outside the C ABI's panic boundary.
        unsafe { crate::deferred::call(release::<M>, self.0.as_ptr().cast()) }
    }
}

// SAFETY: DLPack deleters may be called from any thread (RULES §4 asks the
// same of ours, and the frameworks we exchange with comply); the guard only
// carries the pointer until then.
unsafe impl<M: Deletable> Send for Owned<M> {}
// SAFETY: the guard exposes nothing through a shared reference.
unsafe impl<M: Deletable> Sync for Owned<M> {}

/// What a DLTensor describes, once validated.
struct Described {
    data: *mut u8,
    layout: Layout,
    dtype: DType,
    device: Device,
}

/// Validates every field of `dl` before anything is built from it.
///
/// # Safety
/// `dl.shape` and `dl.strides`, when non-NULL, must be readable for `ndim`
/// values (the only trust placed in the producer beyond ownership).
unsafe fn describe(dl: &DLTensor, null_strides_ok: bool) -> Result<Described> {
    let ndim = usize::try_from(dl.ndim)
        .ok()
        .filter(|&n| n <= MAX_NDIM)
        .ok_or_else(|| {
            invalid!(
                "DLPack tensor has ndim {} (supported: 0..={MAX_NDIM})",
                dl.ndim
            )
        })?;
    let dtype = DType::from_dl(dl.dtype)?;
    let shape: &[i64] = match (ndim, dl.shape.is_null()) {
        (0, _) => &[],
        (_, true) => return Err(invalid!("DLPack tensor has ndim {ndim} but a NULL shape")),
        // SAFETY: non-NULL and readable for ndim values by the contract.
        (_, false) => unsafe { std::slice::from_raw_parts(dl.shape, ndim) },
    };
    let layout = match (ndim, dl.strides.is_null()) {
        (0, _) => Layout::new(&[], &[])?,
        (_, true) if null_strides_ok => Layout::compact(shape, Order::C)?,
        (_, true) => {
            return Err(invalid!(
                "DLPack tensor has ndim {ndim} but NULL strides (allowed only for legacy and versions below 1.2)"
            ));
        }
        (_, false) => {
            // SAFETY: non-NULL and readable for ndim values by the contract.
            let strides = unsafe { std::slice::from_raw_parts(dl.strides, ndim) };
            // Layout's overflow messages do not repeat the values; a producer
            // needs to see which strides were refused.
            Layout::new(shape, strides).map_err(|e| match e {
                Error::InvalidArgument(why) => invalid!(
                    "DLPack tensor of shape {} with strides {}: {why}",
                    fmt_dims(shape),
                    fmt_dims(strides)
                ),
                other => other,
            })?
        }
    };
    // `Tensor::from_storage` checks the byte extent once the storage owns
    // the tensor (so a failure there also releases it).
    let offset = usize::try_from(dl.byte_offset)
        .ok()
        .filter(|&o| o <= isize::MAX as usize)
        .ok_or_else(|| invalid!("DLPack byte_offset {} is too large", dl.byte_offset))?;
    if layout.size() > 0 && dl.data.is_null() {
        return Err(invalid!(
            "DLPack tensor of shape {} has NULL data",
            fmt_dims(shape)
        ));
    }
    // The address of element 0 must not wrap past 2^64 (it would alias low
    // memory, even NULL); a size-0 tensor's included, as it is re-exported.
    if (dl.data as usize).checked_add(offset).is_none() {
        return Err(invalid!(
            "DLPack data {:#x} + byte_offset {offset} wraps past the end of the address space",
            dl.data as usize
        ));
    }
    Ok(Described {
        // Same provenance as `dl.data`, moved by `offset` (checked above).
        data: dl.data.cast::<u8>().wrapping_add(offset),
        layout,
        dtype,
        device: Device::from_dl(dl.device),
    })
}

fn build<M: Deletable + 'static>(
    owned: Owned<M>,
    d: Described,
    read_only: bool,
    exclusive: bool,
    opts: &ImportOptions,
) -> Result<Tensor> {
    // The storage calls the deleter through a plain callback: no allocation
    // beyond the storage itself. (`release` may unwind, forcedly, when the
    // producer's deleter ends the thread; the storage calls it that way.)
    // SAFETY: the C calling convention either way; see `may_unwind`.
    let release = unsafe {
        std::mem::transmute::<unsafe extern "C-unwind" fn(*mut c_void), ReleaseFn>(release::<M>)
    };
    let owner = Owner::Callback {
        release: Some(release),
        ctx: owned.into_raw().as_ptr().cast(),
    };
    // SAFETY: the producer keeps the memory valid until its deleter runs,
    // which the storage does exactly once when it dies (also if
    // `from_storage` below fails).
    let storage =
        unsafe { Storage::from_foreign(d.data, None, d.device, read_only, exclusive, owner) };
    // SAFETY: the producer's elements are valid memory (its contract, see
    // `Owned::take`) while the storage lives.
    let tensor = unsafe {
        Tensor::from_storage_unchecked(Arc::new(storage), d.data, d.layout, d.dtype, !read_only)
    }?;
    finish(tensor, opts)
}

fn finish(tensor: Tensor, opts: &ImportOptions) -> Result<Tensor> {
    match opts.copy {
        // Importing is always a view, so "never" and "if needed" share.
        CopyMode::Never | CopyMode::IfNeeded => Ok(tensor),
        // The copy detaches; the producer's memory is released right away.
        CopyMode::Always => tensor.copy(Order::K),
    }
}

/// A read-only re-import of our own export of writable memory: a foreign
/// storage that is read-only and holds the reclaimed reference.
fn build_reclaimed(storage: Arc<Storage>, d: Described, opts: &ImportOptions) -> Result<Tensor> {
    // SAFETY: the memory stays valid while `storage` (moved into the owner)
    // lives.
    let inner = unsafe {
        Storage::from_foreign(
            d.data,
            None,
            d.device,
            true,
            false,
            Owner::Foreign(Box::new(storage)),
        )
    };
    // SAFETY: our own export's elements, inside the reclaimed storage.
    let tensor = unsafe {
        Tensor::from_storage_unchecked(Arc::new(inner), d.data, d.layout, d.dtype, false)
    }?;
    finish(tensor, opts)
}

impl Owned<DLManagedTensorVersioned> {
    /// Imports the tensor as a view (docs/rules.md §5), consuming ownership.
    pub fn import(self, opts: &ImportOptions) -> Result<Tensor> {
        let mt = self.0.as_ptr();
        // SAFETY: `mt` is live; only the version is read before it is checked.
        let version = unsafe { (*mt).version };
        if version.major != 1 {
            return Err(Error::Version(format!(
                "unsupported DLPack version {}.{}: this library reads major version 1",
                version.major, version.minor
            )));
        }
        // SAFETY: `mt` is live.
        let deleter = unsafe { (*mt).deleter };
        if export::is_own_versioned(deleter) {
            // SAFETY: our deleter means `mt` came from `export`; it is
            // consumed only if the view comes back.
            if let Some(tensor) = unsafe { export::reclaim_intact(self.0) } {
                std::mem::forget(self);
                return finish(tensor, opts);
            }
        }
        // SAFETY: version 1.x has this layout.
        let (flags, dl) = unsafe { ((*mt).flags, &(*mt).dl_tensor) };
        // SAFETY: the producer's arrays are readable (contract of `take`).
        let described = unsafe { describe(dl, version.minor < 2) }?;
        if flags.contains(DlpackFlags::IS_SUBBYTE_TYPE_PADDED) {
            return Err(Error::UnsupportedDtype(format!(
                "padded sub-byte {} tensors are not supported",
                described.dtype
            )));
        }
        let read_only = flags.contains(DlpackFlags::READ_ONLY);
        // One of our own exports: take its storage reference back instead of
        // stacking a foreign storage on top (same memory, known extent, one
        // allocation less). Read-only exports of writable memory take the
        // general path so the imported storage itself is read-only (rule 2.4).
        if export::is_own_versioned(deleter) {
            // SAFETY: our deleter means `mt` came from `export`; the guard's
            // ownership passes to `reclaim`, which frees the block.
            let storage = unsafe { export::reclaim_storage(self.into_raw()) };
            if !read_only || storage.is_read_only() {
                let d = described;
                // SAFETY: the storage may be foreign memory of unknown
                // length (an export of an import); the described elements
                // are valid by the import's contract (`Owned::take`).
                let tensor = unsafe {
                    Tensor::from_storage_unchecked(storage, d.data, d.layout, d.dtype, !read_only)
                }?;
                return finish(tensor, opts);
            }
            return build_reclaimed(storage, described, opts);
        }
        build(
            self,
            described,
            read_only,
            flags.contains(DlpackFlags::IS_COPIED),
            opts,
        )
    }
}

impl Owned<DLManagedTensor> {
    /// Imports the tensor as a view, consuming ownership. It is read-only
    /// unless `opts.trust_legacy_writeable`.
    pub fn import(self, opts: &ImportOptions) -> Result<Tensor> {
        // SAFETY: the tensor is live and legacy tensors have one layout.
        let dl = unsafe { &(*self.0.as_ptr()).dl_tensor };
        // SAFETY: the producer's arrays are readable (contract of `take`).
        let described = unsafe { describe(dl, true) }?;
        build(self, described, !opts.trust_legacy_writeable, false, opts)
    }
}

/// Imports a versioned managed tensor, always taking ownership.
///
/// # Safety
/// As [`Owned::take`].
pub unsafe fn from_versioned(
    mt: *mut DLManagedTensorVersioned,
    opts: &ImportOptions,
) -> Result<Tensor> {
    // SAFETY: forwarded contract.
    unsafe { Owned::take(mt) }?.import(opts)
}

/// Imports a legacy managed tensor, always taking ownership.
///
/// # Safety
/// As [`Owned::take`].
pub unsafe fn from_legacy(mt: *mut DLManagedTensor, opts: &ImportOptions) -> Result<Tensor> {
    // SAFETY: forwarded contract.
    unsafe { Owned::take(mt) }?.import(opts)
}
