//! The aggregation table: open cells keyed by meter, customer, dimensions and window, and the
//! outbox of aggregates ready to be sent.
//!
//! The cells are split in shards, and each thread folds into its own (threads take the shards
//! in turns, like the spool's lanes), so producers rarely share a lock or a cache line. A key
//! fed by several threads has a cell in each of their shards; closing merges them into one
//! aggregate.
//!
//! Without a journal, a `meter` call only hands its record off: one push to its shard's
//! bounded queue (crossbeam's `ArrayQueue`), less than the delivery queue's enqueue. The
//! records are folded in batches, under the shard's lock, by whoever comes first: the
//! closer before each close, [`Table::stats`], or the call that finds the queue full. Every
//! consumer holds the shard's lock, so a close sees every record handed off before it began.
//! A call that pushes as the final close runs reads the closed flag after its push, and takes
//! back what the close may have missed (`Table::after_hand_off` has the argument).
//!
//! No clock and no threads here: callers pass the time, so the rules are tested directly.

use std::cell::RefCell;
use std::collections::{HashSet, VecDeque};
use std::hash::{Hash, Hasher};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};

use amberflo_batcher::FsyncPolicy;
use amberflo_types::{Dimensions, EpochMillis, MeterRecord, RecordLimits, UniqueId, Uuid};
use compact_str::CompactString;
use crossbeam_queue::ArrayQueue;
use hashbrown::hash_map::{Entry, EntryRef};
use hashbrown::{Equivalent, HashMap};

use super::id::{IdSource, aggregate_id};
use super::journal::{FileCounts, Journal, Replayed, round_of};
use super::lock;
use super::{AggregateFunction, Aggregation, AggregationStats};

/// One aggregated meter, as the table applies it.
#[derive(Debug, Clone)]
pub(crate) struct Plan {
    meter: CompactString,
    window_ms: i64,
    grace_ms: i64,
    function: AggregateFunction,
}

impl From<&Aggregation> for Plan {
    fn from(aggregation: &Aggregation) -> Self {
        // Both are at most an hour (checked by `Aggregation::check`).
        let millis = |duration: std::time::Duration| duration.as_millis() as i64;
        Plan {
            meter: CompactString::from(aggregation.meter()),
            window_ms: millis(aggregation.window()),
            grace_ms: millis(aggregation.grace_period()),
            function: aggregation.function(),
        }
    }
}

/// What [`Table::fold`] did with a record.
#[derive(Debug)]
pub(crate) enum Fold {
    /// It is in a cell, or handed off to be folded into one (unless the table closes for good
    /// first: then a call on its shard takes it back, see `after_hand_off`).
    Folded,
    /// It goes out as it is: not aggregated (another meter, a cancellation), past the bound
    /// on open cells, or the table is closed.
    Declined(MeterRecord),
    /// The table was closed for good while the record was handed off: these records (it,
    /// or others of calls racing the final close) go out as they are.
    TakenBack(Vec<MeterRecord>),
}

/// The table.
pub(crate) struct Table {
    /// Meter names unique. Looked up by a scan: aggregated meters are few, and most names
    /// differ in length, which is compared first.
    plans: Vec<Plan>,
    instance: Uuid,
    max_open: usize,
    shards: Box<[Shard]>,
    /// This table's number, in the threads' shard caches.
    number: u64,
    /// The shard the next thread to fold here gets.
    next_shard: AtomicUsize,
    /// Set once for good by [`close_for_good`](Self::close_for_good): folds decline.
    closed: AtomicBool,
    open: AtomicU64,
    aggregates_out: AtomicU64,
    passed_through: AtomicU64,
    /// Aggregates ready to be sent, oldest first.
    outbox: Mutex<VecDeque<MeterRecord>>,
    /// Held by [`close`](Self::close).
    closing: Mutex<()>,
}

/// One shard of cells, on cache lines of its own.
#[repr(align(128))]
struct Shard {
    state: Mutex<ShardState>,
    /// Without a journal: records handed off by the threads folding here, waiting to be
    /// folded into `state` in a batch (made on first use).
    handoff: Option<OnceLock<ArrayQueue<HandedOff>>>,
}

impl Shard {
    /// Its hand-off queue, once a thread used it.
    fn handoff(&self) -> Option<&ArrayQueue<HandedOff>> {
        self.handoff.as_ref()?.get()
    }
}

/// The records in `handoff` as of now: a bounded batch, however fast threads push.
fn drain(handoff: &ArrayQueue<HandedOff>) -> impl Iterator<Item = HandedOff> + '_ {
    (0..handoff.len()).map_while(|_| handoff.pop())
}

/// A record handed off to a shard, with what its fold needs.
struct HandedOff {
    plan: usize,
    /// The time of the `meter` call (the coarse clock), which the cell is stamped with.
    at_ms: i64,
    record: MeterRecord,
}

/// How many records a shard's hand-off queue holds: the batch a full queue makes its thread
/// fold, about 35 KiB of memory per shard in use.
const HANDOFF_CAPACITY: usize = 256;

#[derive(Default)]
struct ShardState {
    cells: HashMap<CellKey, Cell>,
    /// Records folded into this shard.
    folded: u64,
    /// With a spool, the journal (then the table has this one shard): a record is appended
    /// to it, and a window's close written, under the same lock as the cells change.
    journal: Option<Journal>,
}

/// Tables are numbered as they are made, for the threads' shard caches.
static NEXT_TABLE: AtomicU64 = AtomicU64::new(0);

/// How many tables a thread remembers its shard in; past that, the oldest is forgotten (and
/// a thread that comes back to it may get another shard).
const SHARD_CACHE: usize = 16;

/// A cell's key.
#[derive(Clone, PartialEq, Eq)]
struct CellKey {
    plan: usize,
    window_start_ms: i64,
    customer: CompactString,
    dimensions: Option<Dimensions>,
}

/// A record's key, borrowed: what a lookup hashes without copying the record's texts.
struct KeyOf<'a> {
    plan: usize,
    window_start_ms: i64,
    customer: &'a str,
    dimensions: Option<&'a Dimensions>,
}

/// Hashes a key's parts, the same for [`CellKey`] and [`KeyOf`].
fn hash_key<H: Hasher>(
    state: &mut H,
    plan: usize,
    window_start_ms: i64,
    customer: &str,
    dimensions: Option<&Dimensions>,
) {
    plan.hash(state);
    window_start_ms.hash(state);
    customer.hash(state);
    dimensions.hash(state);
}

impl Hash for CellKey {
    fn hash<H: Hasher>(&self, state: &mut H) {
        let dimensions = self.dimensions.as_ref();
        hash_key(
            state,
            self.plan,
            self.window_start_ms,
            &self.customer,
            dimensions,
        );
    }
}

impl Hash for KeyOf<'_> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        hash_key(
            state,
            self.plan,
            self.window_start_ms,
            self.customer,
            self.dimensions,
        );
    }
}

impl Equivalent<CellKey> for KeyOf<'_> {
    fn equivalent(&self, key: &CellKey) -> bool {
        self.plan == key.plan
            && self.window_start_ms == key.window_start_ms
            && self.customer == key.customer
            && self.dimensions == key.dimensions.as_ref()
    }
}

