//! Hand-computed tests of the safe Rust `Tensor` API (RULES.md §1–3, §8):
//! reshape under each copy policy, copies in C/F/K order, casts, element
//! access and its errors, 0-d and size-0 tensors, flags, `base()`,
//! `describe()`, and storage lifetimes.
//!
//! Every expectation is written out by hand (NumPy's answer where NumPy
//! defines one), never computed with the library's own layout code.
//!
//! `live_count()` is global to the process, so every test takes the
//! [`guard`]: it serialises the tests of this file and, when the test ends
//! without panicking, asserts that every storage the test made was released.

use dlview::__private::live_count;
use dlview::device::kind;
use dlview::dtype::code;
use dlview::storage::{Owner, Storage};
use dlview::tensor::flags::{ALIGNED, C_CONTIGUOUS, F_CONTIGUOUS, OWNDATA, WRITEABLE};
use dlview::{CopyMode, DType, Device, Error, Layout, Order, Tensor};
use std::ffi::c_void;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

static SERIAL: Mutex<()> = Mutex::new(());

struct Guard {
    start: usize,
    _lock: MutexGuard<'static, ()>,
}

/// Take first in every test (`let _g = guard();`): locals declared after it
/// drop before it, so the leak check sees everything released.
fn guard() -> Guard {
    let lock = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    Guard {
        start: live_count(),
        _lock: lock,
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            assert_eq!(
                live_count(),
                self.start,
                "a storage outlived every tensor of the test"
            );
        }
    }
}

/// Writes one element through a handle that shares its memory (a view whose
/// root is alive): not exclusive, so through the unsafe `_shared` write.
fn set_shared(t: &Tensor, index: &[i64], value: f64) -> dlview::Result<()> {
    // SAFETY: each test is single-threaded; no other thread reads or writes
    // this memory during the call.
    unsafe { t.set_f64_shared(index, value) }
}

/// The refusal of a safe write through a tensor other handles share.
fn shared_error(variant: &str) -> Error {
    Error::InvalidArgument(format!(
        "cannot write through a shared tensor: other handles (clones, views, DLPack exports) \
         hold its memory; drop them first, or use the unsafe `{variant}`"
    ))
}

/// A new tensor whose element at C-order position `k` holds `k`.
fn arange(dtype: DType, shape: &[i64], order: Order) -> Tensor {
    let mut t = Tensor::zeros(dtype, shape, order).unwrap();
    let n: i64 = shape.iter().product();
    for k in 0..n {
        let mut idx = vec![0; shape.len()];
        let mut rest = k;
        for d in (0..shape.len()).rev() {
            idx[d] = rest % shape[d];
            rest /= shape[d];
        }
        t.set_f64(&idx, k as f64).unwrap();
    }
    t
}

/// The raw buffer of a compact tensor, in memory order.
fn memory<T: Copy>(t: &Tensor) -> Vec<T> {
    assert_eq!(t.dtype().itemsize(), std::mem::size_of::<T>());
    let n = t.size() as usize;
    if n == 0 {
        return vec![];
    }
    // SAFETY: the callers pass compact tensors, whose `n` elements start at
    // the data pointer; reads are unaligned-safe.
    (0..n)
        .map(|i| unsafe { t.data_ptr().cast::<T>().add(i).read_unaligned() })
        .collect()
}

/// A 1-d tensor holding `values` written as raw bits (no cast on the way in).
fn from_raw<T: Copy>(dtype: DType, values: &[T]) -> Tensor {
    assert_eq!(dtype.itemsize(), std::mem::size_of::<T>());
    let mut t = Tensor::zeros(dtype, &[values.len() as i64], Order::C).unwrap();
    let p = t.data_ptr_mut().unwrap().cast::<T>();
    for (i, &v) in values.iter().enumerate() {
        // SAFETY: `t` is a fresh compact buffer of `values.len()` elements.
        unsafe { p.add(i).write_unaligned(v) };
    }
    t
}

/// Every element in C index order, read with `get_f64` at hand-built indices.
fn values(t: &Tensor) -> Vec<f64> {
    let shape = t.shape().to_vec();
    let n: i64 = shape.iter().product();
    (0..n)
        .map(|k| {
            let mut idx = vec![0; shape.len()];
            let mut rest = k;
            for d in (0..shape.len()).rev() {
                idx[d] = rest % shape[d];
                rest /= shape[d];
            }
            t.get_f64(&idx).unwrap()
        })
        .collect()
}

fn range(n: usize) -> Vec<f64> {
    (0..n).map(|k| k as f64).collect()
}

fn is_fresh_root(t: &Tensor) -> bool {
    t.base().is_none()
        && t.flags() & (OWNDATA | WRITEABLE) == OWNDATA | WRITEABLE
        && t.storage().known_len().is_some()
}

// ---- reshape and the copy policy -------------------------------------------------

#[test]
fn reshape_contiguous_is_a_view_unless_always() {
    let _g = guard();
    let a = arange(DType::F64, &[2, 3, 4], Order::C);
    for mode in [CopyMode::Never, CopyMode::IfNeeded] {
        let v = a.reshape(&[6, 4], mode).unwrap();
        assert_eq!((v.shape(), v.strides()), (&[6, 4][..], &[4, 1][..]));
        assert_eq!(v.data_ptr(), a.data_ptr());
        assert!(Arc::ptr_eq(v.storage(), a.storage()));
        assert_eq!(
            v.flags(),
            WRITEABLE | C_CONTIGUOUS | ALIGNED,
            "a view: no OWNDATA"
        );
        assert_eq!(v.base().unwrap().data_ptr(), a.data_ptr());
        assert_eq!(values(&v), range(24));
    }
    let v = a.reshape(&[4, -1], CopyMode::Never).unwrap();
    assert_eq!((v.shape(), v.strides()), (&[4, 6][..], &[6, 1][..]));
    let v = a.reshape(&[-1], CopyMode::Never).unwrap();
    assert_eq!((v.shape(), v.strides()), (&[24][..], &[1][..]));
    // A size-1 axis anywhere.
    let v = a.reshape(&[2, 1, 12], CopyMode::Never).unwrap();
    assert_eq!(
        (v.shape(), v.strides()[0], v.strides()[2]),
        (&[2, 1, 12][..], 12, 1)
    );

    let before = live_count();
    let c = a.reshape(&[6, 4], CopyMode::Always).unwrap();
    assert_eq!(live_count(), before + 1, "Always allocates");
    assert_ne!(c.data_ptr(), a.data_ptr());
    assert!(is_fresh_root(&c));
    assert_eq!((c.shape(), c.strides()), (&[6, 4][..], &[4, 1][..]));
    assert_eq!(c.flags(), WRITEABLE | C_CONTIGUOUS | OWNDATA | ALIGNED);
    assert!(!c.shares_memory(&a) && !c.may_share_memory(&a));
    assert_eq!(values(&c), range(24));
}

#[test]
fn reshape_transposed_needs_a_copy() {
    let _g = guard();
    let a = arange(DType::F64, &[2, 3, 4], Order::C);
    let t = a.transpose().unwrap();
    assert_eq!((t.shape(), t.strides()), (&[4, 3, 2][..], &[1, 4, 12][..]));

    let msg = "cannot share: a tensor of shape (4, 3, 2) with strides (1, 4, 12) cannot be viewed as shape (24,)";
    for target in [&[24][..], &[-1][..]] {
        let err = t.reshape(target, CopyMode::Never).unwrap_err();
        assert!(matches!(err, Error::CopyRequired(_)), "{err:?}");
        assert_eq!(err.to_string(), msg);
    }
    let err = t.reshape(&[6, 4], CopyMode::Never).unwrap_err();
    assert_eq!(
        err.to_string(),
        "cannot share: a tensor of shape (4, 3, 2) with strides (1, 4, 12) cannot be viewed as shape (6, 4)"
    );

    // t[i, j, k] = a[k, j, i] = 12k + 4j + i, read in C order of t.
    let flat = [
        0., 12., 4., 16., 8., 20., 1., 13., 5., 17., 9., 21., 2., 14., 6., 18., 10., 22., 3., 15.,
        7., 19., 11., 23.,
    ];
    for mode in [CopyMode::IfNeeded, CopyMode::Always] {
        let c = t.reshape(&[24], mode).unwrap();
        assert_ne!(c.data_ptr(), a.data_ptr());
        assert!(is_fresh_root(&c));
        assert_eq!((c.shape(), c.strides()), (&[24][..], &[1][..]));
        assert_eq!(values(&c), flat);
        assert_eq!(memory::<f64>(&c), flat);
        assert!(!c.shares_memory(&a));
    }

    // Splitting the first axis of t is still a view: 4 -> (2, 2) with strides (2, 1).
    let v = t.reshape(&[2, 2, 3, 2], CopyMode::Never).unwrap();
    assert_eq!(v.strides(), &[2, 1, 4, 12]);
    assert_eq!(v.data_ptr(), a.data_ptr());
    assert_eq!(v.get_f64(&[1, 1, 2, 1]).unwrap(), 12. + 8. + 3.);
}

