//! ABI compatibility with `dlpark` 0.10 (GitHub issue #3): our exports are
//! consumed by dlpark's own `Managed` and validation, and tensors produced by
//! dlpark's allocation API are imported by dlview, with every deleter run
//! exactly once (counted) when the last owner lets go.

use dlpark::ffi::{
    DLDataType, DLDataTypeCode, DLDevice, DLDeviceType, DLManagedTensor, DLManagedTensorVersioned,
};
use dlpark::metadata::Dynamic;
use dlpark::{DlpackFlags, Managed};
use dlview::{dlv_status, dlv_tensor};
use dlview_core::dlpack::{ExportOptions, ImportOptions, export, import};
use dlview_core::{CopyMode, DType, Error, Order, Tensor};
use std::mem::{offset_of, size_of};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

/// The live-storage count is process-wide: tests that check it take turns.
fn serial() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn live() -> usize {
    dlview_core::__private::live_count()
}

/// A 4x6 float64 tensor holding 0..23, C order.
fn iota_4x6() -> Tensor {
    let mut t = Tensor::zeros(DType::F64, &[4, 6], Order::C).unwrap();
    for i in 0..4 {
        for j in 0..6 {
            t.set_f64(&[i, j], (6 * i + j) as f64).unwrap();
        }
    }
    t
}

/// Reads element `index` of a CPU float64 DLPack view through its strides.
fn read_f64(
    data: *const std::ffi::c_void,
    byte_offset: u64,
    strides: &[i64],
    index: &[i64],
) -> f64 {
    let offset: i64 = strides.iter().zip(index).map(|(s, i)| s * i).sum();
    // SAFETY: callers pass an in-bounds index of a live CPU float64 tensor.
    unsafe {
        *data
            .cast::<u8>()
            .add(byte_offset as usize)
            .cast::<f64>()
            .offset(offset as isize)
    }
}

/// Every element of the tensor dlpark validated equals ours.
fn assert_same_elements(seen: &dlpark::TensorRef<'_>, t: &Tensor) {
    let strides = seen.strides_or_compact().unwrap();
    let shape = seen.shape();
    let mut index = vec![0i64; shape.len()];
    if shape.contains(&0) {
        return;
    }
    loop {
        assert_eq!(
            read_f64(seen.data_ptr(), seen.byte_offset(), &strides, &index),
            t.get_f64(&index).unwrap()
        );
        let Some(axis) = (0..shape.len()).rev().find(|&a| index[a] + 1 < shape[a]) else {
            return;
        };
        index[axis] += 1;
        index[axis + 1..].iter_mut().for_each(|i| *i = 0);
    }
}

// ---- the C layout dlpark and dlview.h share ------------------------------

#[test]
fn dlpark_types_have_the_dlpack_1_3_layout() {
    // The offsets dlview.h's declarations have on LP64 (checked in C by
    // tests/c/dlpack_export.c): one ABI on both sides.
    assert_eq!(size_of::<DLDevice>(), 8);
    assert_eq!(size_of::<DLDataType>(), 4);
    assert_eq!(size_of::<dlpark::ffi::DLTensor>(), 48);
    assert_eq!(offset_of!(dlpark::ffi::DLTensor, ndim), 16);
    assert_eq!(offset_of!(dlpark::ffi::DLTensor, dtype), 20);
    assert_eq!(offset_of!(dlpark::ffi::DLTensor, shape), 24);
    assert_eq!(offset_of!(dlpark::ffi::DLTensor, byte_offset), 40);
    assert_eq!(size_of::<DLManagedTensor>(), 64);
    assert_eq!(offset_of!(DLManagedTensor, deleter), 56);
    assert_eq!(size_of::<DLManagedTensorVersioned>(), 80);
    assert_eq!(offset_of!(DLManagedTensorVersioned, manager_ctx), 8);
    assert_eq!(offset_of!(DLManagedTensorVersioned, deleter), 16);
    assert_eq!(offset_of!(DLManagedTensorVersioned, flags), 24);
    assert_eq!(offset_of!(DLManagedTensorVersioned, dl_tensor), 32);
}

