//! One HTTP exchange with Amberflo, behind a pluggable [`Transport`] trait.
//!
//! This crate owns how a request reaches Amberflo's API and nothing about batching: the
//! `Transport` trait, its reqwest and hyper implementations (each behind a feature), a
//! `MockTransport` for users' tests, and the thin Amberflo exchange layer above them
//! (headers, gzip, response classification, `Retry-After`).