#[test]
fn reshape_of_read_only_and_flipped_views() {
    let _g = guard();
    let row = arange(DType::F64, &[3], Order::C);
    let b = row.broadcast_to(&[2, 3]).unwrap();
    assert_eq!(b.strides(), &[0, 1]);
    assert!(!b.is_writeable());
    let err = b.reshape(&[6], CopyMode::Never).unwrap_err();
    assert_eq!(
        err.to_string(),
        "cannot share: a tensor of shape (2, 3) with strides (0, 1) cannot be viewed as shape (6,)"
    );
    let c = b.reshape(&[6], CopyMode::IfNeeded).unwrap();
    assert!(is_fresh_root(&c), "a copy of a read-only view is writeable");
    assert_eq!(values(&c), [0., 1., 2., 0., 1., 2.]);
    // Adding a unit axis is a view, and stays read-only.
    let v = b.reshape(&[2, 3, 1], CopyMode::Never).unwrap();
    assert_eq!((&v.strides()[..2], v.is_writeable()), (&[0, 1][..], false));
    // All-zero strides merge: 6 copies of one element.
    let z = arange(DType::F64, &[1], Order::C)
        .broadcast_to(&[2, 3])
        .unwrap();
    let v = z.reshape(&[3, 2], CopyMode::Never).unwrap();
    assert_eq!(v.strides(), &[0, 0]);

    // A flipped row merges with a negative stride.
    let f = arange(DType::I32, &[2, 3], Order::C)
        .flip(0)
        .unwrap()
        .flip(1)
        .unwrap();
    assert_eq!(f.strides(), &[-3, -1]);
    let v = f.reshape(&[6], CopyMode::Never).unwrap();
    assert_eq!(v.strides(), &[-1]);
    assert_eq!(values(&v), [5., 4., 3., 2., 1., 0.]);
    // Flipping only the columns does not.
    let g = arange(DType::I32, &[2, 3], Order::C).flip(1).unwrap();
    let err = g.reshape(&[6], CopyMode::Never).unwrap_err();
    assert_eq!(
        err.to_string(),
        "cannot share: a tensor of shape (2, 3) with strides (3, -1) cannot be viewed as shape (6,)"
    );
    assert_eq!(
        values(&g.reshape(&[6], CopyMode::IfNeeded).unwrap()),
        [2., 1., 0., 5., 4., 3.]
    );
}

#[test]
fn reshape_rejects_bad_shapes_under_every_policy() {
    let _g = guard();
    let a = arange(DType::F64, &[2, 3, 4], Order::C);
    let cases: [(&[i64], &str); 4] = [
        (
            &[5, 5],
            "cannot reshape tensor of size 24 (shape (2, 3, 4)) into shape (5, 5)",
        ),
        (
            &[-1, 5],
            "cannot reshape tensor of size 24 (shape (2, 3, 4)) into shape (-1, 5)",
        ),
        (
            &[-1, -1],
            "can only specify one unknown dimension in shape (-1, -1)",
        ),
        (&[-2, -12], "negative dimension -2 in shape (-2, -12)"),
    ];
    for (shape, msg) in cases {
        for mode in [CopyMode::Never, CopyMode::IfNeeded, CopyMode::Always] {
            assert_eq!(
                a.reshape(shape, mode).unwrap_err(),
                Error::InvalidArgument(msg.into()),
                "{shape:?} {mode:?}"
            );
        }
    }
    // Size 0: -1 resolves to 0 when the rest is non-zero, and is ambiguous otherwise.
    let e = Tensor::zeros(DType::F64, &[0, 3], Order::C).unwrap();
    assert_eq!(e.reshape(&[-1], CopyMode::Never).unwrap().shape(), &[0]);
    assert_eq!(
        e.reshape(&[3, -1, 5], CopyMode::Never).unwrap().shape(),
        &[3, 0, 5]
    );
    assert_eq!(
        e.reshape(&[0, -1], CopyMode::Never)
            .unwrap_err()
            .to_string(),
        "cannot reshape tensor of size 0 (shape (0, 3)) into shape (0, -1)"
    );
}

// ---- copies ------------------------------------------------------------------

fn check_copy(c: &Tensor, src: &Tensor, strides: &[i64], mem: &[f64]) {
    assert!(is_fresh_root(c));
    assert!(!Arc::ptr_eq(c.storage(), src.storage()));
    assert!(!c.shares_memory(src) && !c.may_share_memory(src));
    assert_eq!(c.shape(), src.shape());
    assert_eq!(c.strides(), strides);
    assert_eq!(values(c), values(src), "same elements at the same indices");
    assert_eq!(memory::<f64>(c), mem, "memory order");
}

#[test]
fn copy_orders_of_a_c_tensor() {
    let _g = guard();
    let a = arange(DType::F64, &[2, 3, 4], Order::C);
    check_copy(&a.copy(Order::C).unwrap(), &a, &[12, 4, 1], &range(24));
    check_copy(&a.copy(Order::K).unwrap(), &a, &[12, 4, 1], &range(24));
    // F order: a[i, j, k] = 12i + 4j + k stored at i + 2j + 6k.
    let f = a.copy(Order::F).unwrap();
    let mut fmem = vec![];
    for k in 0..4 {
        for j in 0..3 {
            for i in 0..2 {
                fmem.push((12 * i + 4 * j + k) as f64);
            }
        }
    }
    check_copy(&f, &a, &[1, 2, 6], &fmem);
    assert_eq!(f.flags(), WRITEABLE | F_CONTIGUOUS | OWNDATA | ALIGNED);
}

#[test]
fn copy_k_keeps_the_memory_order_of_a_transposed_tensor() {
    let _g = guard();
    let a = arange(DType::F64, &[2, 3, 4], Order::C);
    let t = a.transpose().unwrap(); // (4, 3, 2), strides (1, 4, 12)
    assert_eq!(t.flags(), WRITEABLE | F_CONTIGUOUS | ALIGNED);
    // NumPy: a.T.copy(order="K").strides == (8, 32, 96); memory is a's order.
    let k = t.copy(Order::K).unwrap();
    check_copy(&k, &t, &[1, 4, 12], &range(24));
    assert_eq!(k.flags() & (C_CONTIGUOUS | F_CONTIGUOUS), F_CONTIGUOUS);
    check_copy(&t.copy(Order::F).unwrap(), &t, &[1, 4, 12], &range(24));
    let flat = [
        0., 12., 4., 16., 8., 20., 1., 13., 5., 17., 9., 21., 2., 14., 6., 18., 10., 22., 3., 15.,
        7., 19., 11., 23.,
    ];
    check_copy(&t.copy(Order::C).unwrap(), &t, &[6, 2, 1], &flat);

    // A permutation that is neither C nor F: (3, 4, 2) with strides (4, 1, 12).
    let p = a.permute(&[1, 2, 0]).unwrap();
    assert_eq!(p.strides(), &[4, 1, 12]);
    assert_eq!(p.flags() & (C_CONTIGUOUS | F_CONTIGUOUS), 0);
    check_copy(&p.copy(Order::K).unwrap(), &p, &[4, 1, 12], &range(24));
}

#[test]
fn copy_k_of_flipped_tensors_has_positive_strides() {
    let _g = guard();
    // [[0, 1, 2], [3, 4, 5]] with columns reversed: [[2, 1, 0], [5, 4, 3]].
    let a = arange(DType::F64, &[2, 3], Order::C);
    let f = a.flip(1).unwrap();
    assert_eq!(f.strides(), &[3, -1]);
    assert_eq!(f.data_ptr() as usize, a.data_ptr() as usize + 16);
    check_copy(
        &f.copy(Order::K).unwrap(),
        &f,
        &[3, 1],
        &[2., 1., 0., 5., 4., 3.],
    );
    check_copy(
        &f.copy(Order::C).unwrap(),
        &f,
        &[3, 1],
        &[2., 1., 0., 5., 4., 3.],
    );
    check_copy(
        &f.copy(Order::F).unwrap(),
        &f,
        &[1, 2],
        &[2., 5., 1., 4., 0., 3.],
    );

    // An F-order [[0, 1, 2], [3, 4, 5]] (memory 0 3 1 4 2 5) with rows
    // reversed: [[3, 4, 5], [0, 1, 2]], strides (-1, 2); K stays F.
    let b = arange(DType::F64, &[2, 3], Order::F);
    assert_eq!(memory::<f64>(&b), [0., 3., 1., 4., 2., 5.]);
    let g = b.flip(0).unwrap();
    assert_eq!(g.strides(), &[-1, 2]);
    check_copy(
        &g.copy(Order::K).unwrap(),
        &g,
        &[1, 2],
        &[3., 0., 4., 1., 5., 2.],
    );
    check_copy(
        &g.copy(Order::C).unwrap(),
        &g,
        &[3, 1],
        &[3., 4., 5., 0., 1., 2.],
    );
}

