//! Safe Rust cannot race on elements (issue 14 item 2): a safe write
//! (`set_f64`, `copy_into`, `copy_into_with`, `index_put`) needs `&mut` and
//! a tensor that no other handle shares ([`Tensor::is_exclusive`]); while a
//! clone, a view, a base, a DLPack export or an `Arc` of the storage is
//! alive it fails with the message below, and succeeds once that handle is
//! dropped. The unsafe `_shared` variants write anyway. (That `&Tensor`
//! cannot write at all is checked by the `compile_fail` doc tests on
//! `Tensor::set_f64` and `Tensor::copy_into`.)

use dlview::dlpack::{ExportOptions, export};
use dlview::mmap::{self, MapMode};
use dlview::{DType, Error, Index, Order, Tensor};
use std::sync::Arc;

fn refused(variant: &str) -> Error {
    Error::InvalidArgument(format!(
        "cannot write through a shared tensor: other handles (clones, views, DLPack exports) \
         hold its memory; drop them first, or use the unsafe `{variant}`"
    ))
}

fn not_ours(variant: &str) -> Error {
    Error::InvalidArgument(format!(
        "cannot write through a shared tensor: its memory is not dlview's alone (a shared file \
         mapping, a DLPack producer's tensor or caller memory); use the unsafe `{variant}`"
    ))
}

fn zeros(shape: &[i64]) -> Tensor {
    Tensor::zeros(DType::F64, shape, Order::C).unwrap()
}

fn one(v: f64) -> Tensor {
    let mut t = zeros(&[]);
    t.set_f64(&[], v).unwrap();
    t
}

/// Every safe write of `t` is refused with `err(variant)`, and writes nothing.
fn assert_every_safe_write_refused(t: &mut Tensor, err: fn(&str) -> Error) {
    let before = t.copy(Order::C).unwrap();
    assert_eq!(
        t.set_f64(&vec![0; t.ndim()], 5.0).unwrap_err(),
        err("Tensor::set_f64_shared")
    );
    let src = one(6.0);
    assert_eq!(
        src.copy_into(t).unwrap_err(),
        err("Tensor::copy_into_shared")
    );
    assert_eq!(
        src.copy_into_with(t, Default::default()).unwrap_err(),
        err("Tensor::copy_into_shared")
    );
    assert_eq!(
        t.index_put(&[Index::Ellipsis], &src).unwrap_err(),
        err("Tensor::index_put_shared")
    );
    let after = t.copy(Order::C).unwrap();
    for i in 0..t.shape()[0] {
        assert_eq!(
            after.get_f64(&[i]).unwrap(),
            before.get_f64(&[i]).unwrap(),
            "a refused write wrote"
        );
    }
}

/// Every safe write of `t` succeeds.
fn assert_every_safe_write_works(t: &mut Tensor) {
    assert!(t.is_exclusive());
    t.set_f64(&vec![0; t.ndim()], 5.0).unwrap();
    assert_eq!(t.get_f64(&vec![0; t.ndim()]).unwrap(), 5.0);
    one(6.0).copy_into(t).unwrap();
    assert_eq!(t.get_f64(&vec![-1; t.ndim()]).unwrap(), 6.0);
    one(7.0).copy_into_with(t, Default::default()).unwrap();
    assert_eq!(t.get_f64(&vec![-1; t.ndim()]).unwrap(), 7.0);
    t.index_put(&[Index::Int(0)], &one(8.0)).unwrap();
    assert_eq!(t.get_f64(&vec![0; t.ndim()]).unwrap(), 8.0);
}

#[test]
fn a_fresh_tensor_is_exclusive() {
    let mut t = zeros(&[4]);
    assert_every_safe_write_works(&mut t);
    // A copy is a new buffer: both are exclusive.
    let mut c = t.copy(Order::C).unwrap();
    assert_every_safe_write_works(&mut c);
    assert_every_safe_write_works(&mut t);
}

#[test]
fn a_clone_blocks_safe_writes_until_dropped() {
    let mut t = zeros(&[4]);
    let clone = t.clone();
    assert!(!t.is_exclusive() && !clone.is_exclusive());
    assert_every_safe_write_refused(&mut t, refused);
    // Read from another thread while the write is refused here.
    std::thread::scope(|s| {
        s.spawn(|| assert_eq!(clone.get_f64(&[0]).unwrap(), 0.0));
        assert!(t.set_f64(&[0], 1.0).is_err());
    });
    drop(clone);
    assert_every_safe_write_works(&mut t);
}

