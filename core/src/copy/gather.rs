//! The kernels of advanced indexing (`index.rs`): gather (`out = v[key]`)
//! and scatter (`v[key] = value`) through precomputed byte offsets, and the
//! boolean-mask fast paths that need no offsets at all.
//!
//! A selection is described as NumPy lays out its result: `[outer, B,
//! inner]`, where `B` is the flattened broadcast shape of the index
//! tensors (one byte offset per position, `offsets`), `outer` the source
//! axes placed before it and `inner` those after it. Each (outer position,
//! `b`) pair is one *slab* of the `inner` axes, copied with the ordinary
//! copy kernels (a single element when `inner` is empty: then a typed
//! gather/scatter loop). Every kernel is generic over the item size (one
//! dispatch, never one call per element) and works on a range of output
//! positions, so a caller may later split the work across threads.
//!
//! Callers (`index.rs`) check every index and the writeability of the
//! destination before calling; these functions trust the offsets.

use super::kernels::{self, Ctx, Kernel};
use super::plan::{Axis, Plan};
use crate::dtype::DType;
use crate::error::{Error, Result, invalid};
use crate::tensor::Tensor;
use std::mem::{align_of, size_of};

/// The elements of a host tensor as a slice of `T`, when its layout allows
/// it (C-contiguous, aligned, one `T` per element); `None` otherwise.
///
/// The slice reads memory that other handles may write (as any read of a
/// shared buffer does); index tensors are read once, up front.
pub(crate) fn host_slice<T: Copy>(t: &Tensor) -> Option<&[T]> {
    let ok = t.device().is_cpu()
        && t.dtype().itemsize() == size_of::<T>()
        && !t.dtype().is_sub_byte()
        && t.layout().is_c_contiguous()
        && (t.raw_data() as usize).is_multiple_of(align_of::<T>());
    if !ok {
        return None;
    }
    if t.size() == 0 {
        return Some(&[]);
    }
    // SAFETY: a C-contiguous host view of `size` elements of `size_of::<T>()`
    // bytes, aligned, inside the storage `t` keeps alive for the borrow (its
    // layout was checked against the storage when the view was made).
    Some(unsafe { std::slice::from_raw_parts(t.raw_data().cast::<T>(), t.size() as usize) })
}

/// The move kernel for `dtype`'s elements.
fn mover(dtype: DType) -> Result<Kernel> {
    kernels::move_kernel(
        dtype.itemsize(),
        Ctx {
            src: dtype,
            dst: dtype,
        },
    )
    .ok_or_else(|| Error::UnsupportedDtype(format!("indexing {dtype} elements")))
}

/// The shape of a selection: the source's remaining axes around the block
/// of advanced positions (strides in elements, in the source view).
pub(crate) struct Around<'a> {
    pub outer_shape: &'a [i64],
    pub outer_strides: &'a [i64],
    pub inner_shape: &'a [i64],
    pub inner_strides: &'a [i64],
}

impl Around<'_> {
    fn inner_size(&self) -> usize {
        self.inner_shape.iter().product::<i64>() as usize
    }

    /// The outer axes as odometer axes: `compact` for the compact operand
    /// (whose outer step is `per_outer` bytes per position), the strides
    /// for the strided one. Returned as (compact side, strided side).
    fn outer_axes(&self, item: usize, per_outer: isize) -> Vec<Axis> {
        let mut axes = Vec::with_capacity(self.outer_shape.len());
        let mut step = per_outer;
        for (&n, &s) in self.outer_shape.iter().zip(self.outer_strides).rev() {
            axes.push(Axis {
                len: n as usize,
                dst: step,
                src: s as isize * item as isize,
            });
            step *= n as isize;
        }
        axes.reverse();
        axes
    }
}

