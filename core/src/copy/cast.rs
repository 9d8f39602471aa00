//! Element conversions with NumPy's unsafe-cast semantics, expressed as two
//! traits so that one generic kernel covers every pair of types.
//!
//! A source type ([`Src`]) says what kind of value it holds (a bool, a signed
//! or unsigned integer, an f32, an f64, a complex number) and calls the one
//! matching constructor of the destination type ([`Dst`]). Each destination
//! implements those few constructors once, so the 15 × 15 pairs need 15 + 15
//! small impls rather than 225 hand-written conversions, and every
//! conversion inlines to the single instruction sequence a direct `as` would.
//!
//! Semantics (NumPy's `casting="unsafe"`, as C casts on x86-64):
//! - integer → integer wraps modulo 2^bits (two's complement truncation);
//! - integer → float rounds to nearest, ties to even;
//! - float → integer truncates toward zero; out-of-range values saturate to
//!   the integer's limits and NaN becomes 0 (Rust's `as`; NumPy leaves these
//!   undefined and on x86-64 usually yields the "integer indefinite" value);
//! - float → narrower float rounds to nearest, ties to even, and overflows
//!   to infinity. f64 → f16 and f64 → bf16 are *correctly* rounded (one
//!   rounding, as NumPy's `npy_double_to_half`), through an f32 rounded to
//!   odd; integers reach f16/bf16 through f64 (exact up to 2^53, and every
//!   larger magnitude overflows f16 anyway);
//! - anything → bool is `value != 0` (NaN is true; a complex value is true
//!   if either part is non-zero); bool → anything is 0 or 1;
//! - real → complex sets the real part and zeroes the imaginary part;
//!   complex → real keeps the real part. The engine refuses that cast unless
//!   the caller asks for it (`CastOptions::discard_imaginary`), because it
//!   silently loses data (NumPy warns with `ComplexWarning`).
//!
//! float8 and sub-byte types are not here: float8 goes through the scalar
//! f64 path (`super::scalar`), sub-byte types cannot be cast.

use half::slice::HalfFloatSliceExt;
use half::{bf16, f16};
use std::any::TypeId;

/// A bool element: one byte, any non-zero value reads as true (NumPy's
/// `npy_bool`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[repr(transparent)]
pub struct Bool(pub u8);

/// A complex element: real part, then imaginary part (C99 `_Complex`,
/// NumPy's `complex64`/`complex128`).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
#[repr(C)]
pub struct Complex<T> {
    pub re: T,
    pub im: T,
}

/// A type that can be built from each kind of source value.
pub trait Dst: Copy + Send + Sync + 'static {
    fn from_bool(b: bool) -> Self;
    fn from_i64(x: i64) -> Self;
    fn from_u64(x: u64) -> Self;
    fn from_f32(x: f32) -> Self;
    fn from_f64(x: f64) -> Self;
    /// From a complex64 value; real types keep the real part.
    fn from_c64(re: f32, im: f32) -> Self;
    /// From a complex128 value; real types keep the real part.
    fn from_c128(re: f64, im: f64) -> Self;
}

/// A type whose values can be cast to any [`Dst`].
pub trait Src: Copy + Send + Sync + 'static {
    fn cast<D: Dst>(self) -> D;
}

macro_rules! primitive_dst {
    ($($t:ty),*) => {$(
        impl Dst for $t {
            #[inline(always)] fn from_bool(b: bool) -> Self { u8::from(b) as $t }
            #[inline(always)] fn from_i64(x: i64) -> Self { x as $t }
            #[inline(always)] fn from_u64(x: u64) -> Self { x as $t }
            #[inline(always)] fn from_f32(x: f32) -> Self { x as $t }
            #[inline(always)] fn from_f64(x: f64) -> Self { x as $t }
            #[inline(always)] fn from_c64(re: f32, _: f32) -> Self { re as $t }
            #[inline(always)] fn from_c128(re: f64, _: f64) -> Self { re as $t }
        }
    )*};
}
primitive_dst!(i8, i16, i32, i64, u8, u16, u32, u64, f32, f64);

macro_rules! primitive_src {
    ($via:ident as $wide:ty: $($t:ty),*) => {$(
        impl Src for $t {
            #[inline(always)]
            fn cast<D: Dst>(self) -> D { D::$via(self as $wide) }
        }
    )*};
}
primitive_src!(from_i64 as i64: i8, i16, i32, i64);
primitive_src!(from_u64 as u64: u8, u16, u32, u64);
primitive_src!(from_f32 as f32: f32);
primitive_src!(from_f64 as f64: f64);

