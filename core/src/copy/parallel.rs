//! Threads for large copies: how many, which pool, and how a job is cut.
//!
//! Policy, in one place:
//! - A job of `n` threads is the calling thread plus up to `n - 1` helpers
//!   from dlview's **own** rayon pool (never rayon's global one), taking
//!   pieces from one counter. The caller never sleeps while work is left:
//!   a copy called from inside another library's pool (or rayon's global
//!   one) does its own share and does not nest into that pool, and however
//!   many callers copy at once, dlview adds at most `n - 1` threads to
//!   theirs (no oversubscription from dlview's side).
//! - `n` is [`num_threads`]: `set_num_threads(n)` (0: all cores), else the
//!   environment variable `DLVIEW_NUM_THREADS`, read once at first use (a
//!   value that is not an integer in `0..=MAX_THREADS` is ignored: all
//!   cores), else all cores the process may run on (`available_parallelism`,
//!   which honours CPU affinity and cgroup quotas).
//! - Small jobs stay on the calling thread ([`PARALLEL_MIN_BYTES`]).
//! - A work-stealing pool does not survive `fork()`: its threads are not in
//!   the child. The pool remembers the pid that built it; a job in another
//!   process (a forked child) abandons the parent's pool without touching it
//!   (its threads do not exist here, so it is leaked, not dropped) and builds
//!   its own. If the child cannot take the lock guarding the pool (another
//!   parent thread held it at the instant of `fork`, and that thread does
//!   not exist in the child) the job runs on the calling thread instead.
//!
//! Results never depend on the number of threads: every output element is
//! written exactly once, by the same element conversion, whichever thread
//! writes it; a job is only ever cut into pieces that write disjoint memory.
//!
//! [`parallel_for`] is the generic helper (any kernel that writes disjoint
//! parts of its output for disjoint index ranges can use it, e.g. gathers);
//! `execute` cuts a copy [`Plan`] into pieces.

use super::kernels::Kernel;
use super::plan::{Inner, Plan};
use crate::error::{Result, invalid};
use rayon::{ThreadPool, ThreadPoolBuilder};
use std::any::Any;
use std::ops::Range;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicUsize, Ordering::Relaxed, Ordering::SeqCst};
use std::sync::{Arc, Mutex, TryLockError};

/// The most threads `set_num_threads` and `DLVIEW_NUM_THREADS` accept: far
/// beyond any machine's memory bandwidth, low enough that a typo cannot ask
/// the OS for two billion threads.
pub const MAX_THREADS: usize = 1024;

/// The environment variable read once, at first use, for the thread count.
pub const NUM_THREADS_ENV: &str = "DLVIEW_NUM_THREADS";

/// A job moving fewer bytes than this (read plus written) stays on the
/// calling thread. Measured on the 2-core development machine, busy with
/// other builds (load 7-8), warm buffers, best of 200
/// (`cargo test --release --test threads -- --ignored --nocapture measure_threshold`):
/// cutting a job costs the caller about 1 µs (a 64 KiB copy: 0.9 µs alone,
/// 1.8 µs cut), and from 512 KiB on never more than 5%; a helper woken from
/// sleep needs 5-10 µs to start, so below about 1 MiB (a 13 µs copy, a
/// 54 µs f32 -> bf16 cast) the caller has finished before it arrives, while
/// at 4 MiB the second core halved the time (copy 3.1x, cast 1.9x,
/// transpose 2.0x).
pub const PARALLEL_MIN_BYTES: usize = 1 << 20;

/// Pieces per thread: more than one, so that a thread slowed down by
/// another process hands its remaining pieces to the others (work
/// stealing); few, so that each piece is a long forward stream.
const PIECES_PER_THREAD: usize = 4;

static NUM_THREADS: AtomicUsize = AtomicUsize::new(0); // 0: not decided yet
static MIN_BYTES: AtomicUsize = AtomicUsize::new(PARALLEL_MIN_BYTES);
static PARALLEL_JOBS: AtomicUsize = AtomicUsize::new(0);

/// dlview's pool and the process that built it.
struct Pool {
    pool: ThreadPool,
    threads: usize,
    pid: u32,
}

static POOL: Mutex<Option<Arc<Pool>>> = Mutex::new(None);
/// The pid of the process that built the pool in `POOL` (0: none yet). Read
/// without the lock to tell a forked child, which must not wait on it.
static POOL_PID: AtomicU32 = AtomicU32::new(0);

