//! libFuzzer entry point; the checks live in `harness/npy_header.rs`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| dlview_fuzz::npy_header::run(data));
