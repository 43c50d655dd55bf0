//! Source-side aggregation: one record per customer, meter, dimensions and time window
//! instead of one per `meter` call.
//!
//! ```no_run
//! use std::time::Duration;
//! use amberflo::aggregate::Aggregation;
//!
//! let client = amberflo::Client::builder()
//!     .api_key("my-api-key")
//!     .aggregate(Aggregation::sum("ApiCalls", Duration::from_secs(60)))
//!     .build()?;
//! for _ in 0..100_000 {
//!     client.meter("ApiCalls", 1.0, "customer-1")?; // one record a minute reaches Amberflo
//! }
//! client.shutdown(Duration::from_secs(10))?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Amberflo bills ingestion per event and advises aggregating at the source once volumes reach
//! billions of events. With [`ClientBuilder::aggregate`](crate::ClientBuilder::aggregate), the
//! client does it, exactly:
//!
//! * Each record of an aggregated meter is folded into its *cell*: the key (meter, customer,
//!   dimensions) and the window holding its meter time (windows are aligned to the Unix
//!   epoch, so 60 s windows start on the minute and 1 h windows on the hour, UTC). `meter`
//!   hands the record off to a bounded queue of its thread's shard (each thread gets a shard
//!   of its own while there are enough) with one lock-free push, which costs less than a
//!   plain `meter`'s enqueue; it waits for no I/O and no room. The records are folded in
//!   batches, under the shard's lock: by the background thread, by
//!   [`Client::aggregation_stats`](crate::Client::aggregation_stats), or by the call that
//!   finds the queue full (256 records, about 35 KiB per shard in use; 4 shards per CPU,
//!   from 8 to 256).
//! * A cell is sent as one meter record once its window has ended and no record came for the
//!   window for the [grace](Aggregation::grace) (but no later than one window length after
//!   that; decided in each thread's shard, so a key fed from several threads whose records
//!   straggle past the grace may go out as more than one aggregate):
//!   meter time = window start, the key's dimensions, the value the
//!   [function](AggregateFunction) computed, and a **deterministic unique id** derived from
//!   the client's [instance id](crate::ClientBuilder::aggregation_instance_id), the key, the
//!   window and the smallest unique id of the records folded in. A resent aggregate is the
//!   same event, so Amberflo's deduplication drops the copy; two clients (two instance ids)
//!   never share an id.
//! * A record that comes after its window's cell was sent goes into a new cell of that window,
//!   sent under its own id: never lost, never merged into an aggregate already sent.
//! * [`Client::flush`](crate::Client::flush) and [`Client::shutdown`](crate::Client::shutdown)
//!   send the open cells early; a later record of such a window goes into a new cell too.
//!   A record metered on another thread while `shutdown` runs is aggregated, or sent on as
//!   it is (`meter` returns it as refused once the delivery queue is shut down). One handed
//!   off just as the final close runs is taken back by a call on its shard and sent on as it
//!   is; if the delivery queue is full or shut down by then, it goes to the error callback.
//! * A background thread (`amberflo-aggregate`) closes due cells (a key's cells of every
//!   shard merged into one aggregate) and hands the aggregates to the delivery queue, which
//!   sends, retries and reports failures as for any record.
//! * With a [spool](crate::ClientBuilder::spool), every record of an aggregated meter is
//!   appended to a journal (`aggregate/` in the spool's directory, synced as the spool's
//!   [`FsyncPolicy`](crate::FsyncPolicy) says) before `meter` returns, and so is each window's
//!   close; the window is the unit of acknowledgement: its records stay on disk until its
//!   aggregates are in the spooled delivery queue (or handed to the error callback). After a crash or `kill -9`,
//!   the next client replays the journal: the windows closed and not acknowledged give the
//!   same aggregates again (same records in the same order: same values, same ids, so
//!   Amberflo drops what it already has), and the windows left open are closed at once. A
//!   window is acknowledged in the journal once its aggregates are in the (spooled) delivery
//!   queue, which keeps them from then on. With a journal, folding takes one lock for all
//!   threads and a `write` per record, like the spool; under
//!   [`FsyncPolicy::Always`](crate::FsyncPolicy::Always) it also waits for the disk, in
//!   `meter_record_async` too.
//! * The open cells are bounded ([`ClientBuilder::aggregation_max_open_keys`](crate::ClientBuilder::aggregation_max_open_keys),
//!   100,000 by default, across meters and windows; checked as `meter` is called, so records
//!   handed off just before it was reached may open up to 256 more per shard): past the bound
//!   a record is sent as it is, un-aggregated, and counted in
//!   [`AggregationStats::passed_through`]. So is a record
//!   that cancels an earlier one (`aflo.cancel_previous_resource_event`), which only makes
//!   sense on its own, and one that would take its cell's sum past `f64::MAX`.
//! * While the delivery queue cannot take the aggregates (an outage), cells stay open and
//!   keep folding; at most about as many aggregates as the bound wait in memory for it (after
//!   a restart, those replayed from the journal too).
//! * Records of other meters flow as before.
//!
//! Sums are computed in `f64`: exact for whole numbers up to 2^53, otherwise they may differ
//! from a sum Amberflo computes over the raw records in the last bits. Amberflo's
//! deduplication by `uniqueId` applies to aggregates, not to the records inside them: a
//! record metered twice counts twice, and a backfill run again through an aggregating client
//! without a spool (a new instance id) is counted again.