/// Every core this process may run on.
fn all_cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// The thread count a value of `DLVIEW_NUM_THREADS` asks for: an integer in
/// `0..=MAX_THREADS` (0: all cores, surrounding spaces allowed); anything
/// else (unset, empty, negative, not a number, too large) is `None`.
pub fn threads_from_env_value(value: Option<&str>) -> Option<usize> {
    let n: usize = value?.trim().parse().ok()?;
    match n {
        0 => Some(all_cores()),
        n if n <= MAX_THREADS => Some(n),
        _ => None,
    }
}

/// The number of threads large copies use (at least 1).
pub fn num_threads() -> usize {
    let n = NUM_THREADS.load(Relaxed);
    if n != 0 {
        return n;
    }
    let value = std::env::var(NUM_THREADS_ENV).ok();
    let n = threads_from_env_value(value.as_deref()).unwrap_or_else(all_cores);
    // The first decision wins (a concurrent `set_num_threads` included).
    match NUM_THREADS.compare_exchange(0, n, Relaxed, Relaxed) {
        Ok(_) => n,
        Err(current) => current,
    }
}

/// Sets the number of threads large copies use from now on: `n` threads, or
/// all cores for 0. Overrides `DLVIEW_NUM_THREADS`. Copies already running
/// finish on the threads they started with. Fails with `INVALID_ARGUMENT`
/// beyond [`MAX_THREADS`].
pub fn set_num_threads(n: usize) -> Result<()> {
    if n > MAX_THREADS {
        return Err(invalid!(
            "the number of threads must be between 0 (all cores) and {MAX_THREADS}, not {n}"
        ));
    }
    NUM_THREADS.store(if n == 0 { all_cores() } else { n }, Relaxed);
    Ok(())
}

/// Test support (`__private`): sets the smallest job (bytes moved) that
/// runs in parallel, returning the previous value, so that tests can cut
/// small random views into many pieces. Not for production use.
pub(crate) fn set_parallel_min_bytes(bytes: usize) -> usize {
    MIN_BYTES.swap(bytes.max(1), Relaxed)
}

/// Test support (`__private`): how many jobs have run on the pool in this
/// process.
pub(crate) fn parallel_job_count() -> usize {
    PARALLEL_JOBS.load(Relaxed)
}

/// Into how many pieces a job moving `bytes` is cut (1: the calling thread
/// does it all). Each piece moves at least a quarter of the threshold.
pub fn pieces_for(bytes: usize) -> usize {
    let min = MIN_BYTES.load(Relaxed);
    if bytes < min {
        return 1;
    }
    let threads = num_threads();
    if threads <= 1 {
        return 1;
    }
    (threads * PIECES_PER_THREAD)
        .min(bytes / (min / 4).max(1))
        .max(1)
}

/// dlview's pool of `threads` helper threads in this process, built or
/// rebuilt as needed; `None` when this forked child cannot safely take the pool's lock
/// or the OS refuses new threads (the caller then works alone).
fn pool(threads: usize) -> Option<Arc<Pool>> {
    let pid = std::process::id();
    let owner = POOL_PID.load(Relaxed);
    let mut guard = if owner != 0 && owner != pid {
        // A forked child: the lock may be held forever by a parent thread
        // that was not copied into this process.
        match POOL.try_lock() {
            Ok(g) => g,
            Err(TryLockError::Poisoned(p)) => p.into_inner(),
            Err(TryLockError::WouldBlock) => return None,
        }
    } else {
        // Poisoning cannot leave the `Option` half-updated: ignore it.
        POOL.lock().unwrap_or_else(|p| p.into_inner())
    };
    if let Some(p) = guard.as_ref()
        && p.pid == pid
        && p.threads == threads
    {
        return Some(Arc::clone(p));
    }
    if let Some(old) = guard.take()
        && old.pid != pid
    {
        // The parent's pool: its threads and their wake-up state belong to
        // another process; dropping it would signal threads that are not
        // here. A few hundred bytes leak once per fork.
        std::mem::forget(old);
    }
    // A pool of the wrong size (after `set_num_threads`) is dropped here, or
    // by the last job still using it: its threads then exit.
    let built = ThreadPoolBuilder::new()
        .num_threads(threads)
        .thread_name(|i| format!("dlview-copy-{i}"))
        .build()
        .ok()?;
    let p = Arc::new(Pool {
        pool: built,
        threads,
        pid,
    });
    *guard = Some(Arc::clone(&p));
    POOL_PID.store(pid, Relaxed);
    Some(p)
}

