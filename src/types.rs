//! C-visible types and constants: status codes, modes, flags, the opaque
//! tensor handle, and conversions between them and the core's types.
//!
//! Modes that C passes *in* (`dlv_copy_mode`, `dlv_order`, ...) are integer
//! typedefs with named constants rather than Rust enums: an out-of-range
//! value from C must be a clean `DLV_ERR_INVALID_ARGUMENT`, whereas a Rust
//! enum holding an undeclared value is undefined behaviour.
#![allow(non_camel_case_types)]

use dlview_core::error::{Error, Result};
use dlview_core::layout::Order;
use dlview_core::tensor::{CopyMode, Tensor, flags};

/// Result of every fallible call. `DLV_OK` is success; on any other value
/// `dlv_last_error()` holds a message and no out-parameter was written.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum dlv_status {
    DLV_OK = 0,
    DLV_ERR_NULL_ARGUMENT = 1,
    DLV_ERR_INVALID_ARGUMENT = 2,
    DLV_ERR_INDEX = 3,
    DLV_ERR_READ_ONLY = 4,
    DLV_ERR_COPY_REQUIRED = 5,
    DLV_ERR_UNSUPPORTED_DTYPE = 6,
    DLV_ERR_UNSUPPORTED_DEVICE = 7,
    DLV_ERR_VERSION = 8,
    DLV_ERR_OUT_OF_MEMORY = 9,
    DLV_ERR_IO = 10,
    DLV_ERR_FORMAT = 11,
    DLV_ERR_DEVICE_UNAVAILABLE = 12,
    DLV_ERR_PANIC = 99,
}

impl dlv_status {
    /// Every status, in value order: `dlv_status_name` looks values up
    /// here. tests/statuses.rs checks it against the header's enum, and the
    /// Python suite checks the Python mapping against `dlv_status_name`.
    pub const ALL: [dlv_status; 14] = {
        use dlv_status::*;
        [
            DLV_OK,
            DLV_ERR_NULL_ARGUMENT,
            DLV_ERR_INVALID_ARGUMENT,
            DLV_ERR_INDEX,
            DLV_ERR_READ_ONLY,
            DLV_ERR_COPY_REQUIRED,
            DLV_ERR_UNSUPPORTED_DTYPE,
            DLV_ERR_UNSUPPORTED_DEVICE,
            DLV_ERR_VERSION,
            DLV_ERR_OUT_OF_MEMORY,
            DLV_ERR_IO,
            DLV_ERR_FORMAT,
            DLV_ERR_DEVICE_UNAVAILABLE,
            DLV_ERR_PANIC,
        ]
    };

    /// The enumerator's name, for `dlv_status_name`.
    pub fn name(self) -> &'static std::ffi::CStr {
        use dlv_status::*;
        match self {
            DLV_OK => c"DLV_OK",
            DLV_ERR_NULL_ARGUMENT => c"DLV_ERR_NULL_ARGUMENT",
            DLV_ERR_INVALID_ARGUMENT => c"DLV_ERR_INVALID_ARGUMENT",
            DLV_ERR_INDEX => c"DLV_ERR_INDEX",
            DLV_ERR_READ_ONLY => c"DLV_ERR_READ_ONLY",
            DLV_ERR_COPY_REQUIRED => c"DLV_ERR_COPY_REQUIRED",
            DLV_ERR_UNSUPPORTED_DTYPE => c"DLV_ERR_UNSUPPORTED_DTYPE",
            DLV_ERR_UNSUPPORTED_DEVICE => c"DLV_ERR_UNSUPPORTED_DEVICE",
            DLV_ERR_VERSION => c"DLV_ERR_VERSION",
            DLV_ERR_OUT_OF_MEMORY => c"DLV_ERR_OUT_OF_MEMORY",
            DLV_ERR_IO => c"DLV_ERR_IO",
            DLV_ERR_FORMAT => c"DLV_ERR_FORMAT",
            DLV_ERR_DEVICE_UNAVAILABLE => c"DLV_ERR_DEVICE_UNAVAILABLE",
            DLV_ERR_PANIC => c"DLV_ERR_PANIC",
        }
    }
}

