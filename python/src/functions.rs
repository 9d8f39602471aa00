//! Module-level functions named after NumPy's (views, copies, memory
//! queries), `.npy` files and memory maps, CUDA queries and the copy
//! engine's thread count.

use crate::convert;
use crate::creation::asarray_tensor;
use crate::errors::OrRaise;
use crate::tensor::{PyTensor, wrap};
use dlview::mmap::MapMode;
use dlview::{DType, Order, Tensor};
use pyo3::exceptions::{PyIndexError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyList, PyTuple};
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;

/// `x` as a Python tensor object (itself when it is one), so that views
/// keep NumPy's `base`.
fn tensor_object<'py>(x: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyTensor>> {
    match x.cast::<PyTensor>() {
        Ok(t) => Ok(t.clone()),
        Err(_) => wrap(x.py(), asarray_tensor(x, None, None)?, None),
    }
}

fn int_list(x: &Bound<'_, PyAny>, what: &str) -> PyResult<Vec<i64>> {
    if x.is_instance_of::<PyTuple>() || x.is_instance_of::<PyList>() {
        x.try_iter()?.map(|v| convert::int64(&v?, what)).collect()
    } else {
        Ok(vec![convert::int64(x, what)?])
    }
}

/// A view with new size-1 axes at the positions `axis` (of the result).
#[pyfunction]
pub fn expand_dims<'py>(
    t: &Bound<'py, PyAny>,
    axis: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyTensor>> {
    let obj = tensor_object(t)?;
    let mut out = obj.get().tensor();
    if axis.is_instance_of::<PyTuple>() || axis.is_instance_of::<PyList>() {
        let nd = out.ndim() + axis.len()?;
        let mut positions = axis
            .try_iter()?
            .map(|a| convert::axis(&a?, nd))
            .collect::<PyResult<Vec<_>>>()?;
        positions.sort_unstable();
        if positions.windows(2).any(|w| w[0] == w[1]) {
            return Err(PyValueError::new_err("repeated axis in expand_dims"));
        }
        for a in positions {
            out = out.expand_dims(a).or_raise()?;
        }
    } else {
        out = out.expand_dims(convert::int64(axis, "axis")?).or_raise()?;
    }
    wrap(t.py(), out, Some(&obj))
}

/// A read-only view of `t` broadcast to `shape` (zero strides).
#[pyfunction]
pub fn broadcast_to<'py>(
    t: &Bound<'py, PyAny>,
    shape: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyTensor>> {
    let obj = tensor_object(t)?;
    let dims = convert::shape(shape)?;
    let out = obj.get().get().broadcast_to(&dims).or_raise()?;
    wrap(t.py(), out, Some(&obj))
}

/// A view with explicit `shape` and `strides` (in **bytes**, as in NumPy)
/// starting at `t`'s first element. Checked by the core: the view must stay
/// inside memory the tensor's storage owns (`ValueError` otherwise);
/// overlapping views are read-only.
#[pyfunction]
#[pyo3(signature = (t, shape=None, strides=None))]
pub fn as_strided<'py>(
    t: &Bound<'py, PyAny>,
    shape: Option<&Bound<'py, PyAny>>,
    strides: Option<&Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyTensor>> {
    let obj = tensor_object(t)?;
    let src = obj.get().tensor();
    let item = src.dtype().itemsize() as i64;
    let dims = match shape.filter(|s| !s.is_none()) {
        None => src.shape().to_vec(),
        Some(s) => convert::shape(s)?,
    };
    let elems = match strides.filter(|s| !s.is_none()) {
        None => {
            if dims != src.shape() {
                return Err(PyValueError::new_err(
                    "as_strided: strides are required when the shape changes",
                ));
            }
            src.strides().to_vec()
        }
        Some(s) => {
            let bytes = int_list(s, "a stride")?;
            if bytes.len() != dims.len() {
                return Err(PyValueError::new_err(format!(
                    "as_strided: {} dimensions but {} strides",
                    dims.len(),
                    bytes.len()
                )));
            }
            if item == 0 {
                return Err(PyValueError::new_err(format!(
                    "as_strided is not supported for {}",
                    src.dtype().name()
                )));
            }
            if let Some(b) = bytes.iter().find(|&&b| b % item != 0) {
                return Err(PyValueError::new_err(format!(
                    "as_strided: stride {b} is not a multiple of the itemsize {item}"
                )));
            }
            bytes.iter().map(|b| b / item).collect()
        }
    };
    let out = src.as_strided(&dims, &elems).or_raise()?;
    wrap(t.py(), out, Some(&obj))
}

