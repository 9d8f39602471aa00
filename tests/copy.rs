//! Copies, casts, `copy_into` and `take`, checked element by element against
//! an oracle: a reference loop in this file that walks multi-indices itself
//! and computes each expected value independently of `src/copy/` (its own
//! cast rules, and its own nearest-value search for f16/bf16).

use dlview_core::copy::{CastOptions, scalar};
use dlview_core::dtype::{DType, Kind, code};
use dlview_core::storage::{Owner, Storage};
use dlview_core::{Device, Error, Order, Tensor};
use half::{bf16, f16};
use proptest::prelude::*;
use std::sync::{Arc, OnceLock};

// ---- test data ----------------------------------------------------------------

/// Every dtype with addressable elements except float8.
const TYPED: [DType; 15] = [
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
];

fn float8_types() -> Vec<DType> {
    (code::FLOAT8_E3M4..=code::FLOAT8_E8M0FNU)
        .map(|c| DType::new(c, 8, 1).unwrap())
        .collect()
}

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        // xorshift64*
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
}

/// Values that exercise rounding, overflow, NaN and truncation.
const SPECIAL: [f64; 24] = [
    0.0,
    -0.0,
    1.0,
    -1.0,
    2.5,
    -2.5,
    0.5,
    -0.7,
    f64::NAN,
    f64::INFINITY,
    f64::NEG_INFINITY,
    65504.0,
    65520.0,
    65519.99,
    1e10,
    -1e10,
    3e38,
    1e300,
    300.0,
    -129.0,
    1.0 + 1.0 / 2048.0 + 1e-12, // just above an f16 tie
    1.0 + 1.0 / 256.0,          // a bf16 tie
    5.960464477539063e-8,       // the smallest f16 subnormal
    4294967296.5,
];

fn random_f64(rng: &mut Rng) -> f64 {
    match rng.next() % 4 {
        0 => f64::from_bits(rng.next()),
        1 => SPECIAL[(rng.next() % SPECIAL.len() as u64) as usize],
        2 => (rng.next() % 4001) as f64 / 8.0 - 250.0,
        _ => (rng.next() as i64 >> (rng.next() % 60)) as f64,
    }
}

/// Fills every element of a compact tensor with varied values of its dtype.
fn fill(t: &mut Tensor, seed: u64) {
    let mut rng = Rng(seed | 1);
    let (n, dtype) = (t.size() as usize, t.dtype());
    let item = dtype.itemsize();
    let base = t.data_ptr_mut().unwrap();
    for i in 0..n {
        let bytes: Vec<u8> = match (dtype.kind(), dtype.bits()) {
            (Kind::Bool, _) => vec![[0u8, 1, 1, 0, 7][(rng.next() % 5) as usize]],
            (Kind::Float, 32) => (random_f64(&mut rng) as f32).to_le_bytes().to_vec(),
            (Kind::Float, 64) => random_f64(&mut rng).to_le_bytes().to_vec(),
            (Kind::Complex, 64) => [random_f64(&mut rng) as f32, random_f64(&mut rng) as f32]
                .iter()
                .flat_map(|x| x.to_le_bytes())
                .collect(),
            (Kind::Complex, _) => [random_f64(&mut rng), random_f64(&mut rng)]
                .iter()
                .flat_map(|x| x.to_le_bytes())
                .collect(),
            _ => rng.next().to_le_bytes()[..item].to_vec(),
        };
        // SAFETY: element i of a compact tensor of n elements.
        unsafe { std::ptr::copy_nonoverlapping(bytes.as_ptr(), base.add(i * item), item) };
    }
}

fn filled(dtype: DType, shape: &[i64], seed: u64) -> Tensor {
    let mut t = Tensor::empty(dtype, shape, Order::C).unwrap();
    fill(&mut t, seed);
    t
}

// ---- the oracle -----------------------------------------------------------------

/// An element's value, wide enough to hold any source exactly.
#[derive(Clone, Copy, Debug)]
enum V {
    B(bool),
    I(i128),
    F(f64),
    C(f64, f64),
}

fn bytes_at(t: &Tensor, index: &[i64]) -> Vec<u8> {
    let item = t.dtype().itemsize();
    let offset: i64 = index.iter().zip(t.strides()).map(|(i, s)| i * s).sum();
    // SAFETY: `index` is inside the shape, so the element is inside the view.
    unsafe {
        std::slice::from_raw_parts(t.data_ptr().offset(offset as isize * item as isize), item)
            .to_vec()
    }
}

fn read(dtype: DType, b: &[u8]) -> V {
    let f32_at = |i: usize| f64::from(f32::from_le_bytes(b[i..i + 4].try_into().unwrap()));
    let f64_at = |i: usize| f64::from_le_bytes(b[i..i + 8].try_into().unwrap());
    let u16_at = u16::from_le_bytes([b[0], b.get(1).copied().unwrap_or(0)]);
    match (dtype.kind(), dtype.bits()) {
        (Kind::Bool, _) => V::B(b[0] != 0),
        (Kind::Int, bits) => {
            let mut wide = [if b[b.len() - 1] & 0x80 != 0 { 0xff } else { 0 }; 16];
            wide[..b.len()].copy_from_slice(b);
            let _ = bits;
            V::I(i128::from_le_bytes(wide))
        }
        (Kind::UInt, _) => {
            let mut wide = [0u8; 16];
            wide[..b.len()].copy_from_slice(b);
            V::I(i128::from_le_bytes(wide))
        }
        (Kind::Float, 16) => V::F(f16::from_bits(u16_at).to_f64()),
        (Kind::Float, 32) => V::F(f32_at(0)),
        (Kind::Float, _) => V::F(f64_at(0)),
        (Kind::BFloat, _) => V::F(bf16::from_bits(u16_at).to_f64()),
        (Kind::Complex, 64) => V::C(f32_at(0), f32_at(4)),
        (Kind::Complex, _) => V::C(f64_at(0), f64_at(8)),
        (Kind::Float8, _) => V::F(scalar_read(dtype, b)),
        (Kind::SubByte, _) => unreachable!(),
    }
}

