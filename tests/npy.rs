//! `.npy` files and memory maps (RULES.md §7, issue #6): loading, saving,
//! the four map modes, DLPack export of mapped memory, raw `memmap`, the
//! C ABI, and every malformed-input error with its status and message.
//!
//! Two kinds of oracle:
//! - reference files written by NumPy, committed under `tests/data/npy/`
//!   (regenerate with `make_reference.py` there), so the core checks run
//!   without Python; their values follow a formula recomputed here;
//! - NumPy itself, run at test time when a Python with NumPy is found
//!   (`$DLVIEW_TEST_PYTHON`, else `.venv/bin/python`). Without one those
//!   tests print why they were skipped and pass.
//!
//! `live_count()` and `/proc/self/maps` are global to the process, so every
//! test takes the [`guard`], which serialises them and checks that each test
//! released every storage it made.

use dlpark::ffi::DLManagedTensorVersioned;
use dlview::*;
use dlview_core::__private::live_count;
use dlview_core::dlpack::{ExportOptions, export};
use dlview_core::mmap::{self, MapMode};
use dlview_core::npy;
use dlview_core::tensor::flags::{ALIGNED, C_CONTIGUOUS, F_CONTIGUOUS, OWNDATA, WRITEABLE};
use dlview_core::{DType, Error, Order, Tensor};
use std::ffi::{CStr, CString};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, MutexGuard};

// ---- harness ---------------------------------------------------------------------

static SERIAL: Mutex<()> = Mutex::new(());

struct Guard {
    start: usize,
    _lock: MutexGuard<'static, ()>,
}

/// Take first in every test: locals declared after it drop before it.
fn guard() -> Guard {
    let lock = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    Guard {
        start: live_count(),
        _lock: lock,
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            assert_eq!(
                live_count(),
                self.start,
                "a storage outlived every tensor of the test"
            );
        }
    }
}