/// The `k`-th of `pieces` near-equal parts of `0..len`, its inner bounds
/// rounded down to multiples of `align` (so a part may be empty).
fn piece(len: usize, pieces: usize, k: usize, align: usize) -> Range<usize> {
    let bound = |k: usize| {
        if k >= pieces {
            return len;
        }
        // u128: `len * k` may not fit usize.
        let b = (len as u128 * k as u128 / pieces as u128) as usize;
        b - b % align
    };
    bound(k)..bound(k + 1)
}

/// Calls `body` on disjoint ranges that together cover `0..len` exactly
/// once: on the calling thread with `0..len` when the job moves fewer than
/// the threshold's bytes (`bytes`: read plus written, the whole job), else
/// in up to [`num_threads`]` × 4` ranges whose inner bounds are multiples of
/// `align` (e.g. a page of output, so that no two threads write one cache
/// line or fault one page), taken in turn by the calling thread and up to
/// `num_threads - 1` helpers from dlview's pool. `body` must write only
/// memory that belongs to its range; then the result cannot depend on how
/// `0..len` was cut. A panic in `body` reaches the caller (after every
/// helper has let go of `body`).
///
/// The caller works too rather than waiting for the pool: it starts at
/// once (no wake-up latency before the first piece), a helper that wakes
/// late finds fewer pieces left (or none), and on a busy machine the job
/// degrades to the caller's own speed instead of waiting on threads the
/// scheduler has not run yet. However many callers copy at once, dlview adds
/// at most `num_threads - 1` threads to theirs. (The first version handed
/// the whole job to the pool with rayon's `install`, the caller asleep: on
/// the busy 2-core machine that cost 7-15 µs per job and ran 1 MiB copies
/// at 0.6x of one thread, and 2-thread copies of 64 MiB below 1-thread ones.)
pub fn parallel_for(len: usize, bytes: usize, align: usize, body: impl Fn(Range<usize>) + Sync) {
    let align = align.max(1);
    let pieces = pieces_for(bytes).min(len.div_ceil(align));
    if pieces <= 1 {
        if len > 0 {
            body(0..len);
        }
        return;
    }
    let threads = num_threads();
    // `threads` may have dropped to 1 since `pieces_for` (another thread's
    // `set_num_threads`); the fork check may refuse a pool.
    let Some(pool) = (threads > 1).then(|| pool(threads - 1)).flatten() else {
        return body(0..len);
    };
    PARALLEL_JOBS.fetch_add(1, Relaxed);
    let run = |k: usize| {
        let r = piece(len, pieces, k, align);
        if !r.is_empty() {
            body(r);
        }
    };
    let run: &(dyn Fn(usize) + Sync) = &run;
    // SAFETY: only the lifetime is erased. `Job::help` calls `run` only
    // while registered in `active` before `closed` was set, and this function
    // returns (or unwinds) only after setting `closed` and seeing `active`
    // at 0, so `run` outlives every call.
    let run: &'static (dyn Fn(usize) + Sync) = unsafe { std::mem::transmute(run) };
    let job = Arc::new(Job {
        run,
        pieces,
        next: AtomicUsize::new(0),
        active: AtomicUsize::new(0),
        closed: AtomicBool::new(false),
        panic: Mutex::new(None),
        caller: std::thread::current(),
    });
    for _ in 0..(threads - 1).min(pieces - 1) {
        let job = Arc::clone(&job);
        pool.pool.spawn(move || job.help());
    }
    let mine = std::panic::catch_unwind(AssertUnwindSafe(|| job.take_pieces()));
    job.closed.store(true, SeqCst);
    while job.active.load(SeqCst) != 0 {
        std::thread::park();
    }
    if let Err(payload) = mine {
        std::panic::resume_unwind(payload);
    }
    let helper_panic = job.panic.lock().unwrap_or_else(|p| p.into_inner()).take();
    if let Some(payload) = helper_panic {
        std::panic::resume_unwind(payload);
    }
}

