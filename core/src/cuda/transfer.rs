//! Copies across devices: host → device, device → host, device → device
//! (and host → pinned/managed host memory), into a new compact tensor.
//!
//! One packed run is one `cuMemcpy*`. Otherwise a strided host source is
//! first compacted on the host (the CPU copy engine) and sent in one copy;
//! a strided device source is read with `cuMemcpy2D` rows when its layout
//! allows (positive pitches, few rows) and otherwise through the host: its
//! byte extent is fetched in one copy and re-laid out there.

use super::driver::{
    CU_MEMORYTYPE_DEVICE, CU_MEMORYTYPE_HOST, CU_POINTER_ATTRIBUTE_DEVICE_ORDINAL, CUdeviceptr,
    Driver, Memcpy2D, driver,
};
use crate::copy::plan::{Axis, Plan, walk_offsets};
use crate::copy::{self, CastOptions, layout_for_copy};
use crate::device::{Device, kind};
use crate::dtype::DType;
use crate::error::{Result, invalid};
use crate::layout::{Layout, Order};
use crate::storage::Storage;
use crate::tensor::Tensor;
use std::ffi::{c_int, c_void};
use std::sync::Arc;

/// Where an operand's bytes are, for choosing the copy call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Side {
    /// Memory the host can address (CPU, pinned, managed).
    Host,
    /// Device memory of this CUDA ordinal.
    Device(i32),
}

fn side(device: Device) -> Result<Side> {
    if device.device_type == kind::CUDA {
        Ok(Side::Device(device.device_id))
    } else if device.is_host_accessible() {
        Ok(Side::Host)
    } else {
        Err(super::unsupported(device, "copying elements"))
    }
}

/// At most this many `cuMemcpy2D` calls for one strided device copy;
/// beyond that, staging through the host is faster.
const MAX_2D_COPIES: usize = 256;
/// The largest pitch `cuMemcpy2D` is asked for (the driver's limit on
/// current GPUs, `CU_DEVICE_ATTRIBUTE_MAX_PITCH`, is 2^31 - 1).
const MAX_PITCH: isize = (1 << 31) - 1;

/// A new tensor on `device` holding `src`'s elements, compact in `order`
/// (C, F, or K: the source's axis order). Any pair of cpu, cuda,
/// cuda_host and cuda_managed devices; a plain CPU → CPU copy needs no
/// driver, anything else does (`DEVICE_UNAVAILABLE` without it).
pub fn to_device(src: &Tensor, device: Device, order: Order) -> Result<Tensor> {
    let dtype = src.dtype();
    dtype.require_addressable("copying between devices")?;
    if !(device.is_cpu() || super::is_cuda_family(device)) {
        return Err(super::unsupported(device, "copying a tensor"));
    }
    let from = side(src.device())?;
    if from == Side::Host && device.is_cpu() {
        return copy::copy_to_new(src, dtype, order);
    }
    let layout = layout_for_copy(src.layout(), order)?;
    let nbytes = dtype.compact_nbytes(layout.size())?;
    let storage = if device.is_cpu() {
        // Not zeroed: every byte is written before the tensor is returned.
        Storage::allocate(nbytes, false, device)?
    } else {
        super::allocate(device, nbytes, false)?
    };
    let base = storage.base();
    let dst = Tensor::from_storage(Arc::new(storage), base, layout, dtype, true)?;
    transfer(&dst, src)?;
    Ok(dst)
}

/// A host tensor with exactly `layout` (compact, positive strides).
fn host_with_layout(layout: &Layout, dtype: DType) -> Result<Tensor> {
    let storage = Storage::allocate(dtype.compact_nbytes(layout.size())?, false, Device::CPU)?;
    let base = storage.base();
    Tensor::from_storage(Arc::new(storage), base, layout.clone(), dtype, true)
}

