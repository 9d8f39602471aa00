//! The crate's one error type. Every variant corresponds to exactly one C
//! status code (`dlv_status`) and to one Python exception; the message is what
//! `dlv_last_error()` returns, so it must name the bad value and the limit.

use thiserror::Error;

/// Everything that can go wrong in dlview.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum Error {
    /// A required pointer argument was NULL (C ABI only).
    #[error("argument `{0}` must not be NULL")]
    NullArgument(&'static str),
    /// An argument is malformed: bad axis, shape, stride, step, order, ...
    #[error("{0}")]
    InvalidArgument(String),
    /// An integer index is outside `-size..size` for its axis.
    #[error("index {index} is out of bounds for axis {axis} with size {size}")]
    Index { index: i64, axis: usize, size: i64 },
    /// An indexing key that NumPy rejects with `IndexError` for a reason
    /// other than one index out of range (too many indices, a mask of the
    /// wrong shape, index tensors that do not broadcast, a float index).
    #[error("{0}")]
    InvalidIndex(String),
    /// A write was attempted through a read-only view or storage.
    #[error("{0}")]
    ReadOnly(String),
    /// Sharing was required (`copy=never`) but is impossible; the message says why.
    #[error("cannot share: {0}")]
    CopyRequired(String),
    /// The element type is unknown or not supported by this operation.
    #[error("{0}")]
    UnsupportedDtype(String),
    /// The operation cannot touch memory on this device.
    #[error("{0}")]
    UnsupportedDevice(String),
    /// A DLPack tensor with an ABI version this library cannot read.
    #[error("{0}")]
    Version(String),
    /// An allocation failed.
    #[error("out of memory: {0}")]
    OutOfMemory(String),
    /// An operating-system I/O call failed.
    #[error("{0}")]
    Io(String),
    /// A file's contents are malformed or unsupported.
    #[error("{0}")]
    Format(String),
    /// A device runtime (e.g. the CUDA driver) is not available.
    #[error("{0}")]
    DeviceUnavailable(String),
    /// A Rust panic was caught at the C boundary.
    #[error("internal error (panic): {0}")]
    Panic(String),
}

/// The crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Shorthand for building an [`Error::InvalidArgument`] with `format!` syntax.
macro_rules! invalid {
    ($($arg:tt)*) => { $crate::error::Error::InvalidArgument(format!($($arg)*)) };
}
pub(crate) use invalid;