fn scalar_read(dtype: DType, b: &[u8]) -> f64 {
    // SAFETY: one element of `dtype`.
    unsafe { scalar::read_f64(b.as_ptr(), dtype).unwrap() }
}

/// Finite non-negative values of a 16-bit float format, sorted, with bits.
fn table(bf: bool) -> &'static [(f64, u16)] {
    static F16: OnceLock<Vec<(f64, u16)>> = OnceLock::new();
    static BF16: OnceLock<Vec<(f64, u16)>> = OnceLock::new();
    let build =
        |top: u16, decode: fn(u16) -> f64| (0..top).map(|b| (decode(b), b)).collect::<Vec<_>>();
    if bf {
        BF16.get_or_init(|| build(0x7f80, |b| bf16::from_bits(b).to_f64()))
    } else {
        F16.get_or_init(|| build(0x7c00, |b| f16::from_bits(b).to_f64()))
    }
}

/// The nearest value of a 16-bit float format, ties to the even bit
/// pattern, beyond the largest finite value by half an ulp: infinity.
fn nearest16(x: f64, bf: bool) -> u16 {
    let (inf, nan) = if bf {
        (0x7f80, 0x7fc0)
    } else {
        (0x7c00, 0x7e00)
    };
    if x.is_nan() {
        return nan;
    }
    let sign = if x.is_sign_negative() { 0x8000 } else { 0 };
    let a = x.abs();
    let t = table(bf);
    let (max, prev) = (t[t.len() - 1], t[t.len() - 2]);
    let bits = if a >= max.0 + (max.0 - prev.0) / 2.0 {
        inf
    } else if a >= max.0 {
        max.1
    } else {
        let hi = t.partition_point(|&(v, _)| v < a);
        let (lo_v, hi_v) = (t[hi.saturating_sub(1)], t[hi]);
        if hi_v.0 == a || hi == 0 {
            hi_v.1
        } else {
            let (dl, dh) = (a - lo_v.0, hi_v.0 - a);
            if dl < dh || (dl == dh && lo_v.1 % 2 == 0) {
                lo_v.1
            } else {
                hi_v.1
            }
        }
    };
    bits | sign
}

fn to_int(v: V, bits: u32, signed: bool) -> i128 {
    let (lo, hi) = if signed {
        (-(1i128 << (bits - 1)), (1i128 << (bits - 1)) - 1)
    } else {
        (0, (1i128 << bits) - 1)
    };
    let from_float = |x: f64| {
        if x.is_nan() {
            0
        } else if x.trunc() <= lo as f64 {
            lo
        } else if x.trunc() >= hi as f64 {
            hi
        } else {
            x.trunc() as i128
        }
    };
    match v {
        V::B(b) => i128::from(b),
        // Two's complement truncation: the low `bits` bits.
        V::I(i) => i,
        V::F(x) | V::C(x, _) => from_float(x),
    }
}

/// The bytes NumPy's unsafe cast (with this library's documented choices)
/// gives for `v` in `dtype`.
fn expected(dtype: DType, v: V) -> Vec<u8> {
    let real = |v: V| match v {
        V::B(b) => f64::from(u8::from(b)),
        V::I(i) => i as f64,
        V::F(x) | V::C(x, _) => x,
    };
    let imag = |v: V| if let V::C(_, y) = v { y } else { 0.0 };
    let item = dtype.itemsize();
    match (dtype.kind(), dtype.bits()) {
        (Kind::Bool, _) => vec![u8::from(match v {
            V::B(b) => b,
            V::I(i) => i != 0,
            V::F(x) => x != 0.0,
            V::C(x, y) => x != 0.0 || y != 0.0,
        })],
        (Kind::Int, bits) => to_int(v, bits.into(), true).to_le_bytes()[..item].to_vec(),
        (Kind::UInt, bits) => to_int(v, bits.into(), false).to_le_bytes()[..item].to_vec(),
        (Kind::Float, 16) => nearest16(real(v), false).to_le_bytes().to_vec(),
        (Kind::BFloat, _) => nearest16(real(v), true).to_le_bytes().to_vec(),
        (Kind::Float, 32) => {
            let x = if let V::I(i) = v {
                i as f32
            } else {
                real(v) as f32
            };
            x.to_le_bytes().to_vec()
        }
        (Kind::Float, _) => real(v).to_le_bytes().to_vec(),
        (Kind::Complex, 64) => {
            let re = if let V::I(i) = v {
                i as f32
            } else {
                real(v) as f32
            };
            [re, imag(v) as f32]
                .iter()
                .flat_map(|x| x.to_le_bytes())
                .collect()
        }
        (Kind::Complex, _) => [real(v), imag(v)]
            .iter()
            .flat_map(|x| x.to_le_bytes())
            .collect(),
        (Kind::Float8, _) => {
            // float8 casts are defined as going through f64 with the
            // library's codec (its own tests pin the codec down).
            let mut out = [0u8];
            // SAFETY: one writable byte.
            unsafe { scalar::write_f64(out.as_mut_ptr(), dtype, real(v)).unwrap() };
            out.to_vec()
        }
        (Kind::SubByte, _) => unreachable!(),
    }
}

/// Equal bytes, or both NaN (payloads may legitimately differ).
fn same_element(dtype: DType, got: &[u8], want: &[u8]) -> bool {
    if got == want {
        return true;
    }
    let nan = |b: &[u8]| match read(dtype, b) {
        V::F(x) => x.is_nan(),
        V::C(x, y) => x.is_nan() || y.is_nan(),
        _ => false,
    };
    match dtype.kind() {
        Kind::Complex => {
            let h = got.len() / 2;
            let half_dtype = if dtype.bits() == 64 {
                DType::F32
            } else {
                DType::F64
            };
            same_element(half_dtype, &got[..h], &want[..h])
                && same_element(half_dtype, &got[h..], &want[h..])
        }
        _ => nan(got) && nan(want),
    }
}

