//! A catalogue of malformed calls across the whole C ABI (RULES.md §8):
//! one table row per case, each asserting the EXACT status, that
//! `dlv_last_error()` names the bad value (every listed fragment must appear
//! in the message), that no out-parameter was written, that DLPack deleters
//! ran exactly as the rules say (imports: exactly once on failure; NULL
//! `mt`: never) and `from_buffer` release callbacks never ran on failure,
//! and that nothing leaked (`dlv_live_storage_count()` returns to its start).
//!
//! The `dlv_*` functions are called from Rust exactly as C calls them.

use dlpark::DlpackFlags;
use dlpark::ffi::{
    DLDataType, DLDataTypeCode, DLDevice, DLDeviceType, DLManagedTensor, DLManagedTensorVersioned,
    DLPackVersion, DLTensor,
};
use dlview::dlv_status::*;
use dlview::*;
use libtest_mimic::{Arguments, Failed, Trial};
use std::ffi::{CStr, c_void};
use std::ptr::null_mut;
use std::sync::atomic::{AtomicUsize, Ordering};

// ---- helpers ---------------------------------------------------------------

fn dt(code: u8, bits: u8, lanes: u16) -> DLDataType {
    DLDataType {
        code: DLDataTypeCode(code),
        bits,
        lanes,
    }
}
const F32: DLDataType = DLDataType {
    code: DLDataTypeCode(2),
    bits: 32,
    lanes: 1,
};
const I8: DLDataType = DLDataType {
    code: DLDataTypeCode(0),
    bits: 8,
    lanes: 1,
};
const F4: DLDataType = DLDataType {
    code: DLDataTypeCode(17),
    bits: 4,
    lanes: 1,
};
const CPU: DLDevice = DLDevice {
    device_type: DLDeviceType(1),
    device_id: 0,
};
const CUDA: DLDevice = DLDevice {
    device_type: DLDeviceType(2),
    device_id: 0,
};
/// An address nothing is mapped at; these tensors are never read.
const FAKE: usize = 0x10_0000_0000;

fn last_error() -> String {
    // SAFETY: never NULL, NUL-terminated.
    unsafe { CStr::from_ptr(dlv_last_error()) }
        .to_string_lossy()
        .into_owned()
}

/// Release callbacks of `from_buffer` calls made by the rows themselves.
static ROW_RELEASES: AtomicUsize = AtomicUsize::new(0);
unsafe extern "C" fn row_release(_ctx: *mut c_void) {
    ROW_RELEASES.fetch_add(1, Ordering::SeqCst);
}

/// Deleter calls of the managed tensors the rows build.
static DELETES: AtomicUsize = AtomicUsize::new(0);

/// A producer tensor the rows hand to the importers: valid by default
/// (f32, shape (4,), strides (1,), version 1.3), then spoiled field by field.
#[derive(Clone)]
struct Producer {
    version: (u32, u32),
    flags: u64,
    ndim: i32,
    shape: Option<Vec<i64>>,
    strides: Option<Vec<i64>>,
    dtype: DLDataType,
    device: DLDevice,
    data: usize,
    byte_offset: u64,
}

impl Default for Producer {
    fn default() -> Self {
        Producer {
            version: (1, 3),
            flags: 0,
            ndim: 1,
            shape: Some(vec![4]),
            strides: Some(vec![1]),
            dtype: F32,
            device: CPU,
            data: FAKE,
            byte_offset: 0,
        }
    }
}

/// The heap block behind one managed tensor: the struct first, so the
/// deleter's argument is the block.
#[repr(C)]
struct Block<M> {
    managed: M,
    arrays: (Vec<i64>, Vec<i64>),
}

unsafe extern "C" fn delete_v(mt: *mut DLManagedTensorVersioned) {
    DELETES.fetch_add(1, Ordering::SeqCst);
    // SAFETY: made by `Producer::versioned` with Box::into_raw.
    drop(unsafe { Box::from_raw(mt.cast::<Block<DLManagedTensorVersioned>>()) });
}

unsafe extern "C" fn delete_l(mt: *mut DLManagedTensor) {
    DELETES.fetch_add(1, Ordering::SeqCst);
    // SAFETY: made by `Producer::legacy` with Box::into_raw.
    drop(unsafe { Box::from_raw(mt.cast::<Block<DLManagedTensor>>()) });
}

impl Producer {
    fn dl(&self, arrays: &mut (Vec<i64>, Vec<i64>)) -> DLTensor {
        DLTensor {
            data: self.data as *mut c_void,
            device: self.device,
            ndim: self.ndim,
            dtype: self.dtype,
            shape: if self.shape.is_some() {
                arrays.0.as_mut_ptr()
            } else {
                null_mut()
            },
            strides: if self.strides.is_some() {
                arrays.1.as_mut_ptr()
            } else {
                null_mut()
            },
            byte_offset: self.byte_offset,
        }
    }

    fn arrays(&self) -> (Vec<i64>, Vec<i64>) {
        (
            self.shape.clone().unwrap_or_default(),
            self.strides.clone().unwrap_or_default(),
        )
    }

    fn versioned(&self) -> *mut DLManagedTensorVersioned {
        let mut arrays = self.arrays();
        let managed = DLManagedTensorVersioned {
            version: DLPackVersion {
                major: self.version.0,
                minor: self.version.1,
            },
            manager_ctx: null_mut(),
            deleter: Some(delete_v),
            flags: DlpackFlags::from_bits_retain(self.flags),
            dl_tensor: self.dl(&mut arrays),
        };
        Box::into_raw(Box::new(Block { managed, arrays })).cast()
    }

    fn legacy(&self) -> *mut DLManagedTensor {
        let mut arrays = self.arrays();
        let managed = DLManagedTensor {
            dl_tensor: self.dl(&mut arrays),
            manager_ctx: null_mut(),
            deleter: Some(delete_l),
        };
        Box::into_raw(Box::new(Block { managed, arrays })).cast()
    }

    fn import(&self, out: &mut Outs) -> dlv_status {
        // SAFETY: a live managed tensor whose ownership passes to the call.
        unsafe { dlv_tensor_from_dlpack(self.versioned(), std::ptr::null(), &mut out.t) }
    }
}

/// Every out-parameter a row may pass, preset to sentinels that must
/// survive a failed call.
struct Outs {
    t: *mut dlv_tensor,
    mt: *mut DLManagedTensorVersioned,
    lmt: *mut DLManagedTensor,
    p: *mut c_void,
    f: f64,
}

const SENTINEL: usize = 0x5e47_1e10;

impl Outs {
    fn new() -> Outs {
        Outs {
            t: SENTINEL as _,
            mt: SENTINEL as _,
            lmt: SENTINEL as _,
            p: SENTINEL as _,
            f: -12345.0,
        }
    }
    fn untouched(&self) -> bool {
        self.t as usize == SENTINEL
            && self.mt as usize == SENTINEL
            && self.lmt as usize == SENTINEL
            && self.p as usize == SENTINEL
            && self.f == -12345.0
    }
}

/// Tensors the rows call on, made fresh for each row.
struct Fx {
    /// zeros float32 (2, 3), C order, writeable.
    t: *mut dlv_tensor,
    /// a read-only wrapped buffer, float32 (2, 3).
    ro: *mut dlv_tensor,
    /// a writeable wrapped buffer, float32 (2, 3) (extent unknown to dlview).
    buf: *mut dlv_tensor,
    /// `t[0]` broadcast to (4, 3): read-only, overlapping.
    bc: *mut dlv_tensor,
    /// `t.T`, shape (3, 2).
    tt: *mut dlv_tensor,
    /// `t[:, ::-1]`: negative strides.
    neg: *mut dlv_tensor,
    /// zeros complex64 (2,).
    c64: *mut dlv_tensor,
    /// float32 (2,) on cuda:0 (never touched).
    cuda: *mut dlv_tensor,
    /// memory behind `ro` and `buf`.
    // Boxed: each buffer keeps its address while the Vec grows (the
    // handles point into them), which clippy's `vec_box` does not see.
    #[allow(clippy::vec_box)]
    _mem: Vec<Box<[f32; 6]>>,
}

