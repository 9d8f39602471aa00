//! The `.npy` file format (versions 1.0, 2.0 and 3.0): header parsing and
//! writing, loading into memory or through a memory map, and saving.
//!
//! A file is the magic `\x93NUMPY`, a version, a little-endian header length
//! (2 bytes in 1.0, 4 in 2.0 and 3.0), then a Python dict literal such as
//! `{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }` padded with
//! spaces and a newline so the data starts at a multiple of 64 bytes.
//!
//! Everything is validated before any memory is mapped or allocated:
//! the magic, the version, the header's length against the file, its
//! characters (ASCII only), the dict's exact keys, the descr, and the
//! shape's byte size (checked arithmetic) against the bytes the file holds.
//! Every failure is `Error::Format` naming the problem, or `Error::Io` with
//! the path and OS error.
//!
//! `descr` values: every NumPy descr of a type dlview has (`<f2 <f4 <f8`,
//! `|i1 <i2 <i4 <i8`, `|u1 <u2 <u4 <u8`, `|b1`, `<c8 <c16`, in any byte
//! order), plus ml_dtypes names (`'bfloat16'`, `'float8_e4m3fn'`, ...), which
//! NumPy loads when ml_dtypes is imported. Big-endian data loads as a
//! byteswapped copy; it cannot be memory-mapped.
//!
//! This module knows the format; memory maps and raw file reads are in
//! `mmap.rs`, element copies in `copy/`.

use crate::device::Device;
use crate::dtype::{DType, Kind};
use crate::error::{Error, Result};
use crate::layout::{Layout, MAX_NDIM, Order, fmt_dims};
use crate::mmap::{self, MapMode, io_error};
use crate::storage::Storage;
use crate::tensor::Tensor;
use std::fs::File;
use std::io::{Read, Write};
use std::path::Path;
use std::sync::Arc;

/// The 6 bytes every `.npy` file starts with.
pub const MAGIC: &[u8; 6] = b"\x93NUMPY";
/// Data starts at a multiple of this many bytes from the file's start.
pub const ARRAY_ALIGN: usize = 64;
/// NumPy leaves room in the header for the growth axis to reach this many
/// digits (so the header can be rewritten in place when appending).
const GROWTH_AXIS_MAX_DIGITS: usize = 21;
/// Longest header accepted. dlview's own headers are under 2 KiB; NumPy's
/// default limit is 10 000 bytes. This bounds what a hostile file can make
/// us allocate before anything else is checked.
pub const MAX_HEADER_LEN: usize = 1 << 20;

/// A parsed header: what the file holds and where its data starts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Header {
    /// `(major, minor)`: (1, 0), (2, 0) or (3, 0).
    pub version: (u8, u8),
    pub dtype: DType,
    /// The data is stored in the other byte order and must be swapped.
    pub byteswap: bool,
    pub fortran_order: bool,
    pub shape: Vec<i64>,
    /// Byte offset of the first element from the start of the file.
    pub data_offset: usize,
}

impl Header {
    /// The compact layout of the data (C or F order).
    pub fn layout(&self) -> Result<Layout> {
        Layout::compact(
            &self.shape,
            if self.fortran_order {
                Order::F
            } else {
                Order::C
            },
        )
        .map_err(|e| Error::Format(format!("shape {} is invalid: {e}", fmt_dims(&self.shape))))
    }

    /// Bytes of data the header announces, with checked arithmetic.
    pub fn data_len(&self) -> Result<usize> {
        // As NumPy, the non-zero dimensions count even when one is 0: it
        // cannot make `(0, 2**62)` float64 ("array is too big"), so such a
        // file is malformed, not empty.
        let too_big = || {
            Error::Format(format!(
                "shape {} of {} needs more bytes than fit in memory",
                fmt_dims(&self.shape),
                self.dtype
            ))
        };
        let empty = self.shape.contains(&0);
        if empty {
            crate::layout::shape_size(&self.shape).map_err(|e| {
                Error::Format(format!("shape {} is invalid: {e}", fmt_dims(&self.shape)))
            })?;
        }
        let nonzero = self
            .shape
            .iter()
            .filter(|&&d| d != 0)
            .try_fold(
                1i64,
                |acc, &d| if d < 0 { None } else { acc.checked_mul(d) },
            )
            .ok_or_else(too_big)?;
        let bytes = self.dtype.compact_nbytes(nonzero).map_err(|_| too_big())?;
        Ok(if empty { 0 } else { bytes })
    }
}

fn format_err(msg: impl Into<String>) -> Error {
    Error::Format(msg.into())
}

// ---- the header's dict literal ------------------------------------------

/// The Python literals a header may contain.
#[derive(Clone, Debug, PartialEq)]
enum Value {
    Str(String),
    Int(i128),
    Bool(bool),
    None,
    Tuple(Vec<Value>),
    List(Vec<Value>),
    Dict(Vec<(Value, Value)>),
}

