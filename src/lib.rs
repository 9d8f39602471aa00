//! The C ABI. The only module with `extern "C"` functions (besides DLPack
//! deleters, which live with the exporter). It converts arguments, calls the
//! safe core, and converts results: it makes no decisions of its own.
//!
//! Every export runs inside [`boundary::ffi_call`] (or `ffi_value`), so a
//! panic becomes `DLV_ERR_PANIC` and never unwinds into C.

/// Shorthand for an `Error::InvalidArgument` with `format!` syntax (the
/// core's own macro is private to it).
macro_rules! invalid {
    ($($arg:tt)*) => { dlview_core::Error::InvalidArgument(format!($($arg)*)) };
}

pub(crate) mod boundary;
pub mod dlpack;
pub mod names;
pub mod npy;
pub mod python;
pub mod tensor;
// After `tensor`: cbindgen emits functions in module order, and the header
// reads best with copies after creation, inspection and views.
pub mod copy;
pub mod cuda;
pub mod index;
pub mod threads;
pub mod types;

#[doc(hidden)]
pub use boundary::{panic_probe, panic_probe_value};
pub use copy::*;
pub use cuda::*;
pub use dlpack::*;
pub use index::*;
pub use names::*;
pub use npy::*;
pub use python::*;
pub use tensor::*;
pub use threads::*;
pub use types::*;
