//! Fuzz target `dlpack_import`: arbitrary DLPack descriptors (versioned and
//! legacy) through `dlv_tensor_from_dlpack[_legacy]`.
//!
//! Each input builds one producer tensor — version, flags, ndim, shape,
//! strides (or NULL), byte_offset, dtype, device, data pointer (NULL, inside
//! a real buffer, or at an unmapped address that is never read), deleter
//! (counted, or NULL), options and out-pointer (or NULL) — and an
//! independent oracle written from RULES.md §5 (not from the library's
//! code) decides whether it must be accepted and, if not, which statuses
//! are acceptable. Then:
//!
//! - a rejection returns one of the oracle's statuses, leaves `*out`
//!   untouched, sets a message, and has run the deleter exactly once;
//! - an acceptance reports exactly the descriptor's element-0 address,
//!   shape, strides, dtype and device, the flags the rules give, runs the
//!   deleter only after the last handle and export is gone and then exactly
//!   once, survives an export/re-import round trip unchanged, and — when
//!   the tensor lies in the real buffer — a copy reads exactly the bytes the
//!   descriptor's index arithmetic names (computed here, independently).
//!
//! The deleter never frees the block it is handed, so a second call is
//! counted rather than being a double free; it does free the shape and
//! strides arrays and poisons the descriptor, so a read after deletion is
//! caught (by ASan, or by the wrong values it yields).

use super::input::Input;
use dlpark::DlpackFlags;
use dlpark::ffi::{
    DLDataType, DLDataTypeCode, DLDevice, DLDeviceType, DLManagedTensor, DLManagedTensorVersioned,
    DLPackVersion, DLTensor,
};
use dlview::*;
use std::ffi::{CStr, c_void};
use std::sync::atomic::{AtomicUsize, Ordering};

const BUF_BYTES: usize = 4096;
/// An address with nothing mapped at it (x86-64 and aarch64 user space
/// reaches 2^47 at most). Tensors pointing here are never read.
const FAKE_BASE: usize = 1 << 52;
/// Above this many elements, exact enumeration is skipped.
const ENUM_LIMIT: i128 = 1 << 14;

#[repr(C, align(64))]
struct Buffer([u8; BUF_BYTES]);

/// The producer's block: the managed struct first (so the deleter's
/// argument is a pointer to the block), then its bookkeeping.
#[repr(C)]
struct Block<M> {
    managed: M,
    calls: AtomicUsize,
    arrays: Option<ShapeAndStrides>,
}

/// The arrays a descriptor's `shape` and `strides` point into.
type ShapeAndStrides = (Box<[i64]>, Box<[i64]>);

trait Managed: Sized + 'static {
    fn dl(&mut self) -> &mut DLTensor;
}
impl Managed for DLManagedTensorVersioned {
    fn dl(&mut self) -> &mut DLTensor {
        &mut self.dl_tensor
    }
}
impl Managed for DLManagedTensor {
    fn dl(&mut self) -> &mut DLTensor {
        &mut self.dl_tensor
    }
}

/// Counts the call; on the first, frees the arrays and poisons every field
/// a consumer could still (wrongly) read.
unsafe extern "C" fn counted_deleter<M: Managed>(mt: *mut M) {
    let block = mt.cast::<Block<M>>();
    // SAFETY: `mt` is the first field of a live `Block<M>` the harness owns
    // until the end of the run.
    unsafe {
        if (*block).calls.fetch_add(1, Ordering::SeqCst) == 0 {
            (*block).arrays = None;
            let dl = (*block).managed.dl();
            dl.ndim = -0x5a5a;
            dl.shape = std::ptr::dangling_mut();
            dl.strides = std::ptr::dangling_mut();
            dl.data = 0xdead_0000_usize as *mut c_void;
        }
    }
}

/// Where the descriptor's data pointer points.
#[derive(Clone, Copy, Debug)]
enum Data {
    Null,
    Buffer(usize),
    Fake(usize),
}

#[derive(Debug)]
struct Desc {
    legacy: bool,
    null_mt: bool,
    null_deleter: bool,
    null_out: bool,
    version: (u32, u32),
    flags: u64,
    ndim: i32,
    /// `None`: a NULL pointer. Otherwise exactly the values (length =
    /// ndim when that is in range).
    shape: Option<Vec<i64>>,
    strides: Option<Vec<i64>>,
    byte_offset: u64,
    dtype: (u8, u8, u16),
    device: (u32, i32),
    data: Data,
    /// `None`: NULL options.
    opts: Option<(u32, bool)>,
}

