//! The pages a person looks at: the live dashboard at `/` (self-contained HTML whose inline
//! script polls `/_emulator/console` every 2 seconds), and the emulated
//! customer portal at `/portal/<token>` that `POST /session` links to.

use http::StatusCode;

use super::Handled;
use crate::console::escape;
use crate::server::Shared;
use crate::server::respond;

/// The dashboard, with no external assets.
const INDEX: &str = include_str!("page.html");

pub(super) fn index() -> Handled {
    Ok(respond::html(StatusCode::OK, INDEX))
}

/// No icon: 204, so a browser's request for one is neither an error nor API traffic.
pub(super) fn favicon() -> Handled {
    let mut reply = respond::text(StatusCode::NO_CONTENT, "");
    reply.headers_mut().remove(http::header::CONTENT_TYPE);
    Ok(reply)
}

pub(super) fn portal(shared: &Shared, token: &str) -> Handled {
    let Some(session) = shared.store.session(token) else {
        return Ok(respond::html(
            StatusCode::NOT_FOUND,
            "<!doctype html><title>Portal</title><p>Unknown portal session.</p>",
        ));
    };
    if session.expires_at_millis < amberflo_types::now_millis() {
        return Ok(respond::html(
            StatusCode::GONE,
            "<!doctype html><title>Portal</title><p>This portal session has expired.</p>",
        ));
    }
    let back = session
        .return_url
        .as_deref()
        .map(|url| format!(r#"<p><a href="{}">Return</a></p>"#, escape(url)))
        .unwrap_or_default();
    let page = format!(
        "<!doctype html><meta charset=\"utf-8\"><title>Customer portal</title>\
         <h1>Customer portal (emulated)</h1><p>Customer: <b>{}</b></p>{back}",
        escape(&session.customer_id)
    );
    Ok(respond::html(StatusCode::OK, page))
}
