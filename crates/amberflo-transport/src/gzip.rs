//! Gzip for ingest bodies: encode JSON records, decode captured bodies.
//!
//! Ingest bodies use [`Compression::fast`] (level 1). JSON meter records are highly repetitive
//! (the same keys, meter names and customer ids in every record), so level 1 already shrinks a
//! batch several times over, while costing a fraction of the CPU of the default level 6; the
//! few percent that higher levels save do not pay for the time on the sending thread.

use std::cell::RefCell;
use std::io::Read;

use bytes::Bytes;
use flate2::read::GzDecoder;
use flate2::{Compress, Compression, FlushCompress, Status};
use serde::Serialize;

use crate::Error;

/// Serializes `records` to JSON and gzips it, ready for
/// [`ApiClient::ingest_body`](crate::ApiClient::ingest_body).
///
/// A batching sink can call this once per batch and keep the bytes for every retry.
///
/// # Errors
///
/// [`Error::Encode`] if `records` cannot be serialized.
///
pub(crate) fn encode_ingest_body<T: Serialize + ?Sized>(records: &T) -> Result<Bytes, Error> {
    let json =
        serde_json::to_vec(records).map_err(|e| Error::encode("ingest records as JSON", e))?;
    gzip_ingest_body(&json)
}

/// Gzips an already serialized JSON ingest body (for example one written by
/// `amberflo_types::write_records_json`).
///
/// Compresses in one call, with one compressor per thread kept for reuse: a fresh one would
/// allocate ~300 KiB of state per batch (then freed), which costs time and, with several
/// sending threads, leaves the allocator holding megabytes it cannot return.
///
/// # Errors
///
/// [`Error::Encode`] if compression fails (it does not when writing to memory).
///
/// ```
/// let body = amberflo_transport::gzip_ingest_body(br#"[{"meterValue":1}]"#)?;
/// assert_eq!(&body[..2], &[0x1f, 0x8b]); // the gzip magic number
/// # Ok::<(), amberflo_transport::Error>(())
/// ```
pub fn gzip_ingest_body(json: &[u8]) -> Result<Bytes, Error> {
    thread_local! {
        static COMPRESSOR: RefCell<Option<Compress>> = const { RefCell::new(None) };
    }
    let gzip = |slot: &mut Option<Compress>| {
        let compressor = slot.get_or_insert_with(new_compressor);
        compressor.reset();
        gzip_with(compressor, json)
    };
    COMPRESSOR
        .try_with(|cell| match cell.try_borrow_mut() {
            Ok(mut slot) => gzip(&mut slot),
            Err(_) => gzip(&mut None),
        })
        // While the thread's locals are being destroyed: a compressor for this call only.
        .unwrap_or_else(|_| gzip(&mut None))
}

/// A gzip (not raw deflate) compressor at level 1 with the largest window.
fn new_compressor() -> Compress {
    Compress::new_gzip(Compression::fast(), 15)
}

/// Compresses all of `json` with a freshly reset `compressor` into one gzip member.
fn gzip_with(compressor: &mut Compress, json: &[u8]) -> Result<Bytes, Error> {
    let mut out = Vec::with_capacity(json.len() / 4 + 64);
    let mut consumed = 0;
    loop {
        if out.capacity() - out.len() < 64 {
            out.reserve(out.capacity().max(1024));
        }
        let before = compressor.total_in();
        let status = compressor
            .compress_vec(
                json.get(consumed..).unwrap_or_default(),
                &mut out,
                FlushCompress::Finish,
            )
            .map_err(|e| Error::encode("gzip", e))?;
        consumed += usize::try_from(compressor.total_in() - before).unwrap_or(usize::MAX);
        if status == Status::StreamEnd {
            return Ok(Bytes::from(out));
        }
    }
}

/// Gunzips `data`.
#[cfg_attr(not(any(test, feature = "mock")), allow(dead_code))]
pub(crate) fn gunzip(data: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut out = Vec::with_capacity(data.len().saturating_mul(4));
    GzDecoder::new(data).read_to_end(&mut out)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn round_trips_json() {
        let records = serde_json::json!([{"customerId": "c1", "meterValue": 2.5}]);
        let body = encode_ingest_body(&records).unwrap();
        let back: serde_json::Value = serde_json::from_slice(&gunzip(&body).unwrap()).unwrap();
        assert_eq!(back, records);
    }

    #[test]
    fn a_reused_compressor_makes_whole_independent_bodies() {
        // Incompressible bytes (a xorshift stream) outgrow the first output guess many times.
        let mut state = 0x2545_f491_4f6c_dd1d_u64;
        let noise: Vec<u8> = (0..1_000_000)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                state.to_le_bytes()[0]
            })
            .collect();
        for input in [&noise[..], b"[]", &noise[..1000], b""] {
            let body = gzip_ingest_body(input).unwrap();
            assert_eq!(gunzip(&body).unwrap(), input);
        }
    }

    #[test]
    fn compresses_repetitive_records() {
        let records: Vec<_> = (0..100)
            .map(|i| serde_json::json!({"customerId": "customer-1", "meterApiName": "api-calls", "meterValue": i}))
            .collect();
        let json = serde_json::to_vec(&records).unwrap();
        let body = encode_ingest_body(&records).unwrap();
        assert!(
            body.len() * 4 < json.len(),
            "{} vs {}",
            body.len(),
            json.len()
        );
    }

    #[test]
    fn gunzip_rejects_garbage() {
        assert!(gunzip(b"not gzip").is_err());
    }

    proptest! {
        #[test]
        fn any_strings_round_trip(items in proptest::collection::vec(".*", 0..20)) {
            let body = encode_ingest_body(&items).map_err(|e| TestCaseError::fail(e.to_string()))?;
            let plain = gunzip(&body).map_err(|e| TestCaseError::fail(e.to_string()))?;
            let back: Vec<String> = serde_json::from_slice(&plain).map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert_eq!(back, items);
        }
    }
}