/// (code, bits) of every dtype RULES.md §5 accepts.
const VALID_DTYPES: [(u8, u8); 26] = [
    (0, 8),
    (0, 16),
    (0, 32),
    (0, 64),
    (1, 8),
    (1, 16),
    (1, 32),
    (1, 64),
    (2, 16),
    (2, 32),
    (2, 64),
    (4, 16),
    (5, 64),
    (5, 128),
    (6, 8),
    (7, 8),
    (8, 8),
    (9, 8),
    (10, 8),
    (11, 8),
    (12, 8),
    (13, 8),
    (14, 8),
    (15, 6),
    (16, 6),
    (17, 4),
];

fn dtype_valid((code, bits, lanes): (u8, u8, u16)) -> bool {
    lanes == 1 && VALID_DTYPES.contains(&(code, bits))
}

/// Host-accessible DLPack devices: CPU, CUDA host, ROCm host, CUDA managed.
fn host_device(device_type: u32) -> bool {
    matches!(device_type, 1 | 3 | 11 | 13)
}

fn gen_desc(inp: &mut Input) -> Desc {
    let legacy = inp.below(4) == 0;
    let null_mt = inp.byte() == 255;
    let null_deleter = inp.byte() >= 248;
    let null_out = inp.byte() == 255;
    let major = match inp.byte() {
        0..=219 => 1,
        b => [0, 2, 3, u32::MAX, 0x8000_0001][usize::from(b) % 5],
    };
    let minor = match inp.byte() {
        b @ 0..=249 => u32::from(b % 6),
        _ => inp.u32(),
    };
    let flags = match inp.byte() {
        b @ 0..=239 => u64::from(b % 8),
        _ => inp.u64(),
    };
    let ndim = match inp.byte() {
        b @ 0..=219 => i32::from(b % 7),
        b => [-1, 64, 65, i32::MIN, i32::MAX, 63, 100, 8, 16, 33][usize::from(b) % 10],
    };
    let len = if (0..=64).contains(&ndim) {
        ndim as usize
    } else {
        inp.below(4)
    };
    let shape = if inp.byte() >= 250 {
        None
    } else {
        Some((0..len).map(|_| inp.dim()).collect())
    };
    let strides = if inp.byte() >= 220 {
        None
    } else {
        Some((0..len).map(|_| inp.signed()).collect())
    };
    let byte_offset = match inp.byte() {
        0..=159 => 0,
        b @ 160..=229 => u64::from(b % 16) * [1, 2, 4, 8][usize::from(b) % 4],
        b => [
            1 << 63,
            u64::MAX,
            isize::MAX as u64,
            isize::MAX as u64 + 1,
            1 << 62,
            u64::MAX - 7,
            (1 << 52) + 8,
            (1 << 63) - 8,
        ][usize::from(b) % 8],
    };
    let dtype = match inp.byte() {
        b @ 0..=199 => {
            let (c, bits) = VALID_DTYPES[usize::from(b) % VALID_DTYPES.len()];
            (c, bits, 1)
        }
        b @ 200..=239 => (
            inp.byte() % 20,
            [0, 1, 4, 6, 7, 8, 12, 16, 32, 64, 128, 255][usize::from(b) % 12],
            1,
        ),
        _ => (
            inp.byte(),
            inp.byte(),
            [0, 2, 4, 16, u16::MAX][inp.below(5)],
        ),
    };
    let device = match inp.byte() {
        0..=179 => (1, 0),
        b => (
            [2, 3, 4, 7, 10, 11, 13, 0, 99, u32::MAX, 0x8000_0000][usize::from(b) % 11],
            inp.byte() as i32 - 2,
        ),
    };
    let data = match inp.below(8) {
        0 => Data::Null,
        1..=5 => Data::Buffer(usize::from(inp.byte()) * [1, 8, 16][inp.below(3)] % BUF_BYTES),
        _ => Data::Fake(usize::from(inp.byte()) * 8),
    };
    let opts = match inp.byte() {
        0..=99 => None,
        b => Some((
            match b % 8 {
                0..=5 => u32::from(b % 3),
                6 => 3,
                _ => u32::MAX,
            },
            inp.bool(),
        )),
    };
    Desc {
        legacy,
        null_mt,
        null_deleter,
        null_out,
        version: (major, minor),
        flags,
        ndim,
        shape,
        strides,
        byte_offset,
        dtype,
        device,
        data,
        opts,
    }
}

