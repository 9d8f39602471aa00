//! Reading and writing single elements as `f64`, for `get_f64`/`set_f64` and
//! the generic cast path.
//!
//! Writes follow NumPy's unsafe-cast semantics: floats to integers truncate
//! toward zero; out-of-range values and NaN saturate (Rust's `as`: NaN → 0;
//! single-element writes refuse NaN and infinity first, see
//! [`check_float_to_int`]),
//! where NumPy leaves them undefined; to bool is `value != 0`; to complex
//! sets the real part and zeroes the imaginary part. Reading a complex
//! element as one `f64` is refused rather than silently dropping the
//! imaginary part.
//!
//! Bulk casts do not come here: `copy::cast` casts each pair of types
//! directly (integers exactly, never through `f64`); only float8 elements
//! are converted through these functions in bulk.

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
            (Kind::SubByte, _) => {
                return Err(Error::UnsupportedDtype(format!(
                    "{dtype} elements cannot be read one at a time"
                )));
            }
        })
    }
}

/// NumPy refuses to store a NaN or infinite float *scalar* in an integer
/// element (`ValueError: cannot convert float NaN to integer`), where a
/// bulk cast of such values goes on (with a warning). `set_f64` and scalar
/// assignment (`index_put` of a 0-d float) call this before writing.
pub fn check_float_to_int(value: f64, dtype: DType) -> Result<()> {
    if matches!(dtype.kind(), Kind::Int | Kind::UInt) {
        if value.is_nan() {
            return Err(Error::InvalidArgument(
                "cannot convert float NaN to integer".into(),
            ));
        }
        if value.is_infinite() {
            return Err(Error::InvalidArgument(
                "cannot convert float infinity to integer".into(),
            ));
        }
    }
    Ok(())
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
            (Kind::SubByte, _) => {
                return Err(Error::UnsupportedDtype(format!(
                    "{dtype} elements cannot be written one at a time"
                )));
            }
        }
    }
    Ok(())
}
