//! Element copies: every copy the library makes goes through here.
//!
//! This module owns the only code that reads or writes elements through raw
//! pointers; callers hand it tensors whose layouts were validated against
//! their storage when the views were made.

pub mod minifloat;
pub mod scalar;

use crate::device::Device;
use crate::dtype::DType;
use crate::error::{Result, invalid};
use crate::layout::{Layout, Order};
use crate::storage::Storage;
use crate::tensor::Tensor;
use std::sync::Arc;

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

/// A new, writeable, CPU tensor holding `src`'s elements cast to `dtype`.
pub fn copy_to_new(src: &Tensor, dtype: DType, order: Order) -> Result<Tensor> {
    src.dtype().require_addressable("copying")?;
    dtype.require_addressable("copying")?;
    src.device().require_host("copying elements")?;
    let layout = layout_for_copy(src.layout(), order)?;
    let nbytes = layout
        .size()
        .checked_mul(dtype.itemsize() as i64)
        .ok_or_else(|| invalid!("copy of {} elements overflows", layout.size()))?;
    let storage = Arc::new(Storage::allocate(nbytes as usize, false, Device::CPU)?);
    let data = storage.base();
    let out = Tensor::from_storage(storage, data, layout, dtype, true)?;
    // SAFETY: `out` is a fresh buffer of `src`'s shape that nothing else can
    // see yet; `src`'s layout was validated against its storage.
    unsafe { copy_elements(&out, src)? };
    Ok(out)
}

/// Copies (and casts) every element of `src` into `dst`, which has the same
/// shape. Overlap between the two is not handled here.
///
/// # Safety
/// `dst` must be writable host memory not aliased by `src`.
unsafe fn copy_elements(dst: &Tensor, src: &Tensor) -> Result<()> {
    let (si, di) = (src.dtype().itemsize() as isize, dst.dtype().itemsize() as isize);
    let (sp, dp) = (src.raw_data(), dst.raw_data());
    let same = src.dtype() == dst.dtype();
    for (so, doff) in src.layout().offsets().zip(dst.layout().offsets()) {
        let (s, d) = (sp.wrapping_offset(so as isize * si), dp.wrapping_offset(doff as isize * di));
        if same {
            // SAFETY: both addresses are elements of validated layouts.
            unsafe { std::ptr::copy_nonoverlapping(s, d, si as usize) };
        } else {
            // SAFETY: as above; scalar casts read and write one element each.
            let exact = unsafe { scalar::cast_integer(s, src.dtype(), d, dst.dtype()) };
            if !exact {
                // SAFETY: as above.
                unsafe { scalar::write_f64(d, dst.dtype(), scalar::read_f64(s, src.dtype())?)? };
            }
        }
    }
    Ok(())
}
