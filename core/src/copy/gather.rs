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
//! dispatch, never one call per element).
//!
//! Large selections are cut across threads (`parallel`), each piece
//! writing memory no other piece writes, so results never depend on the
//! thread count: a gather cuts its output positions; a mask selection
//! counts each block of the mask first, so that every block knows where its
//! elements go; a scatter cuts the *destination* (by ranges of offset
//! values) and each piece walks every position in order, keeping the last
//! write of repeated indices as one thread does.
//!
//! Callers (`index.rs`) check every index and the writeability of the
//! destination before calling; these functions trust the offsets.

use super::kernels::{self, Ctx, Kernel};
use super::parallel::{self, Disjoint};
use super::plan::{Axis, Plan};
use crate::dtype::DType;
use crate::error::{Error, Result, invalid};
use crate::layout::{Layout, Order};
use crate::tensor::Tensor;
use std::mem::{align_of, size_of};
use std::ops::Range;

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

/// [`gather`] of the whole selection (`offsets` is all of `B`), its
/// positions cut across threads: each piece writes its own positions of
/// every outer row.
pub(crate) fn gather_all(
    v: &Tensor,
    around: &Around<'_>,
    offsets: &[isize],
    out: &Tensor,
) -> Result<()> {
    let slab_bytes = (around.inner_size() * v.dtype().itemsize()).max(1);
    // A piece's first position starts a page of output when `outer` is
    // empty (no two threads fault or write one page).
    let align = (4096 / slab_bytes).max(1);
    parallel::try_parallel_for(offsets.len(), 2 * out.nbytes(), align, |r| {
        gather(v, around, &offsets[r.clone()], r.start, offsets.len(), out)
    })
}

/// `v[o + offsets[k] + i] = value[o, k, i]`, positions in order (so the
/// last of repeated offsets wins, as in NumPy). `value` has `v`'s dtype and
/// is either C-contiguous of shape `[outer, B, inner]` or a single element
/// (broadcast to every position); it must not share memory with `v`.
///
/// Threads: equal offsets address the same slab and distinct offsets
/// disjoint slabs (a writeable view's elements never overlap), so each
/// piece takes a range of offset *values* and walks every position in
/// order, writing only those in its range: every slab is written by one
/// thread, in the one-thread order.
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
    let outer_size: usize = around.outer_shape.iter().map(|&n| n as usize).product();
    let written = outer_size * offsets.len() * inner * item;
    let (lo, hi) = offsets
        .iter()
        .fold((isize::MAX, isize::MIN), |(lo, hi), &o| {
            (lo.min(o), hi.max(o))
        });
    // Offsets come from a validated layout: their span fits isize.
    let span = (hi - lo) as usize + 1;
    let threads = parallel::num_threads();
    let dst0 = Disjoint::new(v.data_ptr_mut()?);
    parallel::parallel_for(threads, 2 * written, 1, |r| {
        // This piece's offset values; `None` when it has them all.
        let values = (r.len() < threads).then(|| {
            let bound = |k: usize| lo + (span as u128 * k as u128 / threads as u128) as isize;
            bound(r.start)..bound(r.end)
        });
        kernels::walk(&outer, dst0.get(), value.raw_data(), |d, s| {
            if slab.axes.is_empty() {
                // SAFETY: `v` is writeable (its elements do not overlap) and
                // disjoint from `value`; every offset was checked by the
                // caller; other pieces write other offset values.
                unsafe { scatter_elements(item, d, offsets, s, slab_bytes, values.clone()) };
                return;
            }
            for (k, &o) in offsets.iter().enumerate() {
                if values.as_ref().is_some_and(|vals| !vals.contains(&o)) {
                    continue;
                }
                // SAFETY: as above, one slab at a time.
                unsafe {
                    kernel.execute(
                        &slab,
                        d.wrapping_offset(o),
                        s.wrapping_offset(k as isize * slab_bytes),
                    )
                };
            }
        });
    });
    Ok(())
}