mod id;
mod journal;
mod stage;
mod table;

use std::time::Duration;

use amberflo_types::MeterType;

pub(crate) use self::stage::{Aggregator, Outlet};

/// Locks `mutex`. The aggregation's data stays consistent at every step, so a panic elsewhere
/// cannot break it: a poisoned lock is taken as it is.
fn lock<T>(mutex: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The shortest aggregation window.
pub const MIN_WINDOW: Duration = Duration::from_secs(1);
/// The longest aggregation window.
pub const MAX_WINDOW: Duration = Duration::from_secs(3600);
/// The default [grace](Aggregation::grace) after a window ends before its cells are sent.
pub const DEFAULT_GRACE: Duration = Duration::from_secs(5);
/// The longest grace.
pub const MAX_GRACE: Duration = Duration::from_secs(3600);
/// The default bound on open cells (see
/// [`ClientBuilder::aggregation_max_open_keys`](crate::ClientBuilder::aggregation_max_open_keys)).
pub const DEFAULT_MAX_OPEN_KEYS: usize = 100_000;

/// How the records of one cell become its value; it must match how the meter aggregates in
/// Amberflo.
///
/// ```
/// use amberflo::aggregate::AggregateFunction;
/// use amberflo::types::MeterType;
///
/// assert!(AggregateFunction::Sum.suits(&MeterType::SumOfAllUsage));
/// assert!(!AggregateFunction::Sum.suits(&MeterType::ActiveUsers)); // a unique count
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum AggregateFunction {
    /// The sum of the values: for sum-of-all-usage meters.
    Sum,
    /// The largest value: for meters that report the maximum.
    Max,
    /// The smallest value: for meters that report the minimum.
    Min,
    /// The number of records, sent as a sum of ones (each record's value is ignored): for
    /// sum-of-all-usage meters that count events.
    Count,
}

impl AggregateFunction {
    /// The name used in messages: `sum`, `max`, `min`, `count`.
    pub fn as_str(self) -> &'static str {
        match self {
            AggregateFunction::Sum => "sum",
            AggregateFunction::Max => "max",
            AggregateFunction::Min => "min",
            AggregateFunction::Count => "count",
        }
    }

    /// Whether records of a meter of `meter_type` may be pre-aggregated with this function.
    /// `sum` and `count` need a sum-of-all-usage meter. Unique counts (`active_users`) and
    /// durations (`event_duration`) depend on each event and can never be pre-aggregated.
    /// `max` and `min` accept the other types (Amberflo's maximum and minimum meter types
    /// are not in its published API contract, so their names are not checked).
    pub fn suits(self, meter_type: &MeterType) -> bool {
        match meter_type {
            MeterType::ActiveUsers | MeterType::EventDuration => false,
            MeterType::SumOfAllUsage => {
                matches!(self, AggregateFunction::Sum | AggregateFunction::Count)
            }
            _ => matches!(self, AggregateFunction::Max | AggregateFunction::Min),
        }
    }
}

/// One meter's aggregation: its name, window, function and grace. Pass it to
/// [`ClientBuilder::aggregate`](crate::ClientBuilder::aggregate).
///
/// ```
/// use std::time::Duration;
/// use amberflo::aggregate::{AggregateFunction, Aggregation};
///
/// let latency = Aggregation::max("LatencyMs", Duration::from_secs(60))
///     .grace(Duration::from_secs(10));
/// assert_eq!(latency.function(), AggregateFunction::Max);
/// assert_eq!(latency.window(), Duration::from_secs(60));
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Aggregation {
    meter: String,
    window: Duration,
    function: AggregateFunction,
    grace: Duration,
    meter_type: Option<MeterType>,
}