unsafe extern "C" fn no_release(_ctx: *mut c_void) {}

fn ok(st: dlv_status) {
    assert_eq!(st, DLV_OK, "fixture: {}", last_error());
}

impl Fx {
    fn new() -> Fx {
        let shape = [2i64, 3];
        let mut mem = vec![Box::new([0f32; 6]), Box::new([0f32; 6])];
        let mut h = [null_mut::<dlv_tensor>(); 8];
        // SAFETY: valid arguments; the wrapped memory outlives the handles.
        unsafe {
            ok(dlv_tensor_zeros(
                F32,
                2,
                shape.as_ptr(),
                DLV_ORDER_C,
                &mut h[0],
            ));
            let (m0, m1) = (mem[0].as_mut_ptr().cast(), mem[1].as_mut_ptr().cast());
            ok(dlv_tensor_from_buffer(
                m0,
                F32,
                CPU,
                2,
                shape.as_ptr(),
                std::ptr::null(),
                false,
                Some(no_release),
                null_mut(),
                &mut h[1],
            ));
            ok(dlv_tensor_from_buffer(
                m1,
                F32,
                CPU,
                2,
                shape.as_ptr(),
                std::ptr::null(),
                true,
                Some(no_release),
                null_mut(),
                &mut h[2],
            ));
            let mut row = null_mut();
            ok(dlv_tensor_select(h[0], 0, 0, &mut row));
            ok(dlv_tensor_broadcast_to(
                row,
                2,
                [4i64, 3].as_ptr(),
                &mut h[3],
            ));
            dlv_tensor_free(row);
            ok(dlv_tensor_transpose(h[0], &mut h[4]));
            ok(dlv_tensor_flip(h[0], 1, &mut h[5]));
            ok(dlv_tensor_zeros(
                dt(5, 64, 1),
                1,
                [2i64].as_ptr(),
                DLV_ORDER_C,
                &mut h[6],
            ));
            ok(dlv_tensor_from_buffer(
                FAKE as _,
                F32,
                CUDA,
                1,
                [2i64].as_ptr(),
                std::ptr::null(),
                true,
                None,
                null_mut(),
                &mut h[7],
            ));
        }
        Fx {
            t: h[0],
            ro: h[1],
            buf: h[2],
            bc: h[3],
            tt: h[4],
            neg: h[5],
            c64: h[6],
            cuda: h[7],
            _mem: mem,
        }
    }
}

impl Drop for Fx {
    fn drop(&mut self) {
        for t in [
            self.t, self.ro, self.buf, self.bc, self.tt, self.neg, self.c64, self.cuda,
        ] {
            // SAFETY: live handles, freed once.
            unsafe { dlv_tensor_free(t) };
        }
    }
}

/// One malformed call.
struct Case {
    name: &'static str,
    call: fn(&Fx, &mut Outs) -> dlv_status,
    status: dlv_status,
    /// Fragments the message must contain (the bad value, the limit).
    says: &'static [&'static str],
    /// DLPack deleter calls the call must have made (import rows: 1).
    deletes: usize,
}

const fn case(
    name: &'static str,
    status: dlv_status,
    says: &'static [&'static str],
    call: fn(&Fx, &mut Outs) -> dlv_status,
) -> Case {
    Case {
        name,
        call,
        status,
        says,
        deletes: 0,
    }
}

/// An import row: the deleter must have run exactly once.
const fn import(
    name: &'static str,
    status: dlv_status,
    says: &'static [&'static str],
    call: fn(&Fx, &mut Outs) -> dlv_status,
) -> Case {
    Case {
        name,
        call,
        status,
        says,
        deletes: 1,
    }
}

fn p(f: impl FnOnce(&mut Producer)) -> Producer {
    let mut p = Producer::default();
    f(&mut p);
    p
}

const NULL_T: *const dlv_tensor = std::ptr::null();

// ---- the catalogue ---------------------------------------------------------

