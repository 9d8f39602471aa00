//! The `dlv_py_*` helpers outside Python: the library links no libpython,
//! so in a plain process (this test binary) the CPython functions are not
//! found and every helper fails cleanly or does nothing, never crashes.
//! (Inside Python they are exercised by tests/python/.)

use dlview::*;
use std::ffi::{CStr, c_void};
use std::ptr;

fn last_error() -> String {
    // SAFETY: dlv_last_error never returns NULL.
    unsafe { CStr::from_ptr(dlv_last_error()) }
        .to_string_lossy()
        .into_owned()
}

#[test]
fn helpers_fail_cleanly_without_python() {
    let mut t: *mut dlv_tensor = ptr::null_mut();
    let shape = [3i64];
    // SAFETY: valid arguments; every handle is freed once.
    unsafe {
        let f32 = dlpark::ffi::DLDataType {
            code: dlpark::ffi::DLDataTypeCode(2),
            bits: 32,
            lanes: 1,
        };
        assert_eq!(
            dlv_tensor_zeros(f32, 1, shape.as_ptr(), DLV_ORDER_C, &mut t),
            dlv_status::DLV_OK
        );
        let before = dlv_live_storage_count();

        let mut capsule: *mut c_void = ptr::null_mut();
        let st = dlv_py_tensor_to_capsule(t, ptr::null(), true, &mut capsule);
        assert_eq!(st, dlv_status::DLV_ERR_INVALID_ARGUMENT);
        assert!(capsule.is_null(), "out-parameter written on failure");
        assert!(
            last_error().contains("CPython C API is not available"),
            "{}",
            last_error()
        );
        assert_eq!(dlv_live_storage_count(), before, "a failed export leaked");

        let mut out: *mut dlv_tensor = ptr::null_mut();
        let fake = 0x1000 as *mut c_void; // never dereferenced: no Python, no capsule
        assert_eq!(
            dlv_py_tensor_from_capsule(fake, ptr::null(), &mut out),
            dlv_status::DLV_ERR_INVALID_ARGUMENT
        );
        assert!(out.is_null());
        assert_eq!(
            dlv_py_tensor_from_capsule(ptr::null_mut(), ptr::null(), &mut out),
            dlv_status::DLV_ERR_NULL_ARGUMENT
        );

        // Release callbacks and destructors do nothing outside Python.
        dlv_py_release_object(fake);
        dlv_py_release_object(ptr::null_mut());
        dlv_py_capsule_destructor(fake);
        dlv_py_capsule_destructor(ptr::null_mut());

        dlv_tensor_free(t);
        assert_eq!(dlv_live_storage_count(), before - 1);
    }
}
