//! The batcher's sinks: encode a batch (JSON, gzip) and post it to the ingest API.

use std::marker::PhantomData;

use amberflo_batcher::{Sink, SinkError};
use amberflo_transport::{ApiClient, encode_ingest_body};
use async_trait::async_trait;
use serde::Serialize;

/// Which ingest endpoint a sink posts to.
#[derive(Debug, Clone, Copy)]
pub(crate) enum IngestKind {
    /// `POST {ingest}/ingest/` with meter records.
    Records,
    /// `POST {ingest}/ingest?schemaDetection=AUTO` with custom-schema payloads.
    Custom,
}

/// Posts each batch of `T` to one ingest endpoint.
pub(crate) struct IngestSink<T> {
    api: ApiClient,
    kind: IngestKind,
    items: PhantomData<fn(&T)>,
}

impl<T> IngestSink<T> {
    pub(crate) fn new(api: ApiClient, kind: IngestKind) -> Self {
        IngestSink {
            api,
            kind,
            items: PhantomData,
        }
    }
}

#[async_trait]
impl<T: Serialize + Send + Sync + 'static> Sink<T> for IngestSink<T> {
    async fn send(&self, batch: &[T]) -> Result<(), SinkError> {
        let body = encode_ingest_body(batch).map_err(SinkError::fatal)?;
        let reply = match self.kind {
            IngestKind::Records => self.api.ingest_body(body).await,
            IngestKind::Custom => self.api.ingest_custom_body(body).await,
        };
        let Err(error) = reply else { return Ok(()) };
        let retry_after = error.retry_after();
        let sink_error = if error.is_retryable() {
            SinkError::retryable(error)
        } else {
            SinkError::fatal(error)
        };
        Err(match retry_after {
            Some(wait) => sink_error.with_retry_after(wait),
            None => sink_error,
        })
    }
}
