//! Fuzz target `view_ops`: random sequences of view, copy, export/import,
//! flag and element operations through the C ABI, each checked against an
//! independent model written here from RULES.md §2–4 and NumPy's
//! semantics (not from the library's layout code).
//!
//! The model keeps, for every allocation, the value of every element, and
//! for every handle its allocation, element offset, shape, strides (in
//! elements) and the flags the rules give it. After each operation the
//! handle's shape, strides, data pointer, flags and elements (all of them
//! for small tensors, a sample otherwise) must match the model; a failure
//! must return exactly the status the model predicts (or, where the rules
//! leave a choice, one of the allowed ones) and leave `*out` untouched.
//! At the end every storage is gone and each wrapped buffer's release
//! callback ran exactly once.

use super::dlpack_import::{c_contiguous, element_offsets, f_contiguous, overlaps, sat_product};
use super::input::Input;
use dlpark::DlpackFlags;
use dlpark::ffi::{DLDataType, DLDataTypeCode, DLDevice, DLDeviceType};
use dlview::dlv_status::*;
use dlview::*;
use std::ffi::{CStr, c_void};
use std::sync::atomic::{AtomicUsize, Ordering};

const MAX_HANDLES: usize = 10;
const MAX_OPS: usize = 64;
/// Tensors up to this size have every element checked.
const CHECK_ALL: i128 = 512;
/// Tensors above this size (broadcasts, zero strides) are never copied.
const BIG: i128 = 1 << 12;

#[derive(Clone, Copy, Debug)]
struct Dt {
    code: u8,
    bits: u8,
}
const DTYPES: [Dt; 5] = [
    Dt { code: 0, bits: 16 },
    Dt { code: 0, bits: 32 },
    Dt { code: 0, bits: 64 },
    Dt { code: 2, bits: 32 },
    Dt { code: 2, bits: 64 },
];

impl Dt {
    fn item(self) -> usize {
        usize::from(self.bits / 8)
    }
    fn dl(self) -> DLDataType {
        DLDataType {
            code: DLDataTypeCode(self.code),
            bits: self.bits,
            lanes: 1,
        }
    }
    /// Stores an integer value (exactly representable in every type here).
    unsafe fn write(self, p: *mut u8, v: i64) {
        // SAFETY: the caller passes `item()` writable bytes.
        unsafe {
            match (self.code, self.bits) {
                (0, 16) => p.cast::<i16>().write_unaligned(v as i16),
                (0, 32) => p.cast::<i32>().write_unaligned(v as i32),
                (0, _) => p.cast::<i64>().write_unaligned(v),
                (2, 32) => p.cast::<f32>().write_unaligned(v as f32),
                _ => p.cast::<f64>().write_unaligned(v as f64),
            }
        }
    }
}

/// The model of one allocation: its address, length in elements, and the
/// value of every element.
struct Alloc {
    base: usize,
    len: i64,
    values: Vec<i64>,
}

/// The model of one handle.
#[derive(Clone, Debug)]
struct H {
    t: *mut dlv_tensor,
    alloc: usize,
    /// Element offset of element 0 from the allocation's base.
    offset: i64,
    shape: Vec<i64>,
    strides: Vec<i64>,
    writeable: bool,
    /// The storage itself is read-only (rule 2.4).
    storage_ro: bool,
    root: bool,
}

static RELEASES: AtomicUsize = AtomicUsize::new(0);
unsafe extern "C" fn count_release(ctx: *mut c_void) {
    RELEASES.fetch_add(1, Ordering::SeqCst);
    // SAFETY: `ctx` is the Box<[u64]> leaked by `root_from_buffer`.
    drop(unsafe { Box::from_raw(ctx.cast::<Vec<u64>>()) });
}

fn last_error() -> String {
    // SAFETY: never NULL, NUL-terminated.
    unsafe { CStr::from_ptr(dlv_last_error()) }
        .to_string_lossy()
        .into_owned()
}

fn size_of(shape: &[i64]) -> i128 {
    shape.iter().map(|&n| i128::from(n)).product()
}

/// Lowest and highest element offset, relative to element 0.
fn bounds(shape: &[i64], strides: &[i64]) -> Option<(i128, i128)> {
    if shape.contains(&0) {
        return None;
    }
    let (mut lo, mut hi) = (0i128, 0i128);
    for (&n, &s) in shape.iter().zip(strides) {
        let r = i128::from(n - 1) * i128::from(s);
        if r < 0 { lo += r } else { hi += r }
    }
    Some((lo, hi))
}

/// Whether the library can represent `shape`/`strides` of `item`-byte
/// elements: dims >= 0, the product of the nonzero dims within isize, also
/// in bytes, and the byte stride of every axis longer than 1 in i64 (as
/// NumPy, for size-0 shapes too: issue 15), and every partial extent in i64.
fn representable(shape: &[i64], strides: &[i64], item: usize) -> bool {
    if shape.len() > 64 || shape.iter().any(|&n| n < 0) {
        return false;
    }
    let nonzero = sat_product(shape.iter().copied().filter(|&n| n != 0));
    if nonzero.saturating_mul(item as i128) > isize::MAX as i128 {
        return false;
    }
    let item = item as i128;
    if shape
        .iter()
        .zip(strides)
        .any(|(&n, &s)| n > 1 && i64::try_from(i128::from(s) * item).is_err())
    {
        return false;
    }
    if shape.contains(&0) {
        return true;
    }
    let (mut lo, mut hi) = (0i128, 0i128);
    for (&n, &s) in shape.iter().zip(strides) {
        let r = i128::from(n - 1) * i128::from(s);
        if i64::try_from(r).is_err() {
            return false;
        }
        if r < 0 { lo += r } else { hi += r }
    }
    i64::try_from(lo).is_ok() && i64::try_from(hi).is_ok()
}

