//! Every ```` ```c ```` block of README.md and of the documentation
//! (docs/**/*.md) compiles
//! as C11 with `-Wall -Wextra -Werror` against include/dlview.h and the
//! library just built: a block with a `main` is linked and run (under
//! valgrind when it is installed) and must exit 0; a block without one (a
//! shared library, like the cookbook's C extension) is linked as a shared
//! object with `-Wl,--no-undefined`, so every dlview call it makes exists.
//! The Python blocks, and the ```` ```sh ```` blocks marked `<!-- run -->`,
//! run in tests/python/test_docs_recipes.py; the README's C++ quick start
//! builds and runs in tests/cpp_api.rs; the rest must be marked
//! `<!-- not run: REASON -->`, which `every_block_is_tested_or_marked`
//! checks, so a new block cannot go untested by accident. A program block
//! preceded by `<!-- output in comments -->` must print exactly the trailing
//! `/* ... */` comments of its `printf` lines, one line each.

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

/// One fenced block: its language, the `<!-- ... -->` markers on the lines
/// before it (blank lines between allowed) and its body, dedented by the
/// fence's indentation (blocks inside list items).
#[derive(Debug, Default, PartialEq)]
struct Block {
    lang: String,
    markers: Vec<String>,
    body: String,
}

impl Block {
    fn has(&self, marker: &str) -> bool {
        self.markers.iter().any(|m| m == marker)
    }

    /// `<!-- not run: REASON -->` with a reason.
    fn marked_not_run(&self) -> bool {
        self.markers.iter().any(|m| {
            m.strip_prefix("not run:")
                .is_some_and(|why| !why.trim().is_empty())
        })
    }
}

/// Every fenced block of `text`, in order.
fn fenced(text: &str) -> Vec<Block> {
    let mut found = Vec::new();
    let mut markers = Vec::new();
    // (indentation, block so far) while inside a fence.
    let mut current: Option<(usize, Block)> = None;
    for line in text.lines() {
        let trimmed = line.trim();
        match current.as_mut() {
            None if trimmed.starts_with("```") => {
                let indent = line.len() - line.trim_start().len();
                let lang = trimmed.trim_start_matches('`').to_string();
                let markers = std::mem::take(&mut markers);
                let body = String::new();
                current = Some((
                    indent,
                    Block {
                        lang,
                        markers,
                        body,
                    },
                ));
            }
            None if trimmed.starts_with("<!--") && trimmed.ends_with("-->") => {
                markers.push(trimmed[4..trimmed.len() - 3].trim().to_string());
            }
            None if !trimmed.is_empty() => markers.clear(),
            None => {}
            Some((_, block)) if trimmed == "```" => {
                found.push(std::mem::take(block));
                current = None;
            }
            Some((indent, block)) => {
                let cut = line.len().min(*indent);
                let body = if line[..cut].trim().is_empty() {
                    &line[cut..]
                } else {
                    line
                };
                block.body.push_str(body);
                block.body.push('\n');
            }
        }
    }
    assert!(current.is_none(), "an unclosed ``` block");
    found
}

/// The bodies of the ```` ```lang ```` blocks of `text`, in order.
fn blocks(text: &str, lang: &str) -> Vec<String> {
    fenced(text)
        .into_iter()
        .filter(|b| b.lang == lang)
        .map(|b| b.body)
        .collect()
}

/// README.md and docs/**/*.md, with their paths relative to the repository.
fn documents() -> Vec<(String, String)> {
    let mut files = vec![root().join("README.md")];
    markdown_files(&root().join("docs"), &mut files);
    files
        .into_iter()
        .map(|file| {
            let rel = file.strip_prefix(root()).unwrap().display().to_string();
            (rel, std::fs::read_to_string(&file).unwrap())
        })
        .collect()
}

fn c_blocks() -> Vec<(String, Block)> {
    let mut all = Vec::new();
    for (rel, text) in documents() {
        for (n, block) in fenced(&text).into_iter().enumerate() {
            if block.lang == "c" {
                all.push((format!("{rel} block {}", n + 1), block));
            }
        }
    }
    all
}

/// The trailing `/* ... */` comments of the `printf(` lines of `code`.
fn printed_comments(code: &str) -> Vec<&str> {
    code.lines()
        .map(str::trim)
        .filter(|line| line.starts_with("printf(") && line.ends_with("*/"))
        .filter_map(|line| line.split_once("); /* "))
        .map(|(_, comment)| comment.trim_end_matches("*/").trim())
        .collect()
}

