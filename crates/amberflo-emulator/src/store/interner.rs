//! String interning for the compact record store: each distinct meter name, customer id,
//! dimension key and value is kept once and referred to by a 4-byte [`Sym`].

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// An interned string's number.
pub(crate) type Sym = u32;

/// A fast, non-cryptographic hasher (the multiply-rotate scheme of rustc's `FxHasher`).
/// Interned strings come from local clients, so hash flooding is not a concern.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct FxHasher(u64);

const SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

impl FxHasher {
    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(SEED);
    }
}

impl Hasher for FxHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            self.add(<[u8; 8]>::try_from(chunk).map_or(0, u64::from_le_bytes));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            self.add(tail_word(rest));
        }
    }

    fn write_u8(&mut self, value: u8) {
        self.add(u64::from(value));
    }

    fn write_u32(&mut self, value: u32) {
        self.add(u64::from(value));
    }

    fn write_u64(&mut self, value: u64) {
        self.add(value);
    }

    fn write_usize(&mut self, value: usize) {
        self.add(value as u64);
    }
}

/// The last 1 to 7 bytes of a string as one word, read with (overlapping) loads instead of
/// copying them into a zeroed buffer: that copy, then one 8-byte load of it, stalled on
/// store forwarding and was two thirds of the interner's time. Different tails may give the
/// same word; that only costs a comparison in the map.
fn tail_word(rest: &[u8]) -> u64 {
    let len = rest.len();
    let word = |at: usize| {
        rest.get(at..at + 4)
            .and_then(|bytes| <[u8; 4]>::try_from(bytes).ok())
            .map_or(0, u32::from_le_bytes)
    };
    if len >= 4 {
        (u64::from(word(len - 4)) << 32) | u64::from(word(0))
    } else {
        let byte = |at: usize| u64::from(rest.get(at).copied().unwrap_or(0));
        byte(0) | (byte(len / 2) << 8) | (byte(len - 1) << 16) | ((len as u64) << 24)
    }
}

/// The interned strings.
#[derive(Debug, Default)]
pub(crate) struct Interner {
    numbers: HashMap<Box<str>, Sym, BuildHasherDefault<FxHasher>>,
    strings: Vec<Box<str>>,
}

impl Interner {
    /// The number of `text`, interning it if it is new.
    pub(crate) fn intern(&mut self, text: &str) -> Sym {
        if let Some(sym) = self.numbers.get(text) {
            return *sym;
        }
        // More than 4 billion distinct strings would not fit in memory anyway.
        let sym = Sym::try_from(self.strings.len()).unwrap_or(Sym::MAX);
        self.strings.push(text.into());
        self.numbers.insert(text.into(), sym);
        sym
    }

    /// Like [`intern`](Self::intern), but first tries `hint`, the number this call site got
    /// last time, which it then updates. Consecutive records mostly repeat their meter name
    /// and dimension keys, and comparing a short string costs less than hashing it.
    pub(crate) fn intern_hinted(&mut self, text: &str, hint: &mut Option<Sym>) -> Sym {
        if let Some(sym) = *hint
            && self.resolve(sym) == text
        {
            return sym;
        }
        let sym = self.intern(text);
        *hint = Some(sym);
        sym
    }

    /// The string numbered `sym` ("" for a number never handed out).
    pub(crate) fn resolve(&self, sym: Sym) -> &str {
        self.strings.get(sym as usize).map_or("", |text| text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interns_once() {
        let mut interner = Interner::default();
        let a = interner.intern("alpha");
        let b = interner.intern("a much longer string than eight bytes");
        assert_ne!(a, b);
        assert_eq!(interner.intern("alpha"), a);
        assert_eq!(interner.resolve(b), "a much longer string than eight bytes");
        assert_eq!(interner.resolve(99), "");
        let mut hint = None;
        assert_eq!(interner.intern_hinted("alpha", &mut hint), a);
        assert_eq!(hint, Some(a));
        assert_eq!(interner.intern_hinted("alpha", &mut hint), a);
        let c = interner.intern_hinted("gamma", &mut hint);
        assert_eq!((interner.resolve(c), hint), ("gamma", Some(c)));
    }
}