#[test]
fn copies_of_read_only_empty_and_zero_d_tensors() {
    let _g = guard();
    let row = arange(DType::I16, &[3], Order::C);
    let b = row.broadcast_to(&[2, 3]).unwrap();
    let c = b.copy(Order::K).unwrap();
    assert!(is_fresh_root(&c), "copies are writeable (rule 2.1)");
    assert_eq!(values(&c), [0., 1., 2., 0., 1., 2.]);

    let e = Tensor::zeros(DType::F32, &[0, 3], Order::C).unwrap();
    for order in [Order::C, Order::F, Order::K] {
        let c = e.copy(order).unwrap();
        assert!(is_fresh_root(&c));
        assert!(c.data_ptr().is_null());
        assert_eq!((c.shape(), c.size(), c.nbytes()), (&[0, 3][..], 0, 0));
        assert_eq!(
            c.flags() & (C_CONTIGUOUS | F_CONTIGUOUS),
            C_CONTIGUOUS | F_CONTIGUOUS
        );
    }
    // NumPy counts a zero dim as 1 in compact strides.
    assert_eq!(e.copy(Order::C).unwrap().strides(), &[3, 1]);
    assert_eq!(e.copy(Order::F).unwrap().strides(), &[1, 1]);

    let mut s = Tensor::zeros(DType::F64, &[], Order::C).unwrap();
    s.set_f64(&[], 2.5).unwrap();
    let c = s.copy(Order::K).unwrap();
    assert!(is_fresh_root(&c));
    assert_eq!((c.ndim(), c.get_f64(&[]).unwrap()), (0, 2.5));
    assert_ne!(c.data_ptr(), s.data_ptr());
}

// ---- casts -------------------------------------------------------------------

#[test]
fn astype_float_to_int_truncates_toward_zero() {
    let _g = guard();
    let src = from_raw::<f64>(DType::F64, &[1.9, -1.9, 0.5, -0.5, 2.0, -2.99, 1e3 + 0.999]);
    let c = src.astype(DType::I32, Order::C).unwrap();
    assert!(is_fresh_root(&c));
    assert_eq!(c.dtype(), DType::I32);
    assert_eq!(memory::<i32>(&c), [1, -1, 0, 0, 2, -2, 1000]);
    assert_eq!(
        memory::<i8>(&src.astype(DType::I8, Order::C).unwrap()),
        [1, -1, 0, 0, 2, -2, 127]
    );
    let u = from_raw::<f64>(DType::F64, &[255.9, 0.99, 7.5])
        .astype(DType::U8, Order::C)
        .unwrap();
    assert_eq!(memory::<u8>(&u), [255, 0, 7]);
    // NumPy leaves these undefined; dlview documents saturation and NaN -> 0.
    let odd = from_raw::<f64>(DType::F64, &[300.0, -1.5, f64::NAN, f64::INFINITY, -1e300]);
    assert_eq!(
        memory::<u8>(&odd.astype(DType::U8, Order::C).unwrap()),
        [255, 0, 0, 255, 0]
    );
    assert_eq!(
        memory::<i64>(&odd.astype(DType::I64, Order::C).unwrap()),
        [300, -1, 0, i64::MAX, i64::MIN]
    );
}

#[test]
fn astype_to_and_from_bool() {
    let _g = guard();
    let src = from_raw::<f64>(
        DType::F64,
        &[0.0, -0.0, 0.5, -2.0, f64::NAN, f64::INFINITY, 1e-300],
    );
    let b = src.astype(DType::BOOL, Order::C).unwrap();
    assert_eq!(
        memory::<u8>(&b),
        [0, 0, 1, 1, 1, 1, 1],
        "bool(x) is x != 0, stored as 0/1"
    );
    let i = from_raw::<i32>(DType::I32, &[0, 7, -1])
        .astype(DType::BOOL, Order::C)
        .unwrap();
    assert_eq!(memory::<u8>(&i), [0, 1, 1]);
    // Any non-zero byte reads as true.
    let raw = from_raw::<u8>(DType::BOOL, &[0, 1, 2, 255]);
    assert_eq!(values(&raw), [0., 1., 1., 1.]);
    assert_eq!(
        memory::<f32>(&raw.astype(DType::F32, Order::C).unwrap()),
        [0., 1., 1., 1.]
    );
    assert_eq!(
        memory::<i8>(&raw.astype(DType::I8, Order::C).unwrap()),
        [0, 1, 1, 1]
    );
    assert_eq!(
        memory::<u8>(&raw.astype(DType::BOOL, Order::C).unwrap()),
        [0, 1, 2, 255],
        "same dtype copies bytes"
    );
}

#[test]
fn astype_int_to_int_wraps_like_numpy() {
    let _g = guard();
    // NumPy's integer casts are C casts: exact, modulo 2^bits.
    let u8s = from_raw::<u8>(DType::U8, &[0, 127, 128, 200, 255]);
    assert_eq!(
        memory::<i8>(&u8s.astype(DType::I8, Order::C).unwrap()),
        [0, 127, -128, -56, -1]
    );
    assert_eq!(
        memory::<u16>(&u8s.astype(DType::U16, Order::C).unwrap()),
        [0, 127, 128, 200, 255]
    );
    let i32s = from_raw::<i32>(DType::I32, &[70000, -70000, -1, 32767]);
    assert_eq!(
        memory::<i16>(&i32s.astype(DType::I16, Order::C).unwrap()),
        [4464, -4464, -1, 32767]
    );
    assert_eq!(
        memory::<u32>(&i32s.astype(DType::U32, Order::C).unwrap()),
        [70000, 4294897296, u32::MAX, 32767]
    );
    let big = (1i64 << 53) + 1;
    let i64s = from_raw::<i64>(DType::I64, &[big, -1, 1 << 31, i64::MIN]);
    assert_eq!(
        memory::<u64>(&i64s.astype(DType::U64, Order::C).unwrap()),
        [big as u64, u64::MAX, 1 << 31, 1 << 63]
    );
    assert_eq!(
        memory::<i32>(&i64s.astype(DType::I32, Order::C).unwrap()),
        [1, -1, i32::MIN, 0]
    );
    let u64s = from_raw::<u64>(DType::U64, &[u64::MAX, (1 << 63) + 3]);
    assert_eq!(
        memory::<i64>(&u64s.astype(DType::I64, Order::C).unwrap()),
        [-1, i64::MIN + 3]
    );
    // int64 -> float64 rounds once, to nearest even.
    let f = from_raw::<i64>(DType::I64, &[big, big + 2])
        .astype(DType::F64, Order::C)
        .unwrap();
    assert_eq!(memory::<f64>(&f), [9007199254740992.0, 9007199254740996.0]);
}

#[test]
fn astype_int_to_float32_rounds_once() {
    let _g = guard();
    // 2^24 + 1 is a tie between 2^24 and 2^24 + 2: even wins; 2^24 + 3 goes up.
    let i = from_raw::<i32>(DType::I32, &[16777217, 16777219, -7]);
    assert_eq!(
        memory::<f32>(&i.astype(DType::F32, Order::C).unwrap()),
        [16777216.0, 16777220.0, -7.0]
    );
    // 2^60 + 2^36 + 1 is just above the midpoint of two float32 neighbours
    // (2^60 and 2^60 + 2^37). Rounding through float64 first lands exactly
    // on the midpoint and then goes to even (2^60): one rounding goes up.
    let v = (1i64 << 60) + (1 << 36) + 1;
    let f = from_raw::<i64>(DType::I64, &[v])
        .astype(DType::F32, Order::C)
        .unwrap();
    assert_eq!(memory::<f32>(&f), [((1u64 << 60) + (1 << 37)) as f32]);
}

