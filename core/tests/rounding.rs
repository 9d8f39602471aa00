//! One rounding path (issue 14 item 3, STYLE 16): every way of storing an
//! f64 into a narrower float — `set_f64`, `astype`, `copy_into` (packed and
//! strided), basic and advanced `index_put` — stores the same bits, and
//! those bits are the correctly rounded ones (round to nearest, ties to
//! even, one rounding).
//!
//! The oracle is independent of the library: every expected bit pattern is
//! worked out by hand below (for f16 they are what NumPy's `np.float16(x)`
//! gives, whose `npy_double_to_half` rounds once). The inputs are the cases
//! that catch a double rounding through f32: exact ties, and values just
//! above or below a tie by a "sticky" bit far below f32's precision.

use dlview::dtype::code;
use dlview::{DType, Index, Order, Tensor};

/// (input, expected bits) for f16: 1.0 is 0x3c00 and its ulp is 2^-10;
/// the smallest subnormal is 2^-24 (0x0001); the largest finite value is
/// 65504 (0x7bff) and 65520 is the overflow tie.
fn f16_cases() -> Vec<(f64, u16)> {
    let p = |e: i32| 2f64.powi(e);
    vec![
        (1.0, 0x3c00),
        (1.0 + p(-11), 0x3c00),                // tie: to even (down)
        (1.0 + p(-11) + p(-40), 0x3c01),       // sticky above the tie: up
        (1.0 + p(-11) - p(-50), 0x3c00),       // just below the tie
        (1.0 + 3.0 * p(-11), 0x3c02),          // tie: to even (up)
        (1.0 + 3.0 * p(-11) - p(-40), 0x3c01), // sticky below the tie
        (-(1.0 + p(-11) + p(-40)), 0xbc01),    // sign
        (p(-25), 0x0000),                      // subnormal tie: to 0
        (p(-25) + p(-60), 0x0001),             // f32 would land on the tie
        (3.0 * p(-25), 0x0002),                // subnormal tie: up to even
        (65504.0, 0x7bff),
        (65520.0 - p(-30), 0x7bff), // below the overflow tie
        (65520.0, 0x7c00),          // the tie overflows (to even)
        (f64::INFINITY, 0x7c00),
        (-0.0, 0x8000),
    ]
}

/// (input, expected bits) for bfloat16: 1.0 is 0x3f80 and its ulp is 2^-7;
/// the largest finite value is 0x7f7f = (2 - 2^-7) * 2^127, the overflow
/// tie is (2 - 2^-8) * 2^127.
fn bf16_cases() -> Vec<(f64, u16)> {
    let p = |e: i32| 2f64.powi(e);
    vec![
        (1.0, 0x3f80),
        (1.0 + p(-8), 0x3f80),          // tie: to even (down)
        (1.0 + p(-8) + p(-40), 0x3f81), // sticky: f32 would make it a tie
        (1.0 + p(-8) - p(-50), 0x3f80),
        (1.0 + 3.0 * p(-8), 0x3f82), // tie: to even (up)
        (1.0 + 3.0 * p(-8) - p(-40), 0x3f81),
        (-(1.0 + p(-8) + p(-40)), 0xbf81),
        ((2.0 - p(-8)) * p(127) - p(90), 0x7f7f), // below the overflow tie
        ((2.0 - p(-8)) * p(127), 0x7f80),         // the tie overflows (to even)
        (1e300, 0x7f80),
        (p(-134), 0x0000), // subnormal tie (2^-133 is 0x0001): to 0
        (p(-134) + p(-170), 0x0001),
    ]
}

/// (input, expected byte) for float8_e4m3fn: 1.0 is 0x38, ulp 2^-3.
fn e4m3fn_cases() -> Vec<(f64, u16)> {
    let p = |e: i32| 2f64.powi(e);
    vec![
        (1.0 + p(-4), 0x38),
        (1.0 + p(-4) + p(-40), 0x39),
        (1.0 + 3.0 * p(-4), 0x3a),
        (1.0 + 3.0 * p(-4) - p(-40), 0x39),
    ]
}

