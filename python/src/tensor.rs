//! `dlview.Tensor`: one core `Tensor` (a view) owned by a Python object, and
//! `dlview.Flags`, its live flags.
//!
//! Views, copies and flags are the core's; this converts arguments (strides
//! are in **bytes** here, as in NumPy, and in elements in the core) and
//! keeps NumPy's `base` identity: a view's `base` is the Python object of
//! the root it derives from.

use crate::convert;
use crate::errors::OrRaise;
use crate::{buffer, dlpack, index, values};
use dlview::tensor::flags as bits;
use dlview::{CopyMode, DType, Device, Order, Tensor};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyTuple};
use std::sync::{RwLock, RwLockReadGuard};

/// A strided view of typed memory, shared zero-copy with NumPy, PyTorch,
/// JAX and C through DLPack.
#[pyclass(frozen, weakref, module = "dlview", name = "Tensor")]
pub struct PyTensor {
    /// Written only by `setflags`; every other use reads. The lock serialises
    /// `setflags` against concurrent use of the same object from threads.
    inner: RwLock<Tensor>,
    /// The Python object of the root this view derives from (NumPy's
    /// `base`), when that object is known; `None` for a root.
    root: Option<Py<PyTensor>>,
}

impl PyTensor {
    /// The core view (a read lock, held briefly).
    pub fn get(&self) -> RwLockReadGuard<'_, Tensor> {
        self.inner.read().unwrap_or_else(|e| e.into_inner())
    }

    /// Another handle to the same view.
    pub fn tensor(&self) -> Tensor {
        self.get().clone()
    }
}

/// A new Python tensor owning `t`. `parent` is the object `t` was derived
/// from, if any: its root becomes `t`'s `base` when the core says `t` is a
/// view (a copy has no base).
pub fn wrap<'py>(
    py: Python<'py>,
    t: Tensor,
    parent: Option<&Bound<'py, PyTensor>>,
) -> PyResult<Bound<'py, PyTensor>> {
    let root = match (t.base(), parent) {
        (Some(_), Some(p)) => {
            let p_ref = p.get();
            match &p_ref.root {
                Some(r) => Some(r.clone_ref(py)),
                None if p_ref.get().base().is_none() => Some(p.clone().unbind()),
                None => None,
            }
        }
        _ => None,
    };
    Bound::new(
        py,
        PyTensor {
            inner: RwLock::new(t),
            root,
        },
    )
}

/// `wrap` for a core result derived from `parent`.
fn derived<'py>(
    parent: &Bound<'py, PyTensor>,
    t: dlview::Result<Tensor>,
) -> PyResult<Bound<'py, PyTensor>> {
    wrap(parent.py(), t.or_raise()?, Some(parent))
}

/// Bytes per element, 0 for packed sub-byte types.
fn itemsize(dt: DType) -> usize {
    if dt.is_sub_byte() { 0 } else { dt.itemsize() }
}

#[pymethods]
impl PyTensor {
    // ---- metadata ---------------------------------------------------------

