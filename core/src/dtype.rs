//! Element types: the DLPack `(code, bits, lanes)` triple, validated against the
//! table of RULES.md §5, with names, sizes and alignments. Knows nothing about
//! memory or layouts.

use crate::error::{Error, Result};
use dlpark::ffi::{DLDataType, DLDataTypeCode};

/// DLPack type codes (DLPack 1.3 `DLDataTypeCode`).
pub mod code {
    pub const INT: u8 = 0;
    pub const UINT: u8 = 1;
    pub const FLOAT: u8 = 2;
    pub const OPAQUE_HANDLE: u8 = 3;
    pub const BFLOAT: u8 = 4;
    pub const COMPLEX: u8 = 5;
    pub const BOOL: u8 = 6;
    pub const FLOAT8_E3M4: u8 = 7;
    pub const FLOAT8_E4M3: u8 = 8;
    pub const FLOAT8_E4M3B11FNUZ: u8 = 9;
    pub const FLOAT8_E4M3FN: u8 = 10;
    pub const FLOAT8_E4M3FNUZ: u8 = 11;
    pub const FLOAT8_E5M2: u8 = 12;
    pub const FLOAT8_E5M2FNUZ: u8 = 13;
    pub const FLOAT8_E8M0FNU: u8 = 14;
    pub const FLOAT6_E2M3FN: u8 = 15;
    pub const FLOAT6_E3M2FN: u8 = 16;
    pub const FLOAT4_E2M1FN: u8 = 17;
}

/// What kind of number an element is; drives element access and casts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kind {
    Int,
    UInt,
    Float,
    BFloat,
    Complex,
    Bool,
    /// One of the 8-bit float formats (the code tells which).
    Float8,
    /// A packed sub-byte float (float6/float4): exchange only, no element access.
    SubByte,
}

/// A validated element type. Construct it with [`DType::new`] (or the
/// constants), which rejects everything RULES.md §5 does not list.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct DType {
    code: u8,
    bits: u8,
}

/// (code, bits, name) of every supported type, the single source of truth.
const TABLE: &[(u8, u8, &str)] = &[
    (code::BOOL, 8, "bool"),
    (code::INT, 8, "int8"),
    (code::INT, 16, "int16"),
    (code::INT, 32, "int32"),
    (code::INT, 64, "int64"),
    (code::UINT, 8, "uint8"),
    (code::UINT, 16, "uint16"),
    (code::UINT, 32, "uint32"),
    (code::UINT, 64, "uint64"),
    (code::FLOAT, 16, "float16"),
    (code::FLOAT, 32, "float32"),
    (code::FLOAT, 64, "float64"),
    (code::BFLOAT, 16, "bfloat16"),
    (code::COMPLEX, 64, "complex64"),
    (code::COMPLEX, 128, "complex128"),
    (code::FLOAT8_E3M4, 8, "float8_e3m4"),
    (code::FLOAT8_E4M3, 8, "float8_e4m3"),
    (code::FLOAT8_E4M3B11FNUZ, 8, "float8_e4m3b11fnuz"),
    (code::FLOAT8_E4M3FN, 8, "float8_e4m3fn"),
    (code::FLOAT8_E4M3FNUZ, 8, "float8_e4m3fnuz"),
    (code::FLOAT8_E5M2, 8, "float8_e5m2"),
    (code::FLOAT8_E5M2FNUZ, 8, "float8_e5m2fnuz"),
    (code::FLOAT8_E8M0FNU, 8, "float8_e8m0fnu"),
    (code::FLOAT6_E2M3FN, 6, "float6_e2m3fn"),
    (code::FLOAT6_E3M2FN, 6, "float6_e3m2fn"),
    (code::FLOAT4_E2M1FN, 4, "float4_e2m1fn"),
];

