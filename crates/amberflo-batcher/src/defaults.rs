//! Every default setting of the engine, in one place.
//!
//! The values follow the official Python SDK (`amberflo-metering-python` 3.3.1) wherever it
//! has one, except the batch size and the workers (see [`MAX_BATCH_SIZE`] and [`WORKERS`]);
//! the rest are documented here.
//!
//! | setting | default | builder method |
//! | --- | --- | --- |
//! | queue capacity | [`CAPACITY`] = 100,000 records | [`capacity`](crate::BatcherBuilder::capacity) |
//! | max batch size | [`MAX_BATCH_SIZE`] = 500 records (clamped to the capacity) | [`max_batch_size`](crate::BatcherBuilder::max_batch_size) |
//! | linger | [`LINGER`] = 0.5 s | [`linger`](crate::BatcherBuilder::linger) |
//! | worker threads | [`WORKERS`] = 3 | [`workers`](crate::BatcherBuilder::workers) |
//! | retries | [`BACKOFF`]`.len()` = 6, waits 2, 6, 12, 20, 40, 80 s nominal, full jitter | [`retry_policy`](crate::BatcherBuilder::retry_policy) |
//! | `Retry-After` cap | [`MAX_RETRY_AFTER`] = 60 s | [`RetryPolicy::with_max_retry_after`](crate::RetryPolicy::with_max_retry_after) |
//! | extra requests to isolate refused records, per batch | [`BISECT_BUDGET`] = 64 | [`bisect_budget`](crate::BatcherBuilder::bisect_budget) |
//! | shutdown timeout (also used by `Drop`) | [`SHUTDOWN_TIMEOUT`] = 10 s | [`shutdown_timeout`](crate::BatcherBuilder::shutdown_timeout) |
//! | worker thread names | [`THREAD_NAME`]`-0`, `-1`, … | [`thread_name`](crate::BatcherBuilder::thread_name) |
//! | executor | [`ParkExecutor`](crate::ParkExecutor) (no reactor) | [`executor`](crate::BatcherBuilder::executor) |
//! | error callback | logs the failure with `tracing::error!` and drops the batch | [`on_error`](crate::BatcherBuilder::on_error) |

use std::time::Duration;

/// Default most extra requests spent per batch bisecting a [refused](crate::SinkError::rejected)
/// batch down to the records the server refuses: enough for a few bad records in a batch of
/// 1,000 (each costs about 2 × log2(1,000) ≈ 20).
pub const BISECT_BUDGET: u32 = 64;

/// Default queue capacity, in records (Python SDK: 100,000).
pub const CAPACITY: usize = 100_000;

/// Default maximum number of records per batch (Python SDK: 100).
///
/// Five times Python's: each request costs the sender a fixed ~30-60 µs of CPU (system calls,
/// a context switch while the reply is awaited, HTTP framing) whatever it carries, so at 100
/// records that fixed part was about 40% of the SDK's CPU per record, and at 500 it is under
/// 15% (`cargo xtask bench`, see the README's performance section). A batch still goes out
/// after [`LINGER`] when traffic is light, so low volumes see no difference. Typical records
/// (~250 bytes of JSON) make a body of ~125 KB, ~15 KB gzipped; a body over the facade's
/// request size cap is split, never refused whole.
pub const MAX_BATCH_SIZE: usize = 500;

/// Default time a worker waits for a partial batch to fill before sending it (Python SDK: 0.5 s).
pub const LINGER: Duration = Duration::from_millis(500);

/// Default number of worker threads (Python SDK: 2).
///
/// One more than Python's: a worker waits while its request is in flight, and with two of them
/// the sending side sat idle often enough that the defaults delivered 15-23% fewer records/s
/// than 4 workers with batches of 1,000 (`cargo xtask bench`); a third closes most of that gap
/// without raising peak memory. Against a distant server more workers matter more: each one
/// keeps one request in flight.
pub const WORKERS: usize = 3;

/// Upper bound on the number of worker threads accepted by the builder.
pub const MAX_WORKERS: usize = 1024;

/// Upper bound on the queue capacity accepted by the builder: 16,777,216 items, already
/// gigabytes of slots for records of ~100 bytes (the slots are allocated up front).
pub const MAX_CAPACITY: usize = 1 << 24;

/// Default nominal backoff waits, one per retry (Python SDK: 2, 6, 12, 20, 40, 80 s).
///
/// With full jitter the `n`-th retry waits a uniformly random duration in `[0, BACKOFF[n])`.
pub const BACKOFF: [Duration; 6] = [
    Duration::from_secs(2),
    Duration::from_secs(6),
    Duration::from_secs(12),
    Duration::from_secs(20),
    Duration::from_secs(40),
    Duration::from_secs(80),
];

/// Default cap on a server-supplied `Retry-After` wait.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(60);

/// Default bound on [`Batcher::shutdown`](crate::Batcher::shutdown) when the engine is dropped.
pub const SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(10);

/// Default prefix of worker thread names (`amberflo-batcher-0`, `amberflo-batcher-1`, …).
pub const THREAD_NAME: &str = "amberflo-batcher";
