//! Shared by the integration tests that drive a C compiler: where the
//! sources, the header and the freshly built shared library are, and how to
//! compile and run a program against them.
#![allow(dead_code)] // each test crate uses a different subset

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The repository root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A language to compile a C source as.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lang {
    C11,
    Cxx17,
}

impl Lang {
    pub fn suffix(self) -> &'static str {
        match self {
            Lang::C11 => "c",
            Lang::Cxx17 => "cpp",
        }
    }

    /// The compiler (`$CC` / `$CXX`, else `cc` / `c++`) and the strict flags
    /// every C source of this repository must pass.
    pub fn command(self) -> Command {
        let (var, default) = match self {
            Lang::C11 => ("CC", "cc"),
            Lang::Cxx17 => ("CXX", "c++"),
        };
        let mut cmd = Command::new(std::env::var(var).unwrap_or_else(|_| default.to_string()));
        match self {
            Lang::C11 => cmd.args(["-std=c11"]),
            Lang::Cxx17 => cmd.args(["-x", "c++", "-std=c++17"]),
        };
        cmd.args(["-Wall", "-Wextra", "-Werror", "-g", "-O1"]);
        cmd
    }
}

/// The shared library this test binary was built with. Cargo builds the
/// crate's cdylib in `target/<profile>/deps/` next to the rlib the tests
/// link, before it runs integration tests, so it is always current there
/// (the copy in `target/<profile>/` is only refreshed by `cargo build`).
pub fn library_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("current_exe");
    let deps = exe
        .parent()
        .expect("test binary has a directory")
        .to_path_buf();
    let name = library_file_name();
    for dir in [
        deps.clone(),
        deps.parent().map(Path::to_path_buf).unwrap_or_default(),
    ] {
        if dir.join(name).is_file() {
            return dir;
        }
    }
    panic!(
        "{name} not found in {} or its parent: the cdylib should be built by `cargo test` \
         before the integration tests run",
        deps.display()
    );
}

pub fn library_file_name() -> &'static str {
    if cfg!(target_os = "macos") {
        "libdlview.dylib"
    } else {
        "libdlview.so"
    }
}

/// A scratch directory for build outputs, one per profile (so debug and
/// release runs do not overwrite each other's programs).
pub fn scratch_dir(kind: &str) -> PathBuf {
    let profile = library_dir()
        .components()
        .rev()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .find(|c| c != "deps")
        .unwrap_or_else(|| "unknown".into());
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(kind)
        .join(profile);
    std::fs::create_dir_all(&dir).expect("create scratch dir");
    dir
}

/// Runs `cmd`, returning its output; panics with everything it printed if it
/// could not start or failed.
pub fn run_ok(cmd: &mut Command, what: &str) -> Output {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("{what}: could not run {cmd:?}: {e}"));
    if !out.status.success() {
        panic!(
            "{what} failed ({}):\n{cmd:?}\n{}",
            out.status,
            output_text(&out)
        );
    }
    out
}

pub fn output_text(out: &Output) -> String {
    format!(
        "--- stdout ---\n{}--- stderr ---\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Compiles `sources` as `lang` into the executable `exe`, against
/// `include/` and linked with the crate's shared library (rpath set, so the
/// program runs without `LD_LIBRARY_PATH`).
pub fn build_program(lang: Lang, sources: &[PathBuf], include_dirs: &[PathBuf], exe: &Path) {
    let lib = library_dir();
    let mut cmd = lang.command();
    cmd.arg("-I").arg(root().join("include"));
    for dir in include_dirs {
        cmd.arg("-I").arg(dir);
    }
    cmd.args(sources);
    if lang == Lang::Cxx17 {
        cmd.args(["-x", "none"]);
    }
    cmd.arg("-L").arg(&lib);
    cmd.arg(format!("-Wl,-rpath,{}", lib.display()));
    cmd.args(["-ldlview", "-lm", "-pthread", "-o"]).arg(exe);
    run_ok(
        &mut cmd,
        &format!("compiling {} as {lang:?}", exe.display()),
    );
}

/// Whether valgrind is on PATH (tests that would use it print a note
/// otherwise). `DLVIEW_NO_VALGRIND=1` skips it on purpose.
pub fn valgrind_available() -> bool {
    if std::env::var_os("DLVIEW_NO_VALGRIND").is_some_and(|v| v == "1") {
        return false;
    }
    Command::new("valgrind")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Runs a built program (under valgrind when asked), failing the test with
/// its whole output if it exits non-zero or valgrind finds an error or a
/// definite/indirect leak.
pub fn run_program(exe: &Path, valgrind: bool) -> Output {
    run_program_with(exe, valgrind, &[], &[])
}

/// As [`run_program`], with arguments and environment variables (a value
/// of `None` removes the variable).
pub fn run_program_with(
    exe: &Path,
    valgrind: bool,
    args: &[&str],
    env: &[(&str, Option<&std::ffi::OsStr>)],
) -> Output {
    let mut cmd = if valgrind {
        let mut c = Command::new("valgrind");
        c.args([
            "--quiet",
            "--error-exitcode=1",
            "--leak-check=full",
            "--errors-for-leak-kinds=definite,indirect",
        ]);
        c.arg(exe);
        c
    } else {
        Command::new(exe)
    };
    cmd.args(args);
    for (key, value) in env {
        match value {
            Some(v) => cmd.env(key, v),
            None => cmd.env_remove(key),
        };
    }
    // cargo test puts target/<profile>/ on LD_LIBRARY_PATH, which beats the
    // program's RUNPATH; a stale libdlview.so there (from an earlier `cargo
    // build`) would be loaded instead of the one just built. Put ours first.
    let var = if cfg!(target_os = "macos") {
        "DYLD_LIBRARY_PATH"
    } else {
        "LD_LIBRARY_PATH"
    };
    let mut paths = vec![library_dir()];
    if let Some(old) = std::env::var_os(var) {
        paths.extend(std::env::split_paths(&old));
    }
    cmd.env(var, std::env::join_paths(paths).expect("library path"));
    let how = if valgrind { " under valgrind" } else { "" };
    run_ok(&mut cmd, &format!("running {}{how}", exe.display()))
}
