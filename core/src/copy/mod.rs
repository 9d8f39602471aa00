//! Element copies: every copy the library makes goes through here — `copy`
//! and `astype` in any order, a reshape that must copy, exports that must
//! copy, `copy_into` (assignment with broadcasting and casting) and `take`.
//!
//! One engine serves them all: [`plan::Plan`] decides how to walk a pair of
//! layouts (drop size-1 axes, flip axes so the destination is written
//! forward, sort axes into the destination's memory order, merge axes that
//! are contiguous in both operands, tile a transpose), and `kernels`
//! executes the plan with kernels generic over the element conversion,
//! picked from one dispatch table. [`cast`] defines the conversions (NumPy's
//! unsafe-cast semantics, documented there).
//!
//! Memory: a copy allocates its output and nothing proportional to its input.
//! The one exception is `copy_into` (behind [`Tensor::copy_into`]) when
//! source and destination may share memory: the source is first copied to
//! a temporary (as NumPy does), unless both are single packed runs of the
//! same dtype (then it is a `memmove`).
//!
//! This module owns the only code that reads or writes elements in bulk
//! through raw pointers; callers hand it tensors whose layouts were validated
//! against their storage when the views were made. It never changes a view.

pub mod cast;
pub(crate) mod dispatch;
pub(crate) mod gather;
mod kernels;
pub mod minifloat;
pub mod parallel;
pub mod plan;
pub mod scalar;

use crate::device::Device;
use crate::dtype::{DType, Kind};
use crate::error::{Error, Result, invalid};
use crate::layout::{Layout, Order, fmt_dims, normalize_axis, resolve_index};
use crate::storage::Storage;
use crate::tensor::Tensor;
use kernels::Kernel;
use plan::Plan;
use std::sync::Arc;

/// Options of a casting copy beyond NumPy's default `casting="unsafe"`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CastOptions {
    /// Allow complex → real casts, keeping the real part (NumPy does this
    /// with a `ComplexWarning`). Off by default: such a cast fails with
    /// `UNSUPPORTED_DTYPE`. Complex → bool is always allowed (it tests both
    /// parts).
    pub discard_imaginary: bool,
}

/// The compact layout a copy of `src` gets in `order`. `K` orders axes as the
/// source does (by decreasing stride magnitude), as NumPy does.
pub fn layout_for_copy(src: &Layout, order: Order) -> Result<Layout> {
    match order {
        Order::C | Order::F => Layout::compact(src.shape(), order),
        Order::K => {
            let mut axes: Vec<usize> = (0..src.ndim()).collect();
            // Stable: equal strides keep their C order.
            axes.sort_by_key(|&a| std::cmp::Reverse(src.strides()[a].unsigned_abs()));
            let permuted: Vec<i64> = axes.iter().map(|&a| src.shape()[a]).collect();
            let compact = Layout::compact(&permuted, Order::C)?;
            let mut strides = vec![0; src.ndim()];
            for (k, &a) in axes.iter().enumerate() {
                strides[a] = compact.strides()[k];
            }
            Layout::new(src.shape(), &strides)
        }
    }
}

/// The kernels for a `src` → `dst` cast, or why there are none.
fn kernel_for(src: DType, dst: DType, opts: CastOptions) -> Result<Kernel> {
    src.require_addressable("copying")?;
    dst.require_addressable("copying")?;
    if src.kind() == Kind::Complex
        && !matches!(dst.kind(), Kind::Complex | Kind::Bool)
        && !opts.discard_imaginary
    {
        return Err(Error::UnsupportedDtype(format!(
            "casting {src} to {dst} would discard the imaginary part; \
             take the real part explicitly (or allow it with CastOptions::discard_imaginary)"
        )));
    }
    kernels::kernel(src, dst)
        .ok_or_else(|| Error::UnsupportedDtype(format!("no cast from {src} to {dst}")))
}

