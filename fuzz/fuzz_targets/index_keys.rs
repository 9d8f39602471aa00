//! libFuzzer entry point; the checks live in `harness/index_keys.rs`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| dlview_fuzz::index_keys::run(data));