/// Python's `slice.indices` followed by `len(range(...))`.
fn py_slice(len: i64, start: Option<i64>, stop: Option<i64>, step: i64) -> (i128, i128) {
    let (len, step) = (i128::from(len), i128::from(step));
    let (lower, upper) = if step > 0 { (0, len) } else { (-1, len - 1) };
    let clamp = |b: Option<i64>, default: i128| match b {
        None => default,
        Some(b) if b < 0 => (i128::from(b) + len).max(lower),
        Some(b) => i128::from(b).min(upper),
    };
    let first = clamp(start, if step > 0 { lower } else { upper });
    let last = clamp(stop, if step > 0 { upper } else { lower });
    let count = if step > 0 && first < last {
        (last - first - 1) / step + 1
    } else if step < 0 && last < first {
        (first - last - 1) / (-step) + 1
    } else {
        0
    };
    (first, count)
}

fn norm_axis(axis: i64, ndim: usize) -> Option<usize> {
    let a = if axis < 0 { axis + ndim as i64 } else { axis };
    (0..ndim as i64).contains(&a).then_some(a as usize)
}

struct World {
    dt: Dt,
    allocs: Vec<Alloc>,
    handles: Vec<H>,
    wrapped: usize,
}

impl World {
    fn values_at(&self, h: &H) -> Vec<i64> {
        let a = &self.allocs[h.alloc];
        element_offsets(&h.shape, &h.strides)
            .into_iter()
            .map(|o| a.values[(i128::from(h.offset) + o) as usize])
            .collect()
    }

    /// Checks a handle against its model.
    fn check(&self, h: &H, what: &str) {
        // SAFETY (whole function): `h.t` is a live handle.
        unsafe {
            let t = h.t;
            let n = dlv_tensor_ndim(t) as usize;
            assert_eq!(n, h.shape.len(), "{what}: ndim");
            if n > 0 {
                assert_eq!(
                    std::slice::from_raw_parts(dlv_tensor_shape(t), n),
                    &h.shape[..],
                    "{what}: shape"
                );
                assert_eq!(
                    std::slice::from_raw_parts(dlv_tensor_strides(t), n),
                    &h.strides[..],
                    "{what}: strides"
                );
            }
            let a = &self.allocs[h.alloc];
            let item = self.dt.item() as i128;
            let size = size_of(&h.shape);
            let data = dlv_tensor_data(t) as usize;
            if size == 0 {
                assert_eq!(data, 0, "{what}: a size-0 tensor has data NULL");
            } else {
                assert_eq!(
                    data as i128,
                    a.base as i128 + i128::from(h.offset) * item,
                    "{what}: data pointer"
                );
                let (lo, hi) = bounds(&h.shape, &h.strides).unwrap();
                let (lo, hi) = (i128::from(h.offset) + lo, i128::from(h.offset) + hi);
                assert!(
                    lo >= 0 && hi < i128::from(a.len),
                    "{what}: elements [{lo}, {hi}] outside the allocation of {}",
                    a.len
                );
            }
            let flags = dlv_tensor_flags(t);
            assert_eq!(
                flags & DLV_FLAG_C_CONTIGUOUS != 0,
                c_contiguous(&h.shape, &h.strides),
                "{what}: C_CONTIGUOUS"
            );
            assert_eq!(
                flags & DLV_FLAG_F_CONTIGUOUS != 0,
                f_contiguous(&h.shape, &h.strides),
                "{what}: F_CONTIGUOUS"
            );
            assert_eq!(
                flags & DLV_FLAG_WRITEABLE != 0,
                h.writeable,
                "{what}: WRITEABLE"
            );
            assert_eq!(flags & DLV_FLAG_OWNDATA != 0, h.root, "{what}: OWNDATA");
            assert_eq!(dlv_tensor_size(t) as i128, size, "{what}: size");
            // Elements: every one for small tensors, else the corners.
            let ndim = h.shape.len();
            let mut indices: Vec<Vec<i64>> = Vec::new();
            if size > 0 && size <= CHECK_ALL {
                let mut idx = vec![0i64; ndim];
                for _ in 0..size {
                    indices.push(idx.clone());
                    for ax in (0..ndim).rev() {
                        idx[ax] += 1;
                        if idx[ax] < h.shape[ax] {
                            break;
                        }
                        idx[ax] = 0;
                    }
                }
            } else if size > 0 {
                indices.push(vec![0; ndim]);
                indices.push(h.shape.iter().map(|&n| n - 1).collect());
                indices.push(h.shape.iter().map(|&n| n / 2).collect());
            }
            for idx in indices {
                let mut v = f64::NAN;
                let st = dlv_tensor_get_f64(t, idx.as_ptr(), &mut v);
                assert_eq!(st, DLV_OK, "{what}: get {idx:?}: {}", last_error());
                let off: i128 = i128::from(h.offset)
                    + idx
                        .iter()
                        .zip(&h.strides)
                        .map(|(&i, &s)| i128::from(i) * i128::from(s))
                        .sum::<i128>();
                assert_eq!(v, a.values[off as usize] as f64, "{what}: element {idx:?}");
            }
        }
    }

    /// Writeable per rules 2.2–2.3: inherited, dropped when elements overlap.
    /// `None` when overlap is too costly to decide here (the library's flag
    /// is then adopted).
    fn derived_writeable(parent: bool, shape: &[i64], strides: &[i64]) -> Option<bool> {
        if !parent {
            return Some(false);
        }
        if c_contiguous(shape, strides) || f_contiguous(shape, strides) {
            return Some(true);
        }
        overlaps(shape, strides).map(|o| !o)
    }

    /// Registers a new handle from a view op; adopts the library's flag
    /// where the model cannot decide.
    // Each argument is one fact of the new view, from one call site per op;
    // a struct for them would only be built to be taken apart here.
    #[allow(clippy::too_many_arguments)]
    fn push_view(
        &mut self,
        t: *mut dlv_tensor,
        parent: &H,
        offset: i64,
        shape: Vec<i64>,
        strides: Vec<i64>,
        force_ro: bool,
        what: &str,
    ) {
        let w = if force_ro {
            Some(false)
        } else {
            World::derived_writeable(parent.writeable, &shape, &strides)
        };
        // SAFETY: `t` is a live handle.
        let lib_w = unsafe { dlv_tensor_flags(t) } & DLV_FLAG_WRITEABLE != 0;
        let h = H {
            t,
            alloc: parent.alloc,
            offset,
            shape,
            strides,
            writeable: w.unwrap_or(lib_w),
            storage_ro: parent.storage_ro,
            root: false,
        };
        self.check(&h, what);
        self.handles.push(h);
    }

