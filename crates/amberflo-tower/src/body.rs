//! The body wrappers: [`RequestBody`] counts the bytes the service reads, [`ResponseBody`]
//! counts the bytes sent and meters the request when it ends or is dropped.

use std::fmt;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};

use bytes::Buf;
use http_body::{Body, Frame, SizeHint};
use pin_project_lite::pin_project;

use crate::config::Outcome;
use crate::shared::Pending;

pin_project! {
    /// The request body the inner service receives: the original body, its data bytes
    /// counted as they are read (when a meter needs them). Everything else is passed through.
    ///
    /// ```
    /// use http_body_util::{BodyExt, Full};
    ///
    /// // What a handler behind the layer sees is an ordinary body.
    /// async fn read(body: amberflo_tower::RequestBody<Full<bytes::Bytes>>) -> usize {
    ///     body.collect().await.map(|all| all.to_bytes().len()).unwrap_or(0)
    /// }
    /// # let _ = read;
    /// ```
    pub struct RequestBody<B> {
        #[pin]
        inner: B,
        counter: Option<Arc<AtomicU64>>,
    }
}

impl<B> RequestBody<B> {
    pub(crate) fn new(inner: B, counter: Option<Arc<AtomicU64>>) -> Self {
        RequestBody { inner, counter }
    }

    /// The original body.
    pub fn get_ref(&self) -> &B {
        &self.inner
    }

    /// The original body; bytes read from it afterwards are not counted.
    pub fn into_inner(self) -> B {
        self.inner
    }
}

impl<B: fmt::Debug> fmt::Debug for RequestBody<B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RequestBody")
            .field("inner", &self.inner)
            .finish_non_exhaustive()
    }
}

impl<B: Body> Body for RequestBody<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let this = self.project();
        let polled = this.inner.poll_frame(cx);
        if let (Some(counter), Poll::Ready(Some(Ok(frame)))) = (this.counter.as_ref(), &polled)
            && let Some(data) = frame.data_ref()
        {
            counter.fetch_add(data.remaining() as u64, Ordering::Relaxed);
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

pin_project! {
    /// The response body the layer returns: the service's body, its data bytes counted as
    /// they pass. The request is metered once, when this body reaches its end (outcome
    /// `completed`), fails (`error`), or is dropped before the end (`aborted`, e.g. the
    /// client disconnected). A body that is empty from the start is metered when the
    /// response head is ready.
    pub struct ResponseBody<B> {
        // `None` for the empty answer to a refused request.
        #[pin]
        inner: Option<B>,
        pending: Option<Pending>,
    }
}

impl<B: Body> ResponseBody<B> {
    pub(crate) fn new(inner: B, mut pending: Option<Pending>) -> Self {
        if inner.is_end_stream()
            && let Some(pending) = pending.take()
        {
            pending.finish(Outcome::Completed);
        }
        ResponseBody {
            inner: Some(inner),
            pending,
        }
    }
}

impl<B> ResponseBody<B> {
    /// The empty body of an answer the layer gives itself (a refused request).
    pub(crate) fn empty() -> Self {
        ResponseBody {
            inner: None,
            pending: None,
        }
    }

    /// The service's body, or `None` for the empty answer to a request the layer refused
    /// ([`InvalidCustomer::Refuse`](crate::InvalidCustomer)).
    pub fn get_ref(&self) -> Option<&B> {
        self.inner.as_ref()
    }
}

impl<B: fmt::Debug> fmt::Debug for ResponseBody<B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResponseBody")
            .field("inner", &self.inner)
            .field("pending", &self.pending)
            .finish()
    }
}

impl<B: Body> Body for ResponseBody<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let this = self.project();
        let Some(mut inner) = this.inner.as_pin_mut() else {
            return Poll::Ready(None);
        };
        let polled = inner.as_mut().poll_frame(cx);
        let ended = match &polled {
            Poll::Pending => None,
            Poll::Ready(Some(Ok(frame))) => {
                if let (Some(pending), Some(data)) = (this.pending.as_mut(), frame.data_ref()) {
                    pending.add_response_bytes(data.remaining());
                }
                // Servers stop polling once the body says it is over.
                inner.is_end_stream().then_some(Outcome::Completed)
            }
            Poll::Ready(None) => Some(Outcome::Completed),
            Poll::Ready(Some(Err(_))) => Some(Outcome::Error),
        };
        if let Some(outcome) = ended
            && let Some(pending) = this.pending.take()
        {
            pending.finish(outcome);
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.as_ref().is_none_or(Body::is_end_stream)
    }

    fn size_hint(&self) -> SizeHint {
        self.inner
            .as_ref()
            .map_or_else(|| SizeHint::with_exact(0), Body::size_hint)
    }
}
