//! The one device-dispatch point: every operation that reads or writes
//! elements in bulk — `copy`, `to_device`, `astype`, `copy_into`, `take`,
//! and advanced `index`/`index_put` (through [`staged_read`] and
//! [`staged_write`]) — decides here where its operands' memory is, and
//! device allocation (`empty_on`, `zeros_on`) too. `tensor.rs` stays views,
//! flags and element access.
//!
//! Host-accessible memory (CPU, pinned, managed) goes straight to the host
//! kernels. CUDA device memory, when a driver is there, is staged through
//! the host: the operands are copied to the host (D2H), the host kernel
//! runs, and the result goes back (H2D). That costs two transfers over the
//! bus instead of a device kernel, which dlview does not have; the copy
//! itself (`copy`, `to_device`) runs on the device. Without a driver, CUDA
//! tensors fall through to the host path, which refuses them with
//! `UNSUPPORTED_DEVICE` as every element access of device memory does.

use super::{CastOptions, copy_into, copy_to_new_with, take};
use crate::cuda;
use crate::device::{Device, kind};
use crate::dtype::DType;
use crate::error::Result;
use crate::layout::Order;
use crate::storage::Storage;
use crate::tensor::Tensor;

/// True for memory the host cannot touch but the CUDA driver can copy.
fn staged(device: Device) -> bool {
    device.device_type == kind::CUDA && cuda::available()
}

/// `t` itself when the host can read it, else a host copy of it (device
/// memory, staged).
fn on_host(t: &Tensor) -> Result<Tensor> {
    if staged(t.device()) {
        t.to_device(Device::CPU, Order::K)
    } else {
        Ok(t.clone())
    }
}

/// For a `src` in CUDA device memory: runs `read` on a host copy of it and
/// returns its result on `src`'s device, compact in `order` (`None` when
/// `src` needs no staging).
pub(crate) fn staged_read(
    src: &Tensor,
    order: Order,
    read: impl FnOnce(&Tensor) -> Result<Tensor>,
) -> Option<Result<Tensor>> {
    staged(src.device()).then(|| read(&on_host(src)?)?.to_device(src.device(), order))
}

/// For a `dst` or a `value` in CUDA device memory: runs `write` on host
/// copies of both, the destination's going back to the device afterwards
/// (see `cuda::update_through_host`). `None` when neither needs staging.
/// `dst` must be writeable, which is checked before any transfer.
pub(crate) fn staged_write(
    dst: &Tensor,
    value: &Tensor,
    write: impl FnOnce(&mut Tensor, &Tensor) -> Result<()>,
) -> Option<Result<()>> {
    if !staged(dst.device()) && !staged(value.device()) {
        return None;
    }
    Some((|| {
        dst.require_writeable()?;
        let value = on_host(value)?;
        if staged(dst.device()) {
            cuda::update_through_host(dst, |host| write(host, &value))
        } else {
            write(&mut dst.clone(), &value)
        }
    })())
}

impl Tensor {
    /// A new buffer of `shape` on `device`: the CPU (as [`Tensor::empty`]),
    /// or through the CUDA driver `cuda:N` (device memory, contents
    /// unspecified), `cuda_host:N` (pinned) or `cuda_managed:N` (both
    /// zeroed, as host memory always is). Other devices are
    /// `UNSUPPORTED_DEVICE`; CUDA without a driver `DEVICE_UNAVAILABLE`.
    pub fn empty_on(dtype: DType, shape: &[i64], order: Order, device: Device) -> Result<Tensor> {
        Tensor::allocate_on(dtype, shape, order, false, device)
    }

    /// As [`Tensor::empty_on`], every element zero.
    pub fn zeros_on(dtype: DType, shape: &[i64], order: Order, device: Device) -> Result<Tensor> {
        Tensor::allocate_on(dtype, shape, order, true, device)
    }

    fn allocate_on(
        dtype: DType,
        shape: &[i64],
        order: Order,
        zeroed: bool,
        device: Device,
    ) -> Result<Tensor> {
        Tensor::allocate_with(dtype, shape, order, |nbytes| {
            if device.is_cpu() {
                // Always zeroed: safe code may read host memory.
                Storage::allocate(nbytes, true, device)
            } else {
                cuda::allocate(device, nbytes, zeroed)
            }
        })
    }

    /// A new writeable buffer with the same elements, in `order`, on the
    /// same device. CUDA memory is copied on its device when a CUDA driver
    /// is available, and is `UNSUPPORTED_DEVICE` (as every element access
    /// of device memory without a runtime) otherwise.
    pub fn copy(&self, order: Order) -> Result<Tensor> {
        if staged(self.device()) {
            return cuda::to_device(self, self.device(), order);
        }
        super::copy_to_new(self, self.dtype(), order)
    }

