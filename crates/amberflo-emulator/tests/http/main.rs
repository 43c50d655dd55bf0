//! HTTP-level tests: a real emulator on 127.0.0.1, driven with reqwest (and raw TCP where
//! the bytes on the wire matter).

mod billing;
mod catalog;
mod clients;
mod control;
mod customers;
mod faults;
mod ingest;
mod lifecycle;
mod usage;

use amberflo_types::EpochMillis;
use std::io::Write;

use amberflo_emulator::Emulator;
use amberflo_types::MeterRecord;
use reqwest::{Method, RequestBuilder, Response, StatusCode};

/// 2024-01-01T00:00:00Z, a Monday.
pub(crate) const JAN_1_2024: i64 = 1_704_067_200;

/// An emulator plus a client for it.
pub(crate) struct Harness {
    pub(crate) emulator: Emulator,
    pub(crate) http: reqwest::Client,
    key: Option<String>,
}

impl Harness {
    /// An emulator with no API key.
    pub(crate) fn new() -> Self {
        Self::from(
            Emulator::builder()
                .worker_threads(1)
                .start()
                .expect("emulator starts"),
        )
    }

    /// An emulator started from `builder`-like settings, with the given key sent.
    pub(crate) fn with_key(key: &str) -> Self {
        let emulator = Emulator::builder()
            .worker_threads(1)
            .api_key(key)
            .start()
            .expect("emulator starts");
        let mut harness = Self::from(emulator);
        harness.key = Some(key.to_owned());
        harness
    }

    pub(crate) fn from(emulator: Emulator) -> Self {
        Harness {
            emulator,
            http: reqwest::Client::new(),
            key: None,
        }
    }

    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}{path}", self.emulator.url())
    }

    /// A request with the API key (when there is one) and JSON headers.
    pub(crate) fn request(&self, method: Method, path: &str) -> RequestBuilder {
        let builder = self
            .http
            .request(method, self.url(path))
            .header("Accept", "application/json");
        match &self.key {
            Some(key) => builder.header("X-API-KEY", key),
            None => builder,
        }
    }

    pub(crate) async fn get(&self, path: &str) -> Response {
        self.request(Method::GET, path)
            .send()
            .await
            .expect("request sent")
    }

    pub(crate) async fn send_json(
        &self,
        method: Method,
        path: &str,
        body: &impl serde::Serialize,
    ) -> Response {
        self.request(method, path)
            .json(body)
            .send()
            .await
            .expect("request sent")
    }

    /// Posts records to `/ingest/`, gzip-compressed as the SDK sends them.
    pub(crate) async fn ingest(&self, records: &[MeterRecord]) -> Response {
        let body = serde_json::to_vec(records).expect("serialisable records");
        self.request(Method::POST, "/ingest/")
            .header("Content-Type", "application/json")
            .header("Content-Encoding", "gzip")
            .body(gzip(&body))
            .send()
            .await
            .expect("request sent")
    }
}

/// gzip-compresses `bytes`.
pub(crate) fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(bytes).expect("in-memory write");
    encoder.finish().expect("in-memory gzip")
}

/// A valid record of `meter` for `customer` at `seconds` (Unix), with a unique id.
pub(crate) fn record(meter: &str, value: f64, customer: &str, seconds: i64) -> MeterRecord {
    MeterRecord::builder(meter, value, customer)
        .meter_time(EpochMillis::new(seconds * 1000))
        .build()
        .expect("valid record")
}

/// The status and the body's `message` of an error response.
pub(crate) async fn error_of(response: Response) -> (StatusCode, String) {
    let status = response.status();
    let body: serde_json::Value = response.json().await.expect("JSON error body");
    let message = body["message"].as_str().unwrap_or_default().to_owned();
    (status, message)
}
