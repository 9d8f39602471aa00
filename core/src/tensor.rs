//! `Tensor`: a view `(storage, data pointer, layout, dtype, flags)` and every
//! view operation of docs/rules.md §3, with the flag rules of §2.
//!
//! View logic is safe code: a view's data pointer is computed with wrapping
//! arithmetic and only ever dereferenced by `copy/` kernels after the layout
//! has been checked against the storage.

// Only the element codec (`copy::scalar`, which knows nothing of tensors):
// copies, casts and device transfers sit above this module, in
// `copy::dispatch`.
use crate::copy;
use crate::device::Device;
use crate::dtype::DType;
use crate::error::{Error, Result, invalid};
use crate::layout::{self, EXACT_CHECK_LIMIT, Layout, Order, fmt_dims, normalize_axis};
use crate::storage::Storage;
use std::fmt::Write as _;
use std::sync::Arc;

/// Flag bits, with NumPy's meanings (docs/rules.md §2).
pub mod flags {
    pub const WRITEABLE: u32 = 1;
    pub const C_CONTIGUOUS: u32 = 2;
    pub const F_CONTIGUOUS: u32 = 4;
    pub const OWNDATA: u32 = 8;
    pub const ALIGNED: u32 = 16;
}

/// The Array API's three-valued copy policy.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum CopyMode {
    /// Share if possible, else copy.
    #[default]
    IfNeeded,
    /// Share or fail with `COPY_REQUIRED`.
    Never,
    /// Always make a new buffer.
    Always,
}

/// A strided view of typed memory. Cloning makes another handle to the same
/// view (same flags, same base); it never copies elements.
#[derive(Clone)]
pub struct Tensor {
    storage: Arc<Storage>,
    data: *mut u8,
    layout: Layout,
    dtype: DType,
    flags: u32,
    /// The tensor this one was derived from (always a root: views of views
    /// point at the root, as NumPy's `base` does). `None` means OWNDATA.
    base: Option<Arc<Tensor>>,
}

// SAFETY: `data` points into `storage`, which is Send + Sync; a Tensor adds
// no thread affinity. Safe code cannot write elements through a handle that
// shares its memory with another (see `Tensor::is_exclusive`); the unsafe
// `_shared` writes leave that promise to their callers.
unsafe impl Send for Tensor {}
// SAFETY: see `Send`.
unsafe impl Sync for Tensor {}

impl Tensor {
    // ---- creation --------------------------------------------------------

    /// A new buffer of `shape`. Its contents are unspecified by the API, but
    /// are in fact zero: handing out uninitialised memory to safe code would
    /// be undefined behaviour, and `calloc` of a large buffer costs nothing
    /// (the OS maps zero pages).
    pub fn empty(dtype: DType, shape: &[i64], order: Order) -> Result<Tensor> {
        Tensor::zeros(dtype, shape, order)
    }

    /// A new zero-filled buffer of `shape`.
    pub fn zeros(dtype: DType, shape: &[i64], order: Order) -> Result<Tensor> {
        // Always zeroed: safe code may read host memory.
        Tensor::allocate_with(dtype, shape, order, |n| {
            Storage::allocate(n, true, Device::CPU)
        })
    }

    /// A compact tensor of `shape` over the storage `make` returns for its
    /// byte size: the CPU's here, a device's in `copy::dispatch`.
    pub(crate) fn allocate_with(
        dtype: DType,
        shape: &[i64],
        order: Order,
        make: impl FnOnce(usize) -> Result<Storage>,
    ) -> Result<Tensor> {
        dtype.require_addressable("creating a tensor")?;
        if order == Order::K {
            return Err(invalid!(
                "order K is only meaningful for copies; new tensors take C or F"
            ));
        }
        let layout = Layout::compact(shape, order)?;
        let nbytes = dtype.compact_nbytes(layout.size())?;
        let storage = Arc::new(make(nbytes)?);
        let data = storage.base();
        Tensor::from_storage(storage, data, layout, dtype, true)
    }