fn indices(shape: &[i64]) -> Vec<Vec<i64>> {
    let mut all = vec![vec![]];
    for &n in shape {
        all = all
            .into_iter()
            .flat_map(|p| (0..n).map(move |i| [p.clone(), vec![i]].concat()))
            .collect();
    }
    all
}

/// Checks `out[i] == cast(src[i])` for every multi-index.
fn check_elements(out: &Tensor, src: &Tensor, what: &str) {
    assert_eq!(out.shape(), src.shape(), "{what}");
    for index in indices(src.shape()) {
        let want = if out.dtype() == src.dtype() {
            bytes_at(src, &index)
        } else {
            expected(out.dtype(), read(src.dtype(), &bytes_at(src, &index)))
        };
        let got = bytes_at(out, &index);
        assert!(
            same_element(out.dtype(), &got, &want),
            "{what}: {} -> {} at {index:?}: source {:?} gave {got:?}, expected {want:?}",
            src.dtype(),
            out.dtype(),
            read(src.dtype(), &bytes_at(src, &index))
        );
    }
}

/// The strides a copy in `order` must have, computed independently.
fn expected_strides(src: &Tensor, order: Order) -> Vec<i64> {
    let nd = src.ndim();
    let mut axes: Vec<usize> = (0..nd).collect();
    match order {
        Order::C => {}
        Order::F => axes.reverse(),
        Order::K => axes.sort_by_key(|&a| std::cmp::Reverse(src.strides()[a].abs())),
    }
    let mut strides = vec![0; nd];
    let mut step = 1;
    for &a in axes.iter().rev() {
        strides[a] = step;
        step *= src.shape()[a].max(1);
    }
    strides
}

fn check_copy(src: &Tensor, dtype: DType, order: Order, what: &str) {
    let out = src
        .astype(dtype, order)
        .unwrap_or_else(|e| panic!("{what}: {} -> {dtype}: {e}", src.dtype()));
    assert_eq!(out.dtype(), dtype);
    assert!(
        out.is_writeable() && out.base().is_none(),
        "{what}: a copy is a new writeable root"
    );
    if src.size() > 0 {
        assert_eq!(
            out.strides(),
            expected_strides(src, order),
            "{what} {order:?}"
        );
    }
    check_elements(&out, src, &format!("{what} {order:?}"));
}

/// Views of a filled buffer covering every plan shape: packed, permuted,
/// reversed and strided, a tiled transpose with partial tiles, broadcast,
/// 0-d, empty.
fn views(dtype: DType, seed: u64) -> Vec<(&'static str, Tensor)> {
    let a = filled(dtype, &[6, 7, 5], seed);
    let big = filled(dtype, &[45, 130], seed + 1);
    vec![
        ("contiguous", a.clone()),
        ("permuted (2, 0, 1)", a.permute(&[2, 0, 1]).unwrap()),
        (
            "flipped and stepped",
            a.flip(1).unwrap().slice(2, None, None, 2).unwrap(),
        ),
        (
            "reversed",
            a.flip(0).unwrap().flip(1).unwrap().flip(2).unwrap(),
        ),
        ("transposed 45x130", big.transpose().unwrap()),
        (
            "transposed, flipped",
            big.transpose().unwrap().flip(1).unwrap(),
        ),
        (
            "broadcast",
            a.slice(0, Some(0), Some(1), 1)
                .unwrap()
                .slice(2, None, Some(1), 1)
                .unwrap()
                .broadcast_to(&[6, 7, 5])
                .unwrap(),
        ),
        (
            "0-d",
            a.select(0, 2)
                .unwrap()
                .select(0, 3)
                .unwrap()
                .select(0, 4)
                .unwrap(),
        ),
        ("empty", a.slice(1, Some(3), Some(3), 1).unwrap()),
    ]
}

// ---- copy and astype --------------------------------------------------------

#[test]
fn every_dtype_pair_in_every_order_matches_the_oracle() {
    let opts = CastOptions {
        discard_imaginary: true,
    };
    for (i, &from) in TYPED.iter().enumerate() {
        for (name, src) in views(from, 1000 + i as u64) {
            for &to in &TYPED {
                for order in [Order::C, Order::F, Order::K] {
                    let out = src.astype_with(to, order, opts).unwrap();
                    if src.size() > 0 {
                        assert_eq!(
                            out.strides(),
                            expected_strides(&src, order),
                            "{name} {from}->{to} {order:?}"
                        );
                    }
                    check_elements(&out, &src, &format!("{name} {order:?}"));
                }
            }
        }
    }
}

#[test]
fn plain_copies_in_every_order() {
    for (i, &dtype) in TYPED.iter().chain(&float8_types()).enumerate() {
        for (name, src) in views(dtype, 77 + i as u64) {
            for order in [Order::C, Order::F, Order::K] {
                let out = src.copy(order).unwrap();
                assert_eq!(out.dtype(), dtype);
                check_copy(&src, dtype, order, name);
            }
        }
    }
}

#[test]
fn tiled_permutations_with_full_and_partial_tiles() {
    for dtype in [DType::U8, DType::I16, DType::F32, DType::F64, DType::C128] {
        let a = filled(dtype, &[3, 70, 140], 17);
        for axes in [[0, 2, 1], [2, 1, 0], [1, 2, 0]] {
            let v = a.permute(&axes).unwrap();
            for order in [Order::C, Order::F] {
                check_copy(&v, dtype, order, "tiled permutation");
                let to = if dtype == DType::C128 {
                    DType::C64
                } else {
                    DType::F16
                };
                check_copy(&v.flip(1).unwrap(), to, order, "tiled, flipped, cast");
            }
        }
    }
}

