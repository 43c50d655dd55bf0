//! A hand-written parser for the common shape of an ingest body, tried before the serde
//! visitors ([`parse`](super::parse)) and giving up on anything else.
//!
//! It takes a JSON array of record objects whose keys are the six known fields (each at most
//! once, all but `dimensions` present), whose strings hold no escapes and no control
//! characters, whose `meterValue` is a finite number and `meterTimeInMillis` an `i64`, and
//! whose `dimensions` are `null` or an object of strings. Every such body parses as the serde
//! path parses it, to the bit; for anything else (a single record, an unknown or repeated key,
//! an escape, a syntax or type error...) it gives up and the serde path parses the body from
//! scratch, so results and error messages stay serde's. A test holds the two to the same
//! batches.

use std::borrow::Cow;

use super::batch::{Fields, Span, seal};
use super::parse::Parsing;

/// Parses `json`, a JSON array of plain records, appending them to `parsing` (empty). Returns
/// `false` when the body is not of that shape, leaving `parsing` partly filled: the caller
/// must clear it before parsing the body another way.
pub(super) fn parse_plain<'a>(json: &'a str, parsing: &mut Parsing<'a>) -> bool {
    records(&mut Cursor { text: json, at: 0 }, parsing).is_some()
}

/// The whole body: `[`, records separated by commas, `]`, then nothing but whitespace.
fn records<'a>(cursor: &mut Cursor<'a>, parsing: &mut Parsing<'a>) -> Option<()> {
    cursor.require(b'[')?;
    if !cursor.eat(b']') {
        loop {
            record(cursor, parsing)?;
            if !cursor.eat(b',') {
                cursor.require(b']')?;
                break;
            }
        }
    }
    cursor.at_end().then_some(())
}

/// One record object, pushed to the batch.
fn record<'a>(cursor: &mut Cursor<'a>, parsing: &mut Parsing<'a>) -> Option<()> {
    cursor.require(b'{')?;
    let (mut unique_id, mut meter_api_name, mut meter_value) = (None, None, None);
    let (mut customer_id, mut meter_time_in_millis, mut dimensions) = (None, None, None);
    if !cursor.eat(b'}') {
        loop {
            if cursor.key(b"\"uniqueId\"")? {
                fill(&mut unique_id, cursor.string())?;
            } else if cursor.key(b"\"meterApiName\"")? {
                fill(&mut meter_api_name, cursor.string())?;
            } else if cursor.key(b"\"meterValue\"")? {
                fill(&mut meter_value, cursor.meter_value())?;
            } else if cursor.key(b"\"customerId\"")? {
                fill(&mut customer_id, cursor.string())?;
            } else if cursor.key(b"\"meterTimeInMillis\"")? {
                fill(&mut meter_time_in_millis, cursor.time())?;
            } else if cursor.key(b"\"dimensions\"")? {
                fill(&mut dimensions, cursor.dimensions(parsing))?;
            } else {
                // Another key, or one written with an escape.
                return None;
            }
            if !cursor.eat(b',') {
                cursor.require(b'}')?;
                break;
            }
        }
    }
    parsing.push(Fields {
        unique_id: Cow::Borrowed(unique_id?),
        meter_api_name: Cow::Borrowed(meter_api_name?),
        meter_value: meter_value?,
        customer_id: Cow::Borrowed(customer_id?),
        meter_time_in_millis: meter_time_in_millis?,
        dimensions: dimensions.flatten(),
    });
    Some(())
}

/// Stores a field's value; `None` when there is none (the value was not plain) or the field
/// came before.
fn fill<T>(slot: &mut Option<T>, value: Option<T>) -> Option<()> {
    if slot.is_some() {
        return None;
    }
    *slot = Some(value?);
    Some(())
}

/// A position in the body. The methods that read a token skip the whitespace before it, and
/// return `None` (or `false`) when the token is not there or not plain.
struct Cursor<'a> {
    text: &'a str,
    at: usize,
}

