//! Element types: the DLPack `(code, bits, lanes)` triple, validated against the
//! table of docs/rules.md §5, with names, sizes and alignments. Knows nothing about
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
    /// A packed sub-byte float (float6/float4, and float4_e2m1fn_x2's byte
    /// of two): exchange only, no element access.
    SubByte,
}

/// A validated element type. Construct it with [`DType::new`] (or the
/// constants), which rejects everything docs/rules.md §5 does not list. It is an
/// index into the one table of element types, so every fact about it is
/// one lookup.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct DType {
    index: u8,
}

/// Everything dlview knows about one element type (STYLE 16: one table per
/// fact; every other list — names, sizes, alignments, buffer formats,
/// `.npy` descrs, the Python package's names — is derived from it).
struct Info {
    code: u8,
    /// Bits of one element (all its lanes).
    bits: u8,
    /// DLPack lanes: 1, except PyTorch's `float4_e2m1fn_x2` (two packed
    /// float4 values per byte, exchanged as bits 4, lanes 2: one element is
    /// one byte, opaque to dlview, re-exported exactly as it came).
    lanes: u8,
    /// The canonical name, as NumPy/ml_dtypes spell it.
    name: &'static str,
    /// Bytes an element's address must be a multiple of (complex numbers
    /// are aligned like one of their parts; packed sub-byte types: 1).
    align: u8,
    /// The PEP 3118 / `struct` format of one element (`memoryview`), or ""
    /// when Python's buffer protocol has none.
    format: &'static str,
    /// The `.npy` descr's type letter (the descr is byte order, letter,
    /// itemsize: `<f4`), or "" when the descr is the name itself (the
    /// ml_dtypes types) or there is none (packed sub-byte types).
    npy: &'static str,
}

const fn info(
    code: u8,
    bits: u8,
    name: &'static str,
    align: u8,
    format: &'static str,
    npy: &'static str,
) -> Info {
    Info {
        code,
        bits,
        lanes: 1,
        name,
        align,
        format,
        npy,
    }
}

/// The single source of truth: every supported type (RULES.md §5).
const TABLE: &[Info] = &[
    info(code::BOOL, 8, "bool", 1, "?", "b"),
    info(code::INT, 8, "int8", 1, "b", "i"),
    info(code::INT, 16, "int16", 2, "h", "i"),
    info(code::INT, 32, "int32", 4, "i", "i"),
    info(code::INT, 64, "int64", 8, "q", "i"),
    info(code::UINT, 8, "uint8", 1, "B", "u"),
    info(code::UINT, 16, "uint16", 2, "H", "u"),
    info(code::UINT, 32, "uint32", 4, "I", "u"),
    info(code::UINT, 64, "uint64", 8, "Q", "u"),
    info(code::FLOAT, 16, "float16", 2, "e", "f"),
    info(code::FLOAT, 32, "float32", 4, "f", "f"),
    info(code::FLOAT, 64, "float64", 8, "d", "f"),
    info(code::BFLOAT, 16, "bfloat16", 2, "", ""),
    info(code::COMPLEX, 64, "complex64", 4, "Zf", "c"),
    info(code::COMPLEX, 128, "complex128", 8, "Zd", "c"),
    info(code::FLOAT8_E3M4, 8, "float8_e3m4", 1, "", ""),
    info(code::FLOAT8_E4M3, 8, "float8_e4m3", 1, "", ""),
    info(code::FLOAT8_E4M3B11FNUZ, 8, "float8_e4m3b11fnuz", 1, "", ""),
    info(code::FLOAT8_E4M3FN, 8, "float8_e4m3fn", 1, "", ""),
    info(code::FLOAT8_E4M3FNUZ, 8, "float8_e4m3fnuz", 1, "", ""),
    info(code::FLOAT8_E5M2, 8, "float8_e5m2", 1, "", ""),
    info(code::FLOAT8_E5M2FNUZ, 8, "float8_e5m2fnuz", 1, "", ""),
    info(code::FLOAT8_E8M0FNU, 8, "float8_e8m0fnu", 1, "", ""),
    info(code::FLOAT6_E2M3FN, 6, "float6_e2m3fn", 1, "", ""),
    info(code::FLOAT6_E3M2FN, 6, "float6_e3m2fn", 1, "", ""),
    info(code::FLOAT4_E2M1FN, 4, "float4_e2m1fn", 1, "", ""),
    Info {
        lanes: 2,
        ..info(code::FLOAT4_E2M1FN, 8, "float4_e2m1fn_x2", 1, "", "")
    },
];

