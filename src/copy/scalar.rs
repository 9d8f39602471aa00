//! Reading and writing single elements as `f64`, for `get_f64`/`set_f64` and
//! the generic cast path.
//!
//! Writes follow NumPy's unsafe-cast semantics: floats to integers truncate
//! toward zero; out-of-range values and NaN saturate (Rust's `as`: NaN → 0),
//! where NumPy leaves them undefined; to bool is `value != 0`; to complex
//! sets the real part and zeroes the imaginary part. Reading a complex
//! element as one `f64` is refused rather than silently dropping the
//! imaginary part.
//!
//! Integer-to-integer casts (and integer to float32) never go through `f64`:
//! see [`cast_integer`].

use super::minifloat;
use crate::dtype::{DType, Kind};
use crate::error::{Error, Result};
use half::{bf16, f16};

/// Reads the element at `ptr` as an `f64`.
///
/// # Safety
/// `ptr` must point at a readable element of `dtype` (any alignment).
pub unsafe fn read_f64(ptr: *const u8, dtype: DType) -> Result<f64> {
    // SAFETY (whole body): the caller guarantees `itemsize` readable bytes;
    // every read is unaligned-safe.
    unsafe {
        Ok(match (dtype.kind(), dtype.bits()) {
            (Kind::Bool, _) => f64::from(u8::from(ptr.read() != 0)),
            (Kind::Int, 8) => f64::from(ptr.cast::<i8>().read_unaligned()),
            (Kind::Int, 16) => f64::from(ptr.cast::<i16>().read_unaligned()),
            (Kind::Int, 32) => f64::from(ptr.cast::<i32>().read_unaligned()),
            (Kind::Int, _) => ptr.cast::<i64>().read_unaligned() as f64,
            (Kind::UInt, 8) => f64::from(ptr.read()),
            (Kind::UInt, 16) => f64::from(ptr.cast::<u16>().read_unaligned()),
            (Kind::UInt, 32) => f64::from(ptr.cast::<u32>().read_unaligned()),
            (Kind::UInt, _) => ptr.cast::<u64>().read_unaligned() as f64,
            (Kind::Float, 16) => ptr.cast::<f16>().read_unaligned().to_f64(),
            (Kind::Float, 32) => f64::from(ptr.cast::<f32>().read_unaligned()),
            (Kind::Float, _) => ptr.cast::<f64>().read_unaligned(),
            (Kind::BFloat, _) => ptr.cast::<bf16>().read_unaligned().to_f64(),
            (Kind::Float8, _) => minifloat::decode(dtype.code(), ptr.read()).unwrap_or(f64::NAN),
            (Kind::Complex, _) => {
                return Err(Error::UnsupportedDtype(format!(
                    "a {dtype} element has no single f64 value (read it as two parts)"
                )));
            }
            (Kind::SubByte, _) => return Err(Error::UnsupportedDtype(format!("{dtype} elements cannot be read one at a time"))),
        })
    }
}

/// Writes `value` into the element at `ptr`, cast to `dtype`.
///
/// # Safety
/// `ptr` must point at a writable element of `dtype` (any alignment).
pub unsafe fn write_f64(ptr: *mut u8, dtype: DType, value: f64) -> Result<()> {
    // SAFETY (whole body): the caller guarantees `itemsize` writable bytes;
    // every write is unaligned-safe.
    unsafe {
        match (dtype.kind(), dtype.bits()) {
            (Kind::Bool, _) => ptr.write(u8::from(value != 0.0)),
            (Kind::Int, 8) => ptr.cast::<i8>().write_unaligned(value as i8),
            (Kind::Int, 16) => ptr.cast::<i16>().write_unaligned(value as i16),
            (Kind::Int, 32) => ptr.cast::<i32>().write_unaligned(value as i32),
            (Kind::Int, _) => ptr.cast::<i64>().write_unaligned(value as i64),
            (Kind::UInt, 8) => ptr.write(value as u8),
            (Kind::UInt, 16) => ptr.cast::<u16>().write_unaligned(value as u16),
            (Kind::UInt, 32) => ptr.cast::<u32>().write_unaligned(value as u32),
            (Kind::UInt, _) => ptr.cast::<u64>().write_unaligned(value as u64),
            (Kind::Float, 16) => ptr.cast::<f16>().write_unaligned(f16::from_f64(value)),
            (Kind::Float, 32) => ptr.cast::<f32>().write_unaligned(value as f32),
            (Kind::Float, _) => ptr.cast::<f64>().write_unaligned(value),
            (Kind::BFloat, _) => ptr.cast::<bf16>().write_unaligned(bf16::from_f64(value)),
            (Kind::Float8, _) => ptr.write(minifloat::encode(dtype.code(), value).unwrap_or(0)),
            (Kind::Complex, 64) => ptr.cast::<[f32; 2]>().write_unaligned([value as f32, 0.0]),
            (Kind::Complex, _) => ptr.cast::<[f64; 2]>().write_unaligned([value, 0.0]),
            (Kind::SubByte, _) => return Err(Error::UnsupportedDtype(format!("{dtype} elements cannot be written one at a time"))),
        }
    }
    Ok(())
}

