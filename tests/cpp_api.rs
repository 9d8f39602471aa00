//! The C++ header `include/dlview.hpp`: builds each test program in
//! `tests/cpp/` as C++17 with `-Wall -Wextra -Werror` against the crate's
//! shared library and runs it under valgrind (when on PATH); `make
//! test-asan` runs the same programs under AddressSanitizer. Also checks
//! that every function of the C header has a C++ wrapper.

mod common;

use common::{Lang, build_program, root, run_program, scratch_dir, valgrind_available};
use std::path::Path;

fn build_and_run_cpp(name: &str) {
    let source = root().join("tests/cpp").join(format!("{name}.cpp"));
    let exe = scratch_dir("cpp-tests").join(name);
    build_program(
        Lang::Cxx17,
        &[source],
        &[root().join("tests/c"), root().join("tests/cpp")],
        &exe,
    );
    let valgrind = valgrind_available();
    if !valgrind {
        eprintln!(
            "note: valgrind is not on PATH (or DLVIEW_NO_VALGRIND=1): running {name} without it"
        );
    }
    let out = run_program(&exe, valgrind);
    print!("{}", String::from_utf8_lossy(&out.stdout));
    eprint!("{}", String::from_utf8_lossy(&out.stderr));
}

macro_rules! cpp_tests {
    ($($name:ident),* $(,)?) => {
        $(
            #[test]
            fn $name() {
                build_and_run_cpp(stringify!($name));
            }
        )*

        /// Every `tests/cpp/test_*.cpp` has a test above.
        #[test]
        fn every_cpp_test_is_run() {
            let listed = [$(concat!(stringify!($name), ".cpp")),*];
            let mut missing = Vec::new();
            for entry in std::fs::read_dir(root().join("tests/cpp")).unwrap() {
                let name = entry.unwrap().file_name().to_string_lossy().into_owned();
                if name.starts_with("test_") && name.ends_with(".cpp") && !listed.contains(&name.as_str()) {
                    missing.push(name);
                }
            }
            assert!(missing.is_empty(), "add these to cpp_tests! in tests/cpp_api.rs: {missing:?}");
        }
    };
}

cpp_tests!(test_index_lists, test_view, test_wrappers);

/// The names of the functions `include/dlview.h` declares.
fn c_functions() -> Vec<String> {
    let header =
        std::fs::read_to_string(root().join("include/dlview.h")).expect("include/dlview.h");
    let mut names = Vec::new();
    for line in header.lines() {
        if line.starts_with("//") || line.starts_with(' ') || line.starts_with('#') {
            continue;
        }
        // A declaration: `<type> dlv_name(...` at the start of a line.
        if let Some(open) = line.find('(')
            && let Some(name) = line[..open].split_whitespace().last()
        {
            let name = name.trim_start_matches('*');
            if name.starts_with("dlv_") {
                names.push(name.to_string());
            }
        }
    }
    names
}

/// Every C function is called by `dlview.hpp` (in code, not only named in
/// a comment).
#[test]
fn every_c_function_has_a_cpp_wrapper() {
    let text =
        std::fs::read_to_string(root().join("include/dlview.hpp")).expect("include/dlview.hpp");
    let hpp: String = text
        .lines()
        .filter(|line| {
            let line = line.trim_start();
            !(line.starts_with("//") || line.starts_with("/*") || line.starts_with('*'))
        })
        .collect::<Vec<_>>()
        .join("\n");
    let functions = c_functions();
    assert!(
        functions.len() > 50 && functions.iter().any(|f| f == "dlv_tensor_get_f64"),
        "the declaration parser found only {functions:?}"
    );
    let missing: Vec<_> = functions
        .iter()
        .filter(|f| !hpp.contains(&format!("{f}(")))
        .collect();
    assert!(
        missing.is_empty(),
        "include/dlview.hpp has no wrapper for {missing:?}: add one (a Tensor method or a free function)"
    );
}