// ---- our exports, consumed by dlpark ---------------------------------------

/// Exports `view` (versioned), hands it to dlpark, checks what dlpark sees
/// against the view, and drops dlpark's handle.
fn consume_versioned(
    view: &Tensor,
    opts: &ExportOptions,
    expect_flags: DlpackFlags,
    expect_shared: bool,
) {
    let raw = export::to_versioned(view, opts).unwrap();
    // SAFETY: a fresh export, owned by us; dlpark takes it over.
    let managed = unsafe { Managed::from_raw(raw.as_ptr()) }.unwrap();
    assert_eq!(managed.version().major, 1);
    assert_eq!(managed.flags(), expect_flags);
    let seen = managed.validate().unwrap();
    // dlpark's exporter rules (explicit strides for ndim > 0) hold as well.
    managed.validate_export().unwrap();
    assert_eq!(seen.shape(), view.shape());
    assert_eq!(seen.ndim(), view.ndim());
    assert_eq!(seen.byte_offset(), 0);
    assert_eq!(seen.dtype(), DLDataType::F64);
    assert_eq!(seen.device(), DLDevice::CPU);
    if view.ndim() > 0 {
        let strides = seen.strides().expect("explicit strides");
        if expect_shared {
            assert_eq!(strides, view.strides());
        }
    }
    if expect_shared {
        assert_eq!(seen.data_ptr(), view.data_ptr().cast());
    } else {
        assert_ne!(seen.data_ptr(), view.data_ptr().cast());
    }
    assert_eq!(seen.num_elements() as i64, view.size());
    assert_same_elements(&seen, view);
    drop(managed);
}

#[test]
fn our_versioned_exports_are_valid_dlpark_tensors() {
    let _serial = serial();
    let before = live();
    let base = iota_4x6();
    let share = ExportOptions::default();

    consume_versioned(&base, &share, DlpackFlags::empty(), true);
    {
        // A compact export is a plain slice to dlpark.
        let raw = export::to_versioned(&base, &share).unwrap();
        // SAFETY: as above.
        let managed = unsafe { Managed::from_raw(raw.as_ptr()) }.unwrap();
        let seen = managed.validate().unwrap();
        assert!(seen.is_compact().unwrap());
        // SAFETY: a compact CPU float64 tensor that the export keeps alive.
        let slice = unsafe { seen.cpu_slice::<f64>() }.unwrap();
        assert_eq!(slice, (0..24).map(f64::from).collect::<Vec<_>>().as_slice());
    }

    consume_versioned(
        &base.transpose().unwrap(),
        &share,
        DlpackFlags::empty(),
        true,
    );
    let strided = base
        .slice(0, Some(1), Some(3), 1)
        .unwrap()
        .slice(1, Some(1), None, 2)
        .unwrap();
    consume_versioned(&strided, &share, DlpackFlags::empty(), true);
    consume_versioned(
        &base.slice(0, Some(4), None, 1).unwrap(),
        &share,
        DlpackFlags::empty(),
        true,
    );
    consume_versioned(
        &base.select(0, 2).unwrap().select(0, 3).unwrap(),
        &share,
        DlpackFlags::empty(),
        true,
    );

    // Zero strides: shared, READ_ONLY.
    let broadcast = base.select(0, 1).unwrap().broadcast_to(&[3, 6]).unwrap();
    consume_versioned(&broadcast, &share, DlpackFlags::READ_ONLY, true);
    let mut read_only = base.clone();
    read_only.set_writeable(false).unwrap();
    consume_versioned(&read_only, &share, DlpackFlags::READ_ONLY, true);

    // Negative strides: copied by default, as they are when allowed.
    let flipped = base.flip(1).unwrap();
    consume_versioned(&flipped, &share, DlpackFlags::IS_COPIED, false);
    let allow = ExportOptions {
        allow_negative_strides: true,
        ..ExportOptions::default()
    };
    consume_versioned(&flipped, &allow, DlpackFlags::empty(), true);
    let always = ExportOptions {
        copy: CopyMode::Always,
        ..ExportOptions::default()
    };
    consume_versioned(&base, &always, DlpackFlags::IS_COPIED, false);
    consume_versioned(&read_only, &always, DlpackFlags::IS_COPIED, false);

    assert_eq!(live(), before + 1);
    drop((base, strided, broadcast, read_only, flipped));
    assert_eq!(live(), before);
}