/// [`parallel_for`] for a `body` that can fail, walking its range in order
/// and stopping at its first error. The error returned is the one found at
/// the lowest position: that of the piece with the lowest start that
/// failed. When `body` reports an error at the same position however its
/// range was cut (e.g. it checks in blocks aligned to `align`), the result
/// is the error one thread would have met first.
pub fn try_parallel_for<E: Send>(
    len: usize,
    bytes: usize,
    align: usize,
    body: impl Fn(Range<usize>) -> std::result::Result<(), E> + Sync,
) -> std::result::Result<(), E> {
    let first: Mutex<Option<(usize, E)>> = Mutex::new(None);
    parallel_for(len, bytes, align, |r| {
        let start = r.start;
        // A piece after one that already failed has nothing to report.
        let failed_before = |m: &Option<(usize, E)>| m.as_ref().is_some_and(|(s, _)| *s < start);
        if failed_before(&first.lock().unwrap_or_else(|p| p.into_inner())) {
            return;
        }
        if let Err(e) = body(r) {
            let mut m = first.lock().unwrap_or_else(|p| p.into_inner());
            if !failed_before(&m) {
                *m = Some((start, e));
            }
        }
    });
    match first.into_inner().unwrap_or_else(|p| p.into_inner()) {
        Some((_, e)) => Err(e),
        None => Ok(()),
    }
}

/// One `parallel_for` in progress, shared by its caller and its helpers.
struct Job {
    /// Runs piece `k`. Valid while `closed` is false or `active` is non-zero
    /// (see `parallel_for`).
    run: &'static (dyn Fn(usize) + Sync),
    pieces: usize,
    /// The next piece nobody has taken.
    next: AtomicUsize,
    /// Helpers inside `run` (or about to check `closed`).
    active: AtomicUsize,
    /// Set by the caller when it has no pieces left to take: helpers that
    /// start later return without touching `run`.
    closed: AtomicBool,
    /// The first panic of a helper, re-raised on the caller's thread.
    panic: Mutex<Option<Box<dyn Any + Send>>>,
    caller: std::thread::Thread,
}

impl Job {
    fn take_pieces(&self) {
        loop {
            let k = self.next.fetch_add(1, Relaxed);
            if k >= self.pieces {
                return;
            }
            (self.run)(k);
        }
    }

    /// A helper's part, on a pool thread. SeqCst on `active` and `closed`:
    /// either the caller sees this helper in `active` (and waits for it) or
    /// this helper sees `closed` (and leaves `run` alone).
    fn help(&self) {
        self.active.fetch_add(1, SeqCst);
        if !self.closed.load(SeqCst) {
            // A panic must not reach rayon (which would abort the process).
            if let Err(payload) = std::panic::catch_unwind(AssertUnwindSafe(|| self.take_pieces()))
            {
                // Make the other takers stop early.
                self.next.store(self.pieces, Relaxed);
                let mut first = self.panic.lock().unwrap_or_else(|p| p.into_inner());
                first.get_or_insert(payload);
            }
        }
        if self.active.fetch_sub(1, SeqCst) == 1 && self.closed.load(SeqCst) {
            self.caller.unpark();
        }
    }
}

/// Raw operand addresses, shared by the pieces of one copy.
#[derive(Clone, Copy)]
struct Operands {
    dst: *mut u8,
    src: *const u8,
}

// SAFETY: the pieces of a copy write disjoint destination elements and only
// read the source (see `execute`); the pointers are only used inside the
// call that made them, which waits for every piece.
unsafe impl Send for Operands {}
// SAFETY: as above.
unsafe impl Sync for Operands {}

impl Operands {
    /// The two pointers. A closure calling this captures the whole
    /// `Operands` (which is `Sync`), not its raw-pointer fields one by one
    /// (which are not), as a field access would.
    fn get(self) -> (*mut u8, *const u8) {
        (self.dst, self.src)
    }
}

/// A raw pointer that the pieces of one [`parallel_for`] share, each
/// writing its own disjoint part of the memory behind it.
#[derive(Clone, Copy)]
pub(crate) struct Disjoint<T>(*mut T);

// SAFETY: a `Disjoint` is only made by a function that waits for every
// piece (see `parallel_for`) and whose pieces touch disjoint elements.
unsafe impl<T> Send for Disjoint<T> {}
// SAFETY: as above.
unsafe impl<T> Sync for Disjoint<T> {}

impl<T> Disjoint<T> {
    pub(crate) fn new(p: *mut T) -> Self {
        Disjoint(p)
    }