#[test]
fn astype_to_half_precision_rounds_to_nearest_even() {
    let _g = guard();
    let src = from_raw::<f64>(
        DType::F64,
        &[
            1.0,
            0.1,
            65504.0,
            65519.0,
            65520.0,
            2049.0,
            2051.0,
            1e-8,
            3e-8,
            -1.5,
            f64::NEG_INFINITY,
        ],
    );
    let h = src.astype(DType::F16, Order::C).unwrap();
    // IEEE binary16 bit patterns, by hand: 0.1 = 1.6 * 2^-4 -> exponent 11,
    // mantissa round(0.6 * 1024) = 614 = 0x266; 65519 < 65520 (the midpoint
    // to the next binade) stays 65504; 2049 ties to 2048, 2051 ties to 2052;
    // 1e-8 is below half the smallest subnormal (2^-24), 3e-8 above it.
    assert_eq!(
        memory::<u16>(&h),
        [
            0x3c00, 0x2e66, 0x7bff, 0x7bff, 0x7c00, 0x6800, 0x6802, 0x0000, 0x0001, 0xbe00, 0xfc00
        ]
    );
    let back = values(&h);
    assert_eq!(back[1], 0.0999755859375);
    assert_eq!(back[4], f64::INFINITY);
    assert_eq!(back[8], 2f64.powi(-24));

    let b = from_raw::<f64>(DType::F64, &[1.0, 3.3, 257.0, 259.0, 1e39, -0.0])
        .astype(DType::BF16, Order::C)
        .unwrap();
    // bfloat16 keeps 8 significant bits: 3.3 = 1.65 * 2 -> round(1.65 * 128)
    // = 211 -> 211/128 * 2 = 3.296875 (mantissa 83 = 0x53);
    // 257 ties to 256, 259 ties to 260; 1e39 is beyond the largest finite.
    assert_eq!(
        memory::<u16>(&b),
        [0x3f80, 0x4053, 0x4380, 0x4382, 0x7f80, 0x8000]
    );
    assert_eq!(values(&b)[1], 3.296875);

    // f16 -> i8 truncates the rounded half value.
    let h = from_raw::<f64>(DType::F64, &[100.7, -128.9])
        .astype(DType::F16, Order::C)
        .unwrap();
    assert_eq!(values(&h), [100.6875, -128.875]);
    assert_eq!(
        memory::<i8>(&h.astype(DType::I8, Order::C).unwrap()),
        [100, -128]
    );
}

#[test]
fn astype_to_float8() {
    let _g = guard();
    let src = from_raw::<f64>(
        DType::F64,
        &[1.0625, 1.1, 448.0, 464.0, 465.0, 0.001, -0.0, 1e6],
    );
    let e4 = src.astype(DType::F8_E4M3FN, Order::C).unwrap();
    // e4m3fn: 1.0625 ties to 1.0 (0x38), 1.1 -> 1.125 (0x39), 448 is the
    // largest finite (0x7e); 464 ties down to it, 465 rounds to 480, which
    // does not exist: NaN (0x7f), as for 1e6 (no infinity). 0.001 rounds up
    // to the smallest subnormal 2^-9.
    assert_eq!(
        memory::<u8>(&e4),
        [0x38, 0x39, 0x7e, 0x7e, 0x7f, 0x01, 0x80, 0x7f]
    );
    let back = values(&e4);
    assert_eq!(&back[..4], &[1.0, 1.125, 448.0, 448.0]);
    assert!(back[4].is_nan() && back[7].is_nan());
    assert_eq!(back[5], 2f64.powi(-9));

    let e5 = from_raw::<f64>(DType::F64, &[4.5, 5.0, -3.0, 57344.0, 1e6, -1e6])
        .astype(DType::F8_E5M2, Order::C)
        .unwrap();
    // e5m2 (2 mantissa bits, bias 15): 4.5 ties to 4 (0x44), 5 = 0x45,
    // -3 = -1.5 * 2 (0xc2), 57344 the largest finite (0x7b), +-inf.
    assert_eq!(memory::<u8>(&e5), [0x44, 0x45, 0xc2, 0x7b, 0x7c, 0xfc]);
    assert_eq!(
        values(&e5),
        [4.0, 5.0, -3.0, 57344.0, f64::INFINITY, f64::NEG_INFINITY]
    );

    // float8 -> wider types is exact.
    let up = e5.astype(DType::F32, Order::C).unwrap();
    assert_eq!(
        memory::<f32>(&up),
        [4.0, 5.0, -3.0, 57344.0, f32::INFINITY, f32::NEG_INFINITY]
    );
    let ints = e5
        .slice(0, None, Some(4), 1)
        .unwrap()
        .astype(DType::I32, Order::C)
        .unwrap();
    assert_eq!(memory::<i32>(&ints), [4, 5, -3, 57344]);
}

#[test]
fn astype_of_views_follows_the_view() {
    let _g = guard();
    // Casting a flipped, strided view reads it in index order and lays the
    // result out in the requested order.
    let a = arange(DType::I32, &[3, 4], Order::C);
    let v = a.slice(1, None, None, -2).unwrap(); // columns 3, 1: [[3, 1], [7, 5], [11, 9]]
    let c = v.astype(DType::F32, Order::C).unwrap();
    assert_eq!(memory::<f32>(&c), [3., 1., 7., 5., 11., 9.]);
    let f = v.astype(DType::I16, Order::F).unwrap();
    assert_eq!(f.strides(), &[1, 3]);
    assert_eq!(memory::<i16>(&f), [3, 7, 11, 1, 5, 9]);
    let k = a.transpose().unwrap().astype(DType::F64, Order::K).unwrap();
    assert_eq!(k.strides(), &[1, 4]);
    assert_eq!(memory::<f64>(&k), range(12));
}

#[test]
fn complex_elements() {
    let _g = guard();
    let mut z = Tensor::zeros(DType::C128, &[2], Order::C).unwrap();
    let err = z.get_f64(&[0]).unwrap_err();
    assert_eq!(
        err,
        Error::UnsupportedDtype(
            "a complex128 element has no single f64 value (read it as two parts)".into()
        )
    );
    z.set_f64(&[1], 2.5).unwrap();
    assert_eq!(memory::<[f64; 2]>(&z), [[0.0, 0.0], [2.5, 0.0]]);
    // A failed cast releases the buffer it allocated (the guard checks).
    assert!(matches!(
        z.astype(DType::F64, Order::C),
        Err(Error::UnsupportedDtype(_))
    ));
    let c = from_raw::<f64>(DType::F64, &[1.5, -2.0])
        .astype(DType::C64, Order::C)
        .unwrap();
    assert_eq!(memory::<[f32; 2]>(&c), [[1.5, 0.0], [-2.0, 0.0]]);
    assert_eq!(
        memory::<[f32; 2]>(&c.copy(Order::C).unwrap()),
        [[1.5, 0.0], [-2.0, 0.0]]
    );
}

#[test]
fn set_f64_casts_like_astype() {
    let _g = guard();
    let mut t = Tensor::zeros(DType::I8, &[4], Order::C).unwrap();
    for (i, v) in [(0, -3.7), (1, 300.0), (2, -300.0)] {
        t.set_f64(&[i], v).unwrap();
    }
    // NaN and infinity into an integer are NumPy's ValueError, not a cast.
    for (v, what) in [(f64::NAN, "NaN"), (f64::INFINITY, "infinity")] {
        assert_eq!(
            t.set_f64(&[3], v).unwrap_err(),
            Error::InvalidArgument(format!("cannot convert float {what} to integer"))
        );
    }
    assert_eq!(memory::<i8>(&t), [-3, 127, -128, 0]);
    let mut h = Tensor::zeros(DType::F16, &[1], Order::C).unwrap();
    h.set_f64(&[0], 0.1).unwrap();
    assert_eq!(memory::<u16>(&h), [0x2e66]);
}

// ---- element access ------------------------------------------------------------

#[test]
fn get_and_set_bounds_errors() {
    let _g = guard();
    let mut a = arange(DType::F64, &[2, 3], Order::C);
    let err = a.get_f64(&[0, 5]).unwrap_err();
    assert_eq!(
        err,
        Error::Index {
            index: 5,
            axis: 1,
            size: 3
        }
    );
    assert_eq!(
        err.to_string(),
        "index 5 is out of bounds for axis 1 with size 3"
    );
    assert_eq!(
        a.set_f64(&[0, 5], 1.0).unwrap_err().to_string(),
        "index 5 is out of bounds for axis 1 with size 3"
    );
    assert_eq!(
        a.get_f64(&[0, 3]).unwrap_err().to_string(),
        "index 3 is out of bounds for axis 1 with size 3"
    );
    assert_eq!(
        a.get_f64(&[0, -4]).unwrap_err().to_string(),
        "index -4 is out of bounds for axis 1 with size 3"
    );
    assert_eq!(
        a.get_f64(&[2, 0]).unwrap_err().to_string(),
        "index 2 is out of bounds for axis 0 with size 2"
    );
    // The first offending axis is named.
    assert_eq!(
        a.get_f64(&[-3, 9]).unwrap_err(),
        Error::Index {
            index: -3,
            axis: 0,
            size: 2
        }
    );
    // Extreme indices neither wrap nor overflow.
    assert_eq!(
        a.get_f64(&[0, i64::MIN]).unwrap_err(),
        Error::Index {
            index: i64::MIN,
            axis: 1,
            size: 3
        }
    );
    assert_eq!(
        a.get_f64(&[i64::MAX, 0]).unwrap_err(),
        Error::Index {
            index: i64::MAX,
            axis: 0,
            size: 2
        }
    );
    assert_eq!(
        a.get_f64(&[0]).unwrap_err(),
        Error::InvalidArgument("index has 1 entries but the tensor has 2 dimensions".into())
    );
    assert_eq!(
        a.set_f64(&[0, 0, 0], 1.0).unwrap_err(),
        Error::InvalidArgument("index has 3 entries but the tensor has 2 dimensions".into())
    );
    assert_eq!(values(&a), range(6), "failed writes wrote nothing");

    // Negative indices count from the end.
    assert_eq!(a.get_f64(&[-1, -1]).unwrap(), 5.0);
    assert_eq!(a.get_f64(&[-2, -3]).unwrap(), 0.0);
    assert_eq!(a.get_f64(&[1, -2]).unwrap(), 4.0);
    a.set_f64(&[-1, -2], 42.0).unwrap();
    assert_eq!(a.get_f64(&[1, 1]).unwrap(), 42.0);
    // Through a view, indices are the view's.
    let v = a.slice(1, None, None, -1).unwrap();
    assert_eq!(v.get_f64(&[0, 0]).unwrap(), 2.0);
    assert_eq!(v.get_f64(&[-1, -1]).unwrap(), 3.0);
    assert_eq!(
        v.get_f64(&[1, 3]).unwrap_err().to_string(),
        "index 3 is out of bounds for axis 1 with size 3"
    );
}

