//! Generates `include/dlview.h` from the `extern "C"` items in `src/` (the C ABI crate).
//!
//! The header is always written to `$OUT_DIR/dlview.h`; a test compares it
//! with the committed `include/dlview.h` so the two cannot drift. Set
//! `DLVIEW_WRITE_HEADER=1` (as `make header` does) to update the committed copy.

use std::env;
use std::fs;
use std::path::PathBuf;

fn main() {
    let root = PathBuf::from(env::var("CARGO_MANIFEST_DIR").unwrap());
    let out_dir = PathBuf::from(env::var("OUT_DIR").unwrap());
    println!("cargo:rerun-if-changed=src");
    println!("cargo:rerun-if-changed=cbindgen.toml");
    println!("cargo:rerun-if-changed=cbindgen/dlpack_prelude.h");
    println!("cargo:rerun-if-env-changed=DLVIEW_WRITE_HEADER");

    // A versioned soname that names the ABI (docs/versioning.md): while
    // 0.x each minor release may break it, so the soname is
    // libdlview.so.0.<minor> (as cargo-c does); from 1.0 on,
    // libdlview.so.<major>. `make install` creates the same links.
    if env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("linux") {
        let major = env::var("CARGO_PKG_VERSION_MAJOR").unwrap();
        let minor = env::var("CARGO_PKG_VERSION_MINOR").unwrap();
        let abi = if major == "0" {
            format!("0.{minor}")
        } else {
            major
        };
        println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libdlview.so.{abi}");
        // Programs linked against the build tree's libdlview.so record the
        // soname, so give it the link `ldconfig` would make on install:
        // <target>/<profile>/libdlview.so.0.1 -> libdlview.so, and the same
        // in deps/, where `cargo test` leaves the freshest build.
        if let Some(profile_dir) = out_dir.ancestors().nth(3) {
            for dir in [profile_dir.to_path_buf(), profile_dir.join("deps")] {
                let link = dir.join(format!("libdlview.so.{abi}"));
                if fs::symlink_metadata(&link).is_err() {
                    let _ = fs::create_dir_all(&dir);
                    let _ = std::os::unix::fs::symlink("libdlview.so", &link);
                }
            }
        }
    }

    let mut config =
        cbindgen::Config::from_file(root.join("cbindgen.toml")).expect("cbindgen.toml");
    let prelude =
        fs::read_to_string(root.join("cbindgen/dlpack_prelude.h")).expect("dlpack prelude");
    let version = env::var("CARGO_PKG_VERSION").unwrap();
    let [major, minor, patch] =
        ["MAJOR", "MINOR", "PATCH"].map(|p| env::var(format!("CARGO_PKG_VERSION_{p}")).unwrap());
    config.after_includes = Some(format!(
        "\n#define DLVIEW_VERSION_MAJOR {major}\n#define DLVIEW_VERSION_MINOR {minor}\n#define DLVIEW_VERSION_PATCH {patch}\n\
         #define DLVIEW_VERSION_STRING \"{version}\"\n\n{prelude}"
    ));

    let header = match cbindgen::Builder::new()
        .with_crate(&root)
        .with_config(config)
        .generate()
    {
        Ok(bindings) => {
            let mut buf = Vec::new();
            bindings.write(&mut buf);
            buf
        }
        Err(e) => {
            // A half-edited source tree should still produce cargo's own
            // error messages rather than a cbindgen one.
            println!("cargo:warning=cbindgen failed: {e}");
            return;
        }
    };
    fs::write(out_dir.join("dlview.h"), &header).unwrap();
    if env::var_os("DLVIEW_WRITE_HEADER").is_some_and(|v| v == "1") {
        let target = root.join("include/dlview.h");
        if fs::read(&target).ok().as_deref() != Some(&header[..]) {
            fs::write(target, &header).unwrap();
        }
    }
}
