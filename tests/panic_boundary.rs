//! The panic boundary (API.md "C ABI conventions", RULES.md §8): a Rust
//! panic inside an exported function becomes `DLV_ERR_PANIC` with a message,
//! never an unwind into C, and the process (and the library) goes on.
//!
//! Nothing in the library panics on purpose, so the test drives the
//! boundary through `dlview::panic_probe`, a hidden test hook that runs a
//! panicking body behind exactly the boundary every export uses (it is not
//! `extern "C"`, so it never reaches the header).

use dlpark::ffi::{DLDataType, DLDataTypeCode};
use dlview::dlv_status::*;
use dlview::*;
use std::ffi::CStr;

fn last_error() -> String {
    // SAFETY: never NULL, NUL-terminated.
    unsafe { CStr::from_ptr(dlv_last_error()) }
        .to_string_lossy()
        .into_owned()
}

const F32: DLDataType = DLDataType {
    code: DLDataTypeCode(2),
    bits: 32,
    lanes: 1,
};

#[test]
fn a_panic_becomes_a_status_and_a_message() {
    let st = panic_probe("probe: something impossible happened");
    assert_eq!(st, DLV_ERR_PANIC);
    assert_eq!(
        last_error(),
        "internal error (panic): probe: something impossible happened"
    );
    // SAFETY: the status name is static.
    assert_eq!(
        unsafe { CStr::from_ptr(dlv_status_name(st as u32)) }
            .to_str()
            .unwrap(),
        "DLV_ERR_PANIC"
    );
}

#[test]
fn the_process_and_the_library_go_on() {
    for i in 0..3 {
        assert_eq!(panic_probe(&format!("probe {i}")), DLV_ERR_PANIC);
        assert_eq!(last_error(), format!("internal error (panic): probe {i}"));
        // Ordinary calls still work after each panic.
        let mut t = std::ptr::null_mut();
        // SAFETY: valid arguments.
        unsafe {
            assert_eq!(
                dlv_tensor_zeros(F32, 1, [3i64].as_ptr(), DLV_ORDER_C, &mut t),
                DLV_OK
            );
            assert_eq!(dlv_tensor_size(t), 3);
            dlv_tensor_free(t);
        }
    }
}

#[test]
fn inspection_boundary_returns_its_fallback() {
    assert_eq!(panic_probe_value("probe in an inspection call", -7), -7);
    assert_eq!(
        last_error(),
        "internal error (panic): probe in an inspection call"
    );
}

#[test]
fn messages_are_per_thread_and_survive_interior_nuls() {
    assert_eq!(panic_probe("main thread"), DLV_ERR_PANIC);
    std::thread::spawn(|| {
        assert_eq!(panic_probe("nul \0 inside"), DLV_ERR_PANIC);
        assert_eq!(last_error(), "internal error (panic): nul \\0 inside");
    })
    .join()
    .unwrap();
    assert_eq!(last_error(), "internal error (panic): main thread");
}