#[rustfmt::skip]
fn catalogue() -> Vec<Case> {
    // SAFETY (every row): the calls pass live fixture handles, readable
    // arrays of the stated lengths, writable out-pointers, or deliberate
    // NULLs, which the C ABI must reject without touching them.
    unsafe {
        vec![
            // ---- creation ----
            case("empty: NULL out", DLV_ERR_NULL_ARGUMENT, &["`out`"],
                |_, _| dlv_tensor_empty(F32, 1, [2i64].as_ptr(), DLV_ORDER_C, null_mut())),
            case("empty: NULL shape with ndim 2", DLV_ERR_NULL_ARGUMENT, &["`shape`"],
                |_, o| dlv_tensor_empty(F32, 2, std::ptr::null(), DLV_ORDER_C, &mut o.t)),
            case("empty: ndim -1", DLV_ERR_INVALID_ARGUMENT, &["ndim -1", "0..=64"],
                |_, o| dlv_tensor_empty(F32, -1, [2i64].as_ptr(), DLV_ORDER_C, &mut o.t)),
            case("empty: ndim 65", DLV_ERR_INVALID_ARGUMENT, &["ndim 65", "0..=64"],
                |_, o| dlv_tensor_empty(F32, 65, [1i64; 65].as_ptr(), DLV_ORDER_C, &mut o.t)),
            case("empty: negative dimension", DLV_ERR_INVALID_ARGUMENT, &["negative dimension -3 at axis 1", "(2, -3)"],
                |_, o| dlv_tensor_empty(F32, 2, [2i64, -3].as_ptr(), DLV_ORDER_C, &mut o.t)),
            case("empty: shape product overflows", DLV_ERR_INVALID_ARGUMENT, &["(1099511627776, 1099511627776)", "too many elements"],
                |_, o| dlv_tensor_empty(F32, 2, [1i64 << 40, 1 << 40].as_ptr(), DLV_ORDER_C, &mut o.t)),
            case("empty: size 0 hides an overflowing shape", DLV_ERR_INVALID_ARGUMENT, &["(0, 1099511627776, 1099511627776)"],
                |_, o| dlv_tensor_empty(F32, 3, [0i64, 1 << 40, 1 << 40].as_ptr(), DLV_ORDER_C, &mut o.t)),
            // Issue 15 item 5: NumPy's limit also binds size-0 shapes: the
            // non-zero dimensions' byte size must fit isize (np.empty((0,
            // 2**60), 'f8') raises "array is too big"; (0, 2**59) is fine).
            case("empty: size 0, non-zero dims' bytes overflow", DLV_ERR_INVALID_ARGUMENT, &["(0, 1152921504606846976)", "float64", "bytes"],
                |_, o| dlv_tensor_empty(dt(2, 64, 1), 2, [0i64, 1 << 60].as_ptr(), DLV_ORDER_C, &mut o.t)),
            case("empty: order K", DLV_ERR_INVALID_ARGUMENT, &["order K"],
                |_, o| dlv_tensor_empty(F32, 1, [2i64].as_ptr(), DLV_ORDER_K, &mut o.t)),
            case("empty: unknown order 7", DLV_ERR_INVALID_ARGUMENT, &["order 7"],
                |_, o| dlv_tensor_empty(F32, 1, [2i64].as_ptr(), 7, &mut o.t)),
            case("empty: opaque-handle dtype code 3", DLV_ERR_UNSUPPORTED_DTYPE, &["code 3, bits 64, lanes 1"],
                |_, o| dlv_tensor_empty(dt(3, 64, 1), 1, [2i64].as_ptr(), DLV_ORDER_C, &mut o.t)),
            case("empty: unknown dtype code 99", DLV_ERR_UNSUPPORTED_DTYPE, &["code 99, bits 32"],
                |_, o| dlv_tensor_empty(dt(99, 32, 1), 1, [2i64].as_ptr(), DLV_ORDER_C, &mut o.t)),
            case("empty: lanes 4", DLV_ERR_UNSUPPORTED_DTYPE, &["lanes 4", "lanes == 1"],
                |_, o| dlv_tensor_empty(dt(2, 32, 4), 1, [2i64].as_ptr(), DLV_ORDER_C, &mut o.t)),
            case("empty: lanes 0", DLV_ERR_UNSUPPORTED_DTYPE, &["lanes 0"],
                |_, o| dlv_tensor_empty(dt(2, 32, 0), 1, [2i64].as_ptr(), DLV_ORDER_C, &mut o.t)),
            case("empty: float with 8 bits", DLV_ERR_UNSUPPORTED_DTYPE, &["code 2, bits 8"],
                |_, o| dlv_tensor_empty(dt(2, 8, 1), 1, [2i64].as_ptr(), DLV_ORDER_C, &mut o.t)),
            case("empty: float4 with bits 8", DLV_ERR_UNSUPPORTED_DTYPE, &["code 17, bits 8"],
                |_, o| dlv_tensor_empty(dt(17, 8, 1), 1, [2i64].as_ptr(), DLV_ORDER_C, &mut o.t)),
            case("empty: bool with 1 bit", DLV_ERR_UNSUPPORTED_DTYPE, &["code 6, bits 1"],
                |_, o| dlv_tensor_empty(dt(6, 1, 1), 1, [2i64].as_ptr(), DLV_ORDER_C, &mut o.t)),
            case("zeros: packed float4 cannot be created", DLV_ERR_UNSUPPORTED_DTYPE, &["float4_e2m1fn"],
                |_, o| dlv_tensor_zeros(F4, 1, [2i64].as_ptr(), DLV_ORDER_C, &mut o.t)),
            case("zeros: 2^63 bytes", DLV_ERR_INVALID_ARGUMENT, &["1152921504606846976 elements of float64"],
                |_, o| dlv_tensor_zeros(dt(2, 64, 1), 2, [1i64 << 40, 1 << 20].as_ptr(), DLV_ORDER_C, &mut o.t)),
            case("from_buffer: NULL out", DLV_ERR_NULL_ARGUMENT, &["`out`"],
                |_, _| dlv_tensor_from_buffer(FAKE as _, F32, CPU, 1, [2i64].as_ptr(), std::ptr::null(), true, Some(row_release), null_mut(), null_mut())),
            case("from_buffer: NULL data with elements", DLV_ERR_NULL_ARGUMENT, &["`data`"],
                |_, o| dlv_tensor_from_buffer(null_mut(), F32, CPU, 1, [2i64].as_ptr(), std::ptr::null(), true, Some(row_release), null_mut(), &mut o.t)),
            case("from_buffer: NULL shape with ndim 1", DLV_ERR_NULL_ARGUMENT, &["`shape`"],
                |_, o| dlv_tensor_from_buffer(FAKE as _, F32, CPU, 1, std::ptr::null(), std::ptr::null(), true, Some(row_release), null_mut(), &mut o.t)),
            case("from_buffer: stride * (dim - 1) overflows i64", DLV_ERR_INVALID_ARGUMENT, &["stride * (dim - 1) overflows"],
                |_, o| dlv_tensor_from_buffer(FAKE as _, F32, CPU, 1, [3i64].as_ptr(), [i64::MAX].as_ptr(), true, Some(row_release), null_mut(), &mut o.t)),
            case("from_buffer: element offsets overflow i64", DLV_ERR_INVALID_ARGUMENT, &["highest element offset overflows"],
                |_, o| dlv_tensor_from_buffer(FAKE as _, F32, CPU, 2, [2i64, 2].as_ptr(), [i64::MAX / 2 + 1, i64::MAX / 2 + 1].as_ptr(), true, Some(row_release), null_mut(), &mut o.t)),
            case("from_buffer: byte extent overflows isize", DLV_ERR_INVALID_ARGUMENT, &["shape (2,) with strides (2305843009213693952,)", "isize"],
                |_, o| dlv_tensor_from_buffer(FAKE as _, dt(2, 64, 1), CPU, 1, [2i64].as_ptr(), [1i64 << 61].as_ptr(), true, Some(row_release), null_mut(), &mut o.t)),
            case("from_buffer: elements below address 0", DLV_ERR_INVALID_ARGUMENT, &["shape (4,) with strides (-8,)", "0x10", "address space"],
                |_, o| dlv_tensor_from_buffer(0x10 as _, I8, CPU, 1, [4i64].as_ptr(), [-8i64].as_ptr(), true, Some(row_release), null_mut(), &mut o.t)),
            case("from_buffer: elements past the top of the address space", DLV_ERR_INVALID_ARGUMENT, &["shape (3,) with strides (4,)", "address space"],
                |_, o| dlv_tensor_from_buffer((usize::MAX - 8) as _, I8, CPU, 1, [3i64].as_ptr(), [4i64].as_ptr(), true, Some(row_release), null_mut(), &mut o.t)),
            case("from_buffer: strided float4", DLV_ERR_UNSUPPORTED_DTYPE, &["float4_e2m1fn", "strides (2,)"],
                |_, o| dlv_tensor_from_buffer(FAKE as _, F4, CPU, 1, [4i64].as_ptr(), [2i64].as_ptr(), true, Some(row_release), null_mut(), &mut o.t)),
            case("from_buffer: unknown dtype", DLV_ERR_UNSUPPORTED_DTYPE, &["code 18, bits 8"],
                |_, o| dlv_tensor_from_buffer(FAKE as _, dt(18, 8, 1), CPU, 1, [4i64].as_ptr(), std::ptr::null(), true, Some(row_release), null_mut(), &mut o.t)),
            case("retain: NULL handle", DLV_ERR_NULL_ARGUMENT, &["`t`"],
                |_, o| dlv_tensor_retain(NULL_T, &mut o.t)),
            case("retain: NULL out", DLV_ERR_NULL_ARGUMENT, &["`out`"],
                |f, _| dlv_tensor_retain(f.t, null_mut())),
            // ---- element access and flags ----
            case("data_mut: read-only view", DLV_ERR_READ_ONLY, &["read-only"],
                |f, o| dlv_tensor_data_mut(f.ro, &mut o.p)),
            case("data_mut: NULL out", DLV_ERR_NULL_ARGUMENT, &["`out`"],
                |f, _| dlv_tensor_data_mut(f.t, null_mut())),
            case("data_mut: NULL handle", DLV_ERR_NULL_ARGUMENT, &["`t`"],
                |_, o| dlv_tensor_data_mut(null_mut(), &mut o.p)),
            case("set_writeable: overlapping broadcast view", DLV_ERR_READ_ONLY, &["elements overlap"],
                |f, _| dlv_tensor_set_writeable(f.bc, true)),
            case("set_writeable: read-only memory", DLV_ERR_READ_ONLY, &["memory is read-only"],
                |f, _| dlv_tensor_set_writeable(f.ro, true)),
            case("set_writeable: NULL handle", DLV_ERR_NULL_ARGUMENT, &["`t`"],
                |_, _| dlv_tensor_set_writeable(null_mut(), false)),
            case("get_f64: index past the end", DLV_ERR_INDEX, &["index 5 is out of bounds for axis 1 with size 3"],
                |f, o| dlv_tensor_get_f64(f.t, [0i64, 5].as_ptr(), &mut o.f)),
            case("get_f64: negative index before the start", DLV_ERR_INDEX, &["index -3 is out of bounds for axis 0 with size 2"],
                |f, o| dlv_tensor_get_f64(f.t, [-3i64, 0].as_ptr(), &mut o.f)),
            case("get_f64: index i64::MIN", DLV_ERR_INDEX, &["index -9223372036854775808 is out of bounds for axis 1 with size 3"],
                |f, o| dlv_tensor_get_f64(f.t, [0i64, i64::MIN].as_ptr(), &mut o.f)),
            case("get_f64: NULL index", DLV_ERR_NULL_ARGUMENT, &["`index`"],
                |f, o| dlv_tensor_get_f64(f.t, std::ptr::null(), &mut o.f)),
            case("get_f64: NULL out", DLV_ERR_NULL_ARGUMENT, &["`out`"],
                |f, _| dlv_tensor_get_f64(f.t, [0i64, 0].as_ptr(), null_mut())),
            case("get_f64: complex element", DLV_ERR_UNSUPPORTED_DTYPE, &["complex64"],
                |f, o| dlv_tensor_get_f64(f.c64, [0i64].as_ptr(), &mut o.f)),
            case("get_f64: device memory", DLV_ERR_UNSUPPORTED_DEVICE, &["cuda:0"],
                |f, o| dlv_tensor_get_f64(f.cuda, [0i64].as_ptr(), &mut o.f)),
            case("set_f64: index into a size-0 tensor with a huge stride", DLV_ERR_INDEX, &["index 0 is out of bounds for axis 1 with size 0"],
                |f, o| {
                    let mut z = null_mut();
                    ok(dlv_tensor_as_strided(f.t, 2, [(1i64 << 61) - 1, 0].as_ptr(), [(1i64 << 60) - 1, 1].as_ptr(), &mut z));
                    let st = dlv_tensor_get_f64(z, [(1i64 << 60) - 1, 0].as_ptr(), &mut o.f);
                    keep_message(&last_error());
                    dlv_tensor_free(z);
                    st
                }),
            case("set_f64: read-only view", DLV_ERR_READ_ONLY, &["read-only"],
                |f, _| dlv_tensor_set_f64(f.bc, [0i64, 0].as_ptr(), 1.0)),
            case("set_f64: index past the end", DLV_ERR_INDEX, &["index 2 is out of bounds for axis 0 with size 2"],
                |f, _| dlv_tensor_set_f64(f.t, [2i64, 0].as_ptr(), 1.0)),
            // ---- views ----
            case("slice: axis 2 of a 2-d tensor", DLV_ERR_INVALID_ARGUMENT, &["axis 2 is out of bounds for tensor of dimension 2"],
                |f, o| dlv_tensor_slice(f.t, 2, 0, 1, 1, &mut o.t)),
            case("slice: axis -3", DLV_ERR_INVALID_ARGUMENT, &["axis -3 is out of bounds"],
                |f, o| dlv_tensor_slice(f.t, -3, 0, 1, 1, &mut o.t)),
            case("slice: step 0", DLV_ERR_INVALID_ARGUMENT, &["step cannot be zero"],
                |f, o| dlv_tensor_slice(f.t, 0, DLV_NONE, DLV_NONE, 0, &mut o.t)),
            case("slice: NULL out", DLV_ERR_NULL_ARGUMENT, &["`out`"],
                |f, _| dlv_tensor_slice(f.t, 0, 0, 1, 1, null_mut())),
            case("slice: NULL handle", DLV_ERR_NULL_ARGUMENT, &["`t`"],
                |_, o| dlv_tensor_slice(NULL_T, 0, 0, 1, 1, &mut o.t)),
            case("select: index 3 of size 2", DLV_ERR_INDEX, &["index 3 is out of bounds for axis 0 with size 2"],
                |f, o| dlv_tensor_select(f.t, 0, 3, &mut o.t)),
            case("select: axis 5", DLV_ERR_INVALID_ARGUMENT, &["axis 5 is out of bounds for tensor of dimension 2"],
                |f, o| dlv_tensor_select(f.t, 5, 0, &mut o.t)),
            case("permute: repeated axis", DLV_ERR_INVALID_ARGUMENT, &["repeated axis 0 in permutation (0, 0)"],
                |f, o| dlv_tensor_permute(f.t, [0i32, 0].as_ptr(), &mut o.t)),
            case("permute: repeated axis via a negative alias", DLV_ERR_INVALID_ARGUMENT, &["repeated axis -1 in permutation (1, -1)"],
                |f, o| dlv_tensor_permute(f.t, [1i32, -1].as_ptr(), &mut o.t)),
            case("permute: axis out of range", DLV_ERR_INVALID_ARGUMENT, &["axis 2 is out of bounds for tensor of dimension 2"],
                |f, o| dlv_tensor_permute(f.t, [0i32, 2].as_ptr(), &mut o.t)),
            case("permute: NULL axes", DLV_ERR_NULL_ARGUMENT, &["`axes`"],
                |f, o| dlv_tensor_permute(f.t, std::ptr::null(), &mut o.t)),
            case("transpose: NULL handle", DLV_ERR_NULL_ARGUMENT, &["`t`"],
                |_, o| dlv_tensor_transpose(NULL_T, &mut o.t)),
            case("flip: axis 2", DLV_ERR_INVALID_ARGUMENT, &["axis 2 is out of bounds"],
                |f, o| dlv_tensor_flip(f.t, 2, &mut o.t)),
            case("reshape: wrong size", DLV_ERR_INVALID_ARGUMENT, &["cannot reshape tensor of size 6 (shape (2, 3)) into shape (4,)"],
                |f, o| dlv_tensor_reshape(f.t, 1, [4i64].as_ptr(), DLV_COPY_IF_NEEDED, &mut o.t)),
            case("reshape: two unknown dimensions", DLV_ERR_INVALID_ARGUMENT, &["one unknown dimension", "(-1, -1)"],
                |f, o| dlv_tensor_reshape(f.t, 2, [-1i64, -1].as_ptr(), DLV_COPY_IF_NEEDED, &mut o.t)),
            case("reshape: dimension -2", DLV_ERR_INVALID_ARGUMENT, &["negative dimension -2", "(-2, -3)"],
                |f, o| dlv_tensor_reshape(f.t, 2, [-2i64, -3].as_ptr(), DLV_COPY_IF_NEEDED, &mut o.t)),
            case("reshape: -1 that cannot divide", DLV_ERR_INVALID_ARGUMENT, &["size 6", "(4, -1)"],
                |f, o| dlv_tensor_reshape(f.t, 2, [4i64, -1].as_ptr(), DLV_COPY_IF_NEEDED, &mut o.t)),
            case("reshape: overflowing target", DLV_ERR_INVALID_ARGUMENT, &["(4294967296, 4294967296)", "too many elements"],
                |f, o| dlv_tensor_reshape(f.t, 2, [1i64 << 32, 1 << 32].as_ptr(), DLV_COPY_IF_NEEDED, &mut o.t)),
            case("reshape: a transposed view under NEVER", DLV_ERR_COPY_REQUIRED, &["shape (3, 2) with strides (1, 3)", "shape (6,)"],
                |f, o| dlv_tensor_reshape(f.tt, 1, [6i64].as_ptr(), DLV_COPY_NEVER, &mut o.t)),
            case("reshape: copy mode 9", DLV_ERR_INVALID_ARGUMENT, &["copy mode 9"],
                |f, o| dlv_tensor_reshape(f.t, 1, [6i64].as_ptr(), 9, &mut o.t)),
            case("reshape: ndim 65", DLV_ERR_INVALID_ARGUMENT, &["ndim 65"],
                |f, o| dlv_tensor_reshape(f.t, 65, [1i64; 65].as_ptr(), DLV_COPY_IF_NEEDED, &mut o.t)),
            case("reshape: NULL shape", DLV_ERR_NULL_ARGUMENT, &["`shape`"],
                |f, o| dlv_tensor_reshape(f.t, 1, std::ptr::null(), DLV_COPY_IF_NEEDED, &mut o.t)),
            case("squeeze: axis of size 3", DLV_ERR_INVALID_ARGUMENT, &["cannot squeeze axis 1: its size is 3"],
                |f, o| dlv_tensor_squeeze(f.t, 1, &mut o.t)),
            case("squeeze: axis 7", DLV_ERR_INVALID_ARGUMENT, &["axis 7 is out of bounds"],
                |f, o| dlv_tensor_squeeze(f.t, 7, &mut o.t)),
            case("expand_dims: axis 4 of a 2-d tensor", DLV_ERR_INVALID_ARGUMENT, &["axis 4 is out of bounds for tensor of dimension 3"],
                |f, o| dlv_tensor_expand_dims(f.t, 4, &mut o.t)),
            case("expand_dims: past 64 dimensions", DLV_ERR_INVALID_ARGUMENT, &["ndim 65 exceeds the maximum of 64"],
                |_, o| {
                    let mut t64 = null_mut();
                    ok(dlv_tensor_zeros(F32, 64, [1i64; 64].as_ptr(), DLV_ORDER_C, &mut t64));
                    let st = dlv_tensor_expand_dims(t64, 0, &mut o.t);
                    let msg = last_error();
                    dlv_tensor_free(t64);
                    keep_message(&msg);
                    st
                }),
            case("broadcast_to: incompatible shape", DLV_ERR_INVALID_ARGUMENT, &["cannot broadcast shape (2, 3) to shape (4, 4)"],
                |f, o| dlv_tensor_broadcast_to(f.t, 2, [4i64, 4].as_ptr(), &mut o.t)),
            case("broadcast_to: fewer dimensions", DLV_ERR_INVALID_ARGUMENT, &["cannot broadcast shape (2, 3) to shape (3,)"],
                |f, o| dlv_tensor_broadcast_to(f.t, 1, [3i64].as_ptr(), &mut o.t)),
            case("broadcast_to: size 0 to size 1", DLV_ERR_INVALID_ARGUMENT, &["cannot broadcast shape (0,) to shape (1,)"],
                |f, o| {
                    let mut e = null_mut();
                    ok(dlv_tensor_slice(f.t, 1, 0, 0, 1, &mut e));
                    let mut z = null_mut();
                    ok(dlv_tensor_select(e, 0, 0, &mut z));
                    dlv_tensor_free(e);
                    let st = dlv_tensor_broadcast_to(z, 1, [1i64].as_ptr(), &mut o.t);
                    dlv_tensor_free(z);
                    st
                }),
            case("broadcast_to: negative dimension", DLV_ERR_INVALID_ARGUMENT, &["negative dimension -3 at axis 1"],
                |f, o| dlv_tensor_broadcast_to(f.t, 2, [2i64, -3].as_ptr(), &mut o.t)),
            case("as_strided: outside the storage", DLV_ERR_INVALID_ARGUMENT, &["shape (2, 3) with strides (100, 1)", "[0, 24)", "its storage"],
                |f, o| dlv_tensor_as_strided(f.t, 2, [2i64, 3].as_ptr(), [100i64, 1].as_ptr(), &mut o.t)),
            case("as_strided: before the storage", DLV_ERR_INVALID_ARGUMENT, &["shape (2,) with strides (-1,)", "[-4, 4)"],
                |f, o| dlv_tensor_as_strided(f.t, 1, [2i64].as_ptr(), [-1i64].as_ptr(), &mut o.t)),
            case("as_strided: far before the storage (the address would wrap)", DLV_ERR_INVALID_ARGUMENT, &["shape (1152921504606846975,) with strides (-2,)", "its storage"],
                |f, o| dlv_tensor_as_strided(f.t, 1, [(1i64 << 60) - 1].as_ptr(), [-2i64].as_ptr(), &mut o.t)),
            case("as_strided: far before a wrapped buffer's view", DLV_ERR_INVALID_ARGUMENT, &["shape (1152921504606846975,) with strides (-2,)", "source view"],
                |f, o| dlv_tensor_as_strided(f.buf, 1, [(1i64 << 60) - 1].as_ptr(), [-2i64].as_ptr(), &mut o.t)),
            case("as_strided: outside a wrapped buffer's view", DLV_ERR_INVALID_ARGUMENT, &["shape (7,) with strides (1,)", "source view"],
                |f, o| dlv_tensor_as_strided(f.buf, 1, [7i64].as_ptr(), [1i64].as_ptr(), &mut o.t)),
            case("as_strided: overflowing strides", DLV_ERR_INVALID_ARGUMENT, &["stride * (dim - 1) overflows"],
                |f, o| dlv_tensor_as_strided(f.t, 1, [3i64].as_ptr(), [i64::MIN].as_ptr(), &mut o.t)),
            case("as_strided: NULL strides", DLV_ERR_NULL_ARGUMENT, &["`strides`"],
                |f, o| dlv_tensor_as_strided(f.t, 1, [3i64].as_ptr(), std::ptr::null(), &mut o.t)),
            case("sliding_window: window larger than the axis", DLV_ERR_INVALID_ARGUMENT, &["window 4 does not fit axis 1 of size 3"],
                |f, o| dlv_tensor_sliding_window(f.t, 1, 4, &mut o.t)),
            case("sliding_window: negative window", DLV_ERR_INVALID_ARGUMENT, &["window -1"],
                |f, o| dlv_tensor_sliding_window(f.t, 0, -1, &mut o.t)),
            // ---- copies ----
            case("copy: order 5", DLV_ERR_INVALID_ARGUMENT, &["order 5"],
                |f, o| dlv_tensor_copy(f.t, 5, &mut o.t)),
            case("copy: device memory", DLV_ERR_UNSUPPORTED_DEVICE, &["cuda:0"],
                |f, o| dlv_tensor_copy(f.cuda, DLV_ORDER_C, &mut o.t)),
            case("astype: unknown dtype", DLV_ERR_UNSUPPORTED_DTYPE, &["code 99, bits 16"],
                |f, o| dlv_tensor_astype(f.t, dt(99, 16, 1), DLV_ORDER_C, &mut o.t)),
            case("astype: to packed float4", DLV_ERR_UNSUPPORTED_DTYPE, &["float4_e2m1fn"],
                |f, o| dlv_tensor_astype(f.t, F4, DLV_ORDER_C, &mut o.t)),
            // ---- DLPack import ----
            case("from_dlpack: NULL tensor", DLV_ERR_NULL_ARGUMENT, &["`mt`"],
                |_, o| dlv_tensor_from_dlpack(null_mut(), std::ptr::null(), &mut o.t)),
            import("from_dlpack: version 0.8", DLV_ERR_VERSION, &["version 0.8"],
                |_, o| p(|p| { p.version = (0, 8); p.ndim = -7 }).import(o)),
            import("from_dlpack: version 2.0", DLV_ERR_VERSION, &["version 2.0"],
                |_, o| p(|p| p.version = (2, 0)).import(o)),
            import("from_dlpack: NULL out", DLV_ERR_NULL_ARGUMENT, &["`out`"],
                |_, _| dlv_tensor_from_dlpack(Producer::default().versioned(), std::ptr::null(), null_mut())),
            import("from_dlpack: import copy mode 5", DLV_ERR_INVALID_ARGUMENT, &["copy mode 5"],
                |_, o| dlv_tensor_from_dlpack(Producer::default().versioned(), &dlv_import_options { copy: 5, trust_legacy_writeable: false }, &mut o.t)),
            import("from_dlpack: ndim -1", DLV_ERR_INVALID_ARGUMENT, &["ndim -1"],
                |_, o| p(|p| p.ndim = -1).import(o)),
            import("from_dlpack: ndim 65", DLV_ERR_INVALID_ARGUMENT, &["ndim 65"],
                |_, o| p(|p| { p.ndim = 65; p.shape = Some(vec![1; 65]); p.strides = Some(vec![1; 65]) }).import(o)),
            import("from_dlpack: NULL shape", DLV_ERR_INVALID_ARGUMENT, &["ndim 1 but a NULL shape"],
                |_, o| p(|p| p.shape = None).import(o)),
            import("from_dlpack: NULL strides at version 1.2", DLV_ERR_INVALID_ARGUMENT, &["ndim 1 but NULL strides"],
                |_, o| p(|p| { p.version = (1, 2); p.strides = None }).import(o)),
            import("from_dlpack: negative dimension", DLV_ERR_INVALID_ARGUMENT, &["negative dimension -4 at axis 0"],
                |_, o| p(|p| p.shape = Some(vec![-4])).import(o)),
            import("from_dlpack: lanes 2", DLV_ERR_UNSUPPORTED_DTYPE, &["lanes 2"],
                |_, o| p(|p| p.dtype = dt(2, 32, 2)).import(o)),
            import("from_dlpack: float4 with bits 8", DLV_ERR_UNSUPPORTED_DTYPE, &["code 17, bits 8"],
                |_, o| p(|p| p.dtype = dt(17, 8, 1)).import(o)),
            import("from_dlpack: complex with 32 bits", DLV_ERR_UNSUPPORTED_DTYPE, &["code 5, bits 32"],
                |_, o| p(|p| p.dtype = dt(5, 32, 1)).import(o)),
            import("from_dlpack: byte_offset 2^63", DLV_ERR_INVALID_ARGUMENT, &["byte_offset 9223372036854775808"],
                |_, o| p(|p| p.byte_offset = 1 << 63).import(o)),
            // Issue 15 item 4: 2^64 - 32 + 32 wrapped to a NULL data pointer.
            import("from_dlpack: data + byte_offset wraps", DLV_ERR_INVALID_ARGUMENT, &["data 0xffffffffffffffe0 + byte_offset 32", "wraps"],
                |_, o| p(|p| { p.data = 0usize.wrapping_sub(32); p.byte_offset = 32 }).import(o)),
            import("from_dlpack: data + byte_offset wraps, no elements", DLV_ERR_INVALID_ARGUMENT, &["data 0xffffffffffffffff + byte_offset 2", "wraps"],
                |_, o| p(|p| { p.data = usize::MAX; p.byte_offset = 2; p.shape = Some(vec![0]) }).import(o)),
            import("from_dlpack: size 0 with a byte stride past 2^63", DLV_ERR_INVALID_ARGUMENT, &["(0, 4)", "(1, 2305843009213693952)", "byte stride of axis 1"],
                |_, o| p(|p| { p.dtype = dt(2, 64, 1); p.ndim = 2; p.shape = Some(vec![0, 4]); p.strides = Some(vec![1, 1 << 61]) }).import(o)),
            import("from_dlpack: NULL data with elements", DLV_ERR_INVALID_ARGUMENT, &["shape (4,) has NULL data"],
                |_, o| p(|p| p.data = 0).import(o)),
            import("from_dlpack: padded sub-byte flag", DLV_ERR_UNSUPPORTED_DTYPE, &["padded", "float4_e2m1fn"],
                |_, o| p(|p| { p.dtype = F4; p.flags = 4 }).import(o)),
            import("from_dlpack: strided float4", DLV_ERR_UNSUPPORTED_DTYPE, &["float4_e2m1fn", "strides (2,)"],
                |_, o| p(|p| { p.dtype = F4; p.strides = Some(vec![2]) }).import(o)),
            import("from_dlpack: stride overflows", DLV_ERR_INVALID_ARGUMENT, &["stride * (dim - 1) overflows"],
                |_, o| p(|p| p.strides = Some(vec![i64::MAX / 2])).import(o)),
            import("from_dlpack: elements below address 0", DLV_ERR_INVALID_ARGUMENT, &["strides (-1152921504606846976,)", "address space"],
                |_, o| p(|p| { p.dtype = I8; p.strides = Some(vec![-(1 << 60)]) }).import(o)),
            import("from_dlpack: copy of device memory", DLV_ERR_UNSUPPORTED_DEVICE, &["cuda:0"],
                |_, o| dlv_tensor_from_dlpack(p(|p| p.device = CUDA).versioned(), &dlv_import_options { copy: DLV_COPY_ALWAYS, trust_legacy_writeable: false }, &mut o.t)),
            case("from_dlpack_legacy: NULL tensor", DLV_ERR_NULL_ARGUMENT, &["`mt`"],
                |_, o| dlv_tensor_from_dlpack_legacy(null_mut(), std::ptr::null(), &mut o.t)),
            import("from_dlpack_legacy: ndim 65", DLV_ERR_INVALID_ARGUMENT, &["ndim 65"],
                |_, o| dlv_tensor_from_dlpack_legacy(p(|p| { p.ndim = 65; p.shape = Some(vec![1; 65]); p.strides = Some(vec![1; 65]) }).legacy(), std::ptr::null(), &mut o.t)),
            import("from_dlpack_legacy: NULL out", DLV_ERR_NULL_ARGUMENT, &["`out`"],
                |_, _| dlv_tensor_from_dlpack_legacy(Producer::default().legacy(), std::ptr::null(), null_mut())),
            import("from_dlpack_legacy: unknown dtype", DLV_ERR_UNSUPPORTED_DTYPE, &["code 3, bits 64"],
                |_, o| dlv_tensor_from_dlpack_legacy(p(|p| p.dtype = dt(3, 64, 1)).legacy(), std::ptr::null(), &mut o.t)),
            // ---- .npy files and memory maps ----
            case("npy_load: size 0, non-zero dims' bytes overflow", DLV_ERR_FORMAT, &["(0, 4611686018427387904)", "more bytes than fit"],
                |_, o| dlv_npy_load(file("huge-empty.npy", &npy("{'descr': '<f8', 'fortran_order': False, 'shape': (0, 4611686018427387904), }", 1, &[])).as_ptr(), DLV_MMAP_NONE, &mut o.t)),
            // Issue 15 item 8: refused at once (this blocked forever before).
            case("npy_load: a FIFO", DLV_ERR_IO, &["FIFO", "only regular files"],
                |_, o| {
                    let p = path("pipe.npy");
                    // (The cases run inside an `unsafe` block.)
                    libc::mkfifo(p.as_ptr(), 0o600);
                    dlv_npy_load(p.as_ptr(), DLV_MMAP_NONE, &mut o.t)
                }),
            case("npy_load: NULL path", DLV_ERR_NULL_ARGUMENT, &["`path`"],
                |_, o| dlv_npy_load(std::ptr::null(), DLV_MMAP_NONE, &mut o.t)),
            case("npy_load: NULL out", DLV_ERR_NULL_ARGUMENT, &["`out`"],
                |_, _| dlv_npy_load(file("good.npy", &npy_f8(GOOD_DICT)).as_ptr(), DLV_MMAP_NONE, null_mut())),
            case("npy_load: empty path", DLV_ERR_INVALID_ARGUMENT, &["path is empty"],
                |_, o| dlv_npy_load(c"".as_ptr(), DLV_MMAP_NONE, &mut o.t)),
            case("npy_load: a path that does not exist", DLV_ERR_IO, &["no-such-file.npy", "No such file"],
                |_, o| dlv_npy_load(path("no-such-file.npy").as_ptr(), DLV_MMAP_NONE, &mut o.t)),
            case("npy_load: a directory", DLV_ERR_IO, &["dlview-bad-input-", "directory"],
                |_, o| dlv_npy_load(std::ffi::CString::new(scratch_dir().to_str().unwrap()).unwrap().as_ptr(), DLV_MMAP_NONE, &mut o.t)),
            case("npy_load: mmap mode 9", DLV_ERR_INVALID_ARGUMENT, &["mmap mode 9"],
                |_, o| dlv_npy_load(file("good.npy", &npy_f8(GOOD_DICT)).as_ptr(), 9, &mut o.t)),
            case("npy_load: mode w+ would truncate", DLV_ERR_INVALID_ARGUMENT, &["\"w+\"", "truncate"],
                |_, o| dlv_npy_load(file("good.npy", &npy_f8(GOOD_DICT)).as_ptr(), DLV_MMAP_CREATE, &mut o.t)),
            case("npy_load: empty file", DLV_ERR_FORMAT, &["empty.npy", "0 bytes"],
                |_, o| dlv_npy_load(file("empty.npy", b"").as_ptr(), DLV_MMAP_NONE, &mut o.t)),
            case("npy_load: bad magic", DLV_ERR_FORMAT, &["not a .npy file", "\\x58"],
                |_, o| { let mut b = npy_f8(GOOD_DICT); b[5] = b'X'; dlv_npy_load(file("magic.npy", &b).as_ptr(), DLV_MMAP_NONE, &mut o.t) }),
            case("npy_load: format version 4.0", DLV_ERR_FORMAT, &["version 4.0"],
                |_, o| dlv_npy_load(file("v4.npy", &npy(GOOD_DICT, 4, &[0; 24])).as_ptr(), DLV_MMAP_NONE, &mut o.t)),
            case("npy_load: header length past the end", DLV_ERR_FORMAT, &["header length 118", "50 bytes"],
                |_, o| dlv_npy_load(file("short-header.npy", &npy_f8(GOOD_DICT)[..50]).as_ptr(), DLV_MMAP_NONE, &mut o.t)),
            case("npy_load: truncated data", DLV_ERR_FORMAT, &["shape (3,) of float64 needs 24 bytes", "holds 21"],
                |_, o| dlv_npy_load(file("short-data.npy", &npy_f8(GOOD_DICT)[..128 + 21]).as_ptr(), DLV_MMAP_NONE, &mut o.t)),
            case("npy_load: truncated data, memory-mapped", DLV_ERR_FORMAT, &["needs 24 bytes", "holds 8"],
                |_, o| dlv_npy_load(file("short-data-map.npy", &npy_f8(GOOD_DICT)[..128 + 8]).as_ptr(), DLV_MMAP_READ, &mut o.t)),
            case("npy_load: non-ASCII header", DLV_ERR_FORMAT, &["non-ASCII byte 0xc3 at offset 3"],
                |_, o| dlv_npy_load(file("latin1.npy", &npy(&GOOD_DICT.replace("descr", "d\u{e9}scr"), 1, &[0; 24])).as_ptr(), DLV_MMAP_NONE, &mut o.t)),
            case("npy_load: object dtype", DLV_ERR_FORMAT, &["\"|O\"", "object"],
                |_, o| dlv_npy_load(file("object.npy", &npy_f8(&GOOD_DICT.replace("<f8", "|O"))).as_ptr(), DLV_MMAP_NONE, &mut o.t)),
            case("npy_load: structured dtype", DLV_ERR_FORMAT, &["structured"],
                |_, o| dlv_npy_load(file("structured.npy", &npy_f8(&GOOD_DICT.replace("'<f8'", "[('a', '<f8')]"))).as_ptr(), DLV_MMAP_NONE, &mut o.t)),
            case("npy_load: unicode string dtype", DLV_ERR_FORMAT, &["\"<U3\"", "string"],
                |_, o| dlv_npy_load(file("unicode.npy", &npy_f8(&GOOD_DICT.replace("<f8", "<U3"))).as_ptr(), DLV_MMAP_NONE, &mut o.t)),
            case("npy_load: no shape key", DLV_ERR_FORMAT, &["no \"shape\" key"],
                |_, o| dlv_npy_load(file("noshape.npy", &npy_f8("{'descr': '<f8', 'fortran_order': False, }")).as_ptr(), DLV_MMAP_NONE, &mut o.t)),
            case("npy_load: unexpected key", DLV_ERR_FORMAT, &["unexpected key", "extra"],
                |_, o| dlv_npy_load(file("extra.npy", &npy_f8(&GOOD_DICT.replace("}", "'extra': 1, }"))).as_ptr(), DLV_MMAP_NONE, &mut o.t)),
            case("npy_load: negative dimension", DLV_ERR_FORMAT, &["shape dimension -3"],
                |_, o| dlv_npy_load(file("negdim.npy", &npy_f8(&GOOD_DICT.replace("(3,)", "(-3,)"))).as_ptr(), DLV_MMAP_NONE, &mut o.t)),
            case("npy_load: 65 dimensions", DLV_ERR_FORMAT, &["65 dimensions", "64"],
                |_, o| dlv_npy_load(file("ndim65.npy", &npy_f8(&GOOD_DICT.replace("(3,)", &format!("({})", vec!["1"; 65].join(", "))))).as_ptr(), DLV_MMAP_NONE, &mut o.t)),
            case("npy_load: byte size overflows", DLV_ERR_FORMAT, &["(4294967296, 4294967296)", "float64"],
                |_, o| dlv_npy_load(file("huge.npy", &npy_f8(&GOOD_DICT.replace("(3,)", "(4294967296, 4294967296)"))).as_ptr(), DLV_MMAP_NONE, &mut o.t)),
            case("npy_load: size 0 hiding an overflowing shape", DLV_ERR_FORMAT, &["(0, 4294967296, 4294967296)", "too many elements"],
                |_, o| dlv_npy_load(file("huge0.npy", &npy_f8(&GOOD_DICT.replace("(3,)", "(0, 4294967296, 4294967296)"))).as_ptr(), DLV_MMAP_NONE, &mut o.t)),
            case("npy_load: fortran_order not a bool", DLV_ERR_FORMAT, &["fortran_order", "Int(1)"],
                |_, o| dlv_npy_load(file("fo.npy", &npy_f8(&GOOD_DICT.replace("False", "1"))).as_ptr(), DLV_MMAP_NONE, &mut o.t)),
            case("npy_load: malformed dict", DLV_ERR_FORMAT, &["malformed .npy header", "character"],
                |_, o| dlv_npy_load(file("malformed.npy", &npy_f8("{'descr': '<f8', 'fortran_order': False, 'shape': (3,")).as_ptr(), DLV_MMAP_NONE, &mut o.t)),
            case("npy_load: big-endian data memory-mapped", DLV_ERR_FORMAT, &["big-endian", "float64"],
                |_, o| dlv_npy_load(file("big.npy", &npy_f8(&GOOD_DICT.replace("<f8", ">f8"))).as_ptr(), DLV_MMAP_READ, &mut o.t)),
            case("npy_save: NULL tensor", DLV_ERR_NULL_ARGUMENT, &["`t`"],
                |_, _| dlv_npy_save(NULL_T, path("out.npy").as_ptr())),
            case("npy_save: NULL path", DLV_ERR_NULL_ARGUMENT, &["`path`"],
                |f, _| dlv_npy_save(f.t, std::ptr::null())),
            case("npy_save: a directory that does not exist", DLV_ERR_IO, &["no-such-dir"],
                |f, _| dlv_npy_save(f.t, path("no-such-dir/out.npy").as_ptr())),
            case("npy_save: device memory", DLV_ERR_UNSUPPORTED_DEVICE, &["cuda:0"],
                |f, _| dlv_npy_save(f.cuda, path("out.npy").as_ptr())),
            case("npy_save: packed float4", DLV_ERR_UNSUPPORTED_DTYPE, &["float4_e2m1fn"],
                |_, _| {
                    let mut t4 = null_mut();
                    let mem = [0u8; 2];
                    ok(dlv_tensor_from_buffer(mem.as_ptr() as *mut c_void, F4, CPU, 1, [4i64].as_ptr(), std::ptr::null(), false, None, null_mut(), &mut t4));
                    let st = dlv_npy_save(t4, path("f4.npy").as_ptr());
                    keep_message(&last_error());
                    dlv_tensor_free(t4);
                    st
                }),
            case("memmap: offset past the end", DLV_ERR_INVALID_ARGUMENT, &["offset 1000 is past the end", "(24 bytes)"],
                |_, o| dlv_memmap(file("raw24.bin", &[0; 24]).as_ptr(), dt(2, 64, 1), DLV_MMAP_READ, 1000, -1, std::ptr::null(), DLV_ORDER_C, &mut o.t)),
            case("memmap: file too small for the shape", DLV_ERR_INVALID_ARGUMENT, &["holds 24 bytes", "shape (100,)", "needs 800"],
                |_, o| dlv_memmap(file("raw24.bin", &[0; 24]).as_ptr(), dt(2, 64, 1), DLV_MMAP_READ, 0, 1, [100i64].as_ptr(), DLV_ORDER_C, &mut o.t)),
            case("memmap: bytes not a multiple of the itemsize", DLV_ERR_INVALID_ARGUMENT, &["20 bytes", "8-byte"],
                |_, o| dlv_memmap(file("raw24.bin", &[0; 24]).as_ptr(), dt(2, 64, 1), DLV_MMAP_READ, 4, -1, std::ptr::null(), DLV_ORDER_C, &mut o.t)),
            case("memmap: mode NONE", DLV_ERR_INVALID_ARGUMENT, &["DLV_MMAP_NONE"],
                |_, o| dlv_memmap(file("raw24.bin", &[0; 24]).as_ptr(), dt(2, 64, 1), DLV_MMAP_NONE, 0, -1, std::ptr::null(), DLV_ORDER_C, &mut o.t)),
            case("memmap: order K", DLV_ERR_INVALID_ARGUMENT, &["order K"],
                |_, o| dlv_memmap(file("raw24.bin", &[0; 24]).as_ptr(), dt(2, 64, 1), DLV_MMAP_READ, 0, 1, [3i64].as_ptr(), DLV_ORDER_K, &mut o.t)),
            case("memmap: w+ without a shape", DLV_ERR_INVALID_ARGUMENT, &["\"w+\" needs a shape"],
                |_, o| dlv_memmap(path("new.bin").as_ptr(), dt(2, 64, 1), DLV_MMAP_CREATE, 0, -1, std::ptr::null(), DLV_ORDER_C, &mut o.t)),
            case("memmap: offset plus size overflows", DLV_ERR_INVALID_ARGUMENT, &["offset 18446744073709551615"],
                |_, o| dlv_memmap(path("new.bin").as_ptr(), dt(2, 64, 1), DLV_MMAP_CREATE, u64::MAX, 1, [3i64].as_ptr(), DLV_ORDER_C, &mut o.t)),
            case("memmap: a file that does not exist", DLV_ERR_IO, &["no-such-file.bin"],
                |_, o| dlv_memmap(path("no-such-file.bin").as_ptr(), dt(2, 64, 1), DLV_MMAP_READ, 0, -1, std::ptr::null(), DLV_ORDER_C, &mut o.t)),
            // ---- DLPack export ----
            case("to_dlpack: NULL handle", DLV_ERR_NULL_ARGUMENT, &["`t`"],
                |_, o| dlv_tensor_to_dlpack(NULL_T, std::ptr::null(), &mut o.mt)),
            case("to_dlpack: NULL out", DLV_ERR_NULL_ARGUMENT, &["`out`"],
                |f, _| dlv_tensor_to_dlpack(f.t, std::ptr::null(), null_mut())),
            case("to_dlpack: negative strides under NEVER", DLV_ERR_COPY_REQUIRED, &["negative strides"],
                |f, o| dlv_tensor_to_dlpack(f.neg, &dlv_export_options { copy: DLV_COPY_NEVER, allow_negative_strides: false }, &mut o.mt)),
            case("to_dlpack: export copy mode 3", DLV_ERR_INVALID_ARGUMENT, &["copy mode 3"],
                |f, o| dlv_tensor_to_dlpack(f.t, &dlv_export_options { copy: 3, allow_negative_strides: false }, &mut o.mt)),
            case("to_dlpack: copy of device memory", DLV_ERR_UNSUPPORTED_DEVICE, &["cuda:0"],
                |f, o| dlv_tensor_to_dlpack(f.cuda, &dlv_export_options { copy: DLV_COPY_ALWAYS, allow_negative_strides: false }, &mut o.mt)),
            case("to_dlpack_legacy: read-only view under NEVER", DLV_ERR_COPY_REQUIRED, &["read-only"],
                |f, o| dlv_tensor_to_dlpack_legacy(f.ro, &dlv_export_options { copy: DLV_COPY_NEVER, allow_negative_strides: false }, &mut o.lmt)),
            case("to_dlpack_legacy: NULL out", DLV_ERR_NULL_ARGUMENT, &["`out`"],
                |f, _| dlv_tensor_to_dlpack_legacy(f.t, std::ptr::null(), null_mut())),
        ]
    }
}

