//! Re-importing one of our own DLPack exports. An unchanged export takes the
//! fast path (the exported view comes back without re-validation); any field
//! the consumer changed sends it through full validation. Both must give the
//! same tensor, and a tampered export must be refused or re-described
//! exactly as a foreign producer's would be, releasing the storage once.

use dlpark::DlpackFlags;
use dlpark::ffi::DLManagedTensorVersioned;
use dlview::dlpack::{ExportOptions, ImportOptions, export, import};
use dlview::tensor::flags;
use dlview::{DType, Error, Order, Tensor};
use std::ptr::NonNull;
use std::sync::{Mutex, MutexGuard};

/// The live-storage count is process-wide: tests that check it take turns.
fn serial() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn live() -> usize {
    dlview::__private::live_count()
}

/// A float32 tensor of `shape` holding 0, 1, 2, ... in C order.
fn iota(shape: &[i64]) -> Tensor {
    let n = shape.iter().product();
    // Filled while it is the only handle, then reshaped into a new root.
    let mut flat = Tensor::zeros(DType::F32, &[n], Order::C).unwrap();
    for i in 0..n {
        flat.set_f64(&[i], i as f64).unwrap();
    }
    flat.reshape(shape, dlview::CopyMode::Always).unwrap()
}

fn export(t: &Tensor) -> NonNull<DLManagedTensorVersioned> {
    let opts = ExportOptions {
        allow_negative_strides: true,
        ..ExportOptions::default()
    };
    export::to_versioned(t, &opts).unwrap()
}

fn import(mt: NonNull<DLManagedTensorVersioned>) -> dlview::Result<Tensor> {
    // SAFETY: `mt` is a live export whose ownership passes to the import.
    unsafe { import::from_versioned(mt.as_ptr(), &ImportOptions::default()) }
}

/// An export whose description is changed without changing its meaning:
/// `data` moved back one element and `byte_offset` forward as much. The
/// fast path refuses it (byte_offset is never nonzero in our exports), so
/// importing it validates everything: the oracle for the fast path.
fn export_through_validation(t: &Tensor) -> NonNull<DLManagedTensorVersioned> {
    let mt = export(t);
    // SAFETY: the export is live and ours to modify before handing it on.
    unsafe {
        let dl = &mut (*mt.as_ptr()).dl_tensor;
        if !dl.data.is_null() {
            dl.data = dl.data.cast::<u8>().sub(4).cast();
            dl.byte_offset = 4;
        } else {
            dl.byte_offset = 0;
        }
    }
    mt
}

fn elements(t: &Tensor) -> Vec<f64> {
    let c = t.copy(Order::C).unwrap();
    let n = c.size();
    let flat = c.reshape(&[n], dlview::CopyMode::Never).unwrap();
    (0..n).map(|i| flat.get_f64(&[i]).unwrap()).collect()
}

fn assert_same_tensor(fast: &Tensor, slow: &Tensor, source: &Tensor) {
    assert_eq!(fast.shape(), slow.shape());
    assert_eq!(fast.strides(), slow.strides());
    assert_eq!(fast.dtype(), slow.dtype());
    assert_eq!(fast.device(), slow.device());
    assert_eq!(fast.data_ptr(), slow.data_ptr());
    assert_eq!(fast.data_ptr(), source.data_ptr());
    assert_eq!(
        fast.flags(),
        slow.flags(),
        "flags {:#x} vs {:#x}",
        fast.flags(),
        slow.flags()
    );
    assert_eq!(
        fast.flags() & flags::OWNDATA,
        flags::OWNDATA,
        "an import is a root"
    );
    assert!(fast.base().is_none());
    assert_eq!(elements(fast), elements(slow));
    assert_eq!(elements(fast), elements(source));
}

/// Views of every kind: compact, transposed, strided, reversed, broadcast,
/// size 0, 0-d, and more than 4 dimensions (shape/strides spilled).
fn views() -> Vec<(&'static str, Tensor)> {
    let base = iota(&[4, 6]);
    vec![
        ("c", base.clone()),
        ("transposed", base.transpose().unwrap()),
        ("strided", base.slice(1, Some(1), None, 2).unwrap()),
        ("reversed", base.flip(0).unwrap()),
        ("broadcast", iota(&[6]).broadcast_to(&[3, 6]).unwrap()),
        ("size 0", base.slice(0, Some(2), Some(2), 1).unwrap()),
        ("0-d", base.select(0, 1).unwrap().select(0, 2).unwrap()),
        ("6-d", iota(&[2, 1, 3, 1, 2, 2])),
        (
            "6-d permuted",
            iota(&[2, 1, 3, 1, 2, 2])
                .permute(&[5, 4, 3, 2, 1, 0])
                .unwrap(),
        ),
    ]
}

