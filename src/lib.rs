//! dlview: strided CPU and GPU tensors exchanged zero-copy between C, C++,
//! Rust and DLPack-speaking frameworks, under one set of flag and stride
//! rules (see `RULES.md` in the design documents).
//!
//! Layers, bottom to top: [`layout`] (pure shape/stride math), [`dtype`],
//! [`device`], [`storage`] (reference-counted memory), [`tensor`] (views and
//! flags), [`copy`] (element kernels), and the C ABI in `ffi`.

pub mod copy;
pub mod device;
pub mod dtype;
pub mod error;
pub mod layout;
pub mod storage;
pub mod tensor;

mod ffi;

pub use device::Device;
pub use dtype::DType;
pub use error::{Error, Result};
pub use layout::{Layout, Order};
pub use tensor::{CopyMode, Tensor};