/// A per-process scratch directory for the file rows.
fn scratch_dir() -> &'static std::path::Path {
    static DIR: std::sync::OnceLock<std::path::PathBuf> = std::sync::OnceLock::new();
    DIR.get_or_init(|| {
        let d = std::env::temp_dir().join(format!("dlview-bad-input-{}", std::process::id()));
        std::fs::create_dir_all(&d).unwrap();
        d
    })
}

/// The C path of `name` in the scratch directory (the file need not exist).
fn path(name: &str) -> std::ffi::CString {
    std::ffi::CString::new(scratch_dir().join(name).to_str().unwrap()).unwrap()
}

/// Writes `bytes` to `name` in the scratch directory; returns its C path.
fn file(name: &str, bytes: &[u8]) -> std::ffi::CString {
    std::fs::write(scratch_dir().join(name), bytes).unwrap();
    path(name)
}

/// A `.npy` file: magic, `version`, header length, `dict` padded as NumPy
/// pads it, then `data`.
fn npy(dict: &str, version: u8, data: &[u8]) -> Vec<u8> {
    let len_bytes = if version == 1 { 2 } else { 4 };
    let mut h = dict.as_bytes().to_vec();
    let pad = 64 - (8 + len_bytes + h.len() + 1) % 64;
    h.extend(std::iter::repeat_n(b' ', pad));
    h.push(b'\n');
    let mut out = b"\x93NUMPY".to_vec();
    out.extend([version, 0]);
    out.extend(&(h.len() as u32).to_le_bytes()[..len_bytes]);
    out.extend(h);
    out.extend(data);
    out
}