impl DType {
    pub const BOOL: DType = DType {
        code: code::BOOL,
        bits: 8,
    };
    pub const I8: DType = DType {
        code: code::INT,
        bits: 8,
    };
    pub const I16: DType = DType {
        code: code::INT,
        bits: 16,
    };
    pub const I32: DType = DType {
        code: code::INT,
        bits: 32,
    };
    pub const I64: DType = DType {
        code: code::INT,
        bits: 64,
    };
    pub const U8: DType = DType {
        code: code::UINT,
        bits: 8,
    };
    pub const U16: DType = DType {
        code: code::UINT,
        bits: 16,
    };
    pub const U32: DType = DType {
        code: code::UINT,
        bits: 32,
    };
    pub const U64: DType = DType {
        code: code::UINT,
        bits: 64,
    };
    pub const F16: DType = DType {
        code: code::FLOAT,
        bits: 16,
    };
    pub const F32: DType = DType {
        code: code::FLOAT,
        bits: 32,
    };
    pub const F64: DType = DType {
        code: code::FLOAT,
        bits: 64,
    };
    pub const BF16: DType = DType {
        code: code::BFLOAT,
        bits: 16,
    };
    pub const C64: DType = DType {
        code: code::COMPLEX,
        bits: 64,
    };
    pub const C128: DType = DType {
        code: code::COMPLEX,
        bits: 128,
    };
    pub const F8_E4M3FN: DType = DType {
        code: code::FLOAT8_E4M3FN,
        bits: 8,
    };
    pub const F8_E5M2: DType = DType {
        code: code::FLOAT8_E5M2,
        bits: 8,
    };

    /// Validates a DLPack `(code, bits, lanes)` triple.
    pub fn new(code: u8, bits: u8, lanes: u16) -> Result<DType> {
        if lanes != 1 {
            return Err(Error::UnsupportedDtype(format!(
                "unsupported dtype (code {code}, bits {bits}, lanes {lanes}): only lanes == 1 is supported"
            )));
        }
        let known = match code {
            code::INT | code::UINT => matches!(bits, 8 | 16 | 32 | 64),
            code::FLOAT => matches!(bits, 16 | 32 | 64),
            code::BFLOAT => bits == 16,
            code::COMPLEX => matches!(bits, 64 | 128),
            code::BOOL => bits == 8,
            code::FLOAT8_E3M4..=code::FLOAT8_E8M0FNU => bits == 8,
            code::FLOAT6_E2M3FN | code::FLOAT6_E3M2FN => bits == 6,
            code::FLOAT4_E2M1FN => bits == 4,
            _ => false,
        };
        if known {
            Ok(DType { code, bits })
        } else {
            Err(Error::UnsupportedDtype(format!(
                "unsupported dtype (code {code}, bits {bits}, lanes {lanes})"
            )))
        }
    }

    /// Converts from the DLPack struct, validating it.
    pub fn from_dl(dt: DLDataType) -> Result<DType> {
        DType::new(dt.code.0, dt.bits, dt.lanes)
    }

    /// The DLPack struct for this type (always one lane).
    pub fn to_dl(self) -> DLDataType {
        DLDataType {
            code: DLDataTypeCode(self.code),
            bits: self.bits,
            lanes: 1,
        }
    }

    /// Looks a type up by its NumPy/PyTorch-style name (`"float32"`, `"bfloat16"`, ...).
    pub fn from_name(name: &str) -> Result<DType> {
        // A C string would end at the NUL: refuse rather than read a prefix.
        if name.contains('\0') {
            return Err(Error::InvalidArgument(format!(
                "dtype name {name:?} contains a NUL byte"
            )));
        }
        let canonical = match name {
            "float" | "f4" => "float32",
            "double" | "f8" => "float64",
            "half" | "f2" => "float16",
            "int" | "i8" | "long" => "int64",
            "i4" => "int32",
            "i2" => "int16",
            "i1" => "int8",
            "u1" => "uint8",
            "u2" => "uint16",
            "u4" => "uint32",
            "u8" => "uint64",
            "bool_" | "?" => "bool",
            "c8" => "complex64",
            "c16" | "complex" => "complex128",
            other => other,
        };
        TABLE
            .iter()
            .find(|&&(_, _, n)| n == canonical)
            .map(|&(code, bits, _)| DType { code, bits })
            .ok_or_else(|| Error::UnsupportedDtype(format!("unknown dtype name {name:?}")))
    }

    pub fn code(self) -> u8 {
        self.code
    }

    pub fn bits(self) -> u8 {
        self.bits
    }

