//! Making tensors: `asarray` (DLPack objects, capsules, buffer-protocol
//! objects, `__array_interface__`/`__array__` objects such as pandas
//! containers, NumPy scalars, nested sequences), `frombuffer`, `empty`,
//! `zeros`, `arange`.

use crate::convert::{self, type_name};
use crate::errors::OrRaise;
use crate::tensor::{PyTensor, wrap};
use crate::{buffer, dlpack};
use dlview::{DType, Device, Order, Tensor};
use pyo3::exceptions::{PyBufferError, PyOverflowError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyBytes, PyComplex, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple};

/// `dv.asarray(obj, dtype=None, copy=None)` as a core tensor. `copy=True`
/// always gives new memory, `copy=False` raises `BufferError` instead of
/// copying (a dtype change included, for every kind of source).
pub fn asarray_tensor(
    obj: &Bound<'_, PyAny>,
    dtype: Option<DType>,
    copy: Option<bool>,
) -> PyResult<Tensor> {
    let py = obj.py();
    let (t, copied) = source(obj, dtype, copy)?;
    match dtype.filter(|&d| d != t.dtype()) {
        None => Ok(t),
        Some(_) if copy == Some(false) => Err(PyBufferError::new_err(format!(
            "cannot share: converting {} to {} needs a copy",
            t.dtype().name(),
            dtype.map_or("", DType::name)
        ))),
        Some(d) => {
            let _ = copied; // a cast is a new buffer either way
            py.detach(|| t.astype(d, Order::K)).or_raise()
        }
    }
}

/// The tensor `obj` stands for, and whether it is already a private copy.
fn source(
    obj: &Bound<'_, PyAny>,
    dtype: Option<DType>,
    copy: Option<bool>,
) -> PyResult<(Tensor, bool)> {
    let py = obj.py();
    let want_copy = copy == Some(true);
    if let Ok(t) = obj.cast::<PyTensor>() {
        let t = t.get().tensor();
        return if want_copy {
            Ok((t.copy(Order::K).or_raise()?, true))
        } else {
            Ok((t, false))
        };
    }
    if is_ndarray(obj)
        && let Ok(t) = buffer::wrap_buffer(obj)
    {
        // A NumPy array through its buffer: the view DLPack would give
        // (same pointer, strides, dtype, read-only flag), at a third of the
        // cost. Types the buffer protocol cannot describe take DLPack.
        return if want_copy {
            Ok((t.copy(Order::K).or_raise()?, true))
        } else {
            Ok((t, false))
        };
    }
    if obj.is_instance_of::<PyBytes>() && dtype.is_some_and(|d| d != DType::U8) {
        // NumPy reads `bytes` as one string scalar and converts its text.
        return Err(PyValueError::new_err(
            "dv.asarray(bytes, dtype=...) does not reinterpret bytes (NumPy would parse them as text); \
             use dv.frombuffer(data, dtype=...)",
        ));
    }
    if obj.hasattr(pyo3::intern!(py, "__dlpack__"))? || dlpack::is_capsule(obj) {
        let t = dlpack::from_dlpack(obj, copy, None)?;
        return Ok((t, want_copy));
    }
    if let Some(t) = numpy_scalar(obj)? {
        return Ok((t, true));
    }
    if buffer::has_buffer(obj) && !obj.is_instance_of::<PyString>() {
        let t = buffer::wrap_buffer(obj)?;
        return if want_copy {
            Ok((t.copy(Order::K).or_raise()?, true))
        } else {
            Ok((t, false))
        };
    }
    if let Ok(iface) = obj.getattr(pyo3::intern!(py, "__array_interface__"))
        && let Ok(iface) = iface.cast::<PyDict>()
    {
        let t = buffer::wrap_array_interface(obj, iface)?;
        return if want_copy {
            Ok((t.copy(Order::K).or_raise()?, true))
        } else {
            Ok((t, false))
        };
    }
    if obj.hasattr(pyo3::intern!(py, "__array__"))?
        && !obj.is_instance_of::<PyList>()
        && !obj.is_instance_of::<PyTuple>()
    {
        // pandas containers and other array-likes: their NumPy array.
        let arr = obj.call_method0(pyo3::intern!(py, "__array__"))?;
        return source(&arr, dtype, copy);
    }
    if copy == Some(false) {
        return Err(PyBufferError::new_err(format!(
            "cannot share: a {} must be copied to make a tensor",
            type_name(obj)
        )));
    }
    Ok((from_sequence(obj)?, true))
}