#[test]
fn dropping_dlparks_handle_releases_our_memory() {
    let _serial = serial();
    let before = live();
    let base = iota_4x6();
    let view = base.slice(1, Some(2), None, 1).unwrap();
    let raw = export::to_versioned(&view, &ExportOptions::default()).unwrap();
    let legacy = export::to_legacy(&base, &ExportOptions::default()).unwrap();
    drop((base, view));
    assert_eq!(live(), before + 1, "the exports keep the storage alive");

    // SAFETY: fresh exports, owned by us; dlpark takes them over.
    let managed = unsafe { Managed::from_raw(raw.as_ptr()) }.unwrap();
    let legacy = unsafe { Managed::from_raw(legacy.as_ptr()) }.unwrap();
    assert_eq!(legacy.validate().unwrap().shape(), &[4, 6]);
    assert_eq!(legacy.flags(), DlpackFlags::empty());
    let seen = managed.validate().unwrap();
    assert_eq!(
        read_f64(seen.data_ptr(), 0, seen.strides().unwrap(), &[3, 3]),
        23.0
    );

    // Dropped on another thread: dlpark's handles are Send.
    std::thread::spawn(move || drop(managed)).join().unwrap();
    assert_eq!(live(), before + 1);
    drop(legacy);
    assert_eq!(live(), before);
}

#[test]
fn our_legacy_exports_are_valid_dlpark_tensors() {
    let _serial = serial();
    let before = live();
    let base = iota_4x6();
    let view = base.transpose().unwrap();
    let raw = export::to_legacy(&view, &ExportOptions::default()).unwrap();
    // SAFETY: a fresh export, owned by us.
    let mut managed = unsafe { Managed::from_raw(raw.as_ptr()) }.unwrap();
    {
        let seen = managed.validate().unwrap();
        assert_eq!(seen.shape(), &[6, 4]);
        assert_eq!(seen.strides().unwrap(), &[1, 6]);
        assert_eq!(seen.data_ptr(), base.data_ptr().cast());
        assert_same_elements(&seen, &view);
    }
    // Legacy has no READ_ONLY: dlpark may write, and the write is ours to see.
    let writable = managed.validate_mut().unwrap();
    // SAFETY: a CPU float64 tensor; view index [5, 3] is base element 3 * 6 + 5.
    unsafe {
        *writable
            .offset_data_ptr::<f64>()
            .unwrap()
            .cast_mut()
            .add(23) = -1.0
    };
    assert_eq!(base.get_f64(&[3, 5]).unwrap(), -1.0);
    drop(managed);

    // A read-only view is copied for the legacy ABI (it cannot say read-only).
    let broadcast = base.select(0, 0).unwrap().broadcast_to(&[2, 6]).unwrap();
    let raw = export::to_legacy(&broadcast, &ExportOptions::default()).unwrap();
    // SAFETY: as above.
    let managed = unsafe { Managed::from_raw(raw.as_ptr()) }.unwrap();
    let seen = managed.validate().unwrap();
    assert_ne!(seen.data_ptr(), base.data_ptr().cast());
    assert!(seen.strides().unwrap().iter().all(|&s| s != 0));
    assert_same_elements(&seen, &broadcast);
    drop(managed);

    drop((base, view, broadcast));
    assert_eq!(live(), before);
}