/// A recursive-descent parser for the subset of Python literal syntax that
/// `repr` of a header dict produces (what NumPy's `safe_eval` accepts for
/// it): strings, integers (with Python 2's `L` suffix), `True`, `False`,
/// `None`, tuples, lists and dicts, with optional trailing commas.
struct Parser<'a> {
    s: &'a [u8],
    pos: usize,
    depth: usize,
}

impl Parser<'_> {
    fn error(&self, what: &str) -> Error {
        format_err(format!(
            "malformed .npy header: {what} at character {}",
            self.pos
        ))
    }

    fn skip_ws(&mut self) {
        while self.pos < self.s.len() && self.s[self.pos].is_ascii_whitespace() {
            self.pos += 1;
        }
    }

    fn peek(&mut self) -> Option<u8> {
        self.skip_ws();
        self.s.get(self.pos).copied()
    }

    fn eat(&mut self, c: u8) -> bool {
        if self.peek() == Some(c) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn value(&mut self) -> Result<Value> {
        self.depth += 1;
        if self.depth > 32 {
            return Err(self.error("nesting too deep"));
        }
        let v = match self.peek() {
            None => Err(self.error("unexpected end of header")),
            Some(b'{') => {
                self.pos += 1;
                let mut items = Vec::new();
                while !self.eat(b'}') {
                    let k = self.value()?;
                    if !self.eat(b':') {
                        return Err(self.error("expected ':' in dict"));
                    }
                    items.push((k, self.value()?));
                    if !self.eat(b',') && self.peek() != Some(b'}') {
                        return Err(self.error("expected ',' or '}' in dict"));
                    }
                }
                Ok(Value::Dict(items))
            }
            Some(open @ (b'(' | b'[')) => {
                self.pos += 1;
                let close = if open == b'(' { b')' } else { b']' };
                let (mut items, mut comma) = (Vec::new(), false);
                while !self.eat(close) {
                    items.push(self.value()?);
                    comma = self.eat(b',');
                    if !comma && self.peek() != Some(close) {
                        return Err(self.error("expected ',' or a closing bracket"));
                    }
                }
                Ok(match (open, items.len(), comma) {
                    // `(3)` is the integer 3 in Python, not a tuple.
                    (b'(', 1, false) => items.pop().expect("one item"),
                    (b'(', ..) => Value::Tuple(items),
                    _ => Value::List(items),
                })
            }
            Some(q @ (b'\'' | b'"')) => {
                self.pos += 1;
                let mut out = String::new();
                loop {
                    match self.s.get(self.pos).copied() {
                        None => return Err(self.error("unterminated string")),
                        Some(c) if c == q => break,
                        Some(b'\\') => {
                            self.pos += 1;
                            match self.s.get(self.pos).copied() {
                                Some(c @ (b'\\' | b'\'' | b'"')) => out.push(c as char),
                                _ => return Err(self.error("unsupported escape in string")),
                            }
                        }
                        Some(c) => out.push(c as char),
                    }
                    self.pos += 1;
                }
                self.pos += 1;
                Ok(Value::Str(out))
            }
            Some(c) if c == b'-' || c == b'+' || c.is_ascii_digit() => {
                let start = self.pos;
                self.pos += 1;
                while self.pos < self.s.len() && self.s[self.pos].is_ascii_digit() {
                    self.pos += 1;
                }
                let text = std::str::from_utf8(&self.s[start..self.pos]).expect("ASCII");
                // Python 2 wrote longs with an `L` suffix (old version 1.0 files).
                if self
                    .s
                    .get(self.pos)
                    .is_some_and(|&c| c == b'L' || c == b'l')
                {
                    self.pos += 1;
                }
                if text.len() == 1 && !text.as_bytes()[0].is_ascii_digit() {
                    return Err(self.error("malformed integer"));
                }
                // Too big for i128 is certainly too big for a shape: saturate
                // and let the shape check name it.
                let saturated = if text.starts_with('-') {
                    i128::MIN
                } else {
                    i128::MAX
                };
                Ok(Value::Int(text.parse::<i128>().unwrap_or(saturated)))
            }
            Some(c) if c.is_ascii_alphabetic() => {
                let start = self.pos;
                while self.pos < self.s.len()
                    && (self.s[self.pos].is_ascii_alphanumeric() || self.s[self.pos] == b'_')
                {
                    self.pos += 1;
                }
                match &self.s[start..self.pos] {
                    b"True" => Ok(Value::Bool(true)),
                    b"False" => Ok(Value::Bool(false)),
                    b"None" => Ok(Value::None),
                    other => {
                        self.pos = start;
                        Err(self.error(&format!(
                            "unexpected name {:?}",
                            String::from_utf8_lossy(other)
                        )))
                    }
                }
            }
            Some(c) => Err(self.error(&format!("unexpected character {:?}", c as char))),
        };
        self.depth -= 1;
        v
    }
}

