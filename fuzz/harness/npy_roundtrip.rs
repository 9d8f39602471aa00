//! Fuzz target `npy_roundtrip`: `save` then `load` (RULES.md §7, issue 15).
//!
//! The input picks a dtype, a shape (small, or one of the edge values that
//! break careless arithmetic), element bytes, and a chain of views (slices
//! with steps, flips, transposes, broadcasts), then saves the view over a
//! file that already exists with mode 0600. Checked:
//!
//! - saving a view whose shape or strides NumPy could not represent is
//!   impossible: the view is refused first (every view that exists saves);
//! - the saved file loads, read and memory-mapped read-only, with the
//!   view's dtype and shape, and its elements are bit for bit the view's in
//!   C index order (the oracle gathers them with index arithmetic written
//!   here, not with the library's copy);
//! - the replaced file keeps mode 0600, and no temporary file is left in
//!   the directory; nothing leaks.

use super::input::Input;
use dlview_core::mmap::MapMode;
use dlview_core::{DType, Order, Tensor, npy};
use std::os::unix::fs::PermissionsExt;

const DTYPES: [DType; 17] = [
    DType::BOOL,
    DType::I8,
    DType::I16,
    DType::I32,
    DType::I64,
    DType::U8,
    DType::U16,
    DType::U32,
    DType::U64,
    DType::F16,
    DType::F32,
    DType::F64,
    DType::BF16,
    DType::C64,
    DType::C128,
    DType::F8_E4M3FN,
    DType::F8_E5M2,
];

/// At most this many elements in the root (so one input stays fast).
const MAX_ELEMENTS: i64 = 1 << 12;

/// A directory of this process and thread (RAM-backed when possible).
fn scratch_dir() -> std::path::PathBuf {
    let base = if std::path::Path::new("/dev/shm").is_dir() {
        "/dev/shm".into()
    } else {
        std::env::temp_dir()
    };
    let name = format!(
        "dlview-fuzz-roundtrip-{}-{:?}",
        std::process::id(),
        std::thread::current().id()
    )
    .replace(['(', ')'], "");
    let dir = base.join(name);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The bytes of every element of `t` in C index order, gathered with the
/// view's own strides (element offsets computed here).
fn c_order_bytes(t: &Tensor) -> Vec<u8> {
    let item = t.dtype().itemsize();
    let mut out = Vec::with_capacity(t.size() as usize * item);
    if t.size() == 0 {
        return out;
    }
    let (shape, strides) = (t.shape(), t.strides());
    let mut index = vec![0i64; shape.len()];
    loop {
        let offset: i64 = index.iter().zip(strides).map(|(i, s)| i * s).sum();
        // SAFETY: every index is inside the view, whose elements lie in its
        // storage (the library checked it when the view was made).
        let p = unsafe { t.data_ptr().offset(offset as isize * item as isize) };
        out.extend_from_slice(unsafe { std::slice::from_raw_parts(p, item) });
        let mut axis = shape.len();
        loop {
            if axis == 0 {
                return out;
            }
            axis -= 1;
            index[axis] += 1;
            if index[axis] < shape[axis] {
                break;
            }
            index[axis] = 0;
        }
    }
}

/// Runs one input. Panics on any violation.
pub fn run(data: &[u8]) {
    let mut input = Input::new(data);
    let live = dlview_core::__private::live_count();
    let dtype = DTYPES[input.below(DTYPES.len())];
    let ndim = input.below(5);
    let shape: Vec<i64> = (0..ndim).map(|_| input.dim()).collect();
    let Ok(mut root) = Tensor::zeros(dtype, &shape, Order::C) else {
        return; // refused shapes are the header fuzzer's and bad_input's
    };
    if root.size() > MAX_ELEMENTS {
        return;
    }
    // Element bytes from the input (any bit pattern: NaNs, non-0/1 bools).
    if root.nbytes() > 0 {
        let p = root.data_ptr_mut().unwrap();
        for k in 0..root.nbytes() {
            // SAFETY: inside the fresh root's buffer.
            unsafe { *p.add(k) = input.byte() };
        }
    }
    let mut view = root.clone();
    for _ in 0..input.below(4) {
        let nd = view.ndim() as i64;
        let axis = if nd == 0 {
            0
        } else {
            input.signed().rem_euclid(nd)
        };
        let next = match input.below(4) {
            0 => view.slice(
                axis,
                Some(input.signed()),
                Some(input.signed()),
                input.signed(),
            ),
            1 => view.flip(axis),
            2 => view.transpose(),
            _ => {
                let mut s = vec![input.dim()];
                s.extend_from_slice(view.shape());
                view.broadcast_to(&s)
            }
        };
        if let Ok(v) = next
            && v.size() <= MAX_ELEMENTS
        {
            view = v;
        }
    }
    let dir = scratch_dir();
    let path = dir.join("t.npy");
    std::fs::write(&path, b"old").unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    npy::save(&view, &path).unwrap_or_else(|e| panic!("a view that exists must save: {e}"));
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o7777;
    assert_eq!(mode, 0o600, "permission bits kept");
    let left: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(left, ["t.npy"], "no temporary file left");
    let want = c_order_bytes(&view);
    for mode in [None, Some(MapMode::Read)] {
        let back = npy::load(&path, mode)
            .unwrap_or_else(|e| panic!("saved file must load ({mode:?}): {e}"));
        assert_eq!((back.dtype(), back.shape()), (view.dtype(), view.shape()));
        assert_eq!(
            c_order_bytes(&back),
            want,
            "elements survive the round trip ({mode:?})"
        );
    }
    drop((view, root));
    std::fs::remove_file(&path).unwrap();
    assert_eq!(
        dlview_core::__private::live_count(),
        live,
        "storages leaked"
    );
}