/// A new, writeable, CPU tensor of `layout` whose elements the caller must
/// all write before anyone else sees it.
pub(crate) fn new_output(dtype: DType, layout: Layout) -> Result<Tensor> {
    let nbytes = dtype.compact_nbytes(layout.size())?;
    // Not zeroed: every element is written before the tensor is returned.
    let storage = Arc::new(Storage::allocate(nbytes, false, Device::CPU)?);
    let data = storage.base();
    Tensor::from_storage(storage, data, layout, dtype, true)
}

/// A new, writeable, CPU tensor holding `src`'s elements cast to `dtype`,
/// in `order` (C, F, or K: the source's axis order, with positive strides).
/// Complex → real fails; see [`copy_to_new_with`].
pub fn copy_to_new(src: &Tensor, dtype: DType, order: Order) -> Result<Tensor> {
    copy_to_new_with(src, dtype, order, CastOptions::default())
}

/// As [`copy_to_new`], with cast options.
pub fn copy_to_new_with(
    src: &Tensor,
    dtype: DType,
    order: Order,
    opts: CastOptions,
) -> Result<Tensor> {
    let kernel = kernel_for(src.dtype(), dtype, opts)?;
    src.device().require_host("copying elements")?;
    let layout = layout_for_copy(src.layout(), order)?;
    let plan = Plan::new(
        src.shape(),
        layout.strides(),
        dtype.itemsize(),
        src.strides(),
        src.dtype().itemsize(),
    );
    let out = new_output(dtype, layout)?;
    // SAFETY: `out` is a fresh, compact buffer of `src`'s shape that nothing
    // else can see (so no overlap), and `src`'s layout was validated against
    // its storage when the view was made. Its pages are first touched by
    // the threads that write them (the buffer is not zeroed), so the page
    // faults of a fresh output are spread over the threads too.
    unsafe {
        parallel::execute(
            &kernel,
            &plan,
            out.raw_data(),
            src.raw_data(),
            traffic(&plan, dtype, src.dtype()),
        )
    };
    Ok(out)
}

/// The bytes a copy of `plan` reads and writes: what decides whether it is
/// worth threads.
fn traffic(plan: &Plan, dst: DType, src: DType) -> usize {
    plan.len().saturating_mul(dst.itemsize() + src.itemsize())
}

/// `src` as a layout of `shape` for assignment: NumPy's broadcasting, plus
/// leading size-1 axes of `src` beyond `shape`'s rank may be dropped.
pub(crate) fn broadcast_source(src: &Layout, shape: &[i64]) -> Result<Layout> {
    let incompatible = || {
        invalid!(
            "could not broadcast input array from shape {} into shape {}",
            fmt_dims(src.shape()),
            fmt_dims(shape)
        )
    };
    let extra = src.ndim().saturating_sub(shape.len());
    if src.shape()[..extra].iter().any(|&n| n != 1) {
        return Err(incompatible());
    }
    Layout::new(&src.shape()[extra..], &src.strides()[extra..])?
        .broadcast_to(shape)
        .map_err(|_| incompatible())
}