    /// The canonical name, as NumPy/ml_dtypes spell it.
    pub fn name(self) -> &'static str {
        TABLE
            .iter()
            .find(|&&(c, b, _)| c == self.code && b == self.bits)
            .map(|&(_, _, n)| n)
            .unwrap_or("unknown")
    }

    pub fn kind(self) -> Kind {
        match self.code {
            code::INT => Kind::Int,
            code::UINT => Kind::UInt,
            code::FLOAT => Kind::Float,
            code::BFLOAT => Kind::BFloat,
            code::COMPLEX => Kind::Complex,
            code::BOOL => Kind::Bool,
            _ if self.bits == 8 => Kind::Float8,
            _ => Kind::SubByte,
        }
    }

    /// True for packed types narrower than a byte (float6, float4).
    pub fn is_sub_byte(self) -> bool {
        self.bits % 8 != 0
    }

    /// Bytes per element. Sub-byte types report 0: they have no addressable
    /// element, and every path that needs an itemsize rejects them first.
    pub fn itemsize(self) -> usize {
        if self.is_sub_byte() {
            0
        } else {
            usize::from(self.bits) / 8
        }
    }

    /// Bytes that `count` elements occupy in a compact buffer (packed for
    /// sub-byte types): the one compact-size computation, for allocations,
    /// copies, transfers and `nbytes`. `INVALID_ARGUMENT` when it exceeds
    /// `isize::MAX`, which no allocation or offset can hold.
    pub fn compact_nbytes(self, count: i64) -> Result<usize> {
        (count.max(0) as u128 * u128::from(self.bits))
            .div_ceil(8)
            .try_into()
            .ok()
            .filter(|&n: &usize| n <= isize::MAX as usize)
            .ok_or_else(|| {
                Error::InvalidArgument(format!("{count} elements of {self} do not fit in memory"))
            })
    }

    /// The alignment an element needs: its size, except complex numbers,
    /// which are aligned like one of their two parts.
    pub fn alignment(self) -> usize {
        match self.kind() {
            Kind::Complex => self.itemsize() / 2,
            Kind::SubByte => 1,
            _ => self.itemsize(),
        }
    }

    /// Fails with `UNSUPPORTED_DTYPE` for sub-byte types, which only support
    /// zero-copy exchange of compact tensors.
    pub fn require_addressable(self, what: &str) -> Result<()> {
        if self.is_sub_byte() {
            Err(Error::UnsupportedDtype(format!(
                "{what} is not supported for the packed sub-byte dtype {}",
                self.name()
            )))
        } else {
            Ok(())
        }
    }
}

impl std::fmt::Display for DType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_round_trips_names_and_codes() {
        for &(code, bits, name) in TABLE {
            let dt = DType::new(code, bits, 1).unwrap();
            assert_eq!(dt.name(), name);
            assert_eq!(DType::from_name(name).unwrap(), dt);
            assert_eq!(DType::from_dl(dt.to_dl()).unwrap(), dt);
        }
    }

    #[test]
    fn rejects_what_the_rules_do_not_list() {
        let cases = [
            (2, 32, 4),
            (2, 8, 1),
            (17, 8, 1),
            (3, 64, 1),
            (18, 8, 1),
            (6, 1, 1),
        ];
        for (code, bits, lanes) in cases {
            let err = DType::new(code, bits, lanes).unwrap_err();
            assert!(
                matches!(err, Error::UnsupportedDtype(_)),
                "{code} {bits} {lanes}"
            );
            assert!(
                err.to_string()
                    .contains(&format!("code {code}, bits {bits}"))
            );
        }
    }

    #[test]
    fn compact_nbytes_is_the_one_size_rule() {
        assert_eq!(DType::F32.compact_nbytes(3).unwrap(), 12);
        assert_eq!(DType::C128.compact_nbytes(0).unwrap(), 0);
        let f4 = DType::new(code::FLOAT4_E2M1FN, 4, 1).unwrap();
        assert_eq!(f4.compact_nbytes(3).unwrap(), 2, "packed, rounded up");
        let f6 = DType::new(code::FLOAT6_E2M3FN, 6, 1).unwrap();
        assert_eq!(f6.compact_nbytes(5).unwrap(), 4, "30 bits");
        assert_eq!(
            DType::I8.compact_nbytes(isize::MAX as i64).unwrap(),
            isize::MAX as usize
        );
        let err = DType::F64.compact_nbytes(1 << 60).unwrap_err();
        assert!(matches!(err, Error::InvalidArgument(_)));
        assert_eq!(
            err.to_string(),
            "1152921504606846976 elements of float64 do not fit in memory"
        );
    }

    #[test]
    fn sizes_and_alignments() {
        assert_eq!((DType::C64.itemsize(), DType::C64.alignment()), (8, 4));
        assert_eq!((DType::C128.itemsize(), DType::C128.alignment()), (16, 8));
        assert_eq!((DType::BF16.itemsize(), DType::BF16.alignment()), (2, 2));
        let f4 = DType::new(code::FLOAT4_E2M1FN, 4, 1).unwrap();
        assert!(f4.is_sub_byte());
        assert_eq!(f4.kind(), Kind::SubByte);
        assert_eq!(DType::F8_E5M2.kind(), Kind::Float8);
    }
}
