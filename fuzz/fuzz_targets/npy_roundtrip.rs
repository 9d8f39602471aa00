//! libFuzzer entry point; the checks live in `harness/npy_roundtrip.rs`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| dlview_fuzz::npy_roundtrip::run(data));