/// What the rules say must happen.
#[derive(Debug)]
enum Expect {
    /// Accepted: element 0 at `start_addr + ...`; shape, strides (elements),
    /// element-offset bounds, and the byte range of the elements.
    Accept {
        data_addr: i128,
        shape: Vec<i64>,
        strides: Vec<i64>,
        range: Option<(i128, i128)>,
    },
    Reject(Vec<dlv_status>),
}

fn bits_itemsize(bits: u8) -> i128 {
    i128::from(bits) / 8
}

/// The product, saturating far above any valid size (no i128 overflow for
/// 64 huge dims).
pub fn sat_product(dims: impl Iterator<Item = i64>) -> i128 {
    dims.fold(1i128, |p, d| {
        p.saturating_mul(i128::from(d)).clamp(-(1 << 100), 1 << 100)
    })
}

/// NumPy's C-contiguity: size-1 dims ignored; any size-0 tensor qualifies.
pub fn c_contiguous(shape: &[i64], strides: &[i64]) -> bool {
    if shape.contains(&0) {
        return true;
    }
    let mut expected: i128 = 1;
    for (&n, &s) in shape.iter().zip(strides).rev() {
        if n != 1 {
            if i128::from(s) != expected {
                return false;
            }
            expected *= i128::from(n);
        }
    }
    true
}

pub fn f_contiguous(shape: &[i64], strides: &[i64]) -> bool {
    let rs: Vec<i64> = shape.iter().rev().copied().collect();
    let rt: Vec<i64> = strides.iter().rev().copied().collect();
    c_contiguous(&rs, &rt)
}

/// Whether two indices can address the same element: `Some(answer)` when
/// decidable cheaply (always below [`ENUM_LIMIT`] elements).
pub fn overlaps(shape: &[i64], strides: &[i64]) -> Option<bool> {
    if shape.contains(&0) {
        return Some(false);
    }
    let mut dims: Vec<(u128, i128)> = shape
        .iter()
        .zip(strides)
        .filter(|&(&n, _)| n > 1)
        .map(|(&n, &s)| (u128::from(s.unsigned_abs()), i128::from(n)))
        .collect();
    dims.sort();
    let mut reach: u128 = 0;
    let mut separated = true;
    for &(s, n) in &dims {
        if s <= reach {
            separated = false;
            break;
        }
        reach += s * (n as u128 - 1);
    }
    if separated {
        return Some(false);
    }
    let size: i128 = shape.iter().map(|&n| i128::from(n)).product();
    if size > ENUM_LIMIT {
        return None;
    }
    let mut offs = element_offsets(shape, strides);
    offs.sort_unstable();
    Some(offs.windows(2).any(|w| w[0] == w[1]))
}

/// Every element offset in C index order (caller bounds the size).
pub fn element_offsets(shape: &[i64], strides: &[i64]) -> Vec<i128> {
    if shape.contains(&0) {
        return Vec::new();
    }
    let mut out = vec![0i128];
    for (&n, &s) in shape.iter().zip(strides) {
        let mut next = Vec::with_capacity(out.len() * n.max(0) as usize);
        for &o in &out {
            for i in 0..n {
                next.push(o + i128::from(i) * i128::from(s));
            }
        }
        out = next;
    }
    out
}

