//! Runnable examples for the `amberflo` SDK, each an `[[example]]` of this crate so that
//! `cargo run --example NAME` works from the workspace root.
