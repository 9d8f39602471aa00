//! Elements as Python objects: `tolist`, `item`, scalars, and the bytes
//! of a tensor for pickling. Element access needs host memory and an
//! addressable type; types Python has no scalar for (float16, bfloat16,
//! float8) are widened exactly to float32 by the core first.

use crate::errors::OrRaise;
use dlview::dtype::Kind;
use dlview::{DType, Order, Tensor};
use pyo3::exceptions::{PyIndexError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyComplex, PyList, PyTuple};

/// `tolist`: nested lists, or a scalar for a 0-d tensor.
pub fn tolist<'py>(py: Python<'py>, t: &Tensor) -> PyResult<Bound<'py, PyAny>> {
    let t = readable(t)?;
    let itemsize = t.dtype().itemsize() as isize;
    let strides: Vec<isize> = t.strides().iter().map(|&s| s as isize * itemsize).collect();
    let shape: Vec<i64> = t.shape().to_vec();
    if shape.contains(&0) {
        return empty_nested(py, &shape);
    }
    nested(py, &t, t.data_ptr(), &shape, &strides)
}

/// One element of a one-element tensor (`t.item()`).
pub fn scalar<'py>(py: Python<'py>, t: &Tensor) -> PyResult<Bound<'py, PyAny>> {
    let t = readable(t)?;
    if t.size() != 1 {
        return Err(PyValueError::new_err(
            "can only convert a tensor of size 1 to a Python scalar",
        ));
    }
    // SAFETY: a one-element readable view: element 0 is at data_ptr.
    unsafe { element(py, t.dtype(), t.data_ptr()) }
}

/// `int(t)`, `float(t)`, `complex(t)`: the single element.
pub fn only_element<'py>(py: Python<'py>, t: &Tensor) -> PyResult<Bound<'py, PyAny>> {
    scalar(py, t)
}

/// `t.item(*args)`: no argument for a one-element tensor, one flat index
/// (C order) or one index per axis otherwise.
pub fn item<'py>(
    py: Python<'py>,
    t: &Tensor,
    args: &Bound<'py, PyTuple>,
) -> PyResult<Bound<'py, PyAny>> {
    if args.is_empty() {
        return scalar(py, t);
    }
    let mut view = t.clone();
    if args.len() == 1 && t.ndim() != 1 {
        let flat = crate::convert::int64(&args.get_item(0)?, "index")?;
        let size = t.size();
        let i = if flat < 0 { flat + size } else { flat };
        if !(0..size).contains(&i) {
            return Err(PyIndexError::new_err(format!(
                "index {flat} is out of bounds for size {size}"
            )));
        }
        let mut rest = i;
        let mut index = vec![0i64; t.ndim()];
        for (k, &n) in t.shape().iter().enumerate().rev() {
            index[k] = rest % n;
            rest /= n;
        }
        for &i in &index {
            view = view.select(0, i).or_raise()?;
        }
        return scalar(py, &view);
    }
    for a in args.iter() {
        view = view
            .select(0, crate::convert::int64(&a, "index")?)
            .or_raise()?;
    }
    scalar(py, &view)
}

/// The elements in C order as `bytes` (host memory only).
pub fn c_order_bytes<'py>(py: Python<'py>, t: &Tensor) -> PyResult<Bound<'py, PyBytes>> {
    t.device().require_host("reading elements").or_raise()?;
    let compact = if t.layout().is_c_contiguous() {
        t.clone()
    } else {
        t.copy(Order::C).or_raise()?
    };
    let n = compact.nbytes();
    if n == 0 {
        return Ok(PyBytes::new(py, &[]));
    }
    // SAFETY: a compact host view of `n` bytes, alive for the call.
    let bytes = unsafe { std::slice::from_raw_parts(compact.data_ptr(), n) };
    Ok(PyBytes::new(py, bytes))
}