fn oracle(d: &Desc, buf_addr: usize) -> Expect {
    use dlv_status::*;
    if d.null_mt {
        return Expect::Reject(vec![DLV_ERR_NULL_ARGUMENT]);
    }
    let mut errs = Vec::new();
    if d.null_out {
        errs.push(DLV_ERR_NULL_ARGUMENT);
    }
    let copy = d.opts.map_or(0, |o| o.0);
    if copy > 2 {
        errs.push(DLV_ERR_INVALID_ARGUMENT);
    }
    if !d.legacy && d.version.0 != 1 {
        errs.push(DLV_ERR_VERSION);
        return Expect::Reject(errs);
    }
    if !(0..=64).contains(&d.ndim) {
        errs.push(DLV_ERR_INVALID_ARGUMENT);
        return Expect::Reject(errs);
    }
    let ndim = d.ndim as usize;
    let dtype_ok = dtype_valid(d.dtype);
    if !dtype_ok {
        errs.push(DLV_ERR_UNSUPPORTED_DTYPE);
    }
    let padded = !d.legacy && d.flags & DlpackFlags::IS_SUBBYTE_TYPE_PADDED.bits() != 0;
    if padded {
        errs.push(DLV_ERR_UNSUPPORTED_DTYPE);
    }
    if d.byte_offset > isize::MAX as u64 {
        errs.push(DLV_ERR_INVALID_ARGUMENT);
    }
    let shape: Vec<i64> = match (&d.shape, ndim) {
        (_, 0) => Vec::new(),
        (None, _) => {
            errs.push(DLV_ERR_INVALID_ARGUMENT);
            return Expect::Reject(errs);
        }
        (Some(s), _) => s.clone(),
    };
    if shape.iter().any(|&n| n < 0) {
        errs.push(DLV_ERR_INVALID_ARGUMENT);
        return Expect::Reject(errs);
    }
    let nonzero: i128 = sat_product(shape.iter().copied().filter(|&n| n != 0));
    if nonzero > isize::MAX as i128 {
        errs.push(DLV_ERR_INVALID_ARGUMENT);
        return Expect::Reject(errs);
    }
    let size: i128 = shape.iter().map(|&n| i128::from(n)).product();
    let strides: Vec<i64> = match (&d.strides, ndim) {
        (_, 0) => Vec::new(),
        (Some(s), _) => s.clone(),
        (None, _) if d.legacy || d.version.1 < 2 => {
            // C order; size-0 dims count as 1. Cannot overflow: the product
            // of the nonzero dims fits.
            let mut st = vec![0i64; ndim];
            let mut step: i64 = 1;
            for i in (0..ndim).rev() {
                st[i] = step;
                step = step.saturating_mul(shape[i].max(1));
            }
            st
        }
        (None, _) => {
            errs.push(DLV_ERR_INVALID_ARGUMENT);
            return Expect::Reject(errs);
        }
    };
    // Element-offset bounds: every partial sum must be representable in i64.
    let mut range = None;
    if size > 0 {
        let (mut lo, mut hi) = (0i128, 0i128);
        for (&n, &s) in shape.iter().zip(&strides) {
            let reach = i128::from(n - 1) * i128::from(s);
            if i64::try_from(reach).is_err() {
                errs.push(DLV_ERR_INVALID_ARGUMENT);
                return Expect::Reject(errs);
            }
            if reach < 0 {
                lo += reach;
            } else {
                hi += reach;
            }
        }
        if i64::try_from(lo).is_err() || i64::try_from(hi).is_err() {
            errs.push(DLV_ERR_INVALID_ARGUMENT);
            return Expect::Reject(errs);
        }
        range = Some((lo, hi));
    }
    let data_addr: i128 = match d.data {
        Data::Null => 0,
        Data::Buffer(off) => (buf_addr + off) as i128,
        Data::Fake(off) => (FAKE_BASE + off) as i128,
    } + i128::from(d.byte_offset);
    if size > 0 && matches!(d.data, Data::Null) {
        errs.push(DLV_ERR_INVALID_ARGUMENT);
    }
    // Issue 15: `data + byte_offset` may not wrap past 2^64, and NumPy's
    // byte limits bind every shape, size 0 included.
    if data_addr > u64::MAX as i128 {
        errs.push(DLV_ERR_INVALID_ARGUMENT);
    }
    if dtype_ok {
        let item = i128::from((d.dtype.1 / 8).max(1));
        if nonzero.saturating_mul(item) > isize::MAX as i128
            || shape
                .iter()
                .zip(&strides)
                .any(|(&n, &s)| n > 1 && i64::try_from(i128::from(s) * item).is_err())
        {
            errs.push(DLV_ERR_INVALID_ARGUMENT);
        }
    }
    let mut bytes = None;
    if dtype_ok {
        let (_, bits, _) = d.dtype;
        if bits % 8 != 0 {
            if !c_contiguous(&shape, &strides) {
                errs.push(DLV_ERR_UNSUPPORTED_DTYPE);
            }
            bytes = (size > 0).then(|| (data_addr, data_addr + (size * i128::from(bits) + 7) / 8));
        } else if let Some((lo, hi)) = range {
            let item = bits_itemsize(bits);
            let (start, end) = (lo * item, (hi + 1) * item);
            if i64::try_from(start).is_err()
                || i64::try_from(end).is_err()
                || i64::try_from(end - start).is_err()
            {
                errs.push(DLV_ERR_INVALID_ARGUMENT);
            }
            bytes = Some((data_addr + start, data_addr + end));
        }
    }
    // The elements must lie in the address space: no wrap below 0 or past
    // the top (a pointer computed by wrapping is no address at all).
    if let Some((start, end)) = bytes
        && (start < 0 || end >= 1i128 << 64)
    {
        errs.push(DLV_ERR_INVALID_ARGUMENT);
    }
    if copy == 2 && dtype_ok {
        if !d.dtype.1.is_multiple_of(8) {
            errs.push(DLV_ERR_UNSUPPORTED_DTYPE);
        }
        if !host_device(d.device.0) {
            errs.push(DLV_ERR_UNSUPPORTED_DEVICE);
        }
    }
    if errs.is_empty() {
        Expect::Accept {
            data_addr,
            shape,
            strides,
            range: bytes,
        }
    } else {
        Expect::Reject(errs)
    }
}

