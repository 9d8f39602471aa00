//! `dlview._native`: the whole Python face of dlview, one PyO3 module over
//! the core crate. `dlview/__init__.py` only re-exports it.

mod buffer;
mod convert;
mod creation;
mod dlpack;
mod errors;
mod exchange;
mod functions;
mod index;
mod libinfo;
mod tensor;
mod values;

use pyo3::prelude::*;

/// A tensor sharing the memory of any DLPack producer (an object with
/// `__dlpack__`, or a raw `"dltensor[_versioned]"` capsule).
///
/// Asks the producer for `max_version=(1, 3)` (and passes `copy`, and for
/// CUDA producers `stream=1`: dlview works on the legacy default stream, so
/// the producer makes it wait for its pending work), retrying without
/// arguments if it raises `TypeError`. `copy=True` always gives new memory
/// (even from a producer that ignores the request), `copy=False` never
/// copies (`BufferError` if the producer would have to). A `device` other
/// than the producer's is a copy dlview makes after importing
/// (`BufferError` with `copy=False` or when it cannot). Legacy
/// (unversioned) capsules cannot say whether they may be written, so they
/// are imported read-only. A capsule can be consumed once; a second use
/// raises `ValueError`.
#[pyfunction]
#[pyo3(signature = (x, *, copy=None, device=None))]
fn from_dlpack<'py>(
    x: &Bound<'py, PyAny>,
    copy: Option<bool>,
    device: Option<&Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, tensor::PyTensor>> {
    dlpack::from_dlpack_object(x, copy, device)
}

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add_class::<tensor::PyTensor>()?;
    m.add_class::<tensor::Flags>()?;
    m.add_class::<dlpack::NegativeStridesExport>()?;
    m.add_function(wrap_pyfunction!(from_dlpack, m)?)?;
    m.add_function(wrap_pyfunction!(creation::asarray, m)?)?;
    m.add_function(wrap_pyfunction!(creation::frombuffer, m)?)?;
    m.add_function(wrap_pyfunction!(creation::empty, m)?)?;
    m.add_function(wrap_pyfunction!(creation::zeros, m)?)?;
    m.add_function(wrap_pyfunction!(creation::arange, m)?)?;
    m.add_function(wrap_pyfunction!(creation::_from_bytes, m)?)?;
    for f in [
        wrap_pyfunction!(functions::expand_dims, m)?,
        wrap_pyfunction!(functions::broadcast_to, m)?,
        wrap_pyfunction!(functions::as_strided, m)?,
        wrap_pyfunction!(functions::sliding_window_view, m)?,
        wrap_pyfunction!(functions::ascontiguousarray, m)?,
        wrap_pyfunction!(functions::asfortranarray, m)?,
        wrap_pyfunction!(functions::shares_memory, m)?,
        wrap_pyfunction!(functions::may_share_memory, m)?,
        wrap_pyfunction!(functions::take, m)?,
        wrap_pyfunction!(functions::live_storage_count, m)?,
        wrap_pyfunction!(functions::set_num_threads, m)?,
        wrap_pyfunction!(functions::get_num_threads, m)?,
        wrap_pyfunction!(functions::load, m)?,
        wrap_pyfunction!(functions::save, m)?,
        wrap_pyfunction!(functions::memmap, m)?,
        wrap_pyfunction!(functions::cuda_is_available, m)?,
        wrap_pyfunction!(functions::cuda_device_count, m)?,
        wrap_pyfunction!(functions::cuda_synchronize, m)?,
        wrap_pyfunction!(functions::cuda_mem_get_info, m)?,
        wrap_pyfunction!(libinfo::get_include, m)?,
        wrap_pyfunction!(libinfo::get_library_dir, m)?,
        wrap_pyfunction!(libinfo::get_cmake_dir, m)?,
        wrap_pyfunction!(libinfo::_cli, m)?,
    ] {
        m.add_function(f)?;
    }
    Ok(())
}
