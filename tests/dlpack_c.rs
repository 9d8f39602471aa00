//! Builds and runs the DLPack C tests (`tests/c/dlpack*.c`, GitHub issue #3)
//! against the shared library: each file as C11 and as C++17, with
//! `-Wall -Wextra -Werror`, and under valgrind when it is on PATH (set
//! `DLVIEW_NO_VALGRIND=1` to run them bare).
//!
//! Each C file is a self-contained program that prints what failed and
//! exits non-zero; this runner only builds, runs and reports.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The directory of the cdylib to link against. `cargo test` rebuilds the
/// library (every crate type) into `target/<profile>/deps`, next to this
/// test executable, but only `cargo build` copies it up to
/// `target/<profile>`, where it may be stale: prefer the one in `deps`.
fn library_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("current_exe");
    let deps = exe
        .parent()
        .expect("test executable is in target/<profile>/deps");
    let candidates = [Some(deps), deps.parent()];
    candidates
        .into_iter()
        .flatten()
        .find(|dir| dir.join("libdlview.so").exists())
        .unwrap_or_else(|| {
            panic!(
                "no libdlview.so in {} or its parent: run `cargo build` first",
                deps.display()
            )
        })
        .to_path_buf()
}

fn sources() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/c");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("tests/c")
        .map(|e| e.expect("dir entry").path())
        .filter(|p| {
            let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
            name.starts_with("dlpack") && name.ends_with(".c")
        })
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no tests/c/dlpack*.c found");
    files
}

fn have_valgrind() -> bool {
    std::env::var_os("DLVIEW_NO_VALGRIND").is_none()
        && Command::new("valgrind")
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
}

#[derive(Clone, Copy)]
enum Lang {
    C,
    Cxx,
}

/// Compiles `src` and returns the executable, or the compiler's complaint.
fn compile(src: &Path, lang: Lang, libdir: &Path) -> Result<PathBuf, String> {
    let stem = src.file_stem().unwrap().to_str().unwrap();
    let out_dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("dlpack_c");
    std::fs::create_dir_all(&out_dir).unwrap();
    let (compiler, flags, suffix): (&str, &[&str], &str) = match lang {
        Lang::C => ("gcc", &["-std=c11"], "c"),
        Lang::Cxx => ("g++", &["-x", "c++", "-std=c++17"], "cpp"),
    };
    let exe = out_dir.join(format!("{stem}_{suffix}"));
    let include = Path::new(env!("CARGO_MANIFEST_DIR")).join("include");
    let output = Command::new(compiler)
        .args(flags)
        .args(["-Wall", "-Wextra", "-Werror", "-pthread", "-g", "-O1"])
        .arg("-I")
        .arg(&include)
        .arg(src)
        // `-x c++` would also apply to what follows; the library is not a source.
        .args(["-x", "none"])
        .arg("-o")
        .arg(&exe)
        .arg(format!("-L{}", libdir.display()))
        .arg(format!("-Wl,-rpath,{}", libdir.display()))
        .arg("-ldlview")
        .output()
        .map_err(|e| format!("cannot run {compiler}: {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "{compiler} failed on {}:\n{}{}",
            src.display(),
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    Ok(exe)
}

fn run(exe: &Path) -> Result<(), String> {
    let mut cmd = if have_valgrind() {
        let mut c = Command::new("valgrind");
        c.args([
            "--quiet",
            "--error-exitcode=1",
            "--leak-check=full",
            "--errors-for-leak-kinds=definite,indirect",
        ])
        .arg(exe);
        c
    } else {
        Command::new(exe)
    };
    let output = cmd
        .output()
        .map_err(|e| format!("cannot run {}: {e}", exe.display()))?;
    if output.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{} failed ({}):\n{}{}",
            exe.display(),
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ))
    }
}

fn build_and_run_all(lang: Lang) {
    let libdir = library_dir();
    let failures: Vec<String> = sources()
        .iter()
        .filter_map(|src| compile(src, lang, &libdir).and_then(|exe| run(&exe)).err())
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn dlpack_c_tests_pass_as_c11() {
    build_and_run_all(Lang::C);
}

#[test]
fn dlpack_c_tests_pass_as_cxx17() {
    build_and_run_all(Lang::Cxx);
}