/// A scratch directory removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> TempDir {
        TempDir::under(&std::env::temp_dir(), name)
    }

    fn under(parent: &Path, name: &str) -> TempDir {
        let dir = parent.join(format!("dlview-npy-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }

    fn path(&self, file: &str) -> PathBuf {
        self.0.join(file)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn data(file: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/npy")
        .join(file)
}

/// How many regions of `/proc/self/maps` map `path`.
fn maps_of(path: &Path) -> usize {
    let maps = std::fs::read_to_string("/proc/self/maps").unwrap();
    let p = path.to_string_lossy();
    maps.lines().filter(|l| l.ends_with(&*p)).count()
}

/// The raw bytes of a tensor's elements in C index order.
fn c_bytes(t: &Tensor) -> Vec<u8> {
    let c = t.copy(Order::C).unwrap();
    if c.nbytes() == 0 {
        return vec![];
    }
    // SAFETY: a fresh C-contiguous copy of `nbytes` bytes.
    unsafe { std::slice::from_raw_parts(c.data_ptr(), c.nbytes()) }.to_vec()
}

/// Element `k` of the reference formula (see make_reference.py), as bytes.
fn value_bytes(dtype: DType, k: i64) -> Vec<u8> {
    let f = (k - 12) as f64 / 4.0;
    let s = k - 12;
    let u = 10 * k as u64;
    match dtype.name() {
        "bool" => vec![u8::from(k % 3 == 0)],
        "int8" => (s as i8).to_le_bytes().to_vec(),
        "int16" => (s as i16).to_le_bytes().to_vec(),
        "int32" => (s as i32).to_le_bytes().to_vec(),
        "int64" => s.to_le_bytes().to_vec(),
        "uint8" => (u as u8).to_le_bytes().to_vec(),
        "uint16" => (u as u16).to_le_bytes().to_vec(),
        "uint32" => (u as u32).to_le_bytes().to_vec(),
        "uint64" => u.to_le_bytes().to_vec(),
        "float16" => half::f16::from_f64(f).to_le_bytes().to_vec(),
        "bfloat16" => half::bf16::from_f64(f).to_le_bytes().to_vec(),
        "float32" => (f as f32).to_le_bytes().to_vec(),
        "float64" => f.to_le_bytes().to_vec(),
        "complex64" => [(f as f32).to_le_bytes(), (k as f32).to_le_bytes()].concat(),
        "complex128" => [f.to_le_bytes(), (k as f64).to_le_bytes()].concat(),
        _ => {
            // float8: encode through the library's own cast of the formula.
            let mut t = Tensor::zeros(dtype, &[], Order::C).unwrap();
            t.set_f64(&[], f).unwrap();
            c_bytes(&t)
        }
    }
}

fn expected_bytes(dtype: DType, n: i64) -> Vec<u8> {
    (0..n).flat_map(|k| value_bytes(dtype, k)).collect()
}

/// A new tensor of `shape` in `order` holding the reference formula.
fn reference_tensor(dtype: DType, shape: &[i64], order: Order) -> Tensor {
    let mut t = Tensor::zeros(dtype, shape, Order::C).unwrap();
    let bytes = expected_bytes(dtype, t.size());
    if !bytes.is_empty() {
        let p = t.data_ptr_mut().unwrap();
        // SAFETY: a fresh compact buffer of exactly `bytes.len()` bytes.
        unsafe { std::ptr::copy_nonoverlapping(bytes.as_ptr(), p, bytes.len()) };
    }
    if order == Order::F {
        t.copy(Order::F).unwrap()
    } else {
        t
    }
}

fn compact_strides(shape: &[i64], order: Order) -> Vec<i64> {
    let mut strides = vec![0; shape.len()];
    let mut acc = 1;
    let axes: Vec<usize> = if order == Order::C {
        (0..shape.len()).rev().collect()
    } else {
        (0..shape.len()).collect()
    };
    for a in axes {
        strides[a] = acc;
        acc *= shape[a].max(1);
    }
    strides
}

const DTYPES: [DType; 14] = [
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
    DType::C64,
    DType::C128,
];

const MODES: [Option<MapMode>; 4] = [
    None,
    Some(MapMode::Read),
    Some(MapMode::ReadWrite),
    Some(MapMode::CopyOnWrite),
];

fn format_error(r: Result<Tensor, Error>) -> String {
    match r {
        Err(Error::Format(m)) => m,
        other => panic!("expected a format error, got {other:?}"),
    }
}

// ---- NumPy-written reference files ------------------------------------------------

/// Loads a committed file in `mode`, from a scratch copy (so `r+` cannot
/// touch the repository).
fn load_copy(dir: &TempDir, file: &str, mode: Option<MapMode>) -> dlview_core::Result<Tensor> {
    let p = dir.path(file);
    std::fs::copy(data(file), &p).unwrap();
    npy::load(&p, mode)
}

#[test]
fn reference_files_load_in_every_mode() {
    let _g = guard();
    let dir = TempDir::new("reference");
    for dtype in DTYPES {
        for (order, tag) in [(Order::C, "C"), (Order::F, "F")] {
            let file = format!("{}_{tag}.npy", dtype.name());
            for mode in MODES {
                let t =
                    load_copy(&dir, &file, mode).unwrap_or_else(|e| panic!("{file} {mode:?}: {e}"));
                let what = format!("{file} in mode {mode:?}");
                assert_eq!(t.dtype(), dtype, "{what}");
                assert_eq!(t.shape(), [2, 3, 4], "{what}");
                assert_eq!(
                    t.strides(),
                    compact_strides(&[2, 3, 4], order),
                    "{what}: a view, never a transposing copy"
                );
                let writeable = if mode == Some(MapMode::Read) {
                    0
                } else {
                    WRITEABLE
                };
                let contiguous = if order == Order::C {
                    C_CONTIGUOUS
                } else {
                    F_CONTIGUOUS
                };
                assert_eq!(
                    t.flags(),
                    writeable | contiguous | OWNDATA | ALIGNED,
                    "{what}"
                );
                assert_eq!(c_bytes(&t), expected_bytes(dtype, 24), "{what}");
                // The data sits 128 bytes into the file; mapped tensors point into the map.
                if mode.is_some() {
                    assert_eq!(t.data_ptr() as usize % 4096, 128, "{what}");
                    assert_eq!(maps_of(&dir.path(&file)), 1, "{what}");
                }
            }
        }
    }
}

#[test]
fn reference_files_zero_d_size_zero_and_versions() {
    let _g = guard();
    let dir = TempDir::new("versions");
    for mode in MODES {
        let t = load_copy(&dir, "float64_0d.npy", mode).unwrap();
        assert_eq!((t.ndim(), t.get_f64(&[]).unwrap()), (0, 3.5));
        let t = load_copy(&dir, "int32_0d.npy", mode).unwrap();
        assert_eq!((t.dtype(), t.get_f64(&[]).unwrap()), (DType::I32, -7.0));
        for (file, dtype, shape) in [
            ("float32_0x3.npy", DType::F32, &[0i64, 3][..]),
            ("int64_0.npy", DType::I64, &[0][..]),
        ] {
            let t = load_copy(&dir, file, mode).unwrap();
            assert_eq!((t.dtype(), t.shape()), (dtype, shape));
            assert!(t.data_ptr().is_null());
            assert_eq!(
                t.flags() & (C_CONTIGUOUS | F_CONTIGUOUS),
                C_CONTIGUOUS | F_CONTIGUOUS
            );
            assert_eq!(maps_of(&dir.path(file)), 0, "nothing to map for size 0");
        }
        for (file, version) in [("float32_v2.npy", (2, 0)), ("float32_v3.npy", (3, 0))] {
            let t = load_copy(&dir, file, mode).unwrap();
            assert_eq!(c_bytes(&t), expected_bytes(DType::F32, 24));
            let mut f = std::fs::File::open(data(file)).unwrap();
            let len = f.metadata().unwrap().len();
            let h = npy::read_header(&mut f, len).unwrap();
            assert_eq!((h.version, h.data_offset % 64), (version, 0));
        }
    }
}

#[test]
fn big_endian_loads_as_a_swapped_copy_and_refuses_maps() {
    let _g = guard();
    let dir = TempDir::new("big");
    for (file, dtype, order) in [
        ("float64_big.npy", DType::F64, Order::C),
        ("int32_big_F.npy", DType::I32, Order::F),
        ("complex64_big.npy", DType::C64, Order::C),
        ("float32_big.npy", DType::F32, Order::C),
        ("int64_big.npy", DType::I64, Order::C),
        ("complex128_big_F.npy", DType::C128, Order::F),
        ("float16_big.npy", DType::F16, Order::C),
        ("uint16_big.npy", DType::U16, Order::C),
    ] {
        let t = load_copy(&dir, file, None).unwrap();
        assert_eq!(
            (t.dtype(), t.strides()),
            (dtype, &compact_strides(&[2, 3, 4], order)[..])
        );
        assert_eq!(c_bytes(&t), expected_bytes(dtype, 24), "{file}");
        assert!(t.is_writeable());
        for mode in [MapMode::Read, MapMode::ReadWrite, MapMode::CopyOnWrite] {
            let m = format_error(load_copy(&dir, file, Some(mode)));
            assert!(
                m.contains("big-endian")
                    && m.contains("cannot be memory-mapped")
                    && m.contains(file),
                "{m}"
            );
            assert_eq!(maps_of(&dir.path(file)), 0);
        }
    }
}

#[test]
fn numpy_void_bfloat16_is_refused_with_a_hint() {
    let _g = guard();
    let m = format_error(npy::load(&data("bfloat16_as_void.npy"), None));
    assert!(m.contains("'<V2'") || m.contains("\"<V2\""), "{m}");
    assert!(m.contains("ml_dtypes"), "{m}");
}

// ---- saving ------------------------------------------------------------------------

#[test]
fn saved_files_are_byte_identical_to_numpys() {
    let _g = guard();
    let dir = TempDir::new("identical");
    for dtype in DTYPES {
        for (order, tag) in [(Order::C, "C"), (Order::F, "F")] {
            let t = reference_tensor(dtype, &[2, 3, 4], order);
            let out = dir.path(&format!("{}_{tag}.npy", dtype.name()));
            npy::save(&t, &out).unwrap();
            let want = std::fs::read(data(&format!("{}_{tag}.npy", dtype.name()))).unwrap();
            assert_eq!(std::fs::read(&out).unwrap(), want, "{}", out.display());
        }
    }
    for (file, t) in [
        ("float64_0d.npy", {
            let mut t = Tensor::zeros(DType::F64, &[], Order::C).unwrap();
            t.set_f64(&[], 3.5).unwrap();
            t
        }),
        (
            "float32_0x3.npy",
            Tensor::zeros(DType::F32, &[0, 3], Order::C).unwrap(),
        ),
        (
            "int64_0.npy",
            Tensor::zeros(DType::I64, &[0], Order::F).unwrap(),
        ),
    ] {
        let out = dir.path(file);
        npy::save(&t, &out).unwrap();
        assert_eq!(
            std::fs::read(&out).unwrap(),
            std::fs::read(data(file)).unwrap(),
            "{file}"
        );
    }
}

#[test]
fn saving_views_writes_their_elements() {
    let _g = guard();
    let dir = TempDir::new("views");
    let base = reference_tensor(DType::I32, &[4, 6], Order::C);
    let cases: Vec<(&str, Tensor, bool)> = vec![
        ("transposed (F-contiguous)", base.transpose().unwrap(), true),
        (
            "column slice",
            base.slice(1, Some(1), Some(5), 2).unwrap(),
            false,
        ),
        ("flipped", base.flip(0).unwrap().flip(1).unwrap(), false),
        (
            "broadcast",
            base.select(0, 1).unwrap().broadcast_to(&[3, 6]).unwrap(),
            false,
        ),
        ("row", base.select(0, 2).unwrap(), false),
        (
            "permuted 3-d",
            reference_tensor(DType::F64, &[2, 3, 4], Order::C)
                .permute(&[1, 0, 2])
                .unwrap(),
            false,
        ),
    ];
    for (what, view, fortran) in cases {
        let out = dir.path("v.npy");
        npy::save(&view, &out).unwrap();
        let back = npy::load(&out, None).unwrap();
        assert_eq!(back.shape(), view.shape(), "{what}");
        assert_eq!(c_bytes(&back), c_bytes(&view), "{what}");
        assert_eq!(
            back.layout().is_f_contiguous() && !back.layout().is_c_contiguous(),
            fortran,
            "{what}"
        );
        assert!(back.layout().is_c_contiguous() || fortran, "{what}");
    }
    // Bigger than the gathering chunk: written piecewise, still in C order.
    for shape in [&[5_000_000i64][..], &[3, 2_000_000][..]] {
        // The root is a temporary: the view alone holds it, so it is exclusive.
        let mut big = Tensor::zeros(DType::U32, shape, Order::C)
            .unwrap()
            .flip(-1)
            .unwrap();
        let last = shape.len() - 1;
        let mut idx = vec![0; shape.len()];
        idx[last] = 7;
        big.set_writeable(true).unwrap();
        big.set_f64(&idx, 99.0).unwrap();
        let view = big.slice(-1, None, None, 3).unwrap();
        let out = dir.path("big.npy");
        npy::save(&view, &out).unwrap();
        let back = npy::load(&out, Some(MapMode::Read)).unwrap();
        assert_eq!(back.shape(), view.shape());
        assert_eq!(c_bytes(&back), c_bytes(&view));
    }
}

#[test]
fn saves_bfloat16_and_float8_under_ml_dtypes_names() {
    let _g = guard();
    let dir = TempDir::new("mldtypes");
    for dtype in [DType::BF16, DType::F8_E4M3FN, DType::F8_E5M2] {
        let t = reference_tensor(dtype, &[2, 3, 4], Order::C);
        let out = dir.path("ml.npy");
        npy::save(&t, &out).unwrap();
        let text = String::from_utf8_lossy(&std::fs::read(&out).unwrap()[..128]).into_owned();
        assert!(
            text.contains(&format!("'descr': '{}'", dtype.name())),
            "{text}"
        );
        for mode in [None, Some(MapMode::Read)] {
            let back = npy::load(&out, mode).unwrap();
            assert_eq!((back.dtype(), c_bytes(&back)), (dtype, c_bytes(&t)));
        }
    }
    let f4 = {
        let storage = std::sync::Arc::new(
            dlview_core::storage::Storage::allocate(2, true, dlview_core::Device::CPU).unwrap(),
        );
        let data = storage.base();
        let layout = dlview_core::Layout::compact(&[4], Order::C).unwrap();
        Tensor::from_storage(storage, data, layout, DType::new(17, 4, 1).unwrap(), true).unwrap()
    };
    let err = npy::save(&f4, &dir.path("f4.npy")).unwrap_err();
    assert!(matches!(err, Error::UnsupportedDtype(_)), "{err:?}");
    assert!(!dir.path("f4.npy").exists());
}

#[test]
fn failed_saves_leave_no_file() {
    let _g = guard();
    let dir = TempDir::new("failsave");
    let t = reference_tensor(DType::F32, &[3], Order::C);
    let err = npy::save(&t, &dir.path("missing/dir/x.npy")).unwrap_err();
    assert!(
        matches!(&err, Error::Io(m) if m.contains("missing/dir") && m.contains("No such file")),
        "{err:?}"
    );
    // A device tensor is refused before any file is created.
    let dev = {
        let storage = unsafe {
            dlview_core::storage::Storage::from_foreign(
                0x1000 as *mut u8,
                None,
                dlview_core::Device::new(dlview_core::device::kind::CUDA, 0),
                false,
                false,
                dlview_core::storage::Owner::Callback {
                    release: None,
                    ctx: std::ptr::null_mut(),
                },
            )
        };
        let layout = dlview_core::Layout::compact(&[4], Order::C).unwrap();
        // SAFETY: device memory, never dereferenced (refused first).
        unsafe {
            Tensor::from_storage_unchecked(
                std::sync::Arc::new(storage),
                0x1000 as *mut u8,
                layout,
                DType::F32,
                true,
            )
        }
        .unwrap()
    };
    let err = npy::save(&dev, &dir.path("dev.npy")).unwrap_err();
    assert!(
        matches!(&err, Error::UnsupportedDevice(m) if m.contains("cuda:0")),
        "{err:?}"
    );
    assert_eq!(
        std::fs::read_dir(&dir.0).unwrap().count(),
        0,
        "no file, no temporary"
    );
}

// ---- issue 15: the file rules of RULES.md §7 ----------------------------------------

/// The names the old `save` wrote through, `<file>.dlview-tmp-<pid>-<n>`:
/// predictable, and opened with `File::create` (following symlinks).
fn old_temp_names(target: &Path) -> Vec<PathBuf> {
    (0..64)
        .map(|n| {
            let mut name = target.file_name().unwrap().to_os_string();
            name.push(format!(".dlview-tmp-{}-{n}", std::process::id()));
            target.with_file_name(name)
        })
        .collect()
}

fn dir_entries(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

#[test]
fn save_never_follows_a_planted_symlink() {
    let _g = guard();
    let dir = TempDir::new("planted");
    let victim = dir.path("victim.txt");
    std::fs::write(&victim, b"precious").unwrap();
    let target = dir.path("out.npy");
    // An attacker who can write the directory plants symlinks at every
    // name it can predict; none may redirect the write.
    for name in old_temp_names(&target) {
        std::os::unix::fs::symlink(&victim, name).unwrap();
    }
    let t = reference_tensor(DType::F32, &[3], Order::C);
    for _ in 0..3 {
        npy::save(&t, &target).unwrap();
    }
    assert_eq!(std::fs::read(&victim).unwrap(), b"precious");
    assert_eq!(c_bytes(&npy::load(&target, None).unwrap()), c_bytes(&t));
    // Nothing but the planted links, the victim and the result remains.
    assert_eq!(dir_entries(&dir.0).len(), 64 + 2);
}

#[test]
fn save_keeps_the_permission_bits_of_the_file_it_replaces() {
    use std::os::unix::fs::PermissionsExt;
    let _g = guard();
    let dir = TempDir::new("perms");
    let t = reference_tensor(DType::F32, &[3], Order::C);
    for mode in [0o600, 0o640, 0o604, 0o755] {
        let p = dir.path(&format!("m{mode:o}.npy"));
        std::fs::write(&p, b"old").unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).unwrap();
        npy::save(&t, &p).unwrap();
        let got = std::fs::metadata(&p).unwrap().permissions().mode() & 0o7777;
        assert_eq!(got, mode, "{mode:o} became {got:o}");
    }
    // A new file gets 0666 less the umask (as open(2) would give it).
    let fresh = dir.path("fresh.npy");
    npy::save(&t, &fresh).unwrap();
    let mask = unsafe {
        let m = libc::umask(0o022);
        libc::umask(m);
        m
    } as u32;
    assert_eq!(
        std::fs::metadata(&fresh).unwrap().permissions().mode() & 0o777,
        0o666 & !mask
    );
}

#[test]
fn paths_with_a_nul_byte_are_refused_not_truncated() {
    use std::os::unix::ffi::OsStrExt;
    let _g = guard();
    let dir = TempDir::new("nul");
    let t = reference_tensor(DType::F32, &[3], Order::C);
    let good = dir.path("victim");
    let mut bytes = good.as_os_str().as_bytes().to_vec();
    bytes.extend_from_slice(b"\0.npy");
    let bad = PathBuf::from(std::ffi::OsStr::from_bytes(&bytes));
    let want = |e: Error| match e {
        Error::InvalidArgument(m) => assert!(m.contains("NUL byte") && m.contains("victim"), "{m}"),
        other => panic!("expected INVALID_ARGUMENT, got {other:?}"),
    };
    want(npy::save(&t, &bad).unwrap_err());
    assert!(
        dir_entries(&dir.0).is_empty(),
        "nothing written, not even `victim`"
    );
    std::fs::write(&good, b"x").unwrap();
    want(npy::load(&bad, None).unwrap_err());
    want(npy::load(&bad, Some(MapMode::Read)).unwrap_err());
    want(mmap::memmap(&bad, DType::U8, MapMode::Read, 0, None, Order::C).unwrap_err());
    // dtype names too.
    match DType::from_name("float32\0junk") {
        Err(Error::InvalidArgument(m)) => assert!(m.contains("NUL byte"), "{m}"),
        other => panic!("expected INVALID_ARGUMENT, got {other:?}"),
    }
}

/// Runs `f` on a thread and waits at most 10 s for it: a load that blocks
/// on a FIFO fails the test instead of hanging it.
fn within_seconds<T: Send + 'static>(what: &str, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(std::time::Duration::from_secs(10))
        .unwrap_or_else(|_| panic!("{what} blocked for 10 s"))
}

#[test]
fn fifos_directories_and_devices_are_refused_without_blocking() {
    let _g = guard();
    let dir = TempDir::new("fifo");
    let fifo = dir.path("pipe.npy");
    let c = CString::new(fifo.to_str().unwrap()).unwrap();
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    let expect = |r: dlview_core::Result<Tensor>, what: &str| match r {
        Err(Error::Io(m)) => assert!(m.contains(what) && m.contains("only regular files"), "{m}"),
        other => panic!("expected IO refusing {what}, got {other:?}"),
    };
    for mode in [
        None,
        Some(MapMode::Read),
        Some(MapMode::ReadWrite),
        Some(MapMode::CopyOnWrite),
    ] {
        let p = fifo.clone();
        expect(
            within_seconds("load of a FIFO", move || npy::load(&p, mode)),
            "FIFO",
        );
    }
    for mode in [
        MapMode::Read,
        MapMode::ReadWrite,
        MapMode::CopyOnWrite,
        MapMode::Create,
    ] {
        let p = fifo.clone();
        let r = within_seconds("memmap of a FIFO", move || {
            mmap::memmap(&p, DType::U8, mode, 0, Some(&[4]), Order::C)
        });
        expect(r, "FIFO");
    }
    expect(npy::load(&dir.0, None), "directory");
    expect(
        mmap::memmap(&dir.0, DType::U8, MapMode::Read, 0, None, Order::C),
        "directory",
    );
    expect(npy::load(Path::new("/dev/zero"), None), "character device");
    expect(
        mmap::memmap(
            Path::new("/dev/zero"),
            DType::U8,
            MapMode::Read,
            0,
            Some(&[8]),
            Order::C,
        ),
        "character device",
    );
}

#[test]
fn save_replaces_a_mapped_file_without_disturbing_the_map() {
    let _g = guard();
    let dir = TempDir::new("replace");
    let p = dir.path("a.npy");
    npy::save(&reference_tensor(DType::F64, &[8], Order::C), &p).unwrap();
    let mapped = npy::load(&p, Some(MapMode::Read)).unwrap();
    npy::save(&Tensor::zeros(DType::F64, &[2], Order::C).unwrap(), &p).unwrap();
    assert_eq!(
        c_bytes(&mapped),
        expected_bytes(DType::F64, 8),
        "the old map keeps the old file"
    );
    assert_eq!(npy::load(&p, None).unwrap().shape(), [2]);
}

// ---- memory-map modes -------------------------------------------------------------

fn file_f64(path: &Path, offset: usize, index: usize) -> f64 {
    let bytes = std::fs::read(path).unwrap();
    f64::from_le_bytes(
        bytes[offset + 8 * index..offset + 8 * index + 8]
            .try_into()
            .unwrap(),
    )
}

#[test]
fn mode_r_is_read_only_for_good() {
    let _g = guard();
    let dir = TempDir::new("mode-r");
    let p = dir.path("a.npy");
    npy::save(&reference_tensor(DType::F64, &[4, 4], Order::C), &p).unwrap();
    let mut t = npy::load(&p, Some(MapMode::Read)).unwrap();
    assert!(!t.is_writeable());
    assert!(matches!(t.set_writeable(true), Err(Error::ReadOnly(m)) if m.contains("read-only")));
    assert!(matches!(t.set_f64(&[0, 0], 1.0), Err(Error::ReadOnly(_))));
    assert!(matches!(t.data_ptr_mut(), Err(Error::ReadOnly(_))));
    let mut row = t.select(0, 1).unwrap();
    assert!(
        row.set_writeable(true).is_err(),
        "views of a read-only map stay read-only"
    );
    mmap::flush(&t).unwrap();
}

#[test]
fn mode_r_plus_writes_reach_the_file_and_c_writes_do_not() {
    let _g = guard();
    let dir = TempDir::new("modes");
    let p = dir.path("a.npy");
    npy::save(&reference_tensor(DType::F64, &[4, 4], Order::C), &p).unwrap();
    let orig = file_f64(&p, 128, 5);

    let mut c = npy::load(&p, Some(MapMode::CopyOnWrite)).unwrap();
    c.set_f64(&[1, 1], 1234.0).unwrap();
    mmap::flush(&c).unwrap();
    assert_eq!(c.get_f64(&[1, 1]).unwrap(), 1234.0);
    assert_eq!(file_f64(&p, 128, 5), orig, "mode c keeps writes in memory");

    let rw = npy::load(&p, Some(MapMode::ReadWrite)).unwrap();
    assert!(rw.is_writeable());
    let row = rw.select(0, 1).unwrap();
    // A shared mapping is never exclusive: Rust writes it through `_shared`.
    // SAFETY: single-threaded: nothing else reads or writes the mapping meanwhile.
    unsafe { row.set_f64_shared(&[1], -8.5) }.unwrap();
    mmap::flush(&row).unwrap();
    assert_eq!(file_f64(&p, 128, 5), -8.5, "mode r+ writes reach the file");
    assert_eq!(rw.get_f64(&[1, 1]).unwrap(), -8.5);
    drop(row);
    // SAFETY: single-threaded: nothing else reads or writes the mapping meanwhile.
    unsafe { rw.set_f64_shared(&[3, 3], 77.0) }.unwrap();
    drop(rw); // unmapping writes back too (MAP_SHARED), flush or not
    assert_eq!(file_f64(&p, 128, 15), 77.0);
    assert_eq!(
        c.get_f64(&[1, 1]).unwrap(),
        1234.0,
        "the private copy is unaffected"
    );
    assert_eq!(maps_of(&p), 1);
    drop(c);
    assert_eq!(maps_of(&p), 0);
}

#[test]
fn dlpack_exports_share_the_pages_and_a_rogue_writer_cannot_change_the_file() {
    let _g = guard();
    let dir = TempDir::new("dlpack");
    let p = dir.path("a.npy");
    npy::save(&reference_tensor(DType::F32, &[64, 64], Order::C), &p).unwrap();
    let before = std::fs::read(&p).unwrap();
    let t = npy::load(&p, Some(MapMode::Read)).unwrap();
    let mt = export::to_versioned(&t, &ExportOptions::default()).unwrap();
    let mt: *mut DLManagedTensorVersioned = mt.as_ptr();
    // SAFETY: a live export owned by this test until its deleter runs below.
    unsafe {
        assert_eq!((*mt).dl_tensor.data as *const u8, t.data_ptr(), "zero-copy");
        assert!((*mt).flags.contains(dlpark::DlpackFlags::READ_ONLY));
        assert!(!(*mt).flags.contains(dlpark::DlpackFlags::IS_COPIED));
        // A consumer that ignores READ_ONLY, as PyTorch does: it must not
        // fault (the pages are writable, private copies).
        let data = (*mt).dl_tensor.data.cast::<f32>();
        for i in 0..4096 {
            data.add(i).write(-1.0);
        }
    }
    drop(t);
    assert_eq!(maps_of(&p), 1, "the export keeps the mapping alive");
    // SAFETY: the export's own deleter, called once.
    unsafe { ((*mt).deleter.unwrap())(mt) };
    assert_eq!(maps_of(&p), 0, "unmapped with the last export");
    assert_eq!(std::fs::read(&p).unwrap(), before, "the file never changed");
}

#[test]
fn slices_keep_the_mapping_alive() {
    let _g = guard();
    let dir = TempDir::new("slices");
    let p = dir.path("a.npy");
    npy::save(&reference_tensor(DType::I64, &[10, 10], Order::C), &p).unwrap();
    let t = npy::load(&p, Some(MapMode::Read)).unwrap();
    let s = t
        .slice(0, Some(2), Some(8), 3)
        .unwrap()
        .slice(1, None, None, -1)
        .unwrap();
    let before = live_count();
    drop(t);
    assert_eq!(live_count(), before);
    assert_eq!(maps_of(&p), 1);
    assert_eq!(s.get_f64(&[1, 0]).unwrap(), (5 * 10 + 9 - 12) as f64);
    let copy = s.copy(Order::C).unwrap();
    drop(s);
    assert_eq!(maps_of(&p), 0, "unmapped when the last view went");
    assert_eq!(
        copy.get_f64(&[0, 9]).unwrap(),
        (20 - 12) as f64,
        "a copy detaches"
    );
}

#[test]
fn as_strided_is_bounded_by_the_mapped_data() {
    let _g = guard();
    let dir = TempDir::new("strided");
    let p = dir.path("a.npy");
    npy::save(&reference_tensor(DType::U8, &[100], Order::C), &p).unwrap();
    let t = npy::load(&p, Some(MapMode::Read)).unwrap();
    assert_eq!(t.storage().known_len(), Some(100));
    let row = t.slice(0, Some(50), None, 1).unwrap();
    assert!(row.as_strided(&[50], &[1]).is_ok());
    let err = row.as_strided(&[51], &[1]).unwrap_err();
    assert!(
        matches!(&err, Error::InvalidArgument(m) if m.contains("outside")),
        "{err:?}"
    );
    // Not even the header bytes before the data are reachable.
    assert!(t.as_strided(&[2], &[-1]).is_err());
}

// ---- raw memmap ---------------------------------------------------------------------

#[test]
fn memmap_raw_files_like_numpy() {
    let _g = guard();
    let dir = TempDir::new("memmap");
    let p = dir.path("raw.bin");
    let bytes: Vec<u8> = (0..=255u8).cycle().take(10_000).collect();
    std::fs::write(&p, &bytes).unwrap();

    // Whole file, any offset (not page-aligned).
    let t = mmap::memmap(&p, DType::U8, MapMode::Read, 0, None, Order::C).unwrap();
    assert_eq!((t.shape(), t.is_writeable()), (&[10_000i64][..], false));
    let t = mmap::memmap(&p, DType::U16, MapMode::Read, 4998, None, Order::C).unwrap();
    assert_eq!(t.shape(), [2501]);
    assert_eq!(
        t.get_f64(&[0]).unwrap(),
        f64::from(u16::from_le_bytes([bytes[4998], bytes[4999]]))
    );
    assert_eq!(t.data_ptr() as usize % 4096, 4998 % 4096);
    let err = mmap::memmap(&p, DType::U32, MapMode::Read, 1, None, Order::C).unwrap_err();
    assert!(
        err.to_string().contains("not a multiple of the 4-byte"),
        "{err}"
    );
    let err = mmap::memmap(&p, DType::U8, MapMode::Read, 20_000, None, Order::C).unwrap_err();
    assert!(err.to_string().contains("past the end"), "{err}");

    // A shape, in F order.
    let t = mmap::memmap(
        &p,
        DType::U8,
        MapMode::CopyOnWrite,
        10,
        Some(&[3, 4]),
        Order::F,
    )
    .unwrap();
    assert_eq!(
        (t.strides(), t.get_f64(&[1, 2]).unwrap()),
        (&[1i64, 3][..], f64::from(bytes[10 + 1 + 2 * 3]))
    );
    let err = mmap::memmap(&p, DType::U8, MapMode::Read, 0, Some(&[10_001]), Order::C).unwrap_err();
    assert!(
        matches!(&err, Error::InvalidArgument(m) if m.contains("holds 10000 bytes") && m.contains("needs 10001")),
        "{err:?}"
    );
    assert!(mmap::memmap(&p, DType::U8, MapMode::Read, 0, Some(&[2]), Order::K).is_err());

    // r+ grows the file to the shape, as NumPy does.
    let t = mmap::memmap(
        &p,
        DType::U8,
        MapMode::ReadWrite,
        9_990,
        Some(&[20]),
        Order::C,
    )
    .unwrap();
    // SAFETY: single-threaded: nothing else reads or writes the mapping meanwhile.
    unsafe { t.set_f64_shared(&[19], 200.0) }.unwrap();
    mmap::flush(&t).unwrap();
    let now = std::fs::read(&p).unwrap();
    assert_eq!((now.len(), now[10_009]), (10_010, 200));

    // w+ creates (and needs a shape).
    let q = dir.path("new.bin");
    let err = mmap::memmap(&q, DType::F32, MapMode::Create, 0, None, Order::C).unwrap_err();
    assert!(
        matches!(&err, Error::InvalidArgument(m) if m.contains("needs a shape")),
        "{err:?}"
    );
    assert!(!q.exists(), "a refused w+ creates nothing");
    let t = mmap::memmap(&q, DType::F32, MapMode::Create, 16, Some(&[2, 2]), Order::C).unwrap();
    assert_eq!(std::fs::metadata(&q).unwrap().len(), 32);
    // SAFETY: single-threaded: nothing else reads or writes the mapping meanwhile.
    unsafe { t.set_f64_shared(&[1, 0], 2.5) }.unwrap();
    drop(t);
    assert_eq!(&std::fs::read(&q).unwrap()[24..28], &2.5f32.to_le_bytes());
    // Size 0 maps nothing.
    let t = mmap::memmap(&q, DType::F32, MapMode::Read, 32, None, Order::C).unwrap();
    assert_eq!((t.shape(), maps_of(&q)), (&[0i64][..], 0));
}

#[test]
fn memmap_in_dev_shm_shares_one_tensor() {
    let _g = guard();
    let shm = Path::new("/dev/shm");
    if !shm.is_dir() {
        eprintln!("SKIP memmap_in_dev_shm_shares_one_tensor: no /dev/shm");
        return;
    }
    let dir = TempDir::under(shm, "shm");
    let p = dir.path("shared.f64");
    let mut a = mmap::memmap(&p, DType::F64, MapMode::Create, 0, Some(&[8]), Order::C).unwrap();
    let b = mmap::memmap(&p, DType::F64, MapMode::ReadWrite, 0, None, Order::C).unwrap();
    let r = mmap::memmap(&p, DType::F64, MapMode::Read, 0, None, Order::C).unwrap();
    // `a` and `b` are distinct storages over the same pages: a safe write
    // through `a` while another thread reads `b` would be a data race, so
    // a shared mapping is never exclusive.
    assert!(!a.is_exclusive());
    assert_eq!(
        a.set_f64(&[3], 42.0).unwrap_err(),
        Error::InvalidArgument(
            "cannot write through a shared tensor: its memory is not dlview's alone (a shared file \
             mapping, a DLPack producer's tensor or caller memory); use the unsafe \
             `Tensor::set_f64_shared`"
                .into()
        )
    );
    // SAFETY: single-threaded: nothing else reads or writes the mapping meanwhile.
    unsafe { a.set_f64_shared(&[3], 42.0) }.unwrap();
    assert_eq!(
        (b.get_f64(&[3]).unwrap(), r.get_f64(&[3]).unwrap()),
        (42.0, 42.0),
        "one page cache, two mappings"
    );
    assert_ne!(a.data_ptr(), b.data_ptr());
    // Another process (NumPy, when available) sees and makes changes too.
    let Some(py) = python() else {
        return skip("the cross-process half of memmap_in_dev_shm_shares_one_tensor");
    };
    let out = run_python(
        &py,
        "import numpy as np, sys\nm = np.memmap(sys.argv[1], dtype='<f8', mode='r+')\nprint(m[3])\nm[5] = -1.25\nm.flush()",
        &[p.to_str().unwrap()],
    );
    assert_eq!(out.trim(), "42.0");
    assert_eq!(a.get_f64(&[5]).unwrap(), -1.25);
}

// ---- malformed input ------------------------------------------------------------------

/// A .npy file with an arbitrary preamble, header text and data length.
fn raw_npy(version: (u8, u8), header: &str, data_len: usize) -> Vec<u8> {
    let mut out = b"\x93NUMPY".to_vec();
    out.extend_from_slice(&[version.0, version.1]);
    let len = header.len() as u32;
    if version.0 == 1 {
        out.extend_from_slice(&(len as u16).to_le_bytes());
    } else {
        out.extend_from_slice(&len.to_le_bytes());
    }
    out.extend_from_slice(header.as_bytes());
    out.resize(out.len() + data_len, 0);
    out
}

fn good_header(shape: &str) -> String {
    format!("{{'descr': '<f4', 'fortran_order': False, 'shape': {shape}, }}\n")
}

#[test]
fn malformed_files_fail_with_format_and_a_message() {
    let _g = guard();
    let dir = TempDir::new("malformed");
    let mut good = raw_npy((1, 0), &good_header("(2, 3)"), 24);
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("empty", vec![], "too short for a .npy header: 0 bytes"),
        (
            "short",
            b"\x93NUMPY\x01\x00v".to_vec(),
            "too short for a .npy header: 9 bytes",
        ),
        (
            "short-v2",
            b"\x93NUMPY\x02\x00\x10\x00".to_vec(),
            "too short for a .npy header: 10 bytes",
        ),
        (
            "magic",
            {
                let mut v = good.clone();
                v[1] = b'X';
                v
            },
            "not a .npy file: it starts with \\x93\\x58\\x55",
        ),
        (
            "version",
            {
                let mut v = good.clone();
                v[6] = 4;
                v
            },
            "unsupported .npy format version 4.0",
        ),
        (
            "minor",
            {
                let mut v = good.clone();
                v[7] = 1;
                v
            },
            "unsupported .npy format version 1.1",
        ),
        (
            "hlen",
            {
                let mut v = good.clone();
                v[8] = 0xff;
                v[9] = 0xff;
                v
            },
            "header length 65535 runs past the end of the file",
        ),
        (
            "hlen-v2",
            {
                let mut v = raw_npy((2, 0), &good_header("(2, 3)"), 24);
                v[11] = 0x7f;
                v
            },
            "runs past the end of the file",
        ),
        (
            "truncated-text",
            raw_npy((1, 0), "{'descr': '<f4', 'fortr", 0),
            "unterminated string",
        ),
        (
            "truncated-dict",
            raw_npy((1, 0), "{'descr': '<f4', ", 0),
            "unexpected end of header",
        ),
        (
            "no-shape",
            raw_npy((1, 0), "{'descr': '<f4', 'fortran_order': False}", 0),
            "no \"shape\" key",
        ),
        (
            "no-descr",
            raw_npy((1, 0), "{'fortran_order': False, 'shape': (1,)}", 4),
            "no \"descr\" key",
        ),
        (
            "object",
            raw_npy(
                (1, 0),
                "{'descr': '|O', 'fortran_order': False, 'shape': (1,)}",
                8,
            ),
            "object arrays",
        ),
        (
            "structured",
            raw_npy(
                (1, 0),
                "{'descr': [('x', '<f4'), ('y', '<i4')], 'fortran_order': False, 'shape': (1,)}",
                8,
            ),
            "structured dtypes",
        ),
        (
            "unicode",
            raw_npy(
                (3, 0),
                "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), 'caf\u{e9}': 1}",
                4,
            ),
            "non-ASCII byte 0xc3",
        ),
        (
            "overflow",
            raw_npy((1, 0), &good_header("(4294967296, 4294967296, 4)"), 0),
            "needs more bytes than fit in memory",
        ),
        (
            "huge-dim",
            raw_npy((1, 0), &good_header("(123456789012345678901234567890,)"), 0),
            "not in 0..=2^63-1",
        ),
        (
            "negative",
            raw_npy((1, 0), &good_header("(2, -3)"), 0),
            "shape dimension -3",
        ),
        (
            "too-big",
            raw_npy((1, 0), &good_header("(2, 4)"), 24),
            "shape (2, 4) of float32 needs 32 bytes of data, but the file holds 24",
        ),
        (
            "ndim",
            raw_npy(
                (1, 0),
                &good_header(&format!("({})", vec!["1"; 65].join(", "))),
                4,
            ),
            "65 dimensions",
        ),
    ];
    good.truncate(good.len() - 1);
    let mut cases = cases;
    cases.push((
        "data-cut",
        good,
        "needs 24 bytes of data, but the file holds 23",
    ));
    for (name, bytes, want) in cases {
        let p = dir.path(&format!("{name}.npy"));
        std::fs::write(&p, &bytes).unwrap();
        for mode in MODES {
            let before = live_count();
            let m = format_error(npy::load(&p, mode));
            assert!(m.contains(want), "{name} {mode:?}: {m:?} lacks {want:?}");
            assert!(
                m.contains(&*p.to_string_lossy()),
                "{name}: the message names the file: {m}"
            );
            assert_eq!(
                (live_count(), maps_of(&p)),
                (before, 0),
                "{name}: nothing left behind"
            );
        }
        // The C ABI: FORMAT, the same message, `out` untouched.
        let c = CString::new(p.to_str().unwrap()).unwrap();
        let mut out = std::ptr::NonNull::<dlv_tensor>::dangling().as_ptr();
        // SAFETY: valid C string and out-pointer.
        let s = unsafe { dlv_npy_load(c.as_ptr(), DLV_MMAP_READ, &mut out) };
        assert_eq!(s, dlv_status::DLV_ERR_FORMAT, "{name}");
        assert_eq!(
            out,
            std::ptr::NonNull::dangling().as_ptr(),
            "{name}: out written on failure"
        );
        assert!(last_error().contains(want), "{name}: {}", last_error());
    }
}

#[test]
fn io_errors_name_the_path_and_the_os_error() {
    let _g = guard();
    let dir = TempDir::new("io");
    let missing = dir.path("nope.npy");
    for mode in MODES {
        let err = npy::load(&missing, mode).unwrap_err();
        let Error::Io(m) = &err else {
            panic!("{err:?}")
        };
        assert!(
            m.contains(&*missing.to_string_lossy())
                && m.contains("No such file or directory (os error 2)"),
            "{m}"
        );
    }
    let err = npy::load(&dir.0, None).unwrap_err();
    assert!(
        // Refused before any read (issue 15: only regular files are read).
        matches!(&err, Error::Io(m) if m.contains(&*dir.0.to_string_lossy()) && m.contains("it is a directory")),
        "{err:?}"
    );
    // Permission: a read-only file cannot be mapped r+ (root ignores file
    // modes, so use one no process may write: a read-only kernel file).
    let p = dir.path("ro.npy");
    npy::save(&reference_tensor(DType::F32, &[4], Order::C), &p).unwrap();
    std::fs::set_permissions(&p, std::os::unix::fs::PermissionsExt::from_mode(0o444)).unwrap();
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        let err = npy::load(&p, Some(MapMode::ReadWrite)).unwrap_err();
        assert!(
            matches!(&err, Error::Io(m) if m.contains("Permission denied") && m.contains("ro.npy")),
            "{err:?}"
        );
    }
    assert!(
        npy::load(&p, Some(MapMode::Read)).is_ok(),
        "r and c need only read access"
    );
    assert!(npy::load(&p, Some(MapMode::CopyOnWrite)).is_ok());
    // Opening a directory for writing fails for root too.
    let err = npy::load(&dir.0, Some(MapMode::ReadWrite)).unwrap_err();
    assert!(
        matches!(&err, Error::Io(m) if m.contains(&*dir.0.to_string_lossy()) && m.contains("Is a directory (os error 21)")),
        "{err:?}"
    );
    assert_eq!(
        last_status_of_load(&missing, DLV_MMAP_NONE),
        dlv_status::DLV_ERR_IO
    );
    assert!(last_error().contains("nope.npy"));
}

// ---- C ABI ---------------------------------------------------------------------------

fn last_error() -> String {
    // SAFETY: the library's thread-local message, NUL-terminated.
    unsafe { CStr::from_ptr(dlv_last_error()) }
        .to_string_lossy()
        .into_owned()
}

fn cpath(p: &Path) -> CString {
    CString::new(p.to_str().unwrap()).unwrap()
}

fn last_status_of_load(p: &Path, mode: dlv_mmap_mode) -> dlv_status {
    let mut out = std::ptr::null_mut();
    // SAFETY: valid arguments; a returned handle is freed.
    unsafe {
        let s = dlv_npy_load(cpath(p).as_ptr(), mode, &mut out);
        dlv_tensor_free(out);
        s
    }
}

#[test]
fn c_abi_load_save_memmap_flush() {
    let _g = guard();
    let dir = TempDir::new("cabi");
    let p = dir.path("t.npy");
    let cp = cpath(&p);
    let f64_dl = DType::F64.to_dl();
    // SAFETY: every pointer passed is valid or deliberately NULL; every
    // handle received is freed.
    unsafe {
        let mut t = std::ptr::null_mut();
        assert_eq!(
            dlv_tensor_zeros(f64_dl, 2, [3i64, 4].as_ptr(), DLV_ORDER_F, &mut t),
            dlv_status::DLV_OK
        );
        assert_eq!(
            dlv_tensor_set_f64(t, [2i64, 1].as_ptr(), 6.5),
            dlv_status::DLV_OK
        );
        assert_eq!(dlv_npy_save(t, cp.as_ptr()), dlv_status::DLV_OK);
        assert_eq!(
            dlv_npy_save(std::ptr::null(), cp.as_ptr()),
            dlv_status::DLV_ERR_NULL_ARGUMENT
        );
        assert_eq!(
            dlv_npy_save(t, std::ptr::null()),
            dlv_status::DLV_ERR_NULL_ARGUMENT
        );
        assert_eq!(
            dlv_npy_save(t, c"".as_ptr()),
            dlv_status::DLV_ERR_INVALID_ARGUMENT
        );
        dlv_tensor_free(t);

        for (mode, writeable) in [
            (DLV_MMAP_NONE, true),
            (DLV_MMAP_READ, false),
            (DLV_MMAP_READ_WRITE, true),
            (DLV_MMAP_COPY_ON_WRITE, true),
        ] {
            let mut m = std::ptr::null_mut();
            assert_eq!(
                dlv_npy_load(cp.as_ptr(), mode, &mut m),
                dlv_status::DLV_OK,
                "{}",
                last_error()
            );
            assert_eq!(dlv_tensor_flags(m) & DLV_FLAG_WRITEABLE != 0, writeable);
            assert_eq!(
                dlv_tensor_flags(m) & DLV_FLAG_F_CONTIGUOUS,
                DLV_FLAG_F_CONTIGUOUS
            );
            let mut v = 0.0;
            assert_eq!(
                dlv_tensor_get_f64(m, [2i64, 1].as_ptr(), &mut v),
                dlv_status::DLV_OK
            );
            assert_eq!(v, 6.5);
            assert_eq!(dlv_tensor_flush(m), dlv_status::DLV_OK);
            dlv_tensor_free(m);
        }
        let mut m = std::ptr::null_mut();
        assert_eq!(
            dlv_npy_load(cp.as_ptr(), DLV_MMAP_CREATE, &mut m),
            dlv_status::DLV_ERR_INVALID_ARGUMENT
        );
        assert!(last_error().contains("truncate"));
        assert_eq!(
            dlv_npy_load(cp.as_ptr(), 9, &mut m),
            dlv_status::DLV_ERR_INVALID_ARGUMENT
        );
        assert!(last_error().contains("mmap mode 9"), "{}", last_error());
        assert_eq!(
            dlv_npy_load(std::ptr::null(), DLV_MMAP_NONE, &mut m),
            dlv_status::DLV_ERR_NULL_ARGUMENT
        );
        assert_eq!(
            dlv_npy_load(cp.as_ptr(), DLV_MMAP_NONE, std::ptr::null_mut()),
            dlv_status::DLV_ERR_NULL_ARGUMENT
        );
        assert!(m.is_null());
        assert_eq!(
            dlv_tensor_flush(std::ptr::null()),
            dlv_status::DLV_ERR_NULL_ARGUMENT
        );

        // dlv_memmap: ndim -1 is the whole file; w+ and flush.
        let raw = dir.path("raw.bin");
        let craw = cpath(&raw);
        let u8_dl = DType::U8.to_dl();
        assert_eq!(
            dlv_memmap(
                craw.as_ptr(),
                u8_dl,
                DLV_MMAP_CREATE,
                0,
                -1,
                std::ptr::null(),
                DLV_ORDER_C,
                &mut m
            ),
            dlv_status::DLV_ERR_INVALID_ARGUMENT
        );
        assert!(!raw.exists());
        assert_eq!(
            dlv_memmap(
                craw.as_ptr(),
                f64_dl,
                DLV_MMAP_CREATE,
                8,
                2,
                [2i64, 2].as_ptr(),
                DLV_ORDER_C,
                &mut m
            ),
            dlv_status::DLV_OK
        );
        assert_eq!(
            dlv_tensor_set_f64(m, [1i64, 1].as_ptr(), 3.0),
            dlv_status::DLV_OK
        );
        assert_eq!(dlv_tensor_flush(m), dlv_status::DLV_OK);
        assert_eq!(file_f64(&raw, 8, 3), 3.0);
        dlv_tensor_free(m);
        assert_eq!(
            dlv_memmap(
                craw.as_ptr(),
                f64_dl,
                DLV_MMAP_READ,
                0,
                -1,
                std::ptr::null(),
                DLV_ORDER_C,
                &mut m
            ),
            dlv_status::DLV_OK
        );
        assert_eq!((dlv_tensor_ndim(m), *dlv_tensor_shape(m)), (1, 5));
        assert_eq!(dlv_tensor_flags(m) & DLV_FLAG_WRITEABLE, 0);
        dlv_tensor_free(m);
        assert_eq!(
            dlv_memmap(
                craw.as_ptr(),
                f64_dl,
                DLV_MMAP_READ,
                8,
                0,
                std::ptr::null(),
                DLV_ORDER_C,
                &mut m
            ),
            dlv_status::DLV_OK
        );
        assert_eq!(dlv_tensor_ndim(m), 0);
        dlv_tensor_free(m);
        m = std::ptr::null_mut();
        let bad = [
            (
                DLV_MMAP_NONE,
                1,
                DLV_ORDER_C,
                dlv_status::DLV_ERR_INVALID_ARGUMENT,
            ),
            (7, 1, DLV_ORDER_C, dlv_status::DLV_ERR_INVALID_ARGUMENT),
            (
                DLV_MMAP_READ,
                1,
                DLV_ORDER_K,
                dlv_status::DLV_ERR_INVALID_ARGUMENT,
            ),
            (DLV_MMAP_READ, 1, 5, dlv_status::DLV_ERR_INVALID_ARGUMENT),
            (
                DLV_MMAP_READ,
                -2,
                DLV_ORDER_C,
                dlv_status::DLV_ERR_INVALID_ARGUMENT,
            ),
            (
                DLV_MMAP_READ,
                65,
                DLV_ORDER_C,
                dlv_status::DLV_ERR_INVALID_ARGUMENT,
            ),
        ];
        for (mode, ndim, order, want) in bad {
            let s = dlv_memmap(
                craw.as_ptr(),
                f64_dl,
                mode,
                0,
                ndim,
                [1i64; 65].as_ptr(),
                order,
                &mut m,
            );
            assert_eq!(
                s,
                want,
                "mode {mode} ndim {ndim} order {order}: {}",
                last_error()
            );
        }
        assert_eq!(
            dlv_memmap(
                craw.as_ptr(),
                f64_dl,
                DLV_MMAP_READ,
                0,
                1,
                std::ptr::null(),
                DLV_ORDER_C,
                &mut m
            ),
            dlv_status::DLV_ERR_NULL_ARGUMENT
        );
        assert_eq!(
            dlv_memmap(
                craw.as_ptr(),
                f64_dl,
                DLV_MMAP_READ,
                0,
                1,
                [100i64].as_ptr(),
                DLV_ORDER_C,
                &mut m
            ),
            dlv_status::DLV_ERR_INVALID_ARGUMENT
        );
        let bad_dtype = dlpark::ffi::DLDataType {
            code: dlpark::ffi::DLDataTypeCode(2),
            bits: 32,
            lanes: 4,
        };
        assert_eq!(
            dlv_memmap(
                craw.as_ptr(),
                bad_dtype,
                DLV_MMAP_READ,
                0,
                -1,
                std::ptr::null(),
                DLV_ORDER_C,
                &mut m
            ),
            dlv_status::DLV_ERR_UNSUPPORTED_DTYPE
        );
        assert!(m.is_null());
        assert_eq!(
            dlv_memmap(
                cpath(&dir.path("none.bin")).as_ptr(),
                f64_dl,
                DLV_MMAP_READ,
                0,
                -1,
                std::ptr::null(),
                DLV_ORDER_C,
                &mut m
            ),
            dlv_status::DLV_ERR_IO
        );
        assert!(
            last_error().contains("none.bin") && last_error().contains("os error 2"),
            "{}",
            last_error()
        );
    }
}

// ---- NumPy as the oracle (skipped without Python) -----------------------------------------

/// A Python with NumPy: `$DLVIEW_TEST_PYTHON`, else the repository's
/// `.venv/bin/python`.
fn python() -> Option<PathBuf> {
    let py = std::env::var_os("DLVIEW_TEST_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/python"));
    let ok = Command::new(&py)
        .args(["-c", "import numpy"])
        .output()
        .is_ok_and(|o| o.status.success());
    ok.then_some(py)
}