/// `out[o, first + k, i] = v[o + offsets[k] + i]` for every outer position
/// `o`, every `k < offsets.len()` and every inner position `i`. `out` is a
/// fresh C-contiguous tensor of shape `[outer, B, inner]` whose `B` block
/// has `b_total` positions; `first` is where `offsets` starts in it (a
/// caller may compute the offsets chunk by chunk when `outer` is empty).
pub(crate) fn gather(
    v: &Tensor,
    around: &Around<'_>,
    offsets: &[isize],
    first: usize,
    b_total: usize,
    out: &Tensor,
) -> Result<()> {
    let kernel = mover(v.dtype())?;
    v.device().require_host("indexing")?;
    let item = v.dtype().itemsize();
    let inner = around.inner_size();
    // `walk` expects every axis to have a position.
    if inner == 0 || offsets.is_empty() || around.outer_shape.contains(&0) {
        return Ok(());
    }
    let slab_bytes = (inner * item) as isize;
    let compact = crate::layout::compact_strides(around.inner_shape, crate::layout::Order::C)?;
    let slab = Plan::new(
        around.inner_shape,
        &compact,
        item,
        around.inner_strides,
        item,
    );
    let outer = around.outer_axes(item, slab_bytes * b_total as isize);
    let dst0 = out.raw_data().wrapping_offset(first as isize * slab_bytes);
    kernels::walk(&outer, dst0, v.raw_data(), |d, s| {
        if slab.axes.is_empty() {
            // SAFETY: `out` is fresh (disjoint from `v`) and holds the
            // `offsets.len()` elements from `d`; every offset was checked
            // against `v`'s validated layout by the caller.
            unsafe { kernels::gather(item, d, slab_bytes, s, offsets) };
        } else {
            for (k, &o) in offsets.iter().enumerate() {
                // SAFETY: as above, one slab at a time.
                unsafe {
                    kernel.execute(
                        &slab,
                        d.wrapping_offset(k as isize * slab_bytes),
                        s.wrapping_offset(o),
                    )
                };
            }
        }
    });
    Ok(())
}

/// `v[o + offsets[k] + i] = value[o, k, i]`, positions in order (so the
/// last of repeated offsets wins, as in NumPy). `value` has `v`'s dtype and
/// is either C-contiguous of shape `[outer, B, inner]` or a single element
/// (broadcast to every position); it must not share memory with `v`.
pub(crate) fn scatter(
    v: &mut Tensor,
    around: &Around<'_>,
    offsets: &[isize],
    value: &Tensor,
) -> Result<()> {
    v.require_writeable()?;
    let kernel = mover(v.dtype())?;
    v.device().require_host("indexing")?;
    value.device().require_host("reading elements")?;
    if value.dtype() != v.dtype() || v.may_share_memory(value) {
        return Err(invalid!(
            "scatter needs a separate value of the destination's dtype"
        ));
    }
    let item = v.dtype().itemsize();
    let inner = around.inner_size();
    // `walk` expects every axis to have a position.
    if inner == 0 || offsets.is_empty() || around.outer_shape.contains(&0) {
        return Ok(());
    }
    let single = value.size() == 1;
    let slab_bytes = if single { 0 } else { (inner * item) as isize };
    let value_strides = if single {
        crate::layout::Dims::from_elem(0, around.inner_shape.len())
    } else {
        crate::layout::compact_strides(around.inner_shape, crate::layout::Order::C)?
    };
    let slab = Plan::new(
        around.inner_shape,
        around.inner_strides,
        item,
        &value_strides,
        item,
    );
    let mut outer = around.outer_axes(item, slab_bytes * offsets.len() as isize);
    // `walk` calls its first pointer `dst`: here the strided side is the
    // destination, so swap the roles of the two strides.
    for a in &mut outer {
        std::mem::swap(&mut a.dst, &mut a.src);
    }
    let dst0 = v.data_ptr_mut()?;
    kernels::walk(&outer, dst0, value.raw_data(), |d, s| {
        if slab.axes.is_empty() {
            // SAFETY: `v` is writeable (its elements do not overlap) and
            // disjoint from `value`; every offset was checked by the caller.
            unsafe { scatter_elements(item, d, offsets, s, slab_bytes) };
        } else {
            for (k, &o) in offsets.iter().enumerate() {
                // SAFETY: as above, one slab at a time.
                unsafe {
                    kernel.execute(
                        &slab,
                        d.wrapping_offset(o),
                        s.wrapping_offset(k as isize * slab_bytes),
                    )
                };
            }
        }
    });
    Ok(())
}

