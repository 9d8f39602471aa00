//! `dlv_npy_*`, `dlv_memmap`, `dlv_tensor_flush`: `.npy` files and memory
//! maps for C callers. Converts arguments and delegates to `npy` and `mmap`.
//!
//! Notes for the Python binding (`dv.load`, `dv.save`, `dv.memmap`,
//! `Tensor.flush`, API.md), which should stay a thin layer over these:
//! - `mmap_mode` `None`/`"r"`/`"r+"`/`"c"` map to `DLV_MMAP_NONE`/`_READ`/
//!   `_READ_WRITE`/`_COPY_ON_WRITE` (NumPy's long spellings too:
//!   `mmap::MapMode::from_numpy` is the table); `"w+"` is INVALID_ARGUMENT
//!   for `load`, `DLV_MMAP_CREATE` for `memmap`.
//! - Paths: pass `os.fsencode(path)`; the C side assumes no encoding.
//!   `np.save` appends `.npy` to a name without it; the C ABI writes the
//!   exact path, so that convenience belongs in Python if wanted. File
//!   objects are not supported (the C ABI takes paths only).
//! - `dv.memmap(..., shape=None)` passes `ndim = -1`; an int shape is `(n,)`.
//! - Statuses: IO → `OSError` (the message holds the path and "os error N"),
//!   FORMAT → `ValueError`, as docs/rules.md §8.
//! - A mapped tensor exported to PyTorch keeps the mapping alive through
//!   the export; nothing in Python needs to hold the file open.
#![allow(non_camel_case_types)]

use crate::boundary::*;
use crate::types::*;
use dlpark::ffi::DLDataType;
use dlview_core::dtype::DType;
use dlview_core::error::{Error, Result};
use dlview_core::mmap::{self, MapMode};
use dlview_core::npy;
use std::ffi::{CStr, OsStr, c_char};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

/// How a file is mapped: one of the `DLV_MMAP_*` constants (NumPy's
/// `mmap_mode`).
pub type dlv_mmap_mode = u32;
/// Not mapped: `dlv_npy_load` reads the data into a new buffer.
pub const DLV_MMAP_NONE: dlv_mmap_mode = 0;
/// NumPy "r": a read-only view. Pages are private copy-on-write, so a
/// consumer that ignores DLPack's READ_ONLY flag (PyTorch does) can neither
/// crash the process nor change the file.
pub const DLV_MMAP_READ: dlv_mmap_mode = 1;
/// NumPy "r+": shared and writeable; writes reach the file
/// (`dlv_tensor_flush` waits for them).
pub const DLV_MMAP_READ_WRITE: dlv_mmap_mode = 2;
/// NumPy "c": private copy-on-write and writeable; writes stay in memory.
pub const DLV_MMAP_COPY_ON_WRITE: dlv_mmap_mode = 3;
/// NumPy "w+": create or truncate the file, then as `DLV_MMAP_READ_WRITE`
/// (`dlv_memmap` only).
pub const DLV_MMAP_CREATE: dlv_mmap_mode = 4;

fn mmap_mode(mode: dlv_mmap_mode) -> Result<Option<MapMode>> {
    match mode {
        DLV_MMAP_NONE => Ok(None),
        DLV_MMAP_READ => Ok(Some(MapMode::Read)),
        DLV_MMAP_READ_WRITE => Ok(Some(MapMode::ReadWrite)),
        DLV_MMAP_COPY_ON_WRITE => Ok(Some(MapMode::CopyOnWrite)),
        DLV_MMAP_CREATE => Ok(Some(MapMode::Create)),
        other => Err(invalid!(
            "mmap mode {other} is not DLV_MMAP_NONE (0), DLV_MMAP_READ (1), DLV_MMAP_READ_WRITE (2), \
             DLV_MMAP_COPY_ON_WRITE (3) or DLV_MMAP_CREATE (4)"
        )),
    }
}