    /// A root tensor over `storage` whose element 0 is at `data`.
    ///
    /// Checks that the layout's byte extent fits `isize` and that every
    /// element lies inside the storage's known length. The view is writeable
    /// if asked, the storage allows it and elements do not overlap. Packed
    /// sub-byte types must be compact (C order). A storage whose length is
    /// unknown (foreign memory) cannot be checked: `INVALID_ARGUMENT`, see
    /// the unsafe [`Tensor::from_storage_unchecked`].
    pub fn from_storage(
        storage: Arc<Storage>,
        data: *mut u8,
        layout: Layout,
        dtype: DType,
        writeable: bool,
    ) -> Result<Tensor> {
        if storage.known_len().is_none() {
            return Err(invalid!(
                "a storage of unknown length cannot bound a view; \
                 use the unsafe `Tensor::from_storage_unchecked`"
            ));
        }
        // The storage knows its length, so `place` checks every element
        // against it.
        Tensor::place(storage, data, layout, dtype, writeable)
    }

    /// As [`Tensor::from_storage`], also for a storage whose length is
    /// unknown (a foreign buffer): then only the placement in the address
    /// space is checked.
    ///
    /// # Safety
    /// When `storage.known_len()` is `None`, every element of `layout` from
    /// `data` must lie in memory that stays valid (and, if `writeable` and
    /// the storage is not read-only, writable) while the storage lives.
    pub unsafe fn from_storage_unchecked(
        storage: Arc<Storage>,
        data: *mut u8,
        layout: Layout,
        dtype: DType,
        writeable: bool,
    ) -> Result<Tensor> {
        Tensor::place(storage, data, layout, dtype, writeable)
    }

    /// The checks and construction of both `from_storage` constructors.
    fn place(
        storage: Arc<Storage>,
        data: *mut u8,
        layout: Layout,
        dtype: DType,
        writeable: bool,
    ) -> Result<Tensor> {
        let (start, end) = Tensor::check_placement(&layout, dtype, data)?;
        if let Some(len) = storage.known_len()
            && start < end
        {
            let from_base = (data as isize).wrapping_sub(storage.base() as isize);
            let fits = from_base.checked_add(start).is_some_and(|s| s >= 0)
                && from_base
                    .checked_add(end)
                    .is_some_and(|e| e as usize <= len);
            if !fits {
                return Err(invalid!(
                    "layout of shape {} with strides {} reaches bytes [{start}, {end}) from its start, \
                     outside the {len} bytes of its storage",
                    fmt_dims(layout.shape()),
                    fmt_dims(layout.strides())
                ));
            }
        }
        let flags = compute_flags(
            &layout,
            data,
            dtype,
            writeable && !storage.is_read_only(),
            true,
        );
        Ok(Tensor {
            storage,
            data,
            layout,
            dtype,
            flags,
            base: None,
        })
    }

    /// [`Tensor::check_layout`], and that the elements' addresses from `data`
    /// neither fall below 0 nor pass the top of the address space (a
    /// foreign descriptor can claim either; the pointer arithmetic would wrap).
    pub fn check_placement(
        layout: &Layout,
        dtype: DType,
        data: *const u8,
    ) -> Result<(isize, isize)> {
        let (start, end) = Tensor::check_layout(layout, dtype)?;
        let addr = data as usize;
        if start < end
            && (addr.checked_add_signed(start).is_none() || addr.checked_add_signed(end).is_none())
        {
            return Err(invalid!(
                "layout of shape {} with strides {} at address {addr:#x} reaches bytes [{start}, {end}) from it, \
                 outside the address space",
                fmt_dims(layout.shape()),
                fmt_dims(layout.strides())
            ));
        }
        Ok((start, end))
    }

