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
use dlview_core::{__private, DType, Error, Order, Tensor};
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