/// The table index of the DLPack `(code, bits, lanes)`, if the table has it
/// (`bits` per lane, as DLPack counts them).
const fn find_lanes(code: u8, bits: u8, lanes: u16) -> Option<u8> {
    let mut i = 0;
    while i < TABLE.len() {
        let e = &TABLE[i];
        if e.code == code && e.lanes as u16 == lanes && e.bits as u16 == bits as u16 * lanes {
            return Some(i as u8);
        }
        i += 1;
    }
    None
}

/// The table index of the one-lane `(code, bits)`, if the table has it.
const fn find(code: u8, bits: u8) -> Option<u8> {
    find_lanes(code, bits, 1)
}

/// A constant of the table (a compile error if it is not there).
const fn of(code: u8, bits: u8) -> DType {
    match find(code, bits) {
        Some(index) => DType { index },
        None => panic!("not a supported dtype"),
    }
}

impl DType {
    pub const BOOL: DType = of(code::BOOL, 8);
    pub const I8: DType = of(code::INT, 8);
    pub const I16: DType = of(code::INT, 16);
    pub const I32: DType = of(code::INT, 32);
    pub const I64: DType = of(code::INT, 64);
    pub const U8: DType = of(code::UINT, 8);
    pub const U16: DType = of(code::UINT, 16);
    pub const U32: DType = of(code::UINT, 32);
    pub const U64: DType = of(code::UINT, 64);
    pub const F16: DType = of(code::FLOAT, 16);
    pub const F32: DType = of(code::FLOAT, 32);
    pub const F64: DType = of(code::FLOAT, 64);
    pub const BF16: DType = of(code::BFLOAT, 16);
    pub const C64: DType = of(code::COMPLEX, 64);
    pub const C128: DType = of(code::COMPLEX, 128);
    pub const F8_E4M3FN: DType = of(code::FLOAT8_E4M3FN, 8);
    pub const F8_E5M2: DType = of(code::FLOAT8_E5M2, 8);