impl Src for f16 {
    #[inline(always)]
    fn cast<D: Dst>(self) -> D {
        // Every f16 is exactly an f32.
        D::from_f32(self.to_f32())
    }
}

impl Src for bf16 {
    #[inline(always)]
    fn cast<D: Dst>(self) -> D {
        D::from_f32(f32::from_bits(u32::from(self.to_bits()) << 16))
    }
}

impl Src for Bool {
    #[inline(always)]
    fn cast<D: Dst>(self) -> D {
        D::from_bool(self.0 != 0)
    }
}

impl Src for Complex<f32> {
    #[inline(always)]
    fn cast<D: Dst>(self) -> D {
        D::from_c64(self.re, self.im)
    }
}

impl Src for Complex<f64> {
    #[inline(always)]
    fn cast<D: Dst>(self) -> D {
        D::from_c128(self.re, self.im)
    }
}

impl Dst for Bool {
    #[inline(always)]
    fn from_bool(b: bool) -> Self {
        Bool(u8::from(b))
    }
    #[inline(always)]
    fn from_i64(x: i64) -> Self {
        Bool(u8::from(x != 0))
    }
    #[inline(always)]
    fn from_u64(x: u64) -> Self {
        Bool(u8::from(x != 0))
    }
    #[inline(always)]
    fn from_f32(x: f32) -> Self {
        Bool(u8::from(x != 0.0))
    }
    #[inline(always)]
    fn from_f64(x: f64) -> Self {
        Bool(u8::from(x != 0.0))
    }
    #[inline(always)]
    fn from_c64(re: f32, im: f32) -> Self {
        Bool(u8::from(re != 0.0 || im != 0.0))
    }
    #[inline(always)]
    fn from_c128(re: f64, im: f64) -> Self {
        Bool(u8::from(re != 0.0 || im != 0.0))
    }
}

// `half`'s types have inherent `from_f32`/`from_f64` (double rounding from
// f64, a branchy bf16 rounding), which `Self::from_*` would pick over the
// trait's: the impls below always name the trait.
impl Dst for f16 {
    #[inline(always)]
    fn from_bool(b: bool) -> Self {
        if b { f16::ONE } else { f16::ZERO }
    }
    #[inline(always)]
    fn from_i64(x: i64) -> Self {
        <Self as Dst>::from_f64(x as f64)
    }
    #[inline(always)]
    fn from_u64(x: u64) -> Self {
        <Self as Dst>::from_f64(x as f64)
    }
    #[inline(always)]
    fn from_f32(x: f32) -> Self {
        f16::from_f32(x)
    }
    #[inline(always)]
    fn from_f64(x: f64) -> Self {
        // f32 has 13 more significand bits than f16, so rounding to odd
        // first and to nearest second is one correct rounding.
        f16::from_f32(f64_to_f32_round_odd(x))
    }
    #[inline(always)]
    fn from_c64(re: f32, _: f32) -> Self {
        <Self as Dst>::from_f32(re)
    }
    #[inline(always)]
    fn from_c128(re: f64, _: f64) -> Self {
        <Self as Dst>::from_f64(re)
    }
}

impl Dst for bf16 {
    #[inline(always)]
    fn from_bool(b: bool) -> Self {
        if b { bf16::ONE } else { bf16::ZERO }
    }
    #[inline(always)]
    fn from_i64(x: i64) -> Self {
        <Self as Dst>::from_f64(x as f64)
    }
    #[inline(always)]
    fn from_u64(x: u64) -> Self {
        <Self as Dst>::from_f64(x as f64)
    }
    #[inline(always)]
    fn from_f32(x: f32) -> Self {
        bf16::from_bits(f32_to_bf16_bits(x))
    }
    #[inline(always)]
    fn from_f64(x: f64) -> Self {
        <Self as Dst>::from_f32(f64_to_f32_round_odd(x))
    }
    #[inline(always)]
    fn from_c64(re: f32, _: f32) -> Self {
        <Self as Dst>::from_f32(re)
    }
    #[inline(always)]
    fn from_c128(re: f64, _: f64) -> Self {
        <Self as Dst>::from_f64(re)
    }
}