/// Borrows a C path (any bytes but NUL; no encoding is assumed).
///
/// # Safety
/// `p` must be NULL or a NUL-terminated string.
unsafe fn path_arg<'a>(p: *const c_char) -> Result<&'a Path> {
    if p.is_null() {
        return Err(Error::NullArgument("path"));
    }
    // SAFETY: non-NULL and NUL-terminated by contract.
    let bytes = unsafe { CStr::from_ptr(p) }.to_bytes();
    if bytes.is_empty() {
        return Err(invalid!("path is empty"));
    }
    Ok(Path::new(OsStr::from_bytes(bytes)))
}

/// Loads the `.npy` file at `path` (versions 1.0, 2.0, 3.0) as a new CPU
/// tensor: with `DLV_MMAP_NONE` the data is read into a new writeable buffer;
/// with `DLV_MMAP_READ`, `DLV_MMAP_READ_WRITE` or `DLV_MMAP_COPY_ON_WRITE` the
/// file is memory-mapped without copying (read-only for READ), and stays
/// mapped until the last view and DLPack export of it is freed. A
/// Fortran-order file loads as an F-contiguous view. Big-endian data is
/// byteswapped into a new buffer with `DLV_MMAP_NONE` and refused otherwise.
/// Nothing is mapped or allocated unless the whole header checks out.
///
/// On success `*out` is a new handle owned by the caller.
/// Statuses: NULL_ARGUMENT (path, out), INVALID_ARGUMENT (unknown mode, or
/// DLV_MMAP_CREATE, which would truncate the file; empty path), IO (cannot
/// open, read or map; the message has the path and the OS error), FORMAT
/// (bad magic, unknown version, truncated header, header length past the end
/// of the file, non-ASCII header, missing or extra keys, unsupported descr
/// such as objects, strings or structured types, a shape whose byte size
/// overflows or exceeds the data in the file, big-endian with a map),
/// OUT_OF_MEMORY.
///
/// # Safety
/// Every pointer argument is NULL or valid as this comment and the
/// header's preamble describe (the C caller's contract).
#[unsafe(no_mangle)]
pub unsafe extern "C-unwind" fn dlv_npy_load(
    path: *const c_char,
    mode: dlv_mmap_mode,
    out: *mut *mut dlv_tensor,
) -> dlv_status {
    ffi_call(|| {
        // SAFETY: the C caller passes a writable out-pointer or NULL.
        let out = unsafe { out_param(out, "out") }?;
        // SAFETY: the C caller passes a NUL-terminated string or NULL.
        let path = unsafe { path_arg(path) }?;
        out.give(npy::load(path, mmap_mode(mode)?)?);
        Ok(())
    })
}

/// Writes `t` to `path` as a `.npy` file (version 1.0 unless the header
/// needs 2.0; data 64-byte aligned), byte-identical to what NumPy writes. A
/// C-contiguous view is written as it is, an F-contiguous one with
/// `fortran_order: True`, any other view's elements in C order. bfloat16
/// and float8 types get their ml_dtypes names as descr (NumPy reads them
/// once ml_dtypes is imported). The file is written under a temporary name
/// in the same directory and renamed over `path`, so a failure leaves no
/// partial file and any map of an earlier file at `path` is unaffected.
///
/// Statuses: NULL_ARGUMENT (t, path), INVALID_ARGUMENT (empty path),
/// UNSUPPORTED_DEVICE (not host memory), UNSUPPORTED_DTYPE (packed
/// float4/float6), IO (with the path and OS error), OUT_OF_MEMORY.
///
/// # Safety
/// Every pointer argument is NULL or valid as this comment and the
/// header's preamble describe (the C caller's contract).
#[unsafe(no_mangle)]
pub unsafe extern "C-unwind" fn dlv_npy_save(
    t: *const dlv_tensor,
    path: *const c_char,
) -> dlv_status {
    ffi_call(|| {
        // SAFETY: the C caller passes a live handle or NULL.
        let t = unsafe { tensor_ref(t, "t") }?;
        // SAFETY: the C caller passes a NUL-terminated string or NULL.
        let path = unsafe { path_arg(path) }?;
        npy::save(t, path)
    })
}