    /// Registers a fresh buffer (a copy) made by the library: checks that it
    /// is dense, builds its allocation model from the source's values.
    fn push_copy(
        &mut self,
        t: *mut dlv_tensor,
        src_values: Vec<i64>,
        writeable: bool,
        storage_ro: bool,
        what: &str,
    ) {
        // SAFETY: `t` is a live handle.
        let (shape, strides, data) = unsafe {
            let n = dlv_tensor_ndim(t) as usize;
            let (s, st) = if n == 0 {
                (Vec::new(), Vec::new())
            } else {
                (
                    std::slice::from_raw_parts(dlv_tensor_shape(t), n).to_vec(),
                    std::slice::from_raw_parts(dlv_tensor_strides(t), n).to_vec(),
                )
            };
            (s, st, dlv_tensor_data(t) as usize)
        };
        let size = size_of(&shape);
        let item = self.dt.item() as i128;
        let (base, offset) = match bounds(&shape, &strides) {
            Some((lo, _)) => ((data as i128 + lo * item) as usize, -lo as i64),
            None => (0, 0),
        };
        let mut values = vec![i64::MIN; size as usize];
        let offs = element_offsets(&shape, &strides);
        for (o, v) in offs.iter().zip(&src_values) {
            let at = (o + i128::from(offset)) as usize;
            assert!(
                at < values.len(),
                "{what}: a copy is not dense: shape {shape:?} strides {strides:?}"
            );
            assert_eq!(
                values[at],
                i64::MIN,
                "{what}: a copy is not dense: shape {shape:?} strides {strides:?}"
            );
            values[at] = *v;
        }
        self.allocs.push(Alloc {
            base,
            len: size as i64,
            values,
        });
        let h = H {
            t,
            alloc: self.allocs.len() - 1,
            offset,
            shape,
            strides,
            writeable,
            storage_ro,
            root: true,
        };
        self.check(&h, what);
        self.handles.push(h);
    }
}

fn gen_shape(inp: &mut Input, max_ndim: usize) -> Vec<i64> {
    let n = inp.below(max_ndim + 1);
    (0..n).map(|_| inp.dim()).collect()
}

/// The first tensor: zeros (known extent) or caller memory through
/// `from_buffer` (unknown extent), C, F or arbitrary strides.
fn make_root(inp: &mut Input, w: &mut World) {
    let ndim = inp.below(5);
    let shape: Vec<i64> = (0..ndim)
        .map(|_| 1 + inp.below(5) as i64 - i64::from(inp.below(8) == 0))
        .collect();
    let dt = w.dt;
    let item = dt.item();
    let size = size_of(&shape) as i64;
    let mut t = std::ptr::null_mut();
    if inp.bool() {
        let order = inp.below(2) as u32;
        // SAFETY: valid arguments.
        let st = unsafe { dlv_tensor_zeros(dt.dl(), ndim as i32, shape.as_ptr(), order, &mut t) };
        assert_eq!(st, DLV_OK, "zeros: {}", last_error());
        let mut p = std::ptr::null_mut();
        // SAFETY: live handle.
        assert_eq!(unsafe { dlv_tensor_data_mut(t, &mut p) }, DLV_OK);
        let mut strides = vec![0i64; ndim];
        let mut step = 1;
        let axes: Vec<usize> = if order == 0 {
            (0..ndim).rev().collect()
        } else {
            (0..ndim).collect()
        };
        for a in axes {
            strides[a] = step;
            step *= shape[a].max(1);
        }
        let values: Vec<i64> = (0..size).map(|k| (k * 7 + 1) % 20011 - 10000).collect();
        for (k, v) in values.iter().enumerate() {
            // SAFETY: inside the fresh buffer of `size` elements.
            unsafe { dt.write((p as *mut u8).add(k * item), *v) };
        }
        w.allocs.push(Alloc {
            base: p as usize,
            len: size,
            values,
        });
        let h = H {
            t,
            alloc: 0,
            offset: 0,
            shape,
            strides,
            writeable: true,
            storage_ro: false,
            root: true,
        };
        w.check(&h, "zeros root");
        w.handles.push(h);
    } else {
        let strides: Vec<i64> = match inp.below(3) {
            0 => {
                let mut s = vec![0i64; ndim];
                let mut step = 1;
                for a in (0..ndim).rev() {
                    s[a] = step;
                    step *= shape[a].max(1);
                }
                s
            }
            _ => (0..ndim).map(|_| inp.byte() as i64 % 13 - 6).collect(),
        };
        let (lo, hi) = bounds(&shape, &strides).unwrap_or((0, -1));
        let len = (hi - lo + 1) as i64 + inp.below(3) as i64;
        let words = (len as usize * item).div_ceil(8).max(1);
        let mut mem: Box<Vec<u64>> = Box::new(vec![0u64; words]);
        let base = mem.as_mut_ptr() as usize;
        let values: Vec<i64> = (0..len).map(|k| (k * 13 + 5) % 20011 - 10000).collect();
        for (k, v) in values.iter().enumerate() {
            // SAFETY: inside `mem`.
            unsafe { dt.write((base + k * item) as *mut u8, *v) };
        }
        let offset = -lo as i64;
        let data = (base + offset as usize * item) as *mut c_void;
        let writeable = inp.below(4) != 0;
        let ctx = Box::into_raw(mem).cast::<c_void>();
        let strides_ptr = if inp.below(4) == 0 && strides == c_strides(&shape) {
            std::ptr::null()
        } else {
            strides.as_ptr()
        };
        // SAFETY: the memory lives until the release callback frees it.
        let st = unsafe {
            dlv_tensor_from_buffer(
                data,
                dt.dl(),
                DLDevice {
                    device_type: DLDeviceType(1),
                    device_id: 0,
                },
                ndim as i32,
                shape.as_ptr(),
                strides_ptr,
                writeable,
                Some(count_release),
                ctx,
                &mut t,
            )
        };
        assert_eq!(
            st,
            DLV_OK,
            "from_buffer {shape:?} {strides:?}: {}",
            last_error()
        );
        w.wrapped += 1;
        w.allocs.push(Alloc { base, len, values });
        let wr = World::derived_writeable(writeable, &shape, &strides);
        // SAFETY: live handle.
        let lib_w = unsafe { dlv_tensor_flags(t) } & DLV_FLAG_WRITEABLE != 0;
        let h = H {
            t,
            alloc: 0,
            offset,
            shape,
            strides,
            writeable: wr.unwrap_or(lib_w),
            storage_ro: !writeable,
            root: true,
        };
        w.check(&h, "from_buffer root");
        w.handles.push(h);
    }
}