#[test]
fn zero_d_tensors() {
    let _g = guard();
    let mut s = Tensor::zeros(DType::F64, &[], Order::C).unwrap();
    assert_eq!(
        (s.ndim(), s.size(), s.nbytes(), s.shape(), s.strides()),
        (0, 1, 8, &[][..], &[][..])
    );
    assert!(!s.data_ptr().is_null());
    assert_eq!(
        s.flags(),
        WRITEABLE | C_CONTIGUOUS | F_CONTIGUOUS | OWNDATA | ALIGNED
    );
    assert_eq!(s.get_f64(&[]).unwrap(), 0.0);
    s.set_f64(&[], 3.5).unwrap();
    assert_eq!(s.get_f64(&[]).unwrap(), 3.5);
    assert_eq!(
        s.get_f64(&[0]).unwrap_err(),
        Error::InvalidArgument("index has 1 entries but the tensor has 0 dimensions".into())
    );
    for err in [
        s.select(0, 0).unwrap_err(),
        s.flip(-1).unwrap_err(),
        s.slice(0, None, None, 1).unwrap_err(),
    ] {
        assert!(
            matches!(&err, Error::InvalidArgument(m) if m.ends_with("is out of bounds for tensor of dimension 0")),
            "{err:?}"
        );
    }
    assert_eq!(s.transpose().unwrap().shape(), &[] as &[i64]);
    assert_eq!(s.squeeze(None).unwrap().shape(), &[] as &[i64]);
    let e = s.expand_dims(0).unwrap();
    assert_eq!((e.shape(), e.get_f64(&[0]).unwrap()), (&[1][..], 3.5));
    assert_eq!(
        s.expand_dims(1).unwrap_err().to_string(),
        "axis 1 is out of bounds for tensor of dimension 1"
    );
    let r = s.reshape(&[1, 1], CopyMode::Never).unwrap();
    assert_eq!(
        (r.data_ptr(), r.get_f64(&[0, 0]).unwrap()),
        (s.data_ptr(), 3.5)
    );
    let back = r.reshape(&[], CopyMode::Never).unwrap();
    assert_eq!((back.ndim(), back.get_f64(&[]).unwrap()), (0, 3.5));
    let b = s.broadcast_to(&[2, 3]).unwrap();
    assert_eq!((b.strides(), b.is_writeable()), (&[0, 0][..], false));
    assert_eq!(values(&b), [3.5; 6]);
    // A 0-d view of one element.
    let a = arange(DType::F64, &[2, 3], Order::C);
    let one = a.select(0, 1).unwrap().select(0, -1).unwrap();
    assert_eq!((one.ndim(), one.get_f64(&[]).unwrap()), (0, 5.0));
    assert_eq!(one.data_ptr() as usize, a.data_ptr() as usize + 5 * 8);
    assert_eq!(
        one.flags(),
        WRITEABLE | C_CONTIGUOUS | F_CONTIGUOUS | ALIGNED
    );
}

#[test]
fn size_zero_tensors() {
    let _g = guard();
    let before = live_count();
    let mut e = Tensor::zeros(DType::F32, &[0, 3], Order::C).unwrap();
    assert_eq!(
        live_count(),
        before + 1,
        "a size-0 tensor still has a storage"
    );
    assert_eq!((e.size(), e.nbytes(), e.strides()), (0, 0, &[3, 1][..]));
    assert!(e.data_ptr().is_null());
    assert!(e.data_ptr_mut().unwrap().is_null());
    assert_eq!(
        e.flags(),
        WRITEABLE | C_CONTIGUOUS | F_CONTIGUOUS | OWNDATA | ALIGNED
    );
    assert_eq!(
        e.get_f64(&[0, 0]).unwrap_err(),
        Error::Index {
            index: 0,
            axis: 0,
            size: 0
        }
    );
    assert_eq!(
        e.set_f64(&[0, 0], 1.0).unwrap_err().to_string(),
        "index 0 is out of bounds for axis 0 with size 0"
    );
    let f = Tensor::zeros(DType::F64, &[3, 0, 2], Order::F).unwrap();
    assert_eq!(f.strides(), &[1, 3, 3]);
    assert_eq!(
        f.flags() & (C_CONTIGUOUS | F_CONTIGUOUS),
        C_CONTIGUOUS | F_CONTIGUOUS
    );

    // Empty views of a non-empty tensor: NULL data, both contiguity flags,
    // still views, and they share nothing.
    let a = arange(DType::F64, &[2, 3], Order::C);
    for v in [
        a.slice(1, Some(2), Some(1), 1).unwrap(),
        a.slice(0, Some(5), None, 1).unwrap(),
        a.slice(1, None, None, -1)
            .unwrap()
            .slice(0, Some(0), Some(0), -1)
            .unwrap(),
        a.sliding_window(1, 0).unwrap(),
        a.broadcast_to(&[0, 2, 3]).unwrap(),
    ] {
        assert_eq!(v.size(), 0, "{v:?}");
        assert!(v.data_ptr().is_null());
        assert_eq!(
            v.flags() & (C_CONTIGUOUS | F_CONTIGUOUS | OWNDATA),
            C_CONTIGUOUS | F_CONTIGUOUS
        );
        assert!(v.base().is_some());
        assert!(!v.shares_memory(&a) && !v.may_share_memory(&a) && !a.may_share_memory(&v));
    }
    assert_eq!(a.sliding_window(1, 0).unwrap().shape(), &[2, 4, 0]);
    assert!(
        !e.may_share_memory(&e),
        "nothing to share, even with itself"
    );
}

// ---- flags, writeability, base ---------------------------------------------------

#[test]
fn writeable_rules() {
    let _g = guard();
    let mut a = arange(DType::F64, &[3, 4], Order::C);
    // Rule 2: views inherit.
    let mut v = a.slice(0, Some(1), None, 1).unwrap();
    assert!(v.is_writeable());
    // Writeable, but `a` shares the memory: a safe write is refused.
    assert_eq!(
        v.set_f64(&[0, 0], -1.0).unwrap_err(),
        shared_error("Tensor::set_f64_shared")
    );
    set_shared(&v, &[0, 0], -1.0).unwrap();
    assert_eq!(a.get_f64(&[1, 0]).unwrap(), -1.0);
    v.set_writeable(false).unwrap();
    assert!(
        !v.is_writeable() && a.is_writeable(),
        "the flag belongs to one view"
    );
    let vv = v.transpose().unwrap();
    assert!(
        !vv.is_writeable(),
        "a view of a read-only view is read-only"
    );
    assert_eq!(
        v.set_f64(&[0, 0], 1.0).unwrap_err(),
        Error::ReadOnly("assignment destination is read-only".into())
    );
    v.set_writeable(true).unwrap();
    set_shared(&v, &[0, 0], 4.0).unwrap();
    a.set_writeable(false).unwrap();
    assert!(!a.slice(0, None, None, 1).unwrap().is_writeable());
    assert!(matches!(a.data_ptr_mut(), Err(Error::ReadOnly(_))));
    a.set_writeable(false).unwrap();
    a.set_writeable(true).unwrap();

    // Rule 3: overlapping views are read-only, and stay so.
    let overlap_msg = "cannot make tensor writeable: its elements overlap in memory";
    let row = a.select(0, 0).unwrap();
    let overlapping = [
        row.broadcast_to(&[2, 4]).unwrap(),
        row.sliding_window(0, 2).unwrap(),
        row.as_strided(&[3], &[0]).unwrap(),
        row.as_strided(&[3, 2], &[1, 1]).unwrap(),
    ];
    for mut o in overlapping {
        assert!(!o.is_writeable(), "{o:?}");
        assert_eq!(
            o.set_writeable(true).unwrap_err(),
            Error::ReadOnly(overlap_msg.into())
        );
        assert_eq!(
            o.set_f64(&vec![0; o.ndim()], 1.0).unwrap_err().to_string(),
            "assignment destination is read-only"
        );
        o.set_writeable(false).unwrap();
    }
    // Broadcasting and windows are read-only even without overlap (NumPy too);
    // such a view may be made writeable again.
    let mut same = row.broadcast_to(&[4]).unwrap();
    assert!(!same.is_writeable());
    same.set_writeable(true).unwrap();
    let mut w1 = row.sliding_window(0, 1).unwrap();
    assert_eq!((w1.shape(), w1.strides()), (&[4, 1][..], &[1, 1][..]));
    assert!(!w1.is_writeable());
    w1.set_writeable(true).unwrap();
    // Non-overlapping as_strided inherits; a zero stride on a size-1 axis is no overlap.
    assert!(row.as_strided(&[2, 2], &[1, 2]).unwrap().is_writeable());
    assert!(row.as_strided(&[1, 4], &[0, 1]).unwrap().is_writeable());
    // Selecting away the broadcast axis removes the overlap, not the flag.
    let mut sel = row.broadcast_to(&[2, 4]).unwrap().select(0, 1).unwrap();
    assert!(!sel.is_writeable());
    sel.set_writeable(true).unwrap();
    set_shared(&sel, &[2], 9.0).unwrap();
    assert_eq!(a.get_f64(&[0, 2]).unwrap(), 9.0);
}