#[test]
fn float8_casts_go_through_f64() {
    let others = [
        DType::F32,
        DType::F64,
        DType::F16,
        DType::BF16,
        DType::I32,
        DType::U8,
        DType::BOOL,
        DType::C128,
    ];
    for (i, f8) in float8_types().into_iter().enumerate() {
        let src8 = filled(f8, &[9, 11], 5 + i as u64);
        for &other in &others {
            let src = filled(other, &[9, 11], 50 + i as u64);
            if other.kind() != Kind::Complex {
                check_copy(&src.transpose().unwrap(), f8, Order::C, "to float8");
            }
            check_copy(&src8.flip(1).unwrap(), other, Order::K, "from float8");
        }
        for other8 in float8_types() {
            check_copy(&src8, other8, Order::F, "float8 to float8");
        }
    }
    let c = filled(DType::C128, &[4], 3);
    assert!(matches!(
        c.astype(DType::F8_E4M3FN, Order::C).unwrap_err(),
        Error::UnsupportedDtype(_)
    ));
    let out = c
        .astype_with(
            DType::F8_E5M2,
            Order::C,
            CastOptions {
                discard_imaginary: true,
            },
        )
        .unwrap();
    check_elements(&out, &c, "complex to float8, real part");
}

#[test]
fn complex_to_real_is_refused_unless_asked() {
    let c = filled(DType::C64, &[3, 4], 9);
    for to in [
        DType::F32,
        DType::F64,
        DType::I8,
        DType::F16,
        DType::BF16,
        DType::U64,
    ] {
        let err = c.astype(to, Order::C).unwrap_err();
        assert!(matches!(err, Error::UnsupportedDtype(_)), "{to}: {err}");
        assert!(err.to_string().contains("imaginary part"), "{err}");
        let mut dst = Tensor::zeros(to, &[3, 4], Order::C).unwrap();
        assert!(matches!(
            c.copy_into(&mut dst).unwrap_err(),
            Error::UnsupportedDtype(_)
        ));
    }
    // Complex to complex and to bool keep both parts, so they are allowed.
    check_copy(&c, DType::C128, Order::C, "c64 -> c128");
    check_copy(&c, DType::BOOL, Order::C, "c64 -> bool");
    let opts = CastOptions {
        discard_imaginary: true,
    };
    let out = c.astype_with(DType::F64, Order::C, opts).unwrap();
    check_elements(&out, &c, "discarding the imaginary part");
}

#[test]
fn known_cast_values() {
    let mut src = Tensor::zeros(DType::F64, &[8], Order::C).unwrap();
    let values = [2.7, -2.7, f64::NAN, 1e20, -1e20, 0.5, -0.0, 255.9];
    for (i, &v) in values.iter().enumerate() {
        src.set_f64(&[i as i64], v).unwrap();
    }
    let i32s = src.astype(DType::I32, Order::C).unwrap();
    let got: Vec<f64> = (0..8).map(|i| i32s.get_f64(&[i]).unwrap()).collect();
    assert_eq!(
        got,
        [
            2.0,
            -2.0,
            0.0,
            i32::MAX as f64,
            i32::MIN as f64,
            0.0,
            0.0,
            255.0
        ]
    );
    let u8s = src.astype(DType::U8, Order::C).unwrap();
    let got: Vec<f64> = (0..8).map(|i| u8s.get_f64(&[i]).unwrap()).collect();
    assert_eq!(got, [2.0, 0.0, 0.0, 255.0, 0.0, 0.0, 0.0, 255.0]);
    let bools = src.astype(DType::BOOL, Order::C).unwrap();
    let got: Vec<f64> = (0..8).map(|i| bools.get_f64(&[i]).unwrap()).collect();
    assert_eq!(
        got,
        [1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 0.0, 1.0],
        "NaN is true, -0.0 is false"
    );
}

#[test]
fn integer_casts_are_exact_and_wrap() {
    let wide = Tensor::zeros(DType::I64, &[3], Order::C).unwrap();
    let big = (1i64 << 53) + 1;
    for (i, v) in [big, -1, i64::MAX].iter().enumerate() {
        // SAFETY: element i of a fresh compact int64 tensor.
        unsafe { wide.data_ptr().cast_mut().cast::<i64>().add(i).write(*v) };
    }
    let as_u64 = wide.astype(DType::U64, Order::C).unwrap();
    // SAFETY: three compact uint64 elements.
    let got = unsafe { std::slice::from_raw_parts(as_u64.data_ptr().cast::<u64>(), 3) };
    assert_eq!(
        got,
        [big as u64, u64::MAX, i64::MAX as u64],
        "never through f64"
    );
    let bytes = Tensor::zeros(DType::U8, &[1], Order::C).unwrap();
    // SAFETY: one uint8 element.
    unsafe { bytes.data_ptr().cast_mut().write(200) };
    assert_eq!(
        bytes
            .astype(DType::I8, Order::C)
            .unwrap()
            .get_f64(&[0])
            .unwrap(),
        -56.0,
        "wraps like C"
    );
    // 2^24 + 1 rounds once, to even (2^24), on the way to float32.
    let odd = Tensor::zeros(DType::I32, &[1], Order::C).unwrap();
    // SAFETY: one int32 element.
    unsafe { odd.data_ptr().cast_mut().cast::<i32>().write((1 << 24) + 1) };
    assert_eq!(
        odd.astype(DType::F32, Order::C)
            .unwrap()
            .get_f64(&[0])
            .unwrap(),
        16777216.0
    );
}

#[test]
fn f16_and_bf16_round_trip_large_arrays() {
    // Long enough for the vectorised slice paths and their remainders.
    for n in [1, 7, 8, 9, 1000, 4099] {
        let src = filled(DType::F32, &[n], n as u64);
        for to in [DType::F16, DType::BF16] {
            check_copy(&src, to, Order::C, "f32 -> half");
            check_copy(&src.flip(0).unwrap(), to, Order::C, "reversed f32 -> half");
            let h = filled(to, &[n], 3 + n as u64);
            check_copy(&h, DType::F32, Order::C, "half -> f32");
            check_copy(&h, DType::F64, Order::C, "half -> f64");
        }
        let d = filled(DType::F64, &[n], 11 + n as u64);
        check_copy(&d, DType::F16, Order::C, "f64 -> f16");
        check_copy(&d, DType::BF16, Order::C, "f64 -> bf16");
    }
}

