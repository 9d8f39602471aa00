//! Copies on several threads (RULES.md §9): results are bit-identical at 1,
//! 2 and N threads for every kind of copy over random views and dtype pairs;
//! overlapping `copy_into` is resolved before the work is split; many caller
//! threads copying at once, copies from inside another rayon pool, and a
//! copy in a child forked after the pool ran all finish (a watchdog turns a
//! hang into a failure); small jobs stay on the calling thread.
//!
//! The thread count is process-wide, so every test here holds `SETTINGS`
//! while it runs (tests of one binary run concurrently). The environment
//! variable needs a fresh process: `tests/c/test_threads.c` covers it.

use dlview_core::copy::{CastOptions, parallel};
use dlview_core::dtype::code;
use dlview_core::{__private, DType, Error, Index, Order, Tensor};
use proptest::prelude::*;
use rayon::iter::{IntoParallelIterator, ParallelIterator};
use std::sync::mpsc;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

static SETTINGS: Mutex<()> = Mutex::new(());

/// Holds the process-wide settings for one test, restoring the defaults
/// (all cores, the measured threshold) when it ends.
struct Settings(#[allow(dead_code)] MutexGuard<'static, ()>);

impl Drop for Settings {
    fn drop(&mut self) {
        parallel::set_num_threads(0).unwrap();
        __private::set_parallel_min_bytes(parallel::PARALLEL_MIN_BYTES);
    }
}

fn settings() -> Settings {
    Settings(SETTINGS.lock().unwrap_or_else(|p| p.into_inner()))
}

/// More threads than the test machine has cores, and odd: uneven pieces.
const MANY: usize = 5;
const COUNTS: [usize; 3] = [1, 2, MANY];

/// Every addressable dtype family: bool, ints, floats (f16, bf16 included),
/// complex, and two float8 formats (the scalar path).
fn dtypes() -> Vec<DType> {
    let mut all = vec![
        DType::BOOL,
        DType::I8,
        DType::I16,
        DType::I32,
        DType::I64,
        DType::U8,
        DType::U16,
        DType::U32,
        DType::U64,
        DType::F16,
        DType::F32,
        DType::F64,
        DType::BF16,
        DType::C64,
        DType::C128,
    ];
    all.push(DType::new(code::FLOAT8_E4M3FN, 8, 1).unwrap());
    all.push(DType::new(code::FLOAT8_E5M2, 8, 1).unwrap());
    all
}

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        // xorshift64*
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
}

/// A C-contiguous tensor of random bytes: every bit pattern, NaN payloads
/// and subnormals included (what a cast's fast and slow paths might round
/// differently).
fn random(dtype: DType, shape: &[i64], seed: u64) -> Tensor {
    let mut t = Tensor::empty(dtype, shape, Order::C).unwrap();
    let n = t.nbytes();
    let p = t.data_ptr_mut().unwrap();
    let mut rng = Rng(seed | 1);
    for i in 0..n {
        // SAFETY: byte i of the tensor's own compact buffer.
        unsafe { p.add(i).write(rng.next() as u8) };
    }
    t
}

/// The bytes of every element of `t` in C order, read by an index walk that
/// shares no code with the copy engine.
fn elements(t: &Tensor) -> Vec<u8> {
    let item = t.dtype().itemsize();
    let mut out = Vec::with_capacity(t.size() as usize * item);
    if t.size() == 0 {
        return out;
    }
    let mut index = vec![0i64; t.ndim()];
    loop {
        let offset: i64 = index.iter().zip(t.strides()).map(|(i, s)| i * s).sum();
        // SAFETY: `index` is inside the shape, so the element is in the view.
        let bytes = unsafe {
            std::slice::from_raw_parts(t.data_ptr().offset(offset as isize * item as isize), item)
        };
        out.extend_from_slice(bytes);
        let mut axis = t.ndim();
        loop {
            if axis == 0 {
                return out;
            }
            axis -= 1;
            index[axis] += 1;
            if index[axis] < t.shape()[axis] {
                break;
            }
            index[axis] = 0;
        }
    }
}

/// The whole buffer behind a compact root tensor.
fn buffer(t: &Tensor) -> Vec<u8> {
    if t.nbytes() == 0 {
        return Vec::new();
    }
    // SAFETY: a compact root tensor's nbytes from its first element.
    unsafe { std::slice::from_raw_parts(t.data_ptr(), t.nbytes()).to_vec() }
}

