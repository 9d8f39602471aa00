//! 8-bit floating-point formats (DLPack's float8 codes), decoded to and
//! encoded from `f64` by one table-driven codec rather than one routine per
//! format. Encoding rounds to nearest, ties to even, as ml_dtypes does; a
//! finite value beyond the largest finite one becomes infinity where the
//! format has one and NaN where it has none.

use crate::dtype::code;

/// How a format spends its special encodings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Specials {
    /// IEEE 754: top exponent is infinity (mantissa 0) or NaN.
    Ieee,
    /// "fn": no infinity; only all-ones exponent and mantissa is NaN.
    Fn,
    /// "fnuz": no infinity, no negative zero; `0x80` is the one NaN.
    Fnuz,
    /// e8m0: unsigned powers of two; `0xff` is NaN.
    E8M0,
}

#[derive(Clone, Copy, Debug)]
struct Format {
    exp_bits: u32,
    man_bits: u32,
    bias: i32,
    specials: Specials,
}

fn format(type_code: u8) -> Option<Format> {
    let f = |exp_bits, man_bits, bias, specials| {
        Some(Format {
            exp_bits,
            man_bits,
            bias,
            specials,
        })
    };
    match type_code {
        code::FLOAT8_E3M4 => f(3, 4, 3, Specials::Ieee),
        code::FLOAT8_E4M3 => f(4, 3, 7, Specials::Ieee),
        code::FLOAT8_E4M3B11FNUZ => f(4, 3, 11, Specials::Fnuz),
        code::FLOAT8_E4M3FN => f(4, 3, 7, Specials::Fn),
        code::FLOAT8_E4M3FNUZ => f(4, 3, 8, Specials::Fnuz),
        code::FLOAT8_E5M2 => f(5, 2, 15, Specials::Ieee),
        code::FLOAT8_E5M2FNUZ => f(5, 2, 16, Specials::Fnuz),
        code::FLOAT8_E8M0FNU => f(8, 0, 127, Specials::E8M0),
        _ => None,
    }
}

impl Format {
    fn max_exp_field(self) -> u32 {
        (1 << self.exp_bits) - 1
    }

    fn is_nan(self, bits: u8) -> bool {
        let exp = (u32::from(bits) >> self.man_bits) & self.max_exp_field();
        let man = u32::from(bits) & ((1 << self.man_bits) - 1);
        match self.specials {
            Specials::Ieee => exp == self.max_exp_field() && man != 0,
            Specials::Fn => exp == self.max_exp_field() && man == (1 << self.man_bits) - 1,
            Specials::Fnuz => bits == 0x80,
            Specials::E8M0 => bits == 0xff,
        }
    }

    fn largest_finite(self) -> f64 {
        let top = self.max_exp_field() as i32;
        let all_man = (1u32 << self.man_bits) - 1;
        let (exp_field, man) = match self.specials {
            Specials::Ieee => (top - 1, all_man),
            Specials::Fn => (top, all_man - 1),
            Specials::Fnuz => (top, all_man),
            Specials::E8M0 => (top - 1, 0),
        };
        (1.0 + f64::from(man) / f64::from(1u32 << self.man_bits)) * 2f64.powi(exp_field - self.bias)
    }

    fn decode(self, bits: u8) -> f64 {
        if self.is_nan(bits) {
            return f64::NAN;
        }
        if self.specials == Specials::E8M0 {
            return 2f64.powi(i32::from(bits) - self.bias);
        }
        let sign = if bits & 0x80 != 0 { -1.0 } else { 1.0 };
        let exp = ((u32::from(bits) >> self.man_bits) & self.max_exp_field()) as i32;
        let man = f64::from(u32::from(bits) & ((1 << self.man_bits) - 1));
        let scale = f64::from(1u32 << self.man_bits);
        if self.specials == Specials::Ieee && exp == self.max_exp_field() as i32 {
            return sign * f64::INFINITY;
        }
        let magnitude = if exp == 0 {
            man / scale * 2f64.powi(1 - self.bias)
        } else {
            (1.0 + man / scale) * 2f64.powi(exp - self.bias)
        };
        sign * magnitude
    }

    fn nan_bits(self) -> u8 {
        match self.specials {
            // All exponent and mantissa bits set, sign clear.
            Specials::Ieee | Specials::Fn => 0x7f,
            Specials::Fnuz => 0x80,
            Specials::E8M0 => 0xff,
        }
    }