impl<'a> Cursor<'a> {
    /// The byte at the cursor, if any (whitespace not skipped).
    fn byte(&self) -> Option<u8> {
        self.text.as_bytes().get(self.at).copied()
    }

    /// Skips JSON whitespace.
    fn skip_whitespace(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.byte() {
            self.at += 1;
        }
    }

    /// Consumes `byte` when it is the next token.
    fn eat(&mut self, byte: u8) -> bool {
        self.skip_whitespace();
        self.eat_here(byte)
    }

    /// Consumes `byte`, which must be the next token.
    fn require(&mut self, byte: u8) -> Option<()> {
        self.eat(byte).then_some(())
    }

    /// Whether only whitespace is left.
    fn at_end(&mut self) -> bool {
        self.skip_whitespace();
        self.at == self.text.len()
    }

    /// Whether the next key is `key` (written with its quotes): when it is, consumes it and
    /// the colon that must follow. Comparing the key whole, rather than scanning it for its
    /// end, lets the parse go on without waiting for the scan.
    fn key(&mut self, key: &[u8]) -> Option<bool> {
        self.skip_whitespace();
        let found = self.rest_of(key);
        if found {
            self.require(b':')?;
        }
        Some(found)
    }

    /// A string without escapes or control characters, borrowed from the body.
    fn string(&mut self) -> Option<&'a str> {
        self.require(b'"')?;
        let start = self.at;
        let len = special_byte(self.text.as_bytes().get(start..)?)?;
        let end = start + len;
        self.at = end;
        // Not `require`: a tab or a line feed is not whitespace to skip here.
        self.eat_here(b'"').then_some(())?;
        // Both ends sit next to an ASCII quote, so on character boundaries.
        self.text.get(start..end)
    }

    /// A run of ASCII digits (possibly empty).
    fn digits(&mut self) -> &'a str {
        let start = self.at;
        while let Some(b'0'..=b'9') = self.byte() {
            self.at += 1;
        }
        self.text.get(start..self.at).unwrap_or_default()
    }

    /// Consumes `byte` when it comes right at the cursor (no whitespace before it).
    fn eat_here(&mut self, byte: u8) -> bool {
        // A branch, not `at += found`: the next position then depends on a predicted branch,
        // not on the byte loaded.
        if self.byte() == Some(byte) {
            self.at += 1;
            true
        } else {
            false
        }
    }

    /// A JSON number, `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`.
    fn number(&mut self) -> Option<Number<'a>> {
        self.skip_whitespace();
        let start = self.at;
        let negative = self.eat_here(b'-');
        let integer = match self.byte() {
            Some(b'0') => {
                self.at += 1;
                "0"
            }
            Some(b'1'..=b'9') => self.digits(),
            _ => return None,
        };
        let mut real = false;
        if self.eat_here(b'.') {
            if self.digits().is_empty() {
                return None;
            }
            real = true;
        }
        if self.eat_here(b'e') || self.eat_here(b'E') {
            if !self.eat_here(b'+') {
                self.eat_here(b'-');
            }
            if self.digits().is_empty() {
                return None;
            }
            real = true;
        }
        Some(Number {
            text: self.text.get(start..self.at)?,
            negative,
            integer,
            real,
        })
    }

    /// A `meterValue`: the `f64` serde_json reads (with `float_roundtrip`, correctly rounded).
    /// An integer that fits a `u64` is converted with `as` and then negated, as serde_json
    /// does, so `-0` is `-0.0`; any other number is parsed by the standard library, also
    /// correctly rounded. Out of range (an error in serde_json) gives up.
    fn meter_value(&mut self) -> Option<f64> {
        let number = self.number()?;
        let magnitude = if number.real {
            None
        } else {
            digits_value(number.integer)
        };
        let value = match magnitude {
            Some(magnitude) => {
                // The nearest `f64`, as serde_json converts it.
                let value = magnitude as f64;
                if number.negative { -value } else { value }
            }
            None => number.text.parse().ok()?,
        };
        value.is_finite().then_some(value)
    }

    /// A `meterTimeInMillis`: an integer that fits an `i64`. serde_json refuses `-0` (it reads
    /// it as the float `-0.0`), so this gives up on it too.
    fn time(&mut self) -> Option<i64> {
        let number = self.number().filter(|number| !number.real)?;
        let magnitude = i128::from(digits_value(number.integer)?);
        match (number.negative, magnitude) {
            (false, magnitude) => i64::try_from(magnitude).ok(),
            (true, 0) => None,
            (true, magnitude) => i64::try_from(-magnitude).ok(),
        }
    }

    /// A record's `dimensions`: `null` (`None`), or an object of strings appended to the
    /// batch's pairs and sealed, as the serde path does.
    fn dimensions(&mut self, parsing: &mut Parsing<'a>) -> Option<Option<Span>> {
        if self.eat(b'n') {
            return self.rest_of(b"ull").then_some(None);
        }
        self.require(b'{')?;
        let pairs = &mut parsing.batch.pairs;
        let start = pairs.len();
        if !self.eat(b'}') {
            loop {
                let key = self.string()?;
                self.require(b':')?;
                let value = self.string()?;
                pairs.push((Cow::Borrowed(key), Cow::Borrowed(value)));
                if !self.eat(b',') {
                    self.require(b'}')?;
                    break;
                }
            }
        }
        Some(Some(seal(pairs, start)))
    }

    /// Consumes `rest` when the text goes on with it, right at the cursor.
    fn rest_of(&mut self, rest: &[u8]) -> bool {
        let found = self
            .text
            .as_bytes()
            .get(self.at..)
            .is_some_and(|tail| tail.starts_with(rest));
        if found {
            self.at += rest.len();
        }
        found
    }
}