#[test]
fn views_and_bases_count_as_handles() {
    let mut root = zeros(&[4]);
    let mut view = root.slice(0, Some(1), None, 1).unwrap();
    assert_every_safe_write_refused(&mut root, refused);
    assert_every_safe_write_refused(&mut view, refused);
    // Two views of one root: neither is alone even once the root is gone.
    let mut other = view.flip(0).unwrap();
    drop(root);
    assert_every_safe_write_refused(&mut view, refused);
    assert_every_safe_write_refused(&mut other, refused);
    drop(other);
    // The view alone: it holds its base, and nothing else does.
    assert_eq!(view.base().map(|b| b.shape().to_vec()), Some(vec![4]));
    assert_every_safe_write_works(&mut view);
    // A view of a view of a dropped root: its base is the root, held only
    // by the two views; once the middle one is gone the last is alone.
    let middle = view.slice(0, None, None, 2).unwrap();
    let mut last = middle.flip(0).unwrap();
    drop(view);
    assert_every_safe_write_refused(&mut last, refused);
    drop(middle);
    assert_every_safe_write_works(&mut last);
    // The base handed out by `base()` is one more handle once cloned.
    let base = last.base().unwrap().clone();
    assert_every_safe_write_refused(&mut last, refused);
    drop(base);
    assert_every_safe_write_works(&mut last);
}

#[test]
fn arcs_of_the_storage_count_strong_and_weak() {
    let mut t = zeros(&[3]);
    let strong = Arc::clone(t.storage());
    assert_every_safe_write_refused(&mut t, refused);
    drop(strong);
    let weak = Arc::downgrade(t.storage());
    assert_every_safe_write_refused(&mut t, refused);
    drop(weak);
    assert_every_safe_write_works(&mut t);
}

#[test]
fn a_live_dlpack_export_is_a_handle() {
    let mut t = zeros(&[3]);
    let mt = export::to_versioned(&t, &ExportOptions::default()).unwrap();
    assert_every_safe_write_refused(&mut t, refused);
    // SAFETY: our own live export, deleted once.
    unsafe {
        let deleter = (*mt.as_ptr()).deleter.unwrap();
        deleter(mt.as_ptr());
    }
    assert_every_safe_write_works(&mut t);
}

#[test]
fn shared_variants_write_through_shared_tensors() {
    let root = zeros(&[4]);
    let view = root.slice(0, Some(1), None, 1).unwrap();
    // SAFETY (each block): single-threaded; nothing else reads or writes
    // the buffer during the call.
    unsafe { view.set_f64_shared(&[0], 1.0) }.unwrap();
    unsafe { one(2.0).copy_into_shared(&root.slice(0, Some(2), Some(3), 1).unwrap()) }.unwrap();
    unsafe {
        one(3.0).copy_into_shared_with(
            &root.slice(0, Some(3), None, 1).unwrap(),
            Default::default(),
        )
    }
    .unwrap();
    unsafe { view.index_put_shared(&[Index::Int(-1)], &one(4.0)) }.unwrap();
    let got: Vec<f64> = (0..4).map(|i| root.get_f64(&[i]).unwrap()).collect();
    assert_eq!(got, [0.0, 1.0, 2.0, 4.0]);
    // They still refuse read-only destinations.
    let ro = root.broadcast_to(&[2, 4]).unwrap();
    assert_eq!(
        unsafe { ro.set_f64_shared(&[0, 0], 1.0) }.unwrap_err(),
        Error::ReadOnly("assignment destination is read-only".into())
    );
    assert_eq!(
        unsafe { one(1.0).copy_into_shared(&ro) }.unwrap_err(),
        Error::ReadOnly("assignment destination is read-only".into())
    );
    assert_eq!(
        unsafe { ro.index_put_shared(&[Index::Int(0)], &one(1.0)) }.unwrap_err(),
        Error::ReadOnly("assignment destination is read-only".into())
    );
}

#[test]
fn read_only_is_reported_before_sharing() {
    let t = zeros(&[4]);
    let mut b = t.broadcast_to(&[2, 4]).unwrap();
    let ro = || Error::ReadOnly("assignment destination is read-only".into());
    assert_eq!(b.set_f64(&[0, 0], 1.0).unwrap_err(), ro());
    assert_eq!(one(1.0).copy_into(&mut b).unwrap_err(), ro());
    assert_eq!(b.index_put(&[Index::Int(0)], &one(1.0)).unwrap_err(), ro());
}

#[test]
fn shared_file_mappings_are_never_exclusive() {
    let dir = std::env::temp_dir().join(format!("dlview-exclusive-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join("a.f64");
    let mut a = mmap::memmap(&p, DType::F64, MapMode::Create, 0, Some(&[4]), Order::C).unwrap();
    // A second mapping of the file is another storage over the same pages.
    let b = mmap::memmap(&p, DType::F64, MapMode::ReadWrite, 0, None, Order::C).unwrap();
    assert_every_safe_write_refused(&mut a, not_ours);
    drop(b);
    // Still shared with the file (other processes, later mappings).
    assert_every_safe_write_refused(&mut a, not_ours);
    // SAFETY: single-threaded; no other mapping of the file is in use.
    unsafe { a.set_f64_shared(&[1], 2.5) }.unwrap();
    drop(a);
    // A private (copy-on-write) mapping is this process's alone.
    let mut c = mmap::memmap(&p, DType::F64, MapMode::CopyOnWrite, 0, None, Order::C).unwrap();
    assert_eq!(c.get_f64(&[1]).unwrap(), 2.5);
    assert_every_safe_write_works(&mut c);
    drop(c);
    std::fs::remove_dir_all(&dir).unwrap();
}