fn c_strides(shape: &[i64]) -> Vec<i64> {
    let mut s = vec![0i64; shape.len()];
    let mut step = 1i64;
    for a in (0..shape.len()).rev() {
        s[a] = step;
        step = step.saturating_mul(shape[a].max(1));
    }
    s
}

/// Asserts a failed call: exact status (one of `allowed`), `*out` untouched,
/// a message.
fn expect_fail(st: dlv_status, allowed: &[dlv_status], out: *mut dlv_tensor, what: &str) {
    assert!(
        allowed.contains(&st),
        "{what}: status {st:?}, expected one of {allowed:?} ({})",
        last_error()
    );
    assert!(out.is_null(), "{what}: a failed call wrote *out");
    assert!(!last_error().is_empty(), "{what}: no message");
}

/// Runs one input. Panics on any disagreement with the model.
pub fn run(data: &[u8]) {
    let mut inp = Input::new(data);
    let live_before = dlv_live_storage_count();
    let releases_before = RELEASES.load(Ordering::SeqCst);
    let mut w = World {
        dt: DTYPES[inp.below(DTYPES.len())],
        allocs: Vec::new(),
        handles: Vec::new(),
        wrapped: 0,
    };
    make_root(&mut inp, &mut w);
    for step in 0..MAX_OPS {
        if inp.is_empty() {
            break;
        }
        let op = inp.below(20);
        let hi = inp.below(w.handles.len());
        let h = w.handles[hi].clone();
        let what = format!(
            "step {step} op {op} on {:?}/{:?} off {}",
            h.shape, h.strides, h.offset
        );
        step_op(&mut inp, &mut w, op, hi, &h, &what);
        if w.handles.is_empty() {
            break;
        }
        // Every other handle is unaffected (or sees the written value).
        if op == 16 {
            for other in &w.handles {
                w.check(
                    other,
                    &format!("{what}: after a write, handle {:?}", other.shape),
                );
            }
        }
    }
    for h in w.handles.drain(..) {
        // SAFETY: live handle, freed once.
        unsafe { dlv_tensor_free(h.t) };
    }
    assert_eq!(
        dlv_live_storage_count(),
        live_before,
        "a storage outlived every handle"
    );
    assert_eq!(
        RELEASES.load(Ordering::SeqCst) - releases_before,
        w.wrapped,
        "release callbacks"
    );
}

