//! The producer side: a view becomes a managed tensor whose one heap block
//! holds the DLPack struct, its shape and strides, and a reference to the
//! storage. The deleter frees that block, which drops the reference.

use super::{ExportOptions, PRODUCED_VERSION};
use crate::device::Device;
use crate::dtype::DType;
use crate::error::{Error, Result};
use crate::layout::{self, Order};
use crate::spare::{self, Spare};
use crate::storage::Storage;
use crate::tensor::{CopyMode, Tensor};
use dlpark::DlpackFlags;
use dlpark::ffi::{DLManagedTensor, DLManagedTensorVersioned, DLPackVersion, DLTensor};
use std::alloc::Layout;
use std::ffi::c_void;
use std::ptr::NonNull;
use std::sync::Arc;

/// One allocation per export (of layout [`BLOCK`], taken from and given
/// back to this thread's [`SPARE_BLOCK`]). `#[repr(C)]` with the managed struct first, so a
/// pointer to it is a pointer to the whole block.
#[repr(C)]
struct Exported<M> {
    managed: M,
    storage: Arc<Storage>,
    /// Shape then strides, inline up to ndim 4 so small exports allocate
    /// only this block; `spilled` holds them beyond that.
    inline: [i64; 8],
    spilled: Vec<i64>,
    /// What was exported, kept apart from the DLTensor the consumer may
    /// write to, so that re-importing an unchanged export can skip
    /// validation (see [`reclaim_intact`]).
    view: Snapshot,
}

/// The layout of every export block: the larger of the two ABIs' blocks,
/// so that one spare block serves both.
const BLOCK: Layout = {
    let versioned = Layout::new::<Exported<DLManagedTensorVersioned>>();
    let legacy = Layout::new::<Exported<DLManagedTensor>>();
    let size = if versioned.size() > legacy.size() {
        versioned.size()
    } else {
        legacy.size()
    };
    let align = if versioned.align() > legacy.align() {
        versioned.align()
    } else {
        legacy.align()
    };
    match Layout::from_size_align(size, align) {
        Ok(layout) => layout,
        Err(_) => panic!("export block layout"),
    }
};

thread_local! {
    /// The export block the next export on this thread reuses.
    static SPARE_BLOCK: Spare = const { Spare::new(BLOCK) };
}

/// The already-validated parts of an exported view.
struct Snapshot {
    /// As written to `dl_tensor.data` (NULL for size 0).
    data: *mut u8,
    layout: layout::Layout,
    dtype: DType,
    device: Device,
    flags: u32,
}

/// The two managed-tensor ABIs, as far as the exporter cares.
trait ManagedAbi: Sized {
    const LEGACY: bool;
    fn new(dl_tensor: DLTensor, read_only: bool, copied: bool) -> Self;
    fn dl_tensor(&mut self) -> &mut DLTensor;
}

impl ManagedAbi for DLManagedTensorVersioned {
    const LEGACY: bool = false;
    fn new(dl_tensor: DLTensor, read_only: bool, copied: bool) -> Self {
        let mut flags = DlpackFlags::empty();
        flags.set(DlpackFlags::READ_ONLY, read_only);
        flags.set(DlpackFlags::IS_COPIED, copied);
        DLManagedTensorVersioned {
            version: DLPackVersion {
                major: PRODUCED_VERSION.0,
                minor: PRODUCED_VERSION.1,
            },
            manager_ctx: std::ptr::null_mut(),
            deleter: Some(c_deleter::<DLManagedTensorVersioned>()),
            flags,
            dl_tensor,
        }
    }
    fn dl_tensor(&mut self) -> &mut DLTensor {
        &mut self.dl_tensor
    }
}

impl ManagedAbi for DLManagedTensor {
    const LEGACY: bool = true;
    fn new(dl_tensor: DLTensor, _read_only: bool, _copied: bool) -> Self {
        // Legacy tensors have no flags: read-only views never get here
        // (they are copied or refused first).
        DLManagedTensor {
            dl_tensor,
            manager_ctx: std::ptr::null_mut(),
            deleter: Some(c_deleter::<DLManagedTensor>()),
        }
    }
    fn dl_tensor(&mut self) -> &mut DLTensor {
        &mut self.dl_tensor
    }
}

/// [`delete`] as the `extern "C"` pointer type DLPack's structs hold.
fn c_deleter<M>() -> unsafe extern "C" fn(*mut M) {
    // SAFETY: the same C calling convention; `delete` is "C-unwind" only so
    // that a foreign forced unwind from the memory's release callback may
    // pass through it (see `crate::deferred`); a Rust panic never does.
    unsafe {
        std::mem::transmute::<unsafe extern "C-unwind" fn(*mut M), unsafe extern "C" fn(*mut M)>(
            delete::<M>,
        )
    }
}