    /// A root tensor rebuilt from the parts of a tensor that existed (and
    /// so passed every check of `from_storage`): a re-import of our own
    /// unchanged DLPack export. `flags` are that tensor's flags.
    ///
    /// # Safety
    /// `storage`, `data`, `layout`, `dtype` and `flags` must be those of a
    /// tensor built by this module.
    pub(crate) unsafe fn from_checked_parts(
        storage: Arc<Storage>,
        data: *mut u8,
        layout: Layout,
        dtype: DType,
        view_flags: u32,
    ) -> Tensor {
        Tensor {
            storage,
            data,
            layout,
            dtype,
            flags: view_flags | flags::OWNDATA,
            base: None,
        }
    }

    /// The checks `from_storage` makes that do not depend on the storage:
    /// the byte extent fits `isize`, and packed sub-byte types are compact.
    /// Returns the byte range `[start, end)` relative to element 0.
    pub fn check_layout(layout: &Layout, dtype: DType) -> Result<(isize, isize)> {
        let bounds = Tensor::check_extent(layout, dtype)?;
        // Also for size-0 layouts, whose extent is empty (issue 15).
        layout.check_bytes(dtype.itemsize().max(1), &dtype)?;
        Ok(bounds)
    }

    fn check_extent(layout: &Layout, dtype: DType) -> Result<(isize, isize)> {
        if dtype.is_sub_byte() {
            if !layout.is_c_contiguous() {
                return Err(Error::UnsupportedDtype(format!(
                    "{dtype} tensors must be compact and packed (C order), but shape {} has strides {}",
                    fmt_dims(layout.shape()),
                    fmt_dims(layout.strides())
                )));
            }
            Ok((0, dtype.compact_nbytes(layout.size())? as isize))
        } else {
            Ok(layout.byte_bounds(dtype.itemsize())?.unwrap_or((0, 0)))
        }
    }

    /// A new view of this tensor's storage (never a root).
    pub(crate) fn view(&self, layout: Layout, offset: i64, writeable: bool) -> Result<Tensor> {
        self.dtype.require_addressable("taking a view")?;
        // A reshape or broadcast of a size-0 (or stride-0) view can reach
        // shapes NumPy refuses; the extent check alone would not see them.
        layout.check_bytes(self.dtype.itemsize(), &self.dtype)?;
        let byte_offset = offset
            .checked_mul(self.dtype.itemsize() as i64)
            .and_then(|b| isize::try_from(b).ok())
            .ok_or_else(|| invalid!("view offset {offset} overflows"))?;
        let data = self.data.wrapping_byte_offset(byte_offset);
        let flags = compute_flags(&layout, data, self.dtype, writeable, false);
        let base = match &self.base {
            Some(b) => Arc::clone(b),
            None => Arc::new(self.clone()),
        };
        Ok(Tensor {
            storage: Arc::clone(&self.storage),
            data,
            layout,
            dtype: self.dtype,
            flags,
            base: Some(base),
        })
    }

    // ---- inspection ------------------------------------------------------

    pub fn layout(&self) -> &Layout {
        &self.layout
    }

    pub fn shape(&self) -> &[i64] {
        self.layout.shape()
    }

    /// Strides in elements.
    pub fn strides(&self) -> &[i64] {
        self.layout.strides()
    }

    pub fn ndim(&self) -> usize {
        self.layout.ndim()
    }

    pub fn dtype(&self) -> DType {
        self.dtype
    }

    pub fn device(&self) -> Device {
        self.storage.device()
    }

    pub fn storage(&self) -> &Arc<Storage> {
        &self.storage
    }

    /// The tensor this view was derived from, `None` for a root (OWNDATA).
    pub fn base(&self) -> Option<&Tensor> {
        self.base.as_deref()
    }

    /// Number of elements.
    pub fn size(&self) -> i64 {
        self.layout.size()
    }

    /// `size * itemsize` (packed size for sub-byte types).
    pub fn nbytes(&self) -> usize {
        self.dtype.compact_nbytes(self.size()).unwrap_or(usize::MAX)
    }

    pub fn flags(&self) -> u32 {
        self.flags
    }