fn skip(what: &str) {
    eprintln!(
        "SKIP {what}: no Python with NumPy (set DLVIEW_TEST_PYTHON or create .venv with `make venv`)"
    );
}

fn run_python(py: &Path, script: &str, args: &[&str]) -> String {
    let out = Command::new(py)
        .arg("-c")
        .arg(script)
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "python failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// NumPy writes arrays of every dtype in many layouts and records, for each
/// mmap mode, what `np.load` gives (shape, byte strides, flags) plus the
/// elements' bytes in C order; dlview must agree on all of it.
const NUMPY_WRITES: &str = r#"
import numpy as np, sys, os
d = sys.argv[1]
rng = np.random.default_rng(6)
def gen(dt, shape):
    k = np.dtype(dt).kind
    if k == 'c':
        return (rng.standard_normal(shape) + 1j * rng.standard_normal(shape)).astype(dt)
    if k == 'f':
        return (rng.standard_normal(shape) * 100).astype(dt)
    if k == 'b':
        return rng.integers(0, 2, shape).astype(dt)
    return rng.integers(0 if k == 'u' else -100, 200, shape).astype(dt)
dtypes = ['?', 'i1', 'u1', '<i2', '<u2', '<i4', '<u4', '<i8', '<u8', '<f2', '<f4', '<f8', '<c8', '<c16', '>f4', '>i8', '>c16', '>u2']
shapes = [(), (0,), (5,), (3, 0, 2), (1, 7), (2, 3, 4), (4, 1, 3, 2), (1,) * 40]
cases = []
for dt in dtypes:
    for shape in shapes:
        a = gen(dt, shape)
        cases.append((a, None))
        if a.ndim >= 2:
            cases.append((np.asfortranarray(a), None))
            cases.append((a[..., ::-2], None))         # non-contiguous: NumPy writes C order
            cases.append((a.T, (2, 0)))
cases.append((np.arange(10.0), (3, 0)))
with open(os.path.join(d, 'manifest.txt'), 'w') as m:
    for i, (a, version) in enumerate(cases):
        p = os.path.join(d, f'c{i}.npy')
        with open(p, 'wb') as f:
            np.lib.format.write_array(f, a, version=version)
        with open(os.path.join(d, f'c{i}.bin'), 'wb') as f:
            f.write(np.ascontiguousarray(a).astype(a.dtype.newbyteorder('=')).tobytes())
        modes = [None] if a.dtype.byteorder == '>' else [None, 'r', 'r+', 'c']
        for mode in modes:
            b = np.load(p, mmap_mode=mode)
            fl = b.flags
            m.write(f"c{i}.npy {mode} {b.dtype.name} {','.join(map(str, b.shape))} {','.join(map(str, b.strides))} "
                    f"{int(fl.writeable)}{int(fl.c_contiguous)}{int(fl.f_contiguous)}{int(fl.aligned)}\n")
"#;

#[test]
fn numpy_written_files_load_equal() {
    let _g = guard();
    let Some(py) = python() else {
        return skip("numpy_written_files_load_equal");
    };
    let dir = TempDir::new("numpy-writes");
    run_python(&py, NUMPY_WRITES, &[dir.0.to_str().unwrap()]);
    let manifest = std::fs::read_to_string(dir.path("manifest.txt")).unwrap();
    let dims = |s: &str| -> Vec<i64> {
        s.split(',')
            .filter(|x| !x.is_empty())
            .map(|x| x.parse().unwrap())
            .collect()
    };
    let mut checked = 0;
    for line in manifest.lines() {
        let f: Vec<&str> = line.split(' ').collect();
        let (file, mode, dtype, shape, strides, flags) =
            (f[0], f[1], f[2], dims(f[3]), dims(f[4]), f[5].as_bytes());
        let mode = match mode {
            "None" => None,
            m => Some(MapMode::from_numpy(m).unwrap()),
        };
        let t = npy::load(&dir.path(file), mode).unwrap_or_else(|e| panic!("{line}: {e}"));
        let byte_strides: Vec<i64> = t
            .strides()
            .iter()
            .map(|s| s * t.dtype().itemsize() as i64)
            .collect();
        assert_eq!(t.dtype().name(), dtype, "{line}");
        assert_eq!(t.shape(), shape, "{line}");
        if t.size() > 0 {
            // NumPy's strides of size-0 arrays are not meaningful enough to compare.
            assert_eq!(byte_strides, strides, "{line}");
        }
        let have = [WRITEABLE, C_CONTIGUOUS, F_CONTIGUOUS, ALIGNED]
            .map(|b| u8::from(t.flags() & b != 0) + b'0');
        assert_eq!(have, flags, "{line}: flags WRITEABLE C F ALIGNED");
        assert_eq!(
            c_bytes(&t),
            std::fs::read(dir.path(&file.replace(".npy", ".bin"))).unwrap(),
            "{line}"
        );
        checked += 1;
    }
    assert!(checked > 400, "only {checked} cases");
}

/// NumPy loads what dlview wrote (with ml_dtypes for bfloat16/float8),
/// checks dtype, shape, order and elements, and that `np.save` of the result
/// writes the very same bytes.
const NUMPY_READS: &str = r#"
import numpy as np, sys, os
try:
    import ml_dtypes  # registers bfloat16 / float8 names with NumPy
except ImportError:
    ml_dtypes = None
import io
d = sys.argv[1]
n = 0
for line in open(os.path.join(d, 'manifest.txt')):
    name, dtype, shape, fortran = line.rstrip('\n').split(' ')
    if ml_dtypes is None and ('bfloat' in dtype or 'float8' in dtype):
        continue
    shape = tuple(int(x) for x in shape.split(',') if x)
    for mode in [None, 'r']:
        a = np.load(os.path.join(d, name), mmap_mode=mode)
        assert a.dtype.name == dtype, (name, a.dtype, dtype)
        assert a.shape == shape, (name, a.shape, shape)
        assert (a.flags.f_contiguous and not a.flags.c_contiguous) == (fortran == 'F'), (name, a.flags)
        want = open(os.path.join(d, name.replace('.npy', '.bin')), 'rb').read()
        assert np.ascontiguousarray(a).tobytes() == want, name
    if a.dtype.kind != 'V' and 'bfloat' not in dtype and 'float8' not in dtype:
        f = io.BytesIO()
        np.save(f, np.load(os.path.join(d, name)))
        assert f.getvalue() == open(os.path.join(d, name), 'rb').read(), name
    n += 1
print(n)
"#;

#[test]
fn dlview_written_files_load_equal_in_numpy() {
    let _g = guard();
    let Some(py) = python() else {
        return skip("dlview_written_files_load_equal_in_numpy");
    };
    let dir = TempDir::new("numpy-reads");
    let mut manifest = String::new();
    let mut n = 0;
    let dtypes: Vec<DType> = DTYPES
        .iter()
        .copied()
        .chain([DType::BF16, DType::F8_E4M3FN, DType::F8_E5M2])
        .collect();
    for dtype in dtypes {
        let base = reference_tensor(dtype, &[3, 4, 5], Order::C);
        let views = [
            base.clone(),
            base.copy(Order::F).unwrap(),
            base.transpose().unwrap(),
            base.slice(2, None, None, 2).unwrap(),
            base.flip(1).unwrap(),
            base.select(0, 1).unwrap().broadcast_to(&[2, 4, 5]).unwrap(),
            base.select(1, 2)
                .unwrap()
                .select(0, 0)
                .unwrap()
                .select(0, 3)
                .unwrap(),
            base.slice(0, Some(0), Some(0), 1).unwrap(),
            base.reshape(&[60], dlview_core::CopyMode::Never).unwrap(),
        ];
        for v in views {
            let name = format!("d{n}.npy");
            npy::save(&v, &dir.path(&name)).unwrap();
            std::fs::write(dir.path(&format!("d{n}.bin")), c_bytes(&v)).unwrap();
            let fortran = v.layout().is_f_contiguous() && !v.layout().is_c_contiguous();
            let shape: Vec<String> = v.shape().iter().map(i64::to_string).collect();
            manifest += &format!(
                "{name} {} {} {}\n",
                dtype.name(),
                shape.join(","),
                if fortran { "F" } else { "C" }
            );
            n += 1;
        }
    }
    std::fs::write(dir.path("manifest.txt"), manifest).unwrap();
    let out = run_python(&py, NUMPY_READS, &[dir.0.to_str().unwrap()]);
    eprintln!("NumPy checked {} dlview-written files", out.trim());
    assert!(out.trim().parse::<usize>().unwrap() >= 14 * 9);
}

#[test]
fn map_modes_agree_with_numpy() {
    let _g = guard();
    let Some(py) = python() else {
        return skip("map_modes_agree_with_numpy");
    };
    let dir = TempDir::new("numpy-modes");
    let p = dir.path("a.npy");
    npy::save(&reference_tensor(DType::F64, &[4, 4], Order::C), &p).unwrap();
    let ps = p.to_str().unwrap();
    // dlview r+ writes, NumPy reads them from the file; dlview c writes, NumPy does not see them.
    let rw = npy::load(&p, Some(MapMode::ReadWrite)).unwrap();
    // SAFETY: single-threaded: nothing else reads or writes the mapping meanwhile.
    unsafe { rw.set_f64_shared(&[0, 1], 11.5) }.unwrap();
    mmap::flush(&rw).unwrap();
    let mut c = npy::load(&p, Some(MapMode::CopyOnWrite)).unwrap();
    c.set_f64(&[0, 2], 99.0).unwrap();
    let script = "import numpy as np, sys\na = np.load(sys.argv[1])\nprint(a[0, 1], a[0, 2])\n\
                  m = np.load(sys.argv[1], mmap_mode='r+')\nm[2, 2] = -3.0\nm.flush()\n\
                  r = np.load(sys.argv[1], mmap_mode='r')\nprint(r.flags.writeable)\n\
                  try:\n    r.setflags(write=True)\nexcept ValueError:\n    print('refused')";
    let out = run_python(&py, script, &[ps]);
    assert_eq!(
        out.split_whitespace().collect::<Vec<_>>(),
        ["11.5", "-2.5", "False", "refused"],
        "{out}"
    );
    // NumPy's r+ write is in the shared pages dlview maps.
    assert_eq!(rw.get_f64(&[2, 2]).unwrap(), -3.0);
    assert_eq!(c.get_f64(&[0, 2]).unwrap(), 99.0);
}

/// The case the `r` mode exists for: PyTorch ignores DLPack's READ_ONLY and
/// writes. Through the C ABI (ctypes) a mapped file goes to
/// `torch.from_dlpack`; the tensor shares the mapped pages, and filling it
/// neither crashes the process nor changes the file.
const TORCH_WRITES: &str = r#"
import ctypes, sys, hashlib
import torch
lib = ctypes.CDLL(sys.argv[1])
lib.dlv_npy_load.argtypes = [ctypes.c_char_p, ctypes.c_uint32, ctypes.POINTER(ctypes.c_void_p)]
lib.dlv_tensor_to_dlpack.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.POINTER(ctypes.c_void_p)]
lib.dlv_tensor_free.argtypes = [ctypes.c_void_p]
lib.dlv_tensor_data.argtypes = [ctypes.c_void_p]
lib.dlv_tensor_data.restype = ctypes.c_void_p
lib.dlv_live_storage_count.restype = ctypes.c_uint64
new_capsule = ctypes.pythonapi.PyCapsule_New
new_capsule.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_void_p]
new_capsule.restype = ctypes.py_object
class Producer:
    def __init__(self, mt): self.mt = mt
    def __dlpack__(self, **kw): return new_capsule(self.mt, b"dltensor_versioned", None)
    def __dlpack_device__(self): return (1, 0)
