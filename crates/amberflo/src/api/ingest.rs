//! [`IngestApi`]: ingest given records now (`POST {ingest}/ingest/`), around the queue.

use amberflo_types::MeterRecord;

use crate::client::Client;
use crate::error::Error;

/// Sends meter records synchronously, around the batching queue; from [`Client::ingest`].
///
/// For scripts, command-line tools and low-volume callers who want the server's answer for
/// exactly these records. High-volume code should [`meter`](Client::meter): it never waits.
///
/// ```no_run
/// use amberflo::MeterRecord;
///
/// # async fn demo(client: amberflo::Client) -> Result<(), amberflo::Error> {
/// let records = [
///     MeterRecord::builder("ApiCalls", 1.0, "customer-1").build()?,
///     MeterRecord::builder("ApiCalls", 2.0, "customer-2").build()?,
/// ];
/// let reply = client.ingest().send(&records).await?;
/// println!("{reply}"); // "2 records were ingested"
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Copy)]
pub struct IngestApi<'a> {
    client: &'a Client,
}

impl<'a> IngestApi<'a> {
    pub(crate) fn new(client: &'a Client) -> Self {
        IngestApi { client }
    }

    /// Sends `records` in one request now and returns the server's reply text (`"N records
    /// were ingested"`). They are checked against the client's record limits, encoded and
    /// gzipped as the workers do, and retried like any idempotent call (a resent record
    /// keeps its `uniqueId`, which the server deduplicates on). The Python SDK's
    /// `IngestApiClient.send`.
    ///
    /// # Errors
    /// [`Error::Validation`] naming `records` when the list is empty or its gzipped body is
    /// over the client's `max_request_bytes` (send fewer at a time), or `records[i]...` for a
    /// record over a limit (nothing is sent); else as any API call, for exactly these records.
    #[doc(alias = "send_now")]
    pub async fn send(self, records: &[MeterRecord]) -> Result<String, Error> {
        self.client.ingest_now(records).await
    }
}
