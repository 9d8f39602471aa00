//! The element kernels that execute a [`Plan`], and the one dispatch table
//! that picks them for a pair of dtypes.
//!
//! Every kernel is generic over a [`Convert`] (what happens to one element:
//! a move of N bytes, or a typed cast) and is written once:
//! - [`run`]: one axis with fixed byte strides. Packed runs become one
//!   `memcpy` (moves) or one slice conversion (casts, with the `half` fast
//!   paths); a reversed source run becomes a forward loop over a reversed
//!   slice (vectorised); a broadcast source becomes a fill; anything else is
//!   a pointer-bumping loop with no index arithmetic.
//! - [`tile`]: two axes in square tiles through two 16 KiB stack buffers:
//!   source lines are copied whole into one, transposed into the other
//!   inside L1, and destination rows are written whole from it with [`run`],
//!   so neither side thrashes the cache even when its stride is a large
//!   power of two (the classic transpose trap).
//! - [`walk`]: the odometer over the remaining outer axes.
//!
//! float8 is the one family not typed here: it goes element by element
//! through `scalar::{read_f64, write_f64}` (the table-driven codec), which is
//! exact because every float8 value is an f64.
//!
//! Everything here is `unsafe`: the callers (`copy/mod.rs`) have checked the
//! layouts against their storages and that the destination may be written.

use super::cast::{Bool, Complex, Dst, Src, cast_slice};
use super::plan::{Axis, Inner, Plan, walk_offsets};
use super::scalar;
use crate::dtype::{DType, Kind};
use half::{bf16, f16};
use std::marker::PhantomData;
use std::mem::{MaybeUninit, align_of, size_of};

/// What a copy does to one element, as types.
pub(crate) trait Convert: 'static {
    type S: Copy + 'static;
    type D: Copy + 'static;
    /// True when `D == S` and elements are copied bit for bit.
    const IS_MOVE: bool;
    fn one(s: Self::S) -> Self::D;
    /// A packed run, as aligned slices of equal length.
    fn slice(src: &[Self::S], dst: &mut [Self::D]);
}

/// Bit-for-bit copy of `T`-sized elements (whatever their dtype).
pub(crate) struct Move<T>(PhantomData<T>);

impl<T: Copy + 'static> Convert for Move<T> {
    type S = T;
    type D = T;
    const IS_MOVE: bool = true;
    #[inline(always)]
    fn one(s: T) -> T {
        s
    }
    #[inline(always)]
    fn slice(src: &[T], dst: &mut [T]) {
        dst.copy_from_slice(src);
    }
}

/// A typed cast with the semantics of `cast.rs`.
pub(crate) struct Cast<S, D>(PhantomData<(S, D)>);

impl<S: Src, D: Dst> Convert for Cast<S, D> {
    type S = S;
    type D = D;
    const IS_MOVE: bool = false;
    #[inline(always)]
    fn one(s: S) -> D {
        s.cast()
    }
    #[inline(always)]
    fn slice(src: &[S], dst: &mut [D]) {
        cast_slice(src, dst);
    }
}

/// The runtime dtypes of a copy; only the float8 scalar path reads them.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Ctx {
    pub src: DType,
    pub dst: DType,
}

/// Two axes walked in tiles: `y` outer, `x` inner (see `Inner::Tiled`).
pub(crate) struct Tile {
    pub dst: *mut u8,
    pub src: *const u8,
    pub ny: usize,
    pub nx: usize,
    pub dy: isize,
    pub dx: isize,
    pub sy: isize,
    pub sx: isize,
}

type RunFn = unsafe fn(&Ctx, *mut u8, isize, *const u8, isize, usize);
type TileFn = unsafe fn(&Ctx, &Tile);

/// The kernels for one (source dtype, destination dtype) pair.
#[derive(Clone, Copy)]
pub(crate) struct Kernel {
    run: RunFn,
    tile: TileFn,
    ctx: Ctx,
}

