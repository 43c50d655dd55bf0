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
            let mut word = [0u8; 8];
            word.copy_from_slice(chunk);
            self.add(u64::from_le_bytes(word));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut word = [0u8; 8];
            word[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(word));
        }
    }

    fn write_u8(&mut self, value: u8) {
        self.add(u64::from(value));
    }

    fn write_usize(&mut self, value: usize) {
        self.add(value as u64);
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
