//! What a wheel carries for C and C++ extension authors, found from
//! Python: `dlview.h`/`dlview.hpp` (`get_include`), `libdlview.so` under its
//! soname (`get_library_dir`), the CMake package (`get_cmake_dir`) and a
//! pkg-config file; `python -m dlview --cflags --libs` prints the flags.
//! The files are staged into the package by `make wheel` (a source install
//! without them says so).

use pyo3::exceptions::{PyFileNotFoundError, PyValueError};
use pyo3::prelude::*;
use std::path::PathBuf;

/// The library's soname (docs/versioning.md, build.rs): `libdlview.so.0.<minor>`
/// while 0.x, `libdlview.so.<major>` from 1.0 on.
pub fn soname() -> String {
    let (major, minor) = (
        env!("CARGO_PKG_VERSION_MAJOR"),
        env!("CARGO_PKG_VERSION_MINOR"),
    );
    if major == "0" {
        format!("libdlview.so.0.{minor}")
    } else {
        format!("libdlview.so.{major}")
    }
}

/// The installed package's directory (where `_native` lives).
fn package_dir(py: Python<'_>) -> PyResult<PathBuf> {
    let file: String = py
        .import("dlview._native")?
        .getattr("__file__")?
        .extract()?;
    Ok(PathBuf::from(file)
        .parent()
        .map(PathBuf::from)
        .unwrap_or_default())
}

/// `sub` of the package directory, which must contain `probe`.
fn dir_with(py: Python<'_>, sub: &[&str], probe: &str) -> PyResult<String> {
    let mut dir = package_dir(py)?;
    dir.extend(sub);
    if !dir.join(probe).exists() {
        return Err(PyFileNotFoundError::new_err(format!(
            "{} has no {probe}: this dlview was installed without the C files \
             (they come with the wheel: `make wheel`, or `maturin build` after `make stage-c-files`)",
            dir.display()
        )));
    }
    Ok(dir.to_string_lossy().into_owned())
}

/// The directory of `dlview.h` and `dlview.hpp` (`-I` for C/C++ extensions).
#[pyfunction]
pub fn get_include(py: Python<'_>) -> PyResult<String> {
    dir_with(py, &["include"], "dlview.h")
}

/// The directory of `libdlview.so` (under its soname) and `pkgconfig/`.
#[pyfunction]
pub fn get_library_dir(py: Python<'_>) -> PyResult<String> {
    dir_with(py, &["lib"], &soname())
}

/// The directory of the CMake package (`find_package(dlview)` with
/// `-Ddlview_DIR=` this, or `CMAKE_PREFIX_PATH` its grandparent).
#[pyfunction]
pub fn get_cmake_dir(py: Python<'_>) -> PyResult<String> {
    dir_with(py, &["lib", "cmake", "dlview"], "dlviewConfig.cmake")
}

/// `python -m dlview ...`: the answer to each flag, joined by spaces.
#[pyfunction]
pub fn _cli(py: Python<'_>, args: Vec<String>) -> PyResult<String> {
    if args.is_empty() {
        return Err(PyValueError::new_err(
            "usage: python -m dlview [--includedir] [--libdir] [--cmakedir] [--cflags] [--libs]",
        ));
    }
    let mut out = Vec::new();
    for a in &args {
        out.push(match a.as_str() {
            "--includedir" => get_include(py)?,
            "--libdir" => get_library_dir(py)?,
            "--cmakedir" => get_cmake_dir(py)?,
            "--cflags" => format!("-I{}", get_include(py)?),
            "--libs" => {
                let dir = get_library_dir(py)?;
                format!("-L{dir} -l:{} -Wl,-rpath,{dir}", soname())
            }
            other => {
                return Err(PyValueError::new_err(format!(
                    "unknown option {other:?}: use --includedir, --libdir, --cmakedir, --cflags or --libs"
                )));
            }
        });
    }
    Ok(out.join(" "))
}