fn last_error() -> String {
    // SAFETY: never NULL, NUL-terminated, valid until the next failing call.
    unsafe { CStr::from_ptr(dlv_last_error()) }
        .to_string_lossy()
        .into_owned()
}

/// Builds the producer's block for `d` (leaked; freed by the caller with
/// `Box::from_raw` at the end of the run).
fn make_block<M: Managed>(
    d: &Desc,
    buf_addr: usize,
    make: impl FnOnce(DLTensor) -> M,
) -> *mut Block<M> {
    let mut shape: Box<[i64]> = d.shape.clone().unwrap_or_default().into_boxed_slice();
    let mut strides: Box<[i64]> = d.strides.clone().unwrap_or_default().into_boxed_slice();
    let data = match d.data {
        Data::Null => std::ptr::null_mut(),
        Data::Buffer(off) => (buf_addr + off) as *mut c_void,
        Data::Fake(off) => (FAKE_BASE + off) as *mut c_void,
    };
    let dl = DLTensor {
        data,
        device: DLDevice {
            device_type: DLDeviceType(d.device.0),
            device_id: d.device.1,
        },
        ndim: d.ndim,
        dtype: DLDataType {
            code: DLDataTypeCode(d.dtype.0),
            bits: d.dtype.1,
            lanes: d.dtype.2,
        },
        shape: if d.shape.is_some() {
            shape.as_mut_ptr()
        } else {
            std::ptr::null_mut()
        },
        strides: if d.strides.is_some() {
            strides.as_mut_ptr()
        } else {
            std::ptr::null_mut()
        },
        byte_offset: d.byte_offset,
    };
    Box::into_raw(Box::new(Block {
        managed: make(dl),
        calls: AtomicUsize::new(0),
        arrays: Some((shape, strides)),
    }))
}

