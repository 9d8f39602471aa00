//! Fuzz target `index_keys`: NumPy indexing keys through the C ABI
//! (`dlv_tensor_index`, `dlv_tensor_index_put`) on a small tensor (one of
//! five dtypes, up to 4-D, possibly strided, negative-step, broadcast or
//! read-only), checked against an independent model written here from
//! NumPy's indexing rules (not from `core/src/index.rs`).
//!
//! The model computes the status class of a key (INDEX, INVALID_ARGUMENT
//! or success), the result shape (basic items give a view shape; advanced
//! items broadcast to `B`, which replaces them in place when they are
//! adjacent in the key and goes first when a slice, `...` or new axis
//! separates them; integers count as advanced once an index tensor is
//! present), and the source element of every result element (integer
//! tensors broadcast, a mask's true entries in C order, a boolean scalar
//! an axis of `B` only), so values read (`dlv_tensor_get_f64`) and written
//! (`index_put`: the value without its leading length-1 axes broadcast,
//! last write wins in C order, the value read before any write) are
//! checked element by element, for every key. A failure must return a status the model
//! allows, leave a message in `dlv_last_error` and `*out` untouched, and
//! write nothing; at the end no storage outlives its handles.

use super::input::Input;
use dlpark::ffi::{DLDataType, DLDataTypeCode};
use dlview::dlv_status::*;
use dlview::*;
use std::ffi::CStr;

/// A pointer no call may write over `*out` on failure.
const SENTINEL: *mut dlv_tensor = 0x10 as *mut dlv_tensor;

#[derive(Clone, Copy, Debug, PartialEq)]
struct Dt {
    code: u8,
    bits: u8,
}
/// Element dtypes of the indexed tensor and of assigned values.
const DTYPES: [Dt; 5] = [
    Dt { code: 0, bits: 16 },
    Dt { code: 0, bits: 32 },
    Dt { code: 0, bits: 64 },
    Dt { code: 2, bits: 32 },
    Dt { code: 2, bits: 64 },
];
/// Integer index tensor dtypes (signed and unsigned).
const INDEX_DTYPES: [Dt; 6] = [
    Dt { code: 0, bits: 8 },
    Dt { code: 0, bits: 16 },
    Dt { code: 0, bits: 32 },
    Dt { code: 0, bits: 64 },
    Dt { code: 1, bits: 8 },
    Dt { code: 1, bits: 64 },
];
const BOOL: Dt = Dt { code: 6, bits: 8 };

impl Dt {
    fn dl(self) -> DLDataType {
        DLDataType {
            code: DLDataTypeCode(self.code),
            bits: self.bits,
            lanes: 1,
        }
    }
    /// Stores `v` (the caller keeps it representable, or wants the wrap of
    /// an unsigned index: `v` is then what the library must read).
    unsafe fn write(self, p: *mut u8, v: i64) {
        // SAFETY: the caller passes `bits / 8` writable bytes.
        unsafe {
            match (self.code, self.bits) {
                (0, 8) | (1, 8) | (6, 8) => p.write(v as u8),
                (0, 16) => p.cast::<i16>().write_unaligned(v as i16),
                (0, 32) => p.cast::<i32>().write_unaligned(v as i32),
                (0, _) | (1, _) => p.cast::<i64>().write_unaligned(v),
                (2, 32) => p.cast::<f32>().write_unaligned(v as f32),
                _ => p.cast::<f64>().write_unaligned(v as f64),
            }
        }
    }
    /// What an index tensor of this dtype holds for a wanted value.
    fn holds(self, v: i64) -> i64 {
        match (self.code, self.bits) {
            (0, 8) => i64::from(v as i8),
            (0, 16) => i64::from(v as i16),
            (0, 32) => i64::from(v as i32),
            (1, 8) => i64::from(v as u8),
            // u64 values above i64::MAX are out of range either way; keep
            // them small and non-negative.
            (1, _) => v.unsigned_abs().min(1 << 40) as i64,
            _ => v,
        }
    }
}

fn last_error() -> String {
    // SAFETY: never NULL, NUL-terminated.
    unsafe { CStr::from_ptr(dlv_last_error()) }
        .to_string_lossy()
        .into_owned()
}

