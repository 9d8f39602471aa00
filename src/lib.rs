//! dlview: strided CPU and GPU tensors exchanged zero-copy between C, C++,
//! Rust and DLPack-speaking frameworks, under one set of flag and stride
//! rules (see `RULES.md` in the design documents).
//!
//! Layers, bottom to top: [`layout`] (pure shape/stride math), [`dtype`],
//! [`device`], [`storage`] (reference-counted memory), [`tensor`] (views and
//! flags), [`copy`] (element kernels), [`npy`] and [`mmap`] (files),
//! [`cuda`] (device memory, copies and streams, loaded at run time), and
//! the C ABI in `ffi`. Only `ffi` is visible to cbindgen; the other modules
//! carry `cbindgen:ignore`.

/// cbindgen:ignore
pub mod copy;
/// cbindgen:ignore
pub mod cuda;
/// cbindgen:ignore
pub mod device;
/// cbindgen:ignore
pub mod dlpack;
/// cbindgen:ignore
pub mod dtype;
/// cbindgen:ignore
pub mod error;
/// cbindgen:ignore
pub mod layout;
/// cbindgen:ignore
pub mod mmap;
/// cbindgen:ignore
pub mod npy;
/// cbindgen:ignore
mod spare;
/// cbindgen:ignore
pub mod storage;
/// cbindgen:ignore
pub mod tensor;

pub mod ffi;

pub use copy::CastOptions;
pub use device::Device;
pub use dtype::DType;
pub use error::{Error, Result};
pub use layout::{Layout, Order};
pub use tensor::{CopyMode, Tensor};

// The README's Rust quick start is compiled and run as a doc test.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