    pub fn is_writeable(&self) -> bool {
        self.flags & flags::WRITEABLE != 0
    }

    /// Address of element `[0, ..., 0]`; NULL when the tensor has no elements.
    pub fn data_ptr(&self) -> *const u8 {
        if self.layout.is_empty() {
            std::ptr::null()
        } else {
            self.data
        }
    }

    /// The data pointer for writing, or `READ_ONLY`.
    ///
    /// Getting the pointer is safe; writing through it is `unsafe` code
    /// whose author must make sure that no other thread reads or writes
    /// those elements meanwhile (through a clone, a view, a DLPack export or
    /// foreign owners of the memory): unlike the safe writes, this does not
    /// require [`Tensor::is_exclusive`].
    pub fn data_ptr_mut(&mut self) -> Result<*mut u8> {
        self.require_writeable()?;
        Ok(if self.size() == 0 {
            std::ptr::null_mut()
        } else {
            self.data
        })
    }

    /// Raw element-0 pointer even for size 0 (for exporters and kernels).
    pub(crate) fn raw_data(&self) -> *mut u8 {
        self.data
    }

    pub fn require_writeable(&self) -> Result<()> {
        if self.is_writeable() {
            Ok(())
        } else {
            Err(Error::ReadOnly(
                "assignment destination is read-only".into(),
            ))
        }
    }

    /// Sets or clears WRITEABLE (rule 2.4): clearing always works; setting
    /// fails if the storage is read-only or elements overlap.
    pub fn set_writeable(&mut self, writeable: bool) -> Result<()> {
        if writeable {
            if self.storage.is_read_only() {
                return Err(Error::ReadOnly(
                    "cannot make tensor writeable: its memory is read-only".into(),
                ));
            }
            if self.layout.may_overlap() {
                return Err(Error::ReadOnly(
                    "cannot make tensor writeable: its elements overlap in memory".into(),
                ));
            }
            self.flags |= flags::WRITEABLE;
        } else {
            self.flags &= !flags::WRITEABLE;
        }
        Ok(())
    }

    /// Reads one element as f64 (bounds-checked; negative indices count
    /// from the end).
    pub fn get_f64(&self, index: &[i64]) -> Result<f64> {
        let ptr = self.element_ptr(index, "reading an element")?;
        // SAFETY: `element_ptr` checked the index against the layout, and the
        // layout was checked against the storage when the view was made.
        unsafe { copy::scalar::read_f64(ptr, self.dtype) }
    }

    /// Writes one element from an f64, with NumPy's casting (see
    /// `copy::scalar::write_f64`); a NaN or infinity into an integer
    /// tensor is `INVALID_ARGUMENT`, as NumPy refuses it.
    ///
    /// Fails with `READ_ONLY` for a read-only view and with
    /// `INVALID_ARGUMENT` (see [`Tensor::is_exclusive`]) while another
    /// handle shares the memory; [`Tensor::set_f64_shared`] writes anyway.
    ///
    /// A shared reference cannot write:
    /// ```compile_fail,E0596
    /// #![forbid(unsafe_code)]
    /// fn write(t: &dlview::Tensor) {
    ///     t.set_f64(&[0], 1.0).unwrap(); // needs `&mut Tensor`
    /// }
    /// ```
    /// so two threads cannot both write through one tensor:
    /// ```compile_fail,E0499
    /// #![forbid(unsafe_code)]
    /// use dlview::{DType, Order, Tensor};
    /// let mut t = Tensor::zeros(DType::F64, &[2], Order::C).unwrap();
    /// std::thread::scope(|s| {
    ///     s.spawn(|| t.set_f64(&[0], 1.0));
    ///     s.spawn(|| t.set_f64(&[0], 2.0)); // a second `&mut t`
    /// });
    /// ```
    /// and a clone handed to another thread makes neither handle writable
    /// until it is dropped:
    /// ```
    /// use dlview::{DType, Order, Tensor};
    /// let mut t = Tensor::zeros(DType::F64, &[2], Order::C).unwrap();
    /// let other = t.clone();
    /// std::thread::scope(|s| {
    ///     s.spawn(|| other.get_f64(&[0]).unwrap());
    ///     assert!(t.set_f64(&[0], 1.0).is_err());
    /// });
    /// drop(other);
    /// t.set_f64(&[0], 1.0).unwrap();
    /// ```
    pub fn set_f64(&mut self, index: &[i64], value: f64) -> Result<()> {
        self.require_writeable()?;
        self.require_exclusive("Tensor::set_f64_shared")?;
        // SAFETY: no other handle reaches this memory (checked above), and
        // `&mut self` keeps this one from being used meanwhile.
        unsafe { self.set_f64_shared(index, value) }
    }