/// Whether `obj` is exactly a `numpy.ndarray` (NumPy imported already:
/// dlview never imports it).
fn is_ndarray(obj: &Bound<'_, PyAny>) -> bool {
    static NDARRAY: pyo3::sync::PyOnceLock<Py<pyo3::types::PyType>> = pyo3::sync::PyOnceLock::new();
    let py = obj.py();
    if let Some(t) = NDARRAY.get(py) {
        return obj.get_type().is(t.bind(py));
    }
    let loaded = py
        .import("sys")
        .and_then(|sys| sys.getattr("modules"))
        .and_then(|m| m.get_item("numpy"))
        .and_then(|np| np.getattr("ndarray"))
        .and_then(|t| Ok(t.cast_into::<pyo3::types::PyType>()?));
    match loaded {
        Ok(t) => {
            let _ = NDARRAY.set(py, t.clone().unbind());
            obj.get_type().is(&t)
        }
        Err(_) => false,
    }
}

/// A NumPy scalar (`np.float64(1.5)`) as a new 0-d tensor of its dtype,
/// writeable, as `np.asarray` makes it.
fn numpy_scalar(obj: &Bound<'_, PyAny>) -> PyResult<Option<Tensor>> {
    let ty = obj.get_type();
    if !ty
        .module()
        .is_ok_and(|m| m.to_cow().is_ok_and(|m| m == "numpy"))
        || !buffer::has_buffer(obj)
    {
        return Ok(None);
    }
    if obj
        .getattr(pyo3::intern!(obj.py(), "ndim"))
        .is_ok_and(|n| n.extract::<i64>().is_ok_and(|n| n == 0))
    {
        let view = buffer::wrap_buffer(obj)?;
        return Ok(Some(view.copy(Order::C).or_raise()?));
    }
    Ok(None)
}

/// Python scalar kinds in NumPy's promotion order.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum ScalarKind {
    Bool,
    Int,
    Float,
    Complex,
}

enum Scalar {
    Bool(bool),
    Int(i128),
    Float(f64),
    Complex(f64, f64),
}

impl Scalar {
    fn kind(&self) -> ScalarKind {
        match self {
            Scalar::Bool(_) => ScalarKind::Bool,
            Scalar::Int(_) => ScalarKind::Int,
            Scalar::Float(_) => ScalarKind::Float,
            Scalar::Complex(..) => ScalarKind::Complex,
        }
    }

    fn as_f64(&self) -> f64 {
        match *self {
            Scalar::Bool(b) => f64::from(u8::from(b)),
            Scalar::Int(i) => i as f64,
            Scalar::Float(f) => f,
            Scalar::Complex(re, _) => re,
        }
    }
}

fn scalar(x: &Bound<'_, PyAny>) -> PyResult<Scalar> {
    if let Ok(b) = x.cast::<PyBool>() {
        return Ok(Scalar::Bool(b.is_true()));
    }
    if let Ok(i) = x.cast::<PyInt>() {
        return i.extract::<i128>().map(Scalar::Int).map_err(|_| {
            PyOverflowError::new_err(format!(
                "Python int {i} too large to convert to a tensor element"
            ))
        });
    }
    if let Ok(f) = x.cast::<PyFloat>() {
        return Ok(Scalar::Float(f.value()));
    }
    if let Ok(c) = x.cast::<PyComplex>() {
        return Ok(Scalar::Complex(c.real(), c.imag()));
    }
    if let Ok(t) = x.cast::<PyTensor>() {
        return scalar(&crate::values::scalar(x.py(), &t.get().tensor())?);
    }
    // NumPy and other typed scalars: their Python value.
    if x.getattr(pyo3::intern!(x.py(), "ndim"))
        .is_ok_and(|n| n.extract::<i64>().is_ok_and(|n| n == 0))
        && let Ok(item) = x.call_method0(pyo3::intern!(x.py(), "item"))
    {
        return scalar(&item);
    }
    if let Ok(i) = x.call_method0(pyo3::intern!(x.py(), "__index__")) {
        return scalar(&i);
    }
    if let Ok(f) = x.call_method0(pyo3::intern!(x.py(), "__float__")) {
        return scalar(&f);
    }
    if let Ok(c) = x.call_method0(pyo3::intern!(x.py(), "__complex__")) {
        return scalar(&c);
    }
    Err(PyTypeError::new_err(format!(
        "cannot make a tensor element from {}",
        type_name(x)
    )))
}