#[test]
fn unaligned_views_are_copied_correctly() {
    // A u8 buffer viewed as f32 one byte in: no element is aligned.
    let bytes = filled(DType::U8, &[4 * 64 + 1], 21);
    let storage = Arc::clone(bytes.storage());
    let data = bytes.data_ptr().wrapping_add(1).cast_mut();
    let layout = dlview_core::Layout::new(&[8, 8], &[8, 1]).unwrap();
    let f = Tensor::from_storage(storage, data, layout, DType::F32, true).unwrap();
    assert_eq!(f.flags() & dlview_core::tensor::flags::ALIGNED, 0);
    for order in [Order::C, Order::F] {
        check_copy(&f, DType::F32, order, "unaligned");
        check_copy(&f, DType::F16, order, "unaligned cast");
        check_copy(
            &f.flip(1).unwrap(),
            DType::BF16,
            order,
            "unaligned reversed cast",
        );
    }
}

#[test]
fn empty_and_zero_d() {
    for shape in [&[0][..], &[3, 0], &[0, 4, 5], &[]] {
        let src = filled(DType::F32, shape, 1);
        for order in [Order::C, Order::F, Order::K] {
            let out = src.astype(DType::I16, order).unwrap();
            assert_eq!(out.shape(), shape);
            check_elements(&out, &src, "empty or 0-d");
        }
        let mut dst = Tensor::zeros(DType::F64, shape, Order::C).unwrap();
        src.copy_into(&mut dst).unwrap();
        check_elements(&dst, &src, "copy_into empty or 0-d");
    }
}

#[test]
fn non_host_memory_is_refused() {
    // SAFETY: the pointer is never dereferenced (the device is not the host)
    // and nothing needs releasing.
    let storage = unsafe {
        Storage::from_foreign(
            0x1000 as *mut u8,
            None,
            Device::new(dlview_core::device::kind::CUDA, 0),
            false,
            false,
            Owner::Callback {
                release: None,
                ctx: std::ptr::null_mut(),
            },
        )
    };
    let layout = dlview_core::Layout::compact(&[4], Order::C).unwrap();
    // SAFETY: as above (device memory, never dereferenced here).
    let mut gpu = unsafe {
        Tensor::from_storage_unchecked(
            Arc::new(storage),
            0x1000 as *mut u8,
            layout,
            DType::F32,
            true,
        )
    }
    .unwrap();
    let cpu = filled(DType::F32, &[4], 1);
    let device =
        |r: Result<(), Error>| assert!(matches!(r, Err(Error::UnsupportedDevice(_))), "{r:?}");
    device(gpu.copy(Order::C).map(drop));
    device(gpu.astype(DType::F16, Order::C).map(drop));
    device(gpu.take(0, &[1]).map(drop));
    // Foreign memory is not dlview's alone: the safe write refuses first.
    assert_eq!(
        cpu.copy_into(&mut gpu).unwrap_err(),
        Error::InvalidArgument(
            "cannot write through a shared tensor: its memory is not dlview's alone (a shared file \
             mapping, a DLPack producer's tensor or caller memory); use the unsafe \
             `Tensor::copy_into_shared`"
                .into()
        )
    );
    // SAFETY: single-threaded; and nothing is written (the device is refused).
    device(unsafe { cpu.copy_into_shared(&gpu) });
    let mut host = Tensor::zeros(DType::F32, &[4], Order::C).unwrap();
    device(gpu.copy_into(&mut host));
}

// ---- copy_into ----------------------------------------------------------------

#[test]
fn copy_into_broadcasts_and_casts() {
    let src = filled(DType::I16, &[7, 1], 4);
    let mut dst = Tensor::zeros(DType::F64, &[2, 7, 5], Order::F).unwrap();
    src.copy_into(&mut dst).unwrap();
    check_elements(&dst, &src.broadcast_to(&[2, 7, 5]).unwrap(), "broadcast");
    // Leading size-1 axes of the source beyond the destination's rank are dropped.
    let row = filled(DType::F32, &[1, 1, 5], 6);
    let mut flat = Tensor::zeros(DType::F32, &[3, 5], Order::C).unwrap();
    row.copy_into(&mut flat).unwrap();
    check_elements(
        &flat,
        &row.reshape(&[5], dlview_core::CopyMode::Never)
            .unwrap()
            .broadcast_to(&[3, 5])
            .unwrap(),
        "dropped axes",
    );
    // Scalars fill.
    let scalar = filled(DType::U8, &[], 8);
    let mut view = Tensor::zeros(DType::I64, &[4, 6], Order::C)
        .unwrap()
        .transpose()
        .unwrap()
        .flip(0)
        .unwrap();
    scalar.copy_into(&mut view).unwrap();
    check_elements(&view, &scalar.broadcast_to(&[6, 4]).unwrap(), "scalar fill");
    // Into a strided, reversed, transposed destination view.
    let src = filled(DType::F32, &[40, 50], 10);
    let mut dst = Tensor::zeros(DType::F32, &[100, 40], Order::C)
        .unwrap()
        .slice(0, None, None, -2)
        .unwrap()
        .transpose()
        .unwrap();
    src.copy_into(&mut dst).unwrap();
    check_elements(&dst, &src, "into a strided view");
    let err = filled(DType::F32, &[2, 3], 1)
        .copy_into(&mut Tensor::zeros(DType::F32, &[3], Order::C).unwrap())
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "could not broadcast input array from shape (2, 3) into shape (3,)"
    );
    assert!(matches!(err, Error::InvalidArgument(_)));
}