    /// [`Tensor::set_f64`] without the exclusivity check: writes through a
    /// tensor whose memory other handles (clones, views, exports, foreign
    /// owners) may share. `READ_ONLY` and the other errors still apply.
    ///
    /// # Safety
    /// No other thread may read or write the element during the call, through
    /// any handle of the same memory (RULES.md §9: the caller serialises
    /// the use of shared tensors, as the C ABI's callers do).
    pub unsafe fn set_f64_shared(&self, index: &[i64], value: f64) -> Result<()> {
        self.require_writeable()?;
        copy::scalar::check_float_to_int(value, self.dtype)?;
        let ptr = self.element_ptr(index, "writing an element")?;
        // SAFETY: as in `get_f64`, and the view is writeable; the caller
        // promised that no other thread touches the element.
        unsafe { copy::scalar::write_f64(ptr, self.dtype, value) }
    }

    // ---- exclusivity -------------------------------------------------------

    /// Whether this handle is the only way to reach its elements, so that a
    /// write through `&mut self` cannot race with anything: the memory is
    /// dlview's own (not a shared file mapping, a DLPack producer's tensor
    /// or caller memory, which others may use behind dlview's back), and no
    /// other handle holds its storage: no clone, no other view, no live
    /// DLPack export, no C handle, no `Arc` (strong or weak) taken from
    /// [`Tensor::storage`]. A view's base counts as its own while nothing
    /// else holds that base. The safe writes ([`Tensor::set_f64`],
    /// [`Tensor::copy_into`], [`Tensor::index_put`]) require it.
    pub fn is_exclusive(&self) -> bool {
        if !self.storage.is_exclusive() {
            return false;
        }
        let unique = self.own_storage_refs().is_some_and(|own| {
            Arc::weak_count(&self.storage) == 0 && Arc::strong_count(&self.storage) == own
        });
        // Other handles' last uses happen before their drops, which release
        // the count; this fence makes them happen before the caller's write
        // (as `Arc::get_mut` does).
        std::sync::atomic::fence(std::sync::atomic::Ordering::Acquire);
        unique
    }

    /// The references to the storage this handle holds itself: its own,
    /// plus its base's while this handle alone holds that base; `None` when
    /// another handle shares the base.
    fn own_storage_refs(&self) -> Option<usize> {
        match &self.base {
            None => Some(1),
            Some(b) if Arc::strong_count(b) == 1 && Arc::weak_count(b) == 0 => {
                Some(1 + b.own_storage_refs()?)
            }
            Some(_) => None,
        }
    }

    /// `Ok` when [`Tensor::is_exclusive`]; otherwise `INVALID_ARGUMENT`
    /// naming `shared`, the unsafe variant that writes anyway.
    pub(crate) fn require_exclusive(&self, shared: &str) -> Result<()> {
        if self.is_exclusive() {
            return Ok(());
        }
        Err(if self.storage.is_exclusive() {
            invalid!(
                "cannot write through a shared tensor: other handles (clones, views, DLPack exports) \
                 hold its memory; drop them first, or use the unsafe `{shared}`"
            )
        } else {
            invalid!(
                "cannot write through a shared tensor: its memory is not dlview's alone (a shared file \
                 mapping, a DLPack producer's tensor or caller memory); use the unsafe `{shared}`"
            )
        })
    }