/// NumPy's `dst[...] = src`: broadcasts `src` to `dst`'s shape, casts to
/// `dst`'s dtype (complex → real refused unless `opts` allow it), and is
/// correct when the two share memory (`a[1:] = a[:-1]`): overlapping operands
/// go through a temporary copy of `src`, or a `memmove` when both are single
/// packed runs of one dtype; an assignment of a view to itself does nothing.
/// Whether they may share memory is decided from byte ranges (NumPy's
/// `may_share_memory`), so interleaved views such as `a[::2] = a[1::2]` also
/// take the temporary: a cost, never a wrong result.
///
/// Fails with `READ_ONLY` ("assignment destination is read-only") for a
/// read-only `dst`, `UNSUPPORTED_DEVICE` for non-CPU memory, and
/// `INVALID_ARGUMENT` when the shapes do not broadcast. On failure nothing
/// has been written.
///
/// Crate-private: it writes through `&Tensor`. The public faces are
/// [`Tensor::copy_into`] (which requires an exclusive `&mut` destination)
/// and the unsafe [`Tensor::copy_into_shared`].
pub(crate) fn copy_into(dst: &Tensor, src: &Tensor, opts: CastOptions) -> Result<()> {
    dst.require_writeable()?;
    let kernel = kernel_for(src.dtype(), dst.dtype(), opts)?;
    dst.device().require_host("writing elements")?;
    src.device().require_host("reading elements")?;
    let source = broadcast_source(src.layout(), dst.shape())?;
    let (di, si) = (dst.dtype().itemsize(), src.dtype().itemsize());
    let plan = Plan::new(dst.shape(), dst.strides(), di, source.strides(), si);
    if plan.is_empty() {
        return Ok(());
    }
    let (dp, sp) = (dst.raw_data(), src.raw_data());
    if dst.may_share_memory(src) {
        let same_dtype = src.dtype() == dst.dtype();
        if same_dtype
            && std::ptr::eq(dp, sp)
            && plan.dst_start == plan.src_start
            && plan.axes.iter().all(|a| a.dst == a.src)
        {
            return Ok(());
        }
        if same_dtype && plan.is_one_packed_run(di, si) {
            // One thread on purpose: pieces of an overlapping move would
            // read bytes that other pieces are writing.
            // SAFETY: two packed runs of `plan.len()` elements inside their
            // validated layouts; `copy` allows them to overlap.
            unsafe {
                std::ptr::copy(
                    sp.wrapping_offset(plan.src_start),
                    dp.wrapping_offset(plan.dst_start),
                    plan.len() * di,
                )
            };
            return Ok(());
        }
        // The overlap is resolved here, before any split: the (possibly
        // parallel) copy below reads a temporary no thread writes.
        let temporary = copy_to_new(src, src.dtype(), Order::K)?;
        let source = broadcast_source(temporary.layout(), dst.shape())?;
        let plan = Plan::new(dst.shape(), dst.strides(), di, source.strides(), si);
        let bytes = traffic(&plan, dst.dtype(), src.dtype());
        // SAFETY: `dst` is writeable (checked), so its elements do not
        // overlap each other, and it cannot overlap the fresh temporary;
        // both layouts are valid.
        unsafe { parallel::execute(&kernel, &plan, dp, temporary.raw_data(), bytes) };
        return Ok(());
    }
    let bytes = traffic(&plan, dst.dtype(), src.dtype());
    // SAFETY: `dst` is writeable, so its elements do not overlap each other,
    // and its byte range is disjoint from `src`'s; both layouts are valid.
    unsafe { parallel::execute(&kernel, &plan, dp, sp, bytes) };
    Ok(())
}

/// NumPy's `take(src, indices, axis)` for a 1-D list of indices: a new
/// C-contiguous tensor whose `axis` has `indices.len()` entries, entry `k`
/// being `src`'s entry `indices[k]` (negative indices count from the end).
/// Every index is checked before anything is allocated; one out of range is
/// `INDEX` ("index 7 is out of bounds for axis 0 with size 5").
pub fn take(src: &Tensor, axis: i64, indices: &[i64]) -> Result<Tensor> {
    src.dtype().require_addressable("take")?;
    src.device().require_host("reading elements")?;
    let axis = normalize_axis(axis, src.ndim())?;
    let item = src.dtype().itemsize();
    let (size, stride) = (src.shape()[axis], src.strides()[axis]);
    // In range, so `i * stride` is an offset inside the validated layout.
    let offsets = indices
        .iter()
        .map(|&i| resolve_index(i, axis, size).map(|i| (i * stride) as isize * item as isize))
        .collect::<Result<Vec<isize>>>()?;
    let mut shape = src.shape().to_vec();
    shape[axis] = i64::try_from(indices.len()).map_err(|_| invalid!("too many indices"))?;
    let out = new_output(src.dtype(), Layout::compact(&shape, Order::C)?)?;
    // `out` is `[before, indices, after]`: a gather with nothing advanced
    // but the one axis (cut across threads like any other).
    let ss = src.strides();
    let around = gather::Around {
        outer_shape: &shape[..axis],
        outer_strides: &ss[..axis],
        inner_shape: &shape[axis + 1..],
        inner_strides: &ss[axis + 1..],
    };
    gather::gather_all(src, &around, &offsets, &out)?;
    Ok(out)
}