/// Casts one element from an integer type to an integer type or to float32
/// the way NumPy's C casts do: exactly, wrapping modulo 2^bits, and rounding
/// once. Going through `f64` would lose integers beyond 2^53, saturate where
/// NumPy wraps (uint8 200 -> int8 -56), and round twice on the way to
/// float32. Returns `false`, touching nothing, for any other pair of types.
///
/// # Safety
/// `src` must point at a readable element of `src_dtype` and `dst` at a
/// writable element of `dst_dtype` (any alignment).
pub unsafe fn cast_integer(src: *const u8, src_dtype: DType, dst: *mut u8, dst_dtype: DType) -> bool {
    // SAFETY (whole body): the caller guarantees one readable element at
    // `src` and one writable element at `dst`; every access is unaligned-safe.
    unsafe {
        let v: i128 = match (src_dtype.kind(), src_dtype.bits()) {
            (Kind::Int, 8) => i128::from(src.cast::<i8>().read()),
            (Kind::Int, 16) => i128::from(src.cast::<i16>().read_unaligned()),
            (Kind::Int, 32) => i128::from(src.cast::<i32>().read_unaligned()),
            (Kind::Int, 64) => i128::from(src.cast::<i64>().read_unaligned()),
            (Kind::UInt, 8) => i128::from(src.read()),
            (Kind::UInt, 16) => i128::from(src.cast::<u16>().read_unaligned()),
            (Kind::UInt, 32) => i128::from(src.cast::<u32>().read_unaligned()),
            (Kind::UInt, 64) => i128::from(src.cast::<u64>().read_unaligned()),
            _ => return false,
        };
        // `as` from i128 keeps the low bits (wraps) for integers and rounds
        // to nearest, ties to even, for float32.
        match (dst_dtype.kind(), dst_dtype.bits()) {
            (Kind::Int, 8) => dst.cast::<i8>().write(v as i8),
            (Kind::Int, 16) => dst.cast::<i16>().write_unaligned(v as i16),
            (Kind::Int, 32) => dst.cast::<i32>().write_unaligned(v as i32),
            (Kind::Int, 64) => dst.cast::<i64>().write_unaligned(v as i64),
            (Kind::UInt, 8) => dst.write(v as u8),
            (Kind::UInt, 16) => dst.cast::<u16>().write_unaligned(v as u16),
            (Kind::UInt, 32) => dst.cast::<u32>().write_unaligned(v as u32),
            (Kind::UInt, 64) => dst.cast::<u64>().write_unaligned(v as u64),
            (Kind::Float, 32) => dst.cast::<f32>().write_unaligned(v as f32),
            _ => return false,
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cast<S: Copy, D: Copy + Default>(v: S, from: DType, to: DType) -> Option<D> {
        let mut out = D::default();
        // SAFETY: one element of each type, on the stack.
        let done = unsafe { cast_integer((&raw const v).cast(), from, (&raw mut out).cast(), to) };
        done.then_some(out)
    }

    #[test]
    fn integer_casts_wrap_and_stay_exact() {
        assert_eq!(cast::<u8, i8>(200, DType::U8, DType::I8), Some(-56));
        assert_eq!(cast::<i32, i16>(70000, DType::I32, DType::I16), Some(4464));
        assert_eq!(cast::<i64, u64>(-1, DType::I64, DType::U64), Some(u64::MAX));
        assert_eq!(cast::<i64, u64>((1 << 53) + 1, DType::I64, DType::U64), Some((1 << 53) + 1));
        assert_eq!(cast::<u64, i64>(u64::MAX, DType::U64, DType::I64), Some(-1));
        // 2^60 + 2^36 + 1 rounds once, up to 2^60 + 2^37 (via f64 it would tie to 2^60).
        let v = (1i64 << 60) + (1 << 36) + 1;
        assert_eq!(cast::<i64, f32>(v, DType::I64, DType::F32), Some(((1u64 << 60) + (1 << 37)) as f32));
        // Other pairs are left to the f64 path.
        assert_eq!(cast::<i32, f64>(1, DType::I32, DType::F64), None);
        assert_eq!(cast::<u8, u8>(1, DType::BOOL, DType::U8), None);
        assert_eq!(cast::<f32, i32>(1.0, DType::F32, DType::I32), None);
    }
}