/// A view transform, applied modulo the tensor's rank.
#[derive(Clone, Debug)]
enum Op {
    Slice { axis: usize, start: i64, step: i64 },
    Flip(usize),
    Swap(usize, usize),
    Transpose,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (
            0..4usize,
            0..3i64,
            prop_oneof![Just(1i64), Just(2), Just(3), Just(-1), Just(-2)]
        )
            .prop_map(|(axis, start, step)| Op::Slice { axis, start, step }),
        (0..4usize).prop_map(Op::Flip),
        (0..4usize, 0..4usize).prop_map(|(a, b)| Op::Swap(a, b)),
        Just(Op::Transpose),
    ]
}

fn apply(t: &Tensor, op: &Op) -> Tensor {
    let nd = t.ndim();
    if nd == 0 {
        return t.clone();
    }
    match *op {
        Op::Slice { axis, start, step } => {
            let a = (axis % nd) as i64;
            let n = t.shape()[a as usize];
            let start = if step > 0 {
                start.min(n)
            } else {
                n - 1 - start.min(n)
            };
            t.slice(a, Some(start), None, step).unwrap()
        }
        Op::Flip(axis) => t.flip((axis % nd) as i64).unwrap(),
        Op::Swap(a, b) => {
            let mut axes: Vec<i64> = (0..nd as i64).collect();
            axes.swap(a % nd, b % nd);
            t.permute(&axes).unwrap()
        }
        Op::Transpose => t.transpose().unwrap(),
    }
}

/// `f` at each thread count of `COUNTS`, each result next to its count.
fn at_each_count<T>(mut f: impl FnMut() -> T) -> Vec<(usize, T)> {
    COUNTS
        .iter()
        .map(|&n| {
            parallel::set_num_threads(n).unwrap();
            (n, f())
        })
        .collect()
}