/// Copies `src` into `dst`, a fresh compact tensor of the same shape and
/// dtype (positive strides, nothing else sees it yet).
fn transfer(dst: &Tensor, src: &Tensor) -> Result<()> {
    let item = src.dtype().itemsize();
    let plan = Plan::new(src.shape(), dst.strides(), item, src.strides(), item);
    if plan.is_empty() {
        return Ok(());
    }
    let (to, from) = (side(dst.device())?, side(src.device())?);
    let ordinal = match (to, from) {
        (Side::Device(n), _) | (_, Side::Device(n)) => n,
        // Host to pinned/managed host memory: plain host copy.
        (Side::Host, Side::Host) => return copy::copy_into(dst, src, CastOptions::default()),
    };
    let d = driver()?;
    let _ctx = d.enter(ordinal)?;
    for t in [src, dst] {
        if let Side::Device(n) = side(t.device())? {
            check_pointer(d, t, n)?;
        }
    }
    let dst_p = dst.raw_data().wrapping_offset(plan.dst_start);
    let src_p = src.raw_data().wrapping_offset(plan.src_start);
    if plan.is_one_packed_run(item, item) {
        return memcpy(d, (to, dst_p), (from, src_p), plan.len() * item);
    }
    let nbytes = dst.nbytes();
    if from == Side::Host {
        // Compact on the host, then one copy over the bus.
        let staged = host_with_layout(dst.layout(), src.dtype())?;
        copy::copy_into(&staged, src, CastOptions::default())?;
        return memcpy(
            d,
            (to, dst.raw_data()),
            (Side::Host, staged.raw_data()),
            nbytes,
        );
    }
    if let Some(rows) = rows_2d(&plan, item) {
        for r in rows {
            let m = Memcpy2D {
                src_x_in_bytes: 0,
                src_y: 0,
                src_memory_type: CU_MEMORYTYPE_DEVICE,
                src_host: std::ptr::null(),
                src_device: src_p.wrapping_offset(r.src_off) as usize as CUdeviceptr,
                src_array: std::ptr::null_mut(),
                src_pitch: r.src_pitch,
                dst_x_in_bytes: 0,
                dst_y: 0,
                dst_memory_type: if to == Side::Host {
                    CU_MEMORYTYPE_HOST
                } else {
                    CU_MEMORYTYPE_DEVICE
                },
                dst_host: dst_p.wrapping_offset(r.dst_off).cast::<c_void>(),
                dst_device: dst_p.wrapping_offset(r.dst_off) as usize as CUdeviceptr,
                dst_array: std::ptr::null_mut(),
                dst_pitch: r.dst_pitch,
                width_in_bytes: r.width,
                height: r.height,
            };
            // SAFETY: every row lies inside the operands' validated layouts
            // (the plan walks exactly their elements); a context is current.
            d.check(unsafe { (d.memcpy_2d)(&m) }, || {
                format!(
                    "cuMemcpy2D ({} rows of {} bytes, pitches {} and {}, {} to {})",
                    r.height,
                    r.width,
                    r.src_pitch,
                    r.dst_pitch,
                    src.device(),
                    dst.device()
                )
            })?;
        }
        return Ok(());
    }
    // Through the host: fetch the source's whole byte extent in one copy,
    // view it with the source's layout, re-lay it out there.
    let (lo, hi) = src
        .layout()
        .byte_bounds(item)?
        .expect("a non-empty layout has byte bounds");
    let extent = (hi - lo) as usize;
    let stage = Storage::allocate(extent, false, Device::CPU)?;
    let stage_base = stage.base();
    memcpy(
        d,
        (Side::Host, stage_base),
        (from, src.raw_data().wrapping_offset(lo)),
        extent,
    )?;
    let view = Tensor::from_storage(
        Arc::new(stage),
        stage_base.wrapping_offset(-lo),
        src.layout().clone(),
        src.dtype(),
        false,
    )?;
    if to == Side::Host {
        return copy::copy_into(dst, &view, CastOptions::default());
    }
    let staged = host_with_layout(dst.layout(), src.dtype())?;
    copy::copy_into(&staged, &view, CastOptions::default())?;
    memcpy(
        d,
        (to, dst.raw_data()),
        (Side::Host, staged.raw_data()),
        nbytes,
    )
}