/// `t` in a form whose elements Python reads directly: host memory, and
/// types without a Python scalar widened to float32.
fn readable(t: &Tensor) -> PyResult<Tensor> {
    t.device().require_host("reading elements").or_raise()?;
    t.dtype()
        .require_addressable("reading elements")
        .or_raise()?;
    match t.dtype().kind() {
        // float4_e2m1fn_x2: a byte of two packed values, exchange only.
        Kind::SubByte => Err(pyo3::exceptions::PyBufferError::new_err(format!(
            "reading elements is not supported for the packed dtype {}",
            t.dtype().name()
        ))),
        Kind::BFloat | Kind::Float8 => t.astype(DType::F32, Order::C).or_raise(),
        Kind::Float if t.dtype() == DType::F16 => t.astype(DType::F32, Order::C).or_raise(),
        _ => Ok(t.clone()),
    }
}

fn nested<'py>(
    py: Python<'py>,
    t: &Tensor,
    ptr: *const u8,
    shape: &[i64],
    strides: &[isize],
) -> PyResult<Bound<'py, PyAny>> {
    let Some((&n, inner_shape)) = shape.split_first() else {
        // SAFETY: `ptr` is an element of the readable view `t`: the caller
        // walked to it within the layout's shape and strides.
        return unsafe { element(py, t.dtype(), ptr) };
    };
    let list = PyList::empty(py);
    for i in 0..n as isize {
        let p = ptr.wrapping_offset(i * strides[0]);
        list.append(nested(py, t, p, inner_shape, &strides[1..])?)?;
    }
    Ok(list.into_any())
}

fn empty_nested<'py>(py: Python<'py>, shape: &[i64]) -> PyResult<Bound<'py, PyAny>> {
    let list = PyList::empty(py);
    if shape.len() > 1 {
        for _ in 0..shape[0] {
            list.append(empty_nested(py, &shape[1..])?)?;
        }
    }
    Ok(list.into_any())
}

/// One element as a Python scalar.
///
/// # Safety
/// `p` points to a readable element of type `dtype` in host memory
/// (possibly unaligned).
unsafe fn element<'py>(py: Python<'py>, dtype: DType, p: *const u8) -> PyResult<Bound<'py, PyAny>> {
    // SAFETY: per the contract; read_unaligned accepts any alignment.
    unsafe {
        let v = match (dtype.kind(), dtype.bits()) {
            (Kind::Bool, _) => (p.read() != 0).into_pyobject(py)?.to_owned().into_any(),
            (Kind::Int, 8) => p.cast::<i8>().read().into_pyobject(py)?.into_any(),
            (Kind::Int, 16) => p
                .cast::<i16>()
                .read_unaligned()
                .into_pyobject(py)?
                .into_any(),
            (Kind::Int, 32) => p
                .cast::<i32>()
                .read_unaligned()
                .into_pyobject(py)?
                .into_any(),
            (Kind::Int, _) => p
                .cast::<i64>()
                .read_unaligned()
                .into_pyobject(py)?
                .into_any(),
            (Kind::UInt, 8) => p.read().into_pyobject(py)?.into_any(),
            (Kind::UInt, 16) => p
                .cast::<u16>()
                .read_unaligned()
                .into_pyobject(py)?
                .into_any(),
            (Kind::UInt, 32) => p
                .cast::<u32>()
                .read_unaligned()
                .into_pyobject(py)?
                .into_any(),
            (Kind::UInt, _) => p
                .cast::<u64>()
                .read_unaligned()
                .into_pyobject(py)?
                .into_any(),
            (Kind::Float, 32) => f64::from(p.cast::<f32>().read_unaligned())
                .into_pyobject(py)?
                .into_any(),
            (Kind::Float, _) => p
                .cast::<f64>()
                .read_unaligned()
                .into_pyobject(py)?
                .into_any(),
            (Kind::Complex, 64) => {
                let re = p.cast::<f32>().read_unaligned();
                let im = p.cast::<f32>().add(1).read_unaligned();
                PyComplex::from_doubles(py, re.into(), im.into()).into_any()
            }
            (Kind::Complex, _) => {
                let re = p.cast::<f64>().read_unaligned();
                let im = p.cast::<f64>().add(1).read_unaligned();
                PyComplex::from_doubles(py, re, im).into_any()
            }
            _ => {
                return Err(PyValueError::new_err(format!(
                    "no Python scalar for {}",
                    dtype.name()
                )));
            }
        };
        Ok(v)
    }
}