macro_rules! complex_dst {
    ($($t:ty),*) => {$(
        impl Dst for Complex<$t> {
            #[inline(always)] fn from_bool(b: bool) -> Self { Complex { re: <$t>::from_bool(b), im: 0.0 } }
            #[inline(always)] fn from_i64(x: i64) -> Self { Complex { re: x as $t, im: 0.0 } }
            #[inline(always)] fn from_u64(x: u64) -> Self { Complex { re: x as $t, im: 0.0 } }
            #[inline(always)] fn from_f32(x: f32) -> Self { Complex { re: x as $t, im: 0.0 } }
            #[inline(always)] fn from_f64(x: f64) -> Self { Complex { re: x as $t, im: 0.0 } }
            #[inline(always)] fn from_c64(re: f32, im: f32) -> Self { Complex { re: re as $t, im: im as $t } }
            #[inline(always)] fn from_c128(re: f64, im: f64) -> Self { Complex { re: re as $t, im: im as $t } }
        }
    )*};
}
complex_dst!(f32, f64);

/// f32 → bf16 bits, round to nearest, ties to even; NaN stays NaN (quiet,
/// sign and top payload bits kept). Branch-free so that a loop of it
/// vectorises.
#[inline(always)]
pub fn f32_to_bf16_bits(x: f32) -> u16 {
    let bits = x.to_bits();
    // Adding 0x7fff plus the lowest kept bit rounds half to even; a carry
    // out of the significand correctly bumps the exponent (up to infinity).
    let rounded = bits.wrapping_add(0x7fff + ((bits >> 16) & 1)) >> 16;
    let quiet_nan = (bits >> 16) | 0x0040;
    let is_nan = (bits & 0x7fff_ffff) > 0x7f80_0000;
    (if is_nan { quiet_nan } else { rounded }) as u16
}

/// f64 → f32 rounded to odd: truncate, then set the lowest significand bit
/// if anything was lost. A second rounding to a format at least two bits
/// narrower is then a single correct rounding of the f64.
#[inline(always)]
pub fn f64_to_f32_round_odd(x: f64) -> f32 {
    let nearest = x as f32;
    let wide = f64::from(nearest);
    if wide == x || x.is_nan() {
        return nearest;
    }
    // Sign-magnitude bits: one step toward zero is `bits - 1`.
    let mut bits = nearest.to_bits();
    if wide.abs() > x.abs() {
        bits -= 1;
    }
    f32::from_bits(bits | 1)
}

/// Reinterprets a slice as `&[T]` when `U` is `T`.
fn same<U: 'static, T: 'static>(s: &[U]) -> Option<&[T]> {
    // SAFETY: the types are identical, so layout and validity are too.
    (TypeId::of::<U>() == TypeId::of::<T>()).then(|| unsafe { &*(s as *const [U] as *const [T]) })
}

fn same_mut<U: 'static, T: 'static>(s: &mut [U]) -> Option<&mut [T]> {
    // SAFETY: as `same`.
    (TypeId::of::<U>() == TypeId::of::<T>()).then(|| unsafe { &mut *(s as *mut [U] as *mut [T]) })
}

/// Casts a packed slice. The f16 pairs use `half`'s slice conversions (F16C
/// on x86-64 when the CPU has it); everything else is one loop the compiler
/// vectorises. The type tests fold away after monomorphisation.
#[inline]
pub fn cast_slice<S: Src, D: Dst>(src: &[S], dst: &mut [D]) {
    debug_assert_eq!(src.len(), dst.len());
    if TypeId::of::<D>() == TypeId::of::<f16>() {
        if let (Some(s), Some(d)) = (same::<S, f32>(src), same_mut::<D, f16>(dst)) {
            return d.convert_from_f32_slice(s);
        }
        if let (Some(s), Some(d)) = (same::<S, f64>(src), same_mut::<D, f16>(dst)) {
            return f64_to_f16_slice(s, d);
        }
    }
    if TypeId::of::<S>() == TypeId::of::<f16>() {
        if let (Some(s), Some(d)) = (same::<S, f16>(src), same_mut::<D, f32>(dst)) {
            return s.convert_to_f32_slice(d);
        }
        if let (Some(s), Some(d)) = (same::<S, f16>(src), same_mut::<D, f64>(dst)) {
            return s.convert_to_f64_slice(d);
        }
    }
    for (d, &s) in dst.iter_mut().zip(src) {
        *d = s.cast();
    }
}

