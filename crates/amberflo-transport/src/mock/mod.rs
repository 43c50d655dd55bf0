//! [`MockTransport`]: a scripted, recording [`Transport`] for tests (feature `mock`).

mod delay;
mod recorded;
mod reply;

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use async_trait::async_trait;
use bytes::Bytes;
use http::header::CONTENT_ENCODING;

pub use recorded::RecordedRequest;
pub use reply::MockReply;

use crate::{Transport, TransportError, gzip};

/// A [`Transport`] that records every request and answers from a script, for testing code
/// that talks to Amberflo without a network.
///
/// - **Recording**: [`requests`](Self::requests) returns every request in arrival order, with
///   method, URI, headers and body (gunzipped when sent with `Content-Encoding: gzip`).
/// - **Scripting**: each call takes the first reply that applies, in this order:
///   1. the queue for the request's path ([`push_reply_for`](Self::push_reply_for)), consumed;
///   2. the sticky reply for the path ([`set_default_reply_for`](Self::set_default_reply_for));
///   3. the global queue ([`push_reply`](Self::push_reply)), consumed in order;
///   4. the default reply ([`set_default_reply`](Self::set_default_reply), initially
///      `200 OK` with an empty body).
///
///   Paths match the URI path exactly (`/ingest/`, `/usage/`), without the query.
/// - A reply can be a response, a [`TransportError`], and can come after a delay that needs no
///   async runtime (a helper thread wakes the task), so the mock works under any executor.
/// - A request declaring `Content-Encoding: gzip` whose body does not gunzip is recorded and
///   then failed with [`TransportError::InvalidRequest`], so broken encoding shows up in tests.
///
/// Clones share the same script and record (an [`Arc`] inside); it is `Send + Sync` and can be
/// used from many threads at once. Available with the `mock` feature, typically enabled only in
/// your `[dev-dependencies]`.
///
/// # Example: swapping it in
///
/// ```
/// use std::time::Duration;
/// use amberflo_transport::{ApiClient, ApiKey, Error, MockReply, MockTransport};
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let mock = MockTransport::new();
/// mock.push_reply(MockReply::text(429, "slow down").with_header("retry-after", "2"));
/// mock.push_reply(MockReply::text(200, "1 records were ingested"));
///
/// let client = ApiClient::builder(ApiKey::new("test-key")?)
///     .transport(mock.clone()) // instead of the default reqwest transport
///     .build()?;
///
/// let records = [serde_json::json!({"customerId": "c1", "meterApiName": "calls", "meterValue": 1})];
/// # let rt = tokio::runtime::Builder::new_current_thread().build()?;
/// # rt.block_on(async {
/// let first = client.ingest(&records[..]).await;
/// assert!(matches!(&first, Err(Error::Api(e)) if e.status == 429));
/// assert_eq!(first.unwrap_err().retry_after(), Some(Duration::from_secs(2)));
/// assert_eq!(client.ingest(&records[..]).await?, "1 records were ingested");
/// # Ok::<(), Error>(())
/// # })?;
///
/// let sent = mock.requests();
/// assert_eq!(sent.len(), 2);
/// assert_eq!(sent[0].path(), "/ingest/");
/// assert_eq!(sent[0].header("content-encoding"), Some("gzip"));
/// assert_eq!(sent[0].header("x-api-key"), Some("test-key"));
/// let body: serde_json::Value = sent[0].body_json()?; // already gunzipped
/// assert_eq!(body[0]["meterApiName"], "calls");
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Default)]
pub struct MockTransport {
    state: Arc<Mutex<State>>,
}

#[derive(Default)]
struct State {
    queue: VecDeque<MockReply>,
    path_queues: HashMap<String, VecDeque<MockReply>>,
    path_defaults: HashMap<String, MockReply>,
    default: MockReply,
    requests: Vec<RecordedRequest>,
}