    fn encode(self, value: f64) -> u8 {
        if value.is_nan() {
            return self.nan_bits();
        }
        if self.specials == Specials::E8M0 {
            if value <= 0.0 || value.is_infinite() {
                return 0xff;
            }
            // Round the exponent: a value is nearer 2^(e+1) than 2^e above 1.5 * 2^e.
            let e = value.log2().floor() as i32;
            let e = if value >= 1.5 * 2f64.powi(e) {
                e + 1
            } else {
                e
            };
            return (e + self.bias).clamp(0, 254) as u8;
        }
        let negative = value.is_sign_negative();
        let sign_bit = if negative { 0x80 } else { 0 };
        let magnitude = value.abs();
        let infinity = sign_bit | ((self.max_exp_field() as u8) << self.man_bits);
        if magnitude.is_infinite() {
            return if self.specials == Specials::Ieee {
                infinity
            } else {
                self.nan_bits()
            };
        }
        let min_normal_exp = 1 - self.bias;
        let rounded = if magnitude == 0.0 {
            0.0
        } else {
            let exp = magnitude.log2().floor() as i32;
            let quantum = 2f64.powi(exp.max(min_normal_exp) - self.man_bits as i32);
            round_half_even(magnitude / quantum) * quantum
        };
        if rounded > self.largest_finite() {
            return if self.specials == Specials::Ieee {
                infinity
            } else {
                self.nan_bits()
            };
        }
        if rounded == 0.0 {
            // fnuz has no negative zero (0x80 is its NaN): -0 encodes as +0.
            return if self.specials == Specials::Fnuz {
                0
            } else {
                sign_bit
            };
        }
        let exp = rounded.log2().floor() as i32;
        let bits = if exp < min_normal_exp {
            (rounded / 2f64.powi(min_normal_exp - self.man_bits as i32)) as u32
        } else {
            let man =
                (rounded / 2f64.powi(exp - self.man_bits as i32)) as u32 - (1 << self.man_bits);
            (((exp + self.bias) as u32) << self.man_bits) | man
        };
        sign_bit | bits as u8
    }
}

fn round_half_even(x: f64) -> f64 {
    let r = x.round();
    if (r - x).abs() == 0.5 && r % 2.0 != 0.0 {
        r - x.signum()
    } else {
        r
    }
}

/// Decodes one float8 element; `None` if `type_code` is not a float8 code.
pub fn decode(type_code: u8, bits: u8) -> Option<f64> {
    format(type_code).map(|f| f.decode(bits))
}

/// Encodes one float8 element; `None` if `type_code` is not a float8 code.
pub fn encode(type_code: u8, value: f64) -> Option<u8> {
    format(type_code).map(|f| f.encode(value))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_values() {
        // Hand-checked against the formats' definitions (and ml_dtypes).
        assert_eq!(decode(code::FLOAT8_E4M3FN, 0x7e), Some(448.0));
        assert!(decode(code::FLOAT8_E4M3FN, 0x7f).unwrap().is_nan());
        assert_eq!(decode(code::FLOAT8_E4M3FN, 0x01), Some(2f64.powi(-9)));
        assert_eq!(decode(code::FLOAT8_E5M2, 0x7b), Some(57344.0));
        assert_eq!(decode(code::FLOAT8_E5M2, 0x7c), Some(f64::INFINITY));
        assert_eq!(decode(code::FLOAT8_E4M3FNUZ, 0x7f), Some(240.0));
        assert!(decode(code::FLOAT8_E4M3FNUZ, 0x80).unwrap().is_nan());
        assert_eq!(decode(code::FLOAT8_E5M2FNUZ, 0x7f), Some(57344.0));
        assert_eq!(decode(code::FLOAT8_E4M3, 0x77), Some(240.0));
        assert_eq!(decode(code::FLOAT8_E3M4, 0x6f), Some(15.5));
        assert_eq!(decode(code::FLOAT8_E8M0FNU, 127), Some(1.0));
        assert_eq!(decode(code::FLOAT8_E4M3B11FNUZ, 0x7f), Some(30.0));
        assert_eq!(decode(code::INT, 0), None);
    }

    #[test]
    fn every_code_round_trips() {
        for c in code::FLOAT8_E3M4..=code::FLOAT8_E8M0FNU {
            for bits in 0..=255u8 {
                let v = decode(c, bits).unwrap();
                let back = encode(c, v).unwrap();
                if v.is_nan() {
                    assert!(decode(c, back).unwrap().is_nan(), "code {c} bits {bits:#x}");
                } else if v == 0.0 {
                    assert_eq!(decode(c, back).unwrap(), 0.0, "code {c} bits {bits:#x}");
                } else {
                    assert_eq!(back, bits, "code {c} value {v}");
                }
            }
        }
    }

    #[test]
    fn rounding_and_overflow() {
        // 1.0625 is halfway between 1.0 and 1.125 in e4m3fn: ties to even (1.0).
        assert_eq!(encode(code::FLOAT8_E4M3FN, 1.0625), Some(0x38));
        assert_eq!(encode(code::FLOAT8_E4M3FN, 1.1), Some(0x39));
        assert!(
            decode(
                code::FLOAT8_E4M3FN,
                encode(code::FLOAT8_E4M3FN, 1e6).unwrap()
            )
            .unwrap()
            .is_nan()
        );
        assert_eq!(
            decode(code::FLOAT8_E5M2, encode(code::FLOAT8_E5M2, -1e6).unwrap()),
            Some(f64::NEG_INFINITY)
        );
        assert_eq!(encode(code::FLOAT8_E4M3FNUZ, -0.0), Some(0));
        assert_eq!(encode(code::FLOAT8_E8M0FNU, 3.5), Some(129));
    }
}