/// A valid float64 (3,) file's header with this dict.
fn npy_f8(dict: &str) -> Vec<u8> {
    npy(dict, 1, &[0; 24])
}

const GOOD_DICT: &str = "{'descr': '<f8', 'fortran_order': False, 'shape': (3,), }";

/// Some rows make and free helper tensors after the failing call; they
/// re-record the failure's message so the check sees it.
fn keep_message(msg: &str) {
    // Making a failing call with a message we control is not possible, so
    // the row keeps the message it read right after the failure.
    SAVED.with(|s| *s.borrow_mut() = Some(msg.to_string()));
}

thread_local! {
    static SAVED: std::cell::RefCell<Option<String>> = const { std::cell::RefCell::new(None) };
}

/// Runs one row: the status, the message, untouched out-parameters, the
/// deleter and release counts, and no storage left behind.
fn check(c: &Case) -> Result<(), Failed> {
    let live = dlv_live_storage_count();
    let (deletes, releases) = (
        DELETES.load(Ordering::SeqCst),
        ROW_RELEASES.load(Ordering::SeqCst),
    );
    let fx = Fx::new();
    let mut outs = Outs::new();
    SAVED.with(|s| s.borrow_mut().take());
    let status = (c.call)(&fx, &mut outs);
    let msg = SAVED
        .with(|s| s.borrow_mut().take())
        .unwrap_or_else(last_error);
    drop(fx);
    let mut problems = Vec::new();
    if status != c.status {
        problems.push(format!("status {status:?}, expected {:?}", c.status));
    }
    for frag in c.says {
        if !msg.contains(frag) {
            problems.push(format!("message does not contain {frag:?}"));
        }
    }
    if !outs.untouched() {
        problems.push("an out-parameter was written".into());
    }
    let deleted = DELETES.load(Ordering::SeqCst) - deletes;
    if deleted != c.deletes {
        problems.push(format!(
            "deleter ran {deleted} times, expected {}",
            c.deletes
        ));
    }
    if ROW_RELEASES.load(Ordering::SeqCst) != releases {
        problems.push("a failed from_buffer ran its release callback".into());
    }
    if dlv_live_storage_count() != live {
        problems.push(format!(
            "storages leaked: {} -> {}",
            live,
            dlv_live_storage_count()
        ));
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(format!("{} (message: {msg:?})", problems.join("; ")).into())
    }
}

/// Each row of the catalogue is its own test, reported by its name (a
/// libtest-compatible harness: `cargo test --test bad_input -- 'npy_load'`
/// filters as usual). Rows run one at a time: they read process-wide
/// counters (live storages, deleter and release calls).
fn main() -> std::process::ExitCode {
    let mut args = Arguments::from_args();
    args.test_threads = Some(1);
    let cases = catalogue();
    let mut names = std::collections::HashSet::new();
    let duplicates: Vec<&str> = cases
        .iter()
        .map(|c| c.name)
        .filter(|n| !names.insert(*n))
        .collect();
    let count = cases.len();
    let mut trials = vec![Trial::test(
        "catalogue: at least 60 uniquely named rows",
        move || {
            if count < 60 {
                return Err(format!("the catalogue has {count} cases").into());
            }
            if !duplicates.is_empty() {
                return Err(format!("duplicate case names {duplicates:?}").into());
            }
            Ok(())
        },
    )];
    trials.extend(
        cases
            .into_iter()
            .map(|c| Trial::test(c.name, move || check(&c))),
    );
    let conclusion = libtest_mimic::run(&args, trials);
    let _ = std::fs::remove_dir_all(scratch_dir());
    conclusion.exit_code()
}