/// A read-only view of every window of `window_shape` (NumPy's
/// `sliding_window_view`): the windowed axes count the windows and new
/// trailing axes walk each window.
#[pyfunction]
#[pyo3(signature = (t, window_shape, axis=None))]
pub fn sliding_window_view<'py>(
    t: &Bound<'py, PyAny>,
    window_shape: &Bound<'py, PyAny>,
    axis: Option<&Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyTensor>> {
    let obj = tensor_object(t)?;
    let mut out = obj.get().tensor();
    let nd = out.ndim();
    let windows = int_list(window_shape, "a window size")?;
    let axes: Vec<i64> = match axis.filter(|a| !a.is_none()) {
        None => {
            if windows.len() != nd {
                return Err(PyValueError::new_err(format!(
                    "since axis is None, window_shape must have an entry for each axis of the tensor (got {} for {nd} axes)",
                    windows.len()
                )));
            }
            (0..nd as i64).collect()
        }
        Some(a) => {
            let axes = if a.is_instance_of::<PyTuple>() || a.is_instance_of::<PyList>() {
                a.try_iter()?
                    .map(|x| convert::axis(&x?, nd))
                    .collect::<PyResult<Vec<_>>>()?
            } else {
                vec![convert::axis(a, nd)?]
            };
            if axes.len() != windows.len() {
                return Err(PyValueError::new_err(
                    "window_shape and axis must have the same length",
                ));
            }
            axes
        }
    };
    for (a, w) in axes.into_iter().zip(windows) {
        out = out.sliding_window(a, w).or_raise()?;
    }
    wrap(t.py(), out, Some(&obj))
}

fn contiguous<'py>(
    t: &Bound<'py, PyAny>,
    dtype: Option<&Bound<'py, PyAny>>,
    order: Order,
) -> PyResult<Bound<'py, PyAny>> {
    let asarray = crate::creation::asarray(t, dtype, None)?;
    let obj = asarray.cast::<PyTensor>()?;
    let src = obj.get().tensor();
    let ok = match order {
        Order::F => src.layout().is_f_contiguous(),
        _ => src.layout().is_c_contiguous(),
    };
    if ok {
        return Ok(asarray);
    }
    let copy = t.py().detach(|| src.copy(order)).or_raise()?;
    Ok(wrap(t.py(), copy, None)?.into_any())
}

/// `t` itself when it is C-contiguous (and of `dtype`), else a C-order copy.
#[pyfunction]
#[pyo3(signature = (t, dtype=None))]
pub fn ascontiguousarray<'py>(
    t: &Bound<'py, PyAny>,
    dtype: Option<&Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyAny>> {
    contiguous(t, dtype, Order::C)
}

/// `t` itself when it is F-contiguous (and of `dtype`), else an F-order copy.
#[pyfunction]
#[pyo3(signature = (t, dtype=None))]
pub fn asfortranarray<'py>(
    t: &Bound<'py, PyAny>,
    dtype: Option<&Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyAny>> {
    contiguous(t, dtype, Order::F)
}

fn pair(a: &Bound<'_, PyAny>, b: &Bound<'_, PyAny>) -> PyResult<(Tensor, Tensor)> {
    let ta = match a.cast::<PyTensor>() {
        Ok(t) => t.get().tensor(),
        Err(_) => asarray_tensor(a, None, None)?,
    };
    let tb = match b.cast::<PyTensor>() {
        Ok(t) => t.get().tensor(),
        Err(_) => asarray_tensor(b, None, None)?,
    };
    Ok((ta, tb))
}

/// Whether some byte belongs to an element of both (exact for small
/// tensors, as `may_share_memory` beyond 2^20 elements).
#[pyfunction]
pub fn shares_memory(a: &Bound<'_, PyAny>, b: &Bound<'_, PyAny>) -> PyResult<bool> {
    let (ta, tb) = pair(a, b)?;
    Ok(ta.shares_memory(&tb))
}

/// Whether the byte ranges of the two tensors overlap.
#[pyfunction]
pub fn may_share_memory(a: &Bound<'_, PyAny>, b: &Bound<'_, PyAny>) -> PyResult<bool> {
    let (ta, tb) = pair(a, b)?;
    Ok(ta.may_share_memory(&tb))
}

