//! The one mapping from the core's errors to Python exceptions (docs/rules.md
//! §8): each `dlview::Error` variant raises one exception class, with the
//! core's message unchanged.

use dlview::Error;
use pyo3::PyErr;
use pyo3::exceptions::{
    PyBufferError, PyIndexError, PyMemoryError, PyOSError, PyRuntimeError, PyValueError,
};

/// A core error as its Python exception (the C status of the same
/// variant is `dlv_status`; both tables key on the variant).
pub fn to_py(e: Error) -> PyErr {
    let message = e.to_string();
    match e {
        Error::NullArgument(_)
        | Error::InvalidArgument(_)
        | Error::ReadOnly(_)
        | Error::Format(_) => PyValueError::new_err(message),
        Error::Index { .. } | Error::InvalidIndex(_) => PyIndexError::new_err(message),
        Error::CopyRequired(_)
        | Error::UnsupportedDtype(_)
        | Error::UnsupportedDevice(_)
        | Error::Version(_) => PyBufferError::new_err(message),
        Error::OutOfMemory(_) => PyMemoryError::new_err(message),
        Error::Io(_) => PyOSError::new_err(message),
        Error::DeviceUnavailable(_) | Error::Panic(_) => PyRuntimeError::new_err(message),
    }
}

/// `?` on a core result inside a `PyResult` function.
pub trait OrRaise<T> {
    fn or_raise(self) -> pyo3::PyResult<T>;
}

impl<T> OrRaise<T> for dlview::Result<T> {
    #[inline]
    fn or_raise(self) -> pyo3::PyResult<T> {
        self.map_err(to_py)
    }
}