/// Runs `n` elements: `dst[i * ds] = convert(src[i * ss])` (byte strides).
///
/// # Safety
/// Every addressed element must be valid (readable / writable), and the
/// destination elements must not overlap the source elements.
unsafe fn run<C: Convert>(_: &Ctx, dst: *mut u8, ds: isize, src: *const u8, ss: isize, n: usize) {
    let (dsz, ssz) = (size_of::<C::D>() as isize, size_of::<C::S>() as isize);
    if ds == dsz {
        if C::IS_MOVE && ss == ssz {
            // SAFETY: two packed, non-overlapping runs of `n` elements (the
            // caller's contract); a byte copy needs no alignment.
            unsafe { std::ptr::copy_nonoverlapping(src, dst, n * dsz as usize) };
            return;
        }
        let aligned = (dst as usize).is_multiple_of(align_of::<C::D>())
            && (src as usize).is_multiple_of(align_of::<C::S>());
        if aligned && n > 0 {
            // SAFETY: the destination is a packed, aligned run of `n`
            // writable elements that no source element overlaps.
            let d = unsafe { std::slice::from_raw_parts_mut(dst.cast::<C::D>(), n) };
            if ss == ssz {
                // SAFETY: a packed, aligned run of `n` readable elements.
                let s = unsafe { std::slice::from_raw_parts(src.cast::<C::S>(), n) };
                return C::slice(s, d);
            }
            if ss == -ssz {
                // SAFETY: the same run, starting from its lowest address.
                let s = unsafe { std::slice::from_raw_parts(src.cast::<C::S>().sub(n - 1), n) };
                for (d, &s) in d.iter_mut().zip(s.iter().rev()) {
                    *d = C::one(s);
                }
                return;
            }
            if ss == 0 {
                // SAFETY: one readable element.
                d.fill(C::one(unsafe { src.cast::<C::S>().read_unaligned() }));
                return;
            }
        }
    }
    let (mut d, mut s) = (dst, src);
    for _ in 0..n {
        // SAFETY: element `i` of each operand, per the caller's contract;
        // unaligned access because views need not be aligned.
        unsafe {
            d.cast::<C::D>()
                .write_unaligned(C::one(s.cast::<C::S>().read_unaligned()))
        };
        d = d.wrapping_offset(ds);
        s = s.wrapping_offset(ss);
    }
}

/// Bytes of each of the two stack buffers a tile passes through: together
/// they stay in a 32 KiB L1 cache next to the lines being streamed.
const TILE_BYTES: usize = 16 * 1024;

#[repr(C, align(64))]
struct TileBuf([MaybeUninit<u8>; TILE_BYTES]);

/// The side of a square tile of `item`-byte elements: the largest power of
/// two (at most 128) whose square fits one buffer (4 bytes: 64, 8: 32).
const fn tile_side(item: usize) -> usize {
    let mut side = 128;
    while side * side * item > TILE_BYTES {
        side /= 2;
    }
    side
}

/// Copies a `ny × nx` block tile by tile, in three passes per tile:
/// 1. each source line (along `y`, the source's small stride) is copied
///    whole into a row of the first buffer — a `memcpy` when packed, so many
///    cache misses are in flight at once;
/// 2. the tile is transposed between the two buffers, inside L1;
/// 3. each destination row (along `x`, the destination's small stride) is
///    converted and written whole from the second buffer with [`run`].
///
/// Streaming whole lines on both sides is what makes this fast: reading or
/// writing across lines that are a large power of two apart evicts them
/// from the cache before their neighbours are used (the transpose trap).
///
/// # Safety
/// As [`run`], for every element of the block.
unsafe fn tile<C: Convert>(ctx: &Ctx, t: &Tile) {
    let side = const { tile_side(size_of::<C::S>()) };
    let mut lines = TileBuf([MaybeUninit::uninit(); TILE_BYTES]);
    let mut rows = TileBuf([MaybeUninit::uninit(); TILE_BYTES]);
    let (l, r) = (
        lines.0.as_mut_ptr().cast::<C::S>(),
        rows.0.as_mut_ptr().cast::<C::S>(),
    );
    let ssz = size_of::<C::S>() as isize;
    let mut y0 = 0;
    while y0 < t.ny {
        let h = side.min(t.ny - y0);
        let mut x0 = 0;
        while x0 < t.nx {
            let w = side.min(t.nx - x0);
            let corner = t
                .src
                .wrapping_offset(y0 as isize * t.sy + x0 as isize * t.sx);
            for x in 0..w {
                // SAFETY: source line `x` of the tile (caller's contract)
                // into buffer row `x`, `h <= side` packed slots.
                unsafe {
                    run::<Move<C::S>>(
                        ctx,
                        l.add(x * side).cast(),
                        ssz,
                        corner.wrapping_offset(x as isize * t.sx),
                        t.sy,
                        h,
                    )
                };
            }
            for y in 0..h {
                for x in 0..w {
                    // SAFETY: slots (x, y) < (w, h) were written above.
                    unsafe { r.add(y * side + x).write(l.add(x * side + y).read()) };
                }
            }
            for y in 0..h {
                let d = t
                    .dst
                    .wrapping_offset((y0 + y) as isize * t.dy + x0 as isize * t.dx);
                // SAFETY: buffer row `y` holds `w` initialised elements; the
                // destination row is part of the block.
                unsafe { run::<C>(ctx, d, t.dx, r.add(y * side).cast(), ssz, w) };
            }
            x0 += w;
        }
        y0 += h;
    }
}