    /// The size of each axis.
    #[getter]
    fn shape<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        PyTuple::new(py, self.get().shape())
    }

    /// Bytes to step in memory for one step along each axis (may be 0 or negative).
    #[getter]
    fn strides<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        let t = self.get();
        let item = itemsize(t.dtype()) as i64;
        PyTuple::new(py, t.strides().iter().map(|s| s * item))
    }

    /// Number of axes.
    #[getter]
    fn ndim(&self) -> usize {
        self.get().ndim()
    }

    /// Number of elements.
    #[getter]
    fn size(&self) -> i64 {
        self.get().size()
    }

    /// Bytes per element (0 for packed sub-byte types).
    #[getter]
    fn itemsize(&self) -> usize {
        itemsize(self.get().dtype())
    }

    /// `size * itemsize` bytes (the packed size for sub-byte types).
    #[getter]
    fn nbytes(&self) -> usize {
        self.get().nbytes()
    }

    /// The element type's name: `"float32"`, `"bfloat16"`, `"bool"`, ...
    #[getter]
    fn dtype(&self) -> &'static str {
        self.get().dtype().name()
    }

    /// Where the memory lives: `"cpu"`, `"cuda:0"`, ...
    #[getter]
    fn device(&self) -> String {
        self.get().device().to_string()
    }

    /// The live flags (`t.flags.writeable`, `t.flags["C_CONTIGUOUS"]`).
    #[getter]
    fn flags(slf: &Bound<'_, Self>) -> Flags {
        Flags {
            t: slf.clone().unbind(),
        }
    }

    /// The tensor this view derives from (a root, as NumPy's `base`), or
    /// `None` when it owns its data.
    #[getter]
    fn base<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyTensor>>> {
        if let Some(root) = &self.root {
            return Ok(Some(root.bind(py).clone()));
        }
        let base = self.get().base().cloned();
        base.map(|b| wrap(py, b, None)).transpose()
    }

    /// Address of element `[0, ..., 0]` (0 when the tensor has no elements).
    #[getter]
    fn data_ptr(&self) -> usize {
        self.get().data_ptr() as usize
    }

    /// Sets or clears WRITEABLE (clearing always works; setting fails with
    /// `ValueError` on read-only memory or overlapping views).
    #[pyo3(signature = (write=None, align=None, uic=None))]
    fn setflags(
        &self,
        write: Option<bool>,
        align: Option<bool>,
        uic: Option<bool>,
    ) -> PyResult<()> {
        if align.is_some() || uic.is_some() {
            return Err(PyValueError::new_err("only the write flag can be changed"));
        }
        if let Some(w) = write {
            let mut t = self.inner.write().unwrap_or_else(|e| e.into_inner());
            t.set_writeable(w).or_raise()?;
        }
        Ok(())
    }

    /// Writes changes made through an `"r+"`/`"w+"` memory map back to its
    /// file and waits for them (nothing to do for other tensors).
    fn flush(&self, py: Python<'_>) -> PyResult<()> {
        let t = self.tensor();
        py.detach(|| dlview::mmap::flush(&t)).or_raise()
    }

    /// A diagnostic text: shape, strides, dtype, device, data pointer, flags,
    /// nbytes, base.
    fn info(&self) -> String {
        self.get().describe()
    }

    // ---- views ------------------------------------------------------------

    /// The view with all axes reversed.
    #[getter(T)]
    fn transposed<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyTensor>> {
        derived(slf, slf.get().get().transpose())
    }

    /// The view with axes permuted (`axes[k]` is the source of result axis
    /// `k`); no arguments reverses them.
    #[pyo3(signature = (*axes))]
    fn transpose<'py>(
        slf: &Bound<'py, Self>,
        axes: &Bound<'py, PyTuple>,
    ) -> PyResult<Bound<'py, PyTensor>> {
        if axes.is_empty() || (axes.len() == 1 && axes.get_item(0)?.is_none()) {
            return Self::transposed(slf);
        }
        let perm = convert::varargs_shape(axes)?;
        let t = slf.get().get();
        if perm.len() != t.ndim() {
            return Err(PyValueError::new_err(format!(
                "axes don't match tensor: got {} axes for a {}-d tensor",
                perm.len(),
                t.ndim()
            )));
        }
        derived(slf, t.permute(&perm))
    }

    /// Alias of `transpose` with explicit axes (PyTorch's name).
    #[pyo3(signature = (*axes))]
    fn permute<'py>(
        slf: &Bound<'py, Self>,
        axes: &Bound<'py, PyTuple>,
    ) -> PyResult<Bound<'py, PyTensor>> {
        Self::transpose(slf, axes)
    }

    /// The tensor with a new shape (one entry may be -1): a view when the
    /// layout allows it, otherwise a C-order copy (`copy=False` forbids the
    /// copy: `BufferError`; `copy=True` always copies).
    #[pyo3(signature = (*shape, copy=None))]
    fn reshape<'py>(
        slf: &Bound<'py, Self>,
        shape: &Bound<'py, PyTuple>,
        copy: Option<bool>,
    ) -> PyResult<Bound<'py, PyTensor>> {
        let dims = convert::varargs_shape(shape)?;
        let t = slf.get().tensor();
        let mode = convert::copy_mode(copy);
        let out = if mode == CopyMode::Never || t.size() < COPY_DETACH_ELEMENTS {
            t.reshape(&dims, mode)
        } else {
            slf.py().detach(|| t.reshape(&dims, mode))
        };
        derived(slf, out)
    }

    /// The view without the given size-1 axes (all of them by default).
    #[pyo3(signature = (axis=None))]
    fn squeeze<'py>(
        slf: &Bound<'py, Self>,
        axis: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyTensor>> {
        let t = slf.get().tensor();
        let Some(axis) = axis.filter(|a| !a.is_none()) else {
            return derived(slf, t.squeeze(None));
        };
        if axis.is_instance_of::<PyTuple>() || axis.is_instance_of::<pyo3::types::PyList>() {
            let mut axes = axis
                .try_iter()?
                .map(|a| convert::axis(&a?, t.ndim()))
                .collect::<PyResult<Vec<_>>>()?;
            axes.sort_unstable();
            axes.dedup();
            let mut out = t;
            for a in axes.into_iter().rev() {
                out = out.squeeze(Some(a)).or_raise()?;
            }
            return derived(slf, Ok(out));
        }
        derived(slf, t.squeeze(Some(convert::int64(axis, "axis")?)))
    }

    /// The view with the order of elements reversed along `axis` (every
    /// axis by default).
    #[pyo3(signature = (axis=None))]
    fn flip<'py>(
        slf: &Bound<'py, Self>,
        axis: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyTensor>> {
        let mut out = slf.get().tensor();
        let axes: Vec<i64> = match axis.filter(|a| !a.is_none()) {
            None => (0..out.ndim() as i64).collect(),
            Some(a)
                if a.is_instance_of::<PyTuple>() || a.is_instance_of::<pyo3::types::PyList>() =>
            {
                a.try_iter()?
                    .map(|x| convert::int64(&x?, "axis"))
                    .collect::<PyResult<_>>()?
            }
            Some(a) => vec![convert::int64(a, "axis")?],
        };
        for a in axes {
            out = out.flip(a).or_raise()?;
        }
        derived(slf, Ok(out))
    }

    // ---- copies -----------------------------------------------------------

    /// A new writeable tensor with the same elements, in `order` (`"C"`,
    /// `"F"` or `"K"` to keep the axis order).
    #[pyo3(signature = (order="C"))]
    fn copy<'py>(&self, py: Python<'py>, order: &str) -> PyResult<Bound<'py, PyTensor>> {
        let order = convert::order(order)?;
        let t = self.tensor();
        wrap(py, copy_detached(py, &t, |t| t.copy(order))?, None)
    }

    /// This tensor on `device` (`"cpu"`, `"cuda:0"`, `"cuda_host"`, a DLPack
    /// `(type, id)` pair or a `torch.device`): itself when it is there
    /// already (unless `copy=True`), else a new compact tensor (`order` `"K"`
    /// keeps the axis order) copied through the CUDA driver. `RuntimeError`
    /// when no CUDA driver or device is available.
    #[pyo3(signature = (device, *, copy=false, order="K"))]
    fn to<'py>(
        slf: &Bound<'py, Self>,
        device: &Bound<'py, PyAny>,
        copy: bool,
        order: &str,
    ) -> PyResult<Bound<'py, PyTensor>> {
        let dev = convert::device(device)?;
        let order = convert::order(order)?;
        let t = slf.get().tensor();
        if !copy && t.device() == dev {
            return Ok(slf.clone());
        }
        wrap(
            slf.py(),
            copy_detached(slf.py(), &t, |t| t.to_device(dev, order))?,
            None,
        )
    }

    /// `self.to("cpu")`.
    fn cpu<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyTensor>> {
        let t = slf.get().tensor();
        if t.device() == Device::CPU {
            return Ok(slf.clone());
        }
        wrap(
            slf.py(),
            copy_detached(slf.py(), &t, |t| t.to_device(Device::CPU, Order::K))?,
            None,
        )
    }

    /// The elements cast to `dtype` (NumPy's unsafe casting) in a new
    /// tensor; with `copy=False` the tensor itself when nothing changes.
    #[pyo3(signature = (dtype, copy=true, order="K"))]
    fn astype<'py>(
        slf: &Bound<'py, Self>,
        dtype: &Bound<'py, PyAny>,
        copy: bool,
        order: &str,
    ) -> PyResult<Bound<'py, PyTensor>> {
        let dt = convert::dtype(dtype)?;
        let order = convert::order(order)?;
        let t = slf.get().tensor();
        if !copy && t.dtype() == dt {
            return Ok(slf.clone());
        }
        wrap(
            slf.py(),
            copy_detached(slf.py(), &t, |t| t.astype(dt, order))?,
            None,
        )
    }

    fn __copy__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTensor>> {
        self.copy(py, "K")
    }

    fn __deepcopy__<'py>(
        &self,
        py: Python<'py>,
        _memo: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyTensor>> {
        self.copy(py, "K")
    }

    /// Pickling: the elements' bytes in C order, the dtype and the shape
    /// (CPU tensors only); unpickling makes an independent writeable copy.
    fn __reduce__<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyTuple>> {
        let py = slf.py();
        let t = slf.get().tensor();
        let bytes = values::c_order_bytes(py, &t)?;
        let rebuild = py.import("dlview._native")?.getattr("_from_bytes")?;
        let args = (bytes, t.dtype().name(), PyTuple::new(py, t.shape())?);
        PyTuple::new(py, [rebuild, args.into_pyobject(py)?.into_any()])
    }

    // ---- values -----------------------------------------------------------

    /// The elements as nested Python lists of `bool`/`int`/`float`/`complex`.
    fn tolist<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        values::tolist(py, &self.tensor())
    }

    /// One element as a Python scalar: `t.item()` for a one-element tensor,
    /// `t.item(i, j)` or `t.item(flat_index)` otherwise.
    #[pyo3(signature = (*args))]
    fn item<'py>(
        &self,
        py: Python<'py>,
        args: &Bound<'py, PyTuple>,
    ) -> PyResult<Bound<'py, PyAny>> {
        values::item(py, &self.tensor(), args)
    }

    fn __len__(&self) -> PyResult<usize> {
        match self.get().shape().first() {
            Some(&n) => Ok(n as usize),
            None => Err(PyTypeError::new_err("len() of unsized object")),
        }
    }

    fn __iter__<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyAny>> {
        let t = slf.get().tensor();
        if t.ndim() == 0 {
            return Err(PyTypeError::new_err("iteration over a 0-d tensor"));
        }
        let rows = (0..t.shape()[0])
            .map(|i| derived(slf, t.select(0, i)))
            .collect::<PyResult<Vec<_>>>()?;
        pyo3::types::PyList::new(slf.py(), rows)?
            .try_iter()
            .map(|it| it.into_any())
    }

    fn __bool__(&self, py: Python<'_>) -> PyResult<bool> {
        let t = self.tensor();
        if t.size() != 1 {
            return Err(PyValueError::new_err(
                "the truth value of a tensor with more than one element is ambiguous",
            ));
        }
        values::scalar(py, &t)?.is_truthy()
    }

    fn __int__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let v = values::only_element(py, &self.tensor())?;
        py.get_type::<pyo3::types::PyInt>().call1((v,))
    }

    fn __float__(&self, py: Python<'_>) -> PyResult<f64> {
        values::only_element(py, &self.tensor())?.extract()
    }

    fn __complex__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let v = values::only_element(py, &self.tensor())?;
        py.get_type::<pyo3::types::PyComplex>().call1((v,))
    }

    fn __index__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let t = self.tensor();
        let integer = matches!(
            t.dtype().kind(),
            dlview::dtype::Kind::Int | dlview::dtype::Kind::UInt
        );
        if t.ndim() != 0 || !integer {
            return Err(PyTypeError::new_err(
                "only integer 0-d tensors can be converted to an index",
            ));
        }
        values::scalar(py, &t)
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        let t = self.tensor();
        let shape = PyTuple::new(py, t.shape())?.repr()?;
        let dtype = t.dtype().name();
        if !t.device().is_cpu() {
            return Ok(format!(
                "Tensor(shape={shape}, dtype={dtype}, device={})",
                t.device()
            ));
        }
        if t.size() > 1000 || t.dtype().kind() == dlview::dtype::Kind::SubByte {
            return Ok(format!("Tensor(shape={shape}, dtype={dtype})"));
        }
        Ok(format!(
            "Tensor({}, dtype={dtype})",
            values::tolist(py, &t)?.repr()?
        ))
    }

    fn __str__(&self, py: Python<'_>) -> PyResult<String> {
        self.__repr__(py)
    }

    // ---- NumPy ------------------------------------------------------------

    /// NumPy conversion (`numpy.asarray(t)`): shares memory when it can,
    /// negative strides included.
    #[pyo3(signature = (dtype=None, copy=None))]
    fn __array__<'py>(
        slf: &Bound<'py, Self>,
        dtype: Option<&Bound<'py, PyAny>>,
        copy: Option<bool>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let py = slf.py();
        let numpy = py.import("numpy")?;
        let export = Bound::new(py, dlpack::NegativeStridesExport::new(slf.get().tensor()))?;
        let kwargs = PyDict::new(py);
        kwargs.set_item("copy", copy)?;
        let arr = numpy.call_method("from_dlpack", (export,), Some(&kwargs))?;
        match dtype.filter(|d| !d.is_none()) {
            None => Ok(arr),
            Some(dtype) => {
                let want = numpy.call_method1("dtype", (dtype,))?;
                if arr.getattr("dtype")?.eq(&want)? {
                    return Ok(arr);
                }
                if copy == Some(false) {
                    return Err(PyValueError::new_err(
                        "converting the dtype requires a copy",
                    ));
                }
                arr.call_method1("astype", (want,))
            }
        }
    }

    /// NumPy's array interface (version 3) for host memory of a type NumPy
    /// knows.
    #[getter]
    fn __array_interface__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        buffer::array_interface(py, &self.tensor())
    }

    unsafe fn __getbuffer__(
        slf: Bound<'_, Self>,
        view: *mut pyo3::ffi::Py_buffer,
        flags: std::os::raw::c_int,
    ) -> PyResult<()> {
        let t = slf.get().tensor();
        // SAFETY: CPython passes a writable Py_buffer; `slf` is stored in it
        // and so outlives the buffer.
        unsafe { buffer::fill(slf.as_any(), &t, view, flags) }
    }

    unsafe fn __releasebuffer__(&self, view: *mut pyo3::ffi::Py_buffer) {
        // SAFETY: `view` is one `fill` filled.
        unsafe { buffer::release(view) }
    }

    // ---- indexing -----------------------------------------------------------

    /// NumPy indexing (the core's `Tensor::index`): a view for integers,
    /// slices, `None` and `...`; a copy for integer or boolean index
    /// arrays, lists and scalars.
    fn __getitem__<'py>(
        slf: &Bound<'py, Self>,
        key: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyTensor>> {
        let key = index::key(key)?;
        let out = if index::has_tensor(&key) {
            let t = slf.get().tensor();
            slf.py().detach(|| t.index(&key))
        } else {
            slf.get().get().index(&key)
        };
        derived(slf, out)
    }

    /// `t[key] = value` (the core's `index_put`): `value` is broadcast and
    /// cast; the last of repeated indices wins.
    fn __setitem__(
        slf: &Bound<'_, Self>,
        key: &Bound<'_, PyAny>,
        value: &Bound<'_, PyAny>,
    ) -> PyResult<()> {
        let key = index::key(key)?;
        let value = match value.cast::<PyTensor>() {
            Ok(v) => v.get().tensor(),
            Err(_) => crate::creation::asarray_tensor(value, None, None)?,
        };
        let t = slf.get().tensor();
        // SAFETY: as NumPy, Python code may hold other views of this memory;
        // writing through one while another thread reads it is the caller's
        // race, as it is in NumPy (the C ABI's dlv_tensor_index_put makes
        // the same choice).
        slf.py()
            .detach(|| unsafe { t.index_put_shared(&key, &value) })
            .or_raise()
    }

    // ---- DLPack -------------------------------------------------------------

    /// A DLPack capsule of this tensor (docs/rules.md §6): versioned for
    /// `max_version >= (1, 0)`, legacy otherwise; read-only tensors reach
    /// legacy consumers only as a copy, negative strides only as a compact
    /// copy; `copy=False` raises `BufferError` where a copy is needed.
    #[pyo3(signature = (*, stream=None, max_version=None, dl_device=None, copy=None))]
    fn __dlpack__<'py>(
        &self,
        py: Python<'py>,
        stream: Option<&Bound<'py, PyAny>>,
        max_version: Option<&Bound<'py, PyAny>>,
        dl_device: Option<&Bound<'py, PyAny>>,
        copy: Option<bool>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let request = dlpack::ExportRequest::parse(stream, max_version, dl_device, copy)?;
        dlpack::export_capsule(py, self.tensor(), &request, false)
    }

    /// The DLPack `(device_type, device_id)` of the memory.
    fn __dlpack_device__(&self) -> (i32, i32) {
        let d = self.get().device();
        (d.device_type, d.device_id)
    }

    /// dlview's DLPack C exchange API table (a `"dlpack_exchange_api"`
    /// capsule): C code takes and makes dlview tensors through it without
    /// Python calls.
    #[classattr]
    fn __dlpack_c_exchange_api__(py: Python<'_>) -> PyResult<Py<PyAny>> {
        crate::exchange::api_capsule(py)
    }
}