impl Aggregation {
    /// Aggregates `meter` over `window` (whole seconds, 1 s to 1 h) with `function`.
    pub fn new(meter: impl Into<String>, window: Duration, function: AggregateFunction) -> Self {
        Aggregation {
            meter: meter.into(),
            window,
            function,
            grace: DEFAULT_GRACE,
            meter_type: None,
        }
    }

    /// Sums `meter`'s values per `window`.
    pub fn sum(meter: impl Into<String>, window: Duration) -> Self {
        Aggregation::new(meter, window, AggregateFunction::Sum)
    }

    /// Keeps `meter`'s largest value per `window`.
    pub fn max(meter: impl Into<String>, window: Duration) -> Self {
        Aggregation::new(meter, window, AggregateFunction::Max)
    }

    /// Keeps `meter`'s smallest value per `window`.
    pub fn min(meter: impl Into<String>, window: Duration) -> Self {
        Aggregation::new(meter, window, AggregateFunction::Min)
    }

    /// Counts `meter`'s records per `window` (sent as a sum).
    pub fn count(meter: impl Into<String>, window: Duration) -> Self {
        Aggregation::new(meter, window, AggregateFunction::Count)
    }

    /// How long after a window ends its cells wait for late records (default
    /// [`DEFAULT_GRACE`], at most [`MAX_GRACE`]).
    pub fn grace(mut self, grace: Duration) -> Self {
        self.grace = grace;
        self
    }

    /// The meter's type in Amberflo: `build` refuses a function that does not
    /// [suit](AggregateFunction::suits) it. [`Client::check_aggregations`](crate::Client::check_aggregations)
    /// checks the live definitions instead.
    pub fn meter_type(mut self, meter_type: MeterType) -> Self {
        self.meter_type = Some(meter_type);
        self
    }

    /// The meter's API name.
    pub fn meter(&self) -> &str {
        &self.meter
    }

    /// The window.
    pub fn window(&self) -> Duration {
        self.window
    }

    /// The function.
    pub fn function(&self) -> AggregateFunction {
        self.function
    }

    /// The grace after a window ends.
    pub fn grace_period(&self) -> Duration {
        self.grace
    }

    /// Checks the settings, naming the meter in the reason.
    pub(crate) fn check(&self, max_name_bytes: usize) -> Result<(), String> {
        let meter = &self.meter;
        if amberflo_types::is_blank(meter) || meter.len() > max_name_bytes {
            return Err(format!(
                "meter name {meter:?} must be non-blank and at most {max_name_bytes} bytes"
            ));
        }
        if self.window < MIN_WINDOW || self.window > MAX_WINDOW || self.window.subsec_nanos() != 0 {
            return Err(format!(
                "meter {meter:?}: the window must be whole seconds from 1 s to 1 h, not {:?}",
                self.window
            ));
        }
        if self.grace > MAX_GRACE {
            return Err(format!(
                "meter {meter:?}: the grace must be at most 1 h, not {:?}",
                self.grace
            ));
        }
        if let Some(meter_type) = &self.meter_type
            && let Some(reason) = self.unsuited(meter_type, "")
        {
            return Err(reason);
        }
        Ok(())
    }

    /// Why the function cannot pre-aggregate a meter of `meter_type` (`None` when it can);
    /// `source` follows the type in the reason (where it was found).
    pub(crate) fn unsuited(&self, meter_type: &MeterType, source: &str) -> Option<String> {
        (!self.function.suits(meter_type)).then(|| {
            format!(
                "meter {:?} is of type {:?}{source}, which cannot be pre-aggregated with {}",
                self.meter,
                meter_type.as_str(),
                self.function.as_str()
            )
        })
    }
}

/// What aggregation did so far ([`Client::aggregation_stats`](crate::Client::aggregation_stats)).
///
/// ```
/// let stats = amberflo::aggregate::AggregationStats::default();
/// assert_eq!(stats.reduction(), None); // nothing sent yet
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct AggregationStats {
    /// Records folded into cells (the records `meter` handed off are folded before the
    /// counters are read).
    pub records_in: u64,
    /// Aggregate records sent on (handed to the delivery queue), one per closed cell.
    pub aggregates_out: u64,
    /// Records of aggregated meters sent as they are: past the bound on open cells, or
    /// cancelling an earlier record.
    pub passed_through: u64,
    /// Cells open now (a key fed from several threads has a cell per thread until it closes).
    pub open_keys: u64,
}

impl AggregationStats {
    /// Records folded per aggregate sent (`records_in / aggregates_out`), once one was sent.
    pub fn reduction(&self) -> Option<f64> {
        (self.aggregates_out > 0).then(|| self.records_in as f64 / self.aggregates_out as f64)
    }
}
