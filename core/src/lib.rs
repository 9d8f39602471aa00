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
#[doc(hidden)]
pub mod deferred;
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
#[doc(hidden)]
pub mod spare;
pub mod storage;
pub mod tensor;

pub use copy::CastOptions;
pub use device::Device;
pub use dtype::DType;
pub use error::{Error, Result};
pub use index::Index;
pub use layout::{Layout, Order};
pub use tensor::{CopyMode, Tensor};

// The README's Rust quick start is compiled and run as a doc test.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