// ---- dlpark's producers, imported by dlview ---------------------------------

/// The producer-side owner of a dlpark tensor: the elements, and a counter
/// bumped when dlpark's deleter drops it.
struct Owner {
    data: Vec<f64>,
    drops: Arc<AtomicUsize>,
}

impl Drop for Owner {
    fn drop(&mut self) {
        self.drops.fetch_add(1, Ordering::SeqCst);
    }
}

/// A dlpark-produced float64 tensor over `values` with the given layout.
fn dlpark_tensor<M: dlpark::ManagedTensorBase>(
    values: Vec<f64>,
    shape: &[i64],
    strides: &[i64],
    flags: DlpackFlags,
    drops: &Arc<AtomicUsize>,
) -> Managed<M> {
    let owner = Box::new(Owner {
        data: values,
        drops: Arc::clone(drops),
    });
    let data = owner.data.as_ptr().cast_mut().cast();
    let mut init = Dynamic::new(shape.to_vec(), strides.to_vec())
        .initialize_as::<M>(owner)
        .unwrap();
    init.set_data(data)
        .set_dtype(DLDataType::F64)
        .set_device(DLDevice::CPU);
    // SAFETY: READ_ONLY and IS_COPIED are honest here: the owner's Vec is
    // this tensor's alone.
    unsafe { init.set_flags_unchecked(flags) };
    // SAFETY: data, shape and strides describe `owner`'s Vec, which lives
    // until the deleter drops it.
    unsafe { init.finish() }
}

fn iota_values(n: usize) -> Vec<f64> {
    (0..n).map(|i| i as f64).collect()
}

#[test]
fn dlpark_versioned_tensors_import_as_views() {
    let _serial = serial();
    let before = live();
    let drops = Arc::new(AtomicUsize::new(0));

    let managed = dlpark_tensor::<DLManagedTensorVersioned>(
        iota_values(24),
        &[4, 6],
        &[6, 1],
        DlpackFlags::empty(),
        &drops,
    );
    assert_eq!(managed.version().minor, dlpark::ffi::DLPACK_MINOR_VERSION);
    // SAFETY: the descriptor is live; read its data pointer before handing over.
    let data = unsafe { managed.tensor() }.data;
    // SAFETY: ownership passes to dlview.
    let t =
        unsafe { import::from_versioned(managed.into_raw(), &ImportOptions::default()) }.unwrap();
    assert_eq!(t.data_ptr(), data.cast_const().cast());
    assert_eq!(t.shape(), &[4, 6]);
    assert_eq!(t.strides(), &[6, 1]);
    assert!(t.is_writeable());
    assert_eq!(t.get_f64(&[3, 5]).unwrap(), 23.0);
    assert_eq!(t.get_f64(&[2, 1]).unwrap(), 13.0);

    // The last view, not the first handle, releases dlpark's tensor.
    let column = t.select(1, 4).unwrap();
    drop(t);
    assert_eq!(drops.load(Ordering::SeqCst), 0);
    assert_eq!(column.get_f64(&[3]).unwrap(), 22.0);
    std::thread::spawn(move || drop(column)).join().unwrap();
    assert_eq!(drops.load(Ordering::SeqCst), 1);

    // Fortran strides, READ_ONLY.
    let managed = dlpark_tensor::<DLManagedTensorVersioned>(
        iota_values(6),
        &[2, 3],
        &[1, 2],
        DlpackFlags::READ_ONLY,
        &drops,
    );
    // SAFETY: ownership passes to dlview.
    let mut t =
        unsafe { import::from_versioned(managed.into_raw(), &ImportOptions::default()) }.unwrap();
    assert!(!t.is_writeable());
    assert!(matches!(t.set_writeable(true), Err(Error::ReadOnly(_))));
    assert!(matches!(t.set_f64(&[0, 0], 1.0), Err(Error::ReadOnly(_))));
    assert_eq!(t.get_f64(&[1, 2]).unwrap(), 5.0);
    assert_eq!(t.get_f64(&[0, 1]).unwrap(), 2.0);
    drop(t);
    assert_eq!(drops.load(Ordering::SeqCst), 2);

    // IS_COPIED, compact strides computed by dlpark.
    let owner = Box::new(Owner {
        data: iota_values(6),
        drops: Arc::clone(&drops),
    });
    let data = owner.data.as_ptr().cast_mut().cast();
    let mut init = Dynamic::compact(vec![3i64, 2]).initialize(owner).unwrap();
    init.set_data(data)
        .set_dtype(DLDataType::F64)
        .set_device(DLDevice::CPU);
    // SAFETY: the Vec is this tensor's alone.
    unsafe { init.set_flags_unchecked(DlpackFlags::IS_COPIED) };
    // SAFETY: as in `dlpark_tensor`.
    let managed = unsafe { init.finish() };
    // SAFETY: ownership passes to dlview.
    let mut t =
        unsafe { import::from_versioned(managed.into_raw(), &ImportOptions::default()) }.unwrap();
    assert_eq!(t.strides(), &[2, 1]);
    // IS_COPIED: the memory is the import's alone, so the safe write works.
    assert!(t.is_exclusive());
    t.set_f64(&[2, 1], 50.0).unwrap();
    assert_eq!(t.get_f64(&[2, 1]).unwrap(), 50.0);
    drop(t);
    assert_eq!(drops.load(Ordering::SeqCst), 3);

    assert_eq!(live(), before);
}