/// Copies below this many elements keep the GIL (releasing it costs more).
const COPY_DETACH_ELEMENTS: i64 = 1 << 14;

/// Runs a copy with the GIL released when it is large enough to matter.
fn copy_detached(
    py: Python<'_>,
    t: &Tensor,
    op: impl FnOnce(&Tensor) -> dlview::Result<Tensor> + Send,
) -> PyResult<Tensor> {
    if t.size() < COPY_DETACH_ELEMENTS {
        op(t).or_raise()
    } else {
        py.detach(|| op(t)).or_raise()
    }
}

/// The flags of one tensor, read live (NumPy's `ndarray.flags`).
///
/// Attributes `writeable`, `c_contiguous`, `f_contiguous`, `owndata`,
/// `aligned`; item access by NumPy's names (`flags["WRITEABLE"]`,
/// `flags["C"]`). `writeable` may be assigned, as `Tensor.setflags(write=...)`.
#[pyclass(frozen, module = "dlview", name = "Flags")]
pub struct Flags {
    t: Py<PyTensor>,
}

/// NumPy's flag names (and their one-letter forms) and the core's bits.
const FLAG_NAMES: &[(&str, u32)] = &[
    ("WRITEABLE", bits::WRITEABLE),
    ("W", bits::WRITEABLE),
    ("C_CONTIGUOUS", bits::C_CONTIGUOUS),
    ("C", bits::C_CONTIGUOUS),
    ("CONTIGUOUS", bits::C_CONTIGUOUS),
    ("F_CONTIGUOUS", bits::F_CONTIGUOUS),
    ("F", bits::F_CONTIGUOUS),
    ("FORTRAN", bits::F_CONTIGUOUS),
    ("OWNDATA", bits::OWNDATA),
    ("O", bits::OWNDATA),
    ("ALIGNED", bits::ALIGNED),
    ("A", bits::ALIGNED),
];