/// Runs `write` on a host copy of the bytes that `dst`, a tensor in CUDA
/// device memory, spans, then copies those bytes back: this is how the host
/// kernels (casting copies, scatters) serve device tensors — staging through
/// the host (D2H, host kernel, H2D), not a device kernel.
///
/// The whole byte extent goes back, gaps of a strided view included. The
/// gap bytes were read just before and go back unchanged, and dlview's
/// device copies are synchronous on the legacy default stream; a kernel
/// another stream runs on those bytes meanwhile is the caller's race, as
/// with any DLPack exchange (RULES §6).
pub(crate) fn update_through_host(
    dst: &Tensor,
    write: impl FnOnce(&mut Tensor) -> Result<()>,
) -> Result<()> {
    let Side::Device(ordinal) = side(dst.device())? else {
        return Err(invalid!("{} is not CUDA device memory", dst.device()));
    };
    dst.require_writeable()?;
    // Packed sub-byte types have no element kernels to stage for.
    dst.dtype().require_addressable("writing elements")?;
    let item = dst.dtype().itemsize();
    let (lo, hi) = dst.layout().byte_bounds(item)?.unwrap_or((0, 0));
    let extent = (hi - lo) as usize;
    let d = driver()?;
    let _ctx = d.enter(ordinal)?;
    let device_start = dst.raw_data().wrapping_offset(lo);
    if extent > 0 {
        check_pointer(d, dst, ordinal)?;
    }
    let stage = Storage::allocate(extent, false, Device::CPU)?;
    let stage_base = stage.base();
    if extent > 0 {
        memcpy(
            d,
            (Side::Host, stage_base),
            (Side::Device(ordinal), device_start),
            extent,
        )?;
    }
    let mut view = Tensor::from_storage(
        Arc::new(stage),
        stage_base.wrapping_offset(-lo),
        dst.layout().clone(),
        dst.dtype(),
        true,
    )?;
    write(&mut view)?;
    if extent > 0 {
        memcpy(
            d,
            (Side::Device(ordinal), device_start),
            (Side::Host, stage_base),
            extent,
        )?;
    }
    Ok(())
}

/// Checks that the memory of a CUDA tensor is device memory of `ordinal`
/// known to the driver (a foreign tensor may be mislabelled).
fn check_pointer(d: &Driver, t: &Tensor, ordinal: i32) -> Result<()> {
    let mut owner: c_int = -1;
    let p = t.raw_data() as usize as CUdeviceptr;
    // SAFETY: a valid out-pointer for an int attribute; the driver only
    // looks the address up.
    d.check(
        unsafe {
            (d.pointer_get_attribute)(
                (&raw mut owner).cast(),
                CU_POINTER_ATTRIBUTE_DEVICE_ORDINAL,
                p,
            )
        },
        || {
            format!(
                "cuPointerGetAttribute (the tensor on {} at {p:#x} is not CUDA memory the driver knows)",
                t.device()
            )
        },
    )?;
    if owner != ordinal {
        return Err(invalid!(
            "the tensor says {} but its memory at {p:#x} belongs to cuda:{owner}",
            t.device()
        ));
    }
    Ok(())
}

/// One contiguous copy between two sides.
fn memcpy(d: &Driver, dst: (Side, *mut u8), src: (Side, *mut u8), n: usize) -> Result<()> {
    let (dp, sp) = (dst.1, src.1);
    let what = |call: &str| format!("{call} of {n} bytes");
    // SAFETY: `n` bytes at each pointer lie inside the operands' validated
    // layouts (device pointers were checked by `check_pointer`); a context
    // is current. The driver's synchronous copies run on the legacy
    // default stream, after dlview's earlier work there.
    unsafe {
        match (dst.0, src.0) {
            (Side::Device(_), Side::Host) => d.check(
                (d.memcpy_htod)(dp as usize as CUdeviceptr, sp.cast::<c_void>(), n),
                || what("cuMemcpyHtoD"),
            ),
            (Side::Host, Side::Device(_)) => d.check(
                (d.memcpy_dtoh)(dp.cast::<c_void>(), sp as usize as CUdeviceptr, n),
                || what("cuMemcpyDtoH"),
            ),
            (Side::Device(_), Side::Device(_)) => d.check(
                (d.memcpy_dtod)(dp as usize as CUdeviceptr, sp as usize as CUdeviceptr, n),
                || what("cuMemcpyDtoD"),
            ),
            (Side::Host, Side::Host) => {
                std::ptr::copy_nonoverlapping(sp, dp, n);
                Ok(())
            }
        }
    }
}

