//! The aggregation stage of a client: producers fold records into the [table](super::table)
//! on their own threads, and a closer thread sends due cells on to the client's records queue.

use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

use amberflo_batcher::{
    Batcher, BuildError, DeliveryError, FlushError, FsyncPolicy, SendError, SendErrorKind,
};
use amberflo_types::{MeterRecord, Uuid, now_millis};

use super::journal::Journal;
use super::lock;
use super::table::{Fold, Plan, Table};
use super::{Aggregation, AggregationStats};
use crate::config::{ErrorCallback, FailedBatch};
use crate::deadline::Deadline;
use crate::error::Error;

/// How often the closer looks for due cells (and the coarse clock moves), at most.
const LONGEST_TICK: Duration = Duration::from_secs(1);

/// The stage.
pub(crate) struct Aggregator {
    aggregations: Vec<Aggregation>,
    shared: Arc<Shared>,
    closer: Mutex<Option<JoinHandle<()>>>,
}

/// What the closer thread shares with the client.
struct Shared {
    table: Table,
    outlet: Outlet,
    /// Held while the outbox is handed over, so that an empty outbox means every aggregate
    /// closed before is in the records queue (see `hand_over`).
    handing: Mutex<()>,
    /// Unix milliseconds as of the closer's last tick: what a fold stamps its cell with.
    clock: AtomicI64,
    stopped: Mutex<bool>,
    wake: Condvar,
}

/// Where aggregates go: the client's records queue, and the error callback for those it can
/// no longer take.
pub(crate) struct Outlet {
    pub(crate) records: Arc<Batcher<MeterRecord>>,
    pub(crate) on_error: Option<ErrorCallback>,
}

impl Aggregator {
    /// Starts the stage for `aggregations` (checked, names unique): a table of about
    /// `max_open` cells at most, and a closer thread that sends due cells to `outlet`, with
    /// ids in `instance`'s namespace.
    pub(crate) fn start(
        aggregations: Vec<Aggregation>,
        instance: Option<Uuid>,
        max_open: usize,
        outlet: Outlet,
        journal: Option<(PathBuf, FsyncPolicy)>,
    ) -> Result<Self, Error> {
        let plans = aggregations.iter().map(Plan::from).collect();
        let table = match journal {
            Some((dir, fsync)) => {
                let (journal, replayed, instance) = Journal::open(&dir, fsync, instance)
                    .map_err(|source| Error::Batching(BuildError::Spool { dir, source }))?;
                Table::journaled(plans, instance, max_open, journal, replayed)
            }
            None => {
                // A shard per producer thread on most machines, without a huge table on a
                // big one.
                let shards = std::thread::available_parallelism()
                    .map_or(4, usize::from)
                    .saturating_mul(4)
                    .clamp(8, 256);
                let instance = instance.unwrap_or_else(Uuid::new_v4);
                Table::new(plans, instance, max_open, shards)
            }
        };
        let tick = Duration::from_millis((table.shortest_window_ms() / 4).max(50) as u64)
            .min(LONGEST_TICK);
        let shared = Arc::new(Shared {
            table,
            outlet,
            handing: Mutex::new(()),
            clock: AtomicI64::new(now_millis()),
            stopped: Mutex::new(false),
            wake: Condvar::new(),
        });
        let name = "amberflo-aggregate";
        let closer = {
            let shared = Arc::clone(&shared);
            std::thread::Builder::new()
                .name(name.to_owned())
                .spawn(move || shared.close_until_stopped(tick))
                .map_err(|source| {
                    Error::Batching(BuildError::Spawn {
                        name: name.to_owned(),
                        source,
                    })
                })?
        };
        Ok(Aggregator {
            aggregations,
            shared,
            closer: Mutex::new(Some(closer)),
        })
    }

    /// The aggregations it applies.
    pub(crate) fn aggregations(&self) -> &[Aggregation] {
        &self.aggregations
    }

    /// Folds `record` if its meter is aggregated; hands it back otherwise, or when it must go
    /// out as it is (a cancellation, past the bound on open cells, after shutdown).
    #[inline]
    pub(crate) fn offer(&self, record: MeterRecord) -> Option<MeterRecord> {
        let shared = &*self.shared;
        match shared
            .table
            .fold(record, shared.clock.load(Ordering::Relaxed))
        {
            Fold::Folded => None,
            Fold::Declined(record) => Some(record),
            Fold::TakenBack(taken) => {
                // Records of calls that raced the shutdown's final close (perhaps not this
                // one's): sent as they are while the records queue takes them.
                let records = shared.outlet.records.as_ref();
                if let Err((_, refused)) = send_in_order(taken.into(), |r| records.try_send(r)) {
                    shared.fail(refused);
                }
                None
            }
        }
    }

    /// What it did so far.
    pub(crate) fn stats(&self) -> AggregationStats {
        self.shared.table.stats()
    }