impl Flags {
    fn bit(&self, py: Python<'_>, bit: u32) -> bool {
        self.t.bind(py).get().get().flags() & bit != 0
    }

    fn lookup(key: &str) -> Option<u32> {
        let upper = key.to_ascii_uppercase();
        FLAG_NAMES
            .iter()
            .find(|(n, _)| *n == upper)
            .map(|&(_, b)| b)
    }
}

#[pymethods]
impl Flags {
    /// Writes through this view are allowed.
    #[getter]
    fn get_writeable(&self, py: Python<'_>) -> bool {
        self.bit(py, bits::WRITEABLE)
    }

    #[setter]
    fn set_writeable(&self, py: Python<'_>, value: bool) -> PyResult<()> {
        self.t.bind(py).get().setflags(Some(value), None, None)
    }

    /// Row-major compact.
    #[getter]
    fn c_contiguous(&self, py: Python<'_>) -> bool {
        self.bit(py, bits::C_CONTIGUOUS)
    }

    /// Column-major compact.
    #[getter]
    fn f_contiguous(&self, py: Python<'_>) -> bool {
        self.bit(py, bits::F_CONTIGUOUS)
    }

    /// Not derived from another view (`base is None`).
    #[getter]
    fn owndata(&self, py: Python<'_>) -> bool {
        self.bit(py, bits::OWNDATA)
    }