fn assert_all_equal<T: PartialEq + std::fmt::Debug>(results: &[(usize, T)], what: &str) {
    let (n0, first) = &results[0];
    for (n, r) in &results[1..] {
        assert!(r == first, "{what}: {n} threads differ from {n0}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    /// copy (C, F, K), astype over random dtype pairs, copy_into with
    /// broadcasting and casting, over random views (slices, negative steps,
    /// flips, permutations, transposes): bit-identical at 1, 2 and MANY
    /// threads, with the threshold lowered so that these small views are
    /// cut into many pieces.
    #[test]
    fn bit_identical_at_any_thread_count(
        shape in prop::collection::vec(1..24i64, 1..5),
        ops in prop::collection::vec(op(), 0..6),
        from in 0..17usize,
        to in 0..17usize,
        broadcast_axis in 0..8usize,
        dst_kind in 0..3usize,
        seed in any::<u64>(),
    ) {
        let _s = settings();
        __private::set_parallel_min_bytes(16);
        let types = dtypes();
        let (from, to) = (types[from], types[to]);
        let view = ops.iter().fold(random(from, &shape, seed), |t, op| apply(&t, op));
        let opts = CastOptions { discard_imaginary: true };
        let jobs = __private::parallel_job_count();

        for order in [Order::C, Order::F, Order::K] {
            let results = at_each_count(|| {
                let c = view.copy(order).unwrap();
                (c.strides().to_vec(), buffer(&c))
            });
            assert_all_equal(&results, &format!("copy {order:?} of {from}"));
            // The oracle: a copy holds the view's elements.
            prop_assert_eq!(elements(&view.copy(order).unwrap()), elements(&view));
            let results = at_each_count(|| buffer(&view.astype_with(to, order, opts).unwrap()));
            assert_all_equal(&results, &format!("astype {from} -> {to} {order:?}"));
        }

        // copy_into: the destination is a random view of a fresh buffer with
        // the view's shape; the source is broadcast along one axis.
        let src = if view.ndim() > 0 && view.size() > 0 {
            let a = (broadcast_axis % view.ndim()) as i64;
            view.slice(a, Some(0), Some(1), 1).unwrap().broadcast_to(view.shape()).unwrap()
        } else {
            view.clone()
        };
        // The destination: a fresh buffer in C order, a transposed one (F
        // order) or a flipped one, always of the view's shape.
        let shape = view.shape().to_vec();
        let reversed: Vec<i64> = shape.iter().rev().copied().collect();
        let results = at_each_count(|| {
            let base = random(to, if dst_kind == 1 { &reversed } else { &shape }, seed ^ 0x5eed);
            let dst = match dst_kind {
                1 => base.transpose().unwrap(),
                2 if !shape.is_empty() => base.flip(0).unwrap(),
                _ => base.clone(),
            };
            // `base` is kept to read the buffer back, so `dst` is shared.
            // SAFETY: only this call (and the pool threads it runs) touches
            // the buffer meanwhile.
            unsafe { src.copy_into_shared_with(&dst, opts) }.unwrap();
            buffer(&base)
        });
        assert_all_equal(&results, &format!("copy_into {from} -> {to}"));
        if view.size() >= 2 && view.size() as usize * 2 * from.itemsize() >= 16 {
            prop_assert!(__private::parallel_job_count() > jobs, "no job ran on the pool");
        }
    }
}

/// A 1-D int64 tensor of `values`.
fn int_tensor(values: &[i64]) -> Tensor {
    let mut t = Tensor::empty(DType::I64, &[values.len() as i64], Order::C).unwrap();
    let p = t.data_ptr_mut().unwrap().cast::<i64>();
    for (k, &v) in values.iter().enumerate() {
        // SAFETY: element k of the tensor's own compact buffer.
        unsafe { p.add(k).write_unaligned(v) };
    }
    t
}

/// A bool tensor of `shape` whose element `k` is `mask[k]`.
fn bool_tensor(mask: &[bool], shape: &[i64]) -> Tensor {
    let mut t = Tensor::empty(DType::BOOL, shape, Order::C).unwrap();
    let p = t.data_ptr_mut().unwrap();
    for (k, &b) in mask.iter().enumerate() {
        // SAFETY: byte k of the tensor's own compact buffer.
        unsafe { p.add(k).write(u8::from(b)) };
    }
    t
}

/// `t[:, ..., :, idx]` with `idx` at `axis`.
fn key_at(axis: usize, idx: Tensor) -> Vec<Index> {
    let mut key = vec![Index::full(); axis];
    key.push(Index::Tensor(idx));
    key
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 120, ..ProptestConfig::default() })]

    /// Advanced indexing over random views and dtypes at 1, 2 and MANY
    /// threads: the gather of an index tensor at any axis, `take`, a full
    /// boolean mask's selection and fill, and a scatter whose indices
    /// repeat (last write wins). Bit-identical at every count, and equal to
    /// an element-by-element oracle.
    #[test]
    fn indexing_bit_identical_at_any_thread_count(
        shape in prop::collection::vec(1..10i64, 1..4),
        ops in prop::collection::vec(op(), 0..4),
        dt in 0..17usize,
        axis in 0..4usize,
        picks in prop::collection::vec(any::<u16>(), 0..40),
        seed in any::<u64>(),
    ) {
        let _s = settings();
        __private::set_parallel_min_bytes(16);
        let dtype = dtypes()[dt];
        let view = ops.iter().fold(random(dtype, &shape, seed), |t, op| apply(&t, op));
        let a = axis % view.ndim();
        let n = view.shape()[a];
        // Repeats are likely (picks modulo a small size); odd picks count
        // from the end. (A slice may have left the axis empty: no picks.)
        let picks = if n == 0 { &[][..] } else { &picks[..] };
        let idx: Vec<i64> = picks.iter().map(|&p| {
            let i = i64::from(p / 2) % n;
            if p % 2 == 1 { i - n } else { i }
        }).collect();
        let resolved: Vec<i64> = idx.iter().map(|&i| if i < 0 { i + n } else { i }).collect();

        // Gather: position k along `a` is the view's entry resolved[k].
        let results = at_each_count(|| {
            let out = view.index(&key_at(a, int_tensor(&idx))).unwrap();
            (out.shape().to_vec(), buffer(&out))
        });
        assert_all_equal(&results, &format!("gather at axis {a} of {dtype}"));
        let out = view.index(&key_at(a, int_tensor(&idx))).unwrap();
        for (k, &i) in resolved.iter().enumerate() {
            prop_assert_eq!(
                elements(&out.select(a as i64, k as i64).unwrap()),
                elements(&view.select(a as i64, i).unwrap())
            );
        }
        let results = at_each_count(|| buffer(&view.take(a as i64, &idx).unwrap()));
        assert_all_equal(&results, "take");
        prop_assert_eq!(&results[0].1, &buffer(&out));

        // A mask over every axis: selection, then a fill of a C-order copy.
        let mut rng = Rng(seed ^ 0x3a5c | 1);
        let mask: Vec<bool> = (0..view.size()).map(|_| rng.next().is_multiple_of(3)).collect();
        let m = bool_tensor(&mask, view.shape());
        let results = at_each_count(|| buffer(&view.index(&[Index::Tensor(m.clone())]).unwrap()));
        assert_all_equal(&results, &format!("mask select of {dtype}"));
        let item = dtype.itemsize();
        let all = elements(&view);
        let selected: Vec<u8> = all.chunks(item).zip(&mask).filter(|(_, b)| **b)
            .flat_map(|(e, _)| e.to_vec()).collect();
        prop_assert_eq!(&results[0].1, &selected);
        let value = random(dtype, &[], seed ^ 0xf111);
        let results = at_each_count(|| {
            let mut dst = view.copy(Order::C).unwrap();
            dst.index_put(&[Index::Tensor(m.clone())], &value).unwrap();
            buffer(&dst)
        });
        assert_all_equal(&results, &format!("mask fill of {dtype}"));
        let v = buffer(&value);
        let filled: Vec<u8> = all.chunks(item).zip(&mask)
            .flat_map(|(e, &b)| if b { v.clone() } else { e.to_vec() }).collect();
        prop_assert_eq!(&results[0].1, &filled);

        // Scatter with repeated indices: the oracle writes row k's value
        // into entry resolved[k] in order, one row at a time.
        let values = random(dtype, out.shape(), seed ^ 0x5ca7);
        let results = at_each_count(|| {
            let mut dst = view.copy(Order::C).unwrap();
            dst.index_put(&key_at(a, int_tensor(&idx)), &values).unwrap();
            buffer(&dst)
        });
        assert_all_equal(&results, &format!("scatter at axis {a} of {dtype}"));
        let expected = view.copy(Order::C).unwrap();
        for (k, &i) in resolved.iter().enumerate() {
            let row = values.select(a as i64, k as i64).unwrap();
            // SAFETY: `expected` is this test's own; nothing else uses it.
            unsafe { row.copy_into_shared_with(&expected.select(a as i64, i).unwrap(), CastOptions::default()) }.unwrap();
        }
        prop_assert_eq!(&results[0].1, &buffer(&expected));
    }
}

