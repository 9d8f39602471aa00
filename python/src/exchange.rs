//! The DLPack C exchange API (DLPack 1.3): importing through a producer
//! type's `__dlpack_c_exchange_api__` table.

use dlview::Tensor;
use pyo3::prelude::*;

/// A tensor imported through `type(x).__dlpack_c_exchange_api__`, or `None`
/// when the type publishes no (compatible) table.
pub fn import_through_table(
    _x: &Bound<'_, PyAny>,
    _copy: Option<bool>,
) -> PyResult<Option<Tensor>> {
    Ok(None)
}