/// Maps a raw file (no header) as a tensor, like `numpy.memmap(path, dtype,
/// mode, offset, shape, order)`. `mode` is `DLV_MMAP_READ`, `_READ_WRITE`,
/// `_COPY_ON_WRITE` or `_CREATE` (create or truncate; needs a shape). The
/// element [0,...,0] is at byte `offset` of the file (any offset; the
/// mapping starts at the page below it). `order` is `DLV_ORDER_C` or
/// `DLV_ORDER_F`.
///
/// `ndim == -1` maps the whole file after `offset` as a 1-D tensor (`shape`
/// is ignored and may be NULL; the byte count must be a multiple of the
/// itemsize). Otherwise `shape` holds `ndim` sizes (NULL allowed for
/// ndim 0): with READ_WRITE and CREATE the file grows to hold them (as
/// NumPy does); READ and COPY_ON_WRITE need the bytes to be there.
/// Files in /dev/shm work like any other, so two processes mapping one with
/// READ_WRITE share a tensor. The mapping lives until the last view and
/// DLPack export of it is freed.
///
/// On success `*out` is a new handle owned by the caller.
/// Statuses: NULL_ARGUMENT (path, out, shape with ndim > 0),
/// INVALID_ARGUMENT (mode NONE or unknown, order K or unknown, ndim,
/// negative shape, CREATE without a shape, file too small or not a multiple
/// of the itemsize, offset past the end), UNSUPPORTED_DTYPE, IO.
///
/// # Safety
/// Every pointer argument is NULL or valid as this comment and the
/// header's preamble describe (the C caller's contract).
#[unsafe(no_mangle)]
pub unsafe extern "C-unwind" fn dlv_memmap(
    path: *const c_char,
    dtype: DLDataType,
    mode: dlv_mmap_mode,
    offset: u64,
    ndim: i32,
    shape: *const i64,
    order: dlv_order,
    out: *mut *mut dlv_tensor,
) -> dlv_status {
    ffi_call(|| {
        // SAFETY: the C caller passes a writable out-pointer or NULL.
        let out = unsafe { out_param(out, "out") }?;
        // SAFETY: the C caller passes a NUL-terminated string or NULL.
        let path = unsafe { path_arg(path) }?;
        let dtype = DType::from_dl(dtype)?;
        let mode = mmap_mode(mode)?
            .ok_or_else(|| invalid!("dlv_memmap needs a mapping mode, not DLV_MMAP_NONE"))?;
        let shape = match ndim {
            -1 => None,
            // SAFETY: the C caller passes `ndim` readable values or NULL.
            n => Some(unsafe { c_array(shape, ndim_arg(n)?, "shape") }?),
        };
        let order = crate::types::order(order)?;
        out.give(mmap::memmap(path, dtype, mode, offset, shape, order)?);
        Ok(())
    })
}

/// Writes the changes made through a `DLV_MMAP_READ_WRITE` / `_CREATE`
/// mapping back to its file and waits for them (`msync`), like NumPy's
/// `memmap.flush`. Any view of the mapping flushes all of it. For a private
/// mapping (READ, COPY_ON_WRITE) or a tensor that is not memory-mapped there
/// is nothing to write: DLV_OK.
/// Statuses: NULL_ARGUMENT, IO.
///
/// # Safety
/// Every pointer argument is NULL or valid as this comment and the
/// header's preamble describe (the C caller's contract).
#[unsafe(no_mangle)]
pub unsafe extern "C-unwind" fn dlv_tensor_flush(t: *const dlv_tensor) -> dlv_status {
    ffi_call(|| {
        // SAFETY: the C caller passes a live handle or NULL.
        mmap::flush(unsafe { tensor_ref(t, "t") }?)
    })
}