impl State {
    fn next_reply(&mut self, path: &str) -> MockReply {
        if let Some(reply) = self.path_queues.get_mut(path).and_then(VecDeque::pop_front) {
            return reply;
        }
        if let Some(reply) = self.path_defaults.get(path) {
            return reply.clone();
        }
        self.queue
            .pop_front()
            .unwrap_or_else(|| self.default.clone())
    }
}

impl MockTransport {
    /// A mock answering `200 OK` with an empty body to everything.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock (in a test assertion) must not hide later requests.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Queues `reply` for the next call that no path script answers.
    pub fn push_reply(&self, reply: MockReply) -> &Self {
        self.state().queue.push_back(reply);
        self
    }

    /// Queues several replies, in order.
    pub fn push_replies(&self, replies: impl IntoIterator<Item = MockReply>) -> &Self {
        self.state().queue.extend(replies);
        self
    }

    /// Queues `reply` for the next call to `path` (exact URI path, such as `/ingest/`).
    pub fn push_reply_for(&self, path: &str, reply: MockReply) -> &Self {
        self.state()
            .path_queues
            .entry(path.to_owned())
            .or_default()
            .push_back(reply);
        self
    }

    /// Answers every call to `path` with `reply` once its queue is empty.
    pub fn set_default_reply_for(&self, path: &str, reply: MockReply) -> &Self {
        self.state().path_defaults.insert(path.to_owned(), reply);
        self
    }

    /// Answers every call no script covers with `reply` (initially `200 OK`, empty body).
    pub fn set_default_reply(&self, reply: MockReply) -> &Self {
        self.state().default = reply;
        self
    }

    /// Every request received so far, in arrival order.
    #[must_use]
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.state().requests.clone()
    }

    /// The requests received so far for `path`.
    #[must_use]
    pub fn requests_for(&self, path: &str) -> Vec<RecordedRequest> {
        self.state()
            .requests
            .iter()
            .filter(|r| r.path() == path)
            .cloned()
            .collect()
    }

    /// Removes and returns the requests received so far.
    #[must_use]
    pub fn take_requests(&self) -> Vec<RecordedRequest> {
        std::mem::take(&mut self.state().requests)
    }

    /// How many requests were received.
    #[must_use]
    pub fn request_count(&self) -> usize {
        self.state().requests.len()
    }

    /// How many queued replies (global and per path) are still unused.
    #[must_use]
    pub fn pending_replies(&self) -> usize {
        let state = self.state();
        state.queue.len() + state.path_queues.values().map(VecDeque::len).sum::<usize>()
    }

    /// Forgets all scripts and recorded requests; the default reply is `200 OK` again.
    pub fn reset(&self) {
        *self.state() = State::default();
    }
}

fn record(request: http::Request<Bytes>) -> (RecordedRequest, Option<std::io::Error>) {
    let (parts, raw_body) = request.into_parts();
    let gzipped = parts
        .headers
        .get(CONTENT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("gzip"));
    let (body, error) = if gzipped {
        match gzip::gunzip(&raw_body) {
            Ok(plain) => (Bytes::from(plain), None),
            Err(e) => (raw_body.clone(), Some(e)),
        }
    } else {
        (raw_body.clone(), None)
    };
    let recorded = RecordedRequest {
        method: parts.method,
        uri: parts.uri,
        headers: parts.headers,
        body,
        raw_body,
    };
    (recorded, error)
}

#[async_trait]
impl Transport for MockTransport {
    async fn send(
        &self,
        request: http::Request<Bytes>,
    ) -> Result<http::Response<Bytes>, TransportError> {
        let (recorded, gzip_error) = record(request);
        let path = recorded.path().to_owned();
        let reply = {
            let mut state = self.state();
            state.requests.push(recorded);
            state.next_reply(&path)
        };
        if let Some(error) = gzip_error {
            return Err(TransportError::invalid_request(format!(
                "MockTransport: body of {path} declares Content-Encoding: gzip but does not \
                 gunzip: {error}"
            )));
        }
        if let Some(delay) = reply.delay {
            delay::Delay::new(delay).await;
        }
        reply.into_result()
    }

    fn name(&self) -> &'static str {
        "mock"
    }
}