#[test]
fn unchanged_reimport_equals_the_validated_one() {
    let _guard = serial();
    let start = live();
    for (name, t) in views() {
        let fast = import(export(&t)).unwrap_or_else(|e| panic!("{name}: {e}"));
        let slow = import(export_through_validation(&t)).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_same_tensor(&fast, &slow, &t);
        // Same storage, no extra one stacked on top, unless the view is a
        // read-only one of writeable memory (broadcast): its import needs a
        // read-only storage of its own.
        let same_storage = std::sync::Arc::ptr_eq(fast.storage(), t.storage());
        assert_eq!(same_storage, t.is_writeable(), "{name}");
    }
    assert_eq!(live(), start);
}

#[test]
fn read_only_views_stay_read_only() {
    let _guard = serial();
    let start = live();
    let mut view = iota(&[3, 4]);
    view.set_writeable(false).unwrap();
    // A read-only view of writeable memory: the import gets read-only storage.
    let imported = import(export(&view)).unwrap();
    assert!(!imported.is_writeable());
    assert!(imported.storage().is_read_only());
    // Read-only storage: the fast path applies and stays read-only.
    let again = import(export(&imported)).unwrap();
    let slow = import(export_through_validation(&imported)).unwrap();
    assert!(!again.is_writeable());
    assert_same_tensor(&again, &slow, &imported);
    drop((view, imported, again, slow));
    assert_eq!(live(), start);
}

#[test]
fn writes_through_the_reimport_reach_the_source() {
    let _guard = serial();
    let t = iota(&[2, 3]);
    let back = import(export(&t.transpose().unwrap())).unwrap();
    // `t` shares the memory, so only the unsafe write goes through.
    assert!(!back.is_exclusive());
    // SAFETY: single-threaded: nothing else reads or writes it meanwhile.
    unsafe { back.set_f64_shared(&[2, 1], -7.0) }.unwrap();
    assert_eq!(t.get_f64(&[1, 2]).unwrap(), -7.0);
}

/// Applies `tamper` to an export of a 4x6 float32 tensor and imports it.
fn import_tampered(tamper: impl FnOnce(&mut DLManagedTensorVersioned)) -> dlview::Result<Tensor> {
    let t = iota(&[4, 6]);
    let mt = export(&t);
    // SAFETY: the export is live and ours to modify.
    tamper(unsafe { &mut *mt.as_ptr() });
    drop(t);
    import(mt)
}

#[test]
fn a_grown_shape_is_refused_against_the_storage() {
    let _guard = serial();
    let start = live();
    let err = import_tampered(|m| unsafe { *m.dl_tensor.shape = 5 }).unwrap_err();
    assert!(matches!(err, Error::InvalidArgument(_)), "{err}");
    assert!(
        err.to_string()
            .contains("outside the 96 bytes of its storage"),
        "{err}"
    );
    assert_eq!(live(), start, "the storage is released once");
}

#[test]
fn a_wider_dtype_is_refused_against_the_storage() {
    let _guard = serial();
    let start = live();
    let err = import_tampered(|m| m.dl_tensor.dtype.bits = 64).unwrap_err();
    assert!(
        err.to_string()
            .contains("outside the 96 bytes of its storage"),
        "{err}"
    );
    assert_eq!(live(), start);
}

#[test]
fn changed_strides_are_validated_and_used() {
    let _guard = serial();
    let start = live();
    // Column 0 only: strides (6, 0) over a 4x6 buffer, a legal re-description.
    let t = import_tampered(|m| unsafe { *m.dl_tensor.strides.add(1) = 0 }).unwrap();
    assert_eq!(t.strides(), &[6, 0]);
    assert_eq!(t.get_f64(&[3, 5]).unwrap(), 18.0);
    assert!(
        !t.is_writeable(),
        "overlapping elements are never writeable"
    );
    drop(t);
    assert_eq!(live(), start);
}

#[test]
fn an_unknown_dtype_or_version_is_refused() {
    let _guard = serial();
    let start = live();
    let err = import_tampered(|m| m.dl_tensor.dtype.code.0 = 200).unwrap_err();
    assert!(matches!(err, Error::UnsupportedDtype(_)), "{err}");
    let err = import_tampered(|m| m.version.major = 2).unwrap_err();
    assert!(matches!(err, Error::Version(_)), "{err}");
    let err = import_tampered(|m| m.flags.insert(DlpackFlags::IS_SUBBYTE_TYPE_PADDED)).unwrap_err();
    assert!(matches!(err, Error::UnsupportedDtype(_)), "{err}");
    assert_eq!(live(), start);
}

#[test]
fn a_set_read_only_flag_makes_the_import_read_only() {
    let _guard = serial();
    let t = import_tampered(|m| m.flags.insert(DlpackFlags::READ_ONLY)).unwrap();
    assert!(!t.is_writeable());
    assert!(t.storage().is_read_only());
}