/// One float8 element (either side) through f64. A complex source only gets
/// here with `discard_imaginary`: its real part is used.
///
/// # Safety
/// `src` and `dst` address one element of `ctx.src` / `ctx.dst`.
unsafe fn scalar_one(ctx: &Ctx, dst: *mut u8, src: *const u8) {
    // SAFETY (whole body): per the contract; the helpers read and write
    // unaligned.
    unsafe {
        let value = match (ctx.src.kind(), ctx.src.bits()) {
            (Kind::Complex, 64) => f64::from(src.cast::<f32>().read_unaligned()),
            (Kind::Complex, _) => src.cast::<f64>().read_unaligned(),
            _ => scalar::read_f64(src, ctx.src).unwrap_or(f64::NAN),
        };
        // Only sub-byte destinations fail, and the engine rejects them first.
        let _ = scalar::write_f64(dst, ctx.dst, value);
    }
}

/// # Safety
/// As [`run`].
unsafe fn run_scalar(ctx: &Ctx, dst: *mut u8, ds: isize, src: *const u8, ss: isize, n: usize) {
    let (mut d, mut s) = (dst, src);
    for _ in 0..n {
        // SAFETY: element `i` of each operand, per the caller's contract.
        unsafe { scalar_one(ctx, d, s) };
        d = d.wrapping_offset(ds);
        s = s.wrapping_offset(ss);
    }
}

/// # Safety
/// As [`tile`]. The scalar path is compute-bound, so rows are enough.
unsafe fn tile_scalar(ctx: &Ctx, t: &Tile) {
    for y in 0..t.ny {
        let (d, s) = (
            t.dst.wrapping_offset(y as isize * t.dy),
            t.src.wrapping_offset(y as isize * t.sy),
        );
        // SAFETY: row `y` of the block.
        unsafe { run_scalar(ctx, d, t.dx, s, t.sx, t.nx) };
    }
}

impl Kernel {
    fn typed<C: Convert>(ctx: Ctx) -> Kernel {
        Kernel {
            run: run::<C>,
            tile: tile::<C>,
            ctx,
        }
    }

    /// Executes `plan` from the element-0 addresses of both operands.
    ///
    /// # Safety
    /// `plan` must describe valid layouts of `dst` and `src` (with this
    /// kernel's item sizes); every destination element must be writable and
    /// no destination element may overlap a source element.
    pub(crate) unsafe fn execute(&self, plan: &Plan, dst: *mut u8, src: *const u8) {
        let (dst, src) = (
            dst.wrapping_offset(plan.dst_start),
            src.wrapping_offset(plan.src_start),
        );
        let axes = &plan.axes[..];
        let n = axes.len();
        let ctx = &self.ctx;
        match (plan.inner, n) {
            (Inner::Empty, _) => {}
            // SAFETY: a single element of each operand.
            (Inner::Run, 0) => unsafe { (self.run)(ctx, dst, 0, src, 0, 1) },
            (Inner::Run, _) => {
                let x = axes[n - 1];
                // SAFETY: each call covers one innermost run of the plan.
                walk(&axes[..n - 1], dst, src, |d, s| unsafe {
                    (self.run)(ctx, d, x.dst, s, x.src, x.len)
                });
            }
            (Inner::Tiled, _) => {
                let (y, x) = (axes[n - 2], axes[n - 1]);
                walk(&axes[..n - 2], dst, src, |d, s| {
                    let t = Tile {
                        dst: d,
                        src: s,
                        ny: y.len,
                        nx: x.len,
                        dy: y.dst,
                        dx: x.dst,
                        sy: y.src,
                        sx: x.src,
                    };
                    // SAFETY: each call covers one innermost block of the plan.
                    unsafe { (self.tile)(ctx, &t) }
                });
            }
        }
    }
}

/// Calls `f` with the addresses of every position of `outer`, through the
/// one odometer (`plan::walk_offsets`).
pub(crate) fn walk(
    outer: &[Axis],
    dst: *mut u8,
    src: *const u8,
    mut f: impl FnMut(*mut u8, *const u8),
) {
    walk_offsets(outer, |d, s| {
        f(dst.wrapping_offset(d), src.wrapping_offset(s))
    });
}

