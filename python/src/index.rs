//! A Python indexing key as the core's `Index` items. The semantics (views
//! for basic keys, gathers for index tensors, NumPy's broadcasting and
//! placement rules, every error) are the core's `Tensor::index`.

use crate::convert::type_name;
use crate::creation::asarray_tensor;
use crate::tensor::PyTensor;
use dlview::dtype::Kind;
use dlview::{DType, Index, Order, Tensor};
use pyo3::exceptions::{PyIndexError, PyTypeError};
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyEllipsis, PyFloat, PyInt, PyList, PySlice, PyString, PyTuple};

const BAD_INDEX: &str = "only integers, slices (`:`), ellipsis (`...`), None and integer or boolean tensors are valid indices";

/// The items of `key` (a tuple is several items; anything else is one).
pub fn key(key: &Bound<'_, PyAny>) -> PyResult<Vec<Index>> {
    match key.cast_exact::<PyTuple>() {
        Ok(items) => items.iter().map(|it| item(&it)).collect(),
        Err(_) => Ok(vec![item(key)?]),
    }
}

/// True when some item is an index tensor (the result is a gathered copy).
pub fn has_tensor(key: &[Index]) -> bool {
    key.iter().any(|k| matches!(k, Index::Tensor(_)))
}

fn item(it: &Bound<'_, PyAny>) -> PyResult<Index> {
    if let Ok(i) = it.cast_exact::<PyInt>() {
        return int(i.as_any());
    }
    if it.is_none() {
        return Ok(Index::NewAxis);
    }
    if it.is_instance_of::<PyEllipsis>() {
        return Ok(Index::Ellipsis);
    }
    if let Ok(s) = it.cast_exact::<PySlice>() {
        let py = s.py();
        let bound = |name: &Bound<'_, PyString>| -> PyResult<Option<i64>> {
            let b = s.getattr(name)?;
            if b.is_none() {
                Ok(None)
            } else {
                slice_bound(&b).map(Some)
            }
        };
        return Ok(Index::slice(
            bound(pyo3::intern!(py, "start"))?,
            bound(pyo3::intern!(py, "stop"))?,
            bound(pyo3::intern!(py, "step"))?,
        ));
    }
    if let Ok(t) = it.cast::<PyTensor>() {
        return Ok(Index::Tensor(t.get().tensor()));
    }
    if it.is_instance_of::<PyBool>() || type_name(it) == "bool" || type_name(it) == "bool_" {
        // NumPy's t[True] / t[False]: a 0-d boolean index.
        let mask = Tensor::empty(DType::BOOL, &[], Order::C).map_err(crate::errors::to_py)?;
        let mask = crate::creation::filled_scalar(mask, it.is_truthy()? as u8)?;
        return Ok(Index::Tensor(mask));
    }
    if it.is_instance_of::<PyString>()
        || it.is_instance_of::<pyo3::types::PyBytes>()
        || it.is_instance_of::<PyFloat>()
        || it.is_instance_of::<pyo3::types::PyComplex>()
    {
        return Err(PyIndexError::new_err(BAD_INDEX));
    }
    if it.is_instance_of::<PyList>()
        || it.is_instance_of::<PyTuple>()
        || it.hasattr(pyo3::intern!(it.py(), "__dlpack__"))?
        || it.hasattr(pyo3::intern!(it.py(), "__array__"))?
    {
        return index_tensor(it).map(Index::Tensor);
    }
    match crate::convert::index_of(it) {
        Ok(i) => int(&i),
        Err(e) if e.is_instance_of::<PyTypeError>(it.py()) => Err(PyIndexError::new_err(BAD_INDEX)),
        Err(e) if e.is_instance_of::<pyo3::exceptions::PyAttributeError>(it.py()) => {
            Err(PyIndexError::new_err(BAD_INDEX))
        }
        Err(e) => Err(e),
    }
}

/// An integer item: beyond int64 it is `IndexError`, never a wrapped value.
fn int(i: &Bound<'_, PyAny>) -> PyResult<Index> {
    match i.extract::<i64>() {
        Ok(v) => Ok(Index::Int(v)),
        Err(_) => Err(PyIndexError::new_err(format!(
            "index {} does not fit in a 64-bit integer",
            i.str()?
        ))),
    }
}

/// A slice bound or step as int64. Python clamps bounds beyond any length,
/// so clamping to the int64 range (leaving `i64::MIN` to mean "none")
/// changes nothing.
fn slice_bound(b: &Bound<'_, PyAny>) -> PyResult<i64> {
    if let Ok(Ok(v)) = b.cast_exact::<PyInt>().map(|i| i.extract::<i64>()) {
        return Ok(v);
    }
    let i = crate::convert::index_of(b).map_err(|_| {
        PyTypeError::new_err("slice indices must be integers or None or have an __index__ method")
    })?;
    match i.extract::<i64>() {
        Ok(v) => Ok(v.max(i64::MIN + 1)),
        Err(_) if i.lt(0)? => Ok(i64::MIN + 1),
        Err(_) => Ok(i64::MAX),
    }
}

/// An advanced index as a tensor. An empty sequence is an empty int64
/// index (NumPy's rule); any other dtype is the core's to accept or refuse.
fn index_tensor(it: &Bound<'_, PyAny>) -> PyResult<Tensor> {
    let t = asarray_tensor(it, None, None)?;
    let kind = t.dtype().kind();
    if t.size() == 0 && !matches!(kind, Kind::Int | Kind::UInt | Kind::Bool) {
        return t.astype(DType::I64, Order::C).map_err(crate::errors::to_py);
    }
    Ok(t)
}