fn is_sequence(x: &Bound<'_, PyAny>) -> bool {
    x.is_instance_of::<PyList>() || x.is_instance_of::<PyTuple>()
}

/// Nested lists/tuples of numbers (or one number) as a new tensor with
/// NumPy's dtype: bool < int64 (uint64 beyond it) < float64 < complex128.
fn from_sequence(obj: &Bound<'_, PyAny>) -> PyResult<Tensor> {
    let mut shape = Vec::new();
    let mut probe = obj.clone();
    while is_sequence(&probe) {
        let n = probe.len()?;
        shape.push(n as i64);
        if n == 0 {
            break;
        }
        probe = probe.get_item(0)?;
    }
    let mut flat = Vec::new();
    walk(obj, &shape, 0, &mut flat)?;
    let kind = flat
        .iter()
        .map(Scalar::kind)
        .max()
        .unwrap_or(ScalarKind::Float);
    let dtype = match kind {
        ScalarKind::Bool => DType::BOOL,
        ScalarKind::Int => {
            let fits = |v: &Scalar| match *v {
                Scalar::Int(i) => i64::try_from(i).is_ok(),
                _ => true,
            };
            if flat.iter().all(fits) {
                DType::I64
            } else if flat.iter().all(|v| match *v {
                Scalar::Int(i) => u64::try_from(i).is_ok(),
                _ => true,
            }) {
                DType::U64
            } else {
                return Err(PyOverflowError::new_err(
                    "Python int too large to convert to a tensor element (beyond uint64)",
                ));
            }
        }
        ScalarKind::Float => DType::F64,
        ScalarKind::Complex => DType::C128,
    };
    let mut bytes = Vec::with_capacity(flat.len() * dtype.itemsize());
    for v in &flat {
        match dtype {
            d if d == DType::BOOL => bytes.push(u8::from(matches!(v, Scalar::Bool(true)))),
            d if d == DType::I64 => {
                let i = match *v {
                    Scalar::Int(i) => i as i64,
                    Scalar::Bool(b) => i64::from(b),
                    _ => 0,
                };
                bytes.extend_from_slice(&i.to_ne_bytes());
            }
            d if d == DType::U64 => {
                let i = match *v {
                    Scalar::Int(i) => i as u64,
                    Scalar::Bool(b) => u64::from(b),
                    _ => 0,
                };
                bytes.extend_from_slice(&i.to_ne_bytes());
            }
            d if d == DType::F64 => bytes.extend_from_slice(&v.as_f64().to_ne_bytes()),
            _ => {
                let (re, im) = match *v {
                    Scalar::Complex(re, im) => (re, im),
                    _ => (v.as_f64(), 0.0),
                };
                bytes.extend_from_slice(&re.to_ne_bytes());
                bytes.extend_from_slice(&im.to_ne_bytes());
            }
        }
    }
    from_bytes(&bytes, dtype, &shape)
}

fn walk(x: &Bound<'_, PyAny>, shape: &[i64], depth: usize, flat: &mut Vec<Scalar>) -> PyResult<()> {
    if depth == shape.len() {
        if is_sequence(x) {
            return Err(PyValueError::new_err(
                "setting a tensor element with a sequence: the nested sequences are ragged",
            ));
        }
        flat.push(scalar(x)?);
        return Ok(());
    }
    if !is_sequence(x) || x.len()? as i64 != shape[depth] {
        let got = if is_sequence(x) {
            x.len()?.to_string()
        } else {
            type_name(x)
        };
        return Err(PyValueError::new_err(format!(
            "the nested sequences are ragged: expected length {} at depth {depth}, got {got}",
            shape[depth]
        )));
    }
    for item in x.try_iter()? {
        walk(&item?, shape, depth + 1, flat)?;
    }
    Ok(())
}

/// A new C-order tensor holding `bytes` (exactly its compact size).
pub fn from_bytes(bytes: &[u8], dtype: DType, shape: &[i64]) -> PyResult<Tensor> {
    let mut t = Tensor::empty(dtype, shape, Order::C).or_raise()?;
    if t.nbytes() != bytes.len() {
        return Err(PyValueError::new_err(format!(
            "{} bytes do not make a {} tensor of shape {shape:?} ({} bytes)",
            bytes.len(),
            dtype.name(),
            t.nbytes()
        )));
    }
    if !bytes.is_empty() {
        let p = t.data_ptr_mut().or_raise()?;
        // SAFETY: a fresh compact buffer of exactly `bytes.len()` bytes.
        unsafe { std::ptr::copy_nonoverlapping(bytes.as_ptr(), p, bytes.len()) };
    }
    Ok(t)
}