    fn info(self) -> &'static Info {
        &TABLE[usize::from(self.index)]
    }

    /// Every supported type, in the table's order.
    pub fn all() -> impl Iterator<Item = DType> {
        (0..TABLE.len() as u8).map(|index| DType { index })
    }

    /// Validates a DLPack `(code, bits, lanes)` triple.
    pub fn new(code: u8, bits: u8, lanes: u16) -> Result<DType> {
        // One multi-lane type is known: PyTorch's float4_e2m1fn_x2.
        let found = find_lanes(code, bits, lanes);
        if found.is_none() && lanes != 1 {
            return Err(Error::UnsupportedDtype(format!(
                "unsupported dtype (code {code}, bits {bits}, lanes {lanes}): only lanes == 1 is supported"
            )));
        }
        found.map(|index| DType { index }).ok_or_else(|| {
            Error::UnsupportedDtype(format!(
                "unsupported dtype (code {code}, bits {bits}, lanes {lanes})"
            ))
        })
    }

    /// Converts from the DLPack struct, validating it.
    pub fn from_dl(dt: DLDataType) -> Result<DType> {
        DType::new(dt.code.0, dt.bits, dt.lanes)
    }

    /// The DLPack struct for this type (one lane, except `float4_e2m1fn_x2`).
    pub fn to_dl(self) -> DLDataType {
        let lanes = self.info().lanes;
        DLDataType {
            code: DLDataTypeCode(self.code()),
            bits: self.bits() / lanes,
            lanes: u16::from(lanes),
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
        DType::all()
            .find(|dt| dt.name() == canonical)
            .ok_or_else(|| Error::UnsupportedDtype(format!("unknown dtype name {name:?}")))
    }

    pub fn code(self) -> u8 {
        self.info().code
    }

    pub fn bits(self) -> u8 {
        self.info().bits
    }

    /// The canonical name, as NumPy/ml_dtypes spell it.
    pub fn name(self) -> &'static str {
        self.info().name
    }

    /// The PEP 3118 / `struct` format letter(s) of one element (`"f"`,
    /// `"Zd"`, `"e"`), or `None` for types Python's buffer protocol cannot
    /// describe (bfloat16, float8, sub-byte).
    pub fn buffer_format(self) -> Option<&'static str> {
        Some(self.info().format).filter(|f| !f.is_empty())
    }

    /// The `.npy` descr type letter (`'f'` in `<f4`), or `None` when the
    /// descr is the type's name (bfloat16, float8: ml_dtypes) or there is
    /// none (packed sub-byte types).
    pub fn npy_letter(self) -> Option<char> {
        self.info().npy.chars().next()
    }

    pub fn kind(self) -> Kind {
        match self.code() {
            code::INT => Kind::Int,
            code::UINT => Kind::UInt,
            code::FLOAT => Kind::Float,
            code::BFLOAT => Kind::BFloat,
            code::COMPLEX => Kind::Complex,
            code::BOOL => Kind::Bool,
            _ if self.info().lanes != 1 => Kind::SubByte,
            _ if self.bits() == 8 => Kind::Float8,
            _ => Kind::SubByte,
        }
    }

    /// True for packed types narrower than a byte (float6, float4).
    pub fn is_sub_byte(self) -> bool {
        !self.bits().is_multiple_of(8)
    }

    /// Bytes per element. Sub-byte types report 0: they have no addressable
    /// element, and every path that needs an itemsize rejects them first.
    pub fn itemsize(self) -> usize {
        if self.is_sub_byte() {
            0
        } else {
            usize::from(self.bits()) / 8
        }
    }

    /// Bytes that `count` elements occupy in a compact buffer (packed for
    /// sub-byte types): the one compact-size computation, for allocations,
    /// copies, transfers and `nbytes`. `INVALID_ARGUMENT` when it exceeds
    /// `isize::MAX`, which no allocation or offset can hold.
    pub fn compact_nbytes(self, count: i64) -> Result<usize> {
        (count.max(0) as u128 * u128::from(self.bits()))
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
        usize::from(self.info().align)
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

impl std::fmt::Debug for DType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "DType({})", self.name())
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
        assert_eq!(DType::all().count(), TABLE.len());
        for e in TABLE {
            let lanes = u16::from(e.lanes);
            let dt = DType::new(e.code, e.bits / e.lanes, lanes).unwrap();
            assert_eq!((dt.code(), dt.bits()), (e.code, e.bits));
            let name = e.name;
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
            (17, 4, 4),
            (17, 8, 2),
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
        // PyTorch's float4_e2m1fn_x2: one opaque byte per element, exchanged
        // as bits 4, lanes 2.
        let x2 = DType::new(code::FLOAT4_E2M1FN, 4, 2).unwrap();
        assert_eq!(
            (x2.name(), x2.itemsize(), x2.kind()),
            ("float4_e2m1fn_x2", 1, Kind::SubByte)
        );
        assert_eq!((x2.to_dl().bits, x2.to_dl().lanes), (4, 2));
        assert!(!x2.is_sub_byte() && x2.compact_nbytes(3).unwrap() == 3);
        assert_eq!(DType::F8_E5M2.kind(), Kind::Float8);
        // The table's alignments: an element's size, a complex part's size.
        for dt in DType::all() {
            let want = match dt.kind() {
                Kind::Complex => dt.itemsize() / 2,
                Kind::SubByte => 1,
                _ => dt.itemsize(),
            };
            assert_eq!(dt.alignment(), want, "{dt}");
        }
    }

    #[test]
    fn buffer_formats_and_npy_letters_follow_python() {
        // struct-module letters (PEP 3118), checked by hand against
        // `memoryview(np.zeros(1, name)).format` (NumPy gives 'l' for int64
        // on LP64; 'q' is the same size and what struct documents).
        let cases = [
            ("bool", Some("?"), Some('b')),
            ("int8", Some("b"), Some('i')),
            ("uint64", Some("Q"), Some('u')),
            ("float16", Some("e"), Some('f')),
            ("float64", Some("d"), Some('f')),
            ("complex64", Some("Zf"), Some('c')),
            ("bfloat16", None, None),
            ("float8_e5m2", None, None),
            ("float4_e2m1fn", None, None),
        ];
        for (name, format, letter) in cases {
            let dt = DType::from_name(name).unwrap();
            assert_eq!(
                (dt.buffer_format(), dt.npy_letter()),
                (format, letter),
                "{name}"
            );
        }
    }
}