    /// Data pointer and byte strides are multiples of the element alignment.
    #[getter]
    fn aligned(&self, py: Python<'_>) -> bool {
        self.bit(py, bits::ALIGNED)
    }

    fn __getitem__(&self, py: Python<'_>, key: &Bound<'_, PyAny>) -> PyResult<bool> {
        let bit = key
            .extract::<String>()
            .ok()
            .and_then(|k| Self::lookup(&k))
            .ok_or_else(|| {
                pyo3::exceptions::PyKeyError::new_err(format!(
                    "unknown flag {}",
                    key.repr().map(|r| r.to_string()).unwrap_or_default()
                ))
            })?;
        Ok(self.bit(py, bit))
    }

    fn __setitem__(&self, py: Python<'_>, key: &Bound<'_, PyAny>, value: bool) -> PyResult<()> {
        let bit = key.extract::<String>().ok().and_then(|k| Self::lookup(&k));
        if bit != Some(bits::WRITEABLE) {
            return Err(PyValueError::new_err(format!(
                "only the WRITEABLE flag can be set, not {}",
                key.repr()?
            )));
        }
        self.set_writeable(py, value)
    }

    fn __eq__(&self, py: Python<'_>, other: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        match other.cast::<Flags>() {
            Ok(o) => {
                let a = self.t.bind(py).get().get().flags();
                let b = o.get().t.bind(py).get().get().flags();
                Ok(pyo3::types::PyBool::new(py, a == b)
                    .to_owned()
                    .into_any()
                    .unbind())
            }
            Err(_) => Ok(py.NotImplemented()),
        }
    }

    fn __repr__(&self, py: Python<'_>) -> String {
        [
            "C_CONTIGUOUS",
            "F_CONTIGUOUS",
            "OWNDATA",
            "WRITEABLE",
            "ALIGNED",
        ]
        .iter()
        .map(|n| {
            format!(
                "  {n} : {}",
                if self.bit(py, Self::lookup(n).unwrap_or(0)) {
                    "True"
                } else {
                    "False"
                }
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
    }
}
