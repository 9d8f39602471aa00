//! dlview: strided CPU and GPU tensors exchanged zero-copy between C, C++,
//! Rust and DLPack-speaking frameworks, under one set of flag and stride
//! rules (`docs/rules.md` in the repository, the "Rules" page of the documentation site).
//!
//! Layers, bottom to top: [`layout`] (pure shape/stride math), [`dtype`],
//! [`device`], [`storage`] (reference-counted memory), [`tensor`] (views and
//! flags), [`copy`] (element kernels), [`npy`] and [`mmap`] (files),
//! [`cuda`] (device memory, copies and streams, loaded at run time). The C
//! ABI (`libdlview.so`, `dlview.h`) and the Python package are separate
//! crates of the same workspace that convert arguments and call this one.

pub mod copy;
pub mod cuda;
// Foreign callbacks run outside the C ABI's panic boundary (forced unwinds).
mod deferred;
pub mod device;
pub mod dlpack;
pub mod dtype;
pub mod error;
// The file rules of docs/rules.md §7 (NUL paths, regular files only, atomic replace).
mod fileio;
pub mod index;
pub mod layout;
pub mod mmap;
pub mod npy;
// One spare block per thread for the export block and the C handle.
mod spare;
pub mod storage;
pub mod tensor;

pub use copy::CastOptions;
pub use device::Device;
pub use dtype::DType;
pub use error::{Error, Result};
pub use index::Index;
pub use layout::{Layout, Order};
pub use tensor::{CopyMode, Tensor};

/// Not API: what the C ABI crate (`dlview-capi`) and the workspace's tests
/// need from the core but Rust users must not rely on. Anything here may
/// change or vanish in any release, without a semver bump.
#[doc(hidden)]
pub mod __private {
    pub use crate::deferred::{ForeignFn, call, may_unwind, outside_boundary};
    pub use crate::spare::{Spare, give_back as spare_give_back, take as spare_take};

    /// How many storages are alive, process-wide (leak checks in tests).
    pub fn live_count() -> usize {
        crate::storage::live_count()
    }

    /// Sets the smallest job (bytes moved) that runs in parallel, returning
    /// the previous value: tests cut small views into many pieces with it.
    pub fn set_parallel_min_bytes(bytes: usize) -> usize {
        crate::copy::parallel::set_parallel_min_bytes(bytes)
    }

    /// How many jobs have run on dlview's pool in this process.
    pub fn parallel_job_count() -> usize {
        crate::copy::parallel::parallel_job_count()
    }
}

// The README's Rust quick start is compiled and run as a doc test.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