#[test]
fn read_only_destination_is_refused_and_untouched() {
    let src = filled(DType::F32, &[3, 4], 1);
    let mut dst = Tensor::zeros(DType::F32, &[3, 4], Order::C).unwrap();
    dst.set_writeable(false).unwrap();
    let err = src.copy_into(&mut dst).unwrap_err();
    assert!(matches!(err, Error::ReadOnly(_)));
    assert_eq!(err.to_string(), "assignment destination is read-only");
    assert!(
        (0..3).all(|i| (0..4).all(|j| dst.get_f64(&[i, j]).unwrap() == 0.0)),
        "nothing written"
    );
    // A broadcast view is read-only too.
    let mut b = Tensor::zeros(DType::F32, &[4], Order::C)
        .unwrap()
        .broadcast_to(&[3, 4])
        .unwrap();
    assert!(matches!(
        src.copy_into(&mut b).unwrap_err(),
        Error::ReadOnly(_)
    ));
}

/// `dst[...] = src` computed the slow, obviously right way: read all of
/// `src` first, then write.
fn assign_reference(dst: &Tensor, src: &Tensor) -> Vec<(Vec<i64>, Vec<u8>)> {
    let src = src.broadcast_to(dst.shape()).unwrap();
    indices(dst.shape())
        .into_iter()
        .map(|i| {
            let v = bytes_at(&src, &i);
            let v = if src.dtype() == dst.dtype() {
                v
            } else {
                expected(dst.dtype(), read(src.dtype(), &v))
            };
            (i, v)
        })
        .collect()
}

fn check_assign(dst: Tensor, src: Tensor, what: &str) {
    let want = assign_reference(&dst, &src);
    // `src` shares `dst`'s memory (the point of these cases), so only the
    // unsafe write goes through.
    // SAFETY: single-threaded: nothing else reads or writes it meanwhile.
    unsafe { src.copy_into_shared(&dst) }.unwrap();
    for (i, v) in want {
        assert!(
            same_element(dst.dtype(), &bytes_at(&dst, &i), &v),
            "{what} at {i:?}"
        );
    }
}

#[test]
fn overlapping_assignments_read_the_source_first() {
    for dtype in [DType::U8, DType::F32, DType::C128] {
        let a = filled(dtype, &[50], 3);
        check_assign(
            a.slice(0, Some(1), None, 1).unwrap(),
            a.slice(0, None, Some(-1), 1).unwrap(),
            "a[1:] = a[:-1]",
        );
        let a = filled(dtype, &[50], 4);
        check_assign(
            a.slice(0, None, Some(-1), 1).unwrap(),
            a.slice(0, Some(1), None, 1).unwrap(),
            "a[:-1] = a[1:]",
        );
        let a = filled(dtype, &[50], 5);
        check_assign(a.clone(), a.flip(0).unwrap(), "a[...] = a[::-1]");
        let a = filled(dtype, &[50], 6);
        check_assign(
            a.flip(0).unwrap().slice(0, Some(2), None, 1).unwrap(),
            a.slice(0, Some(2), None, 1).unwrap().flip(0).unwrap(),
            "both reversed",
        );
        let a = filled(dtype, &[50], 7);
        check_assign(a.clone(), a.clone(), "a[...] = a");
        let m = filled(dtype, &[9, 9], 8);
        check_assign(m.clone(), m.transpose().unwrap(), "m[...] = m.T");
        let m = filled(dtype, &[9, 9], 9);
        check_assign(
            m.slice(1, Some(1), None, 1).unwrap(),
            m.slice(1, None, Some(-1), 1).unwrap(),
            "m[:, 1:] = m[:, :-1]",
        );
        let m = filled(dtype, &[9, 9], 10);
        check_assign(
            m.slice(0, Some(1), None, 1).unwrap(),
            m.slice(0, None, Some(-1), 1).unwrap(),
            "m[1:] = m[:-1]",
        );
        let m = filled(dtype, &[9, 9], 11);
        check_assign(
            m.clone(),
            m.slice(0, Some(4), Some(5), 1).unwrap(),
            "m[...] = m[4:5] (broadcast row)",
        );
    }
    // The same bytes seen as two dtypes: a cast whose source is overwritten.
    let a = filled(DType::I32, &[64], 12);
    let storage = Arc::clone(a.storage());
    let layout = dlview_core::Layout::compact(&[64], Order::C).unwrap();
    let f =
        Tensor::from_storage(storage, a.data_ptr().cast_mut(), layout, DType::F32, true).unwrap();
    check_assign(
        f.clone(),
        a.clone(),
        "f32 view = i32 view of the same bytes",
    );
    check_assign(a.flip(0).unwrap(), f.clone(), "i32 reversed = f32 view");
}

// ---- take --------------------------------------------------------------------

fn take_reference(src: &Tensor, axis: usize, idx: &[i64]) -> Vec<(Vec<i64>, Vec<u8>)> {
    let mut shape = src.shape().to_vec();
    shape[axis] = idx.len() as i64;
    indices(&shape)
        .into_iter()
        .map(|i| {
            let mut j = i.clone();
            let k = idx[i[axis] as usize];
            j[axis] = if k < 0 { k + src.shape()[axis] } else { k };
            (i, bytes_at(src, &j))
        })
        .collect()
}

#[test]
fn take_gathers_along_any_axis() {
    for dtype in [DType::BOOL, DType::I16, DType::F32, DType::F64, DType::C128] {
        let a = filled(dtype, &[5, 6, 7], 31);
        let views = [
            a.clone(),
            a.permute(&[2, 0, 1]).unwrap(),
            a.flip(1).unwrap().slice(2, None, None, 3).unwrap(),
        ];
        for v in &views {
            for axis in 0..3 {
                let n = v.shape()[axis];
                let idx = [n - 1, 0, -1, 1, -n, 1];
                let out = v.take(axis as i64, &idx).unwrap();
                assert!(out.layout().is_c_contiguous() && out.is_writeable());
                for (i, want) in take_reference(v, axis, &idx) {
                    assert_eq!(bytes_at(&out, &i), want, "{dtype} axis {axis} at {i:?}");
                }
                let out = v.take(axis as i64 - 3, &[]).unwrap();
                assert_eq!(out.shape()[axis], 0);
            }
        }
    }
    let v = filled(DType::F32, &[5], 1);
    let out = v.take(0, &[4, 4, 0]).unwrap();
    assert_eq!(out.shape(), &[3]);
    assert_eq!(bytes_at(&out, &[0]), bytes_at(&v, &[4]));
}