/// A selection larger than the offset chunk (2048 positions), so that the
/// offsets themselves are computed by several threads: gathers and
/// scatters are bit-identical at every count, and a bad index is reported
/// as NumPy reports it (the first bad value of the first index tensor that
/// has one, whichever thread found which error first).
#[test]
fn large_gathers_and_scatters_and_their_errors() {
    let _s = settings();
    __private::set_parallel_min_bytes(16);
    let src = random(DType::F32, &[64, 128], 7);
    let b = 3 * 2048 + 5;
    let mut rng = Rng(11);
    let rows: Vec<i64> = (0..b).map(|_| (rng.next() % 64) as i64).collect();
    let cols: Vec<i64> = (0..b).map(|_| (rng.next() % 128) as i64 - 64).collect();
    let key = || {
        [
            Index::Tensor(int_tensor(&rows)),
            Index::Tensor(int_tensor(&cols)),
        ]
    };
    let jobs = __private::parallel_job_count();
    let results = at_each_count(|| buffer(&src.index(&key()).unwrap()));
    assert_all_equal(&results, "t[rows, cols]");
    assert!(
        __private::parallel_job_count() > jobs,
        "no job ran on the pool"
    );
    let got = src.index(&key()).unwrap();
    for k in [0, 2047, 2048, b - 1] {
        let c = if cols[k] < 0 { cols[k] + 128 } else { cols[k] };
        assert_eq!(
            elements(&got.select(0, k as i64).unwrap()),
            elements(&src.select(0, rows[k]).unwrap().select(0, c).unwrap())
        );
    }
    let values = random(DType::F32, &[b as i64], 9);
    let results = at_each_count(|| {
        let mut dst = src.copy(Order::C).unwrap();
        dst.index_put(&key(), &values).unwrap();
        buffer(&dst)
    });
    assert_all_equal(&results, "t[rows, cols] = values (repeats: last wins)");

    // The second index tensor goes bad first (position 10), the first one
    // later (position 5000): NumPy names the first tensor's value.
    let (mut bad_rows, mut bad_cols) = (rows.clone(), cols.clone());
    bad_cols[10] = 500;
    bad_rows[5000] = -65;
    let bad = || {
        [
            Index::Tensor(int_tensor(&bad_rows)),
            Index::Tensor(int_tensor(&bad_cols)),
        ]
    };
    for n in COUNTS {
        parallel::set_num_threads(n).unwrap();
        let read = src.index(&bad()).unwrap_err().to_string();
        assert_eq!(
            read, "index -65 is out of bounds for axis 0 with size 64",
            "{n} threads"
        );
        let mut dst = src.copy(Order::C).unwrap();
        let write = dst.index_put(&bad(), &values).unwrap_err().to_string();
        assert_eq!(write, read, "{n} threads");
    }
    // A broadcast (smaller) index tensor is checked before the others are
    // read, yet the error still names the first tensor's bad value.
    let one_bad_col = [
        Index::Tensor(int_tensor(&bad_rows)),
        Index::Tensor(int_tensor(&[500])),
    ];
    assert_eq!(
        src.index(&one_bad_col).unwrap_err().to_string(),
        "index -65 is out of bounds for axis 0 with size 64"
    );
}

