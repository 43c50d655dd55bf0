//! The batcher's sinks: encode a batch (JSON, gzip) and post it to the ingest API; a body over
//! the size cap, or a 413 answer, makes the batcher split the batch, and a 400 or 422 bisect
//! it to the records the server refuses. Also the spool's codec.

use std::marker::PhantomData;

use amberflo_batcher::{CodecError, Sink, SinkError, SpoolCodec};
use amberflo_transport::{ApiClient, gzip_ingest_body};
use amberflo_types::{MeterRecord, write_records_json};
use async_trait::async_trait;
use bytes::Bytes;
use http::StatusCode;

/// How a batch of one item type becomes a gzipped JSON ingest body.
pub(crate) trait IngestItem: serde::Serialize + Sized {
    /// The batch as the JSON array the ingest API takes.
    fn to_json(batch: &[Self]) -> Result<Vec<u8>, serde_json::Error>;

    /// The gzipped body; a batch that cannot be encoded fails for good.
    fn encode(batch: &[Self]) -> Result<Bytes, SinkError> {
        let json = Self::to_json(batch).map_err(SinkError::fatal)?;
        gzip_ingest_body(&json).map_err(SinkError::fatal)
    }
}

impl IngestItem for MeterRecord {
    /// The fast encoder: about half the CPU of `serde_json` for typical records.
    fn to_json(batch: &[Self]) -> Result<Vec<u8>, serde_json::Error> {
        // Typical records take 150-250 bytes; one allocation for most batches.
        let mut json = Vec::with_capacity(batch.len().saturating_mul(256));
        write_records_json(batch, &mut json)?;
        Ok(json)
    }
}

impl IngestItem for serde_json::Value {
    fn to_json(batch: &[Self]) -> Result<Vec<u8>, serde_json::Error> {
        serde_json::to_vec(batch)
    }
}

/// How the spool stores records and custom payloads: one JSON document per item (the same
/// JSON the ingest API takes, so a spool file can be read with ordinary tools).
#[derive(Debug, Clone, Copy)]
pub(crate) struct JsonCodec;

impl<T: serde::Serialize + serde::de::DeserializeOwned> SpoolCodec<T> for JsonCodec {
    fn encode(&self, item: &T, out: &mut Vec<u8>) -> Result<(), CodecError> {
        serde_json::to_writer(out, item).map_err(CodecError::new)
    }

    fn decode(&self, bytes: &[u8]) -> Result<T, CodecError> {
        serde_json::from_slice(bytes).map_err(CodecError::new)
    }
}

/// Which ingest endpoint a sink posts to.
#[derive(Debug, Clone, Copy)]
pub(crate) enum IngestKind {
    /// `POST {ingest}/ingest/` with meter records.
    Records,
    /// `POST {ingest}/ingest?schemaDetection=AUTO` with custom-schema payloads.
    Custom,
}

/// Posts each batch of `T` to one ingest endpoint, in bodies of at most `max_request_bytes`.
pub(crate) struct IngestSink<T> {
    api: ApiClient,
    kind: IngestKind,
    max_request_bytes: usize,
    items: PhantomData<fn(&T)>,
}

impl<T> IngestSink<T> {
    pub(crate) fn new(api: ApiClient, kind: IngestKind, max_request_bytes: usize) -> Self {
        IngestSink {
            api,
            kind,
            max_request_bytes,
            items: PhantomData,
        }
    }
}

#[async_trait]
impl<T: IngestItem + Send + Sync + 'static> Sink<T> for IngestSink<T> {
    async fn send(&self, batch: &[T]) -> Result<(), SinkError> {
        let body = T::encode(batch)?;
        // Too large for one request: the batcher splits the batch (a lone record that is
        // still too large fails alone) instead of retrying the same body.
        if body.len() > self.max_request_bytes {
            return Err(SinkError::too_large(format!(
                "the gzipped body of {} item(s) is {} bytes, over max_request_bytes ({})",
                batch.len(),
                body.len(),
                self.max_request_bytes
            )));
        }
        let reply = match self.kind {
            IngestKind::Records => self.api.ingest_body(body).await,
            IngestKind::Custom => self.api.ingest_custom_body(body).await,
        };
        let Err(error) = reply else { return Ok(()) };
        match error.status() {
            Some(StatusCode::PAYLOAD_TOO_LARGE) => Err(SinkError::too_large(error)),
            // The server refused what the batch holds: bisect it to the records at fault.
            Some(StatusCode::BAD_REQUEST | StatusCode::UNPROCESSABLE_ENTITY) => {
                Err(SinkError::rejected(error))
            }
            _ => Err(sink_error(error)),
        }
    }
}

/// A failed exchange as the batcher sees it: retryable or not, with the server's wait.
pub(crate) fn sink_error(error: amberflo_transport::Error) -> SinkError {
    let retry_after = error.retry_after();
    let sink_error = if error.is_retryable() {
        SinkError::retryable(error)
    } else {
        SinkError::fatal(error)
    };
    match retry_after {
        Some(wait) => sink_error.with_retry_after(wait),
        None => sink_error,
    }
}
