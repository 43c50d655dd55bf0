//! A local, in-memory, Amberflo-compatible HTTP server.
//!
//! It speaks the same API as Amberflo (ingest, usage, customers, billing), so the SDK's
//! examples run offline, users can integration-test their metering code, and this project's
//! own tests and benchmarks talk to a real server over loopback HTTP.
