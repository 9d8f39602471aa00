//! The committed C header `include/dlview.h`: it matches what cbindgen
//! generates from the sources, compiles on its own and next to the official
//! DLPack header in either order, as C11 and C++17, documents every
//! function it declares, declares exactly what the library exports, and
//! carries the crate's version.

mod common;

use common::{Lang, library_dir, library_file_name, root, run_ok, scratch_dir};
use std::collections::BTreeSet;
use std::process::Command;

/// What build.rs generated for this build (it always writes it here).
const GENERATED: &str = include_str!(concat!(env!("OUT_DIR"), "/dlview.h"));

fn committed() -> String {
    std::fs::read_to_string(root().join("include/dlview.h")).expect("include/dlview.h")
}

#[test]
fn committed_header_is_up_to_date() {
    let committed = committed();
    if committed != GENERATED {
        let line = committed
            .lines()
            .zip(GENERATED.lines())
            .position(|(a, b)| a != b)
            .map_or_else(
                || committed.lines().count().min(GENERATED.lines().count()) + 1,
                |i| i + 1,
            );
        panic!(
            "include/dlview.h is out of date with the Rust sources (first difference at line {line}).\n\
             Run `make header` and commit include/dlview.h."
        );
    }
}

/// Compiles `file` (under tests/c/header/) to an object, with the strictest
/// warnings a user might have on.
fn compile_header_test(file: &str, lang: Lang) {
    let dir = root().join("tests/c/header");
    let obj = scratch_dir("header").join(format!("{file}-{}.o", lang.suffix()));
    let mut cmd = lang.command();
    cmd.arg("-Wpedantic");
    if lang == Lang::C11 {
        cmd.arg("-Wstrict-prototypes");
    }
    cmd.arg("-I").arg(root().join("include"));
    cmd.arg("-I").arg(dir.join("standin"));
    cmd.arg("-I").arg(&dir);
    cmd.arg("-c").arg(dir.join(file)).arg("-o").arg(&obj);
    run_ok(
        &mut cmd,
        &format!("compiling tests/c/header/{file} as {lang:?}"),
    );
}

#[test]
fn header_compiles_alone() {
    for lang in [Lang::C11, Lang::Cxx17] {
        compile_header_test("alone.c", lang);
    }
}

#[test]
fn header_compiles_when_included_twice() {
    for lang in [Lang::C11, Lang::Cxx17] {
        compile_header_test("twice.c", lang);
    }
}

#[test]
fn header_compiles_after_official_dlpack_header() {
    for lang in [Lang::C11, Lang::Cxx17] {
        compile_header_test("dlpack_before.c", lang);
    }
}

#[test]
fn header_compiles_before_official_dlpack_header() {
    for lang in [Lang::C11, Lang::Cxx17] {
        compile_header_test("dlpack_after.c", lang);
    }
}

/// A declaration in the header: its name, the line it starts on (0-based),
/// and the line just above it.
struct Decl {
    name: String,
    line: usize,
    above: String,
}

/// The dlview part of the header (after the DLPack prelude).
fn dlview_part(header: &str) -> (usize, Vec<&str>) {
    let lines: Vec<&str> = header.lines().collect();
    let start = lines
        .iter()
        .position(|l| l.starts_with("#endif") && l.contains("DLPACK_DLPACK_H_"))
        .expect("the DLPack prelude ends with `#endif /* DLPACK_DLPACK_H_ */`");
    (start + 1, lines)
}

fn identifier_before_paren(text: &str) -> Option<String> {
    let head = &text[..text.find('(')?];
    let name: String = head
        .trim_end()
        .chars()
        .rev()
        .take_while(|c| c.is_alphanumeric() || *c == '_')
        .collect();
    let name: String = name.chars().rev().collect();
    (!name.is_empty()).then_some(name)
}

/// Every function declaration: a line at column 0 (not a comment, macro,
/// typedef or brace) whose declarator names a `dlv_` function.
fn function_decls(header: &str) -> Vec<Decl> {
    let (start, lines) = dlview_part(header);
    let mut decls = Vec::new();
    let mut i = start;
    while i < lines.len() {
        let line = lines[i];
        let is_decl_start = !line.is_empty()
            && !line.starts_with([' ', '\t', '#', '/', '}', '{', '*'])
            && !line.starts_with("typedef")
            && !line.starts_with("extern")
            && line.contains('(');
        if is_decl_start {
            let mut text = String::from(line);
            let mut j = i;
            while !text.contains(';') && j + 1 < lines.len() {
                j += 1;
                text.push(' ');
                text.push_str(lines[j].trim());
            }
            if let Some(name) = identifier_before_paren(&text).filter(|n| n.starts_with("dlv_")) {
                decls.push(Decl {
                    name,
                    line: i,
                    above: lines[i - 1].to_string(),
                });
            }
            i = j + 1;
        } else {
            i += 1;
        }
    }
    decls
}