/// An open cell.
#[derive(Debug, Clone)]
struct Cell {
    value: f64,
    /// The smallest unique id folded in (what the aggregate's id is derived from).
    first_member: UniqueId,
    /// With a journal: how many of its records each journal file holds.
    files: FileCounts,
    /// When it was opened and last folded into (Unix milliseconds).
    opened_ms: i64,
    last_ms: i64,
}

impl Table {
    /// A table for `plans` (meter names unique) in `shards` shards, sending aggregates with
    /// ids in `instance`'s namespace, with about `max_open` open cells at most.
    pub(crate) fn new(plans: Vec<Plan>, instance: Uuid, max_open: usize, shards: usize) -> Self {
        Table::with_journal(plans, instance, max_open, shards, None)
    }

    /// A table kept in `journal` (one shard), after its replay: the aggregates of the rounds
    /// `replayed` holds go to the outbox, and its open cells are closed at once, in a round
    /// of their own (a restart closes windows early, like a flush).
    pub(crate) fn journaled(
        plans: Vec<Plan>,
        instance: Uuid,
        max_open: usize,
        mut journal: Journal,
        replayed: Replayed,
    ) -> Self {
        let mut aggregates = VecDeque::new();
        let rounds = replayed.rounds.into_values().flatten();
        let (windows, members) = round_of(
            replayed
                .open
                .iter()
                .map(|cell| (cell.meter.as_str(), cell.window_start_ms, &cell.files)),
        );
        let recovered = match windows.is_empty() {
            true => Vec::new(),
            false => match journal.close(&windows, members, instance) {
                Ok(_) => replayed.open,
                Err(error) => {
                    // Left open on disk: the next start tries again.
                    tracing::error!(%error, "amberflo: cannot close the replayed aggregation windows");
                    Vec::new()
                }
            },
        };
        for cell in rounds.chain(recovered) {
            aggregates.extend(aggregate_record(
                cell.instance.unwrap_or(instance),
                &IdSource {
                    meter: &cell.meter,
                    customer: &cell.customer,
                    dimensions: cell.dimensions.as_ref(),
                    window_start_ms: cell.window_start_ms,
                    window_ms: cell.window_ms,
                    first_member: &cell.first_member,
                },
                cell.value,
            ));
        }
        let table = Table::with_journal(plans, instance, max_open, 1, Some(journal));
        table
            .aggregates_out
            .store(aggregates.len() as u64, Ordering::Relaxed);
        *lock(&table.outbox) = aggregates;
        table
    }

    fn with_journal(
        plans: Vec<Plan>,
        instance: Uuid,
        max_open: usize,
        shards: usize,
        journal: Option<Journal>,
    ) -> Self {
        let hand_off = journal.is_none();
        let shards: Box<[Shard]> = (0..shards.max(1))
            .map(|_| Shard {
                state: Mutex::default(),
                handoff: hand_off.then(OnceLock::new),
            })
            .collect();
        lock(&shards[0].state).journal = journal;
        Table {
            plans,
            instance,
            max_open,
            shards,
            number: NEXT_TABLE.fetch_add(1, Ordering::Relaxed),
            next_shard: AtomicUsize::new(0),
            closed: AtomicBool::new(false),
            open: AtomicU64::new(0),
            aggregates_out: AtomicU64::new(0),
            passed_through: AtomicU64::new(0),
            outbox: Mutex::new(VecDeque::new()),
            closing: Mutex::new(()),
        }
    }

    /// The shortest window of the plans, in milliseconds.
    pub(crate) fn shortest_window_ms(&self) -> i64 {
        self.plans
            .iter()
            .map(|plan| plan.window_ms)
            .min()
            .unwrap_or(1_000)
    }

    /// Folds `record` into its cell, at time `now_ms` (a coarse clock is fine: it only
    /// decides when an idle cell is due).
    ///
    /// Without a journal the record is only handed off: pushed to the calling thread's
    /// shard's queue, which the closer folds at its next tick, or this thread once the queue
    /// is full (a batch under one lock). Below the bound on open cells, that is; at the bound,
    /// and with a journal, it is folded here and now.
    pub(crate) fn fold(&self, record: MeterRecord, now_ms: i64) -> Fold {
        let Some(plan) = self.plan_of(&record) else {
            return Fold::Declined(record);
        };
        let shard = self.thread_shard();
        if let Some(handoff) = &shard.handoff
            && self.open.load(Ordering::Relaxed) < self.max_open as u64
            && !self.closed.load(Ordering::Relaxed)
        {
            let handoff = handoff.get_or_init(|| ArrayQueue::new(HANDOFF_CAPACITY));
            let handed = HandedOff {
                plan,
                at_ms: now_ms,
                record,
            };
            return self.hand_off(shard, handoff, handed);
        }
        self.fold_if_open(&mut lock(&shard.state), plan, record, now_ms)
    }

    /// Pushes `handed` to `shard`'s `handoff`.
    #[inline]
    fn hand_off(&self, shard: &Shard, handoff: &ArrayQueue<HandedOff>, handed: HandedOff) -> Fold {
        match handoff.push(handed) {
            Ok(()) => self.after_hand_off(shard, handoff),
            Err(handed) => self.fold_full(shard, handoff, handed),
        }
    }

    /// `handoff` is full: folds its batch, then `handed`, under one lock.
    #[cold]
    fn fold_full(&self, shard: &Shard, handoff: &ArrayQueue<HandedOff>, handed: HandedOff) -> Fold {
        let HandedOff {
            plan,
            at_ms,
            record,
        } = handed;
        let mut state = lock(&shard.state);
        self.fold_handed_off(handoff, &mut state);
        self.fold_if_open(&mut state, plan, record, at_ms)
    }

    /// After a record was pushed to `shard`'s `handoff`: done, unless the table was closed
    /// for good meanwhile; then the final close may have swept the shard already, so the
    /// records in the queue (this one, or others racing the close) are taken back, to go out
    /// as they are.
    ///
    /// Exact, like a lock, without one: the push is a `SeqCst` compare-and-swap of the
    /// queue's tail (crossbeam-queue 0.3's `ArrayQueue::push`), and the flag is read after it
    /// with `SeqCst`; [`close_for_good`](Self::close_for_good) stores the flag with `SeqCst`
    /// before it reads each queue's length with `SeqCst` loads of the tail (`ArrayQueue::len`).
    /// In the single order of those operations, either this read comes after the flag's
    /// store (and the record is taken back here, unless the close took it), or this push
    /// comes before the close's reading of the length (and the close folds the record).
    #[inline]
    fn after_hand_off(&self, shard: &Shard, handoff: &ArrayQueue<HandedOff>) -> Fold {
        match self.closed.load(Ordering::SeqCst) {
            false => Fold::Folded,
            true => self.take_back(shard, handoff),
        }
    }

    /// Takes back the records left in `handoff` after the final close (see `after_hand_off`).
    #[cold]
    fn take_back(&self, shard: &Shard, handoff: &ArrayQueue<HandedOff>) -> Fold {
        let _state = lock(&shard.state);
        let taken: Vec<MeterRecord> = drain(handoff).map(|handed| handed.record).collect();
        if taken.is_empty() {
            // The close folded it.
            return Fold::Folded;
        }
        self.passed_through
            .fetch_add(taken.len() as u64, Ordering::Relaxed);
        Fold::TakenBack(taken)
    }

