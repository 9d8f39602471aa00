//! Thread stress through the C ABI (RULES.md §1, §4, §7): 8 threads each make
//! 100 000 mixed view / export / import / free / read operations on SHARED
//! tensors — the same handles used concurrently, and storages whose last
//! reference is dropped by whichever thread happens to be last (wrapped
//! buffers and a memory-mapped .npy file among them). Exports are
//! created on one thread and deleted (or imported) on another, through a
//! shared queue. Every element read is checked: the roots hold value `k` at
//! element offset `k`, so any view's element 0 must read its own offset
//! from the root's base.
//!
//! Threads also save views to their own `.npy` files (and read them back)
//! and hand some of their handles to short-lived threads that free them and
//! exit at once (so last references, release callbacks and the per-thread
//! spare blocks die on threads that are ending; issue 15).
//!
//! Afterwards `dlv_live_storage_count()` is back at its start and every
//! `from_buffer` release callback ran exactly once (each buffer counts its
//! own calls, and frees its memory on the first).

use dlpark::ffi::{
    DLDataType, DLDataTypeCode, DLDevice, DLDeviceType, DLManagedTensor, DLManagedTensorVersioned,
};
use dlview::dlv_status::*;
use dlview::*;
use std::ffi::{CStr, c_void};
use std::ptr::null_mut;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

const THREADS: usize = 8;
const OPS: usize = 100_000;
const SHAPE: [i64; 3] = [4, 5, 6];
const SIZE: usize = 120;
const F64: DLDataType = DLDataType {
    code: DLDataTypeCode(2),
    bits: 64,
    lanes: 1,
};
const CPU: DLDevice = DLDevice {
    device_type: DLDeviceType(1),
    device_id: 0,
};
/// Wrapped buffers: some shared by handle, some only through per-thread
/// handles (their last reference dies on a worker thread).
const BUFFERS: usize = 6;

static RELEASED: [AtomicUsize; BUFFERS] = [const { AtomicUsize::new(0) }; BUFFERS];
static BUFFER_MEM: Mutex<Vec<usize>> = Mutex::new(Vec::new());

unsafe extern "C" fn release(ctx: *mut c_void) {
    let i = ctx as usize;
    if RELEASED[i].fetch_add(1, Ordering::SeqCst) == 0 {
        let addr = BUFFER_MEM.lock().unwrap()[i];
        // SAFETY: the Box<[f64]> leaked for buffer `i`; freed on the first
        // call only (a second call is counted and reported, not a double free).
        drop(unsafe { Box::from_raw(std::ptr::slice_from_raw_parts_mut(addr as *mut f64, SIZE)) });
    }
}

fn last_error() -> String {
    // SAFETY: never NULL, NUL-terminated.
    unsafe { CStr::from_ptr(dlv_last_error()) }
        .to_string_lossy()
        .into_owned()
}

fn ok(st: dlv_status, what: &str) {
    assert_eq!(st, DLV_OK, "{what}: {}", last_error());
}

/// A handle (as an address: handles may be used from any thread by the C
/// API's contract) plus the base address of the root whose values it views.
#[derive(Clone, Copy)]
struct Handle {
    t: usize,
    base: usize,
}

enum Export {
    Versioned(usize),
    Legacy(usize),
}

/// Exports waiting for another thread: (exporting thread, export, root base).
static QUEUE: Mutex<Vec<(usize, Export, usize)>> = Mutex::new(Vec::new());

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn signed(&mut self, span: i64) -> i64 {
        (self.next() % (2 * span as u64 + 1)) as i64 - span
    }
}

/// Element 0 of `h` must hold its own element offset from the root's base.
unsafe fn check_element0(h: Handle) {
    // SAFETY: a live handle; an index of ndim zeros.
    unsafe {
        let t = h.t as *const dlv_tensor;
        if dlv_tensor_size(t) == 0 {
            return;
        }
        let zeros = [0i64; 64];
        let mut v = f64::NAN;
        ok(dlv_tensor_get_f64(t, zeros.as_ptr(), &mut v), "get_f64");
        let offset = (dlv_tensor_data(t) as usize - h.base) / 8;
        assert_eq!(
            v, offset as f64,
            "element 0 of a view does not hold its offset"
        );
    }
}

