//! The batcher's sinks: encode a batch (JSON, gzip) and post it to the ingest API; a body over
//! the size cap, or a 413 answer, makes the batcher split the batch, and a 400 or 422 bisect
//! it to the records the server refuses. Also the spool's codec.

use std::cell::RefCell;
use std::marker::PhantomData;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use amberflo_batcher::{CodecError, Sink, SinkError, SpoolCodec};
use amberflo_transport::{ApiClient, Transport, TransportError, gzip_ingest_body};
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

/// How the spool stores custom payloads: one JSON document per item (the JSON the ingest API
/// takes).
#[derive(Debug, Clone, Copy)]
pub(crate) struct JsonCodec;

/// How the spool stores meter records: their compact binary form
/// ([`MeterRecord::write_compact`]), several times cheaper to write and read back than JSON.
/// A frame holding a JSON record (`{` first: no compact form starts so) is read as JSON.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RecordCodec;

impl SpoolCodec<MeterRecord> for RecordCodec {
    fn encode(&self, item: &MeterRecord, out: &mut Vec<u8>) -> Result<(), CodecError> {
        item.write_compact(out);
        Ok(())
    }

    fn decode(&self, bytes: &[u8]) -> Result<MeterRecord, CodecError> {
        if bytes.first() == Some(&b'{') {
            return serde_json::from_slice(bytes).map_err(CodecError::new);
        }
        MeterRecord::read_compact(bytes).map_err(CodecError::new)
    }
}

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

/// Makes a worker's own transport.
type MakeTransport = dyn Fn() -> Result<Arc<dyn Transport>, TransportError> + Send + Sync;

/// The client a batcher worker sends with: the client's shared one, or, with a built-in
/// transport, one per worker thread, made on the worker's first batch, so that its
/// connections live on the worker's own runtime (see `runtime::WorkerExecutor`) and stay
/// warm for that worker.
pub(crate) struct WorkerApi {
    shared: ApiClient,
    /// Tells this sink's clients apart in a thread's cache, and makes them.
    per_worker: Option<(u64, Box<MakeTransport>)>,
}

impl WorkerApi {
    /// Every worker sends through `api`.
    pub(crate) fn shared(api: ApiClient) -> Self {
        WorkerApi {
            shared: api,
            per_worker: None,
        }
    }

    /// Each worker sends through `api` with a transport of its own from `make`.
    pub(crate) fn per_worker(
        api: ApiClient,
        make: impl Fn() -> Result<Arc<dyn Transport>, TransportError> + Send + Sync + 'static,
    ) -> Self {
        static NEXT_ID: AtomicU64 = AtomicU64::new(0);
        WorkerApi {
            shared: api,
            per_worker: Some((NEXT_ID.fetch_add(1, Ordering::Relaxed), Box::new(make))),
        }
    }

    /// The calling worker's client.
    fn current(&self) -> Result<ApiClient, SinkError> {
        thread_local! {
            static CLIENTS: RefCell<Vec<(u64, ApiClient)>> = const { RefCell::new(Vec::new()) };
        }
        let Some((id, make)) = &self.per_worker else {
            return Ok(self.shared.clone());
        };
        // The same settings built the client's transport, so this fails only if the system
        // cannot give a new one (TLS roots, sockets): the batch is retried.
        let build = || {
            Ok(self
                .shared
                .with_transport(make().map_err(SinkError::retryable)?))
        };
        let cached = CLIENTS.try_with(|clients| {
            let found = clients
                .borrow()
                .iter()
                .find(|(of, _)| of == id)
                .map(|(_, api)| api.clone());
            if let Some(api) = found {
                return Ok(api);
            }
            let api = build()?;
            clients.borrow_mut().push((*id, api.clone()));
            Ok(api)
        });
        // Only while the thread exits: a client for this one batch.
        cached.unwrap_or_else(|_| build())
    }
}