    /// The aggregation `record` belongs to; `None` for another meter, and for a cancellation,
    /// which refers to one earlier record and only makes sense alone (counted as passed
    /// through).
    #[inline]
    fn plan_of(&self, record: &MeterRecord) -> Option<usize> {
        let meter = record.meter_api_name();
        let plan = self.plans.iter().position(|plan| plan.meter == meter)?;
        if record.cancels_previous() {
            self.passed_through.fetch_add(1, Ordering::Relaxed);
            return None;
        }
        Some(plan)
    }

    /// Folds the records in `handoff` (whose shard's `state` the caller locked), unless the
    /// table is closed for good: then the final close folded what was there, and what came
    /// after is taken back by the calls that brought it (see `after_hand_off`).
    fn fold_handed_off(&self, handoff: &ArrayQueue<HandedOff>, state: &mut ShardState) {
        if !self.closed.load(Ordering::SeqCst) {
            self.fold_queue(handoff, state);
        }
    }

    /// Folds the records in `handoff` (whose shard's `state` the caller locked), however
    /// many cells they open: the bound was checked when they were handed off. A record that
    /// would overflow its cell's sum goes to the outbox as it is.
    fn fold_queue(&self, handoff: &ArrayQueue<HandedOff>, state: &mut ShardState) {
        let mut declined = Vec::new();
        for HandedOff {
            plan,
            at_ms,
            record,
        } in drain(handoff)
        {
            if let Fold::Declined(record) = self.fold_locked(state, plan, record, at_ms, false) {
                declined.push(record);
            }
        }
        if !declined.is_empty() {
            lock(&self.outbox).extend(declined);
        }
    }

    /// Folds `record` (of aggregation `plan`) into its cell in `state`, a shard the caller
    /// locked, unless the table is closed for good: checked under the shard's lock, which the
    /// final close takes after setting it, so the record is either swept by it or declined.
    fn fold_if_open(
        &self,
        state: &mut ShardState,
        plan: usize,
        record: MeterRecord,
        now_ms: i64,
    ) -> Fold {
        if self.closed.load(Ordering::SeqCst) {
            self.passed_through.fetch_add(1, Ordering::Relaxed);
            return Fold::Declined(record);
        }
        self.fold_locked(state, plan, record, now_ms, true)
    }

    /// Folds `record` (of aggregation `plan`) into its cell in `state`, a shard the caller
    /// locked; with `bounded`, only into an open cell once the bound is reached.
    fn fold_locked(
        &self,
        state: &mut ShardState,
        plan: usize,
        record: MeterRecord,
        now_ms: i64,
        bounded: bool,
    ) -> Fold {
        let Plan {
            window_ms,
            function,
            ..
        } = self.plans[plan];
        let time = record.meter_time_in_millis();
        let key = KeyOf {
            plan,
            window_start_ms: time - time.rem_euclid(window_ms),
            customer: record.customer_id(),
            dimensions: record.dimensions(),
        };
        let ShardState {
            cells,
            folded,
            journal,
        } = state;
        // Decide first, then write to the journal, then change the cell: the journal holds
        // exactly the records folded, in the order they were.
        let entry = cells.entry_ref(&key);
        let value = match &entry {
            EntryRef::Occupied(cell) => combine(function, cell.get().value, record.meter_value()),
            EntryRef::Vacant(_)
                if bounded && self.open.load(Ordering::Relaxed) >= self.max_open as u64 =>
            {
                None
            }
            EntryRef::Vacant(_) => Some(start(function, record.meter_value())),
        };
        // Without room for a new cell, or a sum that would overflow: it goes out as it is.
        let Some(value) = value else {
            self.passed_through.fetch_add(1, Ordering::Relaxed);
            return Fold::Declined(record);
        };
        let file = match journal {
            None => None,
            Some(journal) => match journal.append_record(&record, function, window_ms) {
                Ok(file) => Some(file),
                Err(error) => {
                    tracing::error!(%error, "amberflo: cannot journal a record; it goes out un-aggregated");
                    self.passed_through.fetch_add(1, Ordering::Relaxed);
                    return Fold::Declined(record);
                }
            },
        };
        let cell = match entry {
            EntryRef::Occupied(cell) => {
                let cell = cell.into_mut();
                if record.unique_id() < &cell.first_member {
                    cell.first_member = record.unique_id().clone();
                }
                cell
            }
            EntryRef::Vacant(vacant) => {
                // Counted before a close can take it (under the shard's lock), so the gauge
                // never goes below zero.
                self.open.fetch_add(1, Ordering::Relaxed);
                vacant.insert_with_key(
                    CellKey::from(&key),
                    Cell {
                        value,
                        first_member: record.unique_id().clone(),
                        files: FileCounts::new(),
                        opened_ms: now_ms,
                        last_ms: now_ms,
                    },
                )
            }
        };
        cell.value = value;
        // Records handed off earlier may be folded after one folded at once.
        cell.last_ms = cell.last_ms.max(now_ms);
        if let Some(file) = file {
            *cell.files.entry(file).or_default() += 1;
        }
        *folded += 1;
        Fold::Folded
    }

    /// Closes the windows due at `now_ms` (all of them with `None`: flush and shutdown): the
    /// cells of one key in several shards merged into one aggregate, which goes to the
    /// outbox; returns how many aggregates it made.
    ///
    /// A window is due once it has ended and nothing was folded into it for the grace, or at
    /// the latest one window length after that (a window fed without pause).
    ///
    /// A timed close does nothing while the outbox holds `max_open` aggregates or more (the
    /// delivery queue is full, Amberflo down): cells stay open and go on folding, and past the
    /// bound records are handed back, so memory stays bounded and the caller sees the
    /// back-pressure as with any full queue.
    ///
    /// One close at a time: a flush's close must not find the outbox empty while a timed
    /// close still holds cells it took.
    pub(crate) fn close(&self, now_ms: Option<i64>) -> usize {
        let _closing = lock(&self.closing);
        self.fold_all_handed_off();
        if now_ms.is_some() && lock(&self.outbox).len() >= self.max_open {
            return 0;
        }
        let mut count = 0;
        let mut due: HashMap<CellKey, Cell> = HashMap::new();
        let mut overflowed = Vec::new();
        for shard in &self.shards {
            let mut state = lock(&shard.state);
            let ShardState { cells, journal, .. } = &mut *state;
            let taken: Vec<(CellKey, Cell)> = match now_ms {
                None => std::mem::take(cells).into_iter().collect(),
                Some(now) => {
                    let windows = self.due_windows(cells, now);
                    cells
                        .extract_if(|key, _| windows.contains(&(key.plan, key.window_start_ms)))
                        .collect()
                }
            };
            if taken.is_empty() {
                continue;
            }
            self.open.fetch_sub(taken.len() as u64, Ordering::Relaxed);
            if let Some(journal) = journal {
                // One shard: the close is written, and its aggregates queued, under the lock
                // (see `last_round`).
                let (windows, members) = round_of(taken.iter().map(|(key, cell)| {
                    let meter = self.plans[key.plan].meter.as_str();
                    (meter, key.window_start_ms, &cell.files)
                }));
                if let Err(error) = journal.close(&windows, members, self.instance) {
                    tracing::error!(%error, "amberflo: cannot journal closing windows; trying again later");
                    self.open.fetch_add(taken.len() as u64, Ordering::Relaxed);
                    cells.extend(taken);
                    continue;
                }
                count += taken.len();
                self.send_closed(taken);
                continue;
            }
            drop(state);
            for (key, cell) in taken {
                match due.entry(key) {
                    Entry::Vacant(vacant) => {
                        vacant.insert(cell);
                    }
                    Entry::Occupied(mut merged) => {
                        let function = self.plans[merged.key().plan].function;
                        match merge(function, merged.get(), &cell) {
                            Some(both) => *merged.get_mut() = both,
                            // Sums too large for one record stay apart.
                            None => overflowed.push((merged.key().clone(), cell)),
                        }
                    }
                }
            }
        }
        count += due.len() + overflowed.len();
        self.send_closed(due.into_iter().chain(overflowed));
        count
    }

