//! A compact binary form of [`MeterRecord`] for local storage (the SDK's disk spool keeps
//! records in it): several times cheaper to write and read back than JSON. It is not an
//! Amberflo wire format.
//!
//! Layout (integers little-endian, lengths as LEB128 varints, strings UTF-8):
//!
//! ```text
//! u8       version (1)
//! u8       id kind: 0 = UUID (16 bytes follow), 1 = custom (length + bytes follow)
//! ...      the unique id
//! str      meter API name
//! str      customer id
//! f64      meter value
//! i64      meter time in milliseconds
//! varint   0 without dimensions, else 1 + their number, then each key and value as a str,
//!          keys in increasing byte order
//! ```
//!
//! Decoding checks every length against the bytes left, UTF-8, the key order and that nothing
//! follows: damage is a [`CompactError`], never a panic or a huge allocation. It does not
//! validate the fields again (a changed byte may read as another valid-looking record; the
//! spool's frames carry a checksum for that). A later layout gets another version byte.

use std::fmt;

use compact_str::CompactString;
use uuid::Uuid;

use crate::ingest::IdRepr;
use crate::{Dimensions, MeterRecord, UniqueId};

/// The version this code writes and reads.
const VERSION: u8 = 1;
const ID_UUID: u8 = 0;
const ID_CUSTOM: u8 = 1;

/// Bytes that are not a compact record.
///
/// ```
/// use amberflo_types::MeterRecord;
///
/// let error = MeterRecord::read_compact(&[9]).unwrap_err();
/// assert_eq!(
///     error.to_string(),
///     "not a compact meter record: unknown version 9"
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompactError {
    reason: &'static str,
    version: Option<u8>,
}

impl CompactError {
    fn new(reason: &'static str) -> Self {
        CompactError {
            reason,
            version: None,
        }
    }

    /// What was wrong.
    pub fn reason(&self) -> &str {
        self.reason
    }
}

impl fmt::Display for CompactError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "not a compact meter record: {}", self.reason)?;
        match self.version {
            Some(version) => write!(f, " {version}"),
            None => Ok(()),
        }
    }
}

impl std::error::Error for CompactError {}

impl MeterRecord {
    /// Appends the record's compact binary form to `out` (see [`read_compact`](Self::read_compact)).
    ///
    /// ```
    /// use amberflo_types::MeterRecord;
    ///
    /// let record = MeterRecord::builder("ApiCalls", 1.5, "customer-1")
    ///     .dimension("region", "us-east-1")
    ///     .build()?;
    /// let mut bytes = Vec::new();
    /// record.write_compact(&mut bytes);
    /// assert!(bytes.len() < serde_json::to_vec(&record)?.len() / 2);
    /// assert_eq!(MeterRecord::read_compact(&bytes)?, record);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn write_compact(&self, out: &mut Vec<u8>) {
        out.push(VERSION);
        match self.unique_id().repr() {
            IdRepr::Uuid(uuid) => {
                out.push(ID_UUID);
                out.extend_from_slice(uuid.as_bytes());
            }
            IdRepr::Custom(custom) => {
                out.push(ID_CUSTOM);
                write_str(custom, out);
            }
        }
        write_str(self.meter_api_name(), out);
        write_str(self.customer_id(), out);
        out.extend_from_slice(&self.meter_value().to_le_bytes());
        out.extend_from_slice(&self.meter_time_in_millis().to_le_bytes());
        match self.dimensions() {
            Some(dimensions) => {
                write_varint(dimensions.len() as u64 + 1, out);
                for (key, value) in dimensions.iter() {
                    write_str(key, out);
                    write_str(value, out);
                }
            }
            None => write_varint(0, out),
        }
    }

    /// The record whose compact form is `bytes` (written by
    /// [`write_compact`](Self::write_compact)).
    ///
    /// The record is not validated again: it was when it was built.
    ///
    /// # Errors
    ///
    /// A [`CompactError`] when the bytes are not exactly one compact record (damaged,
    /// truncated, followed by more bytes, or of an unknown version).
    pub fn read_compact(bytes: &[u8]) -> Result<MeterRecord, CompactError> {
        let mut reader = Reader { bytes };
        let version = reader.byte()?;
        if version != VERSION {
            return Err(CompactError {
                reason: "unknown version",
                version: Some(version),
            });
        }
        let unique_id = match reader.byte()? {
            ID_UUID => UniqueId::from(Uuid::from_bytes(reader.array()?)),
            ID_CUSTOM => UniqueId::custom(reader.str()?.to_owned()),
            _ => return Err(CompactError::new("unknown id kind")),
        };
        let meter_api_name = CompactString::new(reader.str()?);
        let customer_id = CompactString::new(reader.str()?);
        let meter_value = f64::from_le_bytes(reader.array()?);
        let meter_time_in_millis = i64::from_le_bytes(reader.array()?);
        let dimensions = match reader.varint()? {
            0 => None,
            present => Some(read_dimensions(&mut reader, present - 1)?),
        };
        if !reader.bytes.is_empty() {
            return Err(CompactError::new("bytes after the record"));
        }
        Ok(MeterRecord::from_parts(
            unique_id,
            meter_api_name,
            meter_value,
            customer_id,
            meter_time_in_millis,
            dimensions,
        ))
    }
}

/// Reads `count` dimensions.
fn read_dimensions(reader: &mut Reader<'_>, count: u64) -> Result<Dimensions, CompactError> {
    // Each pair takes at least two bytes: a count beyond that is damage, not a reason to
    // reserve memory (nor is a large one: the list grows as pairs are read).
    if count > (reader.bytes.len() / 2) as u64 {
        return Err(CompactError::new("dimension count beyond the bytes left"));
    }
    let mut dimensions = Dimensions::with_capacity((count as usize).min(16));
    let mut last: Option<&str> = None;
    for _ in 0..count {
        let key = reader.str()?;
        if last.is_some_and(|last| last >= key) {
            return Err(CompactError::new("dimension keys out of order"));
        }
        last = Some(key);
        dimensions.insert(key, reader.str()?);
    }
    Ok(dimensions)
}

fn write_varint(mut value: u64, out: &mut Vec<u8>) {
    while value >= 0x80 {
        out.push((value as u8) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

fn write_str(value: &str, out: &mut Vec<u8>) {
    write_varint(value.len() as u64, out);
    out.extend_from_slice(value.as_bytes());
}

/// Reads fields off the front of a byte slice.
struct Reader<'a> {
    bytes: &'a [u8],
}

impl<'a> Reader<'a> {
    fn take(&mut self, len: usize) -> Result<&'a [u8], CompactError> {
        if len > self.bytes.len() {
            return Err(CompactError::new("truncated"));
        }
        let (head, rest) = self.bytes.split_at(len);
        self.bytes = rest;
        Ok(head)
    }

    fn byte(&mut self) -> Result<u8, CompactError> {
        Ok(self.take(1)?[0])
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], CompactError> {
        let mut array = [0; N];
        array.copy_from_slice(self.take(N)?);
        Ok(array)
    }

    fn varint(&mut self) -> Result<u64, CompactError> {
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let byte = self.byte()?;
            value |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(CompactError::new("length too long"))
    }

    fn str(&mut self) -> Result<&'a str, CompactError> {
        let len = usize::try_from(self.varint()?).unwrap_or(usize::MAX);
        std::str::from_utf8(self.take(len)?).map_err(|_| CompactError::new("invalid UTF-8"))
    }
}