    fn element_ptr(&self, index: &[i64], what: &str) -> Result<*mut u8> {
        self.dtype.require_addressable(what)?;
        self.device().require_host(what)?;
        let offset = self.layout.offset_of(index)?;
        Ok(self
            .data
            .wrapping_byte_offset((offset * self.dtype.itemsize() as i64) as isize))
    }

    /// The absolute byte range `[start, end)` the elements touch, or `None`
    /// when there are none.
    pub fn byte_range(&self) -> Option<(usize, usize)> {
        let itemsize = self.dtype.itemsize().max(1) as isize;
        let (lo, hi) = if self.dtype.is_sub_byte() {
            (0, self.nbytes() as isize)
        } else {
            self.layout.byte_bounds(itemsize as usize).ok()??
        };
        let base = self.data as usize;
        Some((base.wrapping_add_signed(lo), base.wrapping_add_signed(hi)))
    }

    /// NumPy's `may_share_memory`: the byte ranges intersect (same device).
    pub fn may_share_memory(&self, other: &Tensor) -> bool {
        match (self.byte_range(), other.byte_range()) {
            (Some((a0, a1)), Some((b0, b1))) => {
                self.device() == other.device() && a0 < b1 && b0 < a1
            }
            _ => false,
        }
    }

    /// NumPy's `shares_memory`: some byte belongs to an element of both.
    /// Exact when a range test decides it (disjoint ranges, or both tensors
    /// dense), or when the two together have at most
    /// [`EXACT_CHECK_LIMIT`] elements (enumeration); beyond that it answers
    /// like `may_share_memory`.
    pub fn shares_memory(&self, other: &Tensor) -> bool {
        if !self.may_share_memory(other) {
            return false;
        }
        if self.layout.is_dense() && other.layout.is_dense() {
            return true;
        }
        if self.size().saturating_add(other.size()) > EXACT_CHECK_LIMIT
            || self.dtype.is_sub_byte()
            || other.dtype.is_sub_byte()
        {
            return true;
        }
        let (ia, ib) = (
            self.dtype.itemsize() as i128,
            other.dtype.itemsize() as i128,
        );
        let (pa, pb) = (self.data as usize as i128, other.data as usize as i128);
        // Up to 16 MiB of work space. Without it (a process under `ulimit
        // -v`) the answer is the conservative one, "may share" (documented
        // on `dlv_shares_memory`), never an abort (RULES §8).
        let mut starts: Vec<i128> = Vec::new();
        if starts.try_reserve_exact(self.size() as usize).is_err() {
            return true;
        }
        starts.extend(self.layout.offsets().map(|o| pa + i128::from(o) * ia));
        starts.sort_unstable();
        other.layout.offsets().any(|o| {
            let b0 = pb + i128::from(o) * ib;
            let last_start_before_end = starts.partition_point(|&s| s < b0 + ib);
            last_start_before_end > 0 && starts[last_start_before_end - 1] + ia > b0
        })
    }

