//! Guards for transports that need a Tokio runtime: a clear error instead of a panic.

use crate::TransportError;

/// Fails with [`TransportError::Other`] when called outside a Tokio runtime, where the reqwest
/// and hyper stacks would panic ("there is no reactor running").
pub(crate) fn ensure_tokio(transport: &str) -> Result<(), TransportError> {
    match tokio::runtime::Handle::try_current() {
        Ok(_) => Ok(()),
        Err(_) => Err(TransportError::Other {
            message: format!(
                "{transport} transport polled outside a Tokio runtime; drive it from a Tokio \
                 runtime with I/O and time enabled"
            ),
            source: None,
        }),
    }
}

/// `error` and its sources, joined with `": "`, for messages that keep the root cause.
pub(crate) fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut message = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !message.contains(&text) {
            message.push_str(": ");
            message.push_str(&text);
        }
        source = cause.source();
    }
    message
}