impl From<&Error> for dlv_status {
    fn from(e: &Error) -> dlv_status {
        use dlv_status::*;
        match e {
            Error::NullArgument(_) => DLV_ERR_NULL_ARGUMENT,
            Error::InvalidArgument(_) => DLV_ERR_INVALID_ARGUMENT,
            Error::Index { .. } | Error::InvalidIndex(_) => DLV_ERR_INDEX,
            Error::ReadOnly(_) => DLV_ERR_READ_ONLY,
            Error::CopyRequired(_) => DLV_ERR_COPY_REQUIRED,
            Error::UnsupportedDtype(_) => DLV_ERR_UNSUPPORTED_DTYPE,
            Error::UnsupportedDevice(_) => DLV_ERR_UNSUPPORTED_DEVICE,
            Error::Version(_) => DLV_ERR_VERSION,
            Error::OutOfMemory(_) => DLV_ERR_OUT_OF_MEMORY,
            Error::Io(_) => DLV_ERR_IO,
            Error::Format(_) => DLV_ERR_FORMAT,
            Error::DeviceUnavailable(_) => DLV_ERR_DEVICE_UNAVAILABLE,
            Error::Panic(_) => DLV_ERR_PANIC,
        }
    }
}

/// Copy policy (the Array API's `copy`): one of the `DLV_COPY_*` constants.
pub type dlv_copy_mode = u32;
/// Share if possible, else copy (Python `copy=None`).
pub const DLV_COPY_IF_NEEDED: dlv_copy_mode = 0;
/// Share or fail with `DLV_ERR_COPY_REQUIRED` (Python `copy=False`).
pub const DLV_COPY_NEVER: dlv_copy_mode = 1;
/// Always make a new buffer (Python `copy=True`).
pub const DLV_COPY_ALWAYS: dlv_copy_mode = 2;

/// Memory order: one of the `DLV_ORDER_*` constants.
pub type dlv_order = u32;
/// Row-major.
pub const DLV_ORDER_C: dlv_order = 0;
/// Column-major.
pub const DLV_ORDER_F: dlv_order = 1;
/// Keep the source's axis order (copies only).
pub const DLV_ORDER_K: dlv_order = 2;

/// Writes through this view are allowed.
pub const DLV_FLAG_WRITEABLE: u32 = 1;
/// Row-major compact (size-1 dims ignored; size 0 counts).
pub const DLV_FLAG_C_CONTIGUOUS: u32 = 2;
/// Column-major compact (same exceptions).
pub const DLV_FLAG_F_CONTIGUOUS: u32 = 4;
/// Not derived from another view.
pub const DLV_FLAG_OWNDATA: u32 = 8;
/// Data pointer and byte strides are multiples of the element alignment.
pub const DLV_FLAG_ALIGNED: u32 = 16;

// The C constants are literals so cbindgen can print them; they must
// agree with the core's flag bits.
const _: () = assert!(
    DLV_FLAG_WRITEABLE == flags::WRITEABLE
        && DLV_FLAG_C_CONTIGUOUS == flags::C_CONTIGUOUS
        && DLV_FLAG_F_CONTIGUOUS == flags::F_CONTIGUOUS
        && DLV_FLAG_OWNDATA == flags::OWNDATA
        && DLV_FLAG_ALIGNED == flags::ALIGNED
);

/// An omitted slice bound, like Python's `None` (`INT64_MIN`).
pub const DLV_NONE: i64 = i64::MIN;
/// Passed as the axis of `dlv_tensor_squeeze`: squeeze every size-1 axis.
pub const DLV_ALL_AXES: i32 = i32::MIN;

/// An opaque handle to one view of a tensor. Owned by the caller; free it
/// with `dlv_tensor_free`.
pub struct dlv_tensor {
    pub(crate) tensor: Tensor,
}

pub(crate) fn copy_mode(mode: dlv_copy_mode) -> Result<CopyMode> {
    match mode {
        DLV_COPY_IF_NEEDED => Ok(CopyMode::IfNeeded),
        DLV_COPY_NEVER => Ok(CopyMode::Never),
        DLV_COPY_ALWAYS => Ok(CopyMode::Always),
        other => Err(invalid!(
            "copy mode {other} is not DLV_COPY_IF_NEEDED (0), DLV_COPY_NEVER (1) or DLV_COPY_ALWAYS (2)"
        )),
    }
}

pub(crate) fn order(order: dlv_order) -> Result<Order> {
    match order {
        DLV_ORDER_C => Ok(Order::C),
        DLV_ORDER_F => Ok(Order::F),
        DLV_ORDER_K => Ok(Order::K),
        other => Err(invalid!(
            "order {other} is not DLV_ORDER_C (0), DLV_ORDER_F (1) or DLV_ORDER_K (2)"
        )),
    }
}

/// `DLV_NONE` to `None`.
pub(crate) fn bound(b: i64) -> Option<i64> {
    (b != DLV_NONE).then_some(b)
}