/// The element type and byte order a `descr` string names.
///
/// Errors say what the descr is when dlview does not support it (object,
/// string, void, datetime, structured ...).
pub fn descr_to_dtype(descr: &str) -> Result<(DType, bool)> {
    // Type names: the ml_dtypes ones dlview writes for bfloat16 and float8
    // (NumPy reads them once ml_dtypes is imported), and NumPy's canonical
    // names. Only exact canonical names: aliases differ between libraries
    // (NumPy's "float" is float64).
    if descr.len() > 3
        && descr
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_')
    {
        return match DType::from_name(descr) {
            Ok(dt) if dt.name() == descr && !dt.is_sub_byte() => Ok((dt, false)),
            _ => Err(format_err(format!(
                "unsupported descr {descr:?} (not a NumPy type code or a type name dlview knows)"
            ))),
        };
    }
    let (order, rest) = match descr.as_bytes().first() {
        Some(&c @ (b'<' | b'>' | b'|' | b'=')) => (c, &descr[1..]),
        _ => (b'=', descr),
    };
    let (kind, size) = match rest.as_bytes().first() {
        Some(&k) => (k, &rest[1..]),
        None => {
            return Err(format_err(format!(
                "unsupported descr {descr:?}: empty type code"
            )));
        }
    };
    let explain = |what: &str| {
        format_err(format!(
            "unsupported descr {descr:?}: {what} are not supported"
        ))
    };
    // Digits only (NumPy's int() also takes "+4" or " 4"; refusing those
    // spellings is safe, reading them differently would not be).
    let size: Option<usize> = if size.is_empty() {
        None
    } else if size.bytes().all(|b| b.is_ascii_digit()) {
        Some(size.parse().unwrap_or(usize::MAX))
    } else {
        return Err(format_err(format!(
            "unsupported descr {descr:?}: the size {size:?} is not a decimal number"
        )));
    };
    // Exactly as `numpy.dtype(descr)` reads it (NumPy 2.x, LP64 Linux/macOS;
    // the table test in this module and tests/python/test_npy_descr.py
    // check every code against NumPy): a kind letter with a byte size
    // ('i4', 'b1': bool), or a one-letter type code without one ('b' is
    // *int8*, '?' bool, 'h' int16, 'l' C long, 'p'/'n' intptr_t, ...).
    // Codes never take a size ('?1', 'B1', 'h2' are errors in NumPy).
    let long = std::mem::size_of::<std::ffi::c_long>();
    let ptr = std::mem::size_of::<usize>();
    let signed = |bytes: usize| match bytes {
        4 => DType::I32,
        _ => DType::I64,
    };
    let unsigned = |bytes: usize| match bytes {
        4 => DType::U32,
        _ => DType::U64,
    };
    let dtype = match (kind, size) {
        (b'?', None) | (b'b', Some(1)) => DType::BOOL,
        (b'b', None) => DType::I8,
        (b'B', None) => DType::U8,
        (b'h', None) => DType::I16,
        (b'H', None) => DType::U16,
        (b'i', None) => DType::I32,
        (b'I', None) => DType::U32,
        (b'q', None) => DType::I64,
        (b'Q', None) => DType::U64,
        (b'l', None) => signed(long),
        (b'L', None) => unsigned(long),
        (b'p' | b'n', None) => signed(ptr),
        (b'P' | b'N', None) => unsigned(ptr),
        (b'e', None) => DType::F16,
        (b'f', None) => DType::F32,
        (b'd', None) => DType::F64,
        (b'F', None) => DType::C64,
        (b'D', None) => DType::C128,
        (b'g', None) | (b'G', None) => return Err(explain("long double types")),
        (b'i', Some(1)) => DType::I8,
        (b'i', Some(2)) => DType::I16,
        (b'i', Some(4)) => DType::I32,
        (b'i', Some(8)) => DType::I64,
        (b'u', Some(1)) => DType::U8,
        (b'u', Some(2)) => DType::U16,
        (b'u', Some(4)) => DType::U32,
        (b'u', Some(8)) => DType::U64,
        (b'f', Some(2)) => DType::F16,
        (b'f', Some(4)) => DType::F32,
        (b'f', Some(8)) => DType::F64,
        (b'c', Some(8)) => DType::C64,
        (b'c', Some(16)) => DType::C128,
        (b'O', _) => return Err(explain("object arrays (pickled Python objects)")),
        (b'V', _) => {
            return Err(explain(
                "raw void types (bfloat16 and float8 saved by NumPy without ml_dtypes names end up as these)",
            ));
        }
        (b'f', Some(12 | 16)) | (b'c', Some(24 | 32)) => return Err(explain("long double types")),
        (b'S' | b'a' | b'c' | b'U' | b'T', _) => return Err(explain("string types")),
        (b'M' | b'm', _) => return Err(explain("datetime and timedelta types")),
        _ => {
            return Err(format_err(format!(
                "unsupported descr {descr:?}: unknown type code or size"
            )));
        }
    };
    let big = cfg!(target_endian = "big");
    let swap = dtype.itemsize() > 1
        && match order {
            b'<' => big,
            b'>' => !big,
            _ => false,
        };
    Ok((dtype, swap))
}

