//! Calls made under resource limits (issue 15, RULES.md §7 and §8): no
//! call aborts on a failed allocation, a huge allocation fails fast, and a
//! save that the file system stops midway leaves nothing behind.
//!
//! Each test re-runs itself in a child process (this test binary, filtered
//! to that one test, with `DLVIEW_LIMITS_CHILD` set), which sets the limit
//! with `setrlimit` and does the work; the parent checks how the child
//! ended. A limit set in the parent would bind every test thread of it.

use dlview::*;
use dlview_core::npy;
use dlview_core::{DType, Error, Order, Tensor};
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

const CHILD: &str = "DLVIEW_LIMITS_CHILD";

fn in_child() -> bool {
    std::env::var_os(CHILD).is_some()
}

/// Runs test `name` in a child process and returns its output, failing if
/// the child did not exit successfully (an abort shows as SIGABRT).
fn run_child(name: &str) -> String {
    let out = Command::new(std::env::current_exe().unwrap())
        .args([name, "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD, "1")
        .output()
        .unwrap();
    let text = format!(
        "--- stdout ---\n{}--- stderr ---\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success(),
        "child {name} failed ({}):\n{text}",
        out.status
    );
    assert!(
        text.contains("CHILD DONE"),
        "child {name} did not run its body:\n{text}"
    );
    text
}

/// The process's current address-space size (VmSize), in bytes.
fn vm_size() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmSize:")).unwrap();
    let kb: u64 = line.split_whitespace().nth(1).unwrap().parse().unwrap();
    kb * 1024
}

fn set_limit(resource: libc::__rlimit_resource_t, bytes: u64) {
    let lim = libc::rlimit {
        rlim_cur: bytes,
        rlim_max: libc::RLIM_INFINITY,
    };
    // SAFETY: a plain setrlimit on this (child) process.
    assert_eq!(unsafe { libc::setrlimit(resource, &lim) }, 0);
}

fn handle(t: Tensor) -> *mut dlv_tensor {
    let mut out = std::ptr::null_mut();
    // Through the C ABI, so the boundary's behaviour is what is tested.
    let mt = dlview_core::dlpack::export::to_versioned(&t, &Default::default()).unwrap();
    // SAFETY: a fresh export, ownership passed to the import.
    let st = unsafe { dlv_tensor_from_dlpack(mt.as_ptr(), std::ptr::null(), &mut out) };
    assert_eq!(st, dlv_status::DLV_OK);
    out
}

/// Shape (1024, 1021) with strides (1021, 1024) (coprime): no two indices
/// meet, but only enumerating the 2^20 - 3072 offsets (8 MiB) can tell.
///
/// # Safety
/// `raw` is a live handle of at least 2 089 000 float64 elements.
unsafe fn coprime_view(raw: *mut dlv_tensor) -> *mut dlv_tensor {
    let mut v = std::ptr::null_mut();
    // SAFETY: valid arrays and out-pointer.
    let st = unsafe {
        dlv_tensor_as_strided(
            raw,
            2,
            [1024i64, 1021].as_ptr(),
            [1021i64, 1024].as_ptr(),
            &mut v,
        )
    };
    assert_eq!(st, dlv_status::DLV_OK);
    v
}

/// Item 3: `dlv_shares_memory` needs up to 16 MiB of work space for an
/// exact answer, and views with unknown overlap need 8 MiB to decide; under
/// `ulimit -v` both used to abort the process ("memory allocation of ...
/// failed"). Now they answer conservatively: "may share", "may overlap".
#[test]
fn work_space_allocation_failure_answers_conservatively() {
    // 2048 x 1024 float64 (16 MiB): nearly all its even columns, and one
    // odd element, interleave without sharing a byte, which only the exact
    // check (16 MiB of work space for 2^20 - 511 elements) can tell.
    let base = Tensor::zeros(DType::F64, &[2048, 1024], Order::C).unwrap();
    let even = handle(
        base.slice(0, Some(0), Some(2047), 1)
            .unwrap()
            .slice(1, Some(0), None, 2)
            .unwrap(),
    );
    let odd = handle(
        base.slice(0, Some(0), Some(1), 1)
            .unwrap()
            .slice(1, Some(1), Some(2), 1)
            .unwrap(),
    );
    let raw = handle(base.clone());
    if !in_child() {
        // SAFETY: live handles.
        unsafe {
            assert!(
                !dlv_shares_memory(even, odd),
                "exact answer without a limit"
            );
            let v = coprime_view(raw);
            assert_ne!(
                dlv_tensor_flags(v) & DLV_FLAG_WRITEABLE,
                0,
                "no overlap: writeable"
            );
            for t in [even, odd, raw, v] {
                dlv_tensor_free(t);
            }
        }
        // (In a fresh process: here the allocator now keeps 8 MiB cached.)
        run_child("work_space_allocation_failure_answers_conservatively");
        return;
    }
    // No new address space at all, and none of the memory malloc keeps
    // free either: it is taken in 64 KiB blocks until none is left (the
    // free blocks of a heap stay mapped, so a limit alone leaves them).
    set_limit(libc::RLIMIT_AS, vm_size());
    let mut hoard: Vec<Vec<u8>> = Vec::new();
    if hoard.try_reserve_exact(1 << 16).is_err() {
        panic!("no room for the hoard's index");
    }
    loop {
        let mut block = Vec::new();
        if block.try_reserve_exact(64 << 10).is_err() || hoard.len() == hoard.capacity() {
            break;
        }
        hoard.push(block);
    }
    // SAFETY: live handles and valid arrays.
    unsafe {
        assert!(
            dlv_shares_memory(even, odd),
            "conservative answer under the limit"
        );
        // Under the limit the enumeration cannot run: "may overlap" means
        // read-only.
        let v = coprime_view(raw);
        assert_eq!(
            dlv_tensor_flags(v) & DLV_FLAG_WRITEABLE,
            0,
            "may overlap: read-only"
        );
        for t in [even, odd, raw, v] {
            dlv_tensor_free(t);
        }
    }
    drop(hoard);
    println!("CHILD DONE");
}

/// Item 10: a tensor whose memory cannot be had fails at once with
/// OUT_OF_MEMORY (`calloc` fails; nothing is filled first), also under an
/// address-space limit far below it.
#[test]
fn huge_allocations_fail_fast_with_out_of_memory() {
    if !in_child() {
        run_child("huge_allocations_fail_fast_with_out_of_memory");
        return;
    }
    set_limit(libc::RLIMIT_AS, vm_size() + (256 << 20));
    let start = Instant::now();
    for (dtype, shape) in [
        (DType::I64, vec![1i64 << 40]),
        (DType::F32, vec![1 << 20, 1 << 20]),
    ] {
        for zeroed in [false, true] {
            let r = if zeroed {
                Tensor::zeros(dtype, &shape, Order::C)
            } else {
                Tensor::empty(dtype, &shape, Order::C)
            };
            match r {
                Err(Error::OutOfMemory(m)) => assert!(m.contains("bytes"), "{m}"),
                other => panic!("expected OUT_OF_MEMORY, got {other:?}"),
            }
        }
    }
    let mut out = std::ptr::null_mut();
    let dt = dlview_core::DType::I64.to_dl();
    // SAFETY: valid shape array and out-pointer.
    let st = unsafe { dlv_tensor_zeros(dt, 1, [1i64 << 40].as_ptr(), DLV_ORDER_C, &mut out) };
    assert_eq!(st, dlv_status::DLV_ERR_OUT_OF_MEMORY);
    assert!(out.is_null());
    assert!(
        start.elapsed() < Duration::from_secs(5),
        "took {:?}",
        start.elapsed()
    );
    println!("CHILD DONE");
}

/// Item 6: a save the file system stops midway (here RLIMIT_FSIZE, as a
/// full disk would) fails with IO, leaves the old file as it was, and
/// leaves no temporary file.
#[test]
fn a_save_stopped_midway_leaves_the_old_file_and_no_temporary() {
    let dir = std::env::temp_dir().join(format!("dlview-limits-{}", std::process::id()));
    if !in_child() {
        let _ = std::fs::remove_dir_all(&dir);
        run_child("a_save_stopped_midway_leaves_the_old_file_and_no_temporary");
        return;
    }
    std::fs::create_dir_all(&dir).unwrap();
    let target: PathBuf = dir.join("a.npy");
    std::fs::write(&target, b"old contents").unwrap();
    // SAFETY: ignore SIGXFSZ so the write fails with EFBIG instead.
    unsafe { libc::signal(libc::SIGXFSZ, libc::SIG_IGN) };
    set_limit(libc::RLIMIT_FSIZE, 64 << 10);
    let t = Tensor::zeros(DType::F64, &[1 << 17], Order::C).unwrap(); // 1 MiB
    match npy::save(&t, &target) {
        Err(Error::Io(m)) => assert!(m.contains("File too large"), "{m}"),
        other => panic!("expected IO, got {other:?}"),
    }
    assert_eq!(std::fs::read(&target).unwrap(), b"old contents");
    let names: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, ["a.npy"], "no temporary left");
    std::fs::remove_dir_all(&dir).unwrap();
    println!("CHILD DONE");
}