/// A new tensor with the entries `indices` along `axis` (of the flattened
/// tensor when `axis` is None), as `numpy.take`.
#[pyfunction]
#[pyo3(signature = (t, indices, axis=None))]
pub fn take<'py>(
    t: &Bound<'py, PyAny>,
    indices: &Bound<'py, PyAny>,
    axis: Option<&Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyTensor>> {
    let py = t.py();
    let src = match t.cast::<PyTensor>() {
        Ok(t) => t.get().tensor(),
        Err(_) => asarray_tensor(t, None, None)?,
    };
    let idx = match indices.cast::<PyTensor>() {
        Ok(i) => i.get().tensor(),
        Err(_) => asarray_tensor(indices, Some(DType::I64), None)?,
    };
    let integer = matches!(
        idx.dtype().kind(),
        dlview::dtype::Kind::Int | dlview::dtype::Kind::UInt
    );
    if !integer && idx.size() > 0 {
        return Err(PyIndexError::new_err("take: indices must be integers"));
    }
    let flat = idx.reshape(&[-1], dlview::CopyMode::IfNeeded).or_raise()?;
    let flat = flat.astype(DType::I64, Order::C).or_raise()?;
    let values: Vec<i64> = if flat.size() == 0 {
        Vec::new()
    } else {
        // SAFETY: a fresh compact int64 host buffer of `size` values.
        unsafe { std::slice::from_raw_parts(flat.data_ptr().cast::<i64>(), flat.size() as usize) }
            .to_vec()
    };
    let (source, ax) = match axis.filter(|a| !a.is_none()) {
        None => (
            src.reshape(&[-1], dlview::CopyMode::IfNeeded).or_raise()?,
            0,
        ),
        Some(a) => {
            let ax = convert::axis(a, src.ndim())?;
            (src, ax)
        }
    };
    let mut out = py.detach(|| source.take(ax, &values)).or_raise()?;
    if idx.ndim() != 1 {
        let shape = source.shape();
        let ax = ax as usize;
        let dims: Vec<i64> = shape[..ax]
            .iter()
            .chain(idx.shape())
            .chain(&shape[ax + 1..])
            .copied()
            .collect();
        out = out.reshape(&dims, dlview::CopyMode::IfNeeded).or_raise()?;
    }
    wrap(py, out, None)
}

/// How many storages (buffers, wrapped buffers, imports) dlview holds right
/// now in this process; for leak tests.
#[pyfunction]
pub fn live_storage_count() -> usize {
    dlview::__private::live_count()
}

/// Sets how many threads large copies and casts use (0: every core this
/// process may run on); results never depend on it. Process-wide;
/// overrides the environment variable `DLVIEW_NUM_THREADS`. `ValueError`
/// for a negative count or one above 1024.
#[pyfunction]
pub fn set_num_threads(n: &Bound<'_, PyAny>) -> PyResult<()> {
    let n = convert::int64(n, "the number of threads")?;
    let max = dlview::copy::parallel::MAX_THREADS;
    let n = usize::try_from(n).map_err(|_| {
        PyValueError::new_err(format!(
            "the number of threads must be between 0 (all cores) and {max}, not {n}"
        ))
    })?;
    dlview::copy::parallel::set_num_threads(n).or_raise()
}

/// The number of threads large copies use: the last `set_num_threads` (0
/// resolved to the number of cores), else `DLVIEW_NUM_THREADS` (read once;
/// a value that is not an integer in 0..1024 is ignored), else every core
/// this process may run on.
#[pyfunction]
pub fn get_num_threads() -> usize {
    dlview::copy::parallel::num_threads()
}

// ---- files --------------------------------------------------------------------

/// A path from `str`, `bytes` or `os.PathLike`; a NUL byte is refused
/// (paths are never truncated).
fn path(p: &Bound<'_, PyAny>) -> PyResult<PathBuf> {
    let encoded = p.py().import("os")?.call_method1("fsencode", (p,))?;
    let bytes: &[u8] = encoded.extract()?;
    if bytes.contains(&0) {
        return Err(PyValueError::new_err(format!(
            "path {} contains a NUL byte; paths are never truncated",
            p.repr()?
        )));
    }
    if bytes.is_empty() {
        return Err(PyValueError::new_err("path is empty"));
    }
    Ok(PathBuf::from(OsStr::from_bytes(bytes)))
}