/// The deleter of every export: frees the block and drops its storage
/// reference (which may free the memory). Runs on any thread; a panic
/// aborts, never unwinds. When this drops the last reference to memory
/// with a foreign release callback, that callback runs after the panic
/// guard, so that it may end the thread (`pthread_exit`).
unsafe extern "C-unwind" fn delete<M>(managed: *mut M) {
    if managed.is_null() {
        return;
    }
    // SAFETY: per `delete`'s contract (DLPack's).
    crate::deferred::outside_boundary(|| unsafe { delete_guarded(managed) });
}

/// # Safety
/// As [`delete`]: `managed` is a live export of ours, deleted once.
unsafe fn delete_guarded<M>(managed: *mut M) {
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        // SAFETY: non-NULL pointers reaching this deleter were produced by
        // `export`: an initialised `Exported<M>` from `spare::take`, whose
        // first field is the managed struct; DLPack's contract is that it
        // is called once.
        unsafe {
            std::ptr::drop_in_place(managed.cast::<Exported<M>>());
            spare::give_back(&SPARE_BLOCK, BLOCK, managed.cast());
        }
    }));
    if outcome.is_err() {
        // A panic while releasing memory leaves no sane state to return to.
        std::process::abort();
    }
}

/// Why a view cannot be exported as it is, or `None` if it can.
fn copy_reason(t: &Tensor, opts: &ExportOptions, legacy: bool) -> Option<&'static str> {
    let has_negative = t.size() > 0
        && t.shape()
            .iter()
            .zip(t.strides())
            .any(|(&n, &s)| n > 1 && s < 0);
    if has_negative && !opts.allow_negative_strides {
        Some("negative strides are not exported (pass copy=None/True or allow_negative_strides)")
    } else if legacy && !t.is_writeable() {
        Some(
            "a read-only tensor cannot be exported through the legacy DLPack ABI, which cannot mark it read-only",
        )
    } else {
        None
    }
}

fn export<M: ManagedAbi>(t: &Tensor, opts: &ExportOptions) -> Result<NonNull<M>> {
    // The view to export: `t` itself, or a compact copy when the rules or
    // the policy ask for one. (Borrowed in place rather than returned in a
    // `Cow`: this is the per-exchange hot path, and a Tensor is large.)
    let copy;
    let view = match (opts.copy, copy_reason(t, opts, M::LEGACY)) {
        (CopyMode::Never, Some(why)) => return Err(Error::CopyRequired(why.into())),
        (CopyMode::Always, _) | (CopyMode::IfNeeded, Some(_)) => {
            copy = t.copy(Order::K)?;
            &copy
        }
        (_, None) => t,
    };
    let copied = !std::ptr::eq(view, t);
    let ndim = view.ndim();
    let dl_tensor = DLTensor {
        // RULES §4: size-0 tensors export NULL; the view's start is folded
        // into `data`, so `byte_offset` is always 0.
        data: view.data_ptr().cast_mut().cast::<c_void>(),
        device: view.device().to_dl(),
        ndim: ndim as i32,
        dtype: view.dtype().to_dl(),
        shape: std::ptr::null_mut(),
        strides: std::ptr::null_mut(),
        byte_offset: 0,
    };
    let dims = (view.shape(), view.strides());
    let p = spare::take(&SPARE_BLOCK, BLOCK).cast::<Exported<M>>();
    // SAFETY: `p` points at an uninitialised block of layout `BLOCK`, which
    // fits an `Exported<M>`; every field is written exactly once below.
    // Writing in place avoids building the (large) value on the stack and
    // copying it: this is the per-exchange hot path.
    let block = unsafe {
        (&raw mut (*p).managed).write(M::new(dl_tensor, !view.is_writeable(), copied));
        (&raw mut (*p).storage).write(Arc::clone(view.storage()));
        (&raw mut (*p).inline).write([0; 8]);
        (&raw mut (*p).spilled).write(Vec::new());
        (&raw mut (*p).view).write(Snapshot {
            data: dl_tensor.data.cast(),
            layout: view.layout().clone(),
            dtype: view.dtype(),
            device: view.device(),
            flags: view.flags(),
        });
        &mut *p
    };
    // Point shape/strides into the block's own storage (it never moves).
    let out: &mut [i64] = if ndim <= 4 {
        &mut block.inline[..2 * ndim]
    } else {
        block.spilled.resize(2 * ndim, 0);
        &mut block.spilled
    };
    out[..ndim].copy_from_slice(dims.0);
    out[ndim..].copy_from_slice(dims.1);
    let shape = out.as_mut_ptr();
    let dl = block.managed.dl_tensor();
    dl.shape = shape;
    dl.strides = shape.wrapping_add(ndim);
    Ok(NonNull::from(block).cast())
}

/// `a == b` for the few dims of a tensor: a plain loop, where slice
/// equality calls `memcmp` (a third of the re-import check's cost at
/// rank 2, callgrind).
#[inline(always)]
fn same_dims(a: &[i64], b: &[i64]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x == y)
}

