//! Python arguments into core values: dtypes, devices, shapes, orders,
//! copy modes and axes. Every rule about what they mean is the core's; this
//! only reads Python objects.

use crate::errors::OrRaise;
use dlview::{CopyMode, DType, Device, Order};
use pyo3::exceptions::{PyOverflowError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyInt, PyList, PyString, PyTuple, PyType};

/// A dtype from a name (`"float32"`), a Python type (`bool`, `int`,
/// `float`, `complex`), or any object that names one: NumPy dtypes and
/// scalar types (`.name`, `__name__`), `torch.float32`, `jnp.bfloat16`.
pub fn dtype(obj: &Bound<'_, PyAny>) -> PyResult<DType> {
    if let Ok(name) = obj.cast::<PyString>() {
        return DType::from_name(&name.to_cow()?).or_raise();
    }
    let py = obj.py();
    if let Ok(ty) = obj.cast::<PyType>() {
        let builtins = [
            (py.get_type::<pyo3::types::PyBool>(), DType::BOOL),
            (py.get_type::<pyo3::types::PyInt>(), DType::I64),
            (py.get_type::<pyo3::types::PyFloat>(), DType::F64),
            (py.get_type::<pyo3::types::PyComplex>(), DType::C128),
        ];
        if let Some((_, dt)) = builtins.iter().find(|(t, _)| t.is(ty)) {
            return Ok(*dt);
        }
    }
    for attr in [pyo3::intern!(py, "name"), pyo3::intern!(py, "__name__")] {
        if let Ok(name) = obj.getattr(attr)
            && let Ok(name) = name.cast::<PyString>()
        {
            return DType::from_name(&name.to_cow()?).or_raise();
        }
    }
    let text = obj.str()?;
    let text = text.to_cow()?;
    DType::from_name(text.strip_prefix("torch.").unwrap_or(&text)).or_raise()
}

/// A device from a name (`"cpu"`, `"cuda:0"`), a DLPack `(type, id)` pair,
/// a `torch.device` (`type`, `index`) or a JAX device (`platform`, `id`).
pub fn device(obj: &Bound<'_, PyAny>) -> PyResult<Device> {
    if let Ok(name) = obj.cast::<PyString>() {
        return device_name(&name.to_cow()?);
    }
    if let Ok(pair) = obj.cast::<PyTuple>()
        && pair.len() == 2
    {
        let (kind, id): (i32, i32) = pair.extract()?;
        return Ok(Device::new(kind, id));
    }
    let py = obj.py();
    if let Ok(kind) = obj.getattr(pyo3::intern!(py, "type"))
        && let Ok(kind) = kind.cast::<PyString>()
    {
        let index: Option<i32> = obj.getattr(pyo3::intern!(py, "index"))?.extract()?;
        let name = match index {
            Some(i) => format!("{}:{i}", kind.to_cow()?),
            None => kind.to_cow()?.into_owned(),
        };
        return Device::parse(&name).or_raise();
    }
    if let Ok(platform) = obj.getattr(pyo3::intern!(py, "platform"))
        && let Ok(platform) = platform.cast::<PyString>()
    {
        let platform = platform.to_cow()?;
        if platform == "cpu" {
            return Ok(Device::CPU);
        }
        let id: i32 = obj.getattr(pyo3::intern!(py, "id"))?.extract()?;
        return Device::parse(&format!("{platform}:{id}")).or_raise();
    }
    device_name(&obj.str()?.to_cow()?)
}

/// A device by name; a NUL byte is refused (a C caller would read a prefix).
fn device_name(name: &str) -> PyResult<Device> {
    if name.contains('\0') {
        return Err(PyValueError::new_err(format!(
            "device name {name:?} contains a NUL byte"
        )));
    }
    Device::parse(name).or_raise()
}

/// One Python integer as `i64`: `OverflowError` beyond int64, never a wrap.
pub fn int64(obj: &Bound<'_, PyAny>, what: &str) -> PyResult<i64> {
    let overflow = |i: &Bound<'_, PyAny>| {
        PyOverflowError::new_err(format!(
            "{what} {i} does not fit in a 64-bit signed integer"
        ))
    };
    // The common case, a plain int, without the `__index__` protocol.
    if let Ok(i) = obj.cast_exact::<PyInt>() {
        return i.extract::<i64>().map_err(|_| overflow(obj));
    }
    let index = index_of(obj).map_err(|_| {
        PyTypeError::new_err(format!("{what} must be an integer, not {}", type_name(obj)))
    })?;
    index.extract::<i64>().map_err(|_| overflow(&index))
}

/// `operator.index(obj)` (the C-level `PyNumber_Index`).
pub fn index_of<'py>(obj: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
    // SAFETY: GIL held, a live object; a NULL result has the error set.
    unsafe {
        let r = pyo3::ffi::PyNumber_Index(obj.as_ptr());
        if r.is_null() {
            Err(PyErr::fetch(obj.py()))
        } else {
            Ok(Bound::from_owned_ptr(obj.py(), r))
        }
    }
}

/// A shape: an int, or a sequence (tuple, list) of ints.
pub fn shape(obj: &Bound<'_, PyAny>) -> PyResult<Vec<i64>> {
    if let Ok(t) = obj.cast::<PyTuple>() {
        return t.iter().map(|d| int64(&d, "a dimension")).collect();
    }
    if let Ok(l) = obj.cast::<PyList>() {
        return l.iter().map(|d| int64(&d, "a dimension")).collect();
    }
    Ok(vec![int64(obj, "a dimension")?])
}

/// `f(2, 3)` and `f((2, 3))` mean the same (NumPy's `reshape`, `transpose`).
pub fn varargs_shape(args: &Bound<'_, PyTuple>) -> PyResult<Vec<i64>> {
    if args.len() == 1 {
        let first = args.get_item(0)?;
        if first.is_instance_of::<PyTuple>() || first.is_instance_of::<PyList>() {
            return shape(&first);
        }
    }
    args.iter().map(|d| int64(&d, "a dimension")).collect()
}

/// An order letter: `"C"`, `"F"`, `"K"` (`"A"` is taken as `"K"`).
pub fn order(text: &str) -> PyResult<Order> {
    match text.to_ascii_uppercase().as_str() {
        "C" => Ok(Order::C),
        "F" => Ok(Order::F),
        "K" | "A" => Ok(Order::K),
        _ => Err(PyValueError::new_err(format!(
            "order must be one of 'C', 'F', 'K', 'A', got {text:?}"
        ))),
    }
}

/// The Array API's `copy`: `None` if needed, `True` always, `False` never.
pub fn copy_mode(copy: Option<bool>) -> CopyMode {
    match copy {
        None => CopyMode::IfNeeded,
        Some(true) => CopyMode::Always,
        Some(false) => CopyMode::Never,
    }
}

/// An axis in `0..ndim` (negative counts from the end).
pub fn axis(obj: &Bound<'_, PyAny>, ndim: usize) -> PyResult<i64> {
    let a = int64(obj, "axis")?;
    let n = ndim as i64;
    if !(-n..n).contains(&a) {
        return Err(PyValueError::new_err(format!(
            "axis {a} is out of bounds for a tensor of dimension {ndim}"
        )));
    }
    Ok(if a < 0 { a + n } else { a })
}

/// The type name of an object, for messages.
pub fn type_name(obj: &Bound<'_, PyAny>) -> String {
    obj.get_type()
        .name()
        .map(|n| n.to_string())
        .unwrap_or_else(|_| "object".into())
}