/// A fresh one-element tensor `t` with its byte set to `value` (bool masks).
pub fn filled_scalar(t: Tensor, value: u8) -> PyResult<Tensor> {
    from_bytes(&[value], t.dtype(), t.shape())
}

// ---- the Python functions -------------------------------------------------------

/// A tensor from `obj`: a `Tensor` (itself), any DLPack producer (NumPy,
/// PyTorch, JAX arrays), a DLPack capsule, a buffer-protocol object
/// (`bytearray`, `array.array`, `memoryview`; shared zero-copy), an
/// `__array_interface__`/`__array__` object (pandas), a NumPy scalar, or
/// nested sequences of numbers (copied). `dtype` casts (a copy);
/// `copy=True` always copies, `copy=False` raises `BufferError` instead of
/// copying.
#[pyfunction]
#[pyo3(signature = (obj, dtype=None, copy=None))]
pub fn asarray<'py>(
    obj: &Bound<'py, PyAny>,
    dtype: Option<&Bound<'py, PyAny>>,
    copy: Option<bool>,
) -> PyResult<Bound<'py, PyAny>> {
    let dtype = dtype
        .filter(|d| !d.is_none())
        .map(convert::dtype)
        .transpose()?;
    if let Ok(t) = obj.cast::<PyTensor>()
        && copy != Some(true)
        && dtype.is_none_or(|d| d == t.get().get().dtype())
    {
        return Ok(t.clone().into_any());
    }
    let t = asarray_tensor(obj, dtype, copy)?;
    Ok(wrap(obj.py(), t, None)?.into_any())
}

/// The bytes of a buffer as a 1-D tensor of `dtype`, zero-copy (NumPy's
/// `frombuffer`): from byte `offset`, `count` elements (-1: all that fit).
/// Read-only when the buffer is (`bytes`), writeable otherwise.
#[pyfunction]
#[pyo3(signature = (buffer, dtype=None, count=-1, offset=0))]
#[pyo3(text_signature = "(buffer, dtype=None, count=-1, offset=0)")]
pub fn frombuffer<'py>(
    buffer: &Bound<'py, PyAny>,
    dtype: Option<&Bound<'py, PyAny>>,
    count: i64,
    offset: i64,
) -> PyResult<Bound<'py, PyTensor>> {
    let dtype = match dtype.filter(|d| !d.is_none()) {
        None => DType::F64,
        Some(d) => convert::dtype(d)?,
    };
    wrap(
        buffer.py(),
        buffer::from_bytes_of(buffer, dtype, count, offset)?,
        None,
    )
}

fn new_tensor<'py>(
    py: Python<'py>,
    shape: &Bound<'py, PyAny>,
    dtype: &Bound<'py, PyAny>,
    order: &str,
    device: Option<&Bound<'py, PyAny>>,
    zeroed: bool,
) -> PyResult<Bound<'py, PyTensor>> {
    let dims = convert::shape(shape)?;
    let dt = convert::dtype(dtype)?;
    let order = convert::order(order)?;
    let device = device
        .filter(|d| !d.is_none())
        .map(convert::device)
        .transpose()?
        .unwrap_or(Device::CPU);
    let t = py.detach(|| match (zeroed, device == Device::CPU) {
        (false, true) => Tensor::empty(dt, &dims, order),
        (true, true) => Tensor::zeros(dt, &dims, order),
        (false, false) => Tensor::empty_on(dt, &dims, order, device),
        (true, false) => Tensor::zeros_on(dt, &dims, order, device),
    });
    wrap(py, t.or_raise()?, None)
}

/// A new writeable tensor of `shape`; contents unspecified. `device`:
/// `"cpu"` (the default), `"cuda:N"` (device memory), `"cuda_host"`
/// (pinned host memory), `"cuda_managed:N"`, or a DLPack `(type, id)` pair;
/// CUDA needs a driver (`RuntimeError` without one).
#[pyfunction]
#[pyo3(signature = (shape, dtype=None, order="C", *, device=None))]
pub fn empty<'py>(
    py: Python<'py>,
    shape: &Bound<'py, PyAny>,
    dtype: Option<&Bound<'py, PyAny>>,
    order: &str,
    device: Option<&Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyTensor>> {
    let dtype = dtype
        .cloned()
        .unwrap_or_else(|| PyString::new(py, "float32").into_any());
    new_tensor(py, shape, &dtype, order, device, false)
}

