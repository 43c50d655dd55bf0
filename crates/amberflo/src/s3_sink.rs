//! The S3 sink (feature `s3`): each batch becomes one object in the customer's bucket, laid
//! out as Amberflo's S3 ingestion and the Python SDK expect: `{prefix}{uuid4}-{%d-%b-%Y-%H-%M-%S-%f}.json`
//! for meter records, under `ingest/schema_detection=AUTO/` for custom-schema payloads (UTC).
//!
//! Each attempt writes a fresh key: when an answer is lost after S3 stored the object, the
//! retry stores the batch again, and Amberflo deduplicates the records by `uniqueId`.

use std::marker::PhantomData;
use std::time::{SystemTime, UNIX_EPOCH};

use amberflo_batcher::{Sink, SinkError};
use amberflo_transport::{S3BodyFormat, S3Client, gzip_ingest_body};
use amberflo_types::CalendarDate;
use async_trait::async_trait;
use bytes::Bytes;

use crate::sink::{IngestItem, IngestKind, sink_error};

/// Writes each batch of `T` as one object.
pub(crate) struct S3Sink<T> {
    client: S3Client,
    kind: IngestKind,
    items: PhantomData<fn(&T)>,
}

impl<T> S3Sink<T> {
    pub(crate) fn new(client: S3Client, kind: IngestKind) -> Self {
        S3Sink {
            client,
            kind,
            items: PhantomData,
        }
    }
}

#[async_trait]
impl<T: IngestItem + Send + Sync + 'static> Sink<T> for S3Sink<T> {
    async fn send(&self, batch: &[T]) -> Result<(), SinkError> {
        let format = self.client.destination().body_format();
        let body = encode(batch, format).map_err(SinkError::fatal)?;
        let key = object_key(self.kind, format, SystemTime::now());
        self.client.put_object(&key, body).await.map_err(sink_error)
    }
}

/// The batch in `format`.
fn encode<T: IngestItem>(
    batch: &[T],
    format: S3BodyFormat,
) -> Result<Bytes, amberflo_transport::Error> {
    let encode_error = |error: serde_json::Error| amberflo_transport::Error::Encode {
        message: format!("the batch as JSON: {error}"),
        source: Some(std::sync::Arc::new(error)),
    };
    match format {
        S3BodyFormat::GzipJson => gzip_ingest_body(&T::to_json(batch).map_err(encode_error)?),
        S3BodyFormat::Ndjson => {
            let mut lines = Vec::with_capacity(batch.len().saturating_mul(256));
            for item in batch {
                serde_json::to_writer(&mut lines, item).map_err(encode_error)?;
                lines.push(b'\n');
            }
            Ok(lines.into())
        }
        // `Json`, and any format added later, as the Python SDK writes it.
        _ => Ok(T::to_json(batch).map_err(encode_error)?.into()),
    }
}

/// `{uuid4}-{%d-%b-%Y-%H-%M-%S-%f}{suffix}`, under `ingest/schema_detection=AUTO/` for custom
/// payloads (the prefix is the client's).
fn object_key(kind: IngestKind, format: S3BodyFormat, now: SystemTime) -> String {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let since_epoch = now.duration_since(UNIX_EPOCH).unwrap_or_default();
    let date = CalendarDate::from_system_time(now);
    let seconds = since_epoch.as_secs() % 86_400;
    let month = MONTHS[usize::from(date.month().number().saturating_sub(1)) % 12];
    let folder = match kind {
        IngestKind::Records => "",
        IngestKind::Custom => "ingest/schema_detection=AUTO/",
    };
    format!(
        "{folder}{}-{:02}-{month}-{:04}-{:02}-{:02}-{:02}-{:06}{}",
        uuid::Uuid::new_v4().hyphenated(),
        date.day(),
        date.year(),
        seconds / 3600,
        seconds % 3600 / 60,
        seconds % 60,
        since_epoch.subsec_micros(),
        format.suffix(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn keys_follow_the_python_sdk_layout() {
        // 2023-11-14T22:13:20.123456Z
        let at = UNIX_EPOCH + Duration::from_micros(1_700_000_000_123_456);
        let key = object_key(IngestKind::Records, S3BodyFormat::Json, at);
        let (id, date) = key.split_at(36);
        assert!(uuid::Uuid::parse_str(id).is_ok(), "{key}");
        assert_eq!(date, "-14-Nov-2023-22-13-20-123456.json");
        let custom = object_key(IngestKind::Custom, S3BodyFormat::GzipJson, at);
        assert!(
            custom.starts_with("ingest/schema_detection=AUTO/"),
            "{custom}"
        );
        assert!(
            custom.ends_with("-14-Nov-2023-22-13-20-123456.json.gz"),
            "{custom}"
        );
    }

    #[test]
    fn ndjson_is_one_object_per_line() {
        let batch = [
            serde_json::json!({"a": 1}),
            serde_json::json!({"b": "x\ny"}),
        ];
        let body = encode(&batch, S3BodyFormat::Ndjson).unwrap();
        assert_eq!(&body[..], b"{\"a\":1}\n{\"b\":\"x\\ny\"}\n");
        let json = encode(&batch, S3BodyFormat::Json).unwrap();
        assert_eq!(&json[..], br#"[{"a":1},{"b":"x\ny"}]"#);
    }
}
