//! The Rust SDK for [Amberflo](https://www.amberflo.io) usage metering and billing.
//!
//! This facade composes `amberflo-types` (payload models), `amberflo-transport` (HTTP) and
//! `amberflo-batcher` (background batching) behind feature flags; it is the crate most users
//! depend on.
