//! A runtime-agnostic producer/consumer batching engine.
//!
//! Many producer threads enqueue items without blocking; background workers drain them in
//! batches and hand each batch to a sink, retrying with jittered exponential backoff. Every
//! item ends in exactly one bucket: delivered, failed (handed to the error callback) or
//! rejected at enqueue. The crate depends on no async runtime and no HTTP client.