#[test]
fn take_checks_every_index() {
    let v = filled(DType::F32, &[5, 3], 1);
    let err = v.take(0, &[0, 7]).unwrap_err();
    assert_eq!(
        err,
        Error::Index {
            index: 7,
            axis: 0,
            size: 5
        }
    );
    assert_eq!(
        err.to_string(),
        "index 7 is out of bounds for axis 0 with size 5"
    );
    assert_eq!(
        v.take(-1, &[-4]).unwrap_err().to_string(),
        "index -4 is out of bounds for axis 1 with size 3"
    );
    assert!(matches!(
        v.take(2, &[0]).unwrap_err(),
        Error::InvalidArgument(_)
    ));
    let empty = filled(DType::F32, &[0, 3], 1);
    assert!(matches!(
        empty.take(0, &[0]).unwrap_err(),
        Error::Index { .. }
    ));
    assert_eq!(empty.take(1, &[2, 0]).unwrap().shape(), &[0, 2]);
    let scalar = filled(DType::F32, &[], 1);
    assert!(matches!(
        scalar.take(0, &[0]).unwrap_err(),
        Error::InvalidArgument(_)
    ));
}

// ---- property test: random views ------------------------------------------------

#[derive(Clone, Debug)]
enum ViewOp {
    Slice {
        axis: usize,
        start: i64,
        stop: i64,
        step: i64,
    },
    Flip(usize),
    Permute(Vec<usize>),
    Select {
        axis: usize,
        index: i64,
    },
}

fn apply(t: &Tensor, op: &ViewOp) -> Tensor {
    let nd = t.ndim();
    if nd == 0 {
        return t.clone();
    }
    match *op {
        ViewOp::Slice {
            axis,
            start,
            stop,
            step,
        } => t
            .slice((axis % nd) as i64, Some(start), Some(stop), step)
            .unwrap(),
        ViewOp::Flip(axis) => t.flip((axis % nd) as i64).unwrap(),
        ViewOp::Permute(ref keys) => {
            let mut axes: Vec<usize> = (0..nd).collect();
            axes.sort_by_key(|&a| keys.get(a).copied().unwrap_or(a));
            t.permute(&axes.iter().map(|&a| a as i64).collect::<Vec<_>>())
                .unwrap()
        }
        ViewOp::Select { axis, index } => {
            let axis = axis % nd;
            let n = t.shape()[axis];
            if n == 0 {
                t.clone()
            } else {
                t.select(axis as i64, index.rem_euclid(n)).unwrap()
            }
        }
    }
}

fn view_op() -> impl Strategy<Value = ViewOp> {
    prop_oneof![
        (
            0..4usize,
            -8..8i64,
            -8..8i64,
            prop_oneof![-3..0i64, 1..4i64]
        )
            .prop_map(|(axis, start, stop, step)| ViewOp::Slice {
                axis,
                start,
                stop,
                step
            }),
        (0..4usize).prop_map(ViewOp::Flip),
        prop::collection::vec(0..8usize, 4).prop_map(ViewOp::Permute),
        (0..4usize, 0..8i64).prop_map(|(axis, index)| ViewOp::Select { axis, index }),
    ]
}

fn dtype_strategy() -> impl Strategy<Value = DType> {
    (0..TYPED.len()).prop_map(|i| TYPED[i])
}

fn order_strategy() -> impl Strategy<Value = Order> {
    prop_oneof![Just(Order::C), Just(Order::F), Just(Order::K)]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn copy_of_random_views_matches_the_reference(
        shape in prop::collection::vec(0..9i64, 0..5),
        ops in prop::collection::vec(view_op(), 0..6),
        from in dtype_strategy(),
        to in dtype_strategy(),
        order in order_strategy(),
        seed in any::<u64>(),
    ) {
        let base = filled(from, &shape, seed);
        let view = ops.iter().fold(base, |t, op| apply(&t, op));
        let plain = view.copy(order).unwrap();
        prop_assert_eq!(plain.strides(), &expected_strides(&view, order)[..]);
        check_elements(&plain, &view, "copy");
        let opts = CastOptions { discard_imaginary: true };
        let cast = view.astype_with(to, order, opts).unwrap();
        check_elements(&cast, &view, "astype");
    }

    #[test]
    fn copy_into_random_views_matches_the_reference(
        shape in prop::collection::vec(1..7i64, 1..5),
        src_ops in prop::collection::vec(view_op(), 0..5),
        dst_keys in prop::collection::vec(0..8usize, 4),
        dst_flips in prop::collection::vec(any::<bool>(), 4),
        from in dtype_strategy(),
        to in dtype_strategy(),
        seed in any::<u64>(),
    ) {
        let src = src_ops.iter().fold(filled(from, &shape, seed), |t, op| apply(&t, op));
        // The destination: a fresh buffer allocated with its axes in a random
        // order, viewed back in the source's order, with random flips.
        let nd = src.ndim();
        let mut perm: Vec<usize> = (0..nd).collect();
        perm.sort_by_key(|&a| dst_keys[a]);
        let buf = Tensor::zeros(to, &perm.iter().map(|&a| src.shape()[a]).collect::<Vec<_>>(), Order::C).unwrap();
        let mut inverse = vec![0i64; nd];
        for (k, &a) in perm.iter().enumerate() {
            inverse[a] = k as i64;
        }
        let mut dst = buf.permute(&inverse).unwrap();
        for a in (0..nd).filter(|&a| dst_flips[a]) {
            dst = dst.flip(a as i64).unwrap();
        }
        prop_assert_eq!(dst.shape(), src.shape());
        // The view alone holds the buffer now: it is exclusive.
        drop(buf);
        let want = assign_reference(&dst, &src);
        src.copy_into_with(&mut dst, CastOptions { discard_imaginary: true }).unwrap();
        for (i, v) in want {
            prop_assert!(same_element(to, &bytes_at(&dst, &i), &v), "{} -> {} at {:?}", from, to, i);
        }
    }
}