/// Runs one input. Panics on any violation of the rules.
pub fn run(data: &[u8]) {
    let mut inp = Input::new(data);
    let d = gen_desc(&mut inp);
    let mut buf = Box::new(Buffer([0; BUF_BYTES]));
    for (i, b) in buf.0.iter_mut().enumerate() {
        *b = (i.wrapping_mul(131) ^ (i >> 8)) as u8;
    }
    let buf_addr = buf.0.as_ptr() as usize;
    let mut d = d;
    let mut expect = oracle(&d, buf_addr);
    // A copy reads every element: only where the elements really are.
    if let Expect::Accept { range, shape, .. } = &expect
        && d.opts.is_some_and(|o| o.0 == 2)
    {
        let size: i128 = shape.iter().map(|&n| i128::from(n)).product();
        let inside =
            range.is_none_or(|(s, e)| s >= buf_addr as i128 && e <= (buf_addr + BUF_BYTES) as i128);
        if !inside || size > ENUM_LIMIT {
            d.opts = d.opts.map(|(_, t)| (0, t));
            expect = oracle(&d, buf_addr);
        }
    }
    let live_before = dlv_live_storage_count();
    if d.legacy {
        let block = make_block(&d, buf_addr, |dl| DLManagedTensor {
            dl_tensor: dl,
            manager_ctx: std::ptr::null_mut(),
            deleter: (!d.null_deleter).then_some(counted_deleter::<DLManagedTensor> as _),
        });
        check_import(&d, &expect, block, buf_addr, |mt, opts, out| unsafe {
            dlv_tensor_from_dlpack_legacy(mt, opts, out)
        });
        // SAFETY: the harness owns the block; the library is done with it.
        drop(unsafe { Box::from_raw(block) });
    } else {
        let block = make_block(&d, buf_addr, |dl| DLManagedTensorVersioned {
            version: DLPackVersion {
                major: d.version.0,
                minor: d.version.1,
            },
            manager_ctx: std::ptr::null_mut(),
            deleter: (!d.null_deleter).then_some(counted_deleter::<DLManagedTensorVersioned> as _),
            flags: DlpackFlags::from_bits_retain(d.flags),
            dl_tensor: dl,
        });
        check_import(&d, &expect, block, buf_addr, |mt, opts, out| unsafe {
            dlv_tensor_from_dlpack(mt, opts, out)
        });
        // SAFETY: as above.
        drop(unsafe { Box::from_raw(block) });
    }
    assert_eq!(
        dlv_live_storage_count(),
        live_before,
        "a storage outlived every handle: {d:?}"
    );
    drop(buf);
}

type ImportFn<M> = fn(*mut M, *const dlv_import_options, *mut *mut dlv_tensor) -> dlv_status;

fn check_import<M: Managed>(
    d: &Desc,
    expect: &Expect,
    block: *mut Block<M>,
    buf_addr: usize,
    import: ImportFn<M>,
) {
    let sentinel = 0x5e47_1e00usize as *mut dlv_tensor;
    let mut out = sentinel;
    let opts = d.opts.map(|(copy, trust)| dlv_import_options {
        copy,
        trust_legacy_writeable: trust,
    });
    let opts_ptr = opts.as_ref().map_or(std::ptr::null(), |o| o as *const _);
    let mt = if d.null_mt {
        std::ptr::null_mut()
    } else {
        block.cast::<M>()
    };
    let out_ptr = if d.null_out {
        std::ptr::null_mut()
    } else {
        &mut out as *mut _
    };
    let status = import(mt, opts_ptr, out_ptr);
    // SAFETY: the block lives until the caller frees it.
    let calls = || unsafe { (*block).calls.load(Ordering::SeqCst) };
    let deleter_expected = usize::from(!d.null_mt && !d.null_deleter);
    match expect {
        Expect::Reject(allowed) => {
            assert!(
                allowed.contains(&status),
                "status {status:?} not in {allowed:?} ({}) for {d:?}",
                last_error()
            );
            assert_eq!(out, sentinel, "a failed import wrote *out: {d:?}");
            assert!(!last_error().is_empty(), "no message for {status:?}: {d:?}");
            assert_eq!(
                calls(),
                deleter_expected,
                "deleter calls after a failed import: {d:?}"
            );
        }
        Expect::Accept {
            data_addr,
            shape,
            strides,
            range,
        } => {
            assert_eq!(
                status,
                dlv_status::DLV_OK,
                "rejected ({}) a valid descriptor {d:?}",
                last_error()
            );
            assert_ne!(out, sentinel);
            let copied = d.opts.is_some_and(|o| o.0 == 2);
            assert_eq!(
                calls(),
                if copied { deleter_expected } else { 0 },
                "deleter calls after import: {d:?}"
            );
            check_accepted(d, out, *data_addr, shape, strides, *range, copied, buf_addr);
            // SAFETY: a live handle from the import.
            unsafe { round_trip(out, d) };
            assert_eq!(
                calls(),
                deleter_expected,
                "deleter calls once everything is freed: {d:?}"
            );
        }
    }
}

fn tensor_shape(t: *const dlv_tensor) -> (Vec<i64>, Vec<i64>) {
    // SAFETY: live handle; the arrays hold ndim values.
    unsafe {
        let n = dlv_tensor_ndim(t) as usize;
        if n == 0 {
            return (Vec::new(), Vec::new());
        }
        (
            std::slice::from_raw_parts(dlv_tensor_shape(t), n).to_vec(),
            std::slice::from_raw_parts(dlv_tensor_strides(t), n).to_vec(),
        )
    }
}