/// Binds `$T` to the Rust element type of a (non-float8, addressable) dtype
/// and evaluates `$body`; other dtypes give `None`. The one place that maps
/// dtypes to types.
macro_rules! with_element_type {
    ($dtype:expr, $T:ident => $body:expr) => {
        match ($dtype.kind(), $dtype.bits()) {
            (Kind::Bool, _) => {
                type $T = Bool;
                $body
            }
            (Kind::Int, 8) => {
                type $T = i8;
                $body
            }
            (Kind::Int, 16) => {
                type $T = i16;
                $body
            }
            (Kind::Int, 32) => {
                type $T = i32;
                $body
            }
            (Kind::Int, 64) => {
                type $T = i64;
                $body
            }
            (Kind::UInt, 8) => {
                type $T = u8;
                $body
            }
            (Kind::UInt, 16) => {
                type $T = u16;
                $body
            }
            (Kind::UInt, 32) => {
                type $T = u32;
                $body
            }
            (Kind::UInt, 64) => {
                type $T = u64;
                $body
            }
            (Kind::Float, 16) => {
                type $T = f16;
                $body
            }
            (Kind::Float, 32) => {
                type $T = f32;
                $body
            }
            (Kind::Float, 64) => {
                type $T = f64;
                $body
            }
            (Kind::BFloat, 16) => {
                type $T = bf16;
                $body
            }
            (Kind::Complex, 64) => {
                type $T = Complex<f32>;
                $body
            }
            (Kind::Complex, 128) => {
                type $T = Complex<f64>;
                $body
            }
            _ => None,
        }
    };
}

pub(crate) use with_element_type;

/// A bit-for-bit move of `item`-byte elements.
pub(crate) fn move_kernel(item: usize, ctx: Ctx) -> Option<Kernel> {
    Some(match item {
        1 => Kernel::typed::<Move<u8>>(ctx),
        2 => Kernel::typed::<Move<u16>>(ctx),
        4 => Kernel::typed::<Move<u32>>(ctx),
        8 => Kernel::typed::<Move<u64>>(ctx),
        16 => Kernel::typed::<Move<[u64; 2]>>(ctx),
        _ => return None,
    })
}

/// The dispatch table: the kernels converting `src` elements to `dst`
/// elements, or `None` for a pair that has none (sub-byte types). Whether a
/// cast is *allowed* (complex to real) is the caller's decision.
pub(crate) fn kernel(src: DType, dst: DType) -> Option<Kernel> {
    let ctx = Ctx { src, dst };
    if src.is_sub_byte() || dst.is_sub_byte() {
        return None;
    }
    if src == dst {
        return move_kernel(src.itemsize(), ctx);
    }
    if src.kind() == Kind::Float8 || dst.kind() == Kind::Float8 {
        return Some(Kernel {
            run: run_scalar,
            tile: tile_scalar,
            ctx,
        });
    }
    with_element_type!(src, S => with_element_type!(dst, D => Some(Kernel::typed::<Cast<S, D>>(ctx))))
}

/// `dst[k * dst_step] = src[offsets[k]]` for every `k`, moving `item`-byte
/// elements: `take` along an axis whose slabs are single elements.
///
/// # Safety
/// Every addressed element must be valid, the destination ones writable and
/// disjoint from the source ones.
pub(crate) unsafe fn gather(
    item: usize,
    dst: *mut u8,
    dst_step: isize,
    src: *const u8,
    offsets: &[isize],
) {
    unsafe fn typed<T: Copy>(dst: *mut u8, dst_step: isize, src: *const u8, offsets: &[isize]) {
        let mut d = dst;
        for &o in offsets {
            // SAFETY: per the contract of `gather`.
            unsafe {
                d.cast::<T>()
                    .write_unaligned(src.wrapping_offset(o).cast::<T>().read_unaligned())
            };
            d = d.wrapping_offset(dst_step);
        }
    }
    // SAFETY (all arms): forwarded contract.
    unsafe {
        match item {
            1 => typed::<u8>(dst, dst_step, src, offsets),
            2 => typed::<u16>(dst, dst_step, src, offsets),
            4 => typed::<u32>(dst, dst_step, src, offsets),
            8 => typed::<u64>(dst, dst_step, src, offsets),
            _ => typed::<[u64; 2]>(dst, dst_step, src, offsets),
        }
    }
}