/// Exports `t` as a versioned managed tensor (docs/rules.md §4). The caller owns
/// the result and must call its deleter once.
pub fn to_versioned(t: &Tensor, opts: &ExportOptions) -> Result<NonNull<DLManagedTensorVersioned>> {
    export(t, opts)
}

/// Exports `t` as a legacy managed tensor: read-only views are copied
/// (or refused under `CopyMode::Never`).
pub fn to_legacy(t: &Tensor, opts: &ExportOptions) -> Result<NonNull<DLManagedTensor>> {
    export(t, opts)
}

/// True if `deleter` is this library's own (the tensor came from `export`).
pub fn is_own_versioned(
    deleter: Option<unsafe extern "C" fn(*mut DLManagedTensorVersioned)>,
) -> bool {
    deleter.is_some_and(|d| std::ptr::fn_addr_eq(d, c_deleter::<DLManagedTensorVersioned>()))
}

/// Takes the storage reference back out of one of our own versioned
/// exports and frees the export's block (what its deleter would do).
///
/// # Safety
/// `managed` must come from [`to_versioned`] (its deleter is ours) and be
/// owned by the caller; it is consumed.
pub unsafe fn reclaim_storage(managed: NonNull<DLManagedTensorVersioned>) -> Arc<Storage> {
    let p = managed
        .as_ptr()
        .cast::<Exported<DLManagedTensorVersioned>>();
    // SAFETY: per the contract, the block is a live `Exported` from
    // `export`, read out once and then handed back.
    let block = unsafe { std::ptr::read(p) };
    // SAFETY: moved out above, so nothing in it is used or dropped again.
    unsafe { spare::give_back(&SPARE_BLOCK, BLOCK, p.cast()) };
    block.storage
}

/// The view behind one of our own versioned exports, taken back without
/// validating it again, if the consumer left every field the import reads
/// as it was exported. Returns `None`, leaving `managed` untouched, when
/// anything differs or the general path must build the result (a
/// read-only export of writeable memory); the import then validates as
/// for any producer.
///
/// This is the fast half of a C-level round trip: the snapshot was a valid
/// tensor, so layout, extent and flags need no recomputation.
///
/// # Safety
/// As [`reclaim_storage`]; `managed` is consumed only when `Some` is
/// returned. Its shape/strides pointers must be readable for `ndim` values
/// (the contract of every import).
pub unsafe fn reclaim_intact(managed: NonNull<DLManagedTensorVersioned>) -> Option<Tensor> {
    let block = managed
        .as_ptr()
        .cast::<Exported<DLManagedTensorVersioned>>();
    // SAFETY: per the contract, the block is a live `Exported` we leaked.
    let (m, v, storage) = unsafe { (&(*block).managed, &(*block).view, &(*block).storage) };
    let read_only = m.flags.contains(DlpackFlags::READ_ONLY);
    let writeable = v.flags & crate::tensor::flags::WRITEABLE != 0;
    let same_flags = m.version.major == PRODUCED_VERSION.0
        && !m.flags.contains(DlpackFlags::IS_SUBBYTE_TYPE_PADDED)
        && read_only != writeable
        && (!read_only || storage.is_read_only());
    let dl = &m.dl_tensor;
    let ndim = v.layout.ndim();
    let same_header = dl.data.cast::<u8>() == v.data
        && dl.byte_offset == 0
        && dl.ndim as usize == ndim
        && dl.dtype.code.0 == v.dtype.to_dl().code.0
        && dl.dtype.bits == v.dtype.to_dl().bits
        && dl.dtype.lanes == 1
        && Device::from_dl(dl.device) == v.device;
    if !(same_flags && same_header) {
        return None;
    }
    if ndim > 0 {
        if dl.shape.is_null() || dl.strides.is_null() {
            return None;
        }
        // SAFETY: non-NULL and readable for ndim values by the contract.
        let (shape, strides) = unsafe {
            (
                std::slice::from_raw_parts(dl.shape, ndim),
                std::slice::from_raw_parts(dl.strides, ndim),
            )
        };
        if !same_dims(shape, v.layout.shape()) || !same_dims(strides, v.layout.strides()) {
            return None;
        }
    }
    // SAFETY: unchanged, so ours to consume (per the contract): the two
    // fields kept are moved out, the rest dropped in place, and the block
    // handed back without moving it (a per-exchange copy of a few hundred
    // bytes otherwise).
    let (storage, view) = unsafe {
        let storage = std::ptr::read(&raw const (*block).storage);
        let view = std::ptr::read(&raw const (*block).view);
        std::ptr::drop_in_place(&raw mut (*block).spilled);
        spare::give_back(&SPARE_BLOCK, BLOCK, block.cast());
        (storage, view)
    };
    // SAFETY: the snapshot's parts described a valid tensor of `storage`,
    // and the import keeps its writeability (checked above).
    Some(unsafe {
        Tensor::from_checked_parts(storage, view.data, view.layout, view.dtype, view.flags)
    })
}