/// `dst[offsets[k]] = src[k * src_step]` for every `k`, in order.
///
/// # Safety
/// Every addressed element must be valid, the destination ones writable and
/// disjoint from the source ones.
unsafe fn scatter_elements(
    item: usize,
    dst: *mut u8,
    offsets: &[isize],
    src: *const u8,
    src_step: isize,
) {
    unsafe fn typed<T: Copy>(dst: *mut u8, offsets: &[isize], src: *const u8, src_step: isize) {
        if src_step == 0 {
            // SAFETY: one readable element (contract).
            let x = unsafe { src.cast::<T>().read_unaligned() };
            for &o in offsets {
                // SAFETY: per the contract.
                unsafe { dst.wrapping_offset(o).cast::<T>().write_unaligned(x) };
            }
            return;
        }
        let mut s = src;
        for &o in offsets {
            // SAFETY: per the contract.
            unsafe {
                dst.wrapping_offset(o)
                    .cast::<T>()
                    .write_unaligned(s.cast::<T>().read_unaligned())
            };
            s = s.wrapping_offset(src_step);
        }
    }
    // SAFETY (all arms): forwarded contract.
    unsafe {
        match item {
            1 => typed::<u8>(dst, offsets, src, src_step),
            2 => typed::<u16>(dst, offsets, src, src_step),
            4 => typed::<u32>(dst, offsets, src, src_step),
            8 => typed::<u64>(dst, offsets, src, src_step),
            _ => typed::<[u64; 2]>(dst, offsets, src, src_step),
        }
    }
}

/// How many mask bytes are non-zero (true).
pub(crate) fn count_true(mask: &[u8]) -> usize {
    // Summing `min(b, 1)` vectorises; a branch per byte would not.
    mask.iter().map(|&b| usize::from(b.min(1))).sum()
}

/// Eight mask bytes at once, for skipping all-false runs.
#[inline(always)]
fn word(mask: &[u8], i: usize) -> u64 {
    u64::from_ne_bytes(mask[i..i + 8].try_into().expect("eight bytes"))
}

/// The fast path of `t[mask]` when `mask` covers every axis of a
/// C-contiguous `src`: `out[j]` is the `j`-th element of `src` whose mask
/// byte is non-zero. `out` is fresh, C-contiguous, with `count_true(mask)`
/// elements of `src`'s dtype; the mask has `src.size()` bytes.
pub(crate) fn mask_select(src: &Tensor, mask: &[u8], out: &Tensor) -> Result<()> {
    mover(src.dtype())?;
    src.device().require_host("indexing")?;
    let ok = src.layout().is_c_contiguous()
        && out.layout().is_c_contiguous()
        && mask.len() == src.size() as usize
        && out.dtype() == src.dtype()
        && out.size() as usize == count_true(mask);
    if !ok {
        return Err(invalid!("mask_select: operands do not match"));
    }
    if out.size() == 0 {
        return Ok(());
    }
    // SAFETY: `src` has `mask.len()` packed elements, `out` (fresh, so
    // disjoint) exactly as many as the mask has true bytes.
    unsafe { dispatch_select(src.dtype().itemsize(), src.raw_data(), mask, out.raw_data()) };
    Ok(())
}