static RELEASED: AtomicUsize = AtomicUsize::new(0);

unsafe extern "C" fn count_release(ctx: *mut c_void) {
    assert_eq!(ctx as usize, 0x5eed);
    RELEASED.fetch_add(1, Ordering::SeqCst);
}

#[test]
fn read_only_and_borrowed_storage() {
    let _g = guard();
    let mut buf = [0.0f64, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0];
    let released = RELEASED.load(Ordering::SeqCst);
    {
        // SAFETY: `buf` outlives the storage; the callback only counts.
        let storage = Arc::new(unsafe {
            Storage::from_foreign(
                buf.as_mut_ptr().cast(),
                Some(64),
                Device::CPU,
                true,
                false,
                Owner::Callback {
                    release: Some(count_release),
                    ctx: 0x5eed as *mut c_void,
                },
            )
        });
        let base = storage.base();
        let layout = Layout::new(&[2, 3], &[3, 1]).unwrap();
        let mut t =
            Tensor::from_storage(Arc::clone(&storage), base, layout, DType::F64, true).unwrap();
        assert!(!t.is_writeable(), "read-only memory makes a read-only root");
        assert_eq!(t.flags(), C_CONTIGUOUS | OWNDATA | ALIGNED);
        assert_eq!(
            t.set_writeable(true).unwrap_err(),
            Error::ReadOnly("cannot make tensor writeable: its memory is read-only".into())
        );
        assert_eq!(values(&t), range(6));
        let v = t.slice(1, Some(1), None, 1).unwrap();
        assert_eq!(values(&v), [1., 2., 4., 5.]);
        // A copy of read-only memory is writeable (rule 2.1).
        let c = t.copy(Order::C).unwrap();
        assert!(c.is_writeable());
        drop(storage);
        drop(t);
        assert_eq!(
            RELEASED.load(Ordering::SeqCst),
            released,
            "the view keeps the storage alive"
        );
        // as_strided may reach anywhere in the storage's known 64 bytes ...
        let whole = v.as_strided(&[8], &[1]).unwrap_err();
        assert!(
            whole.to_string().contains(
                "reaches bytes [0, 64) from the view's start, outside [-8, 56) owned by its storage"
            ),
            "{whole}"
        );
        let all = v.as_strided(&[7], &[1]).unwrap();
        assert_eq!(values(&all), [1., 2., 3., 4., 5., 6., 7.]);
        let back = v.as_strided(&[2], &[-1]).unwrap();
        assert_eq!(values(&back), [1., 0.]);
        // ... but from_storage must fit it.
        let err = Tensor::from_storage(
            Arc::clone(v.storage()),
            base,
            Layout::new(&[9], &[1]).unwrap(),
            DType::F64,
            false,
        )
        .unwrap_err();
        assert_eq!(
            err,
            Error::InvalidArgument("layout of shape (9,) with strides (1,) reaches bytes [0, 72) from its start, outside the 64 bytes of its storage".into())
        );
        let err = Tensor::from_storage(
            Arc::clone(v.storage()),
            base,
            Layout::new(&[2], &[-1]).unwrap(),
            DType::F64,
            false,
        )
        .unwrap_err();
        assert!(
            err.to_string()
                .contains("reaches bytes [-8, 8) from its start"),
            "{err}"
        );
    }
    assert_eq!(
        RELEASED.load(Ordering::SeqCst),
        released + 1,
        "released exactly once"
    );

    // Unknown extent: as_strided stays inside the source view.
    // SAFETY: as above; nothing is released.
    let storage = Arc::new(unsafe {
        Storage::from_foreign(
            buf.as_mut_ptr().cast(),
            None,
            Device::CPU,
            false,
            false,
            Owner::Callback {
                release: None,
                ctx: std::ptr::null_mut(),
            },
        )
    });
    let base = storage.base();
    // Safe code cannot place a view in a storage of unknown length.
    assert_eq!(
        Tensor::from_storage(
            Arc::clone(&storage),
            base,
            Layout::new(&[8], &[1]).unwrap(),
            DType::F64,
            true
        )
        .unwrap_err(),
        Error::InvalidArgument(
            "a storage of unknown length cannot bound a view; \
             use the unsafe `Tensor::from_storage_unchecked`"
                .into()
        )
    );
    // SAFETY: the 8 elements lie in `buf`, which outlives the tensor.
    let t = unsafe {
        Tensor::from_storage_unchecked(
            storage,
            base,
            Layout::new(&[8], &[1]).unwrap(),
            DType::F64,
            true,
        )
    }
    .unwrap();
    assert!(t.is_writeable());
    let mid = t.slice(0, Some(2), Some(5), 1).unwrap();
    assert_eq!(values(&mid.as_strided(&[3], &[1]).unwrap()), [2., 3., 4.]);
    let err = mid.as_strided(&[4], &[1]).unwrap_err();
    assert_eq!(
        err.to_string(),
        "as_strided layout of shape (4,) with strides (1,) reaches bytes [0, 32) from the view's start, \
         outside [0, 24) owned by the source view (the storage's extent is unknown)"
    );
    assert!(mid.as_strided(&[2], &[-1]).is_err());
    assert_eq!(RELEASED.load(Ordering::SeqCst), released + 1);
}

#[test]
fn base_points_at_the_root() {
    let _g = guard();
    let a = arange(DType::F32, &[4, 5], Order::C);
    assert!(a.base().is_none());
    let v1 = a.slice(0, Some(1), None, 2).unwrap();
    let v2 = v1.transpose().unwrap();
    let v3 = v2.select(1, 1).unwrap().expand_dims(0).unwrap();
    let v4 = v3
        .broadcast_to(&[2, 5])
        .unwrap()
        .reshape(&[10], CopyMode::IfNeeded)
        .unwrap();
    for v in [&v1, &v2, &v3] {
        let b = v.base().expect("a view has a base");
        assert!(b.base().is_none(), "views of views point at the root");
        assert_eq!(
            (b.shape(), b.data_ptr(), b.flags() & OWNDATA),
            (&[4, 5][..], a.data_ptr(), OWNDATA)
        );
        assert!(Arc::ptr_eq(b.storage(), a.storage()));
        assert_eq!(v.flags() & OWNDATA, 0);
    }
    // v3 = a[3, :] as (1, 5).
    assert_eq!(values(&v3), [15., 16., 17., 18., 19.]);
    // A reshape that had to copy is a new root; its views point at it.
    assert!(v4.base().is_none());
    let v5 = v4.slice(0, None, None, 3).unwrap();
    assert_eq!(v5.base().unwrap().data_ptr(), v4.data_ptr());
    assert_eq!(values(&v5), [15., 18., 16., 19.]);
    // Clones are the same view: same base, same flags.
    let c = v2.clone();
    assert_eq!(
        (c.data_ptr(), c.flags(), c.base().unwrap().data_ptr()),
        (v2.data_ptr(), v2.flags(), a.data_ptr())
    );
}