    /// The windows (plan, start) of `cells` due at `now`.
    fn due_windows(&self, cells: &HashMap<CellKey, Cell>, now: i64) -> HashSet<(usize, i64)> {
        // The latest fold and the earliest opening of each window's cells.
        let mut windows: HashMap<(usize, i64), (i64, i64)> = HashMap::new();
        for (key, cell) in cells {
            let seen = windows
                .entry((key.plan, key.window_start_ms))
                .or_insert((cell.last_ms, cell.opened_ms));
            seen.0 = seen.0.max(cell.last_ms);
            seen.1 = seen.1.min(cell.opened_ms);
        }
        windows
            .into_iter()
            .filter(|&((plan, start), (last, opened))| {
                let plan = &self.plans[plan];
                let end = start.saturating_add(plan.window_ms);
                let quiet = end.max(last).saturating_add(plan.grace_ms);
                let latest = end
                    .max(opened)
                    .saturating_add(plan.window_ms)
                    .saturating_add(plan.grace_ms);
                now >= quiet.min(latest)
            })
            .map(|(window, _)| window)
            .collect()
    }

    /// With a journal: the last round closed. Its aggregates are in the outbox already (or
    /// were taken from it): once the outbox is empty, every round up to it was handed over.
    pub(crate) fn last_round(&self) -> Option<u64> {
        lock(&self.shards[0].state)
            .journal
            .as_ref()
            .and_then(Journal::last_round)
    }

    /// With a journal: every round up to `round` was delivered (or handed to the error
    /// callback); the journal says so, and forgets them.
    pub(crate) fn acknowledge_through(&self, round: u64) {
        if let Some(journal) = &mut lock(&self.shards[0].state).journal
            && let Err(error) = journal.acknowledge_through(round)
        {
            // The rounds are sent again after a restart, under the same ids.
            tracing::warn!(%error, "amberflo: cannot journal delivered aggregates");
        }
    }

    /// At each tick of the closer: with a journal under `FsyncPolicy::Every`, syncs what was
    /// written since the last one.
    pub(crate) fn sync_journal(&self) {
        if let Some(journal) = &mut lock(&self.shards[0].state).journal
            && matches!(journal.fsync(), FsyncPolicy::Every(_))
        {
            journal.sync();
        }
    }

    /// From now on every fold declines, then closes every cell; returns the outbox. For
    /// shutdown.
    pub(crate) fn close_for_good(&self) -> VecDeque<MeterRecord> {
        {
            // Under the outbox's lock, so that a `put_back` either lands before the outbox is
            // taken or is refused.
            let _outbox = lock(&self.outbox);
            self.closed.store(true, Ordering::SeqCst);
        }
        // Every record handed off by a call that did not see the flag (see `after_hand_off`).
        // A shard no thread used yet gets a one-record queue: a call that makes it now finds
        // it made, after the flag, so it sees the flag after its push and takes its record
        // back (reading an empty `OnceLock` here would not order it after that call's push).
        for shard in &self.shards {
            if let Some(handoff) = &shard.handoff {
                let handoff = handoff.get_or_init(|| ArrayQueue::new(1));
                self.fold_queue(handoff, &mut lock(&shard.state));
            }
        }
        self.close(None);
        self.take_outbox()
    }

    /// Takes the outbox's aggregates, oldest first.
    pub(crate) fn take_outbox(&self) -> VecDeque<MeterRecord> {
        std::mem::take(&mut *lock(&self.outbox))
    }

    /// Puts back aggregates a full queue refused, ahead of newer ones; hands them back once
    /// the table is closed for good (the shutdown may have emptied the outbox already).
    pub(crate) fn put_back(
        &self,
        mut records: VecDeque<MeterRecord>,
    ) -> Result<(), VecDeque<MeterRecord>> {
        let mut outbox = lock(&self.outbox);
        if self.closed.load(Ordering::SeqCst) {
            return Err(records);
        }
        records.append(&mut outbox);
        *outbox = records;
        Ok(())
    }

    /// Folds every shard's handed-off records (see `fold_handed_off`).
    fn fold_all_handed_off(&self) {
        for shard in &self.shards {
            if let Some(handoff) = shard.handoff() {
                self.fold_handed_off(handoff, &mut lock(&shard.state));
            }
        }
    }

    /// The counters, once the records handed off so far are folded (which takes each shard's
    /// lock in turn).
    pub(crate) fn stats(&self) -> AggregationStats {
        self.fold_all_handed_off();
        AggregationStats {
            records_in: self
                .shards
                .iter()
                .map(|shard| lock(&shard.state).folded)
                .sum(),
            aggregates_out: self.aggregates_out.load(Ordering::Relaxed),
            passed_through: self.passed_through.load(Ordering::Relaxed),
            open_keys: self.open.load(Ordering::Relaxed),
        }
    }

    /// The calling thread's shard: threads take the shards in turns, in the order they first
    /// fold here, and keep theirs.
    fn thread_shard(&self) -> &Shard {
        thread_local! {
            /// `(table number, shard)`, most recent last.
            static SHARDS: RefCell<Vec<(u64, usize)>> = const { RefCell::new(Vec::new()) };
        }
        let next = || self.next_shard.fetch_add(1, Ordering::Relaxed) % self.shards.len();
        let index = SHARDS
            .try_with(|cache| {
                let mut cache = cache.try_borrow_mut().ok()?;
                if let Some(&(_, shard)) = cache.iter().find(|(number, _)| *number == self.number) {
                    return Some(shard);
                }
                if cache.len() == SHARD_CACHE {
                    cache.remove(0);
                }
                let shard = next();
                cache.push((self.number, shard));
                Some(shard)
            })
            .ok()
            .flatten()
            .unwrap_or_else(next);
        &self.shards[index]
    }

    /// Moves closed cells' aggregates to the outbox.
    fn send_closed(&self, closed: impl IntoIterator<Item = (CellKey, Cell)>) {
        let aggregates: Vec<MeterRecord> = closed
            .into_iter()
            .filter_map(|(key, cell)| self.aggregate(&key, &cell))
            .collect();
        self.aggregates_out
            .fetch_add(aggregates.len() as u64, Ordering::Relaxed);
        lock(&self.outbox).extend(aggregates);
    }

    /// The record a closed cell is sent as.
    fn aggregate(&self, key: &CellKey, cell: &Cell) -> Option<MeterRecord> {
        let plan = &self.plans[key.plan];
        let source = IdSource {
            meter: &plan.meter,
            customer: &key.customer,
            dimensions: key.dimensions.as_ref(),
            window_start_ms: key.window_start_ms,
            window_ms: plan.window_ms,
            first_member: &cell.first_member,
        };
        aggregate_record(self.instance, &source, cell.value)
    }
}