#[test]
fn printed_comments_are_read() {
    let code = "int a; /* no */\n  printf(\"%d\\n\", a); /* 1 */\nprintf(\"x\");\n\
                fprintf(stderr, \"e\"); /* no */\nprintf(\"/* a */ b\\n\"); /* /* a */ b */\n";
    assert_eq!(printed_comments(code), ["1", "/* a */ b"]);
}

#[test]
fn the_block_finder_sees_fences_only() {
    let text = "x\n```c\nint a;\n```\n```python\nb = 1\n```\n```c\nint c;\n```\n";
    assert_eq!(blocks(text, "c"), ["int a;\n", "int c;\n"]);
    assert_eq!(blocks(text, "python"), ["b = 1\n"]);
}

#[test]
fn the_block_finder_dedents_list_items_and_reads_markers() {
    let text = "1. Step:\n\n   <!-- file: a.c -->\n   ```c\n   int a;\n     int b;\n   ```\n\n\
                <!-- not run: setup -->\n\n```sh\nmake\n```\n<!-- run -->\ntext\n```sh\ncc\n```\n\
                <!-- file: q.c -->\n<!-- output in comments -->\n```c\nint q;\n```\n";
    let block = |lang: &str, markers: &[&str], body: &str| Block {
        lang: lang.into(),
        markers: markers.iter().map(|m| m.to_string()).collect(),
        body: body.into(),
    };
    let found = fenced(text);
    assert_eq!(
        found,
        [
            block("c", &["file: a.c"], "int a;\n  int b;\n"),
            block("sh", &["not run: setup"], "make\n"),
            // A marker followed by prose belongs to no block.
            block("sh", &[], "cc\n"),
            block("c", &["file: q.c", "output in comments"], "int q;\n"),
        ]
    );
    assert!(found[1].marked_not_run() && !found[0].marked_not_run());
    assert!(
        !block("sh", &["not run: "], "").marked_not_run(),
        "a reason is required"
    );
}

/// Which test runs a block, or why none needs to; None: nothing runs it.
fn tested_by(doc: &str, block: &Block) -> Option<&'static str> {
    match block.lang.as_str() {
        _ if block.marked_not_run() => Some("marked not run"),
        "c" => Some("docs_code.rs every_c_block_of_the_docs_builds_and_runs"),
        "python" => Some("tests/python/test_docs_recipes.py"),
        "sh" if block.has("run") => Some("tests/python/test_docs_recipes.py"),
        "cpp" if doc == "README.md" => Some("cpp_api.rs readme_cpp_quick_start_builds_and_runs"),
        _ => None,
    }
}

/// Every block of README.md and the docs is compiled or run by a test, or
/// says why not with `<!-- not run: REASON -->`.
#[test]
fn every_block_is_tested_or_marked() {
    let mut untested = Vec::new();
    let mut cpp_in_readme = 0;
    for (rel, text) in documents() {
        for (n, block) in fenced(&text).iter().enumerate() {
            if tested_by(&rel, block).is_none() {
                untested.push(format!("{rel} block {} (```{})", n + 1, block.lang));
            }
            cpp_in_readme +=
                usize::from(rel == "README.md" && block.lang == "cpp" && !block.marked_not_run());
        }
    }
    assert!(
        untested.is_empty(),
        "blocks no test runs and not marked `<!-- not run: REASON -->`: {untested:?}"
    );
    // cpp_api.rs builds the first ```cpp block after "## C++ quick start": the only one.
    assert_eq!(
        cpp_in_readme, 1,
        "README.md has a ```cpp block cpp_api.rs does not build"
    );
}

#[test]
fn every_c_block_of_the_docs_builds_and_runs() {
    let found = c_blocks();
    let names: Vec<&str> = found.iter().map(|(name, _)| name.as_str()).collect();
    for page in [
        "README.md",
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
    for (i, (name, block)) in found.iter().enumerate() {
        let code = &block.body;
        let source = dir.join(format!("block{i}.c"));
        std::fs::write(&source, code).unwrap();
        if code.contains("int main(") {
            let exe = dir.join(format!("block{i}"));
            build_program(Lang::C11, &[source], &[], &exe);
            let out = run_program(&exe, valgrind_available());
            if block.has("output in comments") {
                let printed = String::from_utf8_lossy(&out.stdout);
                assert_eq!(
                    printed.lines().collect::<Vec<_>>(),
                    printed_comments(code),
                    "{name} printed other than its comments say"
                );
            }
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