/// The descr dlview writes for `dtype` (NumPy's `dtype.str`, or the
/// ml_dtypes name for bfloat16 and float8 types).
pub fn dtype_to_descr(dtype: DType) -> Result<String> {
    let native = if cfg!(target_endian = "big") {
        '>'
    } else {
        '<'
    };
    if dtype.is_sub_byte() {
        return Err(Error::UnsupportedDtype(format!(
            "{dtype} has no .npy representation (dlview packs it; NumPy's ml_dtypes stores one per byte)"
        )));
    }
    let Some(code) = dtype.npy_letter() else {
        // bfloat16 and float8: the ml_dtypes name.
        return Ok(dtype.name().into());
    };
    let size = dtype.itemsize();
    Ok(format!(
        "{}{code}{size}",
        if size == 1 { '|' } else { native }
    ))
}

/// Parses the header text (the dict literal and its padding) of a file with
/// format `version` whose data starts at `data_offset`.
pub fn parse_header_text(text: &[u8], version: (u8, u8), data_offset: usize) -> Result<Header> {
    if let Some(i) = text.iter().position(|&b| !b.is_ascii()) {
        return Err(format_err(format!(
            "the .npy header contains the non-ASCII byte {:#04x} at offset {i}; only ASCII headers are supported",
            text[i]
        )));
    }
    let mut p = Parser {
        s: text,
        pos: 0,
        depth: 0,
    };
    let dict = match p.value()? {
        Value::Dict(items) => items,
        other => {
            return Err(format_err(format!(
                "the .npy header is not a dict but {other:?}"
            )));
        }
    };
    if p.peek().is_some() {
        return Err(p.error("unexpected text after the header dict"));
    }
    let (mut descr, mut fortran, mut shape) = (None, None, None);
    for (k, v) in dict {
        let slot = match &k {
            Value::Str(s) if s == "descr" => &mut descr,
            Value::Str(s) if s == "fortran_order" => &mut fortran,
            Value::Str(s) if s == "shape" => &mut shape,
            _ => {
                return Err(format_err(format!(
                    "the .npy header has the unexpected key {k:?}"
                )));
            }
        };
        if slot.replace(v).is_some() {
            return Err(format_err(format!("the .npy header repeats the key {k:?}")));
        }
    }
    let missing = |key: &str| format_err(format!("the .npy header has no {key:?} key"));
    let (dtype, byteswap) = match descr.ok_or_else(|| missing("descr"))? {
        Value::Str(s) => descr_to_dtype(&s)?,
        Value::List(_) => {
            return Err(format_err(
                "unsupported descr: structured dtypes (a list of fields) are not supported",
            ));
        }
        other => return Err(format_err(format!("descr is not a string but {other:?}"))),
    };
    let fortran_order = match fortran.ok_or_else(|| missing("fortran_order"))? {
        Value::Bool(b) => b,
        other => {
            return Err(format_err(format!(
                "fortran_order is not True or False but {other:?}"
            )));
        }
    };
    let dims = match shape.ok_or_else(|| missing("shape"))? {
        Value::Tuple(dims) => dims,
        other => return Err(format_err(format!("shape is not a tuple but {other:?}"))),
    };
    if dims.len() > MAX_NDIM {
        return Err(format_err(format!(
            "shape has {} dimensions, more than the maximum of {MAX_NDIM}",
            dims.len()
        )));
    }
    let shape = dims
        .iter()
        .map(|d| match d {
            Value::Int(n) => i64::try_from(*n)
                .ok()
                .filter(|&n| n >= 0)
                .ok_or_else(|| format_err(format!("shape dimension {n} is not in 0..=2^63-1"))),
            other => Err(format_err(format!(
                "shape dimension {other:?} is not an integer"
            ))),
        })
        .collect::<Result<Vec<i64>>>()?;
    let header = Header {
        version,
        dtype,
        byteswap,
        fortran_order,
        shape,
        data_offset,
    };
    header.data_len()?;
    // A 0 in the shape makes the byte size 0 however large the other
    // dimensions are; the layout check still refuses their overflow, as
    // NumPy does ("array is too big").
    header.layout()?;
    Ok(header)
}