#[test]
fn dlpark_legacy_tensors_import_read_only_unless_trusted() {
    let _serial = serial();
    let before = live();
    let drops = Arc::new(AtomicUsize::new(0));

    let managed = dlpark_tensor::<DLManagedTensor>(
        iota_values(12),
        &[3, 4],
        &[4, 1],
        DlpackFlags::empty(),
        &drops,
    );
    // SAFETY: ownership passes to dlview.
    let t = unsafe { import::from_legacy(managed.into_raw(), &ImportOptions::default()) }.unwrap();
    assert!(!t.is_writeable());
    assert_eq!(t.get_f64(&[2, 3]).unwrap(), 11.0);
    drop(t);
    assert_eq!(drops.load(Ordering::SeqCst), 1);

    let managed = dlpark_tensor::<DLManagedTensor>(
        iota_values(12),
        &[3, 4],
        &[4, 1],
        DlpackFlags::empty(),
        &drops,
    );
    let trust = ImportOptions {
        trust_legacy_writeable: true,
        ..ImportOptions::default()
    };
    // SAFETY: ownership passes to dlview.
    let t = unsafe { import::from_legacy(managed.into_raw(), &trust) }.unwrap();
    assert!(t.is_writeable());
    // SAFETY: single-threaded: the producer does not touch it meanwhile.
    unsafe { t.set_f64_shared(&[0, 0], 7.0) }.unwrap();
    assert_eq!(t.get_f64(&[0, 0]).unwrap(), 7.0);
    drop(t);
    assert_eq!(drops.load(Ordering::SeqCst), 2);
    assert_eq!(live(), before);
}