/// The record of the aggregate `source` describes, of `value`, with its id in `instance`'s
/// namespace.
fn aggregate_record(instance: Uuid, source: &IdSource<'_>, value: f64) -> Option<MeterRecord> {
    // The client's own limits were applied to the records folded in; an aggregate holds
    // their names and dimensions, a finite value (`combine`) and a time no later.
    let built = MeterRecord::builder(source.meter, value, source.customer)
        .meter_time(EpochMillis::new(source.window_start_ms))
        .unique_id(aggregate_id(instance, source))
        .dimensions(source.dimensions.into_iter().flat_map(Dimensions::iter))
        .build_with(&RecordLimits::NONE);
    match built {
        Ok(aggregate) => Some(aggregate),
        // Its parts passed these checks in the records folded in: a bug if it happens.
        Err(error) => {
            tracing::error!(%error, meter = source.meter, "amberflo: an aggregate failed validation and was dropped");
            None
        }
    }
}

/// The owned key of a cell about to be opened.
impl From<&KeyOf<'_>> for CellKey {
    fn from(key: &KeyOf<'_>) -> Self {
        CellKey {
            plan: key.plan,
            window_start_ms: key.window_start_ms,
            customer: CompactString::from(key.customer),
            dimensions: key.dimensions.cloned(),
        }
    }
}

/// A cell's value after its first record.
pub(super) fn start(function: AggregateFunction, value: f64) -> f64 {
    match function {
        AggregateFunction::Count => 1.0,
        _ => value,
    }
}

/// A cell's value after one more record, or `None` when a sum would overflow.
pub(super) fn combine(function: AggregateFunction, current: f64, value: f64) -> Option<f64> {
    let next = match function {
        AggregateFunction::Sum => current + value,
        AggregateFunction::Count => current + 1.0,
        AggregateFunction::Max => current.max(value),
        AggregateFunction::Min => current.min(value),
    };
    next.is_finite().then_some(next)
}