/// A number as [`Cursor::number`] read it.
struct Number<'a> {
    /// All of it.
    text: &'a str,
    negative: bool,
    /// The digits before any fraction or exponent.
    integer: &'a str,
    /// Whether it has a fraction or an exponent.
    real: bool,
}

/// The position of the first `"`, `\\` or control character in `bytes`, looked for eight bytes
/// at a time.
fn special_byte(bytes: &[u8]) -> Option<usize> {
    let mut chunks = bytes.chunks_exact(8);
    let mut offset = 0;
    for chunk in &mut chunks {
        let word = u64::from_le_bytes(chunk.try_into().ok()?);
        let found = special_bytes(word);
        if found != 0 {
            // The lowest flagged byte is the first special one (little-endian).
            return Some(offset + (found.trailing_zeros() / 8) as usize);
        }
        offset += 8;
    }
    let rest = chunks.remainder();
    let at = rest
        .iter()
        .position(|&byte| byte == b'"' || byte == b'\\' || byte < 0x20)?;
    Some(offset + at)
}

/// Each byte of `word` that is `"`, `\\` or below `0x20` flagged by its high bit. A byte after
/// a flagged one may be flagged wrongly (a borrow carries over), never a byte before it.
fn special_bytes(word: u64) -> u64 {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    /// The bytes below `n`, flagged (`n` at most `0x80`).
    fn below(word: u64, n: u8) -> u64 {
        word.wrapping_sub(ONES * u64::from(n)) & !word & HIGHS
    }
    below(word ^ (ONES * u64::from(b'"')), 1)
        | below(word ^ (ONES * u64::from(b'\\')), 1)
        | below(word, 0x20)
}

/// The value of a run of ASCII digits, or `None` when it does not fit a `u64`.
fn digits_value(digits: &str) -> Option<u64> {
    let value = |value: u64, digit: u8| value * 10 + u64::from(digit - b'0');
    if digits.len() < 20 {
        // Below 10^19, which fits.
        return Some(digits.bytes().fold(0, value));
    }
    digits.bytes().try_fold(0u64, |value, digit| {
        value.checked_mul(10)?.checked_add(u64::from(digit - b'0'))
    })
}

#[cfg(test)]
mod tests;