    /// The pointer. (A closure calling this captures the `Sync` wrapper,
    /// not the raw pointer a field access would capture.)
    pub(crate) fn get(self) -> *mut T {
        self.0
    }
}

/// How a plan is cut: every index of the first `fixed` axes alone (`outer`
/// combinations), times `parts` ranges of `axis` (`axis == fixed`, except
/// for the `x` axis of a tiled plan, whose `y` axis stays whole).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Cut {
    fixed: usize,
    axis: usize,
    outer: usize,
    parts: usize,
    align: usize,
}

/// Chooses the outermost axis whose cut gives at least `pieces` pieces (the
/// innermost one if none does), so that each piece is a box of whole inner
/// runs or tiles, as large as possible.
fn cut(plan: &Plan, pieces: usize) -> Cut {
    let n = plan.axes.len();
    // A tile needs both of its axes: `y` may be cut, then `x` (below).
    let last_fixable = if plan.inner == Inner::Tiled {
        n - 2
    } else {
        n - 1
    };
    let mut outer = 1usize;
    let mut fixed = 0;
    while fixed < last_fixable && outer.saturating_mul(plan.axes[fixed].len) < pieces {
        outer *= plan.axes[fixed].len;
        fixed += 1;
    }
    let mut axis = fixed;
    if plan.inner == Inner::Tiled
        && outer.saturating_mul(plan.axes[n - 2].len) < pieces
        && plan.axes[n - 1].len > plan.axes[n - 2].len
    {
        // Too few tile rows: cut the longer `x` axis instead.
        axis = n - 1;
    }
    let a = plan.axes[axis];
    let parts = pieces.div_ceil(outer).min(a.len);
    let align = match plan.inner {
        // The innermost run: cut at page boundaries of a packed destination.
        Inner::Run if axis == n - 1 && a.dst > 0 && 4096 % a.dst == 0 => 4096 / a.dst as usize,
        // A tiled axis: cut between tiles (64 is a multiple of every side
        // up to 8-byte elements; larger ones just start a tile mid-way).
        Inner::Tiled if axis + 2 >= n => 64,
        _ => 1,
    };
    Cut {
        fixed,
        axis,
        outer,
        parts,
        align,
    }
}