/// Overlapping `copy_into` (NumPy's `a[1:] = a[:-1]` and friends): every
/// thread count gives what reading the whole source first gives.
#[test]
fn overlapping_copy_into_is_resolved_before_the_split() {
    let _s = settings();
    __private::set_parallel_min_bytes(64);
    type Case = fn(&Tensor) -> (Tensor, Tensor);
    let cases: [(&str, Case); 6] = [
        ("a[1:] = a[:-1]", |a| {
            (
                a.slice(0, Some(1), None, 1).unwrap(),
                a.slice(0, None, Some(-1), 1).unwrap(),
            )
        }),
        ("a[:-1] = a[1:]", |a| {
            (
                a.slice(0, None, Some(-1), 1).unwrap(),
                a.slice(0, Some(1), None, 1).unwrap(),
            )
        }),
        ("a[...] = a[::-1]", |a| (a.clone(), a.flip(0).unwrap())),
        ("a[::2] = a[1::2]", |a| {
            (
                a.slice(0, Some(0), None, 2).unwrap(),
                a.slice(0, Some(1), None, 2).unwrap(),
            )
        }),
        ("a[...] = a.T", |a| (a.clone(), a.transpose().unwrap())),
        ("a[1:, :] = a[:-1, ::-1] as f16 view", |a| {
            (
                a.slice(0, Some(1), None, 1).unwrap(),
                a.slice(0, None, Some(-1), 1).unwrap().flip(1).unwrap(),
            )
        }),
    ];
    for (name, case) in cases {
        for dtype in [DType::F32, DType::F16, DType::C128, DType::U8] {
            let results = at_each_count(|| {
                let a = random(dtype, &[64, 64], 7);
                let (dst, src) = case(&a);
                // The oracle: the source's values, read before any write.
                let want = elements(&src.copy(Order::C).unwrap());
                // `src` and `a` share `dst`'s memory (the point of the case).
                // SAFETY: only this call (and the pool threads it runs)
                // touches the buffer meanwhile.
                unsafe { src.copy_into_shared(&dst) }.unwrap();
                assert_eq!(elements(&dst), want, "{name} {dtype}");
                buffer(&a)
            });
            assert_all_equal(&results, &format!("{name} {dtype}"));
        }
    }
}