/// One random view of `h` (a new handle), or `None` if the random
/// arguments were refused (the refusal must be a clean status).
unsafe fn random_view(rng: &mut Rng, h: Handle) -> Option<Handle> {
    // SAFETY: `h.t` is a live handle, arrays hold the stated lengths.
    unsafe {
        let t = h.t as *const dlv_tensor;
        let ndim = dlv_tensor_ndim(t);
        let mut out = null_mut();
        let axis = rng.signed(i64::from(ndim.max(1))) as i32;
        let st = match rng.below(10) {
            0 => dlv_tensor_slice(
                t,
                axis,
                rng.signed(6),
                rng.signed(6),
                [1, 2, -1, -2][rng.below(4)],
                &mut out,
            ),
            1 => dlv_tensor_select(t, axis, rng.signed(5), &mut out),
            2 => dlv_tensor_transpose(t, &mut out),
            3 => dlv_tensor_flip(t, axis, &mut out),
            4 => dlv_tensor_expand_dims(t, axis, &mut out),
            5 => dlv_tensor_squeeze(t, DLV_ALL_AXES, &mut out),
            6 => {
                let mut shape = vec![3i64];
                let n = ndim as usize;
                if n > 0 {
                    shape.extend_from_slice(std::slice::from_raw_parts(dlv_tensor_shape(t), n));
                }
                dlv_tensor_broadcast_to(t, shape.len() as i32, shape.as_ptr(), &mut out)
            }
            7 => dlv_tensor_as_strided(
                t,
                2,
                [2i64, 3].as_ptr(),
                [rng.signed(3), rng.signed(3)].as_ptr(),
                &mut out,
            ),
            8 => dlv_tensor_sliding_window(t, axis, rng.signed(3).abs(), &mut out),
            _ => dlv_tensor_retain(t, &mut out),
        };
        match st {
            DLV_OK => Some(Handle {
                t: out as usize,
                base: h.base,
            }),
            DLV_ERR_INVALID_ARGUMENT | DLV_ERR_INDEX => {
                assert!(out.is_null());
                None
            }
            other => panic!("view failed with {other:?}: {}", last_error()),
        }
    }
}