    /// Closes every open cell and hands the aggregates to the records queue, within
    /// `timeout`. Aggregates the queue had no room for by then stay in the outbox for the
    /// closer.
    /// Then waits for the records queue to deliver them.
    pub(crate) async fn flush(&self, timeout: Duration) -> Result<(), Error> {
        let shared = &*self.shared;
        let deadline = Deadline::after(timeout);
        shared.table.close(None);
        while shared.hand_over() > 0 {
            let left = deadline.left();
            if left.is_zero() {
                return Err(FlushError::TimedOut { timeout }.into());
            }
            // Let the records queue drain, then offer the rest again.
            shared.outlet.records.flush_async(left).await?;
        }
        shared.outlet.records.flush_async(deadline.left()).await?;
        Ok(())
    }

    /// Stops the closer, closes every cell for good (later records of aggregated meters go to
    /// the records queue, which refuses them once shut down) and hands the aggregates to the
    /// records queue within `timeout`; what it cannot take by then goes to the error callback.
    pub(crate) fn shutdown(&self, timeout: Duration) {
        let deadline = Deadline::after(timeout);
        let shared = &*self.shared;
        shared.stop();
        let closer = lock(&self.closer).take();
        if let Some(closer) = closer {
            // The closer does not panic; if it did, the panic hook reported it.
            let _ = closer.join();
        }
        let _handing = lock(&shared.handing);
        let outbox = shared.table.close_for_good();
        let round = shared.table.last_round();
        let records = shared.outlet.records.as_ref();
        let sent = send_in_order(outbox, |r| records.send_timeout(r, deadline.left()));
        if let Err((_, refused)) = sent {
            shared.fail(refused);
        }
        // Each aggregate is in the (spooled) records queue or went to the error callback.
        shared.acknowledge_through(round);
    }
}

/// Sends `records` in order with `send` until it refuses one: then returns why, with the
/// refused record first and the ones after it.
fn send_in_order(
    mut records: VecDeque<MeterRecord>,
    send: impl Fn(MeterRecord) -> Result<(), SendError<MeterRecord>>,
) -> Result<(), (SendErrorKind, VecDeque<MeterRecord>)> {
    while let Some(record) = records.pop_front() {
        if let Err(refused) = send(record) {
            let kind = refused.kind();
            records.push_front(refused.into_inner());
            return Err((kind, records));
        }
    }
    Ok(())
}

impl Drop for Aggregator {
    fn drop(&mut self) {
        self.shared.stop();
    }
}

impl Shared {
    /// Tells the closer to stop.
    fn stop(&self) {
        *lock(&self.stopped) = true;
        self.wake.notify_all();
    }

    /// The closer thread: every `tick`, moves the clock, closes the due cells and hands the
    /// outbox over.
    fn close_until_stopped(&self, tick: Duration) {
        let mut stopped = lock(&self.stopped);
        while !*stopped {
            drop(stopped);
            let now = now_millis();
            self.clock.store(now, Ordering::Relaxed);
            self.table.close(Some(now));
            self.hand_over();
            self.table.sync_journal();
            stopped = lock(&self.stopped);
            if !*stopped {
                stopped = self
                    .wake
                    .wait_timeout(stopped, tick)
                    .unwrap_or_else(PoisonError::into_inner)
                    .0;
            }
        }
    }

    /// With a journal: every round up to `round` is in the records queue, whose spool keeps
    /// it from now on (or went to the error callback).
    fn acknowledge_through(&self, round: Option<u64>) {
        if let Some(round) = round {
            self.table.acknowledge_through(round);
        }
    }

    /// Offers the outbox to the records queue: what a full queue refuses goes back (tried
    /// again later), what a closed one refuses to the error callback. Returns how many went
    /// back. With a journal, once nothing went back, the rounds closed before it started are
    /// acknowledged: their aggregates are in the records queue, which spools them (the
    /// journal is only kept with a spool), so a crash from then on replays them from there.
    ///
    /// One hand-over at a time: another caller could otherwise find the outbox empty while
    /// this one still holds aggregates of a round, and acknowledge it.
    fn hand_over(&self) -> usize {
        let _handing = lock(&self.handing);
        // Aggregates go to the outbox under the table's lock before their round can be seen.
        let round = self.table.last_round();
        let records = self.outlet.records.as_ref();
        match send_in_order(self.table.take_outbox(), |r| records.try_send(r)) {
            Ok(()) => {}
            Err((SendErrorKind::Full, refused)) => {
                let left = refused.len();
                return match self.table.put_back(refused) {
                    Ok(()) => left,
                    Err(after_shutdown) => {
                        self.fail(after_shutdown);
                        0
                    }
                };
            }
            Err((_, refused)) => self.fail(refused),
        }
        self.acknowledge_through(round);
        0
    }

    /// Hands aggregates the records queue can no longer take to the error callback (or the
    /// log, without one).
    fn fail(&self, records: VecDeque<MeterRecord>) {
        if records.is_empty() {
            return;
        }
        let error = DeliveryError::ShutdownTimedOut {
            attempts: 0,
            last: None,
        };
        match &self.outlet.on_error {
            Some(callback) => callback(error, FailedBatch::Records(records.into())),
            None => tracing::error!(
                %error,
                records = records.len(),
                "amberflo: aggregates could not be sent"
            ),
        }
    }
}