/// The cell of one key made of its cells `a` and `b` (from two shards), or `None` when their
/// sum would overflow.
fn merge(function: AggregateFunction, a: &Cell, b: &Cell) -> Option<Cell> {
    let value = match function {
        AggregateFunction::Count => a.value + b.value,
        function => combine(function, a.value, b.value)?,
    };
    Some(Cell {
        value: value.is_finite().then_some(value)?,
        first_member: a.first_member.clone().min(b.first_member.clone()),
        // Shards are merged without a journal (which has one shard).
        files: FileCounts::new(),
        opened_ms: a.opened_ms.min(b.opened_ms),
        last_ms: a.last_ms.max(b.last_ms),
    })
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::time::Duration;

    use proptest::prelude::*;

    use super::*;

    const MINUTE: i64 = 60_000;
    /// 2024-01-01T00:00:00Z.
    const T0: i64 = 1_704_067_200_000;

    fn table(aggregations: &[Aggregation], max_open: usize) -> Table {
        let plans = aggregations.iter().map(Plan::from).collect();
        Table::new(plans, Uuid::from_u128(1), max_open, 4)
    }

    /// Folds `records` in order, returning those the table declined (or gave back).
    fn fold(table: &Table, records: &[MeterRecord], now: i64) -> Vec<MeterRecord> {
        records
            .iter()
            .flat_map(|record| match table.fold(record.clone(), now) {
                Fold::Folded => Vec::new(),
                Fold::Declined(record) => vec![record],
                Fold::TakenBack(records) => records,
            })
            .collect()
    }

    fn record(meter: &str, value: f64, customer: &str, time: i64, region: &str) -> MeterRecord {
        MeterRecord::builder(meter, value, customer)
            .meter_time(EpochMillis::new(time))
            .dimension("region", region)
            .build()
            .unwrap()
    }

    fn sent(table: &Table) -> Vec<MeterRecord> {
        table.take_outbox().into()
    }

    #[test]
    fn aggregation_sends_one_record_per_key_and_window_at_the_window_start() {
        let table = table(
            &[Aggregation::sum("ApiCalls", Duration::from_secs(60))],
            100,
        );
        let records = [
            record("ApiCalls", 1.0, "a", T0 + 1, "eu"),
            record("ApiCalls", 2.0, "a", T0 + MINUTE - 1, "eu"),
            record("ApiCalls", 4.0, "a", T0 + MINUTE, "eu"), // next window
            record("ApiCalls", 8.0, "b", T0 + 5, "eu"),      // another customer
            record("ApiCalls", 16.0, "a", T0 + 5, "us"),     // other dimensions
        ];
        fold(&table, &records, T0 + MINUTE);
        assert_eq!(table.stats().open_keys, 4);
        assert_eq!(table.close(None), 4);
        let mut out: Vec<(String, i64, String, f64)> = sent(&table)
            .iter()
            .map(|r| {
                let region = r.dimensions().unwrap().get("region").unwrap().to_owned();
                (
                    r.customer_id().to_owned(),
                    r.meter_time_in_millis(),
                    region,
                    r.meter_value(),
                )
            })
            .collect();
        out.sort_by(|a, b| a.partial_cmp(b).unwrap());
        assert_eq!(
            out,
            [
                ("a".to_owned(), T0, "eu".to_owned(), 3.0),
                ("a".to_owned(), T0, "us".to_owned(), 16.0),
                ("a".to_owned(), T0 + MINUTE, "eu".to_owned(), 4.0),
                ("b".to_owned(), T0, "eu".to_owned(), 8.0),
            ]
        );
        let stats = table.stats();
        assert_eq!(
            (stats.records_in, stats.aggregates_out, stats.open_keys),
            (5, 4, 0)
        );
    }

    #[test]
    fn aggregation_functions_compute_sum_max_min_and_count() {
        let window = Duration::from_secs(60);
        let table = table(
            &[
                Aggregation::sum("S", window),
                Aggregation::max("X", window),
                Aggregation::min("N", window),
                Aggregation::count("C", window),
            ],
            100,
        );
        for meter in ["S", "X", "N", "C"] {
            let records: Vec<_> = [3.0, -2.0, 7.5]
                .into_iter()
                .map(|value| record(meter, value, "a", T0, "eu"))
                .collect();
            fold(&table, &records, T0);
        }
        table.close(None);
        let values: HashMap<String, f64> = sent(&table)
            .iter()
            .map(|r| (r.meter_api_name().to_owned(), r.meter_value()))
            .collect();
        assert_eq!(values["S"], 8.5);
        assert_eq!(values["X"], 7.5);
        assert_eq!(values["N"], -2.0);
        assert_eq!(values["C"], 3.0);
    }

    #[test]
    fn aggregation_ids_are_deterministic_and_a_late_record_gets_a_new_aggregate() {
        let make = || {
            table(
                &[Aggregation::sum("ApiCalls", Duration::from_secs(60))],
                100,
            )
        };
        let records = [
            record("ApiCalls", 1.0, "a", T0, "eu"),
            record("ApiCalls", 2.0, "a", T0 + 1, "eu"),
        ];
        let (first, second) = (make(), make());
        fold(&first, &records, T0);
        fold(&second, &[records[1].clone(), records[0].clone()], T0);
        first.close(None);
        second.close(None);
        let (a, b) = (sent(&first), sent(&second));
        // The same records in any order: the same event.
        assert_eq!(a, b);

        // A record after its window's aggregate was sent: a new aggregate, its own id.
        let late = record("ApiCalls", 4.0, "a", T0 + 2, "eu");
        fold(&first, std::slice::from_ref(&late), T0 + 10 * MINUTE);
        assert_eq!(
            first.close(Some(T0 + 10 * MINUTE)),
            0,
            "waits for the grace"
        );
        assert_eq!(first.close(Some(T0 + 11 * MINUTE)), 1);
        let again = sent(&first);
        assert_eq!(again[0].meter_value(), 4.0);
        assert_eq!(again[0].meter_time_in_millis(), T0);
        assert_ne!(again[0].unique_id(), a[0].unique_id());
    }

    #[test]
    fn aggregation_closes_a_cell_after_its_window_and_grace() {
        let aggregation =
            Aggregation::sum("ApiCalls", Duration::from_secs(60)).grace(Duration::from_secs(5));
        let table = table(&[aggregation], 100);
        fold(&table, &[record("ApiCalls", 1.0, "a", T0, "eu")], T0);
        assert_eq!(table.close(Some(T0 + MINUTE + 4_999)), 0);
        assert_eq!(table.close(Some(T0 + MINUTE + 5_000)), 1);

        // A key fed without pause after its window ended is closed one window later anyway.
        let late = T0 + 10 * MINUTE;
        for step in 0..=MINUTE / 1_000 + 5 {
            let now = late + step * 1_000;
            fold(&table, &[record("ApiCalls", 1.0, "a", T0, "eu")], now);
            let closed = table.close(Some(now));
            assert_eq!(
                closed,
                usize::from(step == MINUTE / 1_000 + 5),
                "at {step} s"
            );
        }
    }

    /// A record handed off earlier, folded after one folded at once, does not make the cell
    /// look idle for longer than it is.
    #[test]
    fn aggregation_keeps_a_cells_latest_fold_time_when_older_records_fold_after() {
        let aggregation =
            Aggregation::sum("ApiCalls", Duration::from_secs(60)).grace(Duration::from_secs(5));
        let table = table(&[aggregation], 100);
        let mut state = lock(&table.shards[0].state);
        let r = || record("ApiCalls", 1.0, "a", T0, "eu");
        let later = T0 + MINUTE + 4_000;
        assert!(matches!(
            table.fold_if_open(&mut state, 0, r(), later),
            Fold::Folded
        ));
        assert!(matches!(
            table.fold_locked(&mut state, 0, r(), T0, false),
            Fold::Folded
        ));
        drop(state);
        // Due 5 s after the latest fold, not 5 s after the window's end.
        assert_eq!(table.close(Some(T0 + MINUTE + 5_000)), 0);
        assert_eq!(table.close(Some(later + 5_000)), 1);
    }

    /// A drain takes the records there when it starts, not those pushed while it runs (a
    /// close under steady load ends).
    #[test]
    fn aggregation_drains_take_a_bounded_batch() {
        let handoff = ArrayQueue::new(HANDOFF_CAPACITY);
        let push = |value: f64| {
            let record = record("ApiCalls", value, "a", T0, "eu");
            let handed = HandedOff {
                plan: 0,
                at_ms: T0,
                record,
            };
            assert!(handoff.push(handed).is_ok());
        };
        (0..3).for_each(|i| push(f64::from(i)));
        let taken: Vec<f64> = drain(&handoff)
            .map(|handed| {
                let value = handed.record.meter_value();
                if value < 2.0 {
                    push(10.0 + value);
                }
                value
            })
            .collect();
        assert_eq!(taken, [0.0, 1.0, 2.0]);
        assert_eq!(handoff.len(), 2);
    }

    /// A flush's close returns only once the cells a concurrent timed close took are in the
    /// outbox: the flush then hands over every record folded before it.
    #[test]
    fn aggregation_flush_close_waits_for_a_timed_close_in_progress() {
        let aggregation =
            Aggregation::sum("ApiCalls", Duration::from_secs(1)).grace(Duration::ZERO);
        let table = table(&[aggregation], 100_000);
        for round in 0..200 {
            let records: Vec<_> = (0..50)
                .map(|i| record("ApiCalls", 1.0, &format!("c{i}"), T0, "eu"))
                .collect();
            assert!(fold(&table, &records, T0).is_empty());
            let start = std::sync::Barrier::new(2);
            std::thread::scope(|scope| {
                scope.spawn(|| {
                    start.wait();
                    table.close(Some(T0 + MINUTE));
                });
                start.wait();
                table.close(None);
                let flushed: f64 = sent(&table).iter().map(MeterRecord::meter_value).sum();
                assert_eq!(flushed, 50.0, "round {round}");
            });
            assert!(sent(&table).is_empty());
        }
    }

    #[test]
    fn aggregation_passes_records_through_past_the_bound_and_for_cancellations() {
        let table = table(&[Aggregation::sum("ApiCalls", Duration::from_secs(60))], 2);
        let records = [
            record("ApiCalls", 1.0, "a", T0, "eu"),
            record("ApiCalls", 1.0, "b", T0, "eu"),
            record("ApiCalls", 1.0, "c", T0, "eu"), // a third key: over the bound
            record("ApiCalls", 1.0, "a", T0, "eu"), // an open key still folds
        ];
        // Handed off below the bound: they are folded even past it (by up to a queue's
        // worth of records per shard).
        assert!(fold(&table, &records, T0).is_empty());
        assert_eq!(table.stats().open_keys, 3);
        assert!(sent(&table).is_empty());
        // At the bound, records are folded at once: a new key's comes back to the caller.
        let more = [
            record("ApiCalls", 1.0, "d", T0, "eu"),
            record("ApiCalls", 1.0, "b", T0, "eu"),
        ];
        let mut declined = fold(&table, &more, T0);
        let cancel = MeterRecord::builder("ApiCalls", 1.0, "a")
            .meter_time(EpochMillis::new(T0))
            .cancel_previous()
            .build()
            .unwrap();
        declined.extend(fold(&table, std::slice::from_ref(&cancel), T0));
        let other = record("Other", 1.0, "a", T0, "eu");
        declined.extend(fold(&table, std::slice::from_ref(&other), T0));
        let stats = table.stats();
        assert_eq!((stats.records_in, stats.passed_through), (5, 2));
        assert_eq!(declined, [more[0].clone(), cancel, other]);
        assert!(sent(&table).is_empty());
        table.close(None);
        let sums: HashMap<String, f64> = sent(&table)
            .iter()
            .map(|r| (r.customer_id().to_owned(), r.meter_value()))
            .collect();
        let expected = [("a".into(), 2.0), ("b".into(), 2.0), ("c".into(), 1.0)];
        assert_eq!(sums, HashMap::from(expected));
    }

    #[test]
    fn aggregation_passes_a_record_through_rather_than_overflow_a_sum() {
        let table = table(&[Aggregation::sum("ApiCalls", Duration::from_secs(60))], 10);
        let huge = f64::MAX / 1.5;
        let records: Vec<_> = (0..3)
            .map(|_| record("ApiCalls", huge, "a", T0, "eu"))
            .collect();
        assert!(fold(&table, &records, T0).is_empty());
        table.close(None);
        // The two that would overflow the cell went to the outbox as they are, before it.
        let out = sent(&table);
        assert_eq!(out[..2], records[1..]);
        assert_eq!(out[2].meter_value(), huge);
        assert!(records.iter().all(|r| r.unique_id() != out[2].unique_id()));
        assert_eq!(table.stats().passed_through, 2);
    }

    #[test]
    fn aggregation_keeps_cells_open_while_the_outbox_waits_for_room() {
        let aggregation =
            Aggregation::sum("ApiCalls", Duration::from_secs(60)).grace(Duration::ZERO);
        let table = table(&[aggregation], 2);
        let later = T0 + 2 * MINUTE;
        fold(&table, &[record("ApiCalls", 1.0, "a", T0, "eu")], T0);
        fold(&table, &[record("ApiCalls", 1.0, "b", T0, "eu")], T0);
        assert_eq!(table.close(Some(later)), 2);
        // The delivery queue took nothing: the outbox holds the bound.
        fold(&table, &[record("ApiCalls", 1.0, "c", T0, "eu")], T0);
        assert_eq!(table.close(Some(later)), 0);
        assert_eq!(table.stats().open_keys, 1);
        assert_eq!(sent(&table).len(), 2);
        assert_eq!(table.close(Some(later)), 1);
    }

    #[test]
    fn aggregation_hands_records_back_once_closed_for_good() {
        let table = table(&[Aggregation::sum("ApiCalls", Duration::from_secs(60))], 10);
        fold(&table, &[record("ApiCalls", 1.0, "a", T0, "eu")], T0);
        assert_eq!(table.close_for_good().len(), 1);
        let late = record("ApiCalls", 2.0, "a", T0, "eu");
        let declined = fold(&table, std::slice::from_ref(&late), T0);
        assert_eq!(declined, std::slice::from_ref(&late));
        assert_eq!(table.stats().passed_through, 1);
        // A queue that refused an aggregate after that: the aggregate comes back.
        assert!(table.put_back([late].into()).is_err());
    }

    #[test]
    fn aggregation_with_a_journal_sends_the_same_aggregates_after_a_crash() {
        let dir = tempfile::tempdir().unwrap();
        let open = || {
            let aggregation =
                Aggregation::sum("ApiCalls", Duration::from_secs(60)).grace(Duration::ZERO);
            let (journal, replayed, instance) =
                Journal::open(dir.path(), FsyncPolicy::Never, None).unwrap();
            Table::journaled(
                vec![Plan::from(&aggregation)],
                instance,
                100,
                journal,
                replayed,
            )
        };
        let table = open();
        let records = [
            record("ApiCalls", 1.0, "a", T0, "eu"),
            record("ApiCalls", 2.0, "b", T0 + 1, "eu"),
            record("ApiCalls", 4.0, "a", T0 + 2, "eu"),
            record("ApiCalls", 8.0, "a", T0 + MINUTE, "eu"),
        ];
        assert!(fold(&table, &records, T0).is_empty());
        // The first window is due, the second not yet.
        assert_eq!(table.close(Some(T0 + MINUTE + 1)), 2);
        let delivered = sent(&table);
        drop(table); // a crash before the delivery was acknowledged

        let table = open();
        let resent = sent(&table);
        assert_eq!(resent.len(), 3, "{resent:?}");
        for aggregate in &delivered {
            assert!(
                resent.contains(aggregate),
                "{aggregate:?} is not sent again as it was"
            );
        }
        // The window left open is closed at once, on its own.
        assert!(resent.iter().any(|aggregate| {
            aggregate.meter_time_in_millis() == T0 + MINUTE && aggregate.meter_value() == 8.0
        }));
        table.acknowledge_through(table.last_round().unwrap());
        drop(table);
        assert!(
            sent(&open()).is_empty(),
            "acknowledged rounds are not sent again"
        );
    }

    #[test]
    fn aggregation_merges_one_keys_cells_from_several_threads_into_one_aggregate() {
        let table = table(
            &[Aggregation::sum("ApiCalls", Duration::from_secs(60))],
            100,
        );
        std::thread::scope(|scope| {
            for thread in 0..8 {
                let table = &table;
                scope.spawn(move || {
                    for i in 0..100 {
                        let value = f64::from(thread * 100 + i);
                        fold(table, &[record("ApiCalls", value, "a", T0 + 5, "eu")], T0);
                    }
                });
            }
        });
        assert!(
            table.stats().open_keys > 1,
            "each thread folds into its own shard"
        );
        assert_eq!(table.close(None), 1);
        let out = sent(&table);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].meter_value(), (0..800).map(f64::from).sum::<f64>());
        assert_eq!(table.stats().records_in, 800);
    }

    /// Records wait in the thread's shard's queue; the call that finds it full folds them all.
    #[test]
    fn aggregation_hands_records_off_and_the_call_that_finds_the_queue_full_folds_them() {
        let table = table(
            &[Aggregation::sum("ApiCalls", Duration::from_secs(60))],
            1_000,
        );
        let waiting = |table: &Table| -> Vec<(usize, u64)> {
            let shards = table.shards.iter();
            shards
                .map(|shard| {
                    let handoff = shard.handoff.as_ref().and_then(OnceLock::get);
                    (
                        handoff.map_or(0, ArrayQueue::len),
                        lock(&shard.state).folded,
                    )
                })
                .filter(|&counts| counts != (0, 0))
                .collect()
        };
        let records: Vec<_> = (0..=HANDOFF_CAPACITY)
            .map(|i| record("ApiCalls", 1.0, &format!("c{}", i % 7), T0, "eu"))
            .collect();
        assert!(fold(&table, &records[..HANDOFF_CAPACITY], T0).is_empty());
        assert_eq!(waiting(&table), [(HANDOFF_CAPACITY, 0)]);
        assert!(fold(&table, &records[HANDOFF_CAPACITY..], T0).is_empty());
        assert_eq!(waiting(&table), [(0, HANDOFF_CAPACITY as u64 + 1)]);
        assert_eq!(table.stats().open_keys, 7);
        table.close(None);
        let total: f64 = sent(&table).iter().map(MeterRecord::meter_value).sum();
        assert_eq!(total, records.len() as f64);
    }

    /// A call whose push lands as the final close runs: either the close folded its record,
    /// or the call takes it back (with any other left in the queue), never both, never
    /// neither.
    #[test]
    fn aggregation_a_call_racing_the_final_close_takes_its_record_back_unless_folded() {
        let table = table(&[Aggregation::sum("ApiCalls", Duration::from_secs(60))], 10);
        let push = |record: &MeterRecord| {
            let shard = &table.shards[0];
            let handoff = shard.handoff.as_ref().unwrap();
            let handoff = handoff.get_or_init(|| ArrayQueue::new(HANDOFF_CAPACITY));
            let handed = HandedOff {
                plan: 0,
                at_ms: T0,
                record: record.clone(),
            };
            assert!(handoff.push(handed).is_ok());
            (shard, handoff)
        };
        // Pushed before the close; the flag read after it: the close folded the record.
        let early = record("ApiCalls", 1.0, "a", T0, "eu");
        let (shard, handoff) = push(&early);
        let aggregates = table.close_for_good();
        assert_eq!(aggregates.len(), 1);
        assert!(matches!(table.after_hand_off(shard, handoff), Fold::Folded));
        // Pushed after the close swept the queue: taken back, to go out as it is.
        let late = record("ApiCalls", 2.0, "a", T0, "eu");
        let (shard, handoff) = push(&late);
        // Nothing else folds it any more.
        assert_eq!(table.close(None), 0);
        match table.after_hand_off(shard, handoff) {
            Fold::TakenBack(records) => assert_eq!(records, [late]),
            other => panic!("expected the record back, got {other:?}"),
        }
        assert!(handoff.is_empty());
        let stats = table.stats();
        assert_eq!((stats.records_in, stats.passed_through), (1, 1));

        // A shard no thread had used: the close made its queue, one record long, so a call
        // making it after the close finds it and takes its record back; a call that finds it
        // full (another's record still in it) is declined.
        let unused = &table.shards[1];
        let handoff = unused.handoff().expect("made by the close");
        assert_eq!(handoff.capacity(), 1);
        let [first, second] = [3.0, 4.0].map(|value| HandedOff {
            plan: 0,
            at_ms: T0,
            record: record("ApiCalls", value, "b", T0, "eu"),
        });
        let first_record = first.record.clone();
        match table.hand_off(unused, handoff, first) {
            Fold::TakenBack(records) => assert_eq!(records, [first_record]),
            other => panic!("expected the record back, got {other:?}"),
        }
        assert!(handoff.push(second).is_ok());
        let third = HandedOff {
            plan: 0,
            at_ms: T0,
            record: record("ApiCalls", 5.0, "b", T0, "eu"),
        };
        assert!(matches!(
            table.hand_off(unused, handoff, third),
            Fold::Declined(_)
        ));
    }

    /// Producers racing timed closes, flushes and the final close: every record is in
    /// exactly one place at the end (an aggregate, or handed back to its caller).
    #[test]
    fn aggregation_loses_and_repeats_nothing_while_producers_race_the_closes() {
        const THREADS: u32 = 4;
        const PER_THREAD: u32 = 20_000;
        let aggregation =
            Aggregation::sum("ApiCalls", Duration::from_secs(1)).grace(Duration::ZERO);
        let table = table(&[aggregation], 200);
        let declined = std::sync::Mutex::new(Vec::new());
        let produced = AtomicU64::new(0);
        let aggregates = std::thread::scope(|scope| {
            for thread in 0..THREADS {
                let (table, declined, produced) = (&table, &declined, &produced);
                scope.spawn(move || {
                    for i in 0..PER_THREAD {
                        produced.fetch_add(1, Ordering::Relaxed);
                        let second = i64::from(i / 1_000) * 1_000;
                        let customer = format!("c{}", (thread * 7 + i) % 40);
                        let r = record("ApiCalls", 1.0, &customer, T0 + second, "eu");
                        let fold = match i % 2 {
                            0 => table.fold(r, T0 + second),
                            // A call that found the table open just before the final close.
                            _ => {
                                let shard = table.thread_shard();
                                let handoff = shard.handoff.as_ref().unwrap();
                                let handoff =
                                    handoff.get_or_init(|| ArrayQueue::new(HANDOFF_CAPACITY));
                                let handed = HandedOff {
                                    plan: 0,
                                    at_ms: T0 + second,
                                    record: r,
                                };
                                table.hand_off(shard, handoff, handed)
                            }
                        };
                        match fold {
                            Fold::Folded => {}
                            Fold::Declined(r) => lock(declined).push(r),
                            Fold::TakenBack(records) => lock(declined).extend(records),
                        }
                    }
                });
            }
            let (table, produced) = (&table, &produced);
            let closer = scope.spawn(move || {
                let mut aggregates = Vec::new();
                // The final close lands while the producers are half-way.
                let half = u64::from(THREADS * PER_THREAD / 2);
                for tick in 0.. {
                    if produced.load(Ordering::Relaxed) >= half {
                        break;
                    }
                    if tick % 100 == 99 {
                        table.close(None);
                    } else {
                        table.close(Some(T0 + i64::from(tick) * 10));
                    }
                    aggregates.extend(table.take_outbox());
                }
                aggregates.extend(table.close_for_good());
                aggregates
            });
            closer.join().unwrap()
        });
        // Nothing left behind in a queue.
        assert!(
            table
                .shards
                .iter()
                .all(|shard| shard.handoff().is_none_or(ArrayQueue::is_empty))
        );
        let declined = declined.into_inner().unwrap();
        let total: f64 = aggregates
            .iter()
            .chain(&declined)
            .map(MeterRecord::meter_value)
            .sum();
        assert_eq!(total, f64::from(THREADS * PER_THREAD));
        let mut ids: Vec<_> = aggregates.iter().map(MeterRecord::unique_id).collect();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), aggregates.len(), "no id twice");
        let stats = table.stats();
        assert_eq!(
            stats.records_in + stats.passed_through,
            u64::from(THREADS * PER_THREAD)
        );
    }

    proptest! {
        /// Any interleaving of records, timed closes and early closes keeps every key's total,
        /// and no two aggregates share an id.
        #[test]
        fn aggregation_preserves_every_keys_total_across_any_interleaving(
            steps in prop::collection::vec(
                prop_oneof![
                    4 => (0u8..3, 0u8..2, 0i64..5, 1u32..100).prop_map(|(c, r, m, v)| Step::Record(c, r, m, v)),
                    1 => (0i64..400).prop_map(Step::Close),
                    1 => Just(Step::CloseAll),
                ],
                1..200,
            )
        ) {
            let table = table(
                &[Aggregation::sum("ApiCalls", Duration::from_secs(60)).grace(Duration::from_secs(1))],
                4,
            );
            let mut expected: HashMap<(String, i64), f64> = HashMap::new();
            let mut passed = Vec::new();
            let mut now = T0;
            for step in steps {
                match step {
                    Step::Record(customer, region, minute, value) => {
                        let customer = format!("c{customer}");
                        let time = T0 + minute * MINUTE + 7;
                        let region = ["eu", "us"][usize::from(region)];
                        let record = record("ApiCalls", f64::from(value), &customer, time, region);
                        *expected.entry((format!("{customer}/{region}"), time - 7)).or_default() += f64::from(value);
                        passed.extend(fold(&table, &[record], now));
                    }
                    Step::Close(seconds) => {
                        now += seconds * 1_000;
                        table.close(Some(now));
                    }
                    Step::CloseAll => {
                        table.close(None);
                    }
                }
            }
            table.close(None);
            let out: Vec<MeterRecord> = sent(&table).into_iter().chain(passed).collect();
            let mut ids = std::collections::HashSet::new();
            let mut totals: HashMap<(String, i64), f64> = HashMap::new();
            for record in &out {
                prop_assert!(ids.insert(record.unique_id().clone()), "an id was reused");
                let region = record.dimensions().unwrap().get("region").unwrap();
                // Records past the bound go out as they are, at their own time.
                let time = record.meter_time_in_millis();
                let key = (format!("{}/{region}", record.customer_id()), time - time.rem_euclid(MINUTE));
                *totals.entry(key).or_default() += record.meter_value();
            }
            prop_assert_eq!(totals, expected);
            prop_assert_eq!(table.stats().open_keys, 0);
        }
    }

    #[derive(Debug, Clone)]
    enum Step {
        Record(u8, u8, i64, u32),
        Close(i64),
        CloseAll,
    }
}