// ---- the C ABI: statuses, messages, untouched out-parameters ---------------------

mod c_abi {
    use super::*;
    use dlview::*;
    use std::ffi::CStr;
    use std::ptr::null_mut;

    fn last_error() -> String {
        // SAFETY: never NULL, valid until the next failing call on this thread.
        unsafe { CStr::from_ptr(dlv_last_error()) }
            .to_string_lossy()
            .into_owned()
    }

    unsafe fn zeros(dtype: DType, shape: &[i64]) -> *mut dlv_tensor {
        let mut t = null_mut();
        // SAFETY: valid shape array and out-pointer.
        assert_eq!(
            unsafe {
                dlv_tensor_zeros(
                    dtype.to_dl(),
                    shape.len() as i32,
                    shape.as_ptr(),
                    DLV_ORDER_C,
                    &mut t,
                )
            },
            dlv_status::DLV_OK
        );
        t
    }

    #[test]
    fn take_statuses() {
        // SAFETY: every handle comes from this library and is freed once.
        unsafe {
            let t = zeros(DType::F32, &[5, 3]);
            let sentinel = 0x10 as *mut dlv_tensor;
            let mut out = sentinel;
            let idx = [0i64, 7];
            assert_eq!(
                dlv_tensor_take(t, 0, idx.as_ptr(), 2, &mut out),
                dlv_status::DLV_ERR_INDEX
            );
            assert_eq!(
                last_error(),
                "index 7 is out of bounds for axis 0 with size 5"
            );
            assert_eq!(out, sentinel, "out is written only on success");
            assert_eq!(
                dlv_tensor_take(t, 0, std::ptr::null(), 2, &mut out),
                dlv_status::DLV_ERR_NULL_ARGUMENT
            );
            assert_eq!(
                dlv_tensor_take(t, 0, idx.as_ptr(), -1, &mut out),
                dlv_status::DLV_ERR_INVALID_ARGUMENT
            );
            assert_eq!(
                dlv_tensor_take(t, 2, idx.as_ptr(), 1, &mut out),
                dlv_status::DLV_ERR_INVALID_ARGUMENT
            );
            assert_eq!(
                dlv_tensor_take(null_mut(), 0, idx.as_ptr(), 1, &mut out),
                dlv_status::DLV_ERR_NULL_ARGUMENT
            );
            assert_eq!(
                dlv_tensor_take(t, 0, idx.as_ptr(), 1, null_mut()),
                dlv_status::DLV_ERR_NULL_ARGUMENT
            );
            assert_eq!(out, sentinel);
            let back = [-1i64, 0, 4];
            assert_eq!(
                dlv_tensor_take(t, -2, back.as_ptr(), 3, &mut out),
                dlv_status::DLV_OK
            );
            assert_eq!(std::slice::from_raw_parts(dlv_tensor_shape(out), 2), [3, 3]);
            dlv_tensor_free(out);
            // n == 0 may pass NULL indices.
            assert_eq!(
                dlv_tensor_take(t, 1, std::ptr::null(), 0, &mut out),
                dlv_status::DLV_OK
            );
            assert_eq!(dlv_tensor_size(out), 0);
            dlv_tensor_free(out);
            dlv_tensor_free(t);
        }
    }

    #[test]
    fn copy_into_statuses() {
        // SAFETY: every handle comes from this library and is freed once.
        unsafe {
            let dst = zeros(DType::F32, &[2, 3]);
            let src = zeros(DType::I64, &[3]);
            assert_eq!(
                dlv_tensor_copy_into(dst, src),
                dlv_status::DLV_OK,
                "broadcast and cast"
            );
            assert_eq!(
                dlv_tensor_copy_into(dst, dst),
                dlv_status::DLV_OK,
                "the same handle twice"
            );
            assert_eq!(
                dlv_tensor_copy_into(null_mut(), src),
                dlv_status::DLV_ERR_NULL_ARGUMENT
            );
            assert!(last_error().contains("dst"));
            assert_eq!(
                dlv_tensor_copy_into(dst, std::ptr::null()),
                dlv_status::DLV_ERR_NULL_ARGUMENT
            );
            assert!(last_error().contains("src"));
            let wide = zeros(DType::F32, &[4]);
            assert_eq!(
                dlv_tensor_copy_into(dst, wide),
                dlv_status::DLV_ERR_INVALID_ARGUMENT
            );
            assert_eq!(
                last_error(),
                "could not broadcast input array from shape (4,) into shape (2, 3)"
            );
            let complex = zeros(DType::C64, &[3]);
            assert_eq!(
                dlv_tensor_copy_into(dst, complex),
                dlv_status::DLV_ERR_UNSUPPORTED_DTYPE
            );
            assert_eq!(dlv_tensor_set_writeable(dst, false), dlv_status::DLV_OK);
            assert_eq!(
                dlv_tensor_copy_into(dst, src),
                dlv_status::DLV_ERR_READ_ONLY
            );
            assert_eq!(last_error(), "assignment destination is read-only");
            let mut out = null_mut();
            assert_eq!(
                dlv_tensor_astype(complex, DType::F32.to_dl(), DLV_ORDER_C, &mut out),
                dlv_status::DLV_ERR_UNSUPPORTED_DTYPE
            );
            assert!(out.is_null());
            assert_eq!(
                dlv_tensor_copy(src, 7, &mut out),
                dlv_status::DLV_ERR_INVALID_ARGUMENT
            );
            assert!(out.is_null());
            for t in [dst, src, wide, complex] {
                dlv_tensor_free(t);
            }
        }
    }
}