/// Reads and parses the header at the start of `r`, a file of `file_len`
/// bytes. Reads only the preamble and the header, nothing of the data.
pub fn read_header(r: &mut impl Read, file_len: u64) -> Result<Header> {
    // Running out of bytes is a malformed file; anything else is the OS's.
    let read_err = |what: &str, e: std::io::Error| {
        if e.kind() == std::io::ErrorKind::UnexpectedEof {
            format_err(format!("the file ends inside the .npy {what}"))
        } else {
            Error::Io(format!("cannot read the .npy {what}: {e}"))
        }
    };
    let mut pre = [0u8; 8];
    let short =
        |have: u64| format_err(format!("file is too short for a .npy header: {have} bytes"));
    if file_len < 10 {
        return Err(short(file_len));
    }
    r.read_exact(&mut pre)
        .map_err(|e| read_err("preamble", e))?;
    if &pre[..6] != MAGIC {
        return Err(format_err(format!(
            "not a .npy file: it starts with {} instead of the magic \\x93NUMPY",
            pre[..6]
                .iter()
                .map(|b| format!("\\x{b:02x}"))
                .collect::<String>()
        )));
    }
    let version = (pre[6], pre[7]);
    let len_bytes = match version {
        (1, 0) => 2,
        (2, 0) | (3, 0) => 4,
        (a, b) => {
            return Err(format_err(format!(
                "unsupported .npy format version {a}.{b} (1.0, 2.0 and 3.0 are supported)"
            )));
        }
    };
    if file_len < 8 + len_bytes as u64 {
        return Err(short(file_len));
    }
    let mut lb = [0u8; 4];
    r.read_exact(&mut lb[..len_bytes])
        .map_err(|e| read_err("header length", e))?;
    let header_len = u32::from_le_bytes(lb) as usize;
    let data_offset = 8 + len_bytes + header_len;
    if data_offset as u64 > file_len {
        return Err(format_err(format!(
            "the .npy header length {header_len} runs past the end of the file ({file_len} bytes)"
        )));
    }
    if header_len > MAX_HEADER_LEN {
        return Err(format_err(format!(
            "the .npy header length {header_len} exceeds the limit of {MAX_HEADER_LEN} bytes"
        )));
    }
    let mut text = vec![0u8; header_len];
    r.read_exact(&mut text).map_err(|e| read_err("header", e))?;
    parse_header_text(&text, version, data_offset)
}

/// The complete header (preamble, dict, padding, newline) NumPy would write
/// for this dtype, shape and order, in the smallest version that fits. Its
/// length is a multiple of [`ARRAY_ALIGN`].
pub fn header_bytes(dtype: DType, shape: &[i64], fortran_order: bool) -> Result<Vec<u8>> {
    let dims: Vec<String> = shape.iter().map(i64::to_string).collect();
    let shape_repr = match dims.len() {
        1 => format!("({},)", dims[0]),
        _ => format!("({})", dims.join(", ")),
    };
    let mut dict = format!(
        "{{'descr': '{}', 'fortran_order': {}, 'shape': {shape_repr}, }}",
        dtype_to_descr(dtype)?,
        if fortran_order { "True" } else { "False" }
    );
    // NumPy's room for the growth axis, so files are byte-identical.
    if let Some(grow) = if fortran_order {
        dims.last()
    } else {
        dims.first()
    } {
        dict.push_str(&" ".repeat(GROWTH_AXIS_MAX_DIGITS.saturating_sub(grow.len())));
    }
    // Version 1.0 while the length fits 2 bytes; 3.0 (UTF-8) is never needed
    // for ASCII headers.
    for (version, len_bytes) in [((1u8, 0u8), 2usize), ((2, 0), 4)] {
        let hlen = dict.len() + 1;
        let pad = ARRAY_ALIGN - (6 + 2 + len_bytes + hlen) % ARRAY_ALIGN;
        let total = hlen + pad;
        if len_bytes == 2 && total > u16::MAX as usize {
            continue;
        }
        let mut out = Vec::with_capacity(8 + len_bytes + total);
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&[version.0, version.1]);
        out.extend_from_slice(&(total as u32).to_le_bytes()[..len_bytes]);
        out.extend_from_slice(dict.as_bytes());
        out.resize(out.len() + pad, b' ');
        out.push(b'\n');
        return Ok(out);
    }
    unreachable!("a version 2.0 header holds 4 GiB")
}

// ---- load ------------------------------------------------------------------

/// Opens `path` and reads its header, checking that the file holds all the
/// data the header announces. The file is positioned after the header.
pub fn open(path: &Path, mode: MapMode) -> Result<(File, Header)> {
    let mut file = mmap::open(path, mode)?;
    let len = mmap::file_len(&file, path)?;
    let header = read_header(&mut file, len).map_err(|e| match e {
        Error::Format(m) => Error::Format(format!("{}: {m}", path.display())),
        Error::Io(m) => Error::Io(format!("{}: {m}", path.display())),
        other => other,
    })?;
    let need = header.data_len()? as u64;
    let have = len - header.data_offset as u64;
    if need > have {
        return Err(format_err(format!(
            "{}: shape {} of {} needs {need} bytes of data, but the file holds {have} after the header",
            path.display(),
            fmt_dims(&header.shape),
            header.dtype
        )));
    }
    Ok((file, header))
}