    /// The diagnostic text of `dlv_tensor_describe` / `Tensor.info()`.
    pub fn describe(&self) -> String {
        let item = self.dtype.itemsize() as i64;
        let byte_strides: Vec<i64> = self
            .strides()
            .iter()
            .map(|s| s.saturating_mul(item))
            .collect();
        let names = [
            (flags::WRITEABLE, "WRITEABLE"),
            (flags::C_CONTIGUOUS, "C_CONTIGUOUS"),
            (flags::F_CONTIGUOUS, "F_CONTIGUOUS"),
            (flags::OWNDATA, "OWNDATA"),
            (flags::ALIGNED, "ALIGNED"),
        ];
        let set: Vec<&str> = names
            .iter()
            .filter(|(f, _)| self.flags & f != 0)
            .map(|&(_, n)| n)
            .collect();
        let mut s = String::new();
        let _ = writeln!(s, "shape:    {}", fmt_dims(self.shape()));
        let _ = writeln!(
            s,
            "strides:  {} elements, {} bytes",
            fmt_dims(self.strides()),
            fmt_dims(&byte_strides)
        );
        let _ = writeln!(
            s,
            "dtype:    {} (itemsize {})",
            self.dtype,
            self.dtype.itemsize()
        );
        let _ = writeln!(s, "device:   {}", self.device());
        let _ = writeln!(s, "data:     {:#x}", self.data_ptr() as usize);
        let _ = writeln!(
            s,
            "flags:    {}",
            if set.is_empty() {
                "none".to_string()
            } else {
                set.join(" | ")
            }
        );
        let _ = writeln!(s, "nbytes:   {}", self.nbytes());
        match self.base() {
            None => {
                let _ = writeln!(s, "base:     none (owns its data)");
            }
            Some(b) => {
                let _ = writeln!(
                    s,
                    "base:     view of a {} tensor of shape {} at {:#x}",
                    b.dtype,
                    fmt_dims(b.shape()),
                    b.data_ptr() as usize
                );
            }
        }
        s
    }

    // ---- views -----------------------------------------------------------

    fn axis(&self, axis: i64) -> Result<usize> {
        normalize_axis(axis, self.ndim())
    }

    /// `t[start:stop:step]` along `axis` (Python semantics; `None` = omitted).
    pub fn slice(
        &self,
        axis: i64,
        start: Option<i64>,
        stop: Option<i64>,
        step: i64,
    ) -> Result<Tensor> {
        let (layout, offset) = self.layout.slice(self.axis(axis)?, start, stop, step)?;
        self.view(layout, offset, self.is_writeable())
    }

    /// `t[..., index, ...]` at `axis`: drops the axis.
    pub fn select(&self, axis: i64, index: i64) -> Result<Tensor> {
        let (layout, offset) = self.layout.select(self.axis(axis)?, index)?;
        self.view(layout, offset, self.is_writeable())
    }

    /// Reorders axes (`axes[k]` is the source axis of result axis `k`).
    pub fn permute(&self, axes: &[i64]) -> Result<Tensor> {
        let layout = self.layout.permute(axes)?;
        self.view(layout, 0, self.is_writeable())
    }

    /// Reverses all axes (NumPy `.T`).
    pub fn transpose(&self) -> Result<Tensor> {
        self.view(self.layout.reversed_axes(), 0, self.is_writeable())
    }

    pub fn flip(&self, axis: i64) -> Result<Tensor> {
        let (layout, offset) = self.layout.flip(self.axis(axis)?)?;
        self.view(layout, offset, self.is_writeable())
    }

    /// Removes `axis` (size 1 required) or, with `None`, every size-1 axis.
    pub fn squeeze(&self, axis: Option<i64>) -> Result<Tensor> {
        let axis = axis.map(|a| self.axis(a)).transpose()?;
        let layout = self.layout.squeeze(axis)?;
        self.view(layout, 0, self.is_writeable())
    }

    /// Inserts a size-1 axis; `axis` is in `-(ndim+1)..=ndim`.
    pub fn expand_dims(&self, axis: i64) -> Result<Tensor> {
        let axis = normalize_axis(axis, self.ndim() + 1)?;
        let layout = self.layout.expand_dims(axis)?;
        self.view(layout, 0, self.is_writeable())
    }

    /// A read-only broadcast view, as NumPy's `broadcast_to`.
    pub fn broadcast_to(&self, shape: &[i64]) -> Result<Tensor> {
        let layout = self.layout.broadcast_to(shape)?;
        self.view(layout, 0, false)
    }