/// `#define DLV_*` constants and `typedef ... dlv_*` types.
fn other_decls(header: &str) -> Vec<Decl> {
    let (start, lines) = dlview_part(header);
    let mut decls = Vec::new();
    for (i, line) in lines.iter().enumerate().skip(start) {
        let name = if let Some(rest) = line.strip_prefix("#define DLV_") {
            Some(format!(
                "DLV_{}",
                rest.split_whitespace().next().unwrap_or("")
            ))
        } else if line.starts_with("typedef") && line.contains("dlv_") {
            line.split(|c: char| !(c.is_alphanumeric() || c == '_'))
                .find(|w| w.starts_with("dlv_"))
                .map(String::from)
        } else {
            None
        };
        if let Some(name) = name {
            decls.push(Decl {
                name,
                line: i,
                above: lines[i - 1].to_string(),
            });
        }
    }
    decls
}

fn is_doc_comment_end(line: &str) -> bool {
    let t = line.trim();
    t.starts_with("//") || t.ends_with("*/")
}

#[test]
fn every_declaration_has_a_doc_comment() {
    let header = committed();
    let functions = function_decls(&header);
    // The parser must find the whole API, or this test proves nothing.
    let names: BTreeSet<&str> = functions.iter().map(|d| d.name.as_str()).collect();
    for expected in [
        "dlv_version",
        "dlv_last_error",
        "dlv_tensor_empty",
        "dlv_tensor_from_buffer",
        "dlv_tensor_free",
        "dlv_tensor_describe",
        "dlv_tensor_sliding_window",
        "dlv_tensor_astype",
    ] {
        assert!(
            names.contains(expected),
            "the header parser missed {expected}; found {names:?}"
        );
    }
    let mut missing: Vec<String> = functions
        .iter()
        .chain(other_decls(&header).iter())
        .filter(|d| !is_doc_comment_end(&d.above))
        .map(|d| format!("{} (line {})", d.name, d.line + 1))
        .collect();
    missing.sort();
    assert!(
        missing.is_empty(),
        "declarations in include/dlview.h without a doc comment directly above them \
         (add a /// comment on the Rust item and run `make header`): {missing:?}"
    );
}

/// The header declares every `dlv_` symbol the library exports, and nothing
/// it does not (a declared but unexported function links nowhere).
#[test]
fn header_declares_exactly_the_exported_functions() {
    let lib = library_dir().join(library_file_name());
    let out = match Command::new("nm")
        .args(["-D", "--defined-only"])
        .arg(&lib)
        .output()
    {
        Ok(out) if out.status.success() => out,
        _ => {
            eprintln!("note: `nm -D` is not available; skipping the export check");
            return;
        }
    };
    let exported: BTreeSet<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_whitespace().last())
        .map(|s| s.trim_start_matches('_').to_string())
        .filter(|s| s.starts_with("dlv_"))
        .collect();
    let declared: BTreeSet<String> = function_decls(&committed())
        .into_iter()
        .map(|d| d.name)
        .collect();
    let undeclared: Vec<_> = exported.difference(&declared).collect();
    let unexported: Vec<_> = declared.difference(&exported).collect();
    assert!(
        undeclared.is_empty(),
        "exported by {} but not declared in the header: {undeclared:?}",
        lib.display()
    );
    assert!(
        unexported.is_empty(),
        "declared in the header but not exported: {unexported:?}"
    );
}

fn define_value<'a>(header: &'a str, name: &str) -> &'a str {
    header
        .lines()
        .find_map(|l| {
            l.strip_prefix("#define ")
                .and_then(|r| r.strip_prefix(name))
                .filter(|r| r.starts_with(' '))
        })
        .unwrap_or_else(|| panic!("#define {name} not found in include/dlview.h"))
        .trim()
}

#[test]
fn version_macros_match_the_crate() {
    let header = committed();
    assert_eq!(
        define_value(&header, "DLVIEW_VERSION_MAJOR"),
        env!("CARGO_PKG_VERSION_MAJOR")
    );
    assert_eq!(
        define_value(&header, "DLVIEW_VERSION_MINOR"),
        env!("CARGO_PKG_VERSION_MINOR")
    );
    assert_eq!(
        define_value(&header, "DLVIEW_VERSION_PATCH"),
        env!("CARGO_PKG_VERSION_PATCH")
    );
    assert_eq!(
        define_value(&header, "DLVIEW_VERSION_STRING"),
        format!("\"{}\"", env!("CARGO_PKG_VERSION"))
    );
    let from_parts = format!(
        "{}.{}.{}",
        define_value(&header, "DLVIEW_VERSION_MAJOR"),
        define_value(&header, "DLVIEW_VERSION_MINOR"),
        define_value(&header, "DLVIEW_VERSION_PATCH")
    );
    assert_eq!(from_parts, env!("CARGO_PKG_VERSION"));
    // SAFETY: dlv_version returns a static NUL-terminated string.
    let version = unsafe { std::ffi::CStr::from_ptr(dlview::dlv_version()) };
    assert_eq!(version.to_str().unwrap(), env!("CARGO_PKG_VERSION"));
}
