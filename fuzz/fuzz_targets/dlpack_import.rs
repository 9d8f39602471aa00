//! libFuzzer entry point; the checks live in `harness/dlpack_import.rs`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| dlview_fuzz::dlpack_import::run(data));
