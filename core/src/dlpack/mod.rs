//! DLPack exchange (docs/rules.md §4–5), on `dlpark`'s ABI types.
//!
//! [`export`] turns a view into a `DLManagedTensorVersioned` or legacy
//! `DLManagedTensor` that keeps the storage alive until its deleter runs;
//! [`import`] wraps a foreign managed tensor as a storage whose drop calls the
//! producer's deleter exactly once. Copy decisions follow one policy (the
//! Array API's `copy`) and every refusal says why sharing was impossible.

pub mod export;
pub mod import;

use crate::tensor::CopyMode;

/// How a tensor leaves the library.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ExportOptions {
    pub copy: CopyMode,
    /// Export negative strides as they are (NumPy and CuPy accept them;
    /// PyTorch, JAX and TensorFlow do not, hence off by default).
    pub allow_negative_strides: bool,
}

/// How a foreign tensor enters the library.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ImportOptions {
    pub copy: CopyMode,
    /// Treat legacy (unversioned) tensors as writeable. They cannot say
    /// whether they may be written, so by default they are read-only.
    pub trust_legacy_writeable: bool,
}

/// The DLPack version this library produces.
pub const PRODUCED_VERSION: (u32, u32) = (1, 3);