/// Executes `plan` as [`Kernel::execute`] does, cut into pieces on dlview's
/// pool when it moves at least the threshold's `bytes` (read plus written).
///
/// # Safety
/// As [`Kernel::execute`]; in addition, distinct destination elements must
/// not overlap one another (true of every writeable view), so that pieces
/// never write the same byte.
pub(crate) unsafe fn execute(
    kernel: &Kernel,
    plan: &Plan,
    dst: *mut u8,
    src: *const u8,
    bytes: usize,
) {
    let pieces = pieces_for(bytes);
    if pieces <= 1 || plan.is_empty() || plan.axes.is_empty() {
        // SAFETY: forwarded contract.
        return unsafe { kernel.execute(plan, dst, src) };
    }
    let c = cut(plan, pieces);
    let ops = Operands { dst, src };
    parallel_for(c.outer * c.parts, bytes, 1, |units| {
        // Through a method: the closure then captures all of `ops` (which is
        // `Sync`), not its raw pointer fields (which are not).
        let (dst, src) = ops.get();
        for unit in units {
            let (o, part) = (unit / c.parts, unit % c.parts);
            let range = piece(plan.axes[c.axis].len, c.parts, part, c.align);
            if range.is_empty() {
                continue;
            }
            let mut sub = Plan {
                dst_start: plan.dst_start,
                src_start: plan.src_start,
                axes: plan.axes[c.fixed..].into(),
                inner: plan.inner,
            };
            // The position `o` of the fixed axes (innermost varies fastest).
            let mut rest = o;
            for a in plan.axes[..c.fixed].iter().rev() {
                let i = (rest % a.len) as isize;
                rest /= a.len;
                sub.dst_start += i * a.dst;
                sub.src_start += i * a.src;
            }
            let a = plan.axes[c.axis];
            sub.dst_start += range.start as isize * a.dst;
            sub.src_start += range.start as isize * a.src;
            sub.axes[c.axis - c.fixed].len = range.len();
            // SAFETY: `sub` is a box of `plan`'s elements (a fixed position
            // of the outer axes, a sub-range of `axis`, all others whole), so
            // the caller's contract covers it; distinct units are disjoint
            // boxes, so no two pieces write the same element.
            unsafe { kernel.execute(&sub, dst, src) };
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pieces_cover_the_range_once() {
        for (len, pieces, align) in [
            (10, 3, 1),
            (100, 7, 8),
            (5, 8, 1),
            (4096, 4, 1024),
            (3, 2, 64),
        ] {
            let mut next = 0;
            for k in 0..pieces {
                let r = piece(len, pieces, k, align);
                assert_eq!(r.start, next, "{len} {pieces} {align}");
                assert!(r.start <= r.end);
                assert!(r.start.is_multiple_of(align) || r.start == len);
                next = r.end;
            }
            assert_eq!(next, len);
        }
        assert_eq!(piece(usize::MAX / 2, 3, 2, 1).end, usize::MAX / 2);
    }

    #[test]
    fn env_values() {
        let all = all_cores();
        assert_eq!(threads_from_env_value(Some("3")), Some(3));
        assert_eq!(threads_from_env_value(Some(" 2\n")), Some(2));
        assert_eq!(threads_from_env_value(Some("0")), Some(all));
        assert_eq!(threads_from_env_value(Some("1024")), Some(1024));
        for bad in ["", "-1", "1025", "two", "1.5", "99999999999999999999999"] {
            assert_eq!(threads_from_env_value(Some(bad)), None, "{bad:?}");
        }
        assert_eq!(threads_from_env_value(None), None);
    }

    #[test]
    fn parallel_for_covers_every_index_once_and_forwards_panics() {
        // Process-wide settings: other tests' results cannot depend on them.
        set_num_threads(3).unwrap();
        let hits: Vec<AtomicUsize> = (0..1000).map(|_| AtomicUsize::new(0)).collect();
        parallel_for(hits.len(), usize::MAX, 8, |r| {
            assert!(r.start % 8 == 0 && !r.is_empty());
            for i in r {
                hits[i].fetch_add(1, Relaxed);
            }
        });
        assert!(hits.iter().all(|h| h.load(Relaxed) == 1));
        // A panic in any piece reaches the caller, after every helper let go.
        for bad in [0, 500, 999] {
            let caught = std::panic::catch_unwind(|| {
                parallel_for(1000, usize::MAX, 1, |r| {
                    if r.contains(&bad) {
                        panic!("piece with {bad}");
                    }
                })
            });
            let payload = caught.expect_err("the panic was lost");
            assert_eq!(
                payload.downcast_ref::<String>().unwrap(),
                &format!("piece with {bad}")
            );
        }
        set_num_threads(0).unwrap();
    }

    fn plan(shape: &[i64], dst: &[i64], src: &[i64]) -> Plan {
        Plan::new(shape, dst, 4, src, 4)
    }

    fn cut_of(fixed: usize, axis: usize, outer: usize, parts: usize, align: usize) -> Cut {
        Cut {
            fixed,
            axis,
            outer,
            parts,
            align,
        }
    }

    #[test]
    fn cuts() {
        // One packed run: cut at pages (1024 f32 elements).
        let p = plan(&[1 << 20], &[1], &[1]);
        assert_eq!(cut(&p, 8), cut_of(0, 0, 1, 8, 1024));
        // Rows of a strided source: the outer axis has enough rows.
        let p = plan(&[100, 50], &[50, 1], &[101, 2]);
        assert_eq!(cut(&p, 8), cut_of(0, 0, 1, 8, 1));
        // Three outer rows for 8 pieces: each row alone, its run in 3 parts.
        let p = plan(&[3, 5000], &[5000, 1], &[10001, 2]);
        assert_eq!(cut(&p, 8), cut_of(1, 1, 3, 3, 1024));
        // A transpose: the tile rows are cut between tiles.
        let p = plan(&[4096, 4096], &[4096, 1], &[1, 4096]);
        assert_eq!(p.inner, Inner::Tiled);
        assert_eq!(cut(&p, 8), cut_of(0, 0, 1, 8, 64));
        // A transpose with few tile rows: `x` is cut, `y` stays whole.
        let p = plan(&[4, 4096], &[4096, 1], &[1, 64]);
        assert_eq!(p.inner, Inner::Tiled);
        assert_eq!(cut(&p, 8), cut_of(0, 1, 1, 8, 64));
    }
}
