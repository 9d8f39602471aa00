//! The logic of every fuzz target, shared by the libFuzzer binaries in
//! `fuzz/fuzz_targets/` (this directory is the `dlview-fuzz` crate's
//! library) and by the seed-corpus replay test `tests/fuzz_corpus.rs`,
//! which includes this module with `#[path]` and runs every file under
//! `fuzz/seeds/<target>/` through the same `run` function.
//!
//! Each `run(&[u8])` panics on any violation of the rules; it never
//! returns an error for uninteresting input.

pub mod dlpack_import;
pub mod index_keys;
pub mod input;
pub mod npy_header;
pub mod npy_roundtrip;
pub mod view_ops;