/// A new writeable tensor of `shape` filled with zeros, on `device` (as in
/// `empty`).
#[pyfunction]
#[pyo3(signature = (shape, dtype=None, order="C", *, device=None))]
pub fn zeros<'py>(
    py: Python<'py>,
    shape: &Bound<'py, PyAny>,
    dtype: Option<&Bound<'py, PyAny>>,
    order: &str,
    device: Option<&Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyTensor>> {
    let dtype = dtype
        .cloned()
        .unwrap_or_else(|| PyString::new(py, "float32").into_any());
    new_tensor(py, shape, &dtype, order, device, true)
}

/// Evenly spaced values in `[start, stop)`, as `numpy.arange` (`arange(n)`
/// is `0, 1, ..., n-1`): int64 for integer arguments, float64 otherwise.
#[pyfunction]
#[pyo3(signature = (start, stop=None, step=None, dtype=None))]
pub fn arange<'py>(
    py: Python<'py>,
    start: &Bound<'py, PyAny>,
    stop: Option<&Bound<'py, PyAny>>,
    step: Option<&Bound<'py, PyAny>>,
    dtype: Option<&Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyTensor>> {
    let (start, stop) = match stop.filter(|s| !s.is_none()) {
        None => (PyInt::new(py, 0).into_any(), start.clone()),
        Some(stop) => (start.clone(), stop.clone()),
    };
    let step = step
        .filter(|s| !s.is_none())
        .cloned()
        .unwrap_or_else(|| PyInt::new(py, 1).into_any());
    let integral = [&start, &stop, &step]
        .iter()
        .all(|v| v.is_instance_of::<PyInt>() || type_name(v).starts_with("int"));
    let t = if integral {
        let (a, b, s) = (
            convert::int64(&start, "start")?,
            convert::int64(&stop, "stop")?,
            convert::int64(&step, "step")?,
        );
        if s == 0 {
            return Err(PyValueError::new_err("arange: step must not be zero"));
        }
        let span = i128::from(b) - i128::from(a);
        let n = if (span > 0) == (s > 0) && span != 0 {
            (span + i128::from(s) - i128::from(s.signum())) / i128::from(s)
        } else {
            0
        };
        let n = i64::try_from(n).map_err(|_| PyValueError::new_err("arange: too many elements"))?;
        let mut t = Tensor::empty(DType::I64, &[n], Order::C).or_raise()?;
        if n > 0 {
            let p = t.data_ptr_mut().or_raise()?.cast::<i64>();
            // SAFETY: a fresh aligned buffer of n int64 values.
            let out = unsafe { std::slice::from_raw_parts_mut(p, n as usize) };
            for (i, v) in out.iter_mut().enumerate() {
                *v = (i128::from(a) + i as i128 * i128::from(s)) as i64;
            }
        }
        t
    } else {
        let (a, b, s): (f64, f64, f64) = (start.extract()?, stop.extract()?, step.extract()?);
        if s == 0.0 {
            return Err(PyValueError::new_err("arange: step must not be zero"));
        }
        let n = ((b - a) / s).ceil().max(0.0);
        if !n.is_finite() || n > i64::MAX as f64 {
            return Err(PyValueError::new_err("arange: too many elements"));
        }
        let n = n as i64;
        let mut t = Tensor::empty(DType::F64, &[n], Order::C).or_raise()?;
        if n > 0 {
            let p = t.data_ptr_mut().or_raise()?.cast::<f64>();
            // SAFETY: a fresh aligned buffer of n float64 values.
            let out = unsafe { std::slice::from_raw_parts_mut(p, n as usize) };
            for (i, v) in out.iter_mut().enumerate() {
                *v = a + i as f64 * s;
            }
        }
        t
    };
    let t = match dtype
        .filter(|d| !d.is_none())
        .map(convert::dtype)
        .transpose()?
    {
        Some(d) if d != t.dtype() => t.astype(d, Order::C).or_raise()?,
        _ => t,
    };
    wrap(py, t, None)
}

/// Unpickling: a new tensor from C-order `bytes` (see `Tensor.__reduce__`).
#[pyfunction]
pub fn _from_bytes<'py>(
    py: Python<'py>,
    data: &Bound<'py, PyBytes>,
    dtype: &str,
    shape: Vec<i64>,
) -> PyResult<Bound<'py, PyTensor>> {
    let dtype = DType::from_name(dtype).or_raise()?;
    wrap(py, from_bytes(data.as_bytes(), dtype, &shape)?, None)
}