fn size_of(shape: &[i64]) -> i64 {
    shape.iter().product()
}

/// Every multi-index of `shape`, in C order.
fn indices(shape: &[i64]) -> Vec<Vec<i64>> {
    let mut all = Vec::new();
    if shape.contains(&0) {
        return all;
    }
    let mut idx = vec![0i64; shape.len()];
    loop {
        all.push(idx.clone());
        let mut ax = shape.len();
        loop {
            if ax == 0 {
                return all;
            }
            ax -= 1;
            idx[ax] += 1;
            if idx[ax] < shape[ax] {
                break;
            }
            idx[ax] = 0;
        }
    }
}

/// Python's `slice.indices` then `len(range(...))`: (first, count).
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

/// NumPy's broadcast of shapes; None when they do not broadcast.
fn broadcast(shapes: &[Vec<i64>]) -> Option<Vec<i64>> {
    let nd = shapes.iter().map(Vec::len).max().unwrap_or(0);
    let mut out = vec![1i64; nd];
    for s in shapes {
        for (j, &n) in s.iter().enumerate() {
            let o = &mut out[nd - s.len() + j];
            if *o == 1 {
                *o = n;
            } else if n != 1 && n != *o {
                return None;
            }
        }
    }
    Some(out)
}

/// One key item as the model sees it.
#[derive(Clone, Debug)]
enum K {
    Int(i64),
    Slice(i64, i64, i64),
    NewAxis,
    Ellipsis,
    /// An integer index tensor: dtype, shape, values (as the tensor holds
    /// them). The dtype is only read by `Debug`, in a failing case's report.
    Ints(#[allow(dead_code)] Dt, Vec<i64>, Vec<i64>),
    /// A bool tensor of >= 1 dims.
    Mask(Vec<i64>, Vec<bool>),
    Flag(bool),
    /// A float tensor: never a valid index.
    Float,
}

impl K {
    fn consumes(&self) -> usize {
        match self {
            K::Int(_) | K::Slice(..) | K::Ints(..) | K::Float => 1,
            K::Mask(s, _) => s.len(),
            _ => 0,
        }
    }
    /// A 0-d integer tensor is an integer (NumPy's `t[np.array(1)]`).
    fn as_int(&self) -> Option<i64> {
        match self {
            K::Int(i) => Some(*i),
            K::Ints(_, s, v) if s.is_empty() => Some(v[0]),
            _ => None,
        }
    }
    fn is_tensor_index(&self) -> bool {
        matches!(self, K::Ints(_, s, _) if !s.is_empty())
            || matches!(self, K::Mask(..) | K::Flag(_))
    }
}

/// How one result axis or fixed index maps to the source, for the value
/// model.
enum Walk {
    /// Source axis at a fixed index.
    Fixed(i64),
    /// A result axis over a source axis: first + j * step.
    Range(i64, i64),
    /// A new result axis of length 1, no source axis.
    New,
    /// An integer index tensor (shape, values): its source index at a
    /// position of `B` (broadcast: aligned right, length-1 axes at 0).
    Gather(Vec<i64>, Vec<i64>),
    /// A mask: the source coordinates of its true entries, in C order,
    /// taken along `B`'s last axis.
    Mask(Vec<Vec<i64>>),
    /// A boolean scalar: an axis of `B` only, no source axis.
    Flag,
}

/// The model's verdict on a key.
struct Verdict {
    /// Statuses allowed on failure; empty when the call must succeed.
    errors: Vec<dlv_status>,
    /// Whether success is allowed too (cases the rules leave open).
    may_succeed: bool,
    shape: Vec<i64>,
    /// The walk over the source axes, item by item.
    walk: Vec<Walk>,
    /// Where `B` sits in the result: first axis, number of axes.
    b_at: usize,
    b_len: usize,
}

fn model(shape: &[i64], strides: &[i64], key: &[K]) -> Verdict {
    let ndim = shape.len();
    let mut errors = Vec::new();
    let mut may_succeed = false;
    let fail = |errors: Vec<dlv_status>| Verdict {
        errors,
        may_succeed: false,
        shape: Vec::new(),
        walk: Vec::new(),
        b_at: 0,
        b_len: 0,
    };
    let ellipses = key.iter().filter(|k| matches!(k, K::Ellipsis)).count();
    if ellipses > 1 {
        errors.push(DLV_ERR_INDEX);
    }
    let consumed: usize = key.iter().map(K::consumes).sum();
    if consumed > ndim {
        errors.push(DLV_ERR_INDEX);
    }
    if key.iter().any(|k| matches!(k, K::Slice(_, _, 0))) {
        errors.push(DLV_ERR_INVALID_ARGUMENT);
    }
    if key.iter().any(|k| matches!(k, K::Float)) {
        errors.push(DLV_ERR_INDEX);
    }
    if consumed > ndim || ellipses > 1 {
        return fail(errors);
    }
    // With several faults in one key, the status of any of them is allowed
    // (NumPy's order of checks is not a rule here), so the walk goes on.
    let has_tensor = key.iter().any(K::is_tensor_index);
    let mut ax = 0usize;
    let mut basic: Vec<i64> = Vec::new();
    let mut adv_shapes: Vec<Vec<i64>> = Vec::new();
    let mut adv_pos: Vec<usize> = Vec::new();
    let mut insert_at = None;
    let mut walk = Vec::new();
    // Out-of-range entries of index tensors: an error unless the broadcast
    // is empty (then whether they are read is the library's choice).
    let mut bad_entries = false;
    for (pos, k) in key.iter().enumerate() {
        if let Some(i) = k.as_int() {
            let n = shape[ax];
            let r = if i < 0 {
                i128::from(i) + i128::from(n)
            } else {
                i128::from(i)
            };
            if !(0..i128::from(n)).contains(&r) {
                errors.push(DLV_ERR_INDEX);
            }
            walk.push(Walk::Fixed(r as i64));
            if has_tensor {
                adv_shapes.push(Vec::new());
                adv_pos.push(pos);
                insert_at.get_or_insert(basic.len());
            }
            ax += 1;
            continue;
        }
        match k {
            K::Slice(start, stop, step) => {
                let b = |v: i64| (v != DLV_NONE).then_some(v);
                let step = b(*step).unwrap_or(1);
                let (first, count) = py_slice(shape[ax], b(*start), b(*stop), step);
                // The project's rule, as `dlv_tensor_slice` (view_ops): an
                // element stride times step outside i64 is refused, even
                // where the axis is too short to use it (NumPy accepts
                // `a[::sys.maxsize]`).
                if i64::try_from(i128::from(strides[ax]) * i128::from(step)).is_err() {
                    errors.push(DLV_ERR_INVALID_ARGUMENT);
                }
                basic.push(count as i64);
                walk.push(Walk::Range(first as i64, step));
                ax += 1;
            }
            K::NewAxis => {
                basic.push(1);
                walk.push(Walk::New);
            }
            K::Ellipsis => {
                for _ in 0..ndim - consumed {
                    basic.push(shape[ax]);
                    walk.push(Walk::Range(0, 1));
                    ax += 1;
                }
            }
            K::Ints(_, s, v) => {
                let n = i128::from(shape[ax]);
                if v.iter().any(|&i| {
                    let r = if i < 0 {
                        i128::from(i) + n
                    } else {
                        i128::from(i)
                    };
                    !(0..n).contains(&r)
                }) {
                    bad_entries = true;
                }
                let norm = v
                    .iter()
                    .map(|&i| if i < 0 { i.wrapping_add(shape[ax]) } else { i })
                    .collect();
                walk.push(Walk::Gather(s.clone(), norm));
                adv_shapes.push(s.clone());
                adv_pos.push(pos);
                insert_at.get_or_insert(basic.len());
                ax += 1;
            }
            K::Mask(s, v) => {
                if s[..] != shape[ax..ax + s.len()] {
                    errors.push(DLV_ERR_INDEX);
                }
                adv_shapes.push(vec![v.iter().filter(|&&b| b).count() as i64]);
                walk.push(Walk::Mask(
                    indices(s)
                        .into_iter()
                        .zip(v)
                        .filter(|(_, b)| **b)
                        .map(|(c, _)| c)
                        .collect(),
                ));
                adv_pos.push(pos);
                insert_at.get_or_insert(basic.len());
                ax += s.len();
            }
            K::Flag(f) => {
                adv_shapes.push(vec![i64::from(*f)]);
                walk.push(Walk::Flag);
                adv_pos.push(pos);
                insert_at.get_or_insert(basic.len());
            }
            // Already an error; it takes its axis.
            K::Float => {
                walk.push(Walk::Fixed(0));
                ax += 1;
            }
            K::Int(_) => unreachable!("as_int above"),
        }
    }
    while ax < ndim {
        basic.push(shape[ax]);
        walk.push(Walk::Range(0, 1));
        ax += 1;
    }
    let b = broadcast(&adv_shapes);
    if b.is_none() {
        errors.push(DLV_ERR_INDEX);
    }
    if bad_entries {
        if b.as_ref().is_some_and(|b| size_of(b) == 0) {
            may_succeed = errors.is_empty();
        }
        errors.push(DLV_ERR_INDEX);
    }
    if !errors.is_empty() && !may_succeed {
        return fail(errors);
    }
    let (result, b_at, b_len) = match b {
        Some(b) if has_tensor => {
            let adjacent = adv_pos.last().unwrap() - adv_pos[0] + 1 == adv_pos.len();
            let at = if adjacent { insert_at.unwrap() } else { 0 };
            ([&basic[..at], &b[..], &basic[at..]].concat(), at, b.len())
        }
        _ => (basic, 0, 0),
    };
    Verdict {
        errors,
        may_succeed,
        shape: result,
        walk,
        b_at,
        b_len,
    }
}

/// The source multi-index of result element `r`.
fn source_of(v: &Verdict, r: &[i64]) -> Vec<i64> {
    let bi = &r[v.b_at..v.b_at + v.b_len];
    let basic: Vec<i64> = [&r[..v.b_at], &r[v.b_at + v.b_len..]].concat();
    let mut j = 0;
    let mut src = Vec::new();
    for w in &v.walk {
        match w {
            Walk::Fixed(i) => src.push(*i),
            Walk::Range(first, step) => {
                src.push(first + basic[j] * step);
                j += 1;
            }
            Walk::New => j += 1,
            Walk::Gather(s, vals) => {
                let pad = bi.len() - s.len();
                let mut flat = 0i64;
                for (k, &n) in s.iter().enumerate() {
                    flat = flat * n + if n == 1 { 0 } else { bi[pad + k] };
                }
                src.push(vals[flat as usize]);
            }
            Walk::Mask(coords) => {
                // One true entry broadcasts along `B`'s last axis.
                let k = if coords.len() == 1 {
                    0
                } else {
                    bi[bi.len() - 1]
                };
                src.extend(&coords[k as usize]);
            }
            Walk::Flag => {}
        }
    }
    src
}

/// The indexed tensor and its model.
struct Target {
    base: *mut dlv_tensor,
    t: *mut dlv_tensor,
    dt: Dt,
    shape: Vec<i64>,
    strides: Vec<i64>,
    offset: i64,
    len: i64,
}

impl Target {
    fn base_values(&self) -> Vec<f64> {
        (0..self.len)
            .map(|i| {
                let mut v = f64::NAN;
                // SAFETY: live handle, 1-D, index in range.
                let st = unsafe { dlv_tensor_get_f64(self.base, &i, &mut v) };
                assert_eq!(st, DLV_OK, "get base {i}: {}", last_error());
                v
            })
            .collect()
    }
    fn flat(&self, idx: &[i64]) -> usize {
        (self.offset
            + idx
                .iter()
                .zip(&self.strides)
                .map(|(i, s)| i * s)
                .sum::<i64>()) as usize
    }
}

fn make_target(inp: &mut Input) -> Target {
    let dt = DTYPES[inp.below(DTYPES.len())];
    let ndim = inp.below(5);
    let shape: Vec<i64> = (0..ndim).map(|_| inp.below(4) as i64).collect();
    let mut strides = vec![0i64; ndim];
    let mut acc = 1;
    for ax in (0..ndim).rev() {
        strides[ax] = acc;
        acc *= shape[ax].max(1);
    }
    match inp.below(4) {
        // C order
        0 => {}
        // reversed axes (negative steps)
        1 => {
            for s in &mut strides {
                if inp.bool() {
                    *s = -*s;
                }
            }
        }
        // any small strides: broadcast (0), overlapping, gaps, negative
        2 => {
            for (s, &n) in strides.iter_mut().zip(&shape) {
                *s = inp.below(9) as i64 - 4;
                // A length-1 axis may carry any stride (NumPy's too); it
                // never moves, but careless arithmetic overflows on it.
                if n == 1 && inp.below(4) == 0 {
                    *s = inp.signed();
                }
            }
        }
        // Fortran order with gaps
        _ => {
            let mut acc = 1 + inp.below(2) as i64;
            for ax in 0..ndim {
                strides[ax] = acc;
                acc *= shape[ax].max(1);
            }
        }
    }
    let (mut lo, mut hi) = (0i64, 0i64);
    for (&n, &s) in shape.iter().zip(&strides) {
        let r = (n - 1).max(0) * s;
        if r < 0 { lo += r } else { hi += r }
    }
    let offset = -lo;
    let len = offset + hi + 1;
    let mut base = std::ptr::null_mut();
    // SAFETY (whole block): out-pointers are valid, handles live.
    unsafe {
        let st = dlv_tensor_empty(dt.dl(), 1, &len, DLV_ORDER_C, &mut base);
        assert_eq!(st, DLV_OK, "{}", last_error());
        let data = dlv_tensor_data(base) as *mut u8;
        for i in 0..len {
            dt.write(
                data.add(i as usize * usize::from(dt.bits / 8)),
                (i * 7) % 201 - 100,
            );
        }
        let mut sliced = std::ptr::null_mut();
        let st = dlv_tensor_slice(base, 0, offset, DLV_NONE, 1, &mut sliced);
        assert_eq!(st, DLV_OK, "{}", last_error());
        let mut t = std::ptr::null_mut();
        let st = dlv_tensor_as_strided(
            sliced,
            ndim as i32,
            shape.as_ptr(),
            strides.as_ptr(),
            &mut t,
        );
        assert_eq!(
            st,
            DLV_OK,
            "as_strided {shape:?} {strides:?}: {}",
            last_error()
        );
        dlv_tensor_free(sliced);
        if inp.below(4) == 0 {
            assert_eq!(dlv_tensor_set_writeable(t, false), DLV_OK);
        }
        Target {
            base,
            t,
            dt,
            shape,
            strides,
            offset,
            len,
        }
    }
}

/// A new C-order tensor of `dt` holding `values`.
fn tensor_of(dt: Dt, shape: &[i64], values: &[i64]) -> *mut dlv_tensor {
    let mut t = std::ptr::null_mut();
    // SAFETY: valid pointers; the data holds `values.len()` elements.
    unsafe {
        let st = dlv_tensor_empty(
            dt.dl(),
            shape.len() as i32,
            shape.as_ptr(),
            DLV_ORDER_C,
            &mut t,
        );
        assert_eq!(st, DLV_OK, "{}", last_error());
        let data = dlv_tensor_data(t) as *mut u8;
        for (i, &v) in values.iter().enumerate() {
            dt.write(data.add(i * usize::from(dt.bits / 8)), v);
        }
    }
    t
}

fn small_index(inp: &mut Input) -> i64 {
    match inp.below(8) {
        0 => inp.signed(),
        _ => inp.below(9) as i64 - 4,
    }
}

fn make_key(inp: &mut Input, shape: &[i64]) -> (Vec<K>, Vec<dlv_index>, Vec<*mut dlv_tensor>) {
    let n = inp.below(7);
    let mut ks = Vec::new();
    let mut items = Vec::new();
    let mut owned = Vec::new();
    let mut ax = 0usize;
    for _ in 0..n {
        let mut item = dlv_index {
            kind: DLV_INDEX_INT,
            i: 0,
            start: 0,
            stop: 0,
            step: 0,
            tensor: std::ptr::null(),
        };
        let bound = |inp: &mut Input| {
            if inp.below(3) == 0 {
                DLV_NONE
            } else {
                small_index(inp)
            }
        };
        let k = match inp.below(8) {
            0 => {
                item.i = small_index(inp);
                K::Int(item.i)
            }
            1 | 2 => {
                item.kind = DLV_INDEX_SLICE;
                item.start = bound(inp);
                item.stop = bound(inp);
                item.step = match inp.below(4) {
                    0 => DLV_NONE,
                    _ => small_index(inp),
                };
                K::Slice(item.start, item.stop, item.step)
            }
            3 => {
                item.kind = DLV_INDEX_NEW_AXIS;
                K::NewAxis
            }
            4 => {
                item.kind = DLV_INDEX_ELLIPSIS;
                K::Ellipsis
            }
            5 | 6 => {
                // An integer index tensor, mostly in range of the next axis.
                let dt = INDEX_DTYPES[inp.below(INDEX_DTYPES.len())];
                let nd = inp.below(3);
                let s: Vec<i64> = (0..nd).map(|_| inp.below(4) as i64).collect();
                let dim = shape.get(ax).copied().unwrap_or(1).max(1);
                let v: Vec<i64> = (0..size_of(&s))
                    .map(|_| {
                        let want = if inp.below(10) == 0 {
                            small_index(inp)
                        } else {
                            inp.byte() as i64 % dim - if inp.bool() { dim } else { 0 }
                        };
                        dt.holds(want)
                    })
                    .collect();
                item.kind = DLV_INDEX_TENSOR;
                let t = tensor_of(dt, &s, &v);
                owned.push(t);
                item.tensor = t;
                K::Ints(dt, s, v)
            }
            _ => {
                item.kind = DLV_INDEX_TENSOR;
                match inp.below(4) {
                    0 => {
                        let f = inp.bool();
                        let t = tensor_of(BOOL, &[], &[i64::from(f)]);
                        owned.push(t);
                        item.tensor = t;
                        K::Flag(f)
                    }
                    1 => {
                        let t = tensor_of(Dt { code: 2, bits: 32 }, &[1], &[0]);
                        owned.push(t);
                        item.tensor = t;
                        K::Float
                    }
                    _ => {
                        // A mask over the next axes: mostly the right shape.
                        let nd = 1 + inp.below(2);
                        let s: Vec<i64> = (0..nd)
                            .map(|j| match shape.get(ax + j) {
                                Some(&n) if inp.below(6) != 0 => n,
                                _ => inp.below(4) as i64,
                            })
                            .collect();
                        let v: Vec<bool> = (0..size_of(&s)).map(|_| inp.bool()).collect();
                        let vi: Vec<i64> = v.iter().map(|&b| i64::from(b)).collect();
                        let t = tensor_of(BOOL, &s, &vi);
                        owned.push(t);
                        item.tensor = t;
                        K::Mask(s, v)
                    }
                }
            }
        };
        ax += k.consumes();
        ks.push(k);
        items.push(item);
    }
    (ks, items, owned)
}

/// Runs one input. Panics on any disagreement with the model.
pub fn run(data: &[u8]) {
    let live_before = dlv_live_storage_count();
    let mut inp = Input::new(data);
    let tg = make_target(&mut inp);
    let (key, items, owned) = make_key(&mut inp, &tg.shape);
    let what = format!("{:?}/{:?} {:?}[{key:?}]", tg.shape, tg.strides, tg.dt);
    let v = model(&tg.shape, &tg.strides, &key);
    let before = tg.base_values();
    let writeable = unsafe { dlv_tensor_flags(tg.t) } & DLV_FLAG_WRITEABLE != 0;
    // SAFETY (whole block): handles live, key items valid for the call.
    unsafe {
        // t[key]
        let mut out = SENTINEL;
        let st = dlv_tensor_index(tg.t, items.as_ptr(), items.len() as i32, &mut out);
        if st != DLV_OK || !v.errors.is_empty() && !v.may_succeed {
            assert!(
                v.errors.contains(&st),
                "{what}: index status {st:?}, model allows {:?} ({})",
                v.errors,
                last_error()
            );
            assert!(out == SENTINEL, "{what}: a failed index wrote *out");
            assert!(!last_error().is_empty(), "{what}: no message");
        } else {
            let n = dlv_tensor_ndim(out) as usize;
            let got = if n == 0 {
                Vec::new()
            } else {
                std::slice::from_raw_parts(dlv_tensor_shape(out), n).to_vec()
            };
            assert_eq!(got, v.shape, "{what}: result shape");
            for r in indices(&v.shape) {
                let src = source_of(&v, &r);
                let mut x = f64::NAN;
                let st = dlv_tensor_get_f64(out, r.as_ptr(), &mut x);
                assert_eq!(st, DLV_OK, "{what}: get {r:?}: {}", last_error());
                assert_eq!(
                    x,
                    before[tg.flat(&src)],
                    "{what}: element {r:?} (source {src:?})"
                );
            }

            dlv_tensor_free(out);
        }

        // t[key] = value
        let vdt = DTYPES[inp.below(DTYPES.len())];
        let (value, value_shape, value_vals, own_value) = match inp.below(3) {
            0 => {
                let x = 1000 + inp.below(100) as i64;
                (tensor_of(vdt, &[], &[x]), Vec::new(), vec![x], true)
            }
            1 => {
                // Broadcastable to the result (a trailing part, some 1s),
                // or, on a failed key, anything small.
                let mut s: Vec<i64> = v
                    .shape
                    .iter()
                    .rev()
                    .take(inp.below(3))
                    .rev()
                    .copied()
                    .collect();
                for d in &mut s {
                    if inp.below(3) == 0 {
                        *d = 1;
                    }
                }
                if inp.below(8) == 0 && !s.is_empty() {
                    s[0] += 1;
                }
                let vals: Vec<i64> = (0..size_of(&s)).map(|j| 1000 + j).collect();
                (tensor_of(vdt, &s, &vals), s, vals, true)
            }
            _ => {
                let vals = indices(&tg.shape)
                    .iter()
                    .map(|i| before[tg.flat(i)] as i64)
                    .collect();
                (tg.t, tg.shape.clone(), vals, false)
            }
        };
        let st = dlv_tensor_index_put(tg.t, items.as_ptr(), items.len() as i32, value);
        let after = tg.base_values();
        // NumPy's assignment drops the value's leading length-1 axes first
        // (`a[0] = np.ones(1)`, `a[:] = np.ones((1, 3))`), then broadcasts.
        let lead = value_shape.iter().take_while(|&&n| n == 1).count();
        let value_shape = value_shape[lead..].to_vec();
        let fits = broadcast(&[value_shape.clone(), v.shape.clone()]).is_some_and(|b| b == v.shape);
        let key_ok = v.errors.is_empty() || v.may_succeed;
        if st != DLV_OK {
            let mut allowed = v.errors.clone();
            if !writeable {
                allowed.push(DLV_ERR_READ_ONLY);
            }
            if key_ok && !fits {
                allowed.push(DLV_ERR_INVALID_ARGUMENT);
            }
            assert!(
                allowed.contains(&st),
                "{what}: index_put of {value_shape:?} status {st:?}, model allows {allowed:?} ({})",
                last_error()
            );
            if key_ok && v.errors.is_empty() && !writeable {
                assert_eq!(
                    st, DLV_ERR_READ_ONLY,
                    "{what}: index_put into a read-only tensor"
                );
            }
            assert!(!last_error().is_empty(), "{what}: no message");
            assert_eq!(after, before, "{what}: a failed index_put wrote");
        } else {
            assert!(
                writeable,
                "{what}: index_put into a read-only tensor succeeded"
            );
            assert!(
                key_ok && fits,
                "{what}: index_put of {value_shape:?} succeeded, model: {:?}",
                v.errors
            );
            let mut want = before.clone();
            let vi = indices(&value_shape);
            let pad = v.shape.len() - value_shape.len();
            for r in indices(&v.shape) {
                // The value's element broadcast to `r`.
                let vr: Vec<i64> = value_shape
                    .iter()
                    .enumerate()
                    .map(|(j, &n)| if n == 1 { 0 } else { r[pad + j] })
                    .collect();
                let k = vi.iter().position(|x| *x == vr).unwrap_or(0);
                want[tg.flat(&source_of(&v, &r))] = value_vals[k] as f64;
            }
            assert_eq!(
                after, want,
                "{what}: index_put of {value_shape:?} {value_vals:?}"
            );
        }
        if own_value {
            dlv_tensor_free(value);
        }
        for t in owned {
            dlv_tensor_free(t);
        }
        dlv_tensor_free(tg.t);
        dlv_tensor_free(tg.base);
    }
    assert_eq!(
        dlv_live_storage_count(),
        live_before,
        "a storage outlived every handle"
    );
}
