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

use super::cast::{Bool, Complex, Dst, Src};
use super::kernels::with_element_type;
use super::minifloat;
use crate::dtype::{DType, Kind};
use crate::error::{Error, Result};
use half::{bf16, f16};

/// Reads the element at `ptr` as an `f64`.
///
/// # Safety
/// `ptr` must point at a readable element of `dtype` (any alignment).
pub unsafe fn read_f64(ptr: *const u8, dtype: DType) -> Result<f64> {
    match dtype.kind() {
        Kind::Complex => Err(Error::UnsupportedDtype(format!(
            "a {dtype} element has no single f64 value (read it as two parts)"
        ))),
        Kind::SubByte => Err(Error::UnsupportedDtype(format!(
            "{dtype} elements cannot be read one at a time"
        ))),
        // SAFETY: the caller guarantees one readable byte.
        Kind::Float8 => Ok(minifloat::decode(dtype.code(), unsafe { ptr.read() }).unwrap_or(f64::NAN)),
        // The bulk casts' conversion (`cast::Src`), so that a read and an
        // `astype(float64)` agree by construction.
        // SAFETY: the caller guarantees `itemsize` readable bytes; the read
        // is unaligned-safe.
        _ => with_element_type!(dtype, T => Some(unsafe { ptr.cast::<T>().read_unaligned() }.cast::<f64>()))
            .ok_or_else(|| Error::UnsupportedDtype(format!("{dtype} elements cannot be read"))),
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
/// Every type but float8 converts with the bulk casts' `cast::Dst::from_f64`,
/// the one rounding path: f64 → f16/bf16 is correctly rounded (no double
/// rounding through f32), so `set_f64`, `astype`, `copy_into` and
/// `index_put` store bit-identical values. float8 uses the table-driven
/// codec, which the bulk casts use too.
///
/// # Safety
/// `ptr` must point at a writable element of `dtype` (any alignment).
pub unsafe fn write_f64(ptr: *mut u8, dtype: DType, value: f64) -> Result<()> {
    match dtype.kind() {
        Kind::SubByte => Err(Error::UnsupportedDtype(format!(
            "{dtype} elements cannot be written one at a time"
        ))),
        Kind::Float8 => {
            // SAFETY: the caller guarantees one writable byte.
            unsafe { ptr.write(minifloat::encode(dtype.code(), value).unwrap_or(0)) };
            Ok(())
        }
        // SAFETY: the caller guarantees `itemsize` writable bytes; the write
        // is unaligned-safe.
        _ => with_element_type!(dtype, T => {
            unsafe { ptr.cast::<T>().write_unaligned(<T as Dst>::from_f64(value)) };
            Some(())
        })
        .ok_or_else(|| Error::UnsupportedDtype(format!("{dtype} elements cannot be written"))),
    }
}