/// `dst[offsets[k]] = src[k * src_step]` for every `k`, in order, or only
/// for the `k` whose offset lies in `values` when given.
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
    values: Option<Range<isize>>,
) {
    unsafe fn typed<T: Copy>(
        dst: *mut u8,
        offsets: &[isize],
        src: *const u8,
        src_step: isize,
        values: Option<Range<isize>>,
    ) {
        let mut s = src;
        let Some(r) = values else {
            for &o in offsets {
                // SAFETY: per the contract.
                unsafe {
                    dst.wrapping_offset(o)
                        .cast::<T>()
                        .write_unaligned(s.cast::<T>().read_unaligned())
                };
                s = s.wrapping_offset(src_step);
            }
            return;
        };
        // One unsigned comparison per position tests the range.
        let width = r.end.wrapping_sub(r.start) as usize;
        for &o in offsets {
            if (o.wrapping_sub(r.start) as usize) < width {
                // SAFETY: per the contract.
                unsafe {
                    dst.wrapping_offset(o)
                        .cast::<T>()
                        .write_unaligned(s.cast::<T>().read_unaligned())
                };
            }
            s = s.wrapping_offset(src_step);
        }
    }
    // SAFETY (all arms): forwarded contract.
    unsafe {
        match item {
            1 => typed::<u8>(dst, offsets, src, src_step, values),
            2 => typed::<u16>(dst, offsets, src, src_step, values),
            4 => typed::<u32>(dst, offsets, src, src_step, values),
            8 => typed::<u64>(dst, offsets, src, src_step, values),
            _ => typed::<[u64; 2]>(dst, offsets, src, src_step, values),
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

/// Mask bytes counted (then selected) as one unit: a block's elements go
/// to the output from the sum of the earlier blocks' counts.
const MASK_BLOCK: usize = 64 << 10;

/// The fast path of `t[mask]` when `mask` covers every axis of a
/// C-contiguous `src` (`src.size()` mask bytes): a new 1-D C-contiguous
/// tensor of `src`'s elements whose mask byte is non-zero, in order.
pub(crate) fn mask_select(src: &Tensor, mask: &[u8]) -> Result<Tensor> {
    mover(src.dtype())?;
    src.device().require_host("indexing")?;
    if !src.layout().is_c_contiguous() || mask.len() != src.size() as usize {
        return Err(invalid!("mask_select: operands do not match"));
    }
    let item = src.dtype().itemsize();
    let blocks = mask.len().div_ceil(MASK_BLOCK);
    let block = |b: usize| b * MASK_BLOCK..((b + 1) * MASK_BLOCK).min(mask.len());
    // Pass 1: each block's count, then where each block's elements start.
    let mut starts = vec![0usize; blocks + 1];
    let counts = Disjoint::new(starts[1..].as_mut_ptr());
    parallel::parallel_for(blocks, mask.len(), 1, |r| {
        for b in r {
            // SAFETY: slot `b` of `starts[1..]`, written by this piece only.
            unsafe { *counts.get().add(b) = count_true(&mask[block(b)]) };
        }
    });
    for b in 0..blocks {
        starts[b + 1] += starts[b];
    }
    let total = starts[blocks];
    let out = super::new_output(src.dtype(), Layout::compact(&[total as i64], Order::C)?)?;
    if total == 0 {
        return Ok(out);
    }
    // Pass 2: every block selects into its own part of the output.
    let dst = Disjoint::new(out.raw_data());
    parallel::parallel_for(blocks, mask.len() + 2 * total * item, 1, |r| {
        for b in r {
            let m = block(b);
            // SAFETY: `src` has `mask.len()` packed elements; block `b`'s
            // `starts[b + 1] - starts[b]` true ones go to that part of the
            // fresh (so disjoint) output, which no other block writes.
            unsafe {
                dispatch_select(
                    item,
                    src.raw_data().add(m.start * item),
                    &mask[m],
                    dst.get().add(starts[b] * item),
                    starts[b + 1] - starts[b],
                )
            };
        }
    });
    Ok(out)
}

/// # Safety
/// `src` holds `mask.len()` packed elements of `item` bytes, `dst` room for
/// `total` of them, disjoint from `src`; `total` is `count_true(mask)`.
unsafe fn dispatch_select(item: usize, src: *const u8, mask: &[u8], dst: *mut u8, total: usize) {
    unsafe fn typed<T: Copy>(src: *const u8, mask: &[u8], dst: *mut u8, total: usize) {
        let (s, d) = (src.cast::<T>(), dst.cast::<T>());
        let n = mask.len();
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
            1 => typed::<u8>(src, mask, dst, total),
            2 => typed::<u16>(src, mask, dst, total),
            4 => typed::<u32>(src, mask, dst, total),
            8 => typed::<u64>(src, mask, dst, total),
            _ => typed::<[u64; 2]>(src, mask, dst, total),
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
    let item = dst.dtype().itemsize();
    // The value is read once, before any piece writes: it may be one of
    // the destination's own elements.
    let mut x = [0u8; 16];
    if item > x.len() {
        return Err(Error::UnsupportedDtype(format!(
            "indexing {} elements",
            dst.dtype()
        )));
    }
    // SAFETY: `value` is one readable element of `item <= 16` bytes.
    unsafe { std::ptr::copy_nonoverlapping(value.raw_data(), x.as_mut_ptr(), item) };
    let d = Disjoint::new(dst.data_ptr_mut()?);
    // Pieces start on a page of the destination (4096 elements: also a
    // multiple of the eight-byte groups).
    parallel::parallel_for(mask.len(), mask.len() * (2 * item + 1), 4096, |r| {
        // SAFETY: `dst` is writeable with `mask.len()` packed elements; this
        // piece writes only those of `r`.
        unsafe { dispatch_fill(item, d.get().add(r.start * item), &mask[r], x.as_ptr()) };
    });
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