#[allow(clippy::too_many_arguments)]
fn check_accepted(
    d: &Desc,
    t: *mut dlv_tensor,
    data_addr: i128,
    shape: &[i64],
    strides: &[i64],
    range: Option<(i128, i128)>,
    copied: bool,
    buf_addr: usize,
) {
    // SAFETY (whole function): `t` is a live handle.
    unsafe {
        let (got_shape, got_strides) = tensor_shape(t);
        assert_eq!(got_shape, shape, "shape of {d:?}");
        let dt = dlv_tensor_dtype(t);
        assert_eq!((dt.code.0, dt.bits, dt.lanes), d.dtype, "dtype of {d:?}");
        let size: i128 = shape.iter().map(|&n| i128::from(n)).product();
        assert_eq!(i128::from(dlv_tensor_size(t)), size);
        let flags = dlv_tensor_flags(t);
        let data = dlv_tensor_data(t) as usize;
        if copied {
            // A fresh CPU buffer with the elements at the descriptor's
            // addresses, in the source's axis order (K).
            assert_eq!(
                dlv_tensor_device(t).device_type.0,
                1,
                "a copy lives on the CPU"
            );
            assert!(
                flags & DLV_FLAG_WRITEABLE != 0 && flags & DLV_FLAG_OWNDATA != 0,
                "copy flags {flags:#x}"
            );
            if size > 0 {
                compare_bytes(t, data_addr, shape, strides, d.dtype.1, buf_addr, d);
            }
            return;
        }
        assert_eq!(got_strides, strides, "strides of {d:?}");
        let dev = dlv_tensor_device(t);
        assert_eq!(
            (dev.device_type.0, dev.device_id),
            d.device,
            "device of {d:?}"
        );
        if size == 0 {
            assert_eq!(data, 0, "a size-0 tensor reports data NULL");
        } else {
            assert_eq!(
                data as i128, data_addr,
                "element 0 is not where the descriptor put it: {d:?}"
            );
        }
        // Flags (RULES §2): read-only imports, overlap; contiguity; alignment.
        let read_only = if d.legacy {
            !d.opts.is_some_and(|o| o.1)
        } else {
            d.flags & DlpackFlags::READ_ONLY.bits() != 0
        };
        let c = c_contiguous(shape, strides);
        let f = f_contiguous(shape, strides);
        assert_eq!(
            flags & DLV_FLAG_C_CONTIGUOUS != 0,
            c,
            "C_CONTIGUOUS of {d:?}"
        );
        assert_eq!(
            flags & DLV_FLAG_F_CONTIGUOUS != 0,
            f,
            "F_CONTIGUOUS of {d:?}"
        );
        assert!(flags & DLV_FLAG_OWNDATA != 0, "an import is a root");
        if read_only {
            assert_eq!(
                flags & DLV_FLAG_WRITEABLE,
                0,
                "read-only import is writeable: {d:?}"
            );
        } else if let Some(ov) = overlaps(shape, strides) {
            assert_eq!(
                flags & DLV_FLAG_WRITEABLE != 0,
                !ov || c || f,
                "WRITEABLE of {d:?}"
            );
        }
        let bits = d.dtype.1;
        if bits.is_multiple_of(8) && size > 0 {
            let align: i128 = if d.dtype.0 == 5 {
                i128::from(bits) / 16
            } else {
                i128::from(bits) / 8
            };
            let item = i128::from(bits) / 8;
            let aligned = data_addr % align == 0
                && shape
                    .iter()
                    .zip(strides)
                    .all(|(&n, &s)| n == 1 || (i128::from(s) * item) % align == 0);
            assert_eq!(flags & DLV_FLAG_ALIGNED != 0, aligned, "ALIGNED of {d:?}");
        }
        // The elements lie where the descriptor said: a copy (which reads
        // every element) gives exactly the bytes at the computed addresses.
        let in_buffer = range
            .is_some_and(|(s, e)| s >= buf_addr as i128 && e <= (buf_addr + BUF_BYTES) as i128);
        if in_buffer && host_device(d.device.0) && bits.is_multiple_of(8) && size <= ENUM_LIMIT {
            let mut copy = std::ptr::null_mut();
            let st = dlv_tensor_copy(t, DLV_ORDER_C, &mut copy);
            assert_eq!(
                st,
                dlv_status::DLV_OK,
                "copy of an in-buffer import failed: {}",
                last_error()
            );
            compare_bytes(copy, data_addr, shape, strides, bits, buf_addr, d);
            dlv_tensor_free(copy);
        }
    }
}