/// Reads a `.npy` file (versions 1-3). `mmap_mode` as in NumPy: `None`
/// reads into a new buffer; `"r"` maps it read-only (private copy-on-write
/// pages, so even a consumer that ignores the read-only flag cannot change
/// the file), `"r+"` maps it so writes reach the file, `"c"` maps it
/// copy-on-write (writes stay in memory). A Fortran-order file loads as an
/// F-contiguous view.
#[pyfunction]
#[pyo3(signature = (path, mmap_mode=None))]
pub fn load<'py>(
    path: &Bound<'py, PyAny>,
    mmap_mode: Option<&Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyTensor>> {
    let py = path.py();
    let mode = match mmap_mode.filter(|m| !m.is_none()) {
        None => None,
        Some(m) => {
            let text: Option<String> = m.extract().ok();
            match text.as_deref() {
                Some("r") => Some(MapMode::Read),
                Some("r+") => Some(MapMode::ReadWrite),
                Some("c") => Some(MapMode::CopyOnWrite),
                _ => {
                    return Err(PyValueError::new_err(format!(
                        "mmap_mode must be None, 'r', 'r+' or 'c', not {}",
                        m.repr()?
                    )));
                }
            }
        }
    };
    let p = self::path(path)?;
    let t = py.detach(|| dlview::npy::load(&p, mode)).or_raise()?;
    wrap(py, t, None)
}

/// Writes `t` (a tensor or anything `asarray` takes) to `path` as a
/// `.npy` file that NumPy reads (written atomically: a temporary file
/// renamed over `path`).
#[pyfunction]
pub fn save(path: &Bound<'_, PyAny>, t: &Bound<'_, PyAny>) -> PyResult<()> {
    let tensor = match t.cast::<PyTensor>() {
        Ok(t) => t.get().tensor(),
        Err(_) => asarray_tensor(t, None, None)?,
    };
    let p = self::path(path)?;
    path.py()
        .detach(|| dlview::npy::save(&tensor, &p))
        .or_raise()
}

/// Maps a raw file (no header) as a tensor, like `numpy.memmap`. Modes
/// `"r"`, `"r+"`, `"c"`, `"w+"` (create; needs a shape). Without `shape`
/// the rest of the file from `offset` is one 1-D tensor. Call
/// `Tensor.flush` to wait for writes to reach the file.
#[pyfunction]
#[pyo3(signature = (path, dtype=None, mode=None, offset=None, shape=None, order="C"))]
pub fn memmap<'py>(
    path: &Bound<'py, PyAny>,
    dtype: Option<&Bound<'py, PyAny>>,
    mode: Option<&Bound<'py, PyAny>>,
    offset: Option<&Bound<'py, PyAny>>,
    shape: Option<&Bound<'py, PyAny>>,
    order: &str,
) -> PyResult<Bound<'py, PyTensor>> {
    let py = path.py();
    let mode = mode
        .cloned()
        .unwrap_or_else(|| pyo3::types::PyString::new(py, "r+").into_any());
    let mode_text: Option<String> = mode.extract().ok();
    let mode = mode_text
        .as_deref()
        .and_then(|m| MapMode::from_numpy(m).ok())
        .ok_or_else(|| {
            PyValueError::new_err(format!(
                "mode must be one of 'r', 'r+', 'c', 'w+', not {}",
                mode.repr().map(|r| r.to_string()).unwrap_or_default()
            ))
        })?;
    let dtype = match dtype.filter(|d| !d.is_none()) {
        None => DType::U8,
        Some(d) => convert::dtype(d)?,
    };
    let offset = match offset {
        Some(o) => convert::int64(o, "offset")?,
        None => 0,
    };
    let offset = u64::try_from(offset).map_err(|_| PyValueError::new_err("offset must be >= 0"))?;
    let shape = shape
        .filter(|s| !s.is_none())
        .map(convert::shape)
        .transpose()?;
    let order = convert::order(order)?;
    let p = self::path(path)?;
    let t = py
        .detach(|| dlview::mmap::memmap(&p, dtype, mode, offset, shape.as_deref(), order))
        .or_raise()?;
    wrap(py, t, None)
}

// ---- CUDA -----------------------------------------------------------------------

/// True when a CUDA driver with at least one device is loaded.
#[pyfunction]
pub fn cuda_is_available() -> bool {
    dlview::cuda::available()
}

/// The number of CUDA devices (0 without a usable driver).
#[pyfunction]
pub fn cuda_device_count() -> i32 {
    dlview::cuda::device_count().unwrap_or(0)
}

/// Waits until everything dlview queued on CUDA device `device` is done.
#[pyfunction]
#[pyo3(signature = (device=0))]
pub fn cuda_synchronize(py: Python<'_>, device: i32) -> PyResult<()> {
    py.detach(|| dlview::cuda::synchronize(device)).or_raise()
}

/// `(free, total)` bytes of CUDA device `device`.
#[pyfunction]
#[pyo3(signature = (device=0))]
pub fn cuda_mem_get_info(device: i32) -> PyResult<(u64, u64)> {
    dlview::cuda::mem_get_info(device).or_raise()
}