/// Loads a `.npy` file: into a new buffer (`mode == None`), or as a memory
/// map with the given mode (`Create` is refused: it would truncate the
/// file). A Fortran-order file loads as an F-contiguous view, never a
/// transposing copy. Big-endian data loads as a byteswapped copy, and
/// cannot be mapped.
pub fn load(path: &Path, mode: Option<MapMode>) -> Result<Tensor> {
    if mode == Some(MapMode::Create) {
        return Err(Error::InvalidArgument(
            "mode \"w+\" would truncate the file; .npy files are mapped with \"r\", \"r+\" or \"c\"".into(),
        ));
    }
    let (file, header) = open(path, mode.unwrap_or(MapMode::Read))?;
    let layout = header.layout()?;
    match mode {
        Some(mode) => {
            if header.byteswap {
                return Err(format_err(format!(
                    "{}: {} data in non-native (big-endian) byte order cannot be memory-mapped; \
                     load it without mmap to get a byteswapped copy",
                    path.display(),
                    header.dtype
                )));
            }
            mmap::map_tensor(
                &file,
                path,
                mode,
                header.data_offset as u64,
                layout,
                header.dtype,
            )
        }
        None => {
            let n = header.data_len()?;
            let storage = Arc::new(Storage::allocate(n, false, Device::CPU)?);
            let data = storage.base();
            if n > 0 {
                mmap::advise_huge_pages(data, n);
                // SAFETY: the storage was allocated with `n` bytes and
                // nothing else can see it yet.
                unsafe { mmap::read_exact_at(&file, path, header.data_offset as u64, data, n) }?;
            }
            let mut t = Tensor::from_storage(storage, data, layout, header.dtype, true)?;
            if header.byteswap {
                byteswap_in_place(&mut t)?;
            }
            Ok(t)
        }
    }
}

/// Reverses the bytes of every element (every component of a complex one)
/// of a fresh compact tensor.
fn byteswap_in_place(t: &mut Tensor) -> Result<()> {
    let unit = match t.dtype().kind() {
        Kind::Complex => t.dtype().itemsize() / 2,
        _ => t.dtype().itemsize(),
    };
    let n = t.nbytes();
    let p = t.data_ptr_mut()?;
    if n == 0 || unit < 2 {
        return Ok(());
    }
    // SAFETY: `t` is a fresh compact writeable buffer of `n` bytes.
    let bytes = unsafe { std::slice::from_raw_parts_mut(p, n) };
    bytes.chunks_exact_mut(unit).for_each(<[u8]>::reverse);
    Ok(())
}

// ---- save ------------------------------------------------------------------

/// Chunks of non-contiguous tensors are gathered up to this size before
/// being written.
const WRITE_CHUNK: usize = 16 << 20;

/// Writes `t` to `path` as a `.npy` file (the smallest version that fits,
/// data 64-byte aligned). A C-contiguous tensor is written as it is, an
/// F-contiguous one with `fortran_order: True`, anything else in C order.
///
/// The file is written next to `path` under a temporary name, created
/// exclusively with a random name (a planted file or symlink is never
/// followed), given the permission bits of the file it replaces, and
/// renamed over it at the end, so a failure never leaves a half-written
/// file or a temporary, and live maps of an old file at `path` keep their
/// contents (docs/rules.md §7; `crate::fileio`).
pub fn save(t: &Tensor, path: &Path) -> Result<()> {
    t.device().require_host("saving to a .npy file")?;
    let fortran = !t.layout().is_c_contiguous() && t.layout().is_f_contiguous();
    let header = header_bytes(t.dtype(), t.shape(), fortran)?;
    crate::fileio::replace_atomically(path, |file, tmp| {
        let mut w = std::io::BufWriter::with_capacity(1 << 20, file);
        w.write_all(&header)
            .map_err(|e| io_error("write", tmp, e))?;
        let view = if fortran { t.transpose()? } else { t.clone() };
        write_c_order(&view, &mut w, tmp)?;
        w.flush().map_err(|e| io_error("write", tmp, e))
    })
}

