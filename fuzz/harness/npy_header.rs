//! Fuzz target `npy_header`: arbitrary bytes as a `.npy` file (RULES.md §7).
//!
//! 1. `npy::read_header` on the bytes: never panics; a failure is
//!    `Error::Format` with a message; a success is a header the format
//!    allows (version 1.0/2.0/3.0, data offset inside the file, at most 64
//!    dims, a byte size that fits) and survives a write/read round trip
//!    (`header_bytes` then `read_header` gives the same dtype, order, shape).
//! 2. The same bytes as a file through the C ABI, `dlv_npy_load` read into
//!    memory and memory-mapped read-only: both fail with `DLV_ERR_FORMAT`
//!    exactly when the header is bad or announces more data than the file
//!    holds (a big-endian file cannot be mapped); both succeed otherwise,
//!    with the header's dtype, shape and order, and elements whose bytes are
//!    exactly the file's bytes after the header (byteswapped where the file
//!    is big-endian). Nothing leaks.

use dlview::dlv_status::*;
use dlview::*;
use dlview_core::dtype::Kind;
use dlview_core::{Error, npy};
use std::ffi::{CStr, CString};
use std::io::Cursor;

fn last_error() -> String {
    // SAFETY: never NULL, NUL-terminated.
    unsafe { CStr::from_ptr(dlv_last_error()) }
        .to_string_lossy()
        .into_owned()
}

/// A file of this process (and thread) in a RAM-backed directory when there is one.
fn scratch_path() -> std::path::PathBuf {
    let dir = if std::path::Path::new("/dev/shm").is_dir() {
        "/dev/shm".into()
    } else {
        std::env::temp_dir()
    };
    dir.join(format!(
        "dlview-fuzz-npy-{}-{:?}.npy",
        std::process::id(),
        std::thread::current().id()
    ))
    .to_string_lossy()
    .replace(['(', ')'], "")
    .into()
}

/// Runs one input. Panics on any violation.
pub fn run(data: &[u8]) {
    let parsed = npy::read_header(&mut Cursor::new(data), data.len() as u64);
    match &parsed {
        Ok(h) => {
            assert!(
                matches!(h.version, (1, 0) | (2, 0) | (3, 0)),
                "version {:?}",
                h.version
            );
            assert!(
                h.data_offset <= data.len(),
                "data offset {} past the end",
                h.data_offset
            );
            assert!(
                h.shape.len() <= 64 && h.shape.iter().all(|&d| d >= 0),
                "shape {:?}",
                h.shape
            );
            let len = h.data_len().expect("a parsed header's data length fits");
            let product: u128 =
                h.shape.iter().map(|&d| d as u128).product::<u128>() * h.dtype.itemsize() as u128;
            assert_eq!(len as u128, product, "data_len of {:?}", h.shape);
            h.layout().expect("a parsed header has a valid layout");
            // Write the same header and read it back.
            let bytes =
                npy::header_bytes(h.dtype, &h.shape, h.fortran_order).expect("header_bytes");
            assert_eq!(bytes.len() % npy::ARRAY_ALIGN, 0);
            let again = npy::read_header(&mut Cursor::new(&bytes), bytes.len() as u64)
                .expect("re-read of a written header");
            assert_eq!(
                (again.dtype, again.fortran_order, &again.shape),
                (h.dtype, h.fortran_order, &h.shape)
            );
            assert!(!again.byteswap && again.data_offset == bytes.len());
        }
        Err(e) => {
            assert!(
                matches!(e, Error::Format(_)),
                "read_header failed with {e:?}, not a format error"
            );
            assert!(!e.to_string().is_empty());
        }
    }

    // The same bytes as a file, through the C ABI.
    let path = scratch_path();
    std::fs::write(&path, data).expect("write the scratch file");
    let cpath = CString::new(path.to_string_lossy().as_bytes()).unwrap();
    let live = dlv_live_storage_count();
    let fits = parsed
        .as_ref()
        .ok()
        .filter(|h| h.data_len().unwrap() <= data.len() - h.data_offset);
    for mode in [DLV_MMAP_NONE, DLV_MMAP_READ] {
        let mut t = std::ptr::null_mut();
        // SAFETY: a NUL-terminated path and a writable out-pointer.
        let st = unsafe { dlv_npy_load(cpath.as_ptr(), mode, &mut t) };
        let Some(h) = fits else {
            assert_eq!(st, DLV_ERR_FORMAT, "mode {mode}: {}", last_error());
            assert!(t.is_null());
            assert!(
                last_error().contains(&*path.to_string_lossy()),
                "the message names the file: {}",
                last_error()
            );
            continue;
        };
        if mode == DLV_MMAP_READ && h.byteswap {
            assert_eq!(st, DLV_ERR_FORMAT, "a big-endian file was mapped");
            continue;
        }
        assert_eq!(
            st,
            DLV_OK,
            "mode {mode}: a valid file was refused: {}",
            last_error()
        );
        // SAFETY (block): `t` is a live handle; its elements are `len`
        // bytes from its data pointer (compact), inside the buffer or map.
        unsafe {
            let n = dlv_tensor_ndim(t) as usize;
            let shape = if n == 0 {
                Vec::new()
            } else {
                std::slice::from_raw_parts(dlv_tensor_shape(t), n).to_vec()
            };
            assert_eq!(shape, h.shape);
            let dt = dlv_tensor_dtype(t);
            assert_eq!((dt.code.0, dt.bits), (h.dtype.code(), h.dtype.bits()));
            let flags = dlv_tensor_flags(t);
            let want = if h.fortran_order {
                DLV_FLAG_F_CONTIGUOUS
            } else {
                DLV_FLAG_C_CONTIGUOUS
            };
            assert!(
                flags & want != 0,
                "flags {flags:#x} for fortran_order {}",
                h.fortran_order
            );
            assert_eq!(
                flags & DLV_FLAG_WRITEABLE != 0,
                mode == DLV_MMAP_NONE,
                "WRITEABLE in mode {mode}"
            );
            let len = h.data_len().unwrap();
            let p = dlv_tensor_data(t) as *const u8;
            if len > 0 {
                let got = std::slice::from_raw_parts(p, len);
                let file = &data[h.data_offset..h.data_offset + len];
                if h.byteswap {
                    let unit = if h.dtype.kind() == Kind::Complex {
                        h.dtype.itemsize() / 2
                    } else {
                        h.dtype.itemsize()
                    };
                    let swapped: Vec<u8> = file
                        .chunks_exact(unit)
                        .flat_map(|c| c.iter().rev().copied())
                        .collect();
                    assert_eq!(got, &swapped[..], "byteswapped data differs from the file");
                } else {
                    assert_eq!(got, file, "data differs from the file");
                }
            } else {
                assert!(p.is_null());
            }
            dlv_tensor_free(t);
        }
    }
    assert_eq!(dlv_live_storage_count(), live, "a load leaked a storage");
    let _ = std::fs::remove_file(&path);
}
