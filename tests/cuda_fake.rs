//! The CUDA layer without a GPU. Builds `tests/fakecuda/fakecuda.c`, a
//! host-memory stand-in for the CUDA driver, as a shared library, and runs
//! the C programs of `tests/fakecuda/` (as C11 under valgrind when it is on
//! PATH, and as C++17) with `DLVIEW_CUDA_DRIVER` pointing at it or at
//! nothing: every CUDA code path against the fake, then each way of having
//! no usable driver (a missing library, `cuInit` failing, no device, and no
//! override on a machine without `libcuda.so.1`).
//!
//! A process loads the driver once, so each configuration is its own process.

mod common;

use common::{
    Lang, build_program, root, run_ok, run_program_with, scratch_dir, valgrind_available,
};
use std::ffi::OsStr;
use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

/// The fake driver, built once per test binary.
fn fake_driver() -> PathBuf {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT
        .get_or_init(|| {
            let out = scratch_dir("fakecuda").join("libfakecuda.so");
            let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());
            let mut cmd = Command::new(cc);
            cmd.args([
                "-shared", "-fPIC", "-std=c11", "-Wall", "-Wextra", "-Werror", "-g", "-O1",
            ])
            .arg(root().join("tests/fakecuda/fakecuda.c"))
            .arg("-o")
            .arg(&out)
            .arg("-pthread");
            run_ok(&mut cmd, "building the fake CUDA driver");
            out
        })
        .clone()
}

/// Builds `tests/fakecuda/<stem>.c` as C11 and C++17 and runs each with
/// `args` and `env` (the C build under valgrind when available). Tests run
/// in parallel, so each gets its own executables (named after `config`):
/// rebuilding a program another test is running fails with ETXTBSY.
fn run_c(stem: &str, config: &str, args: &[&str], env: &[(&str, Option<&OsStr>)]) {
    let dir = scratch_dir("fakecuda");
    let source = root().join(format!("tests/fakecuda/{stem}.c"));
    let includes = [root().join("tests/c")];
    let valgrind = valgrind_available();
    for (i, lang) in [Lang::C11, Lang::Cxx17].into_iter().enumerate() {
        let exe = dir.join(format!("{stem}-{config}-{}", lang.suffix()));
        build_program(lang, std::slice::from_ref(&source), &includes, &exe);
        let out = run_program_with(&exe, valgrind && i == 0, args, env);
        eprint!("{}", String::from_utf8_lossy(&out.stderr));
    }
}

#[test]
fn fake_driver_exercises_every_cuda_path() {
    let fake = fake_driver();
    run_c(
        "cuda_fake",
        "fake-driver",
        &[],
        &[
            ("DLVIEW_CUDA_DRIVER", Some(fake.as_os_str())),
            ("FAKECUDA_DEVICES", None),
            ("FAKECUDA_INIT_ERROR", None),
        ],
    );
}

#[test]
fn missing_driver_library_is_device_unavailable() {
    run_c(
        "cuda_unavailable",
        "missing-library",
        &["cannot load the CUDA driver /nonexistent/libcuda.so.1"],
        &[(
            "DLVIEW_CUDA_DRIVER",
            Some(OsStr::new("/nonexistent/libcuda.so.1")),
        )],
    );
}

#[test]
fn cuinit_failure_is_device_unavailable() {
    let fake = fake_driver();
    run_c(
        "cuda_unavailable",
        "cuinit-fails",
        &["cuInit failed with CUDA_ERROR_NO_DEVICE (no CUDA-capable device is detected)"],
        &[
            ("DLVIEW_CUDA_DRIVER", Some(fake.as_os_str())),
            ("FAKECUDA_INIT_ERROR", Some(OsStr::new("100"))),
        ],
    );
}

#[test]
fn no_device_is_device_unavailable() {
    let fake = fake_driver();
    run_c(
        "cuda_unavailable",
        "no-device",
        &["reports no CUDA device", "zero-devices"],
        &[
            ("DLVIEW_CUDA_DRIVER", Some(fake.as_os_str())),
            ("FAKECUDA_DEVICES", Some(OsStr::new("0"))),
            ("FAKECUDA_INIT_ERROR", None),
        ],
    );
}

/// The real default: no override. Only meaningful where `libcuda.so.1`
/// cannot be loaded (CI machines without a GPU driver); elsewhere the GPU
/// tests (`tests/python/test_cuda.py`) cover the real driver.
#[test]
fn no_override_without_libcuda_is_device_unavailable() {
    // SAFETY: a NUL-terminated name; the handle is closed right away.
    let handle =
        unsafe { libc::dlopen(c"libcuda.so.1".as_ptr(), libc::RTLD_NOW | libc::RTLD_LOCAL) };
    if !handle.is_null() {
        // SAFETY: a handle from dlopen above.
        unsafe { libc::dlclose(handle) };
        eprintln!("note: libcuda.so.1 is installed here; the no-driver case is not checked");
        return;
    }
    run_c(
        "cuda_unavailable",
        "no-override",
        &["cannot load the CUDA driver libcuda.so.1"],
        &[("DLVIEW_CUDA_DRIVER", None)],
    );
}