/// The raw element bits of a compact tensor of 1- or 2-byte elements.
fn bits(t: &Tensor) -> Vec<u16> {
    assert!(t.layout().is_c_contiguous());
    let n = t.size() as usize;
    let p = t.data_ptr();
    (0..n)
        .map(|i| match t.dtype().itemsize() {
            // SAFETY: element `i` of a compact tensor of `n` elements.
            1 => u16::from(unsafe { *p.add(i) }),
            _ => unsafe { p.cast::<u16>().add(i).read_unaligned() },
        })
        .collect()
}

fn f64_tensor(values: &[f64]) -> Tensor {
    let mut t = Tensor::zeros(DType::F64, &[values.len() as i64], Order::C).unwrap();
    for (i, &v) in values.iter().enumerate() {
        t.set_f64(&[i as i64], v).unwrap();
    }
    t
}

/// Stores `inputs` into a `dtype` tensor by every path and checks each
/// against `expected`.
fn check_every_path(dtype: DType, cases: &[(f64, u16)]) {
    let inputs: Vec<f64> = cases.iter().map(|c| c.0).collect();
    let expected: Vec<u16> = cases.iter().map(|c| c.1).collect();
    let n = inputs.len() as i64;
    let src = f64_tensor(&inputs);
    let fresh = || Tensor::zeros(dtype, &[n], Order::C).unwrap();

    let mut by_set = fresh();
    for (i, &v) in inputs.iter().enumerate() {
        by_set.set_f64(&[i as i64], v).unwrap();
    }
    assert_eq!(bits(&by_set), expected, "{dtype}: set_f64");

    let by_astype = src.astype(dtype, Order::C).unwrap();
    assert_eq!(bits(&by_astype), expected, "{dtype}: astype");

    let mut by_copy = fresh();
    src.copy_into(&mut by_copy).unwrap();
    assert_eq!(bits(&by_copy), expected, "{dtype}: copy_into (packed)");

    // A reversed source takes the element-at-a-time kernel, not the slice one.
    let reversed = fresh();
    let flipped = src.flip(0).unwrap();
    let dst = reversed.flip(0).unwrap();
    // SAFETY: `dst` is a view of `reversed`, which no other thread sees.
    unsafe { flipped.copy_into_shared(&dst) }.unwrap();
    drop(dst);
    assert_eq!(bits(&reversed), expected, "{dtype}: copy_into (strided)");

    let mut by_scalar_put = fresh();
    for (i, &v) in inputs.iter().enumerate() {
        let scalar = f64_tensor(&[v])
            .reshape(&[], dlview::CopyMode::Never)
            .unwrap();
        by_scalar_put
            .index_put(&[Index::from(i as i64)], &scalar)
            .unwrap();
    }
    assert_eq!(
        bits(&by_scalar_put),
        expected,
        "{dtype}: index_put of a scalar"
    );

    let mut by_advanced_put = fresh();
    let mut positions = Tensor::zeros(DType::I64, &[n], Order::C).unwrap();
    for i in 0..n {
        positions.set_f64(&[i], i as f64).unwrap();
    }
    by_advanced_put
        .index_put(&[Index::from(positions)], &src)
        .unwrap();
    assert_eq!(
        bits(&by_advanced_put),
        expected,
        "{dtype}: index_put of an array"
    );
}

#[test]
fn f16_every_path_rounds_once_to_nearest_even() {
    check_every_path(DType::F16, &f16_cases());
}

#[test]
fn bf16_every_path_rounds_once_to_nearest_even() {
    check_every_path(DType::BF16, &bf16_cases());
}

#[test]
fn float8_every_path_rounds_once_to_nearest_even() {
    check_every_path(
        DType::new(code::FLOAT8_E4M3FN, 8, 1).unwrap(),
        &e4m3fn_cases(),
    );
}

/// The reproducer, by name: `set_f64` used to store 1.0 here
/// (`half`'s `from_f64` rounds through f32) while `astype` stored the
/// correct 1.0009765625.
#[test]
fn set_f64_matches_astype_on_the_double_rounding_trap() {
    let x = 1.0 + 2f64.powi(-11) + 2f64.powi(-40);
    let mut t = Tensor::zeros(DType::F16, &[1], Order::C).unwrap();
    t.set_f64(&[0], x).unwrap();
    assert_eq!(t.get_f64(&[0]).unwrap(), 1.0009765625);
}
