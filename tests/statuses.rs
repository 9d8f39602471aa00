//! The statuses' one definition (issue 14 item 3, STYLE 16): the C enum in
//! `include/dlview.h` (generated from `src/types.rs`) is the reference;
//! `dlv_status::ALL`, `dlv_status_name` and the core `Error` → status
//! mapping are checked against it here, and the Python mapping against
//! `dlv_status_name` in tests/python/test_statuses.py.

mod common;

use common::root;
use dlview::{dlv_status, dlv_status_name};
use dlview_core::Error;
use std::ffi::CStr;

/// `(name, value)` of every enumerator of the header's `dlv_status`.
fn header_statuses() -> Vec<(String, u32)> {
    let header = std::fs::read_to_string(root().join("include/dlview.h")).unwrap();
    let start = header
        .find("typedef enum dlv_status {")
        .expect("the header declares dlv_status");
    let body = &header[start..];
    let body = &body[body.find('{').unwrap() + 1..body.find('}').unwrap()];
    body.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with("//"))
        .map(|l| {
            let (name, value) = l.trim_end_matches(',').split_once(" = ").unwrap();
            (name.to_string(), value.parse().unwrap())
        })
        .collect()
}

fn name_of(value: u32) -> String {
    // SAFETY: static, NUL-terminated, never NULL.
    unsafe { CStr::from_ptr(dlv_status_name(value)) }
        .to_str()
        .unwrap()
        .to_string()
}

#[test]
fn status_names_come_from_the_header_enum() {
    let statuses = header_statuses();
    assert_eq!(statuses.len(), 14, "{statuses:?}");
    assert_eq!(statuses[0], ("DLV_OK".to_string(), 0));
    for (name, value) in &statuses {
        assert_eq!(&name_of(*value), name);
    }
    let all: Vec<(String, u32)> = dlv_status::ALL
        .iter()
        .map(|&s| (s.name().to_str().unwrap().to_string(), s as u32))
        .collect();
    assert_eq!(
        all, statuses,
        "dlv_status::ALL lists the header's enum in order"
    );
    for value in 0..=300u32 {
        if !statuses.iter().any(|s| s.1 == value) {
            assert_eq!(name_of(value), "DLV_UNKNOWN_STATUS", "{value}");
        }
    }
    assert_eq!(name_of(u32::MAX), "DLV_UNKNOWN_STATUS");
}

#[test]
fn every_error_maps_to_a_header_status() {
    let statuses = header_statuses();
    let cases = [
        (Error::NullArgument("t"), "DLV_ERR_NULL_ARGUMENT"),
        (
            Error::InvalidArgument("x".into()),
            "DLV_ERR_INVALID_ARGUMENT",
        ),
        (
            Error::Index {
                index: 5,
                axis: 0,
                size: 3,
            },
            "DLV_ERR_INDEX",
        ),
        (Error::InvalidIndex("x".into()), "DLV_ERR_INDEX"),
        (Error::ReadOnly("x".into()), "DLV_ERR_READ_ONLY"),
        (Error::CopyRequired("x".into()), "DLV_ERR_COPY_REQUIRED"),
        (
            Error::UnsupportedDtype("x".into()),
            "DLV_ERR_UNSUPPORTED_DTYPE",
        ),
        (
            Error::UnsupportedDevice("x".into()),
            "DLV_ERR_UNSUPPORTED_DEVICE",
        ),
        (Error::Version("x".into()), "DLV_ERR_VERSION"),
        (Error::OutOfMemory("x".into()), "DLV_ERR_OUT_OF_MEMORY"),
        (Error::Io("x".into()), "DLV_ERR_IO"),
        (Error::Format("x".into()), "DLV_ERR_FORMAT"),
        (
            Error::DeviceUnavailable("x".into()),
            "DLV_ERR_DEVICE_UNAVAILABLE",
        ),
        (Error::Panic("x".into()), "DLV_ERR_PANIC"),
    ];
    for (error, want) in &cases {
        let status = dlv_status::from(error);
        assert_eq!(status.name().to_str().unwrap(), *want, "{error:?}");
        assert!(
            statuses
                .iter()
                .any(|s| s.0 == *want && s.1 == status as u32)
        );
    }
    // Every failure status is reached by some error.
    for (name, _) in statuses.iter().skip(1) {
        assert!(cases.iter().any(|c| c.1 == name), "no Error maps to {name}");
    }
}

#[test]
fn dtype_names_and_formats_come_from_the_core_table() {
    use dlview::{dlv_dtype_format, dlv_dtype_name};
    use dlview_core::DType;
    let text = |p: *const std::ffi::c_char| {
        // SAFETY: NULL or static, NUL-terminated.
        (!p.is_null()).then(|| unsafe { CStr::from_ptr(p) }.to_str().unwrap().to_string())
    };
    for dt in DType::all() {
        assert_eq!(text(dlv_dtype_name(dt.to_dl())).as_deref(), Some(dt.name()));
        assert_eq!(
            text(dlv_dtype_format(dt.to_dl())).as_deref(),
            dt.buffer_format(),
            "{dt}"
        );
    }
    assert_eq!(
        text(dlv_dtype_format(DType::F32.to_dl())).as_deref(),
        Some("f")
    );
    assert_eq!(
        text(dlv_dtype_format(DType::C128.to_dl())).as_deref(),
        Some("Zd")
    );
    assert_eq!(text(dlv_dtype_format(DType::BF16.to_dl())), None);
    let mut unknown = DType::F32.to_dl();
    unknown.bits = 24;
    assert_eq!(text(dlv_dtype_format(unknown)), None);
    assert_eq!(text(dlv_dtype_name(unknown)), None);
}
