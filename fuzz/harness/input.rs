//! A byte stream turned into structured choices. Every read succeeds: an
//! exhausted input yields zeros, so every prefix of an input is a valid
//! (shorter) test case and the fuzzer's mutations stay meaningful.

pub struct Input<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Input<'a> {
    pub fn new(data: &'a [u8]) -> Self {
        Input { data, pos: 0 }
    }

    pub fn is_empty(&self) -> bool {
        self.pos >= self.data.len()
    }

    pub fn byte(&mut self) -> u8 {
        let b = self.data.get(self.pos).copied().unwrap_or(0);
        self.pos += 1;
        b
    }

    pub fn bool(&mut self) -> bool {
        self.byte() & 1 == 1
    }

    /// A number in `0..n` (`n > 0`).
    pub fn below(&mut self, n: usize) -> usize {
        self.byte() as usize % n
    }

    pub fn u16(&mut self) -> u16 {
        u16::from_le_bytes([self.byte(), self.byte()])
    }

    pub fn u32(&mut self) -> u32 {
        u32::from_le_bytes([self.byte(), self.byte(), self.byte(), self.byte()])
    }

    pub fn u64(&mut self) -> u64 {
        u64::from(self.u32()) | (u64::from(self.u32()) << 32)
    }

    /// A dimension length: mostly small, sometimes one of the values that
    /// break careless arithmetic.
    pub fn dim(&mut self) -> i64 {
        match self.byte() {
            b @ 0..=159 => i64::from(b % 6),
            b @ 160..=219 => i64::from(b % 64),
            b => EDGES[usize::from(b - 220) % EDGES.len()],
        }
    }

    /// A stride or index: small of either sign, sometimes an edge value.
    pub fn signed(&mut self) -> i64 {
        match self.byte() {
            b @ 0..=179 => i64::from(b % 15) - 7,
            b @ 180..=219 => i64::from(b % 40) * if b & 1 == 0 { 1 } else { -1 },
            b => EDGES[usize::from(b - 220) % EDGES.len()],
        }
    }
}

/// Values at the boundaries of i32, i64 and isize arithmetic.
pub const EDGES: [i64; 22] = [
    -1,
    i64::MIN,
    i64::MAX,
    i64::MIN + 1,
    i64::MAX - 1,
    1 << 31,
    (1 << 31) - 1,
    1 << 32,
    1 << 40,
    1 << 62,
    (1 << 62) + 1,
    -(1 << 62),
    1 << 61,
    (1 << 60) - 1,
    i64::MAX / 2,
    i64::MAX / 3,
    i64::MAX / 8,
    i64::MAX / 16 + 1,
    3_037_000_500, // about sqrt(i64::MAX)
    -3_037_000_500,
    65,
    -65,
];