    /// A new writeable buffer with the same elements on `device`, compact
    /// in `order` (C, F, or K: this view's axis order): host ↔ CUDA device,
    /// device ↔ device, or to pinned/managed host memory, through the CUDA
    /// driver (`DEVICE_UNAVAILABLE` without one); CPU → CPU is a plain copy.
    pub fn to_device(&self, device: Device, order: Order) -> Result<Tensor> {
        cuda::to_device(self, device, order)
    }

    /// A new writeable buffer with the elements cast to `dtype` (NumPy's
    /// unsafe casting, see `copy::cast`; complex → real fails), on the same
    /// device (CUDA memory is cast on the host, see the module docs).
    pub fn astype(&self, dtype: DType, order: Order) -> Result<Tensor> {
        if dtype == self.dtype() {
            return self.copy(order);
        }
        self.astype_with(dtype, order, CastOptions::default())
    }

    /// As [`Tensor::astype`], with cast options (e.g. allowing complex → real).
    pub fn astype_with(&self, dtype: DType, order: Order, opts: CastOptions) -> Result<Tensor> {
        if let Some(out) = staged_read(self, Order::K, |host| {
            copy_to_new_with(host, dtype, order, opts)
        }) {
            return out;
        }
        copy_to_new_with(self, dtype, order, opts)
    }

    /// Writes this tensor's elements into `dst` (NumPy's `dst[...] = self`):
    /// broadcasts, casts, and is correct when the two share memory. Fails
    /// with `READ_ONLY` if `dst` is not writeable, and with
    /// `INVALID_ARGUMENT` while other handles share `dst`'s memory (see
    /// [`Tensor::is_exclusive`]; [`Tensor::copy_into_shared`] writes anyway).
    /// Either side may be in CUDA memory (staged through the host).
    ///
    /// The destination must be borrowed mutably; there is no safe write
    /// through a shared reference:
    /// ```compile_fail,E0308
    /// #![forbid(unsafe_code)]
    /// fn write(src: &dlview::Tensor, dst: &dlview::Tensor) {
    ///     src.copy_into(dst).unwrap(); // expects `&mut Tensor`
    /// }
    /// ```
    /// and the crate-level copy that writes through `&Tensor` is private:
    /// ```compile_fail,E0603
    /// #![forbid(unsafe_code)]
    /// fn write(src: &dlview::Tensor, dst: &dlview::Tensor) {
    ///     dlview::copy::copy_into(dst, src, Default::default()).unwrap();
    /// }
    /// ```
    /// (nor is an index assignment through `&Tensor` possible:)
    /// ```compile_fail,E0596
    /// #![forbid(unsafe_code)]
    /// fn write(t: &dlview::Tensor, v: &dlview::Tensor) {
    ///     t.index_put(&[dlview::Index::Int(0)], v).unwrap();
    /// }
    /// ```
    pub fn copy_into(&self, dst: &mut Tensor) -> Result<()> {
        self.copy_into_with(dst, CastOptions::default())
    }

    /// As [`Tensor::copy_into`], with cast options.
    pub fn copy_into_with(&self, dst: &mut Tensor, opts: CastOptions) -> Result<()> {
        dst.require_writeable()?;
        dst.require_exclusive("Tensor::copy_into_shared")?;
        // SAFETY: `dst` is borrowed mutably and no other handle holds its
        // memory, so no other thread can see the elements written.
        unsafe { self.copy_into_shared_with(dst, opts) }
    }

    /// [`Tensor::copy_into`] without the exclusivity check on `dst`.
    ///
    /// # Safety
    /// No other thread may read or write `dst`'s elements during the call,
    /// through any handle of the same memory (docs/rules.md §9).
    pub unsafe fn copy_into_shared(&self, dst: &Tensor) -> Result<()> {
        // SAFETY: the caller's promise, passed on.
        unsafe { self.copy_into_shared_with(dst, CastOptions::default()) }
    }

    /// [`Tensor::copy_into_with`] without the exclusivity check on `dst`.
    ///
    /// # Safety
    /// As [`Tensor::copy_into_shared`].
    pub unsafe fn copy_into_shared_with(&self, dst: &Tensor, opts: CastOptions) -> Result<()> {
        if let Some(done) = staged_write(dst, self, |dst, src| copy_into(dst, src, opts)) {
            return done;
        }
        copy_into(dst, self, opts)
    }

    /// A new C-contiguous tensor of the entries `indices` along `axis`
    /// (NumPy's `take`; bounds-checked, negative indices count from the end),
    /// on the same device.
    pub fn take(&self, axis: i64, indices: &[i64]) -> Result<Tensor> {
        if let Some(out) = staged_read(self, Order::C, |host| take(host, axis, indices)) {
            return out;
        }
        take(self, axis, indices)
    }
}