/// # Safety
/// `src` holds `mask.len()` packed elements of `item` bytes, `dst` room for
/// `count_true(mask)` of them, disjoint from `src`.
unsafe fn dispatch_select(item: usize, src: *const u8, mask: &[u8], dst: *mut u8) {
    unsafe fn typed<T: Copy>(src: *const u8, mask: &[u8], dst: *mut u8) {
        let (s, d) = (src.cast::<T>(), dst.cast::<T>());
        let n = mask.len();
        let total = count_true(mask);
        let (mut i, mut j) = (0usize, 0usize);
        // Branch-free inside each 8-byte group: every element is written
        // at `j` and `j` advances only for true ones. The group's last
        // write may land one past the last true slot, so groups run only
        // while 8 more slots exist; the tail takes the branchy loop.
        while i + 8 <= n && j + 8 <= total {
            let w = word(mask, i);
            if w != 0 {
                for k in 0..8 {
                    // SAFETY: `i + k < n` and `j < total` (j + 8 <= total).
                    unsafe {
                        d.add(j).write_unaligned(s.add(i + k).read_unaligned());
                    }
                    j += usize::from(mask[i + k].min(1));
                }
            }
            i += 8;
        }
        while i < n {
            if mask[i] != 0 {
                // SAFETY: `j < total` because element `i` is true and
                // counted; `i < n`.
                unsafe { d.add(j).write_unaligned(s.add(i).read_unaligned()) };
                j += 1;
            }
            i += 1;
        }
    }
    // SAFETY (all arms): forwarded contract.
    unsafe {
        match item {
            1 => typed::<u8>(src, mask, dst),
            2 => typed::<u16>(src, mask, dst),
            4 => typed::<u32>(src, mask, dst),
            8 => typed::<u64>(src, mask, dst),
            _ => typed::<[u64; 2]>(src, mask, dst),
        }
    }
}

/// The fast path of `t[mask] = value` when `mask` covers every axis of a
/// C-contiguous writeable `dst`: every element whose mask byte is non-zero
/// becomes `value`'s single element (same dtype, any memory).
pub(crate) fn mask_fill(dst: &mut Tensor, mask: &[u8], value: &Tensor) -> Result<()> {
    dst.require_writeable()?;
    mover(dst.dtype())?;
    dst.device().require_host("indexing")?;
    value.device().require_host("reading elements")?;
    let ok = dst.layout().is_c_contiguous()
        && mask.len() == dst.size() as usize
        && value.dtype() == dst.dtype()
        && value.size() == 1;
    if !ok {
        return Err(invalid!("mask_fill: operands do not match"));
    }
    if mask.is_empty() {
        return Ok(());
    }
    let d = dst.data_ptr_mut()?;
    // SAFETY: `dst` is writeable with `mask.len()` packed elements; the
    // value is read once before any write, so sharing memory is harmless.
    unsafe { dispatch_fill(dst.dtype().itemsize(), d, mask, value.raw_data()) };
    Ok(())
}

/// # Safety
/// `dst` holds `mask.len()` packed writable elements of `item` bytes;
/// `value` one readable element.
unsafe fn dispatch_fill(item: usize, dst: *mut u8, mask: &[u8], value: *const u8) {
    unsafe fn typed<T: Copy>(dst: *mut u8, mask: &[u8], value: *const u8) {
        // SAFETY: one readable element (contract).
        let x = unsafe { value.cast::<T>().read_unaligned() };
        let n = mask.len();
        if !(dst as usize).is_multiple_of(align_of::<T>()) {
            for (i, &m) in mask.iter().enumerate() {
                if m != 0 {
                    // SAFETY: `i < n` elements of the destination.
                    unsafe { dst.cast::<T>().add(i).write_unaligned(x) };
                }
            }
            return;
        }
        // SAFETY: `n` packed, aligned, writable elements (contract).
        let d = unsafe { std::slice::from_raw_parts_mut(dst.cast::<T>(), n) };
        let (groups, tail) = (d.chunks_exact_mut(8), n - n % 8);
        for (g, (group, m)) in groups.zip(mask.chunks_exact(8)).enumerate() {
            let w = word(mask, g * 8);
            if w == 0 {
                continue; // sparse masks skip eight elements at a time
            }
            // A select rather than a branch per element: random masks would
            // mispredict half the branches; this vectorises.
            for (e, &b) in group.iter_mut().zip(m) {
                *e = if b != 0 { x } else { *e };
            }
        }
        for (e, &b) in d[tail..].iter_mut().zip(&mask[tail..]) {
            if b != 0 {
                *e = x;
            }
        }
    }
    // SAFETY (all arms): forwarded contract.
    unsafe {
        match item {
            1 => typed::<u8>(dst, mask, value),
            2 => typed::<u16>(dst, mask, value),
            4 => typed::<u32>(dst, mask, value),
            8 => typed::<u64>(dst, mask, value),
            _ => typed::<[u64; 2]>(dst, mask, value),
        }
    }
}
