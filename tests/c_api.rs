//! Builds the C test programs in `tests/c/` and the examples in `examples-c/`
//! against the crate's shared library, as C11 and as C++17 (both with
//! `-Wall -Wextra -Werror`), and runs them: the C build under valgrind
//! (errors and definite/indirect leaks fail) when valgrind is on PATH.
//! A program fails by exiting non-zero; its output, which names each failed
//! check by file and line, becomes the test failure message.

mod common;

use common::{Lang, build_program, root, run_program, scratch_dir, valgrind_available};
use std::path::PathBuf;
use std::process::Output;

/// Builds `source` in each of `langs` and runs the programs, returning
/// their outputs.
fn build_and_run(
    source: PathBuf,
    kind: &str,
    include_dirs: &[PathBuf],
    langs: &[Lang],
) -> Vec<Output> {
    let stem = source.file_stem().unwrap().to_string_lossy().into_owned();
    let dir = scratch_dir(kind);
    let valgrind = valgrind_available();
    if !valgrind {
        eprintln!(
            "note: valgrind is not on PATH (or DLVIEW_NO_VALGRIND=1): running {stem} without it"
        );
    }
    let mut outputs = Vec::new();
    for (i, &lang) in langs.iter().enumerate() {
        let exe = dir.join(format!("{stem}-{}", lang.suffix()));
        build_program(lang, std::slice::from_ref(&source), include_dirs, &exe);
        // valgrind once per program, on the first build (C when there is one).
        let out = run_program(&exe, valgrind && i == 0);
        print!("{}", String::from_utf8_lossy(&out.stdout));
        eprint!("{}", String::from_utf8_lossy(&out.stderr));
        outputs.push(out);
    }
    outputs
}

macro_rules! c_tests {
    ($($name:ident),* $(,)?) => {
        $(
            #[test]
            fn $name() {
                let dir = root().join("tests/c");
                build_and_run(dir.join(concat!(stringify!($name), ".c")), "c-tests", &[dir], &[Lang::C11, Lang::Cxx17]);
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

c_tests!(
    test_create,
    test_views,
    test_copy,
    test_copy_into,
    test_index,
    test_release,
    test_thread_exit,
    test_threads
);

/// `DLVIEW_NUM_THREADS` is read once, at the first call that needs it, so
/// each value gets a fresh process: `test_threads --expect-env N` checks
/// that its first `dlv_get_num_threads()` is N. Invalid values (negative,
/// above 1024, not an integer, empty) are ignored: all cores.
#[test]
fn test_threads_environment() {
    use common::run_program_with;
    let source = root().join("tests/c/test_threads.c");
    let exe = scratch_dir("c-tests").join("test_threads-env");
    build_program(Lang::C11, &[source], &[root().join("tests/c")], &exe);
    let cores = std::thread::available_parallelism()
        .unwrap()
        .get()
        .to_string();
    let cases: [(Option<&str>, &str); 9] = [
        (None, &cores),
        (Some("3"), "3"),
        (Some(" 2 "), "2"),
        (Some("0"), &cores),
        (Some("1024"), "1024"),
        (Some("1025"), &cores),
        (Some("-4"), &cores),
        (Some("four"), &cores),
        (Some(""), &cores),
    ];
    for (value, want) in cases {
        // Printed first: a failing run panics with the program's output.
        eprintln!("DLVIEW_NUM_THREADS={value:?}: want {want} threads");
        let env = [("DLVIEW_NUM_THREADS", value.map(std::ffi::OsStr::new))];
        run_program_with(&exe, false, &["--expect-env", want], &env);
    }
}

/// The user-facing examples compile cleanly and run (valgrind-clean), so
/// `make demo` cannot rot: C examples as C11 and C++17, C++ ones as C++17.
#[test]
fn examples_build_and_run() {
    let mut sources: Vec<PathBuf> = std::fs::read_dir(root().join("examples-c"))
        .expect("examples-c/")
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "c" || x == "cpp"))
        .collect();
    sources.sort();
    assert!(
        sources.iter().any(|p| p.ends_with("views.c")),
        "examples-c/views.c is missing"
    );
    for source in sources {
        if source.extension().is_some_and(|x| x == "c") {
            build_and_run(source, "examples-c", &[], &[Lang::C11, Lang::Cxx17]);
        } else {
            build_and_run(source, "examples-c", &[], &[Lang::Cxx17]);
        }
    }
}

/// The C quick start in README.md compiles as written and prints what its
/// comments say.
#[test]
fn readme_quick_start_builds_and_runs() {
    let readme = std::fs::read_to_string(root().join("README.md")).expect("README.md");
    let section = readme
        .split("## C quick start")
        .nth(1)
        .expect("README.md has a `## C quick start` section");
    let code = section
        .split("```c\n")
        .nth(1)
        .and_then(|rest| rest.split("```").next())
        .expect("the quick start section has a ```c block");
    let source = scratch_dir("readme").join("quick.c");
    std::fs::write(&source, code).unwrap();
    let outputs = build_and_run(source, "readme", &[], &[Lang::C11, Lang::Cxx17]);
    for out in outputs {
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_eq!(
            stdout,
            "t[:, 2][1] = 5\nindex 5 is out of bounds for axis 1 with size 3\n"
        );
    }
}