/// The copy `c` (any layout; read through its own shape/strides) holds, at
/// every index, the bytes at `data_addr + index . strides * itemsize` in the
/// real buffer. Bool is skipped (a copy may normalise it).
unsafe fn compare_bytes(
    c: *mut dlv_tensor,
    data_addr: i128,
    shape: &[i64],
    strides: &[i64],
    bits: u8,
    buf_addr: usize,
    d: &Desc,
) {
    if d.dtype.0 == 6 {
        return;
    }
    let item = usize::from(bits / 8);
    let (cshape, cstrides) = tensor_shape(c);
    assert_eq!(cshape, shape);
    let cdata = unsafe { dlv_tensor_data(c) } as usize;
    let src = element_offsets(shape, strides);
    let dst = element_offsets(&cshape, &cstrides);
    for (&so, &dof) in src.iter().zip(&dst) {
        let at = data_addr + so * item as i128 - buf_addr as i128;
        assert!(
            at >= 0 && at as usize + item <= BUF_BYTES,
            "element outside the buffer: {d:?}"
        );
        // SAFETY: the source is inside the live buffer (checked above); the
        // copy's element is inside the copy (its own layout).
        let (want, got) = unsafe {
            (
                std::slice::from_raw_parts((buf_addr + at as usize) as *const u8, item),
                std::slice::from_raw_parts(
                    (cdata as i128 + dof * item as i128) as usize as *const u8,
                    item,
                ),
            )
        };
        assert_eq!(
            want, got,
            "copied element differs at source offset {so}: {d:?}"
        );
    }
}

/// Exports the import again (versioned, sharing, negative strides as they
/// are), frees the handle, checks the export describes the same view, and
/// imports it back.
unsafe fn round_trip(t: *mut dlv_tensor, d: &Desc) {
    // SAFETY (whole function): `t` is a live handle owned here.
    unsafe {
        let (shape, strides) = tensor_shape(t);
        let data = dlv_tensor_data(t);
        let flags = dlv_tensor_flags(t);
        let dtype = dlv_tensor_dtype(t);
        let device = dlv_tensor_device(t);
        let opts = dlv_export_options {
            copy: DLV_COPY_NEVER,
            allow_negative_strides: true,
        };
        let mut mt = std::ptr::null_mut();
        let st = dlv_tensor_to_dlpack(t, &opts, &mut mt);
        assert_eq!(
            st,
            dlv_status::DLV_OK,
            "versioned re-export refused ({}): {d:?}",
            last_error()
        );
        dlv_tensor_free(t);
        let m = &*mt;
        assert_eq!((m.version.major, m.version.minor), (1, 3));
        assert_eq!(
            m.flags.contains(DlpackFlags::READ_ONLY),
            flags & DLV_FLAG_WRITEABLE == 0
        );
        assert!(!m.flags.contains(DlpackFlags::IS_COPIED));
        let dl = &m.dl_tensor;
        assert_eq!(dl.byte_offset, 0);
        assert_eq!(dl.data as *const c_void, data);
        assert_eq!(dl.dtype, dtype);
        assert_eq!(dl.device, device);
        assert_eq!(dl.ndim as usize, shape.len());
        if !shape.is_empty() {
            assert_eq!(
                std::slice::from_raw_parts(dl.shape, shape.len()),
                &shape[..]
            );
            assert_eq!(
                std::slice::from_raw_parts(dl.strides, shape.len()),
                &strides[..]
            );
        }
        let mut back = std::ptr::null_mut();
        let st = dlv_tensor_from_dlpack(mt, std::ptr::null(), &mut back);
        assert_eq!(
            st,
            dlv_status::DLV_OK,
            "re-import of our own export failed ({}): {d:?}",
            last_error()
        );
        assert_eq!(tensor_shape(back), (shape, strides));
        assert_eq!(dlv_tensor_data(back), data);
        assert_eq!(
            dlv_tensor_flags(back) & DLV_FLAG_WRITEABLE,
            flags & DLV_FLAG_WRITEABLE
        );
        dlv_tensor_free(back);
    }
}
