//! libFuzzer entry point; the checks live in `harness/view_ops.rs`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| dlview_fuzz::view_ops::run(data));