path = sys.argv[2]
before = hashlib.sha256(open(path, 'rb').read()).hexdigest()
h, mt = ctypes.c_void_p(), ctypes.c_void_p()
assert lib.dlv_npy_load(path.encode(), 1, ctypes.byref(h)) == 0
assert lib.dlv_tensor_to_dlpack(h, None, ctypes.byref(mt)) == 0
ptr = lib.dlv_tensor_data(h)
lib.dlv_tensor_free(h)
t = torch.from_dlpack(Producer(mt.value))
assert t.data_ptr() == ptr, "torch shares the mapped pages"
assert t.shape == (64, 64) and float(t[3, 5]) == (3 * 64 + 5 - 12) / 4
t.fill_(-1.0)
assert float(t.sum()) == -4096.0
del t
assert lib.dlv_live_storage_count() == 0, "the deleter unmapped the file"
assert hashlib.sha256(open(path, 'rb').read()).hexdigest() == before, "the file changed"
print("ok")
"#;

#[test]
fn torch_writing_to_a_read_only_map_changes_nothing() {
    let _g = guard();
    let Some(py) = python() else {
        return skip("torch_writing_to_a_read_only_map_changes_nothing");
    };
    if !Command::new(&py)
        .args(["-c", "import torch"])
        .output()
        .is_ok_and(|o| o.status.success())
    {
        return eprintln!(
            "SKIP torch_writing_to_a_read_only_map_changes_nothing: no torch in {}",
            py.display()
        );
    }
    // `cargo test` builds the cdylib beside the test binary, in `deps/`
    // (the copy one level up is only refreshed by `cargo build`).
    let deps = std::env::current_exe()
        .unwrap()
        .parent()
        .unwrap()
        .to_path_buf();
    let lib = [
        deps.join("libdlview.so"),
        deps.parent().unwrap().join("libdlview.so"),
    ]
    .into_iter()
    .find(|p| p.exists())
    .unwrap_or_else(|| deps.join("libdlview.so"));
    if !lib.exists() {
        return eprintln!(
            "SKIP torch_writing_to_a_read_only_map_changes_nothing: no {}",
            lib.display()
        );
    }
    let dir = TempDir::new("torch");
    let p = dir.path("a.npy");
    npy::save(&reference_tensor(DType::F32, &[64, 64], Order::C), &p).unwrap();
    let out = run_python(
        &py,
        TORCH_WRITES,
        &[lib.to_str().unwrap(), p.to_str().unwrap()],
    );
    assert_eq!(out.trim(), "ok");
}
