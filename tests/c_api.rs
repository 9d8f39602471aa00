//! Builds the C test programs in `tests/c/` and the examples in `examples-c/`
//! against the crate's shared library, as C11 and as C++17 (both with
//! `-Wall -Wextra -Werror`), and runs them: the C build under valgrind
//! (errors and definite/indirect leaks fail) when valgrind is on PATH.
//! A program fails by exiting non-zero; its output, which names each failed
//! check by file and line, becomes the test failure message.

mod common;

use common::{Lang, build_program, root, run_program, scratch_dir, valgrind_available};
use std::path::PathBuf;

/// Builds `source` in both languages and runs both programs.
fn build_and_run(source: PathBuf, kind: &str, include_dirs: &[PathBuf]) {
    let stem = source.file_stem().unwrap().to_string_lossy().into_owned();
    let dir = scratch_dir(kind);
    let valgrind = valgrind_available();
    if !valgrind {
        eprintln!("note: valgrind is not on PATH (or DLVIEW_NO_VALGRIND=1): running {stem} without it");
    }
    for lang in [Lang::C11, Lang::Cxx17] {
        let exe = dir.join(format!("{stem}-{}", lang.suffix()));
        build_program(lang, std::slice::from_ref(&source), include_dirs, &exe);
        // valgrind once, on the C build; the C++ build runs natively.
        let out = run_program(&exe, valgrind && lang == Lang::C11);
        print!("{}", String::from_utf8_lossy(&out.stdout));
        eprint!("{}", String::from_utf8_lossy(&out.stderr));
    }
}

macro_rules! c_tests {
    ($($name:ident),* $(,)?) => {
        $(
            #[test]
            fn $name() {
                let dir = root().join("tests/c");
                build_and_run(dir.join(concat!(stringify!($name), ".c")), "c-tests", &[dir]);
            }
        )*

        /// Every `tests/c/test_*.c` has a test above: a new C test cannot be
        /// silently skipped.
        #[test]
        fn every_c_test_is_run() {
            let listed = [$(concat!(stringify!($name), ".c")),*];
            let mut missing = Vec::new();
            for entry in std::fs::read_dir(root().join("tests/c")).unwrap() {
                let name = entry.unwrap().file_name().to_string_lossy().into_owned();
                if name.starts_with("test_") && name.ends_with(".c") && !listed.contains(&name.as_str()) {
                    missing.push(name);
                }
            }
            assert!(missing.is_empty(), "add these to c_tests! in tests/c_api.rs: {missing:?}");
        }
    };
}

c_tests!(test_create, test_views, test_copy, test_release);

/// The user-facing examples compile cleanly in both languages and run
/// (valgrind-clean), so `make demo` cannot rot.
#[test]
fn examples_build_and_run() {
    let mut sources: Vec<PathBuf> = std::fs::read_dir(root().join("examples-c"))
        .expect("examples-c/")
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "c"))
        .collect();
    sources.sort();
    assert!(!sources.is_empty(), "no examples in examples-c/");
    for source in sources {
        build_and_run(source, "examples-c", &[]);
    }
}