/// Writes the elements of `t` in C order.
fn write_c_order(t: &Tensor, w: &mut impl Write, path: &Path) -> Result<()> {
    if t.size() == 0 {
        return Ok(());
    }
    if t.layout().is_c_contiguous() {
        // SAFETY: a C-contiguous view's `nbytes` bytes start at its data
        // pointer, inside its storage (checked when the view was made).
        let bytes = unsafe { std::slice::from_raw_parts(t.data_ptr(), t.nbytes()) };
        return w.write_all(bytes).map_err(|e| io_error("write", path, e));
    }
    if t.nbytes() <= WRITE_CHUNK {
        return write_c_order(&t.copy(Order::C)?, w, path);
    }
    // Gather big strided tensors piecewise, so saving never needs a second
    // copy of the whole tensor in memory.
    let n = t.shape()[0];
    if t.ndim() == 1 {
        let step = (WRITE_CHUNK / t.dtype().itemsize()).max(1) as i64;
        for start in (0..n).step_by(step as usize) {
            write_c_order(&t.slice(0, Some(start), Some(start + step), 1)?, w, path)?;
        }
    } else {
        for i in 0..n {
            write_c_order(&t.select(0, i)?, w, path)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<Header> {
        parse_header_text(s.as_bytes(), (1, 0), 128)
    }

    #[test]
    fn parses_what_numpy_writes() {
        let h = parse("{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }    \n").unwrap();
        assert_eq!(
            (h.dtype, h.byteswap, h.fortran_order, h.shape.as_slice()),
            (DType::F32, false, false, &[3, 4][..])
        );
        let h = parse("{'descr': '>i8', 'fortran_order': True, 'shape': (5,), }\n").unwrap();
        assert_eq!(
            (h.dtype, h.byteswap, h.fortran_order, h.shape.as_slice()),
            (DType::I64, true, true, &[5][..])
        );
        let h = parse("{\"shape\": (), \"fortran_order\": False, \"descr\": \"|b1\"}").unwrap();
        assert_eq!((h.dtype, h.shape.len()), (DType::BOOL, 0));
        let h = parse("{'descr': '<u2', 'fortran_order': False, 'shape': (2L, 3L)}").unwrap();
        assert_eq!(h.shape, [2, 3]);
        let h = parse("{'descr': 'bfloat16', 'fortran_order': False, 'shape': (1,)}").unwrap();
        assert_eq!(h.dtype, DType::BF16);
        assert_eq!(
            descr_to_dtype("float8_e4m3fn").unwrap(),
            (DType::F8_E4M3FN, false)
        );
        assert_eq!(descr_to_dtype("complex64").unwrap(), (DType::C64, false));
        assert_eq!(descr_to_dtype("f8").unwrap(), (DType::F64, false));
        assert_eq!(descr_to_dtype("|u1").unwrap(), (DType::U8, false));
        assert_eq!(descr_to_dtype(">i1").unwrap(), (DType::I8, false));
        assert_eq!(descr_to_dtype(">c16").unwrap(), (DType::C128, true));
        for alias in ["float", "double", "half", "long"] {
            assert!(descr_to_dtype(alias).is_err(), "{alias}");
        }
    }

    /// Every type code against NumPy's own reading: the expectations are
    /// `numpy.dtype(code).str` printed by NumPy 2.4 on x86-64 Linux ("ERR":
    /// NumPy raises; "refused": a type dlview does not have, or a spelling
    /// it refuses rather than guess). The same comparison runs live against
    /// the venv's NumPy in tests/python/test_npy_descr.py. Issue 15: '|b'
    /// was read as bool; NumPy reads it as int8 (bool is '|b1' or '?').
    #[test]
    fn descr_codes_read_as_numpy_reads_them() {
        let numpy = "b:|i1 ?:|b1 B:|u1 h:<i2 H:<u2 i:<i4 I:<u4 l:<i8 L:<u8 q:<i8 Q:<u8 p:<i8 P:<u8 \
                     n:<i8 N:<u8 e:<f2 f:<f4 d:<f8 g:refused F:<c8 D:<c16 G:refused i1:|i1 i2:<i2 \
                     i4:<i4 i8:<i8 u1:|u1 u2:<u2 u4:<u4 u8:<u8 f2:<f2 f4:<f4 f8:<f8 f16:refused \
                     c8:<c8 c16:<c16 c32:refused b1:|b1 b2:ERR ?1:ERR ?2:ERR B1:ERR h2:ERR e2:ERR \
                     d8:ERR D16:ERR F8:ERR i0:ERR u0:ERR f1:ERR f3:ERR c4:ERR b0:ERR i16:ERR \
                     i04:<i4 f08:<f8 b01:|b1 ?0:ERR e4:ERR E:ERR u:ERR c:refused c1:ERR x:ERR \
                     S:refused U:refused V4:refused O:refused M8:refused m8:refused";
        let str_of = |dt: DType| dtype_to_descr(dt).unwrap();
        for prefix in ["", "<", ">", "|", "="] {
            for entry in numpy.split_whitespace() {
                let (code, want) = entry.split_once(':').unwrap();
                let descr = format!("{prefix}{code}");
                let got = descr_to_dtype(&descr);
                match want {
                    "ERR" | "refused" => {
                        assert!(got.is_err(), "{descr:?} must be refused, got {got:?}")
                    }
                    want => {
                        let (dt, swap) = got.unwrap_or_else(|e| panic!("{descr:?}: {e}"));
                        // NumPy's `str` is in native order ('<' here) or '|'.
                        assert_eq!(str_of(dt), want, "{descr:?}");
                        assert_eq!(
                            swap,
                            prefix == ">" && dt.itemsize() > 1,
                            "{descr:?} byteswap"
                        );
                    }
                }
            }
        }
        // Type names take no byte-order prefix (NumPy: '<int8' is an error).
        for name in ["<int8", ">float32", "|bool", "=float64"] {
            assert!(descr_to_dtype(name).is_err(), "{name}");
        }
        for (name, dt) in [
            ("int8", DType::I8),
            ("bool", DType::BOOL),
            ("float32", DType::F32),
        ] {
            assert_eq!(descr_to_dtype(name).unwrap(), (dt, false), "{name}");
        }
    }

    #[test]
    fn rejects_malformed_headers() {
        let cases = [
            (
                "{'descr': '<f4', 'fortran_order': False}",
                "no \"shape\" key",
            ),
            (
                "{'fortran_order': False, 'shape': (1,)}",
                "no \"descr\" key",
            ),
            (
                "{'descr': '<f4', 'shape': (1,)}",
                "no \"fortran_order\" key",
            ),
            (
                "{'descr': '|O', 'fortran_order': False, 'shape': (1,)}",
                "object arrays",
            ),
            (
                "{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (1,)}",
                "structured",
            ),
            (
                "{'descr': '<f4', 'fortran_order': False, 'shape': (3)}",
                "shape is not a tuple",
            ),
            (
                "{'descr': '<f4', 'fortran_order': False, 'shape': (-1,)}",
                "shape dimension -1",
            ),
            (
                "{'descr': '<f4', 'fortran_order': 0, 'shape': (1,)}",
                "fortran_order is not",
            ),
            (
                "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), 'x': 1}",
                "unexpected key",
            ),
            (
                "{'descr': '<f4', 'fortran_order': False, 'shape': (1,)} junk",
                "after the header dict",
            ),
            (
                "{'descr': '<f4', 'fortran_order': False, 'shape': (1,",
                "unexpected end",
            ),
            (
                "{'descr': '<f4', 'fortran_order': False, 'shape': (4611686018427387904, 4)}",
                "more bytes than fit",
            ),
            (
                "{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999999999999999999999999,)}",
                "shape dimension",
            ),
            (
                "{'descr': '<U3', 'fortran_order': False, 'shape': (1,)}",
                "string types",
            ),
            (
                "{'descr': '<V2', 'fortran_order': False, 'shape': (1,)}",
                "void",
            ),
            (
                "{'descr': '<f16', 'fortran_order': False, 'shape': (1,)}",
                "long double",
            ),
            (
                "{'descr': 'float4_e2m1fn', 'fortran_order': False, 'shape': (1,)}",
                "unsupported descr",
            ),
            ("[1, 2]", "not a dict"),
        ];
        for (text, want) in cases {
            let err = parse(text).unwrap_err();
            assert!(matches!(err, Error::Format(_)), "{text}: {err:?}");
            assert!(err.to_string().contains(want), "{text}: {err}");
        }
        let err = parse_header_text(
            "{'descr': '<f4', 'fortran_order': False, 'shape': (1,)} \u{e9}".as_bytes(),
            (3, 0),
            0,
        )
        .unwrap_err();
        assert!(err.to_string().contains("non-ASCII byte 0xc3"), "{err}");
    }

    #[test]
    fn header_bytes_match_numpy() {
        // Byte strings NumPy 2.4 wrote with np.save.
        let h = header_bytes(DType::F32, &[4], false).unwrap();
        let mut want =
            b"\x93NUMPY\x01\x00v\x00{'descr': '<f4', 'fortran_order': False, 'shape': (4,), }"
                .to_vec();
        want.extend_from_slice(&[b' '; 60]);
        want.push(b'\n');
        assert_eq!(h, want);
        let h = header_bytes(DType::F64, &[2, 3], true).unwrap();
        assert_eq!(h.len(), 128);
        assert!(
            String::from_utf8_lossy(&h)
                .contains("{'descr': '<f8', 'fortran_order': True, 'shape': (2, 3), }")
        );
        let h = header_bytes(DType::F64, &[], false).unwrap();
        assert_eq!(h.len(), 128);
        let wide = vec![i64::MAX / (1i64 << 40); 64];
        assert_eq!(header_bytes(DType::U8, &wide, false).unwrap().len() % 64, 0);
        for dt in [
            DType::BOOL,
            DType::I8,
            DType::U8,
            DType::I16,
            DType::U64,
            DType::F16,
            DType::C64,
            DType::C128,
            DType::BF16,
            DType::F8_E5M2,
        ] {
            let h = header_bytes(dt, &[2, 2], false).unwrap();
            let parsed = read_header(&mut &h[..], h.len() as u64).unwrap();
            assert_eq!(
                (parsed.dtype, parsed.byteswap, parsed.data_offset),
                (dt, false, h.len())
            );
        }
    }
}