fn step_op(inp: &mut Input, w: &mut World, op: usize, hi: usize, h: &H, what: &str) {
    let ndim = h.shape.len();
    let mut out: *mut dlv_tensor = std::ptr::null_mut();
    let full = w.handles.len() >= MAX_HANDLES;
    // SAFETY (whole function): handles in `w` are live; arrays passed hold
    // the lengths given.
    unsafe {
        match op {
            // slice
            0 if !full => {
                let axis = inp.signed() as i32;
                let opt = |inp: &mut Input| {
                    if inp.below(4) == 0 {
                        None
                    } else {
                        Some(inp.signed())
                    }
                };
                let (start, stop) = (opt(inp), opt(inp));
                let step = match inp.below(6) {
                    0 => inp.signed(),
                    k => [1, 1, -1, 2, -2][k - 1],
                };
                let st = dlv_tensor_slice(
                    h.t,
                    axis,
                    start.unwrap_or(DLV_NONE),
                    stop.unwrap_or(DLV_NONE),
                    step,
                    &mut out,
                );
                let what = &format!("{what}: slice axis {axis} {start:?}:{stop:?}:{step}");
                // INT64_MIN is DLV_NONE, an omitted bound.
                let (start, stop) = (
                    start.filter(|&b| b != DLV_NONE),
                    stop.filter(|&b| b != DLV_NONE),
                );
                let Some(ax) = norm_axis(i64::from(axis), ndim) else {
                    return expect_fail(st, &[DLV_ERR_INVALID_ARGUMENT], out, what);
                };
                if step == 0 {
                    return expect_fail(st, &[DLV_ERR_INVALID_ARGUMENT], out, what);
                }
                let (first, count) = py_slice(h.shape[ax], start, stop, step);
                let mut shape = h.shape.clone();
                let mut strides = h.strides.clone();
                shape[ax] = count as i64;
                let ns = i128::from(h.strides[ax]) * i128::from(step);
                let Ok(ns) = i64::try_from(ns) else {
                    return expect_fail(st, &[DLV_ERR_INVALID_ARGUMENT], out, what);
                };
                strides[ax] = ns;
                if !representable(&shape, &strides, w.dt.item()) {
                    return expect_fail(st, &[DLV_ERR_INVALID_ARGUMENT], out, what);
                }
                assert_eq!(
                    st,
                    DLV_OK,
                    "{what}: slice {start:?}:{stop:?}:{step}: {}",
                    last_error()
                );
                // Views of nothing stay at the source's element 0.
                let off = if count == 0 || size_of(&h.shape) == 0 {
                    0
                } else {
                    first as i64 * h.strides[ax]
                };
                w.push_view(out, h, h.offset + off, shape, strides, false, what);
            }
            // select
            1 if !full => {
                let axis = inp.signed() as i32;
                let index = inp.signed();
                let st = dlv_tensor_select(h.t, axis, index, &mut out);
                let Some(ax) = norm_axis(i64::from(axis), ndim) else {
                    return expect_fail(st, &[DLV_ERR_INVALID_ARGUMENT], out, what);
                };
                let n = h.shape[ax];
                let i = if index < 0 {
                    i128::from(index) + i128::from(n)
                } else {
                    i128::from(index)
                };
                if !(0..i128::from(n)).contains(&i) {
                    expect_fail(st, &[DLV_ERR_INDEX], out, what);
                    let msg = last_error();
                    assert!(
                        msg.contains(&format!("index {index} "))
                            && msg.contains(&format!("size {n}")),
                        "{what}: {msg}"
                    );
                    return;
                }
                assert_eq!(st, DLV_OK, "{what}: select: {}", last_error());
                let (mut shape, mut strides) = (h.shape.clone(), h.strides.clone());
                shape.remove(ax);
                strides.remove(ax);
                let off = if size_of(&h.shape) == 0 {
                    0
                } else {
                    i as i64 * h.strides[ax]
                };
                w.push_view(out, h, h.offset + off, shape, strides, false, what);
            }
            // permute
            2 if !full => {
                let mut axes: Vec<i32> = (0..ndim as i32).collect();
                for k in (1..ndim).rev() {
                    axes.swap(k, inp.below(k + 1));
                }
                match inp.below(8) {
                    0 if ndim > 0 => axes[inp.below(ndim)] = inp.signed() as i32,
                    1 if ndim > 0 => axes[inp.below(ndim)] -= ndim as i32,
                    _ => {}
                }
                let st = dlv_tensor_permute(h.t, axes.as_ptr(), &mut out);
                let norm: Vec<Option<usize>> = axes
                    .iter()
                    .map(|&a| norm_axis(i64::from(a), ndim))
                    .collect();
                let mut seen = vec![false; ndim];
                let mut ok = true;
                for a in &norm {
                    match a {
                        Some(a) if !seen[*a] => seen[*a] = true,
                        _ => ok = false,
                    }
                }
                if !ok {
                    return expect_fail(st, &[DLV_ERR_INVALID_ARGUMENT], out, what);
                }
                assert_eq!(st, DLV_OK, "{what}: permute {axes:?}: {}", last_error());
                let shape = norm.iter().map(|a| h.shape[a.unwrap()]).collect();
                let strides = norm.iter().map(|a| h.strides[a.unwrap()]).collect();
                w.push_view(out, h, h.offset, shape, strides, false, what);
            }
            // transpose
            3 if !full => {
                assert_eq!(dlv_tensor_transpose(h.t, &mut out), DLV_OK);
                let shape = h.shape.iter().rev().copied().collect();
                let strides = h.strides.iter().rev().copied().collect();
                w.push_view(out, h, h.offset, shape, strides, false, what);
            }
            // flip
            4 if !full => {
                let axis = inp.signed() as i32;
                let st = dlv_tensor_flip(h.t, axis, &mut out);
                let Some(ax) = norm_axis(i64::from(axis), ndim) else {
                    return expect_fail(st, &[DLV_ERR_INVALID_ARGUMENT], out, what);
                };
                if h.strides[ax] == i64::MIN {
                    return expect_fail(st, &[DLV_ERR_INVALID_ARGUMENT], out, what);
                }
                assert_eq!(st, DLV_OK, "{what}: flip: {}", last_error());
                let mut strides = h.strides.clone();
                strides[ax] = -strides[ax];
                let n = h.shape[ax];
                let off = if size_of(&h.shape) == 0 {
                    0
                } else {
                    (n - 1) * h.strides[ax]
                };
                w.push_view(
                    out,
                    h,
                    h.offset + off,
                    h.shape.clone(),
                    strides,
                    false,
                    what,
                );
            }
            // reshape
            5 if !full => {
                let size = size_of(&h.shape);
                let mut shape = gen_shape(inp, 4);
                match inp.below(4) {
                    // a factorisation of the size, in a random order
                    0 | 1 => {
                        shape.clear();
                        let mut rest = size as i64;
                        while rest > 1 && shape.len() < 5 {
                            let f = [2, 3, 5, 7]
                                .into_iter()
                                .find(|p| rest % p == 0)
                                .unwrap_or(rest);
                            shape.push(f);
                            rest /= f;
                        }
                        if size == 0 {
                            shape.push(0);
                        }
                        for _ in 0..inp.below(3) {
                            let at = inp.below(shape.len() + 1);
                            shape.insert(at, 1);
                        }
                        if !shape.is_empty() && inp.bool() {
                            let k = inp.below(shape.len());
                            shape[k] = -1;
                        }
                    }
                    _ => {}
                }
                // Huge (broadcast) tensors are only reshaped as views.
                let big = size > BIG;
                let mode = if big {
                    DLV_COPY_NEVER
                } else {
                    inp.below(3) as u32
                };
                let src_values = if big { Vec::new() } else { w.values_at(h) };
                let st =
                    dlv_tensor_reshape(h.t, shape.len() as i32, shape.as_ptr(), mode, &mut out);
                // Resolve the target (NumPy's rules for -1).
                let unknowns = shape.iter().filter(|&&d| d == -1).count();
                let bad = shape.iter().any(|&d| d < -1) || unknowns > 1;
                let known: i128 = sat_product(shape.iter().filter(|&&d| d != -1).copied());
                let mut target = shape.clone();
                let fits = !bad
                    && known <= i128::from(i64::MAX)
                    && if unknowns == 1 {
                        known != 0 && size % known == 0 && {
                            let k = shape.iter().position(|&d| d == -1).unwrap();
                            target[k] = (size / known) as i64;
                            true
                        }
                    } else {
                        known == size
                    };
                if !fits || !representable(&target, &c_strides(&target), w.dt.item()) {
                    return expect_fail(st, &[DLV_ERR_INVALID_ARGUMENT], out, what);
                }
                let c = c_contiguous(&h.shape, &h.strides);
                if st == DLV_ERR_COPY_REQUIRED {
                    assert!(
                        mode == DLV_COPY_NEVER && !c,
                        "{what}: reshape to {target:?} refused a view: {}",
                        last_error()
                    );
                    return expect_fail(st, &[DLV_ERR_COPY_REQUIRED], out, what);
                }
                assert_eq!(
                    st,
                    DLV_OK,
                    "{what}: reshape to {target:?}: {}",
                    last_error()
                );
                let flags = dlv_tensor_flags(out);
                let is_copy = flags & DLV_FLAG_OWNDATA != 0;
                assert!(
                    !(is_copy && mode == DLV_COPY_NEVER),
                    "{what}: reshape under NEVER copied"
                );
                assert!(
                    is_copy || mode != DLV_COPY_ALWAYS,
                    "{what}: reshape under ALWAYS shared"
                );
                if is_copy {
                    assert!(
                        mode == DLV_COPY_ALWAYS || !c,
                        "{what}: reshape copied a C-contiguous tensor"
                    );
                    w.push_copy(out, src_values, true, false, what);
                    let nh = w.handles.last().unwrap();
                    assert!(
                        c_contiguous(&nh.shape, &nh.strides),
                        "{what}: a reshape copy is C-ordered"
                    );
                } else {
                    // A view: adopt the library's strides, then require the
                    // elements, in C order, to be the source's in C order.
                    let n = target.len();
                    let strides = if n == 0 {
                        Vec::new()
                    } else {
                        std::slice::from_raw_parts(dlv_tensor_strides(out), n).to_vec()
                    };
                    let data = dlv_tensor_data(out) as usize;
                    let offset = if size == 0 {
                        h.offset
                    } else {
                        ((data - w.allocs[h.alloc].base) / w.dt.item()) as i64
                    };
                    let nh = H {
                        t: out,
                        alloc: h.alloc,
                        offset,
                        shape: target,
                        strides,
                        writeable: false,
                        storage_ro: h.storage_ro,
                        root: false,
                    };
                    if size > 0 && !big {
                        assert_eq!(
                            w.values_at(&nh),
                            src_values,
                            "{what}: reshape view reorders elements"
                        );
                    }
                    w.push_view(out, h, nh.offset, nh.shape, nh.strides, false, what);
                }
            }
            // squeeze
            6 if !full => {
                let axis = if inp.below(3) == 0 {
                    DLV_ALL_AXES
                } else {
                    inp.signed() as i32
                };
                // An i32::MIN from the input is DLV_ALL_AXES too.
                let all = axis == DLV_ALL_AXES;
                let st = dlv_tensor_squeeze(h.t, axis, &mut out);
                let keep: Vec<usize> = if all {
                    (0..ndim).filter(|&a| h.shape[a] != 1).collect()
                } else {
                    let Some(ax) = norm_axis(i64::from(axis), ndim) else {
                        return expect_fail(st, &[DLV_ERR_INVALID_ARGUMENT], out, what);
                    };
                    if h.shape[ax] != 1 {
                        return expect_fail(st, &[DLV_ERR_INVALID_ARGUMENT], out, what);
                    }
                    (0..ndim).filter(|&a| a != ax).collect()
                };
                assert_eq!(st, DLV_OK, "{what}: squeeze: {}", last_error());
                let shape = keep.iter().map(|&a| h.shape[a]).collect();
                let strides = keep.iter().map(|&a| h.strides[a]).collect();
                w.push_view(out, h, h.offset, shape, strides, false, what);
            }
            // expand_dims
            7 if !full => {
                let axis = inp.signed() as i32;
                let st = dlv_tensor_expand_dims(h.t, axis, &mut out);
                let Some(ax) = norm_axis(i64::from(axis), ndim + 1) else {
                    return expect_fail(st, &[DLV_ERR_INVALID_ARGUMENT], out, what);
                };
                if ndim + 1 > 64 {
                    return expect_fail(st, &[DLV_ERR_INVALID_ARGUMENT], out, what);
                }
                assert_eq!(st, DLV_OK, "{what}: expand_dims: {}", last_error());
                let mut shape = h.shape.clone();
                let mut strides = h.strides.clone();
                shape.insert(ax, 1);
                // The new axis's stride is the library's choice (size 1).
                strides.insert(ax, *dlv_tensor_strides(out).add(ax));
                w.push_view(out, h, h.offset, shape, strides, false, what);
            }
            // broadcast_to
            8 if !full => {
                let mut target: Vec<i64> = (0..inp.below(3)).map(|_| inp.dim()).collect();
                for &n in &h.shape {
                    target.push(match inp.below(6) {
                        0 => inp.dim(),
                        1 => n + 1,
                        _ if n == 1 => 1 + inp.below(4) as i64,
                        _ => n,
                    });
                }
                if inp.below(8) == 0 && !target.is_empty() {
                    target.remove(0);
                }
                let st =
                    dlv_tensor_broadcast_to(h.t, target.len() as i32, target.as_ptr(), &mut out);
                let lead = target.len().wrapping_sub(ndim);
                let mut strides = vec![0i64; target.len()];
                let mut ok =
                    target.len() >= ndim && target.len() <= 64 && target.iter().all(|&d| d >= 0);
                if ok {
                    for (i, &n) in h.shape.iter().enumerate() {
                        let t = target[lead + i];
                        if n == t {
                            strides[lead + i] = h.strides[i];
                        } else if n != 1 {
                            ok = false;
                        }
                    }
                }
                if !ok || !representable(&target, &strides, w.dt.item()) {
                    return expect_fail(st, &[DLV_ERR_INVALID_ARGUMENT], out, what);
                }
                assert_eq!(
                    st,
                    DLV_OK,
                    "{what}: broadcast_to {target:?}: {}",
                    last_error()
                );
                w.push_view(out, h, h.offset, target, strides, true, what);
            }
            // as_strided
            9 if !full => {
                let n = inp.below(4);
                let shape: Vec<i64> = (0..n).map(|_| inp.dim()).collect();
                let strides: Vec<i64> = (0..n).map(|_| inp.signed()).collect();
                let st = dlv_tensor_as_strided(
                    h.t,
                    n as i32,
                    shape.as_ptr(),
                    strides.as_ptr(),
                    &mut out,
                );
                let what = &format!(
                    "{what}: as_strided {shape:?} {strides:?} (allocation of {})",
                    w.allocs[h.alloc].len
                );
                if !representable(&shape, &strides, w.dt.item()) {
                    return expect_fail(st, &[DLV_ERR_INVALID_ARGUMENT], out, what);
                }
                let a = &w.allocs[h.alloc];
                let item = w.dt.item() as i128;
                // Byte extent must fit isize as well.
                let byte_ok = bounds(&shape, &strides).is_none_or(|(lo, hi)| {
                    isize::try_from(lo * item).is_ok() && isize::try_from((hi + 1) * item).is_ok()
                });
                if !byte_ok {
                    return expect_fail(st, &[DLV_ERR_INVALID_ARGUMENT], out, what);
                }
                let (inside_view, inside_alloc) = match bounds(&shape, &strides) {
                    None => (true, true),
                    Some((lo, hi)) => {
                        let (lo, hi) = (i128::from(h.offset) + lo, i128::from(h.offset) + hi);
                        let view = bounds(&h.shape, &h.strides)
                            .map(|(vl, vh)| (i128::from(h.offset) + vl, i128::from(h.offset) + vh));
                        (
                            view.is_some_and(|(vl, vh)| lo >= vl && hi <= vh),
                            lo >= 0 && hi < i128::from(a.len),
                        )
                    }
                };
                if !inside_alloc {
                    return expect_fail(st, &[DLV_ERR_INVALID_ARGUMENT], out, what);
                }
                if st != DLV_OK {
                    assert!(
                        !inside_view,
                        "{what}: as_strided {shape:?} {strides:?} inside the view refused: {}",
                        last_error()
                    );
                    return expect_fail(st, &[DLV_ERR_INVALID_ARGUMENT], out, what);
                }
                w.push_view(out, h, h.offset, shape, strides, false, what);
            }
            // sliding_window
            10 if !full => {
                let axis = inp.signed() as i32;
                let window = inp.signed();
                let st = dlv_tensor_sliding_window(h.t, axis, window, &mut out);
                let Some(ax) = norm_axis(i64::from(axis), ndim) else {
                    return expect_fail(st, &[DLV_ERR_INVALID_ARGUMENT], out, what);
                };
                let n = h.shape[ax];
                if window < 0 || window > n || ndim + 1 > 64 {
                    return expect_fail(st, &[DLV_ERR_INVALID_ARGUMENT], out, what);
                }
                let mut shape = h.shape.clone();
                let mut strides = h.strides.clone();
                shape[ax] = n - window + 1;
                shape.push(window);
                strides.push(h.strides[ax]);
                if !representable(&shape, &strides, w.dt.item()) {
                    return expect_fail(st, &[DLV_ERR_INVALID_ARGUMENT], out, what);
                }
                assert_eq!(st, DLV_OK, "{what}: sliding_window: {}", last_error());
                w.push_view(out, h, h.offset, shape, strides, true, what);
            }
            // retain
            11 if !full => {
                assert_eq!(dlv_tensor_retain(h.t, &mut out), DLV_OK);
                let nh = H {
                    t: out,
                    ..h.clone()
                };
                w.check(&nh, what);
                w.handles.push(nh);
            }
            // free
            12 => {
                let gone = w.handles.remove(hi);
                dlv_tensor_free(gone.t);
            }
            // versioned export, then import
            13 if !full => {
                // Huge (broadcast) tensors are only exported as they are.
                let big = size_of(&h.shape) > BIG;
                let mode = if big {
                    DLV_COPY_NEVER
                } else {
                    inp.below(3) as u32
                };
                let allow_neg = inp.bool() || big;
                let src_values = if big { Vec::new() } else { w.values_at(h) };
                let mut mt = std::ptr::null_mut();
                let opts = dlv_export_options {
                    copy: mode,
                    allow_negative_strides: allow_neg,
                };
                let st = dlv_tensor_to_dlpack(h.t, &opts, &mut mt);
                let negative = size_of(&h.shape) > 0
                    && h.shape
                        .iter()
                        .zip(&h.strides)
                        .any(|(&n, &s)| n > 1 && s < 0);
                let reason = negative && !allow_neg;
                if mode == DLV_COPY_NEVER && reason {
                    assert_eq!(st, DLV_ERR_COPY_REQUIRED, "{what}");
                    assert!(
                        mt.is_null() && last_error().contains("negative strides"),
                        "{what}: {}",
                        last_error()
                    );
                    return;
                }
                assert_eq!(st, DLV_OK, "{what}: export: {}", last_error());
                let copied = mode == DLV_COPY_ALWAYS || reason;
                assert_eq!(
                    (*mt).flags.contains(DlpackFlags::IS_COPIED),
                    copied,
                    "{what}: IS_COPIED"
                );
                assert_eq!(
                    (*mt).flags.contains(DlpackFlags::READ_ONLY),
                    !copied && !h.writeable,
                    "{what}: READ_ONLY"
                );
                if inp.bool() {
                    // The export keeps the memory alive without any handle.
                    let gone = w.handles.remove(hi);
                    dlv_tensor_free(gone.t);
                }
                let st = dlv_tensor_from_dlpack(mt, std::ptr::null(), &mut out);
                assert_eq!(st, DLV_OK, "{what}: re-import: {}", last_error());
                if copied {
                    w.push_copy(out, src_values, true, false, what);
                } else {
                    // Our own export comes back as the same storage; a
                    // read-only view's export comes back on read-only storage.
                    let nh = H {
                        t: out,
                        root: true,
                        storage_ro: h.storage_ro || !h.writeable,
                        ..h.clone()
                    };
                    w.check(&nh, what);
                    w.handles.push(nh);
                }
            }
            // legacy export, then import
            14 if !full => {
                let big = size_of(&h.shape) > BIG;
                let mode = if big {
                    DLV_COPY_NEVER
                } else {
                    inp.below(3) as u32
                };
                let allow_neg = inp.bool() || big;
                let trust = inp.bool();
                let src_values = if big { Vec::new() } else { w.values_at(h) };
                let mut mt = std::ptr::null_mut();
                let opts = dlv_export_options {
                    copy: mode,
                    allow_negative_strides: allow_neg,
                };
                let st = dlv_tensor_to_dlpack_legacy(h.t, &opts, &mut mt);
                let negative = size_of(&h.shape) > 0
                    && h.shape
                        .iter()
                        .zip(&h.strides)
                        .any(|(&n, &s)| n > 1 && s < 0);
                let reason = (negative && !allow_neg) || !h.writeable;
                if mode == DLV_COPY_NEVER && reason {
                    assert_eq!(st, DLV_ERR_COPY_REQUIRED, "{what}");
                    assert!(mt.is_null());
                    return;
                }
                assert_eq!(st, DLV_OK, "{what}: legacy export: {}", last_error());
                let copied = mode == DLV_COPY_ALWAYS || reason;
                let iopts = dlv_import_options {
                    copy: DLV_COPY_IF_NEEDED,
                    trust_legacy_writeable: trust,
                };
                let st = dlv_tensor_from_dlpack_legacy(mt, &iopts, &mut out);
                assert_eq!(st, DLV_OK, "{what}: legacy re-import: {}", last_error());
                if copied {
                    w.push_copy(out, src_values, trust, !trust, what);
                } else {
                    let wr = trust
                        && World::derived_writeable(true, &h.shape, &h.strides)
                            .unwrap_or(h.writeable);
                    let nh = H {
                        t: out,
                        root: true,
                        storage_ro: !trust,
                        writeable: wr,
                        ..h.clone()
                    };
                    w.check(&nh, what);
                    w.handles.push(nh);
                }
            }
            // set_writeable
            15 => {
                let want = inp.bool();
                let st = dlv_tensor_set_writeable(h.t, want);
                if !want {
                    assert_eq!(st, DLV_OK);
                    w.handles[hi].writeable = false;
                } else if h.storage_ro {
                    assert_eq!(
                        st, DLV_ERR_READ_ONLY,
                        "{what}: set_writeable on read-only memory"
                    );
                } else {
                    let c =
                        c_contiguous(&h.shape, &h.strides) || f_contiguous(&h.shape, &h.strides);
                    match (c, overlaps(&h.shape, &h.strides)) {
                        (true, _) | (_, Some(false)) => {
                            assert_eq!(st, DLV_OK, "{what}: set_writeable: {}", last_error());
                            w.handles[hi].writeable = true;
                        }
                        (_, Some(true)) => assert_eq!(
                            st, DLV_ERR_READ_ONLY,
                            "{what}: overlapping view made writeable"
                        ),
                        (_, None) => w.handles[hi].writeable = st == DLV_OK,
                    }
                }
                let h2 = w.handles[hi].clone();
                w.check(&h2, what);
            }
            // write one element
            16 => {
                let idx: Vec<i64> = h
                    .shape
                    .iter()
                    .map(|&n| {
                        if inp.below(16) == 0 {
                            inp.signed()
                        } else if n > 0 {
                            inp.byte() as i64 % n
                        } else {
                            0
                        }
                    })
                    .collect();
                let value = i64::from(inp.u16()) % 20000 - 10000;
                let st = dlv_tensor_set_f64(h.t, idx.as_ptr(), value as f64);
                if !h.writeable {
                    assert_eq!(
                        st, DLV_ERR_READ_ONLY,
                        "{what}: write through a read-only view"
                    );
                    return;
                }
                let mut off = i128::from(h.offset);
                for (ax, (&i, &n)) in idx.iter().zip(&h.shape).enumerate() {
                    let r = if i < 0 {
                        i128::from(i) + i128::from(n)
                    } else {
                        i128::from(i)
                    };
                    if !(0..i128::from(n)).contains(&r) {
                        assert_eq!(st, DLV_ERR_INDEX, "{what}: index {idx:?}");
                        let msg = last_error();
                        assert!(msg.contains(&format!("axis {ax}")), "{what}: {msg}");
                        return;
                    }
                    off += r * i128::from(h.strides[ax]);
                }
                assert_eq!(st, DLV_OK, "{what}: write {idx:?}: {}", last_error());
                w.allocs[h.alloc].values[off as usize] = value;
            }
            // copy
            17 if !full && size_of(&h.shape) <= BIG => {
                let order = inp.below(4) as u32;
                let src_values = w.values_at(h);
                let st = dlv_tensor_copy(h.t, order, &mut out);
                if order > 2 {
                    return expect_fail(st, &[DLV_ERR_INVALID_ARGUMENT], out, what);
                }
                assert_eq!(st, DLV_OK, "{what}: copy: {}", last_error());
                w.push_copy(out, src_values, true, false, what);
                let nh = w.handles.last().unwrap();
                match order {
                    0 => assert!(c_contiguous(&nh.shape, &nh.strides), "{what}: copy C"),
                    1 => assert!(f_contiguous(&nh.shape, &nh.strides), "{what}: copy F"),
                    _ => {}
                }
            }
            // shares_memory / may_share_memory against the model
            18 => {
                let other = w.handles[inp.below(w.handles.len())].clone();
                let exact = dlv_shares_memory(h.t, other.t);
                let may = dlv_may_share_memory(h.t, other.t);
                let (sa, sb) = (size_of(&h.shape), size_of(&other.shape));
                let span = |x: &H| {
                    bounds(&x.shape, &x.strides)
                        .map(|(lo, hi)| (i128::from(x.offset) + lo, i128::from(x.offset) + hi))
                };
                let ranges_meet = h.alloc == other.alloc
                    && matches!((span(h), span(&other)), (Some((a0, a1)), Some((b0, b1))) if a0 <= b1 && b0 <= a1);
                assert_eq!(
                    may, ranges_meet,
                    "{what}: may_share_memory with {:?}/{:?} off {}",
                    other.shape, other.strides, other.offset
                );
                if sa + sb <= 1 << 14 {
                    let set = |x: &H| -> std::collections::HashSet<i128> {
                        element_offsets(&x.shape, &x.strides)
                            .into_iter()
                            .map(|o| o + i128::from(x.offset))
                            .collect()
                    };
                    let common = h.alloc == other.alloc && !set(h).is_disjoint(&set(&other));
                    assert_eq!(
                        exact, common,
                        "{what}: shares_memory with {:?}/{:?} off {}",
                        other.shape, other.strides, other.offset
                    );
                }
                assert!(!exact || may, "{what}: shares but may not share");
            }
            // describe: snprintf semantics at any buffer length
            19 => {
                let full = dlv_tensor_describe(h.t, std::ptr::null_mut(), 0);
                let len = inp.below(full + 2);
                let mut buf = vec![0x55u8; len + 1];
                let n = dlv_tensor_describe(h.t, buf.as_mut_ptr().cast(), len);
                assert_eq!(n, full, "{what}: describe length");
                if len > 0 {
                    let text = &buf[..len.min(full + 1)];
                    assert_eq!(
                        text.iter().position(|&b| b == 0),
                        Some((len - 1).min(full)),
                        "{what}: describe terminator"
                    );
                }
                assert_eq!(buf[len], 0x55, "{what}: describe wrote past its buffer");
            }
            _ => {}
        }
    }
}