/// Runs `f` on another thread and fails if it has not finished after
/// `seconds` (a deadlock must fail the test, not hang it).
fn with_watchdog(seconds: u64, what: &str, f: impl FnOnce() + Send + 'static) {
    let (tx, rx) = mpsc::channel();
    let worker = std::thread::spawn(move || {
        f();
        let _ = tx.send(());
    });
    match rx.recv_timeout(Duration::from_secs(seconds)) {
        Ok(()) => worker.join().unwrap(),
        Err(mpsc::RecvTimeoutError::Disconnected) => {
            // `f` panicked: report its panic.
            std::panic::resume_unwind(worker.join().unwrap_err())
        }
        Err(mpsc::RecvTimeoutError::Timeout) => {
            panic!("{what}: no result after {seconds} s (deadlock?)")
        }
    }
}

/// One large job of each kind on one source; the results' bytes.
fn workload(src: &Tensor) -> Vec<Vec<u8>> {
    let mut out = Tensor::empty(DType::F64, src.shape(), Order::C).unwrap();
    src.transpose()
        .unwrap()
        .transpose()
        .unwrap()
        .copy_into(&mut out)
        .unwrap();
    vec![
        buffer(&src.copy(Order::C).unwrap()),
        buffer(&src.transpose().unwrap().copy(Order::C).unwrap()),
        buffer(&src.astype(DType::BF16, Order::C).unwrap()),
        buffer(&src.flip(1).unwrap().astype(DType::F16, Order::F).unwrap()),
        buffer(&out),
    ]
}

/// 8 caller threads copying at once (each with its own data) on a pool of
/// 2 threads: no deadlock, every result as on one thread.
#[test]
fn eight_callers_copy_at_once() {
    let _s = settings();
    let sources: Vec<Tensor> = (0..8)
        .map(|k| random(DType::F32, &[512, 1024], k + 1))
        .collect();
    parallel::set_num_threads(1).unwrap();
    let expected: Vec<_> = sources.iter().map(workload).collect();
    parallel::set_num_threads(2).unwrap();
    let jobs = __private::parallel_job_count();
    with_watchdog(300, "8 callers", move || {
        let callers: Vec<_> = sources
            .into_iter()
            .zip(expected)
            .map(|(src, want)| {
                std::thread::spawn(move || {
                    for _ in 0..3 {
                        assert!(workload(&src) == want, "a caller's result differs");
                    }
                })
            })
            .collect();
        for c in callers {
            c.join().unwrap();
        }
    });
    assert!(__private::parallel_job_count() >= jobs + 8 * 3 * 5);
}

/// Copies called from the workers of another rayon pool (and of rayon's
/// global pool) run on dlview's pool without deadlock.
#[test]
fn copies_inside_another_rayon_pool() {
    let _s = settings();
    parallel::set_num_threads(2).unwrap();
    let src = random(DType::F32, &[512, 1024], 99);
    let want = workload(&src);
    with_watchdog(300, "inside another pool", move || {
        let other = rayon::ThreadPoolBuilder::new()
            .num_threads(3)
            .build()
            .unwrap();
        other.install(|| {
            (0..6)
                .into_par_iter()
                .for_each(|_| assert!(workload(&src) == want));
        });
        (0..4)
            .into_par_iter()
            .for_each(|_| assert!(workload(&src) == want));
    });
}

/// Small jobs stay on the calling thread; large ones go to the pool; one
/// thread never uses it.
#[test]
fn threshold_and_thread_count_decide_the_pool() {
    let _s = settings();
    let small = random(DType::F32, &[100, 100], 3); // 80 KB of traffic
    let large = random(DType::F32, &[1024, 1024], 4); // 8 MB
    parallel::set_num_threads(2).unwrap();
    let jobs = __private::parallel_job_count();
    small.copy(Order::F).unwrap();
    assert_eq!(
        __private::parallel_job_count(),
        jobs,
        "a small copy used the pool"
    );
    large.copy(Order::F).unwrap();
    assert_eq!(__private::parallel_job_count(), jobs + 1);
    parallel::set_num_threads(1).unwrap();
    large.copy(Order::F).unwrap();
    assert_eq!(
        __private::parallel_job_count(),
        jobs + 1,
        "one thread used the pool"
    );
}