#[test]
fn dlpark_tensors_rejected_by_dlview_are_released_once() {
    let _serial = serial();
    let before = live();
    let drops = Arc::new(AtomicUsize::new(0));

    // Two lanes: unsupported dtype, deleter run before the error returns.
    let owner = Box::new(Owner {
        data: iota_values(8),
        drops: Arc::clone(&drops),
    });
    let data = owner.data.as_ptr().cast_mut().cast();
    let mut init = Dynamic::compact(vec![4i64]).initialize(owner).unwrap();
    init.set_data(data)
        .set_dtype(DLDataType::new(DLDataTypeCode::FLOAT, 64, 2))
        .set_device(DLDevice::CPU);
    // SAFETY: as in `dlpark_tensor`.
    let managed = unsafe { init.finish() };
    // SAFETY: ownership passes to dlview.
    let err = unsafe { import::from_versioned(managed.into_raw(), &ImportOptions::default()) }
        .unwrap_err();
    assert!(
        matches!(&err, Error::UnsupportedDtype(m) if m.contains("lanes 2")),
        "{err:?}"
    );
    assert_eq!(drops.load(Ordering::SeqCst), 1);

    // A version dlpark itself would refuse: VERSION, released once.
    let managed = dlpark_tensor::<DLManagedTensorVersioned>(
        iota_values(4),
        &[4],
        &[1],
        DlpackFlags::empty(),
        &drops,
    );
    let raw = managed.into_raw();
    // SAFETY: `raw` is live and ours.
    unsafe { (*raw).version.major = 2 };
    // SAFETY: ownership passes to dlview.
    let err = unsafe { import::from_versioned(raw, &ImportOptions::default()) }.unwrap_err();
    assert!(matches!(err, Error::Version(_)), "{err:?}");
    assert_eq!(drops.load(Ordering::SeqCst), 2);

    // dlpark's own 1.2+ rule, shared by dlview: NULL strides are invalid.
    let managed = dlpark_tensor::<DLManagedTensorVersioned>(
        iota_values(4),
        &[4],
        &[1],
        DlpackFlags::empty(),
        &drops,
    );
    let raw = managed.into_raw();
    // SAFETY: `raw` is live and ours (dlpark's deleter frees its own block
    // regardless of the strides pointer).
    unsafe { (*raw).dl_tensor.strides = std::ptr::null_mut() };
    // SAFETY: ownership passes to dlview.
    let err = unsafe { import::from_versioned(raw, &ImportOptions::default()) }.unwrap_err();
    assert!(matches!(err, Error::InvalidArgument(_)), "{err:?}");
    assert_eq!(drops.load(Ordering::SeqCst), 3);
    assert_eq!(live(), before);
}

#[test]
fn dlpark_tensors_through_the_c_abi() {
    let _serial = serial();
    let before = live();
    let drops = Arc::new(AtomicUsize::new(0));

    let managed = dlpark_tensor::<DLManagedTensorVersioned>(
        iota_values(24),
        &[2, 3, 4],
        &[12, 4, 1],
        DlpackFlags::empty(),
        &drops,
    );
    // SAFETY: the descriptor is live.
    let data = unsafe { managed.tensor() }.data;
    let mut out: *mut dlv_tensor = std::ptr::null_mut();
    // SAFETY: ownership of the managed tensor passes to the call.
    let status =
        unsafe { dlview::dlv_tensor_from_dlpack(managed.into_raw(), std::ptr::null(), &mut out) };
    assert_eq!(status, dlv_status::DLV_OK);
    // SAFETY: `out` is a live handle.
    unsafe {
        assert_eq!(dlview::dlv_tensor_data(out), data.cast_const());
        assert_eq!(dlview::dlv_tensor_ndim(out), 3);
        let mut v = 0.0;
        assert_eq!(
            dlview::dlv_tensor_get_f64(out, [1, 2, 3].as_ptr(), &mut v),
            dlv_status::DLV_OK
        );
        assert_eq!(v, 23.0);

        // Our export of it, consumed by dlpark: the chain releases once.
        let mut exported: *mut DLManagedTensorVersioned = std::ptr::null_mut();
        assert_eq!(
            dlview::dlv_tensor_to_dlpack(out, std::ptr::null(), &mut exported),
            dlv_status::DLV_OK
        );
        dlview::dlv_tensor_free(out);
        assert_eq!(drops.load(Ordering::SeqCst), 0);
        let again = Managed::from_raw(exported).unwrap();
        let seen = again.validate().unwrap();
        assert_eq!(seen.data_ptr(), data.cast_const());
        assert_eq!(seen.strides().unwrap(), &[12, 4, 1]);
        assert_eq!(
            read_f64(seen.data_ptr(), 0, seen.strides().unwrap(), &[1, 0, 2]),
            14.0
        );
        drop(again);
    }
    assert_eq!(drops.load(Ordering::SeqCst), 1);

    // The legacy entry point, and a failure (NULL out) that still releases.
    let managed =
        dlpark_tensor::<DLManagedTensor>(iota_values(4), &[4], &[1], DlpackFlags::empty(), &drops);
    let mut out: *mut dlv_tensor = std::ptr::null_mut();
    // SAFETY: ownership passes to the call.
    let status = unsafe {
        dlview::dlv_tensor_from_dlpack_legacy(managed.into_raw(), std::ptr::null(), &mut out)
    };
    assert_eq!(status, dlv_status::DLV_OK);
    // SAFETY: `out` is a live handle, freed once.
    unsafe { dlview::dlv_tensor_free(out) };
    assert_eq!(drops.load(Ordering::SeqCst), 2);
    let managed = dlpark_tensor::<DLManagedTensorVersioned>(
        iota_values(4),
        &[4],
        &[1],
        DlpackFlags::empty(),
        &drops,
    );
    // SAFETY: ownership passes to the call.
    let status = unsafe {
        dlview::dlv_tensor_from_dlpack(managed.into_raw(), std::ptr::null(), std::ptr::null_mut())
    };
    assert_eq!(status, dlv_status::DLV_ERR_NULL_ARGUMENT);
    assert_eq!(drops.load(Ordering::SeqCst), 3);
    assert_eq!(live(), before);
}