fn worker(id: usize, shared: Vec<Handle>, own: Vec<Handle>) {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15 ^ (id as u64 + 1).wrapping_mul(0x2545_f491_4f6c_dd1d));
    // Handles only this thread uses (and frees); the per-thread roots first.
    let mut mine: Vec<Handle> = own;
    // SAFETY (whole loop): every handle used is live — shared ones until the
    // threads are joined, own ones until this thread frees them — and every
    // managed tensor is consumed exactly once.
    unsafe {
        for _ in 0..OPS {
            let pick = |rng: &mut Rng, mine: &Vec<Handle>| {
                if mine.is_empty() || rng.below(2) == 0 {
                    shared[rng.below(shared.len())]
                } else {
                    mine[rng.below(mine.len())]
                }
            };
            match rng.below(19) {
                // a view of a shared or own tensor
                0..=5 => {
                    let h = pick(&mut rng, &mine);
                    if let Some(v) = random_view(&mut rng, h) {
                        if rng.below(4) == 0 {
                            check_element0(v);
                        }
                        mine.push(v);
                    }
                }
                // free one of ours
                6 | 7 => {
                    if !mine.is_empty() {
                        let h = mine.swap_remove(rng.below(mine.len()));
                        dlv_tensor_free(h.t as *mut dlv_tensor);
                    }
                }
                // export for another thread
                8 | 9 => {
                    let h = pick(&mut rng, &mine);
                    let opts = dlv_export_options {
                        copy: DLV_COPY_NEVER,
                        allow_negative_strides: true,
                    };
                    let t = h.t as *const dlv_tensor;
                    let export = if rng.below(3) == 0 {
                        let mut mt: *mut DLManagedTensor = null_mut();
                        match dlv_tensor_to_dlpack_legacy(t, &opts, &mut mt) {
                            DLV_OK => Some(Export::Legacy(mt as usize)),
                            // read-only views cannot leave through the legacy ABI uncopied
                            DLV_ERR_COPY_REQUIRED => None,
                            other => panic!("legacy export: {other:?}: {}", last_error()),
                        }
                    } else {
                        let mut mt: *mut DLManagedTensorVersioned = null_mut();
                        ok(dlv_tensor_to_dlpack(t, &opts, &mut mt), "export");
                        Some(Export::Versioned(mt as usize))
                    };
                    if let Some(e) = export {
                        QUEUE.lock().unwrap().push((id, e, h.base));
                    }
                }
                // take another thread's export: delete it, or import it
                10..=12 => {
                    let taken = {
                        let mut q = QUEUE.lock().unwrap();
                        let at = q.iter().position(|(from, _, _)| *from != id);
                        at.map(|i| q.swap_remove(i))
                    };
                    if let Some((_, e, base)) = taken {
                        let import = rng.below(2) == 0;
                        match (e, import) {
                            (Export::Versioned(mt), false) => {
                                let mt = mt as *mut DLManagedTensorVersioned;
                                ((*mt).deleter.unwrap())(mt);
                            }
                            (Export::Legacy(mt), false) => {
                                let mt = mt as *mut DLManagedTensor;
                                ((*mt).deleter.unwrap())(mt);
                            }
                            (Export::Versioned(mt), true) => {
                                let mut out = null_mut();
                                ok(
                                    dlv_tensor_from_dlpack(
                                        mt as *mut _,
                                        std::ptr::null(),
                                        &mut out,
                                    ),
                                    "import",
                                );
                                let h = Handle {
                                    t: out as usize,
                                    base,
                                };
                                check_element0(h);
                                mine.push(h);
                            }
                            (Export::Legacy(mt), true) => {
                                let mut out = null_mut();
                                ok(
                                    dlv_tensor_from_dlpack_legacy(
                                        mt as *mut _,
                                        std::ptr::null(),
                                        &mut out,
                                    ),
                                    "legacy import",
                                );
                                let h = Handle {
                                    t: out as usize,
                                    base,
                                };
                                check_element0(h);
                                mine.push(h);
                            }
                        }
                    }
                }
                // read an element of a shared root
                13 => check_element0(pick(&mut rng, &mine)),
                // a copy, written and read back (private memory)
                14 => {
                    let h = pick(&mut rng, &mine);
                    let mut c = null_mut();
                    ok(
                        dlv_tensor_copy(h.t as *const dlv_tensor, DLV_ORDER_C, &mut c),
                        "copy",
                    );
                    if dlv_tensor_size(c) > 0 {
                        let idx = [0i64; 64];
                        ok(
                            dlv_tensor_set_f64(c, idx.as_ptr(), -1.0),
                            "set_f64 on a copy",
                        );
                        let mut v = 0.0;
                        ok(
                            dlv_tensor_get_f64(c, idx.as_ptr(), &mut v),
                            "get_f64 on a copy",
                        );
                        assert_eq!(v, -1.0);
                    }
                    dlv_tensor_free(c);
                }
                // save a view to this thread's own file and read it back
                16 if rng.below(2) == 0 => {
                    let h = pick(&mut rng, &mine);
                    let t = h.t as *const dlv_tensor;
                    ok(dlv_npy_save(t, save_path(id).as_ptr()), "npy_save");
                    let mut back = null_mut();
                    ok(
                        dlv_npy_load(save_path(id).as_ptr(), DLV_MMAP_NONE, &mut back),
                        "npy_load",
                    );
                    assert_eq!(dlv_tensor_size(back), dlv_tensor_size(t));
                    if dlv_tensor_size(t) > 0 {
                        let (zeros, mut a, mut b) = ([0i64; 64], f64::NAN, f64::NAN);
                        ok(dlv_tensor_get_f64(t, zeros.as_ptr(), &mut a), "get_f64");
                        ok(
                            dlv_tensor_get_f64(back, zeros.as_ptr(), &mut b),
                            "get_f64 of the file",
                        );
                        assert_eq!(a, b, "the saved file holds the view's elements");
                    }
                    dlv_tensor_free(back);
                }
                // hand a few handles (maybe last references) to a thread
                // that frees them and exits right away
                16 => {
                    let n = rng.below(4).min(mine.len());
                    let batch: Vec<usize> = (0..n)
                        .map(|_| mine.swap_remove(rng.below(mine.len())).t)
                        .collect();
                    std::thread::spawn(move || {
                        for t in batch {
                            // Inside the worker's `unsafe` block (it reaches
                            // into closures): handed over by the worker,
                            // freed once.
                            dlv_tensor_free(t as *mut dlv_tensor);
                        }
                    })
                    .join()
                    .expect("a freeing thread failed");
                }
                // advanced indexing: gather rows along axis 0 (a copy) and
                // check the first against the source
                17 => {
                    let h = pick(&mut rng, &mine);
                    let t = h.t as *const dlv_tensor;
                    if dlv_tensor_ndim(t) > 0 && *dlv_tensor_shape(t) > 0 {
                        let rows = *dlv_tensor_shape(t);
                        let picks: Vec<i64> =
                            (0..3).map(|_| rng.signed(rows).rem_euclid(rows)).collect();
                        let idx = index_tensor(&picks);
                        let key = [tensor_key(idx)];
                        let mut out = null_mut();
                        ok(dlv_tensor_index(t, key.as_ptr(), 1, &mut out), "index");
                        assert_eq!(*dlv_tensor_shape(out), 3);
                        if dlv_tensor_size(out) > 0 {
                            let (mut got, mut want) = (f64::NAN, f64::NAN);
                            let mut at = [0i64; 64];
                            ok(
                                dlv_tensor_get_f64(out, at.as_ptr(), &mut got),
                                "get_f64 of the gather",
                            );
                            at[0] = picks[0];
                            ok(
                                dlv_tensor_get_f64(t, at.as_ptr(), &mut want),
                                "get_f64 of the source",
                            );
                            assert_eq!(
                                got.to_bits(),
                                want.to_bits(),
                                "gathered row 0 is source row {}",
                                picks[0]
                            );
                        }
                        dlv_tensor_free(out);
                        dlv_tensor_free(idx);
                    }
                }
                // index assignment into a private copy (repeated rows: the
                // last write wins), read back
                18 => {
                    let h = pick(&mut rng, &mine);
                    let mut c = null_mut();
                    ok(
                        dlv_tensor_copy(h.t as *const dlv_tensor, DLV_ORDER_C, &mut c),
                        "copy",
                    );
                    if dlv_tensor_ndim(c) > 0 && dlv_tensor_size(c) > 0 {
                        let rows = *dlv_tensor_shape(c);
                        let row = rng.below(rows as usize) as i64;
                        let idx = index_tensor(&[row, row]);
                        let key = [tensor_key(idx)];
                        let mut value = null_mut();
                        let none = [0i64; 1];
                        ok(
                            dlv_tensor_zeros(F64, 0, none.as_ptr(), DLV_ORDER_C, &mut value),
                            "zeros",
                        );
                        ok(
                            dlv_tensor_set_f64(value, none.as_ptr(), -3.0),
                            "set_f64 of the value",
                        );
                        ok(dlv_tensor_index_put(c, key.as_ptr(), 1, value), "index_put");
                        let mut at = [0i64; 64];
                        at[0] = row;
                        let mut got = f64::NAN;
                        ok(
                            dlv_tensor_get_f64(c, at.as_ptr(), &mut got),
                            "get_f64 after index_put",
                        );
                        assert_eq!(got, -3.0);
                        dlv_tensor_free(value);
                        dlv_tensor_free(idx);
                    }
                    dlv_tensor_free(c);
                }
                // shares_memory between two views of the same storage
                _ => {
                    let h = pick(&mut rng, &mine);
                    let _ = dlv_shares_memory(
                        h.t as *const dlv_tensor,
                        shared[0].t as *const dlv_tensor,
                    );
                }
            }
            // Keep the working set small.
            while mine.len() > 24 {
                let h = mine.swap_remove(rng.below(mine.len()));
                dlv_tensor_free(h.t as *mut dlv_tensor);
            }
        }
        for h in mine {
            dlv_tensor_free(h.t as *mut dlv_tensor);
        }
    }
}