/// Misuse that must not compile, each with the static_assert message that
/// says what to do instead.
#[test]
fn misuse_does_not_compile() {
    let cases = [
        (
            "view_of_temporary",
            "auto v = dlview::Tensor::zeros(dlview::dtype::float32, {2}).view<float, 1>(); (void)v;",
            "view() of a temporary Tensor would dangle",
        ),
        (
            "too_few_indices",
            "dlview::Tensor t = dlview::Tensor::zeros(dlview::dtype::float32, {2, 2});\n\
             auto v = t.view<float, 2>(); return int(v(0));",
            "give exactly N indices",
        ),
        (
            "mutable_view_of_const_tensor",
            "const dlview::Tensor t = dlview::Tensor::zeros(dlview::dtype::float32, {2});\n\
             auto v = t.view<float, 1>(); (void)v;",
            "a const Tensor gives views of const elements",
        ),
        (
            "char_elements",
            "dlview::Tensor t = dlview::Tensor::zeros(dlview::dtype::int8, {2});\n\
             auto v = t.view<char, 1>(); (void)v;",
            "T has no DLPack element type",
        ),
        (
            "float_index",
            "dlview::Tensor t = dlview::Tensor::zeros(dlview::dtype::float32, {2});\n\
             auto v = t.view<float, 1>(); return int(v(0.5));",
            "indices must be integers",
        ),
        (
            "holder_is_not_a_pointer",
            "dlview::Tensor t = dlview::Tensor::zeros(dlview::dtype::float32, {2});\n\
             DLManagedTensorVersioned *raw = t.to_dlpack(); (void)raw;",
            "cannot convert",
        ),
    ];
    let dir = scratch_dir("cpp-misuse");
    for (name, body, message) in cases {
        let source = dir.join(format!("{name}.cpp"));
        std::fs::write(
            &source,
            format!("#include \"dlview.hpp\"\nint main() {{\n{body}\nreturn 0;\n}}\n"),
        )
        .unwrap();
        let out = Lang::Cxx17
            .command()
            .arg("-fsyntax-only")
            .arg("-I")
            .arg(root().join("include"))
            .arg(&source)
            .output()
            .expect("run the C++ compiler");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{name} compiled:\n{body}");
        assert!(
            stderr.contains(message),
            "{name} failed to compile, but not with \"{message}\":\n{stderr}"
        );
    }
}

/// The first ```` ```lang ```` block after `heading` in the Markdown file `doc`.
fn code_block(doc: &str, heading: &str, lang: &str) -> String {
    let text = std::fs::read_to_string(root().join(doc)).unwrap_or_else(|e| panic!("{doc}: {e}"));
    let section = text
        .split(heading)
        .nth(1)
        .unwrap_or_else(|| panic!("{doc} has no `{heading}`"));
    section
        .split(&format!("```{lang}\n"))
        .nth(1)
        .and_then(|rest| rest.split("```").next())
        .unwrap_or_else(|| panic!("`{heading}` in {doc} has no ```{lang} block"))
        .to_string()
}

fn build_and_run_snippet(code: &str, lang: Lang, name: &str) -> String {
    let dir = scratch_dir("doc-snippets");
    let source = dir.join(format!("{name}.{}", lang.suffix()));
    std::fs::write(&source, code).unwrap();
    let exe = dir.join(name);
    build_program(lang, &[source], &[], Path::new(&exe));
    let out = run_program(&exe, valgrind_available());
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The C++ quick start in README.md compiles as written (C++17, strict
/// warnings) and prints what its comments say.
#[test]
fn readme_cpp_quick_start_builds_and_runs() {
    let code = code_block("README.md", "## C++ quick start", "cpp");
    assert_eq!(
        build_and_run_snippet(&code, Lang::Cxx17, "readme_cpp_quick_start"),
        "a[1, 2] = 21\nDLV_ERR_INDEX: index 3 is out of bounds for axis 0 with size 3\n"
    );
}

/// The run-time version check of docs/versioning.md compiles as C11 and
/// prints nothing against the library it was built with.
#[test]
fn versioning_doc_example_builds_and_runs() {
    let code = code_block("docs/versioning.md", "## Checking at run time", "c");
    assert_eq!(
        build_and_run_snippet(&code, Lang::C11, "versioning_check"),
        ""
    );
}