    /// A view with `shape` if the layout allows, else a C-order copy when the
    /// policy permits it (`Never` fails with `COPY_REQUIRED`).
    pub fn reshape(&self, shape: &[i64], mode: CopyMode) -> Result<Tensor> {
        if mode != CopyMode::Always
            && let Some(layout) = self.layout.reshape(shape)?
        {
            return self.view(layout, 0, self.is_writeable());
        }
        let target = layout::resolve_reshape(self.size(), self.shape(), shape)?;
        if mode == CopyMode::Never {
            return Err(Error::CopyRequired(format!(
                "a tensor of shape {} with strides {} cannot be viewed as shape {}",
                fmt_dims(self.shape()),
                fmt_dims(self.strides()),
                fmt_dims(&target)
            )));
        }
        let compact = self.copy(Order::C)?;
        let layout = compact
            .layout
            .reshape(&target)?
            .expect("a C-contiguous tensor reshapes as a view");
        let data = compact.data;
        Tensor::from_storage(compact.storage, data, layout, self.dtype, true)
    }

    /// A view with explicit shape and strides (in elements) relative to this
    /// view's first element. It must stay inside the memory the storage is
    /// known to own or, when that is unknown, inside this view's extent.
    pub fn as_strided(&self, shape: &[i64], strides: &[i64]) -> Result<Tensor> {
        let layout = Layout::new(shape, strides)?;
        let item = self.dtype.itemsize();
        if let Some((lo, hi)) = layout.byte_bounds(item)? {
            let data = self.data as usize;
            // Absolute addresses in i128: a far negative `lo` must not wrap
            // around to an address that compares as inside.
            let (start, end) = (data as i128 + lo as i128, data as i128 + hi as i128);
            let (allowed, what) = match self.storage.known_len() {
                Some(len) => {
                    let base = self.storage.base() as usize;
                    (Some((base, base + len)), "its storage")
                }
                None => (
                    self.byte_range(),
                    "the source view (the storage's extent is unknown)",
                ),
            };
            let inside = allowed
                .is_some_and(|(a0, a1)| start >= a0 as i128 && end <= a1 as i128 && lo <= hi);
            if !inside {
                let (a0, a1) = allowed
                    .map(|(a0, a1)| (a0 as i128 - data as i128, a1 as i128 - data as i128))
                    .unwrap_or((0, 0));
                return Err(invalid!(
                    "as_strided layout of shape {} with strides {} reaches bytes [{lo}, {hi}) from the view's start, \
                     outside [{a0}, {a1}) owned by {what}",
                    fmt_dims(shape),
                    fmt_dims(strides)
                ));
            }
        }
        self.view(layout, 0, self.is_writeable())
    }

    /// NumPy's `sliding_window_view` along `axis` (read-only).
    pub fn sliding_window(&self, axis: i64, window: i64) -> Result<Tensor> {
        let layout = self.layout.sliding_window(self.axis(axis)?, window)?;
        self.view(layout, 0, false)
    }
}

/// The flags of a view; `writeable` is what the caller asks for, and is
/// dropped if elements overlap (rule 2.3). Contiguity and alignment are
/// `Layout`'s answers (the one place they are computed); this runs for
/// every view and every import, and each of them is one short pass over
/// the axes that stops at the first mismatch.
fn compute_flags(
    layout: &Layout,
    data: *const u8,
    dtype: DType,
    writeable: bool,
    owndata: bool,
) -> u32 {
    let (c, f_order) = (layout.is_c_contiguous(), layout.is_f_contiguous());
    let aligned = layout.is_aligned(data as usize, dtype.itemsize(), dtype.alignment());
    let mut f = 0;
    if writeable && (c || f_order || !layout.may_overlap_strided()) {
        f |= flags::WRITEABLE;
    }
    if c {
        f |= flags::C_CONTIGUOUS;
    }
    if f_order {
        f |= flags::F_CONTIGUOUS;
    }
    if owndata {
        f |= flags::OWNDATA;
    }
    if aligned {
        f |= flags::ALIGNED;
    }
    f
}

impl std::fmt::Debug for Tensor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Tensor({}, shape={}, strides={}, {})",
            self.dtype,
            fmt_dims(self.shape()),
            fmt_dims(self.strides()),
            self.device()
        )
    }
}