impl fmt::Debug for MockTransport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.state();
        f.debug_struct("MockTransport")
            .field("requests", &state.requests.len())
            .field("queued", &state.queue.len())
            .field(
                "paths",
                &(state.path_queues.len() + state.path_defaults.len()),
            )
            .finish_non_exhaustive()
    }
}

/// A minimal executor for this module's unit tests: polls only when woken, and panics if
/// the future is neither done nor woken within 10 seconds (a lost wake-up fails the test
/// instead of hanging it).
#[cfg(test)]
pub(crate) fn block_on_for_tests<F: std::future::Future>(future: F) -> F::Output {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::task::{Context, Poll, Wake, Waker};
    use std::time::{Duration, Instant};

    struct ThreadWaker {
        thread: std::thread::Thread,
        woken: AtomicBool,
    }
    impl Wake for ThreadWaker {
        fn wake(self: Arc<Self>) {
            self.woken.store(true, Ordering::SeqCst);
            self.thread.unpark();
        }
    }
    let state = Arc::new(ThreadWaker {
        thread: std::thread::current(),
        woken: AtomicBool::new(false),
    });
    let waker = Waker::from(Arc::clone(&state));
    let mut cx = Context::from_waker(&waker);
    let mut future = std::pin::pin!(future);
    loop {
        if let Poll::Ready(out) = future.as_mut().poll(&mut cx) {
            return out;
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        while !state.woken.swap(false, Ordering::SeqCst) {
            let left = deadline.saturating_duration_since(Instant::now());
            assert!(!left.is_zero(), "the future was not woken within 10 s");
            std::thread::park_timeout(left);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn get(path: &str) -> http::Request<Bytes> {
        http::Request::builder()
            .uri(format!("https://app.amberflo.io{path}"))
            .body(Bytes::new())
            .unwrap()
    }

    #[test]
    fn order_of_precedence() {
        let mock = MockTransport::new();
        mock.set_default_reply(MockReply::status(204));
        mock.push_reply(MockReply::status(201));
        mock.set_default_reply_for("/b", MockReply::status(202));
        mock.push_reply_for("/b", MockReply::status(203));
        let status = |p: &str| {
            block_on_for_tests(mock.send(get(p)))
                .unwrap()
                .status()
                .as_u16()
        };
        assert_eq!(status("/b"), 203); // path queue
        assert_eq!(status("/b"), 202); // path default
        assert_eq!(status("/a"), 201); // global queue
        assert_eq!(status("/a"), 204); // default
        assert_eq!(status("/b"), 202);
        assert_eq!(mock.pending_replies(), 0);
        assert_eq!(mock.requests_for("/b").len(), 3);
        mock.reset();
        assert_eq!(status("/a"), 200);
        assert_eq!(mock.take_requests().len(), 1);
        assert_eq!(mock.request_count(), 0);
    }

    #[test]
    fn bad_gzip_is_recorded_then_failed() {
        let mock = MockTransport::new();
        let req = http::Request::builder()
            .uri("https://ingest.amberflo.io/ingest/")
            .header("content-encoding", "gzip")
            .body(Bytes::from_static(b"plain"))
            .unwrap();
        let err = block_on_for_tests(mock.send(req)).unwrap_err();
        assert!(
            matches!(err, TransportError::InvalidRequest { .. }),
            "{err}"
        );
        assert_eq!(mock.requests()[0].raw_body, "plain");
    }

    #[test]
    fn debug_hides_the_key_header() {
        let mock = MockTransport::new();
        let mut value = http::HeaderValue::from_static("secret-key-xyz");
        value.set_sensitive(true);
        let mut req = get("/x");
        req.headers_mut().insert("x-api-key", value);
        block_on_for_tests(mock.send(req)).unwrap();
        let shown = format!("{:?} {mock:?}", mock.requests());
        assert!(!shown.contains("secret-key-xyz"), "{shown}");
        assert_eq!(
            mock.requests()[0].header("x-api-key"),
            Some("secret-key-xyz")
        );
    }
}