/// A new 1-D int64 tensor holding `values` (an index tensor for a key).
unsafe fn index_tensor(values: &[i64]) -> *mut dlv_tensor {
    let i64_dtype = DLDataType {
        code: DLDataTypeCode(0),
        bits: 64,
        lanes: 1,
    };
    let mut t = null_mut();
    let n = [values.len() as i64];
    // SAFETY: `n` holds one dimension; the tensor is new and ours.
    unsafe {
        ok(
            dlv_tensor_empty(i64_dtype, 1, n.as_ptr(), DLV_ORDER_C, &mut t),
            "index tensor",
        );
        for (i, &v) in values.iter().enumerate() {
            ok(
                dlv_tensor_set_f64(t, [i as i64].as_ptr(), v as f64),
                "index value",
            );
        }
    }
    t
}

/// The key item `t` (an integer index tensor).
fn tensor_key(t: *const dlv_tensor) -> dlv_index {
    dlv_index {
        kind: DLV_INDEX_TENSOR,
        i: 0,
        start: 0,
        stop: 0,
        step: 0,
        tensor: t,
    }
}

/// The file thread `id` saves to (distinct per thread).
fn save_path(id: usize) -> std::ffi::CString {
    let p = std::env::temp_dir().join(format!(
        "dlview-thread-stress-{}-{id}.npy",
        std::process::id()
    ));
    std::ffi::CString::new(p.to_str().unwrap()).unwrap()
}