/// f64 → f16 in chunks: round to odd into an f32 buffer on the stack, then
/// the vectorised f32 → f16 conversion.
fn f64_to_f16_slice(src: &[f64], dst: &mut [f16]) {
    let mut buf = [0f32; 256];
    for (s, d) in src.chunks(buf.len()).zip(dst.chunks_mut(buf.len())) {
        let b = &mut buf[..s.len()];
        for (b, &x) in b.iter_mut().zip(s) {
            *b = f64_to_f32_round_odd(x);
        }
        d.convert_from_f32_slice(b);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bf16_rounding_matches_half_and_ties_to_even() {
        for &x in &[
            0.0f32,
            -0.0,
            1.0,
            -1.5,
            3.0e38,
            3.4e38,
            f32::MAX,
            f32::MIN_POSITIVE,
            1e-40,
            f32::INFINITY,
            f32::NEG_INFINITY,
        ] {
            assert_eq!(f32_to_bf16_bits(x), bf16::from_f32(x).to_bits(), "{x}");
        }
        // 1 + 2^-8 lies halfway between bf16 1.0 and 1.0078125: ties go to even (1.0).
        assert_eq!(f32_to_bf16_bits(1.0 + 2f32.powi(-8)), 0x3f80);
        // 1 + 3 * 2^-8 lies halfway between 1.0078125 (odd) and 1.015625: up.
        assert_eq!(f32_to_bf16_bits(1.0 + 3.0 * 2f32.powi(-8)), 0x3f82);
        assert_eq!(
            f32_to_bf16_bits(f32::MAX),
            0x7f80,
            "overflow rounds to infinity"
        );
        let nan = f32_to_bf16_bits(f32::from_bits(0x7f80_0001));
        assert!(
            bf16::from_bits(nan).is_nan(),
            "a NaN with only low payload bits stays NaN"
        );
        assert!(bf16::from_bits(f32_to_bf16_bits(-f32::NAN)).is_nan());
    }

    #[test]
    fn f64_to_half_is_one_correct_rounding() {
        // Just above the midpoint between f16 1.0 and 1 + 2^-10: the nearest
        // is 1 + 2^-10, but rounding to f32 first lands exactly on the tie
        // and then goes to even (1.0).
        let x = 1.0 + 2f64.powi(-11) + 2f64.powi(-40);
        assert_eq!(
            f16::from_f32(x as f32).to_f64(),
            1.0,
            "the double-rounding trap"
        );
        assert_eq!(<f16 as Dst>::from_f64(x).to_f64(), 1.0 + 2f64.powi(-10));
        let mut out = [f16::ZERO; 3];
        cast_slice(&[x, -x, 65520.0], &mut out);
        assert_eq!(out[0].to_f64(), 1.0 + 2f64.powi(-10));
        assert_eq!(out[1].to_f64(), -(1.0 + 2f64.powi(-10)));
        assert!(out[2].is_infinite(), "65520 is the f16 overflow threshold");
        // The same trap for bf16 (8 significand bits).
        let y = 1.0 + 2f64.powi(-8) + 2f64.powi(-40);
        assert_eq!(<bf16 as Dst>::from_f64(y).to_f64(), 1.0 + 2f64.powi(-7));
        assert!(<bf16 as Dst>::from_f64(f64::NAN).is_nan());
        assert!(<f16 as Dst>::from_f64(f64::NAN).is_nan());
        assert_eq!(<bf16 as Dst>::from_f64(1e300).to_f64(), f64::INFINITY);
        assert_eq!(f64_to_f32_round_odd(1e300), f32::MAX);
        assert_eq!(f64_to_f32_round_odd(-1e-300), -f32::from_bits(1));
    }

    #[test]
    fn numpy_unsafe_cast_semantics() {
        assert_eq!((-1i8).cast::<u64>(), u64::MAX);
        assert_eq!(300i32.cast::<u8>(), 44);
        assert_eq!((-2.7f64).cast::<i32>(), -2, "truncates toward zero");
        assert_eq!(f32::NAN.cast::<i32>(), 0);
        assert_eq!(1e20f64.cast::<i16>(), i16::MAX, "saturates (documented)");
        assert_eq!(f32::NAN.cast::<Bool>(), Bool(1));
        assert_eq!((-0.0f32).cast::<Bool>(), Bool(0));
        assert_eq!(Bool(7).cast::<f64>(), 1.0);
        assert_eq!(
            Complex {
                re: 0.0f32,
                im: 2.0
            }
            .cast::<Bool>(),
            Bool(1)
        );
        assert_eq!(
            Complex {
                re: 1.5f64,
                im: 2.0
            }
            .cast::<i8>(),
            1
        );
        assert_eq!(3u16.cast::<Complex<f64>>(), Complex { re: 3.0, im: 0.0 });
        assert_eq!(u64::MAX.cast::<f32>(), 18446744073709551616.0);
        assert_eq!(i64::MIN.cast::<f16>(), f16::NEG_INFINITY);
        assert_eq!(2049i32.cast::<f16>().to_f32(), 2048.0, "ties to even");
        assert_eq!(bf16::from_f32(-3.0).cast::<i64>(), -3);
    }
}
