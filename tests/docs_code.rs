//! Every ```` ```c ```` block of the documentation (docs/**/*.md) compiles
//! as C11 with `-Wall -Wextra -Werror` against include/dlview.h and the
//! library just built: a block with a `main` is linked and run (under
//! valgrind when it is installed) and must exit 0; a block without one (a
//! shared library, like the cookbook's C extension) is linked as a shared
//! object with `-Wl,--no-undefined`, so every dlview call it makes exists.
//! The Python blocks run in tests/python/test_docs_recipes.py.

mod common;

use common::{
    Lang, build_program, library_dir, root, run_ok, run_program, scratch_dir, valgrind_available,
};
use std::path::{Path, PathBuf};

/// The Markdown files under `dir`, recursively, sorted.
fn markdown_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            markdown_files(&path, out);
        } else if path.extension().is_some_and(|x| x == "md") {
            out.push(path);
        }
    }
}

/// The bodies of the ```` ```lang ```` blocks of `text`, in order.
fn blocks(text: &str, lang: &str) -> Vec<String> {
    let fence = format!("```{lang}");
    let mut found = Vec::new();
    let mut current: Option<String> = None;
    for line in text.lines() {
        match current.as_mut() {
            None if line.trim_end() == fence => current = Some(String::new()),
            Some(body) if line.trim_end() == "```" => {
                found.push(std::mem::take(body));
                current = None;
            }
            Some(body) => {
                body.push_str(line);
                body.push('\n');
            }
            None => {}
        }
    }
    assert!(current.is_none(), "an unclosed ```{lang} block");
    found
}

fn c_blocks() -> Vec<(String, String)> {
    let mut files = Vec::new();
    markdown_files(&root().join("docs"), &mut files);
    let mut all = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        let rel = file.strip_prefix(root()).unwrap().display().to_string();
        for (n, code) in blocks(&text, "c").into_iter().enumerate() {
            all.push((format!("{rel} block {}", n + 1), code));
        }
    }
    all
}

#[test]
fn the_block_finder_sees_fences_only() {
    let text = "x\n```c\nint a;\n```\n```python\nb = 1\n```\n```c\nint c;\n```\n";
    assert_eq!(blocks(text, "c"), ["int a;\n", "int c;\n"]);
    assert_eq!(blocks(text, "python"), ["b = 1\n"]);
}

#[test]
fn every_c_block_of_the_docs_builds_and_runs() {
    let found = c_blocks();
    let names: Vec<&str> = found.iter().map(|(name, _)| name.as_str()).collect();
    for page in [
        "docs/cookbook/c-extension.md",
        "docs/concepts/lifetimes.md",
        "docs/versioning.md",
    ] {
        assert!(
            names.iter().any(|n| n.starts_with(page)),
            "no C block found in {page}: {names:?}"
        );
    }
    let dir = scratch_dir("docs-code");
    for (i, (name, code)) in found.iter().enumerate() {
        let source = dir.join(format!("block{i}.c"));
        std::fs::write(&source, code).unwrap();
        if code.contains("int main(") {
            let exe = dir.join(format!("block{i}"));
            build_program(Lang::C11, &[source], &[], &exe);
            run_program(&exe, valgrind_available());
        } else {
            let lib = library_dir();
            let mut cmd = Lang::C11.command();
            cmd.args(["-shared", "-fPIC", "-Wl,--no-undefined", "-I"])
                .arg(root().join("include"))
                .arg(&source)
                .arg("-L")
                .arg(&lib)
                .args(["-ldlview", "-o"])
                .arg(dir.join(format!("libblock{i}.so")));
            run_ok(
                &mut cmd,
                &format!("compiling {name} as a C11 shared library"),
            );
        }
        eprintln!("ok: {name}");
    }
}