/// A new root holding value `k` at element offset `k`: `dlv_tensor_zeros`
/// filled in, or a wrapped buffer (`from_buffer`) with a counted release.
unsafe fn make_root(i: usize) -> Handle {
    // SAFETY: valid arguments; the wrapped memory lives until released.
    unsafe {
        let mut t = null_mut();
        if i < BUFFERS {
            let mem: Box<[f64]> = (0..SIZE).map(|k| k as f64).collect();
            let p = Box::into_raw(mem) as *mut f64;
            BUFFER_MEM.lock().unwrap()[i] = p as usize;
            ok(
                dlv_tensor_from_buffer(
                    p.cast(),
                    F64,
                    CPU,
                    3,
                    SHAPE.as_ptr(),
                    std::ptr::null(),
                    i % 3 != 2,
                    Some(release),
                    i as *mut c_void,
                    &mut t,
                ),
                "from_buffer",
            );
        } else {
            ok(
                dlv_tensor_zeros(F64, 3, SHAPE.as_ptr(), DLV_ORDER_C, &mut t),
                "zeros",
            );
            let mut p = null_mut();
            ok(dlv_tensor_data_mut(t, &mut p), "data_mut");
            for k in 0..SIZE {
                *(p as *mut f64).add(k) = k as f64;
            }
        }
        Handle {
            t: t as usize,
            base: dlv_tensor_data(t) as usize,
        }
    }
}

#[test]
fn eight_threads_share_tensors_views_and_exports() {
    let start = dlv_live_storage_count();
    *BUFFER_MEM.lock().unwrap() = vec![0; BUFFERS];
    let began = std::time::Instant::now();
    // SAFETY: handles are used only while live (see each comment).
    unsafe {
        // Roots 0..3 and 6..8 are shared by handle (used by all threads at
        // once, freed after the join); roots 3..6 are only reached through
        // per-thread handles, and the main thread lets go of them before the
        // workers finish, so their last reference dies on a worker.
        let mut roots: Vec<Handle> = (0..8).map(|i| make_root(i)).collect();
        // Root 8: the same values memory-mapped from a .npy file (read-only,
        // private copy-on-write pages); it is unmapped on a worker thread.
        let npy_path =
            std::env::temp_dir().join(format!("dlview-thread-stress-{}.npy", std::process::id()));
        let cpath = std::ffi::CString::new(npy_path.to_str().unwrap()).unwrap();
        ok(
            dlv_npy_save(roots[6].t as *const dlv_tensor, cpath.as_ptr()),
            "npy_save",
        );
        let mut mapped = null_mut();
        ok(
            dlv_npy_load(cpath.as_ptr(), DLV_MMAP_READ, &mut mapped),
            "npy_load mmap",
        );
        roots.push(Handle {
            t: mapped as usize,
            base: dlv_tensor_data(mapped) as usize,
        });
        let shared: Vec<Handle> = [0, 1, 2, 6, 7].iter().map(|&i| roots[i]).collect();
        let private = [3, 4, 5, 8];
        let mut threads = Vec::new();
        for id in 0..THREADS {
            let own: Vec<Handle> = private
                .iter()
                .map(|&i| {
                    let mut out = null_mut();
                    ok(
                        dlv_tensor_retain(roots[i].t as *const dlv_tensor, &mut out),
                        "retain",
                    );
                    Handle {
                        t: out as usize,
                        base: roots[i].base,
                    }
                })
                .collect();
            let shared = shared.clone();
            threads.push(std::thread::spawn(move || worker(id, shared, own)));
        }
        for &i in &private {
            dlv_tensor_free(roots[i].t as *mut dlv_tensor);
        }
        for t in threads {
            t.join().expect("a worker failed");
        }
        // Exports nobody took: delete them here.
        for (_, e, _) in QUEUE.lock().unwrap().drain(..) {
            match e {
                Export::Versioned(mt) => {
                    let mt = mt as *mut DLManagedTensorVersioned;
                    ((*mt).deleter.unwrap())(mt);
                }
                Export::Legacy(mt) => {
                    let mt = mt as *mut DLManagedTensor;
                    ((*mt).deleter.unwrap())(mt);
                }
            }
        }
        for h in shared {
            dlv_tensor_free(h.t as *mut dlv_tensor);
        }
        let _ = std::fs::remove_file(&npy_path);
        for id in 0..THREADS {
            let _ = std::fs::remove_file(save_path(id).to_str().unwrap());
        }
    }
    let counts: Vec<usize> = RELEASED.iter().map(|c| c.load(Ordering::SeqCst)).collect();
    assert_eq!(
        counts,
        vec![1; BUFFERS],
        "each wrapped buffer is released exactly once"
    );
    assert_eq!(dlv_live_storage_count(), start, "every storage is gone");
    eprintln!(
        "{} operations on {THREADS} threads in {:?}",
        THREADS * OPS,
        began.elapsed()
    );
}