#[test]
fn thread_count_setter() {
    let _s = settings();
    parallel::set_num_threads(3).unwrap();
    assert_eq!(parallel::num_threads(), 3);
    parallel::set_num_threads(0).unwrap();
    let cores = std::thread::available_parallelism().unwrap().get();
    assert_eq!(parallel::num_threads(), cores);
    parallel::set_num_threads(parallel::MAX_THREADS).unwrap();
    assert_eq!(parallel::num_threads(), 1024);
    assert_eq!(
        parallel::set_num_threads(1025),
        Err(Error::InvalidArgument(
            "the number of threads must be between 0 (all cores) and 1024, not 1025".into()
        ))
    );
    assert_eq!(
        parallel::num_threads(),
        1024,
        "a refused value changes nothing"
    );
}

/// A copy in a child forked after the parent ran a parallel copy (the pool's
/// threads are not in the child): it rebuilds the pool and finishes. An
/// alarm kills a child that hangs, which fails the test.
#[test]
fn copy_in_forked_child_after_parallel_copy() {
    let _s = settings();
    parallel::set_num_threads(2).unwrap();
    let src = random(DType::F32, &[1024, 1024], 5);
    let jobs = __private::parallel_job_count();
    let want = workload(&src);
    assert!(
        __private::parallel_job_count() > jobs,
        "the parent did not use the pool"
    );
    // SAFETY: the child only copies with dlview (its locks are fork-aware,
    // malloc's are reset by glibc) and leaves with `_exit`.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork failed");
    if pid == 0 {
        // SAFETY: alarm and _exit are async-signal-safe.
        unsafe { libc::alarm(60) };
        let code = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let before = __private::parallel_job_count();
            let same = workload(&src) == want;
            let pooled = __private::parallel_job_count() > before;
            match (same, pooled) {
                (true, true) => 0,
                (false, _) => 1,
                (true, false) => 2,
            }
        }))
        .unwrap_or(3);
        // SAFETY: leaves the child without running the parent's destructors.
        unsafe { libc::_exit(code) };
    }
    let mut status = 0;
    // SAFETY: waits for our own child.
    let waited = unsafe { libc::waitpid(pid, &mut status, 0) };
    assert_eq!(waited, pid);
    assert!(
        !libc::WIFSIGNALED(status),
        "the child was killed by signal {} (SIGALRM = 14: it hung)",
        libc::WTERMSIG(status)
    );
    let code = libc::WEXITSTATUS(status);
    assert_eq!(
        code, 0,
        "child: 1 = results differ, 2 = did not rebuild the pool, 3 = panic"
    );
    // The parent's pool still works.
    assert!(workload(&src) == want);
}

/// Measures the threshold `parallel::PARALLEL_MIN_BYTES` is set from:
/// copies into warm buffers (a packed copy, an f32 -> bf16 cast, a
/// transpose) at 1 thread and at all cores, by bytes moved. Not run by
/// default:
/// `cargo test --release --test threads -- --ignored --nocapture measure_threshold`
#[test]
#[ignore]
fn measure_threshold() {
    let _s = settings();
    __private::set_parallel_min_bytes(1);
    let cores = std::thread::available_parallelism().unwrap().get();
    println!("traffic     kind        1 thread  {cores} threads  speed-up (best of 200, warm)");
    for kb in [64usize, 128, 256, 512, 1024, 2048, 4096] {
        let n = (kb * 1024 / 8) as i64; // f32 to f32: 8 bytes per element
        let side = (n as f64).sqrt() as i64;
        let cases = [
            ("copy", random(DType::F32, &[n], 1), DType::F32),
            ("f32->bf16", random(DType::F32, &[n], 1), DType::BF16),
            (
                "transpose",
                random(DType::F32, &[side, side], 1).transpose().unwrap(),
                DType::F32,
            ),
        ];
        for (kind, src, to) in cases {
            let mut dst = Tensor::empty(to, src.shape(), Order::C).unwrap();
            let mut time = |threads: usize| {
                parallel::set_num_threads(threads).unwrap();
                let mut best = f64::INFINITY;
                for _ in 0..200 {
                    let t0 = std::time::Instant::now();
                    src.copy_into(&mut dst).unwrap();
                    best = best.min(t0.elapsed().as_secs_f64());
                }
                best
            };
            let (t1, tn) = (time(1), time(cores));
            println!(
                "{kb:>6} KiB  {kind:<10} {:>7.1} us  {:>7.1} us  {:>5.2}x",
                t1 * 1e6,
                tn * 1e6,
                t1 / tn
            );
        }
    }
}