#[test]
fn describe_text() {
    let _g = guard();
    let a = arange(DType::F64, &[2, 3], Order::C);
    let p = a.data_ptr() as usize;
    assert_eq!(
        a.describe(),
        format!(
            "shape:    (2, 3)\n\
             strides:  (3, 1) elements, (24, 8) bytes\n\
             dtype:    float64 (itemsize 8)\n\
             device:   cpu\n\
             data:     {p:#x}\n\
             flags:    WRITEABLE | C_CONTIGUOUS | OWNDATA | ALIGNED\n\
             nbytes:   48\n\
             base:     none (owns its data)\n"
        )
    );
    let v = a.transpose().unwrap().flip(0).unwrap();
    assert_eq!(
        v.describe(),
        format!(
            "shape:    (3, 2)\n\
             strides:  (-1, 3) elements, (-8, 24) bytes\n\
             dtype:    float64 (itemsize 8)\n\
             device:   cpu\n\
             data:     {:#x}\n\
             flags:    WRITEABLE | ALIGNED\n\
             nbytes:   48\n\
             base:     view of a float64 tensor of shape (2, 3) at {p:#x}\n",
            p + 16
        )
    );
    let e = Tensor::zeros(DType::I16, &[0], Order::C).unwrap();
    let d = e.describe();
    assert!(d.contains("shape:    (0,)\n"), "{d}");
    assert!(d.contains("dtype:    int16 (itemsize 2)\n"), "{d}");
    assert!(d.contains("data:     0x0\n"), "{d}");
    assert!(
        d.contains("flags:    WRITEABLE | C_CONTIGUOUS | F_CONTIGUOUS | OWNDATA | ALIGNED\n"),
        "{d}"
    );
    assert!(d.contains("nbytes:   0\n"), "{d}");
    let s = Tensor::zeros(DType::BF16, &[], Order::C).unwrap();
    assert!(s.describe().starts_with(
        "shape:    ()\nstrides:  () elements, () bytes\ndtype:    bfloat16 (itemsize 2)\n"
    ));

    // A misaligned, read-only, non-contiguous view has no flags at all.
    let mut buf = [0u64; 8];
    // SAFETY: `buf` outlives the storage, which releases nothing.
    let storage = Arc::new(unsafe {
        Storage::from_foreign(
            buf.as_mut_ptr().cast(),
            Some(64),
            Device::CPU,
            true,
            false,
            Owner::Callback {
                release: None,
                ctx: std::ptr::null_mut(),
            },
        )
    });
    let data = storage.base().wrapping_add(1);
    let root = Tensor::from_storage(
        storage,
        data,
        Layout::new(&[2, 2], &[4, 1]).unwrap(),
        DType::F64,
        true,
    )
    .unwrap();
    assert_eq!(root.flags(), OWNDATA);
    let odd = root.as_strided(&[2, 2], &[4, 1]).unwrap();
    assert_eq!(odd.flags(), 0);
    assert!(odd.describe().contains("flags:    none\n"));
    assert!(
        odd.describe()
            .contains(&format!("data:     {:#x}\n", data as usize))
    );
}

// ---- sharing ---------------------------------------------------------------------

#[test]
fn shares_memory_by_hand() {
    let _g = guard();
    let a = arange(DType::F64, &[4, 6], Order::C);
    let even = a.slice(1, None, None, 2).unwrap();
    let odd = a.slice(1, Some(1), None, 2).unwrap();
    // Interleaved columns: the byte ranges overlap, the elements do not.
    assert!(even.may_share_memory(&odd) && !even.shares_memory(&odd));
    let top = a.slice(0, None, Some(2), 1).unwrap();
    let bottom = a.slice(0, Some(2), None, 1).unwrap();
    assert!(!top.may_share_memory(&bottom) && !top.shares_memory(&bottom));
    assert!(top.shares_memory(&a) && a.shares_memory(&top));
    let col = a.select(1, 3).unwrap();
    assert!(col.shares_memory(&odd) && !col.shares_memory(&even));
    assert!(
        a.flip(0).unwrap().transpose().unwrap().shares_memory(&a),
        "dense views of one buffer"
    );
    let other = arange(DType::F64, &[4, 6], Order::C);
    assert!(!other.may_share_memory(&a) && !a.shares_memory(&other));

    // Two dtypes over one buffer: the test is on bytes, not on element indices.
    let mut buf = [0u64; 8];
    let addr = buf.as_mut_ptr().cast::<u8>();
    let over = |offset: usize, dtype: DType, shape: &[i64], strides: &[i64]| {
        // SAFETY: `buf` outlives every tensor here; nothing is released.
        let s = Arc::new(unsafe {
            Storage::from_foreign(
                addr,
                Some(64),
                Device::CPU,
                false,
                false,
                Owner::Callback {
                    release: None,
                    ctx: std::ptr::null_mut(),
                },
            )
        });
        Tensor::from_storage(
            s,
            addr.wrapping_add(offset),
            Layout::new(shape, strides).unwrap(),
            dtype,
            true,
        )
        .unwrap()
    };
    // f64 elements 0, 2, 4, 6: bytes [0, 8), [16, 24), [32, 40), [48, 56).
    let wide = over(0, DType::F64, &[4], &[2]);
    // Bytes 8, 24, 40, 56 fall in the gaps; bytes 15..=16 straddle into one.
    let gaps = over(8, DType::U8, &[4], &[16]);
    assert!(
        wide.may_share_memory(&gaps) && !wide.shares_memory(&gaps) && !gaps.shares_memory(&wide)
    );
    let straddle = over(15, DType::U16, &[2], &[20]);
    assert!(wide.shares_memory(&straddle) && straddle.shares_memory(&wide));
    let last_byte = over(55, DType::U8, &[1], &[1]);
    assert!(wide.shares_memory(&last_byte));
    let past_end = over(56, DType::U8, &[8], &[1]);
    assert!(!wide.may_share_memory(&past_end) && !wide.shares_memory(&past_end));
}

// ---- creation errors, devices, sub-byte types -----------------------------------------

#[test]
fn creation_errors() {
    let _g = guard();
    let err = |r: Result<Tensor, Error>| r.unwrap_err();
    assert_eq!(
        err(Tensor::zeros(DType::F64, &[2], Order::K)),
        Error::InvalidArgument(
            "order K is only meaningful for copies; new tensors take C or F".into()
        )
    );
    assert_eq!(
        err(Tensor::empty(DType::F64, &[2, -1], Order::C)),
        Error::InvalidArgument("negative dimension -1 at axis 1 in shape (2, -1)".into())
    );
    assert_eq!(
        err(Tensor::zeros(DType::U8, &[1; 65], Order::C)),
        Error::InvalidArgument("ndim 65 exceeds the maximum of 64".into())
    );
    assert!(
        matches!(err(Tensor::zeros(DType::U8, &[1 << 40, 1 << 40], Order::C)), Error::InvalidArgument(m) if m.contains("has too many elements"))
    );
    assert!(matches!(
        err(Tensor::zeros(DType::U8, &[0, 1 << 40, 1 << 40], Order::C)),
        Error::InvalidArgument(_)
    ));
    let f4 = DType::new(code::FLOAT4_E2M1FN, 4, 1).unwrap();
    assert_eq!(
        err(Tensor::zeros(f4, &[4], Order::C)),
        Error::UnsupportedDtype(
            "creating a tensor is not supported for the packed sub-byte dtype float4_e2m1fn".into()
        )
    );
    let a = arange(DType::F64, &[2, 3], Order::C);
    assert!(matches!(
        a.astype(f4, Order::C),
        Err(Error::UnsupportedDtype(_))
    ));
    assert!(matches!(
        err(Tensor::zeros(
            DType::F64,
            &[isize::MAX as i64 / 4],
            Order::C
        )),
        Error::InvalidArgument(_) | Error::OutOfMemory(_)
    ));
}