/// Posts each batch of `T` to one ingest endpoint, in bodies of at most `max_request_bytes`.
pub(crate) struct IngestSink<T> {
    api: Arc<WorkerApi>,
    kind: IngestKind,
    max_request_bytes: usize,
    items: PhantomData<fn(&T)>,
}

impl<T> IngestSink<T> {
    pub(crate) fn new(api: Arc<WorkerApi>, kind: IngestKind, max_request_bytes: usize) -> Self {
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
        let api = self.api.current()?;
        let reply = match self.kind {
            IngestKind::Records => api.ingest_body(body).await,
            IngestKind::Custom => api.ingest_custom_body(body).await,
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

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicUsize;

    use amberflo_transport::{ApiKey, MockTransport};

    use super::*;

    fn api() -> ApiClient {
        ApiClient::builder(ApiKey::new("key").expect("key"))
            .transport(MockTransport::new())
            .build()
            .expect("client")
    }

    /// A per-worker `WorkerApi` counting the transports it makes.
    fn counting() -> (Arc<WorkerApi>, Arc<AtomicUsize>) {
        let made = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&made);
        let worker_api = WorkerApi::per_worker(api(), move || {
            counter.fetch_add(1, Ordering::SeqCst);
            Ok(Arc::new(MockTransport::new()) as Arc<dyn Transport>)
        });
        (Arc::new(worker_api), made)
    }

    #[test]
    fn the_record_codec_writes_the_compact_form_and_still_reads_json() {
        let record = MeterRecord::builder("ApiCalls", 2.5, "customer-1")
            .dimension("region", "us-east-1")
            .build()
            .expect("record");
        let mut bytes = Vec::new();
        RecordCodec.encode(&record, &mut bytes).expect("encode");
        assert_ne!(bytes.first(), Some(&b'{'));
        assert_eq!(RecordCodec.decode(&bytes).expect("compact"), record);
        let json = serde_json::to_vec(&record).expect("json");
        assert_eq!(RecordCodec.decode(&json).expect("json"), record);
        let error = RecordCodec.decode(&bytes[..bytes.len() - 1]).unwrap_err();
        assert!(error.to_string().contains("truncated"), "{error}");
        // Read directly, the compact form's error `?`s into the crate's error.
        let read = |bytes: &[u8]| -> Result<MeterRecord, crate::Error> {
            Ok(MeterRecord::read_compact(bytes)?)
        };
        assert!(matches!(read(&[9]), Err(crate::Error::Compact(_))));
    }

    #[test]
    fn each_worker_thread_makes_one_transport_and_keeps_it() {
        let (worker_api, made) = counting();
        let first = worker_api.current().expect("client");
        let again = worker_api.current().expect("client");
        assert!(Arc::ptr_eq(first.transport(), again.transport()));
        assert_eq!(made.load(Ordering::SeqCst), 1);

        let other = Arc::clone(&worker_api);
        let elsewhere = std::thread::spawn(move || other.current().expect("client"))
            .join()
            .expect("thread");
        assert!(!Arc::ptr_eq(first.transport(), elsewhere.transport()));
        assert_eq!(made.load(Ordering::SeqCst), 2);
    }

    #[test]
    fn two_clients_on_one_thread_keep_their_own_transports() {
        let (a, _) = counting();
        let (b, _) = counting();
        let (a, b) = (a.current().expect("a"), b.current().expect("b"));
        assert!(!Arc::ptr_eq(a.transport(), b.transport()));
    }

    #[test]
    fn a_transport_that_cannot_be_made_fails_the_batch_as_retryable() {
        let worker_api = WorkerApi::per_worker(api(), || {
            Err(TransportError::Setup {
                message: "no TLS roots".to_owned(),
                source: None,
            })
        });
        let error = worker_api.current().expect_err("no transport");
        assert!(error.is_retryable(), "{error:?}");
    }

    #[test]
    fn a_shared_worker_api_hands_out_the_shared_client() {
        let shared = api();
        let worker_api = WorkerApi::shared(shared.clone());
        let current = worker_api.current().expect("client");
        assert!(Arc::ptr_eq(current.transport(), shared.transport()));
    }
}