#[test]
fn dlpark_device_tensors_pass_through_untouched() {
    let _serial = serial();
    let before = live();
    let drops = Arc::new(AtomicUsize::new(0));
    let owner = Box::new(Owner {
        data: Vec::new(),
        drops: Arc::clone(&drops),
    });
    let fake = 0x1000usize as *mut std::ffi::c_void;
    let mut init = Dynamic::compact(vec![4i64, 6]).initialize(owner).unwrap();
    init.set_data(fake)
        .set_dtype(DLDataType::F32)
        .set_device(DLDevice::cuda(0));
    // SAFETY: the fake pointer is never dereferenced (device memory).
    let managed = unsafe { init.finish() };
    // SAFETY: ownership passes to dlview.
    let t =
        unsafe { import::from_versioned(managed.into_raw(), &ImportOptions::default()) }.unwrap();
    assert_eq!(t.device().device_type, DLDeviceType::CUDA.0 as i32);
    let view = t.slice(1, Some(1), None, 2).unwrap().transpose().unwrap();
    assert_eq!(view.data_ptr() as usize, 0x1000 + 4);
    assert!(matches!(
        view.get_f64(&[0, 0]),
        Err(Error::UnsupportedDevice(_))
    ));

    let raw = export::to_versioned(&view, &ExportOptions::default()).unwrap();
    // SAFETY: a fresh export, taken over by dlpark.
    let managed = unsafe { Managed::from_raw(raw.as_ptr()) }.unwrap();
    let seen = managed.validate().unwrap();
    assert_eq!(seen.device(), DLDevice::cuda(0));
    assert_eq!(seen.data_ptr() as usize, 0x1000 + 4);
    assert_eq!(seen.shape(), &[3, 4]);
    assert_eq!(seen.strides().unwrap(), &[2, 6]);
    // SAFETY: dlpark refuses to read device memory itself.
    assert!(unsafe { seen.cpu_slice::<f32>() }.is_err());
    drop((t, view));
    assert_eq!(drops.load(Ordering::SeqCst), 0);
    drop(managed);
    assert_eq!(drops.load(Ordering::SeqCst), 1);
    assert_eq!(live(), before);
}