#[test]
fn view_argument_errors() {
    let _g = guard();
    let a = arange(DType::F64, &[2, 3], Order::C);
    let invalid = |r: Result<Tensor, Error>| match r {
        Err(Error::InvalidArgument(m)) => m,
        other => panic!("expected InvalidArgument, got {other:?}"),
    };
    assert_eq!(
        invalid(a.slice(2, None, None, 1)),
        "axis 2 is out of bounds for tensor of dimension 2"
    );
    assert_eq!(
        invalid(a.slice(-3, None, None, 1)),
        "axis -3 is out of bounds for tensor of dimension 2"
    );
    assert_eq!(
        invalid(a.slice(0, None, None, 0)),
        "slice step cannot be zero"
    );
    assert_eq!(
        a.select(1, 3).unwrap_err(),
        Error::Index {
            index: 3,
            axis: 1,
            size: 3
        }
    );
    assert_eq!(
        a.select(-1, -4).unwrap_err().to_string(),
        "index -4 is out of bounds for axis 1 with size 3"
    );
    assert_eq!(
        invalid(a.permute(&[0])),
        "axes has 1 entries but the tensor has 2 dimensions"
    );
    assert_eq!(
        invalid(a.permute(&[1, -1])),
        "repeated axis -1 in permutation (1, -1)"
    );
    assert_eq!(
        invalid(a.permute(&[0, 2])),
        "axis 2 is out of bounds for tensor of dimension 2"
    );
    assert_eq!(
        invalid(a.squeeze(Some(1))),
        "cannot squeeze axis 1: its size is 3, not 1"
    );
    assert_eq!(
        invalid(a.expand_dims(3)),
        "axis 3 is out of bounds for tensor of dimension 3"
    );
    assert_eq!(
        invalid(a.expand_dims(-4)),
        "axis -4 is out of bounds for tensor of dimension 3"
    );
    assert_eq!(
        invalid(a.broadcast_to(&[3])),
        "cannot broadcast shape (2, 3) to shape (3,)"
    );
    assert_eq!(
        invalid(a.broadcast_to(&[4, 3])),
        "cannot broadcast shape (2, 3) to shape (4, 3)"
    );
    assert!(invalid(a.broadcast_to(&[2, -3])).contains("negative dimension -3"));
    assert_eq!(
        invalid(a.sliding_window(1, 4)),
        "window 4 does not fit axis 1 of size 3"
    );
    assert_eq!(
        invalid(a.sliding_window(0, -1)),
        "window -1 does not fit axis 0 of size 2"
    );
    assert_eq!(
        invalid(a.as_strided(&[2], &[1, 1])),
        "shape has 1 dimensions but strides has 2"
    );
    assert!(
        invalid(a.as_strided(&[7], &[1]))
            .starts_with("as_strided layout of shape (7,) with strides (1,) reaches bytes [0, 56)")
    );
    assert!(invalid(a.as_strided(&[3], &[i64::MAX])).contains("overflows"));
    assert_eq!(
        invalid(a.flip(5)),
        "axis 5 is out of bounds for tensor of dimension 2"
    );
    // Good calls next to the bad ones, with hand-computed results.
    assert_eq!(
        values(&a.sliding_window(1, 2).unwrap()),
        [0., 1., 1., 2., 3., 4., 4., 5.]
    );
    assert_eq!(
        values(&a.as_strided(&[2, 2], &[3, 1]).unwrap()),
        [0., 1., 3., 4.]
    );
    let from2 = a.slice(1, Some(2), None, 1).unwrap();
    assert_eq!(
        values(&from2.as_strided(&[2, 2], &[2, -1]).unwrap()),
        [2., 1., 4., 3.]
    );
    assert_eq!(
        values(&from2.as_strided(&[3], &[-1]).unwrap()),
        [2., 1., 0.]
    );
    assert_eq!(
        values(&from2.as_strided(&[4], &[1]).unwrap()),
        [2., 3., 4., 5.]
    );
    assert!(
        invalid(from2.as_strided(&[4], &[-1]))
            .contains("reaches bytes [-24, 8) from the view's start, outside [-16, 32)")
    );
    assert!(invalid(from2.as_strided(&[4], &[-2])).contains("reaches bytes [-48, 8)"));
}

#[test]
fn device_memory_is_not_dereferenced() {
    let _g = guard();
    let mut buf = [0.0f64; 12];
    let addr = buf.as_mut_ptr().cast::<u8>();
    // A fake device allocation at the same address as a host buffer: never
    // read, released by nobody.
    // SAFETY: the pointer is never dereferenced (the device is not the host).
    let storage = Arc::new(unsafe {
        Storage::from_foreign(
            addr,
            Some(96),
            Device::new(kind::CUDA, 1),
            false,
            false,
            Owner::Callback {
                release: None,
                ctx: std::ptr::null_mut(),
            },
        )
    });
    let t = Tensor::from_storage(
        storage,
        addr,
        Layout::new(&[3, 4], &[4, 1]).unwrap(),
        DType::F64,
        true,
    )
    .unwrap();
    assert_eq!(t.device(), Device::new(kind::CUDA, 1));
    assert!(t.describe().contains("device:   cuda:1\n"));
    let v = t.slice(1, None, None, -1).unwrap();
    assert_eq!(
        v.data_ptr() as usize,
        addr as usize + 3 * 8,
        "views work without touching memory"
    );
    assert_eq!(
        v.get_f64(&[0, 0]).unwrap_err(),
        Error::UnsupportedDevice(
            "reading an element needs host-accessible memory, but the tensor is on cuda:1".into()
        )
    );
    assert_eq!(
        set_shared(&t, &[0, 0], 1.0).unwrap_err(),
        Error::UnsupportedDevice(
            "writing an element needs host-accessible memory, but the tensor is on cuda:1".into()
        )
    );
    assert_eq!(
        v.copy(Order::C).unwrap_err(),
        Error::UnsupportedDevice(
            "copying elements needs host-accessible memory, but the tensor is on cuda:1".into()
        )
    );
    assert!(matches!(
        v.astype(DType::F32, Order::C),
        Err(Error::UnsupportedDevice(_))
    ));
    assert!(matches!(
        t.reshape(&[12], CopyMode::Always),
        Err(Error::UnsupportedDevice(_))
    ));
    assert_eq!(
        t.reshape(&[12], CopyMode::Never).unwrap().data_ptr(),
        addr as *const u8
    );
    assert!(t.may_share_memory(&v) && t.shares_memory(&v));
    // The same addresses on another device are other memory.
    // SAFETY: `buf` outlives the storage, which releases nothing.
    let host = Arc::new(unsafe {
        Storage::from_foreign(
            addr,
            Some(96),
            Device::CPU,
            false,
            false,
            Owner::Callback {
                release: None,
                ctx: std::ptr::null_mut(),
            },
        )
    });
    let h = Tensor::from_storage(
        host,
        addr,
        Layout::new(&[3, 4], &[4, 1]).unwrap(),
        DType::F64,
        true,
    )
    .unwrap();
    assert_eq!(h.byte_range(), t.byte_range());
    assert!(!h.may_share_memory(&t) && !t.may_share_memory(&h));
    assert!(!h.shares_memory(&v) && !v.shares_memory(&h));
}

#[test]
fn storage_lives_until_the_last_view() {
    let _g = guard();
    let start = live_count();
    let a = arange(DType::I64, &[3, 4], Order::C);
    assert_eq!(live_count(), start + 1);
    let views = [
        a.slice(1, Some(1), None, 2).unwrap(),
        a.transpose().unwrap(),
        a.broadcast_to(&[2, 3, 4]).unwrap(),
        a.reshape(&[12], CopyMode::Never).unwrap(),
        a.sliding_window(0, 2).unwrap(),
        a.as_strided(&[2], &[5]).unwrap(),
    ];
    assert_eq!(live_count(), start + 1, "views allocate no storage");
    let last = views[0].select(0, -1).unwrap(); // a[2, 1::2] = [9, 11]
    drop(a);
    drop(views);
    assert_eq!(
        live_count(),
        start + 1,
        "a view of a view keeps the root's memory alive"
    );
    assert_eq!(values(&last), [9., 11.]);
    let copy = last.copy(Order::C).unwrap();
    assert_eq!(live_count(), start + 2);
    drop(last);
    assert_eq!(live_count(), start + 1, "copy() detaches");
    assert_eq!(values(&copy), [9., 11.]);
    drop(copy);
    assert_eq!(live_count(), start);
    // Failed operations allocate nothing that survives.
    let a = arange(DType::F64, &[2, 3], Order::C);
    assert!(
        a.transpose()
            .unwrap()
            .reshape(&[6], CopyMode::Never)
            .is_err()
    );
    assert!(a.reshape(&[7], CopyMode::Always).is_err());
    assert!(
        a.astype(DType::C64, Order::C)
            .unwrap()
            .astype(DType::F64, Order::C)
            .is_err()
    );
    assert_eq!(live_count(), start + 1);
    // Storage drops on whichever thread drops the last view.
    let v = a.slice(0, None, None, -1).unwrap();
    drop(a);
    std::thread::spawn(move || {
        assert_eq!(values(&v), [3., 4., 5., 0., 1., 2.]);
        drop(v);
    })
    .join()
    .unwrap();
    assert_eq!(live_count(), start);
}

/// Shape [4, 2] with strides [3, 9] reaches offset 9 twice ((3, 0) and
/// (0, 1)), although no stride is zero and the strides differ: the view
/// must be read-only. (A separation test that under-counts an axis's reach
/// would call it writeable.)
#[test]
fn as_strided_overlap_through_unequal_strides_is_read_only() {
    let flat = Tensor::zeros(DType::F32, &[19], Order::C).unwrap();
    let mut v = flat.as_strided(&[4, 2], &[3, 9]).unwrap();
    assert!(!v.is_writeable());
    assert_eq!(
        v.set_writeable(true).unwrap_err(),
        Error::ReadOnly("cannot make tensor writeable: its elements overlap in memory".into())
    );
    // One more step apart and nothing is reached twice.
    let flat = Tensor::zeros(DType::F32, &[22], Order::C).unwrap();
    assert!(flat.as_strided(&[4, 2], &[3, 10]).unwrap().is_writeable());
}