/// One `cuMemcpy2D`: `height` rows of `width` bytes at the given byte
/// offsets from the plan's start addresses and the given pitches.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Rows {
    src_off: isize,
    dst_off: isize,
    width: usize,
    height: usize,
    src_pitch: usize,
    dst_pitch: usize,
}

/// Splits a plan into 2-D copies, or `None` when that needs a negative or
/// too large pitch, overlapping source rows, or too many calls.
fn rows_2d(plan: &Plan, item: usize) -> Option<Vec<Rows>> {
    let axes = plan.axes.as_slice();
    let (&last, outer) = axes.split_last()?;
    let packed = |a: &Axis| a.src == item as isize && a.dst == item as isize;
    // A packed inner axis is one row; the next axis gives the pitches.
    // Otherwise every element of the inner axis is a row of one item.
    let (width, rows_axis, rest) = if packed(&last) {
        let (&y, rest) = outer.split_last()?;
        (last.len * item, y, rest)
    } else {
        (item, last, outer)
    };
    let fits = |p: isize| p >= width as isize && p <= MAX_PITCH;
    if !fits(rows_axis.src) || !fits(rows_axis.dst) {
        return None;
    }
    let count = rest
        .iter()
        .try_fold(1usize, |n, a| n.checked_mul(a.len))
        .filter(|&n| n <= MAX_2D_COPIES)?;
    let mut out = Vec::with_capacity(count);
    walk_offsets(rest, |dst_off, src_off| {
        out.push(Rows {
            src_off,
            dst_off,
            width,
            height: rows_axis.len,
            src_pitch: rows_axis.src as usize,
            dst_pitch: rows_axis.dst as usize,
        })
    });
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_of_a_column_slice() {
        // a[:, 1:3] of a (4, 5) float32 C array, into a compact (4, 2).
        let plan = Plan::new(&[4, 2], &[2, 1], 4, &[5, 1], 4);
        let rows = rows_2d(&plan, 4).unwrap();
        assert_eq!(
            rows,
            vec![Rows {
                src_off: 0,
                dst_off: 0,
                width: 8,
                height: 4,
                src_pitch: 20,
                dst_pitch: 8
            }]
        );
    }

    #[test]
    fn element_rows_for_a_strided_inner_axis() {
        // a[::2] of 10 float64: 5 rows of one element, pitch 16.
        let plan = Plan::new(&[5], &[1], 8, &[2], 8);
        let rows = rows_2d(&plan, 8).unwrap();
        assert_eq!((rows.len(), rows[0].width, rows[0].height), (1, 8, 5));
        assert_eq!((rows[0].src_pitch, rows[0].dst_pitch), (16, 8));
    }

    #[test]
    fn three_axes_loop_over_the_outer_one() {
        // x[:, :, :2] of a (3, 4, 5) C array: the outer axes merge, 12 rows.
        let plan = Plan::new(&[3, 4, 2], &[8, 2, 1], 4, &[20, 5, 1], 4);
        let rows = rows_2d(&plan, 4).unwrap();
        assert_eq!((rows.len(), rows[0].height, rows[0].width), (1, 12, 8));
        // x[::2, :, :2] of a (4, 3, 5) C array: they do not, 2 copies.
        let plan = Plan::new(&[2, 3, 2], &[6, 2, 1], 4, &[30, 5, 1], 4);
        let rows = rows_2d(&plan, 4).unwrap();
        assert_eq!(
            rows.iter()
                .map(|r| (r.src_off, r.dst_off, r.height))
                .collect::<Vec<_>>(),
            vec![(0, 0, 3), (120, 24, 3)]
        );
    }

    #[test]
    fn negative_or_broadcast_pitches_fall_back() {
        let plan = Plan::new(&[4, 5], &[5, 1], 4, &[5, -1], 4);
        assert!(rows_2d(&plan, 4).is_none());
        let plan = Plan::new(&[4, 5], &[5, 1], 4, &[-5, 1], 4);
        assert!(rows_2d(&plan, 4).is_none());
        let plan = Plan::new(&[4, 5], &[5, 1], 4, &[0, 1], 4);
        assert!(rows_2d(&plan, 4).is_none());
        // Too many rows of rows.
        let plan = Plan::new(&[1000, 3, 2], &[6, 2, 1], 4, &[40, 10, 1], 4);
        assert!(rows_2d(&plan, 4).is_none());
    }
}
